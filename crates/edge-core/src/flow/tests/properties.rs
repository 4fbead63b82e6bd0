//! Property tests of the parsers of untrusted input: the callback's query,
//! cookie values, the login body, client addresses, policy ranges.

use std::net::{IpAddr, Ipv6Addr};

use proptest::prelude::*;
use shared::duo::{Nonce, State};

use crate::config::SessionSecret;
use crate::cookie::LoginTicket;
use crate::flow::duo_callback::CallbackQuery;
use crate::flow::limits::Client;
use crate::flow::login::parse_body;
use crate::flow::policy::Cidr;
use crate::flow::testing::SESSION_SECRET_B64;
use crate::session::SessionId;

fn key() -> SessionSecret {
    SessionSecret::parse(SESSION_SECRET_B64).unwrap()
}

proptest! {
    #[test]
    fn range_parsing_never_panics(text in "[0-9a-fA-F:./%]{0,48}") {
        let _ = Cidr::parse(&text);
    }

    #[test]
    fn a_range_holds_exactly_the_addresses_sharing_its_prefix(
        network in any::<u128>(), other in any::<u128>(), prefix in 0_u8..=128,
    ) {
        let keep = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
        let base = Ipv6Addr::from(network & keep);
        let range = Cidr::parse(&format!("{base}/{prefix}")).expect("a canonical range");
        prop_assert!(range.contains(IpAddr::V6(base)));
        let candidate = Ipv6Addr::from(other);
        // (IPv4-mapped addresses are compared as IPv4: leave them out.)
        prop_assume!(candidate.to_ipv4_mapped().is_none());
        let same_prefix = (other & keep) == (network & keep);
        prop_assert_eq!(range.contains(IpAddr::V6(candidate)), same_prefix);
    }

    #[test]
    fn callback_query_parsing_never_panics(query in any::<String>()) {
        let _ = CallbackQuery::parse(&query);
    }

    #[test]
    fn callback_query_round_trips_what_duo_sends(
        state in "[A-Za-z0-9_.~-]{16,64}",
        code in "[ -~]{1,64}",
        noise in "[a-z]{1,8}",
        value in ".{0,20}",
    ) {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair(&format!("x{noise}"), &value)
            .append_pair("state", &state)
            .append_pair("duo_code", &code)
            .append_pair("state", "second")
            .finish();
        let parsed = CallbackQuery::parse(&query);
        prop_assert_eq!(parsed.state.as_deref(), Some(state.as_str()));
        prop_assert_eq!(parsed.code.as_deref(), Some(code.as_str()));
        prop_assert_eq!(parsed.error, None);
    }

    #[test]
    fn login_body_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_body(&body);
    }

    #[test]
    fn login_bodies_with_a_name_and_password_are_accepted_as_sent(
        username in "[ -~]{0,40}",
        password in ".{0,40}",
    ) {
        let body = serde_json::json!({"username": username, "password": password}).to_string();
        let parsed = parse_body(body.as_bytes());
        let usable = !username.trim().is_empty() && !password.is_empty();
        prop_assert_eq!(parsed.is_ok(), usable);
        if let Ok(request) = parsed {
            prop_assert_eq!(request.username, username);
            prop_assert_eq!(request.password.expose(), password.as_str());
        }
    }

    #[test]
    fn session_cookie_values_never_panic(value in any::<String>()) {
        let _ = SessionId::parse(&value);
    }

    #[test]
    fn login_cookie_values_never_panic(value in any::<String>(), now in any::<u64>()) {
        let _ = LoginTicket::open(&value, &key(), now);
    }

    #[test]
    fn tickets_with_state_and_nonce_round_trip(
        user in "[a-z]{1,16}",
        state in any::<[u8; 32]>(),
        nonce in any::<[u8; 32]>(),
        now in 0u64..4_000_000_000,
    ) {
        let ticket = LoginTicket::new(&user, now)
            .for_duo(State::generate(&state), Nonce::generate(&nonce), now);
        let opened = LoginTicket::open(&ticket.seal(&key()), &key(), now);
        prop_assert_eq!(opened, Ok(ticket));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_first_64_bits(a in any::<u128>(), b in any::<u64>()) {
        let ip = Ipv6Addr::from(a);
        let same_64 = Ipv6Addr::from((a & !u128::from(u64::MAX)) | u128::from(b));
        prop_assume!(ip.to_ipv4_mapped().is_none() && same_64.to_ipv4_mapped().is_none());
        prop_assert_eq!(Client::of(Some(IpAddr::V6(ip))), Client::of(Some(IpAddr::V6(same_64))));
    }
}
