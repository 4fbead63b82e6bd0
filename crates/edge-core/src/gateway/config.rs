//! The gateway's settings: where the app is (exactly one of `UPSTREAM_URL`
//! and a service binding named `UPSTREAM`), the signing keys
//! (`GATEWAY_KEYS`, a secret), the assertion's audience and lifetime, and
//! how long a checked session is trusted before it is checked again (the
//! bound on revocation). Problems are named by setting, never by value.

use zeroize::Zeroizing;

use super::assertion::MAX_TTL_SECONDS;
use super::signing::{KeysError, SigningKeys};
use crate::config::{AppOrigin, ConfigProblem};

/// The gateway's settings in the order they are checked.
pub const SETTINGS: [&str; 5] = [
    "UPSTREAM_URL",
    "GATEWAY_KEYS",
    "GATEWAY_AUDIENCE",
    "GATEWAY_ASSERTION_TTL_SECONDS",
    "SESSION_RECHECK_SECONDS",
];

/// The service binding's name, when the app is another Worker.
pub const UPSTREAM_BINDING: &str = "UPSTREAM";
/// `GATEWAY_ASSERTION_TTL_SECONDS` when unset.
pub const DEFAULT_ASSERTION_TTL_SECONDS: u64 = 120;
/// The shortest assertion lifetime accepted (clocks differ by seconds).
pub const MIN_ASSERTION_TTL_SECONDS: u64 = 10;
/// `SESSION_RECHECK_SECONDS` when unset: a revoked session stops reaching
/// the app within a minute.
pub const DEFAULT_RECHECK_SECONDS: u64 = 60;
/// The longest `SESSION_RECHECK_SECONDS` accepted.
pub const MAX_RECHECK_SECONDS: u64 = 3_600;

/// Where the app is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// Another Worker, through the service binding `UPSTREAM`.
    Binding,
    /// An origin (`https://app.example.com`, or `http://` on a loopback
    /// host): the request's path and query are appended.
    Origin(String),
    /// `UPSTREAM_URL=none`: another proxy stands in front of the app and
    /// asks `{prefix}/verify` (forward-auth); the app's paths never come
    /// here, and answer 404 if they do.
    ForwardAuthOnly,
}

/// The `UPSTREAM_URL` that says another proxy forwards to the app.
pub const NO_UPSTREAM: &str = "none";

/// The parsed settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Where the app is.
    pub upstream: Upstream,
    /// The keys (current signs; all are published).
    pub keys: SigningKeys,
    /// The assertion's `aud`.
    pub audience: String,
    /// The assertion's lifetime, in seconds.
    pub assertion_ttl_seconds: u64,
    /// How long a session, once checked, is trusted without asking the
    /// store again: the bound on revocation, in seconds.
    pub recheck_seconds: u64,
}

impl GatewayConfig {
    /// Reads the settings through `lookup`; `has_binding` says whether a
    /// service binding named [`UPSTREAM_BINDING`] exists. The audience
    /// defaults to the login's origin.
    ///
    /// # Errors
    /// The first setting that is missing or invalid.
    pub fn parse<F>(
        lookup: &F,
        has_binding: bool,
        origin: &AppOrigin,
    ) -> Result<Self, ConfigProblem>
    where
        F: Fn(&str) -> Option<Zeroizing<String>>,
    {
        let present = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let upstream = match (present("UPSTREAM_URL"), has_binding) {
            (Some(_), true) => {
                return Err(ConfigProblem::Invalid {
                    setting: "UPSTREAM_URL",
                    rule: "set UPSTREAM_URL or bind the service UPSTREAM, not both",
                });
            }
            (None, true) => Upstream::Binding,
            (Some(url), false) if url.trim() == NO_UPSTREAM => Upstream::ForwardAuthOnly,
            (Some(url), false) => {
                let url = AppOrigin::parse(&url).map_err(|rule| ConfigProblem::Invalid {
                    setting: "UPSTREAM_URL",
                    rule: if rule.contains("scheme") { rule } else { UPSTREAM_RULE },
                })?;
                Upstream::Origin(url.as_str().to_owned())
            }
            (None, false) => return Err(ConfigProblem::Missing("UPSTREAM_URL")),
        };
        let keys = present("GATEWAY_KEYS").ok_or(ConfigProblem::Missing("GATEWAY_KEYS"))?;
        let keys = SigningKeys::parse(&keys).map_err(|error| ConfigProblem::Invalid {
            setting: "GATEWAY_KEYS",
            rule: keys_rule(&error),
        })?;
        let audience = present("GATEWAY_AUDIENCE")
            .map_or_else(|| origin.as_str().to_owned(), |v| v.trim().to_owned());
        let assertion_ttl_seconds = seconds(
            present("GATEWAY_ASSERTION_TTL_SECONDS"),
            "GATEWAY_ASSERTION_TTL_SECONDS",
            DEFAULT_ASSERTION_TTL_SECONDS,
            MIN_ASSERTION_TTL_SECONDS..=MAX_TTL_SECONDS,
            "expected whole seconds from 10 to 300",
        )?;
        let recheck_seconds = seconds(
            present("SESSION_RECHECK_SECONDS"),
            "SESSION_RECHECK_SECONDS",
            DEFAULT_RECHECK_SECONDS,
            1..=MAX_RECHECK_SECONDS,
            "expected whole seconds from 1 to 3600",
        )?;
        Ok(Self { upstream, keys, audience, assertion_ttl_seconds, recheck_seconds })
    }
}

