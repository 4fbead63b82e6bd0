//! The Auth API client: the reference's signing vectors (`duo-auth-api.md`
//! section 2.7, A to G), requests as data, and every answer parsed. Every
//! test runs natively and in wasm32.

#![allow(clippy::unwrap_used)]

use hmac::{Hmac, Mac};
use wasm_bindgen_test::wasm_bindgen_test;

use super::sign::{
    authorization, canonical_params, canonical_v2, canonical_v5, hmac_sha512_hex, rfc2822,
    sha512_hex, x_duo_headers_hash,
};
use super::*;
use crate::duo::{HttpResponse, Method, UnixTime};

const DATE_A: &str = "Tue, 21 Aug 2012 17:29:18 -0000";

fn hmac_sha1_hex(key: &[u8], canonical: &str) -> String {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key).unwrap();
    mac.update(canonical.as_bytes());
    super::sign::hex(&mac.finalize().into_bytes())
}

/// Vector A: signature v2 (Duo's Node client test).
#[wasm_bindgen_test]
#[test]
fn vector_a_signature_v2() {
    let params = canonical_params(&[("realname", "First Last"), ("username", "root")]);
    let canonical = canonical_v2(DATE_A, "POST", "test.duosecurity.com", "/test/v1", &params);
    assert_eq!(
        canonical,
        "Tue, 21 Aug 2012 17:29:18 -0000\nPOST\ntest.duosecurity.com\n/test/v1\nrealname=First%20Last&username=root"
    );
    let signature = hmac_sha512_hex(b"test_skey", &canonical);
    assert_eq!(
        signature,
        "042a30c682bd836fc5ba467891a956eaa10091ca0f73a7fb396aefd56a3529e56932dea427a67213af664ba6841689ff2336b7a373766ea5ab7ab9fe2638226b"
    );
    assert_eq!(
        authorization("test_ikey", &signature),
        "Basic dGVzdF9pa2V5OjA0MmEzMGM2ODJiZDgzNmZjNWJhNDY3ODkxYTk1NmVhYTEwMDkxY2EwZjczYTdmYjM5NmFlZmQ1NmEzNTI5ZTU2OTMyZGVhNDI3YTY3MjEzYWY2NjRiYTY4NDE2ODlmZjIzMzZiN2EzNzM3NjZlYTVhYjdhYjlmZTI2MzgyMjZi"
    );
    assert_eq!(hmac_sha1_hex(b"test_skey", &canonical), "7db13501cda6278f27987468405fe8be61b5e3e3");
}

/// Vector B: signature v5 with a JSON body (Duo's Node client test).
#[wasm_bindgen_test]
#[test]
fn vector_b_signature_v5_json_body() {
    let body = br#"{"realname":"First Last","username":"root"}"#;
    let canonical = canonical_v5(DATE_A, "POST", "test.duosecurity.com", "/test/v1", "", body, &[]);
    assert!(canonical.ends_with("\n\n90a87eddaf3152f88132bc650b48eba1d1a1853a780c072303cec3d4f85631a0c5ef03d8c14d805af3212b4e5b7c82420970fc2e380ad91e1283028e7c476150\ncf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"));
    let signature = hmac_sha512_hex(b"test_skey", &canonical);
    assert_eq!(
        signature,
        "7d02409a152764843cccd8284da153b3fb446baad5f998886325e24bc9cd4a244de85ad4bfa7ea285d68209f160835673d8b4f1e1b23d9cd521d26bfe7f366a4"
    );
}

