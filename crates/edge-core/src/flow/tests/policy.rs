//! The policy engine ([`crate::flow::policy`]): address ranges at their
//! edges, IPv6, canonical form and its errors, first match in order,
//! sign-ins with no country.

use std::net::IpAddr;

use shared::api::Role;
use shared::policy::{MAX_RULES, PolicyAction, PolicyRule, PolicySet};

use crate::flow::policy::{Cidr, Place, Policies, canonical};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("a test address")
}

fn rule(name: &str, action: PolicyAction) -> PolicyRule {
    PolicyRule { name: name.to_owned(), enabled: true, action, ..PolicyRule::default() }
}

/// Every IPv6 form that carries an IPv4 address is that address to the
/// rules (issue "Hardening, second round"): IPv4-mapped, IPv4-compatible
/// and NAT64's well-known prefix; ranges are written as IPv4.
#[test]
fn ipv4_in_ipv6_forms_match_ipv4_rules_and_only_them() {
    let net = Cidr::parse("192.0.2.0/24").expect("a range");
    for form in ["::ffff:192.0.2.7", "::192.0.2.7", "64:ff9b::192.0.2.7", "64:ff9b::c000:2ff"] {
        assert!(net.contains(ip(form)), "{form}");
    }
    for outside in ["::ffff:192.0.3.7", "::192.0.3.7", "64:ff9b::192.0.3.7", "64:ff9b:1::c000:207"]
    {
        assert!(!net.contains(ip(outside)), "{outside}");
    }
    // Not IPv4: the unspecified and loopback addresses, and any other prefix.
    let v6_all = Cidr::parse("::/0").expect("all of IPv6");
    for v6 in ["::", "::1", "64:ff9b:1::c000:207", "2001:db8::c000:207"] {
        assert!(v6_all.contains(ip(v6)), "{v6} stays IPv6");
        assert!(!Cidr::parse("0.0.0.0/0").expect("all of IPv4").contains(ip(v6)), "{v6}");
    }
    let nat64 = Cidr::parse("64:ff9b:1::/48").expect("a v6 range beside NAT64's");
    assert!(!nat64.contains(ip("64:ff9b::192.0.2.7")));
    assert!(Cidr::parse("64:ff9b::/96").is_err(), "NAT64's prefix is all of IPv4: 0.0.0.0/0");
    for written in ["::ffff:192.0.2.0/120", "::192.0.2.0/120", "64:ff9b::c000:200/120"] {
        let said = Cidr::parse(written).expect_err("write it as IPv4");
        assert!(said.contains("write it as IPv4 (192.0.2.0/...)"), "{written}: {said}");
    }
}