const UPSTREAM_RULE: &str =
    "expected the app's origin, like https://app.example.com (no path), or none (forward-auth)";

fn seconds(
    value: Option<Zeroizing<String>>,
    setting: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
    rule: &'static str,
) -> Result<u64, ConfigProblem> {
    let Some(value) = value else { return Ok(default) };
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|v| range.contains(v))
        .ok_or(ConfigProblem::Invalid { setting, rule })
}

const fn keys_rule(error: &KeysError) -> &'static str {
    match error {
        KeysError::Shape(_) => "not a key set as scripts/gateway-keys.mjs writes it",
        KeysError::NotP256(_) => "a key is not an EC P-256 key",
        KeysError::NoPrivatePart(_) => "the current key has no private part",
        KeysError::WrongKid(_) => "a key's kid is not its RFC 7638 thumbprint",
        KeysError::Repeated(..) => "two roles hold the same key",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::signing::tests::set;
    use super::*;

    fn parse(vars: &[(&str, &str)], binding: bool) -> Result<GatewayConfig, ConfigProblem> {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let lookup = |name: &str| vars.get(name).cloned().map(Zeroizing::new);
        let origin = AppOrigin::parse("https://login.example.com").expect("an origin");
        GatewayConfig::parse(&lookup, binding, &origin)
    }

    #[test]
    fn an_origin_or_a_binding_and_the_defaults() {
        let keys = set(true, false);
        let by_url = parse(
            &[("UPSTREAM_URL", "https://App.Example.com:443"), ("GATEWAY_KEYS", &keys)],
            false,
        )
        .expect("valid");
        assert_eq!(by_url.upstream, Upstream::Origin("https://app.example.com".to_owned()));
        assert_eq!(by_url.audience, "https://login.example.com");
        assert_eq!(by_url.assertion_ttl_seconds, DEFAULT_ASSERTION_TTL_SECONDS);
        assert_eq!(by_url.recheck_seconds, DEFAULT_RECHECK_SECONDS);
        let by_binding = parse(
            &[
                ("GATEWAY_KEYS", &keys),
                ("GATEWAY_AUDIENCE", " my-app "),
                ("GATEWAY_ASSERTION_TTL_SECONDS", "60"),
                ("SESSION_RECHECK_SECONDS", "5"),
            ],
            true,
        )
        .expect("valid");
        assert_eq!(by_binding.upstream, Upstream::Binding);
        assert_eq!(
            (
                by_binding.audience.as_str(),
                by_binding.assertion_ttl_seconds,
                by_binding.recheck_seconds
            ),
            ("my-app", 60, 5)
        );
        let local =
            parse(&[("UPSTREAM_URL", "http://127.0.0.1:8790"), ("GATEWAY_KEYS", &keys)], false);
        assert!(local.is_ok(), "http on a loopback host");
        let forward_auth = parse(&[("UPSTREAM_URL", " none "), ("GATEWAY_KEYS", &keys)], false);
        assert_eq!(forward_auth.expect("valid").upstream, Upstream::ForwardAuthOnly);
    }

    /// Settings, whether the binding exists, and the setting named.
    type Case<'a> = (Vec<(&'a str, &'a str)>, bool, &'a str);

    #[test]
    fn each_problem_names_its_setting() {
        let keys = set(false, false);
        let cases: Vec<Case> = vec![
            (vec![("GATEWAY_KEYS", &keys)], false, "UPSTREAM_URL"),
            (
                vec![("UPSTREAM_URL", "https://a.example"), ("GATEWAY_KEYS", &keys)],
                true,
                "UPSTREAM_URL",
            ),
            (
                vec![("UPSTREAM_URL", "http://app.example"), ("GATEWAY_KEYS", &keys)],
                false,
                "UPSTREAM_URL",
            ),
            (
                vec![("UPSTREAM_URL", "https://a.example/path"), ("GATEWAY_KEYS", &keys)],
                false,
                "UPSTREAM_URL",
            ),
            (vec![("UPSTREAM_URL", "https://a.example")], false, "GATEWAY_KEYS"),
            (
                vec![("UPSTREAM_URL", "https://a.example"), ("GATEWAY_KEYS", "{}")],
                false,
                "GATEWAY_KEYS",
            ),
            (
                vec![
                    ("UPSTREAM_URL", "https://a.example"),
                    ("GATEWAY_KEYS", &keys),
                    ("GATEWAY_ASSERTION_TTL_SECONDS", "600"),
                ],
                false,
                "GATEWAY_ASSERTION_TTL_SECONDS",
            ),
            (
                vec![
                    ("UPSTREAM_URL", "https://a.example"),
                    ("GATEWAY_KEYS", &keys),
                    ("SESSION_RECHECK_SECONDS", "0"),
                ],
                false,
                "SESSION_RECHECK_SECONDS",
            ),
        ];
        for (vars, binding, setting) in cases {
            let problem = parse(&vars, binding).expect_err(setting);
            assert_eq!(problem.setting(), setting, "{problem}");
            assert!(!problem.to_string().contains("\"d\""), "never a key: {problem}");
        }
    }
}