/// Vector C: signature v5, a GET with `x-duo-date` (Duo's `duo_hmac` test).
#[wasm_bindgen_test]
#[test]
fn vector_c_signature_v5_get_with_x_duo_date() {
    let date = "Fri, 24 May 2024 12:00:00 -0000";
    let x_duo = [("x-duo-date", date)];
    assert_eq!(
        x_duo_headers_hash(&x_duo),
        "fa03691e132cfedf936dc9f9b86f7183697dd258d380fc55e3a91567a6cb4dac2ef24cac5df934ff39cd9fba99b3ed180a8a5cf234c27832b1c5660db2a9c15d"
    );
    let params = canonical_params(&[("foo", "bar")]);
    let canonical = canonical_v5(
        date,
        "GET",
        "api-xxxxxxxx.duosecurity.com",
        "/api/path",
        &params,
        b"",
        &x_duo,
    );
    assert_eq!(
        hmac_sha512_hex(b"testtesttesttesttesttesttesttesttesttest", &canonical),
        "88fe80f3b242b992f4b301408d524a886274d3ed0c4c7bd184e1b4ff378e68ea05d9433c09938078c49517a6c4264c950be9ff5cc28ad2d448cea24bc93887ca"
    );
}

/// Vector D: canonicalization (Duo's Python client tests).
#[wasm_bindgen_test]
#[test]
fn vector_d_canonical_parameters() {
    assert_eq!(canonical_params(&[("realname", "First Last")]), "realname=First%20Last");
    assert_eq!(
        canonical_params(&[("words", "First Last"), ("success", "true"), ("digit", "5")]),
        "digit=5&success=true&words=First%20Last"
    );
    let letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    assert_eq!(
        canonical_params(&[
            ("digits", "0123456789"),
            ("letters", letters),
            ("punctuation", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
            ("whitespace", "\t\n\u{b}\u{c}\r "),
        ]),
        "digits=0123456789&letters=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ&punctuation=%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E_%60%7B%7C%7D~&whitespace=%09%0A%0B%0C%0D%20"
    );
    assert_eq!(
        canonical_params(&[(
            "bar",
            "\u{2815}\u{aaa3}\u{37cf}\u{4bb7}\u{36e9}\u{cc05}\u{668e}\u{8162}\u{c2bd}\u{a1f1}"
        )]),
        "bar=%E2%A0%95%EA%AA%A3%E3%9F%8F%E4%AE%B7%E3%9B%A9%EC%B0%85%E6%9A%8E%E8%85%A2%EC%8A%BD%EA%87%B1"
    );
    // Prefix-sorted keys; no parameters at all; an empty value stays.
    assert_eq!(canonical_params(&[("foo_bar", "2"), ("foo", "1")]), "foo=1&foo_bar=2");
    assert_eq!(canonical_params(&[]), "");
    assert_eq!(canonical_params(&[("a", "")]), "a=");
}

/// Vector F: the `x-duo-*` headers' hash (Duo's Python client tests).
#[wasm_bindgen_test]
#[test]
fn vector_f_x_duo_headers() {
    assert_eq!(
        x_duo_headers_hash(&[("X-Duo-Header-1", "header_value_1")]),
        "630b4bfe7e9abd03da2eee8f0a5d4e60a254ec880a839bcc2223bb5b9443e8ef24d58f0254f1f5934bf8c017ebd0fd5b1acf86766bdbe74185e712a4092df3ed"
    );
    assert_eq!(
        x_duo_headers_hash(&[("x-duo-A", "header_value_1"), ("X-Duo-B", "header_value_2")]),
        "60be11a30e0756f2ee2afdce1db849b987dcf86c1133394bd7bbbc9877920330c4d78aceacbb377ab8cbd9a8efe6a410fed4047376635ac71226ab46ca10d2b1"
    );
    assert_eq!(sha512_hex(b""), x_duo_headers_hash(&[]));
}

/// Vector G: an Auth API `preauth`, SHA-512 and SHA-1.
#[wasm_bindgen_test]
#[test]
fn vector_g_preauth() {
    let params = canonical_params(&[("username", "alice@example.com"), ("ipaddr", "10.0.0.1")]);
    assert_eq!(params, "ipaddr=10.0.0.1&username=alice%40example.com");
    let canonical =
        canonical_v2(DATE_A, "POST", "api-xxxxxxxx.duosecurity.com", "/auth/v2/preauth", &params);
    assert_eq!(hmac_sha1_hex(b"test_skey", &canonical), "462aa66295710a3e3aad2d7f0ba4b3341ddd9afd");
    assert_eq!(
        hmac_sha512_hex(b"test_skey", &canonical),
        "ce54b10f1ed838fa828e22aebfecca8c906515fc50f782377b70edfd05811f079663281e3f618bf5dd6713ce01c2e73a9e77252f3e759dacc4482c1fd34c49a8"
    );
}

/// Method upper-cased, host lower-cased, path as given (vector E's casing).
#[wasm_bindgen_test]
#[test]
fn canonical_request_normalizes_method_and_host_only() {
    let canonical = canonical_v2(DATE_A, "PoSt", "foO.BAr52.cOm", "/Foo/BaR2/qux", "");
    assert_eq!(canonical, format!("{DATE_A}\nPOST\nfoo.bar52.com\n/Foo/BaR2/qux\n"));
}

#[wasm_bindgen_test]
#[test]
fn dates_are_english_rfc_2822_in_utc() {
    assert_eq!(rfc2822(UnixTime(1_345_570_158)), DATE_A);
    assert_eq!(rfc2822(UnixTime(0)), "Thu, 01 Jan 1970 00:00:00 -0000");
    assert_eq!(rfc2822(UnixTime(951_782_400)), "Tue, 29 Feb 2000 00:00:00 -0000");
    assert_eq!(rfc2822(UnixTime(1_716_552_000)), "Fri, 24 May 2024 12:00:00 -0000");
    assert_eq!(rfc2822(UnixTime(4_102_444_799)), "Thu, 31 Dec 2099 23:59:59 -0000");
}

const IKEY: &str = "DIXXXXXXXXXXXXXXXXXX";
const SKEY: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
const NOW: UnixTime = UnixTime(1_345_570_158);

fn client() -> AuthApiClient {
    AuthApiClient::from_settings(IKEY, SKEY.to_owned(), "api-deadbeef.duosecurity.com").unwrap()
}

fn header<'a>(request: &'a crate::duo::HttpRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

/// The signature a request carries is the one of its own canonical form.
fn assert_signed(request: &crate::duo::HttpRequest, path: &str, params: &str) {
    let canonical = canonical_v2(
        header(request, "date").unwrap(),
        request.method.as_str(),
        "api-deadbeef.duosecurity.com",
        path,
        params,
    );
    let expected = authorization(IKEY, &hmac_sha512_hex(SKEY.as_bytes(), &canonical));
    assert_eq!(header(request, "authorization"), Some(expected.as_str()));
}

#[wasm_bindgen_test]
#[test]
fn requests_are_signed_data() {
    let client = client();
    let check = client.check(NOW);
    assert_eq!(
        (check.method, check.url.as_str()),
        (Method::Get, "https://api-deadbeef.duosecurity.com/auth/v2/check")
    );
    assert_eq!(header(&check, "date"), Some(DATE_A));
    assert_signed(&check, "/auth/v2/check", "");
    assert!(check.body.is_empty());

    let preauth = client.preauth(User::Username("alice@example.com"), Some("10.0.0.1"), NOW);
    assert_eq!(preauth.method, Method::Post);
    assert_eq!(preauth.body, b"ipaddr=10.0.0.1&username=alice%40example.com");
    assert_eq!(header(&preauth, "content-type"), Some("application/x-www-form-urlencoded"));
    assert_signed(&preauth, "/auth/v2/preauth", "ipaddr=10.0.0.1&username=alice%40example.com");

    let status = client.auth_status("45f7c92b-f45f", NOW);
    assert_eq!(
        status.url,
        "https://api-deadbeef.duosecurity.com/auth/v2/auth_status?txid=45f7c92b-f45f"
    );
    assert_signed(&status, "/auth/v2/auth_status", "txid=45f7c92b-f45f");

    let ping = client.ping();
    assert_eq!(header(&ping, "authorization"), None, "ping is unsigned");
}

#[wasm_bindgen_test]
#[test]
fn auth_requests_carry_the_factor_and_its_options() {
    let client = client();
    let options = AuthOptions {
        device: Some("DP80Z4GVU82OT8O1BNJF".into()),
        asynchronous: true,
        push_type: Some("Login request".into()),
        display_username: Some("Alice A.".into()),
        pushinfo: vec![("from".into(), "login portal".into()), ("ip".into(), "10.0.0.1".into())],
        ipaddr: Some("10.0.0.1".into()),
        txid: None,
    };
    let push = client.auth(User::UserId("DUYHV6TJBC3O4RITS1WC"), &Factor::Push, &options, NOW);
    let body = String::from_utf8(push.body.clone()).unwrap();
    assert_eq!(
        body,
        "async=1&device=DP80Z4GVU82OT8O1BNJF&display_username=Alice%20A.&factor=push&ipaddr=10.0.0.1&pushinfo=from%3Dlogin%2520portal%26ip%3D10.0.0.1&type=Login%20request&user_id=DUYHV6TJBC3O4RITS1WC"
    );
    assert_signed(&push, "/auth/v2/auth", &body);

    let code = Factor::Passcode("123456".into());
    let passcode = client.auth(User::Username("alice"), &code, &AuthOptions::default(), NOW);
    assert_eq!(passcode.body, b"async=0&factor=passcode&passcode=123456&username=alice");
    assert_eq!(format!("{code:?}"), "Passcode([redacted])");
    let sms = client.auth(User::Username("alice"), &Factor::Sms, &AuthOptions::default(), NOW);
    assert_eq!(sms.body, b"async=0&device=auto&factor=sms&username=alice");
}

#[wasm_bindgen_test]
#[test]
fn settings_are_checked_by_name_and_the_secret_never_shows() {
    let named = |r: Result<AuthApiClient, crate::duo::ConfigError>| r.unwrap_err().setting();
    let host = "api-deadbeef.duosecurity.com";
    assert_eq!(named(AuthApiClient::from_settings("DISHORT", SKEY.into(), host)), "DUO_IKEY");
    assert_eq!(
        named(AuthApiClient::from_settings("DIXXXXXXXXXXXXXXXXX!", SKEY.into(), host)),
        "DUO_IKEY"
    );
    assert_eq!(named(AuthApiClient::from_settings(IKEY, "short".into(), host)), "DUO_SKEY");
    assert_eq!(
        named(AuthApiClient::from_settings(IKEY, format!("{} ", &SKEY[..39]), host)),
        "DUO_SKEY"
    );
    assert_eq!(named(AuthApiClient::from_settings(IKEY, SKEY.into(), "https://x")), "DUO_API_HOST");
    let debug = format!("{:?}", client());
    assert!(!debug.contains(SKEY) && debug.contains("redacted"), "{debug}");
    let loopback = AuthApiClient::from_settings(IKEY, SKEY.into(), "127.0.0.1:8788").unwrap();
    assert_eq!(loopback.check(NOW).url, "http://127.0.0.1:8788/auth/v2/check");
}

fn ok(response: &str) -> HttpResponse {
    HttpResponse::new(200, format!(r#"{{"stat": "OK", "response": {response}}}"#))
}

#[wasm_bindgen_test]
#[test]
fn preauth_answers_are_typed() {
    let auth = parse_preauth(&ok(r#"{"result": "auth", "status_msg": "Account is active",
        "devices": [
          {"capabilities": ["auto", "push", "sms", "phone", "mobile_otp"], "device": "DP80Z4GVU82OT8O1BNJF",
           "display_name": "Marx iPhone 13_new (XXX-XXX-4788)", "name": "Marx iPhone 13_new",
           "number": "XXX-XXX-4788", "sms_nextcode": "1", "type": "phone"},
          {"device": "DHQOEFH4Q6KMAFU7Q8V4", "name": "20361492", "type": "token"},
          {"device": "DX", "type": "u2f", "capabilities": ["webauthn"]},
          {"no_device_id": true}
        ]}"#)).unwrap();
    assert_eq!(auth.result, PreauthResult::Auth);
    assert_eq!(auth.status_msg, "Account is active");
    assert_eq!(auth.devices.len(), 3, "a device without an id is skipped");
    let phone = &auth.devices[0];
    assert!(phone.can(&Capability::Push) && phone.can(&Capability::MobileOtp));
    assert_eq!(phone.label(), "Marx iPhone 13_new (XXX-XXX-4788)");
    assert_eq!(phone.sms_nextcode.as_deref(), Some("1"));
    assert_eq!(auth.devices[1].kind, DeviceKind::Token);
    assert_eq!(auth.devices[1].label(), "20361492");
    assert_eq!(auth.devices[2].capabilities, [Capability::Other("webauthn".into())]);

    let enroll = parse_preauth(&ok(
        r#"{"result": "enroll", "status_msg": "Enroll an authentication device to proceed",
        "enroll_portal_url": "https://api-3945ef22.duosecurity.com/portal?48bac5d9393fb2c2"}"#,
    ))
    .unwrap();
    assert_eq!(enroll.result, PreauthResult::Enroll);
    assert!(enroll.enroll_portal_url.unwrap().ends_with("/portal?48bac5d9393fb2c2"));
    for (result, expected) in [("allow", PreauthResult::Allow), ("deny", PreauthResult::Deny)] {
        let body = format!(r#"{{"result": "{result}", "status_msg": "x"}}"#);
        assert_eq!(parse_preauth(&ok(&body)).unwrap().result, expected);
    }
    let new = parse_preauth(&ok(r#"{"result": "verify"}"#)).unwrap();
    assert_eq!(new.result, PreauthResult::Other("verify".into()));
}

#[wasm_bindgen_test]
#[test]
fn auth_answers_sync_async_and_status() {
    let allowed = parse_auth(&ok(
        r#"{"result": "allow", "status": "allow", "status_msg": "Success. Logging you in..."}"#,
    ))
    .unwrap();
    let AuthResponse::Done(outcome) = allowed else { panic!("synchronous") };
    assert!(outcome.is_allowed());
    let sent = parse_auth(&ok(
        r#"{"result": "deny", "status": "sent", "status_msg": "New SMS passcodes sent."}"#,
    ))
    .unwrap();
    assert_eq!(
        sent,
        AuthResponse::Done(AuthOutcome {
            result: AuthResult::Deny,
            status: "sent".into(),
            status_msg: "New SMS passcodes sent.".into(),
        })
    );
    let started = parse_auth(&ok(r#"{"txid": "13eb97f2-9008-42f4-b59b-afc7a5edf6a6"}"#)).unwrap();
    assert_eq!(
        started,
        AuthResponse::Started { txid: "13eb97f2-9008-42f4-b59b-afc7a5edf6a6".into() }
    );
    let waiting = parse_auth_status(&ok(r#"{"result": "waiting", "status": "pushed", "status_msg": "Pushed a login request to your device...", "auth_delayed": false}"#)).unwrap();
    assert_eq!(waiting.result, AuthResult::Waiting);
    assert!(!waiting.is_allowed());
    let odd = parse_auth_status(&ok(r#"{"result": "maybe", "status": "x"}"#)).unwrap();
    assert!(!odd.is_allowed(), "an unknown result is not an allow");
    assert!(parse_auth(&ok(r#"{"status": "allow"}"#)).is_err(), "no result, no txid");
}

#[wasm_bindgen_test]
#[test]
fn time_enroll_and_enroll_status() {
    assert_eq!(parse_time(&ok(r#"{"time": 1357020061}"#)).unwrap(), 1_357_020_061);
    let enrolled = parse_enroll(&ok(r#"{"activation_barcode": "https://api-267c0646.duosecurity.com/frame/qr?value=duo%3A%2F%2F4FCELX",
        "activation_code": "duo://4FCELXdby5IvBEjBp6BT-YXBpLTI2N2MwNjQ2LmR1b3NlY3VyaXR5LmNvbQ",
        "activation_url": "https://m-267c0646.duosecurity.com/activate/4FCELXdby5IvBEjBp6BT",
        "expiration": 1697905640, "user_id": "DUKVGHTEPSSS7I388F7P", "username": "d8a83e0ab50dc249ce87e24100b7cc80"}"#)).unwrap();
    assert_eq!(enrolled.user_id, "DUKVGHTEPSSS7I388F7P");
    assert_eq!(enrolled.expiration, Some(1_697_905_640));
    for (text, expected) in [
        ("success", EnrollStatus::Success),
        ("waiting", EnrollStatus::Waiting),
        ("invalid", EnrollStatus::Invalid),
        ("other", EnrollStatus::Other("other".into())),
    ] {
        assert_eq!(parse_enroll_status(&ok(&format!("\"{text}\""))).unwrap(), expected);
    }
}

#[wasm_bindgen_test]
#[test]
fn duo_errors_are_typed_with_their_code() {
    let refused =
        |status: u16, body: &str| parse_time(&HttpResponse::new(status, body)).unwrap_err();
    let bad_signature = refused(
        401,
        r#"{"code": 40103, "message": "Invalid signature in request credentials", "stat": "FAIL"}"#,
    );
    assert_eq!(bad_signature.kind(), ErrorKind::Credentials);
    assert_eq!(bad_signature.code(), Some(40103));
    assert!(bad_signature.explanation().contains("DUO_SKEY"));
    assert_eq!(
        bad_signature.to_string(),
        "Duo refused the request: 40103 Invalid signature in request credentials"
    );
    let params = refused(
        400,
        r#"{"code": 40002, "message": "Invalid request parameters", "message_detail": "no capable device", "stat": "FAIL"}"#,
    );
    assert_eq!(params.kind(), ErrorKind::BadRequest);
    assert!(params.to_string().ends_with("(no capable device)"));
    assert_eq!(
        refused(401, r#"{"code": 40105, "message": "Bad request timestamp", "stat": "FAIL"}"#)
            .kind(),
        ErrorKind::Credentials
    );
    assert_eq!(
        refused(403, r#"{"code": 40301, "message": "Access forbidden", "stat": "FAIL"}"#).kind(),
        ErrorKind::WrongIntegration
    );
    assert_eq!(
        refused(429, r#"{"code": 42901, "message": "Too Many Requests", "stat": "FAIL"}"#).kind(),
        ErrorKind::RateLimited
    );
    assert_eq!(refused(503, "<html>Service Unavailable</html>").kind(), ErrorKind::Unavailable);
    assert_eq!(
        refused(502, r#"{"stat": "FAIL", "code": 50301, "message": "x"}"#).kind(),
        ErrorKind::Unavailable
    );
    assert_eq!(refused(200, "<html>").kind(), ErrorKind::Malformed);
    assert_eq!(refused(200, r#"{"stat": "OK"}"#).kind(), ErrorKind::Malformed);
    assert_eq!(refused(200, r#"{"stat": "FAIL", "code": "40102", "message": "Invalid integration key in request credentials"}"#).code(), Some(40_102));
    let huge =
        format!(r#"{{"stat": "OK", "response": {{"time": 1, "pad": "{}"}}}}"#, "x".repeat(70_000));
    assert_eq!(refused(200, &huge).kind(), ErrorKind::Malformed);
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::canonical_params;
    use proptest::prelude::*;

    fn decode(encoded: &str) -> Option<String> {
        let mut bytes = Vec::new();
        let mut rest = encoded.as_bytes();
        while let Some((&first, tail)) = rest.split_first() {
            if first == b'%' {
                let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
                if hex.bytes().any(|b| b.is_ascii_lowercase()) {
                    return None;
                }
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = &tail[2..];
            } else {
                bytes.push(first);
                rest = tail;
            }
        }
        String::from_utf8(bytes).ok()
    }

    proptest! {
        /// Every byte outside `A-Z a-z 0-9 _ . ~ -` is `%XX` (uppercase),
        /// pairs come sorted, and decoding gives back exactly what was sent,
        /// whatever the order it was given in.
        #[test]
        fn canonical_parameters_encode_sort_and_round_trip(
            params in proptest::collection::vec((any::<String>(), any::<String>()), 0..8),
            rotate in 0usize..8,
        ) {
            let borrowed: Vec<(&str, &str)> =
                params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let canonical = canonical_params(&borrowed);
            let mut rotated = borrowed.clone();
            if !rotated.is_empty() {
                let by = rotate % rotated.len();
                rotated.rotate_left(by);
            }
            prop_assert_eq!(&canonical_params(&rotated), &canonical);
            if borrowed.is_empty() {
                prop_assert_eq!(canonical.as_str(), "");
                return Ok(());
            }
            let pairs: Vec<(String, String)> = canonical
                .split('&')
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("k=v");
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            let mut sorted = pairs.clone();
            sorted.sort();
            prop_assert_eq!(&pairs, &sorted);
            for (k, v) in &pairs {
                prop_assert!(k.bytes().chain(v.bytes()).all(|b| b.is_ascii_alphanumeric() || b"%_.~-".contains(&b)));
            }
            let mut decoded: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (decode(k).expect("decodes"), decode(v).expect("decodes")))
                .collect();
            let mut original = params.clone();
            decoded.sort();
            original.sort();
            prop_assert_eq!(decoded, original);
        }
    }
}

#[wasm_bindgen_test]
#[test]
fn verified_push_is_asked_for_carried_and_its_code_read() {
    let client = client();
    let preauth = client.preauth_for_verified_push(User::Username("alice"), None, NOW);
    assert_eq!(preauth.body, b"client_supports_verified_push=1&username=alice");
    assert_signed(&preauth, "/auth/v2/preauth", "client_supports_verified_push=1&username=alice");

    let required = parse_preauth(&ok(r#"{"result": "auth", "status_msg": "Account is active",
        "txid": "0f9a7f1c-5b7e-4a43-9a39-1f0e4ad0a6b1", "devices": []}"#))
    .unwrap();
    let offer = required.verified_push.unwrap();
    assert_eq!((offer.txid.as_str(), offer.code), ("0f9a7f1c-5b7e-4a43-9a39-1f0e4ad0a6b1", None));
    let with_code = parse_preauth(&ok(
        r#"{"result": "auth", "txid": "T1", "verification_code": "4821", "expiration": 1}"#,
    ))
    .unwrap();
    assert_eq!(with_code.verified_push.unwrap().code.as_deref(), Some("4821"));
    for odd in [r#""txid": """#, r#""txid": "a b""#, r#""txid": 7"#] {
        let body = format!(r#"{{"result": "auth", {odd}}}"#);
        assert_eq!(parse_preauth(&ok(&body)).unwrap().verified_push, None, "{odd}");
    }
    let bad_code =
        parse_preauth(&ok(r#"{"result": "auth", "txid": "T", "verification_code": "12"}"#));
    assert_eq!(bad_code.unwrap().verified_push.unwrap().code, None, "2 digits is no code");

    let options = AuthOptions { txid: Some("T1".into()), ..AuthOptions::asynchronous() };
    let push = client.auth(User::Username("alice"), &Factor::Push, &options, NOW);
    assert_eq!(push.body, b"async=1&device=auto&factor=push&txid=T1&username=alice");

    let status = |msg: &str, result: &str| {
        let body =
            format!(r#"{{"result": "{result}", "status": "pushed", "status_msg": "{msg}"}}"#);
        parse_auth_status(&ok(&body)).unwrap().verification_code()
    };
    let asked = "Please enter verification code 708 into Duo Mobile...";
    assert_eq!(status(asked, "waiting").as_deref(), Some("708"));
    assert_eq!(status("Verification code: 123456", "waiting").as_deref(), Some("123456"));
    assert_eq!(status(asked, "allow"), None, "only while the push waits");
    for none in [
        "Pushed a login request to your device...",
        "verification code 12",
        "verification code 1234567",
        "verification code x708",
    ] {
        assert_eq!(status(none, "waiting"), None, "{none}");
    }
}
