//! `cargo bench -p edge-core --bench policy`: what the sign-in policies cost one
//! login, with 100 rules of every kind (roles, users, networks v4 and v6,
//! countries, ASNs), the last one matching, so every rule is tried:
//!
//! - `policies_100_rules_read_and_decide`: what a login does, reading the
//!   stored JSON (as D1 returns it with the user), compiling it and
//!   deciding;
//! - `policies_100_rules_decide`: the decision alone, compiled once.
//!
//! The bench profile inherits `release` (`opt-level = "z"`, as the Worker).

mod native {
    use std::hint::black_box;

    use criterion::Criterion;
    use edge_core::flow::policy::{Place, Policies, canonical};
    use shared::api::Role;
    use shared::policy::{PolicyAction, PolicyRule, PolicySet};

    /// 99 rules that do not match the login below, then one that does.
    fn hundred_rules() -> PolicySet {
        let mut rules: Vec<PolicyRule> = (0..99_u32)
            .map(|n| {
                let base = PolicyRule {
                    name: format!("Rule {n}"),
                    enabled: true,
                    action: PolicyAction::Deny,
                    ..PolicyRule::default()
                };
                match n % 5 {
                    0 => PolicyRule {
                        users: (0..20).map(|u| format!("user{n}-{u}")).collect(),
                        ..base
                    },
                    1 => PolicyRule {
                        networks: (0..10).map(|i| format!("10.{n}.{i}.0/24")).collect(),
                        ..base
                    },
                    2 => PolicyRule {
                        networks: (0..10).map(|i| format!("2001:db8:{n:x}:{i:x}::/64")).collect(),
                        ..base
                    },
                    3 => PolicyRule {
                        countries: vec!["CN".into(), "RU".into(), "KP".into(), "T1".into()],
                        ..base
                    },
                    _ => PolicyRule {
                        asns: (1..=20).map(|a| 64_000 + n * 20 + a).collect(),
                        roles: vec![Role::Admin],
                        ..base
                    },
                }
            })
            .collect();
        rules.push(PolicyRule {
            name: "Everyone else".into(),
            enabled: true,
            action: PolicyAction::RequireDuo,
            ..PolicyRule::default()
        });
        canonical(&PolicySet { rules, remember_days: 0, access: Vec::new() }).expect("a valid set")
    }

    pub fn benches(c: &mut Criterion) {
        let set = hundred_rules();
        let stored = serde_json::to_string(&set).expect("JSON");
        let place = Place {
            ip: Some("2001:db8:ffff::7".parse().expect("an address")),
            country: Place::country_code("DE"),
            asn: Some(3320),
        };
        c.bench_function("policies_100_rules_read_and_decide", |b| {
            b.iter(|| {
                let policies = Policies::from_stored(black_box(&stored)).expect("stored set");
                policies.decide(black_box("alice"), Role::User, black_box(&place)).map(|(_, a)| a)
            });
        });
        let policies = Policies::compile(&set).expect("compiles");
        assert_eq!(
            policies.decide("alice", Role::User, &place).map(|(rule, _)| rule.number),
            Some(100),
            "the last rule decides"
        );
        c.bench_function("policies_100_rules_decide", |b| {
            b.iter(|| {
                policies.decide(black_box("alice"), Role::User, black_box(&place)).map(|(_, a)| a)
            });
        });
    }
}

criterion::criterion_group!(policy, native::benches);
criterion::criterion_main!(policy);