#[test]
fn ranges_hold_their_edges_and_nothing_past_them() {
    let net = Cidr::parse("192.0.2.0/24").expect("a range");
    assert!(net.contains(ip("192.0.2.0")) && net.contains(ip("192.0.2.255")));
    assert!(!net.contains(ip("192.0.1.255")) && !net.contains(ip("192.0.3.0")));
    assert!(net.contains(ip("::ffff:192.0.2.7")), "an IPv4-mapped address is IPv4");
    assert!(net.contains(ip("::c000:207")), "an IPv4-compatible one is IPv4");
    let one = Cidr::parse("198.51.100.7").expect("one address");
    assert_eq!(one.to_string(), "198.51.100.7/32");
    assert!(one.contains(ip("198.51.100.7")) && !one.contains(ip("198.51.100.8")));
    let all_v4 = Cidr::parse("0.0.0.0/0").expect("everything");
    assert!(all_v4.contains(ip("255.255.255.255")) && !all_v4.contains(ip("2001:db8::1")));
    let v6 = Cidr::parse("2001:DB8::/32").expect("a v6 range");
    assert_eq!(v6.to_string(), "2001:db8::/32");
    assert!(v6.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
    assert!(!v6.contains(ip("2001:db9::")) && !v6.contains(ip("192.0.2.1")));
    let odd = Cidr::parse("2001:db8:8000::/33").expect("a non-nibble prefix");
    assert!(odd.contains(ip("2001:db8:ffff::1")) && !odd.contains(ip("2001:db8:7fff::1")));
    let host = Cidr::parse("2001:db8::1").expect("one v6 address");
    assert_eq!(host.to_string(), "2001:db8::1/128");
    assert!(Cidr::parse("::/0").expect("all of v6").contains(ip("::1")));
}

#[test]
fn ranges_that_cannot_be_meant_are_refused_in_words() {
    let said = Cidr::parse("192.0.2.1/24").expect_err("host bits");
    assert!(said.contains("did you mean 192.0.2.0/24?"), "{said}");
    let said = Cidr::parse("2001:db8::1/32").expect_err("host bits");
    assert!(said.contains("2001:db8::/32"), "{said}");
    let mapped = Cidr::parse("::ffff:10.0.0.0/104").expect_err("IPv4-mapped");
    assert!(mapped.contains("write it as IPv4 (10.0.0.0/...)"), "{mapped}");
    for bad in [
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/",
        "10.0.0.0/-1",
        "10.0.0.0/ 8",
        "10.0.0/8",
        "example.com",
        "fe80::1%eth0",
        "",
    ] {
        assert!(Cidr::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_set_is_saved_in_canonical_form_or_refused_naming_the_rule() {
    let set = PolicySet {
        rules: vec![PolicyRule {
            users: vec!["  Alice ".into()],
            networks: vec!["2001:0DB8:0000::/32".into()],
            countries: vec!["de".into()],
            asns: vec![3320],
            ..rule("  Office  ", PolicyAction::BypassDuo)
        }],
        remember_days: 0,
        access: Vec::new(),
    };
    let saved = canonical(&set).expect("valid");
    let office = &saved.rules[0];
    assert_eq!(office.name, "Office");
    assert_eq!(
        (office.users.clone(), office.networks.clone()),
        (vec!["alice".to_owned()], vec!["2001:db8::/32".to_owned()])
    );
    assert_eq!(office.countries, ["DE"]);

    let refused = |second: PolicyRule| {
        canonical(&PolicySet {
            rules: vec![rule("ok", PolicyAction::Deny), second],
            remember_days: 0,
            access: Vec::new(),
        })
        .expect_err("refused")
        .to_string()
    };
    assert!(refused(rule("  ", PolicyAction::Deny)).starts_with("Rule 2: a name"));
    let said = refused(PolicyRule {
        users: vec!["no spaces".into()],
        ..rule("Staff", PolicyAction::Deny)
    });
    assert!(said.starts_with("Rule 2: (Staff) user \"no spaces\""), "{said}");
    let said =
        refused(PolicyRule { countries: vec!["DEU".into()], ..rule("Geo", PolicyAction::Deny) });
    assert!(said.contains("country \"DEU\""), "{said}");
    let said = refused(PolicyRule {
        networks: vec!["10.1.0.0/8".into()],
        ..rule("Lan", PolicyAction::Deny)
    });
    assert!(said.contains("did you mean 10.0.0.0/8?"), "{said}");
    assert!(
        refused(PolicyRule { asns: vec![0], ..rule("AS", PolicyAction::Deny) }).contains("ASN 0")
    );
    let said = refused(rule(" OK ", PolicyAction::BypassDuo));
    assert_eq!(said, "Rule 2: (OK) rule 1 has this name already: give each rule its own");
    // Trusted browsers skip Duo on a rule that asks for Duo, nowhere else.
    let boxes = |action| {
        let set = PolicySet {
            rules: vec![PolicyRule { allow_remembered: true, ..rule("r", action) }],
            remember_days: 30,
            access: Vec::new(),
        };
        canonical(&set).expect("valid").rules[0].allow_remembered
    };
    assert_eq!(
        [PolicyAction::RequireDuo, PolicyAction::BypassDuo, PolicyAction::Deny].map(boxes),
        [true, false, false]
    );
    let path = |name: &str| shared::policy::AccessRule {
        name: name.to_owned(),
        enabled: true,
        methods: Vec::new(),
        path: "/".to_owned(),
        access: shared::policy::Access::SignedIn,
    };
    let twice = PolicySet {
        rules: Vec::new(),
        remember_days: 0,
        access: vec![path("Reports"), path("reports")],
    };
    let said = canonical(&twice).expect_err("refused").to_string();
    assert!(said.starts_with("access rule 2: (reports) path rule 1 has this name"), "{said}");
    let too_many = PolicySet {
        rules: vec![rule("r", PolicyAction::Deny); MAX_RULES + 1],
        remember_days: 0,
        access: Vec::new(),
    };
    assert!(canonical(&too_many).is_err());
}

fn place(address: &str, country: Option<&str>, asn: Option<u32>) -> Place {
    Place { ip: Some(ip(address)), country: country.and_then(Place::country_code), asn }
}

#[test]
fn the_first_matching_rule_decides() {
    let set = PolicySet {
        rules: vec![
            PolicyRule { countries: vec!["T1".into()], ..rule("Tor", PolicyAction::Deny) },
            PolicyRule {
                enabled: false,
                ..rule("Everyone, switched off", PolicyAction::BypassDuo)
            },
            PolicyRule { roles: vec![Role::Admin], ..rule("Admins", PolicyAction::RequireDuo) },
            PolicyRule {
                networks: vec!["10.0.0.0/8".into(), "2001:db8:1::/48".into()],
                ..rule("Office", PolicyAction::BypassDuo)
            },
            PolicyRule {
                users: vec!["zed".into(), "kiosk".into(), "amy".into()],
                asns: vec![64502, 64500, 64501],
                ..rule("Kiosk", PolicyAction::BypassDuo)
            },
        ],
        remember_days: 0,
        access: Vec::new(),
    };
    let policies = Policies::compile(&canonical(&set).expect("valid")).expect("compiles");
    assert_eq!(policies.len(), 4, "the disabled rule is not in force");
    let decide = |user: &str, role: Role, at: &Place| {
        policies.decide(user, role, at).map(|(rule, action)| (rule.to_string(), action))
    };
    let office = place("10.1.2.3", Some("DE"), Some(3320));
    assert_eq!(
        decide("alice", Role::User, &office),
        Some(("#4 Office".into(), PolicyAction::BypassDuo))
    );
    assert_eq!(
        decide("root", Role::Admin, &office),
        Some(("#3 Admins".into(), PolicyAction::RequireDuo)),
        "in order"
    );
    let tor = place("10.1.2.3", Some("T1"), None);
    assert_eq!(decide("root", Role::Admin, &tor), Some(("#1 Tor".into(), PolicyAction::Deny)));
    let v6_office = place("2001:db8:1:ff::9", None, None);
    assert_eq!(decide("alice", Role::User, &v6_office).map(|d| d.1), Some(PolicyAction::BypassDuo));
    let home = place("203.0.113.9", Some("DE"), Some(64500));
    assert_eq!(decide("alice", Role::User, &home), None, "no rule: the account's own setting");
    assert_eq!(
        decide("kiosk", Role::User, &home).map(|d| d.0),
        Some("#5 Kiosk".into()),
        "user and ASN both"
    );
    assert_eq!(decide("kiosk", Role::User, &place("203.0.113.9", None, Some(64503))), None);
}

#[test]
fn a_sign_in_without_a_country_or_an_address_matches_no_list_of_them() {
    let set = PolicySet {
        rules: vec![
            PolicyRule { countries: vec!["US".into()], ..rule("US only", PolicyAction::BypassDuo) },
            PolicyRule {
                networks: vec!["0.0.0.0/0".into(), "::/0".into()],
                ..rule("Any address", PolicyAction::RequireDuo)
            },
            rule("Everyone else", PolicyAction::Deny),
        ],
        remember_days: 0,
        access: Vec::new(),
    };
    let policies = Policies::compile(&set).expect("compiles");
    let nowhere = Place::default();
    assert_eq!(
        policies.decide("alice", Role::User, &nowhere).map(|d| d.1),
        Some(PolicyAction::Deny)
    );
    let unknown_country = Place { ip: Some(ip("192.0.2.1")), country: None, asn: None };
    assert_eq!(
        policies.decide("alice", Role::User, &unknown_country).map(|d| d.1),
        Some(PolicyAction::RequireDuo)
    );
    assert_eq!(Place::country_code("us"), Some(*b"US"));
    assert_eq!(Place::country_code(""), None);
    assert_eq!(Place::country_code("Deutschland"), None);
}

#[test]
fn a_stored_set_that_is_not_one_fails() {
    assert!(Policies::from_stored("{\"rules\": 3}").is_err());
    assert!(Policies::from_stored("").is_err());
    let empty = Policies::from_stored("{\"rules\": []}").expect("the migration's set");
    assert!(empty.is_empty());
}

// ---------------------------------------------------------------------------
// The policies at sign-in.
// ---------------------------------------------------------------------------

mod at_sign_in {
    use shared::ErrorCode;
    use shared::api::AuthMethod;
    use shared::policy::{PolicyAction, PolicyRule, PolicySet};

    use super::rule;

    use crate::flow::limits::{Client, LimitKey, window_start};
    use crate::flow::login::LoginOutcome;
    use crate::flow::store::StoredPolicies;
    use crate::flow::testing::{MemoryStore, NOW, password_step, store};
    use crate::flow::{Ctx, Reason, Refusal};

    /// The demo cast under `rules`.
    fn store_with(rules: Vec<PolicyRule>) -> MemoryStore {
        let store = store();
        let document =
            serde_json::to_string(&PolicySet { rules, remember_days: 0, access: Vec::new() })
                .expect("JSON");
        *store.policies.borrow_mut() = Some(StoredPolicies {
            version: 2,
            document,
            updated_at: NOW - 100,
            updated_by: Some("root".into()),
        });
        store
    }

    fn sign_in(
        store: &MemoryStore,
        who: &str,
        password: &str,
        from: &str,
        country: Option<&[u8; 2]>,
    ) -> Result<LoginOutcome, Refusal> {
        let ctx = Ctx {
            now: NOW,
            client: Some(from.parse().expect("an address")),
            country: country.copied(),
            asn: Some(64500),
            city: None,
            agent: None,
        };
        password_step(store, who, password, None, &ctx)
    }

    fn office_and_tor() -> Vec<PolicyRule> {
        vec![
            PolicyRule { countries: vec!["T1".into()], ..rule("Tor", PolicyAction::Deny) },
            PolicyRule {
                networks: vec!["10.0.0.0/8".into()],
                ..rule("Office", PolicyAction::BypassDuo)
            },
            PolicyRule {
                users: vec!["admin".into()],
                ..rule("Break-glass needs Duo", PolicyAction::RequireDuo)
            },
        ]
    }

    #[test]
    fn a_deny_rule_refuses_the_right_password_as_if_it_were_wrong_and_keeps_it_counted() {
        let store = store_with(office_and_tor());
        let refused =
            sign_in(&store, "alice", "alice-pass", "203.0.113.7", Some(b"T1")).expect_err("denied");
        let wrong =
            sign_in(&store, "alice", "wrong-pass", "203.0.113.7", Some(b"T1")).expect_err("wrong");
        // The same answer: nothing confirms the password from a denied place.
        assert_eq!(refused.reason, Reason::PolicyDenied);
        assert_eq!(
            (refused.code(), refused.message.clone(), refused.retry_after),
            (wrong.code(), wrong.message.clone(), wrong.retry_after)
        );
        assert_eq!(refused.code(), ErrorCode::InvalidCredentials);
        store.events.borrow_mut().pop();
        let event = store.last_event();
        assert_eq!((event.reason, event.policy.as_deref()), ("policy_denied", Some("#1 Tor")));
        let key =
            LimitKey::UserClient("alice".into(), Client::of(Some("203.0.113.7".parse().unwrap())));
        assert_eq!(
            store.counters.borrow().get(&(key, window_start(NOW))),
            Some(&2),
            "still counted, like the wrong one"
        );
        assert_eq!(store.session_count(), 0);
    }

    #[test]
    fn a_wrong_password_is_refused_before_any_policy_is_read() {
        let store = store_with(office_and_tor());
        let refused =
            sign_in(&store, "alice", "guess", "203.0.113.7", Some(b"T1")).expect_err("refused");
        assert_eq!(refused.reason, Reason::BadPassword, "a guesser learns nothing of the policies");
        assert_eq!(store.last_event().policy, None);
    }

    #[test]
    fn a_bypass_rule_lets_the_password_in_and_says_which_rule() {
        let store = store_with(office_and_tor());
        let Ok(LoginOutcome::Done { session, .. }) =
            sign_in(&store, "alice", "alice-pass", "10.20.30.40", Some(b"DE"))
        else {
            panic!("expected a session")
        };
        assert_eq!(session.info.method, AuthMethod::Bypass);
        let event = store.last_event();
        assert_eq!((event.reason, event.policy.as_deref()), ("policy_bypass", Some("#2 Office")));
        // From elsewhere, alice's own setting: Duo.
        let elsewhere = sign_in(&store, "alice", "alice-pass", "203.0.113.7", Some(b"DE"));
        assert!(matches!(elsewhere, Ok(LoginOutcome::Duo { .. })), "{elsewhere:?}");
        assert_eq!((store.last_event().reason, store.last_event().policy), ("duo_required", None));
    }

    #[test]
    fn a_require_rule_overrides_an_accounts_bypass() {
        let store = store_with(office_and_tor());
        let outcome = sign_in(&store, "admin", "admin-pass", "203.0.113.7", None);
        assert!(matches!(outcome, Ok(LoginOutcome::Duo { .. })), "{outcome:?}");
        let event = store.last_event();
        assert_eq!(
            (event.reason, event.policy.as_deref()),
            ("duo_required", Some("#3 Break-glass needs Duo"))
        );
        // With no rules, the break-glass account is password only again.
        let store = store_with(vec![]);
        let outcome = sign_in(&store, "admin", "admin-pass", "203.0.113.7", None);
        assert!(matches!(outcome, Ok(LoginOutcome::Done { .. })), "{outcome:?}");
        assert_eq!(store.last_event().reason, "bypass");
    }

    #[test]
    fn unreadable_stored_policies_let_nobody_in() {
        // Not a set; and a set whose entry would be dropped, widening its
        // rule to everyone (a hand edit of the row, say).
        for document in [
            r#"{"rules":"none"}"#,
            r#"{"rules":[{"name":"VIPs","action":"bypass_duo","users":["Bob Smith"]}]}"#,
        ] {
            let store = store();
            *store.policies.borrow_mut() = Some(StoredPolicies {
                version: 2,
                document: document.into(),
                updated_at: 0,
                updated_by: None,
            });
            let refused = sign_in(&store, "alice", "alice-pass", "203.0.113.7", None)
                .expect_err("fails closed");
            assert_eq!(refused.code(), ErrorCode::Internal, "{document}");
            assert_eq!(store.session_count(), 0);
        }
    }
}

// ---------------------------------------------------------------------------
// The policies in the console.
// ---------------------------------------------------------------------------

mod in_the_console {
    use shared::ErrorCode;
    use shared::api::Role;
    use shared::policy::{DryRunRequest, PoliciesSave, PolicyAction, PolicyRule, PolicySet};

    use super::rule;
    use crate::flow::admin::Caller;
    use crate::flow::testing::console::{dry_run, save, view};
    use crate::flow::testing::{
        APP_ORIGIN, MemoryStore, NOW, Task, block_on, config, ctx, join_all, session_cookie,
        store_with_admin,
    };
    use crate::flow::{Reason, Refusal};

    /// `rule` for sign-ins from Tor only.
    fn tor(rule: PolicyRule) -> PolicyRule {
        PolicyRule { countries: vec!["T1".into()], ..rule }
    }

    fn caller(cookie: &str) -> Caller<'_> {
        Caller { origin: Some(APP_ORIGIN), session_cookie: Some(cookie) }
    }

    fn saving(
        store: &MemoryStore,
        cookie: &str,
        expected_version: u32,
        rules: Vec<PolicyRule>,
    ) -> Result<u32, Refusal> {
        let request = PoliciesSave {
            expected_version,
            set: PolicySet { rules, remember_days: 0, access: Vec::new() },
            confirm: None,
        };
        sending(store, cookie, &request)
    }

    /// `request` saved by `cookie`'s admin from 198.51.100.3: the new version.
    fn sending(store: &MemoryStore, cookie: &str, request: &PoliciesSave) -> Result<u32, Refusal> {
        let at = ctx(NOW, "198.51.100.3");
        block_on(save(store, &config("closed"), caller(cookie), request, &at)).map(|v| v.version)
    }

    #[test]
    fn admins_read_and_save_the_set_in_canonical_form() {
        let (store, root) = store_with_admin();
        let first = block_on(view(&store, Some(&root), NOW)).expect("the migration's set");
        assert_eq!((first.version, first.set.rules.len(), first.updated_by), (1, 0, None));
        let office = PolicyRule {
            networks: vec!["10.0.0.0/8".into()],
            countries: vec!["de".into()],
            ..rule(" Office ", PolicyAction::BypassDuo)
        };
        assert_eq!(saving(&store, &root, 1, vec![office]), Ok(2));
        let now = block_on(view(&store, Some(&root), NOW)).expect("saved");
        assert_eq!((now.version, now.updated_by.as_deref()), (2, Some("root")));
        assert_eq!(
            (now.set.rules[0].name.as_str(), now.set.rules[0].countries.clone()),
            ("Office", vec!["DE".to_owned()])
        );
        let event = store.admin_events.borrow().last().cloned().expect("recorded");
        assert_eq!(
            (event.action, event.detail.as_deref()),
            ("set_policies", Some(r#"{"rules":1,"version":2}"#))
        );
    }

    #[test]
    fn a_set_that_does_not_check_is_refused_naming_the_rule() {
        let (store, root) = store_with_admin();
        let bad =
            PolicyRule { networks: vec!["10.0.0.1/8".into()], ..rule("Lan", PolicyAction::Deny) };
        let refused = saving(&store, &root, 1, vec![rule("ok", PolicyAction::RequireDuo), bad])
            .expect_err("refused");
        assert_eq!(
            (refused.reason, refused.code()),
            (Reason::AdminBadValue, ErrorCode::BadRequest)
        );
        let said = refused.message.unwrap_or_default();
        assert!(said.starts_with("Rule 2: (Lan) network") && said.contains("10.0.0.0/8"), "{said}");
        assert_eq!(block_on(view(&store, Some(&root), NOW)).expect("unchanged").version, 1);
        assert!(store.admin_events.borrow().is_empty());
    }

    #[test]
    fn two_admins_saving_from_one_version_cannot_both_win() {
        let (store, root) = store_with_admin();
        let (config, at) = (config("closed"), ctx(NOW, "198.51.100.3"));
        let (mine, theirs) = (
            PoliciesSave {
                expected_version: 1,
                set: PolicySet {
                    rules: vec![tor(rule("Mine", PolicyAction::Deny))],
                    remember_days: 0,
                    access: Vec::new(),
                },
                confirm: None,
            },
            PoliciesSave {
                expected_version: 1,
                set: PolicySet {
                    rules: vec![tor(rule("Theirs", PolicyAction::BypassDuo))],
                    remember_days: 0,
                    access: Vec::new(),
                },
                confirm: None,
            },
        );
        let tasks: Vec<Task<'_, Result<_, Refusal>>> = vec![
            Box::pin(save(&store, &config, caller(&root), &mine, &at)),
            Box::pin(save(&store, &config, caller(&root), &theirs, &at)),
        ];
        let results = join_all(tasks);
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
        let lost = results.into_iter().find_map(Result::err).expect("one refused");
        assert!(
            lost.message.is_some_and(|m| m.contains("saved the policies meanwhile (version 2)"))
        );
        assert_eq!(block_on(view(&store, Some(&root), NOW)).expect("one set").version, 2);
    }

    #[test]
    fn only_admins_from_the_app_read_save_or_try() {
        let (store, _) = store_with_admin();
        let alice = session_cookie(&store, "alice", 3);
        assert_eq!(
            block_on(view(&store, Some(&alice), NOW)).expect_err("403").reason,
            Reason::NotAdmin
        );
        assert_eq!(saving(&store, &alice, 1, vec![]).expect_err("403").reason, Reason::NotAdmin);
        let request = DryRunRequest::default();
        let tried = block_on(dry_run(&store, &config("closed"), caller(&alice), &request, NOW));
        assert_eq!(tried.expect_err("403").reason, Reason::NotAdmin);
    }

    #[test]
    fn a_dry_run_says_which_access_rule_decides_an_app_request() {
        use shared::policy::{Access, AccessRule, AppRequest};
        let (store, root) = store_with_admin();
        let admins = AccessRule {
            name: "Console".into(),
            enabled: true,
            methods: Vec::new(),
            path: "/admin/*".into(),
            access: Access::Role { role: Role::Admin },
        };
        let draft = PolicySet { access: vec![admins.clone()], ..PolicySet::default() };
        let asking = |method: &str, path: &str, set: &PolicySet| DryRunRequest {
            set: set.clone(),
            request: Some(AppRequest { method: method.into(), path: path.into() }),
            ..DryRunRequest::default()
        };
        let run = |request: &DryRunRequest| {
            block_on(dry_run(&store, &config("closed"), caller(&root), request, NOW))
        };
        let decided = run(&asking("GET", "/ADMIN/%75sers", &draft)).expect("a dry run");
        let decision = decided.access.expect("the request was decided");
        assert_eq!(decision.access, Access::Role { role: Role::Admin });
        assert_eq!(decision.rule.map(|r| (r.number, r.name)), Some((1, "Console".to_owned())));
        let other = run(&asking("GET", "/reports", &draft)).expect("a dry run").access;
        assert_eq!(other.map(|d| (d.rule, d.access)), Some((None, Access::SignedIn)));
        // A draft with a broken access rule is refused, naming it.
        let broken = AccessRule { path: "reports".into(), ..admins };
        let broken = PolicySet { access: vec![broken], ..PolicySet::default() };
        let refused = run(&asking("GET", "/", &broken)).expect_err("refused");
        assert_eq!(refused.code(), ErrorCode::BadRequest);
        assert!(format!("{refused:?}").contains("access rule 1"), "{refused:?}");
    }

    #[test]
    fn a_dry_run_tells_who_a_draft_would_match_from_a_place() {
        let (store, root) = store_with_admin();
        let draft = PolicySet {
            rules: vec![
                PolicyRule {
                    countries: vec!["CN".into()],
                    ..rule("Blocked countries", PolicyAction::Deny)
                },
                PolicyRule { roles: vec![Role::Admin], ..rule("Admins", PolicyAction::RequireDuo) },
                PolicyRule {
                    networks: vec!["10.0.0.0/8".into()],
                    ..rule("Office", PolicyAction::BypassDuo)
                },
            ],
            remember_days: 0,
            access: Vec::new(),
        };
        let from = |ip: &str, country: &str| DryRunRequest {
            set: draft.clone(),
            ip: ip.into(),
            country: country.into(),
            asn: None,
            q: String::new(),
            request: None,
        };
        let office = block_on(dry_run(
            &store,
            &config("closed"),
            caller(&root),
            &from("10.1.1.1", "de"),
            NOW,
        ))
        .expect("a dry run");
        assert_eq!(office.total, 4, "alice, admin, erin, root");
        let decided: Vec<(String, Option<u32>, PolicyAction)> = office
            .rows
            .iter()
            .map(|r| {
                (r.username.clone(), r.decision.rule.as_ref().map(|m| m.number), r.decision.action)
            })
            .collect();
        assert_eq!(
            decided,
            [
                ("admin".to_owned(), Some(3), PolicyAction::BypassDuo),
                ("alice".to_owned(), Some(3), PolicyAction::BypassDuo),
                ("erin".to_owned(), Some(3), PolicyAction::BypassDuo),
                ("root".to_owned(), Some(2), PolicyAction::RequireDuo),
            ]
        );
        let home = block_on(dry_run(
            &store,
            &config("closed"),
            caller(&root),
            &from("203.0.113.1", ""),
            NOW,
        ))
        .expect("a dry run");
        let admin = home.rows.iter().find(|r| r.username == "admin").expect("admin");
        assert_eq!(
            (admin.decision.rule.clone(), admin.decision.action),
            (None, PolicyAction::BypassDuo),
            "the account's own bypass"
        );
        let blocked = block_on(dry_run(
            &store,
            &config("closed"),
            caller(&root),
            &from("10.1.1.1", "CN"),
            NOW,
        ))
        .expect("a dry run");
        assert!(blocked.rows.iter().all(|r| r.decision.action == PolicyAction::Deny));
        assert!(store.policies.borrow().is_none(), "a dry run saves nothing");
        for (ip, country) in [("10.1.1", ""), ("", "China")] {
            let refused = block_on(dry_run(
                &store,
                &config("closed"),
                caller(&root),
                &from(ip, country),
                NOW,
            ));
            assert_eq!(refused.expect_err("bad place").reason, Reason::AdminBadValue);
        }
    }

    fn save_set(
        store: &MemoryStore,
        cookie: &str,
        set: PolicySet,
        confirm: Option<&str>,
    ) -> Result<u32, Refusal> {
        let expected_version = store.stored_policies().version;
        let request = PoliciesSave { expected_version, set, confirm: confirm.map(str::to_owned) };
        sending(store, cookie, &request)
    }

    /// A set under which no enabled admin could sign in from the saving
    /// admin's own place is refused, saying why; one that leaves an admin,
    /// or denies admins only elsewhere, is saved.
    #[test]
    fn a_set_that_locks_every_admin_out_is_refused() {
        let (store, root) = store_with_admin();
        let no_admins =
            PolicyRule { roles: vec![Role::Admin], ..rule("No admins", PolicyAction::Deny) };
        let set = |rules| PolicySet { rules, remember_days: 0, access: Vec::new() };
        let refused =
            save_set(&store, &root, set(vec![no_admins.clone()]), None).expect_err("locked out");
        assert_eq!(
            (refused.reason, refused.code()),
            (Reason::AdminBadValue, ErrorCode::BadRequest)
        );
        let said = refused.message.unwrap_or_default();
        assert!(said.contains("No enabled admin could sign in from 198.51.100.3"), "{said}");
        assert!(said.contains("#1 No admins"), "names the rule: {said}");
        assert_eq!(store.stored_policies().version, 1, "nothing saved");
        assert!(store.admin_events.borrow().is_empty());
        // Everyone denied from here: the same.
        let everyone = rule("Closed", PolicyAction::Deny);
        assert!(save_set(&store, &root, set(vec![everyone]), None).is_err());

        // Denied from Tor only: the saving admin signs in from here.
        assert_eq!(save_set(&store, &root, set(vec![tor(no_admins.clone())]), None), Ok(2));
        // Root alone denied while another admin is not: saved.
        store.add_user(crate::flow::store::UserRecord {
            role: "admin".to_owned(),
            ..crate::flow::testing::user("dana", "x", "required", false)
        });
        let not_root =
            PolicyRule { users: vec!["root".into()], ..rule("Not root", PolicyAction::Deny) };
        assert_eq!(save_set(&store, &root, set(vec![not_root]), None), Ok(3));
    }

    /// A catch-all `bypass_duo` turns Duo off for a whole role: saved only
    /// with the phrase that turns enforcement off, recorded as such, and
    /// shown on the Duo page until it goes.
    #[test]
    fn a_set_that_turns_duo_off_takes_the_phrase_and_is_shown() {
        let (store, root) = store_with_admin();
        let everyone = PolicySet {
            rules: vec![rule("All", PolicyAction::BypassDuo)],
            remember_days: 0,
            access: Vec::new(),
        };
        let refused = save_set(&store, &root, everyone.clone(), None).expect_err("unconfirmed");
        assert_eq!(refused.reason, Reason::AdminBadValue);
        let said = refused.message.unwrap_or_default();
        assert!(said.contains("#1 All") && said.contains("turn off Duo"), "{said}");
        let wrong = save_set(&store, &root, everyone.clone(), Some("turn Duo off"));
        assert_eq!(wrong.expect_err("not the phrase").reason, Reason::AdminBadValue);
        assert_eq!(store.stored_policies().version, 1, "nothing saved");

        assert_eq!(save_set(&store, &root, everyone, Some("turn off Duo")), Ok(2));
        let event = store.admin_events.borrow().last().cloned().expect("recorded");
        let detail: serde_json::Value =
            serde_json::from_str(event.detail.as_deref().unwrap_or_default()).expect("JSON");
        assert_eq!(detail["duo_off_for"], serde_json::json!(["user", "admin"]));
        assert_eq!(detail["by_rule"], "#1 All");
        let provider = block_on(crate::flow::testing::console::settings(
            &store,
            &config("closed"),
            Some(&root),
            NOW,
        ))
        .expect("the Duo page");
        let notice = provider.policy_bypass.expect("shown");
        assert_eq!(notice.bypass.roles, vec![Role::User, Role::Admin]);
        assert_eq!(notice.saved_by.as_deref(), Some("root"));
        assert!(provider.enforce_duo, "the switch itself is untouched");

        // A set with conditions needs no phrase, and the notice goes.
        let office = PolicyRule {
            networks: vec!["10.0.0.0/8".into()],
            ..rule("Office", PolicyAction::BypassDuo)
        };
        let set = PolicySet { rules: vec![office], remember_days: 0, access: Vec::new() };
        assert_eq!(save_set(&store, &root, set, None), Ok(3));
        let provider = block_on(crate::flow::testing::console::settings(
            &store,
            &config("closed"),
            Some(&root),
            NOW,
        ))
        .expect("the Duo page");
        assert_eq!(provider.policy_bypass, None);
    }

    /// Turning "trust this browser" off ends the trust already given:
    /// turning it on again does not bring the old browsers back.
    #[test]
    fn turning_trust_off_forgets_the_remembered_browsers() {
        let (store, root) = store_with_admin();
        let set = |days| PolicySet { rules: vec![], remember_days: days, access: Vec::new() };
        assert_eq!(save_set(&store, &root, set(30), None), Ok(2));
        let ticket = crate::cookie::LoginTicket::new("alice", NOW - 60)
            .offering_remember(30)
            .remembering(true);
        let at = ctx(NOW - 60, "192.0.2.60");
        let cookie = block_on(crate::flow::remember::grant(
            &store,
            &ticket,
            &at,
            &crate::flow::testing::random(12),
        ))
        .expect("stored")
        .expect("remembered")
        .value;
        let vouches = |now| {
            block_on(crate::flow::remember::vouches(
                &store,
                Some(&cookie),
                &crate::flow::testing::user_key("alice"),
                30,
                now,
            ))
            .expect("read")
        };
        assert!(vouches(NOW), "trusted");

        assert_eq!(save_set(&store, &root, set(0), None), Ok(3));
        assert!(store.browsers.borrow().iter().all(|(_, revoked)| *revoked == Some(NOW)));
        assert_eq!(save_set(&store, &root, set(30), None), Ok(4));
        assert!(!vouches(NOW + 1), "not trusted again");

        // A sign-in under way when trust was turned off remembers nothing.
        assert_eq!(save_set(&store, &root, set(0), None), Ok(5));
        let late = block_on(crate::flow::remember::grant(
            &store,
            &ticket,
            &ctx(NOW + 2, "192.0.2.60"),
            &crate::flow::testing::random(13),
        ));
        assert_eq!(late.expect("no error"), None);
    }
}
