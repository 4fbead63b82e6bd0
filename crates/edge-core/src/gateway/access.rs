//! Who may reach which of the app's paths: the access rules of the
//! policies ([`shared::policy::AccessRule`]), first match wins, a path no
//! rule matches needs a signed-in user.
//!
//! Apps read a path in different ways (percent-decoded or not, `;params`
//! cut or kept, `..` resolved or taken literally, `\` as `/`), so a
//! request is decided for every way it may be read, and the strictest
//! answer holds ([`AccessRules::verdict`]): `/%61dmin`, `//admin`,
//! `/public/..;/admin`, `/admin;x` and `/admin/..;/` all meet a rule for
//! `/admin`. The rules that restrict (a role, a fresh Duo approval) also
//! match in any ASCII letter case and with a format suffix (`/admin.json`,
//! as Rails routes it); a rule naming `GET` holds for `HEAD`, and one
//! naming `PUT`, `PATCH` or `DELETE` that restricts also holds for `POST`
//! (a method override in the body, which the gateway cannot see).

use shared::api::{AuthMethod, Role};
use shared::policy::{Access, AccessRule, MAX_FRESH_MINUTES, MAX_RULES, MatchedRule};

use super::assertion::Identity;

/// The methods a rule may name.
const METHODS: [&str; 9] =
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"];

/// A path pattern, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// `*`.
    Everything,
    /// `/x/*`: `/x` and every path under it.
    Under(String),
    /// `/x`.
    Exactly(String),
}

#[derive(Debug, Clone)]
struct Compiled {
    matched: MatchedRule,
    methods: Vec<String>,
    pattern: Pattern,
    access: Access,
}

/// The enabled access rules, in order.
#[derive(Debug, Clone, Default)]
pub struct AccessRules {
    rules: Vec<Compiled>,
}

/// A rule's problem, in words (the console shows it).
fn check(rule: &AccessRule) -> Result<(), String> {
    let name = rule.name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err("a name of 1 to 64 characters, without control characters".to_owned());
    }
    if let Some(method) = rule.methods.iter().find(|m| !METHODS.contains(&m.trim())) {
        return Err(format!("({name}) {method:?} is not a method (GET, POST, ... in capitals)"));
    }
    pattern(&rule.path).ok_or_else(|| {
        format!("({name}) a path like /reports, /reports/* or *, not {:?}", rule.path)
    })?;
    match rule.access {
        Access::FreshDuo { minutes } if !(1..=MAX_FRESH_MINUTES).contains(&minutes) => {
            Err(format!("({name}) a fresh Duo approval of 1 to {MAX_FRESH_MINUTES} minutes"))
        }
        _ => Ok(()),
    }
}

fn pattern(path: &str) -> Option<Pattern> {
    let path = path.trim();
    if path == "*" {
        return Some(Pattern::Everything);
    }
    let (base, under) = match path.strip_suffix("/*") {
        Some(base) => (base, true),
        None => (path, false),
    };
    let valid = path.starts_with('/')
        && path.len() <= 1024
        && !base.contains(['*', '?', '#', '%', ';', '\\'])
        && !base.chars().any(|c| c.is_control() || c.is_whitespace());
    if !valid {
        return None;
    }
    let base = normalized(base);
    Some(match (under, base.as_str()) {
        (true, "/") => Pattern::Everything,
        (true, _) => Pattern::Under(base),
        (false, _) => Pattern::Exactly(base),
    })
}

/// The rules of a set, each checked, in canonical form (names and methods
/// trimmed, methods in capitals).
///
/// # Errors
/// The first rule with a problem: its number and the problem.
pub fn canonical(rules: &[AccessRule]) -> Result<Vec<AccessRule>, (u32, String)> {
    if rules.len() > MAX_RULES {
        return Err((0, format!("at most {MAX_RULES} access rules")));
    }
    rules
        .iter()
        .zip(1_u32..)
        .map(|(rule, number)| {
            let rule = AccessRule {
                name: rule.name.trim().to_owned(),
                methods: rule.methods.iter().map(|m| m.trim().to_ascii_uppercase()).collect(),
                path: rule.path.trim().to_owned(),
                ..rule.clone()
            };
            check(&rule).map(|()| rule).map_err(|problem| (number, problem))
        })
        .collect()
}

impl AccessRules {
    /// Compiles the enabled rules.
    ///
    /// # Errors
    /// The first rule with a problem (the stored set then fails closed).
    pub fn compile(rules: &[AccessRule]) -> Result<Self, String> {
        let rules =
            canonical(rules).map_err(|(n, problem)| format!("access rule {n}: {problem}"))?;
        let compiled = rules
            .into_iter()
            .zip(1_u32..)
            .filter(|(rule, _)| rule.enabled)
            .filter_map(|(rule, number)| {
                Some(Compiled {
                    pattern: pattern(&rule.path)?,
                    matched: MatchedRule { number, name: rule.name },
                    methods: rule.methods,
                    access: rule.access,
                })
            })
            .collect();
        Ok(Self { rules: compiled })
    }

    /// The first rule that matches `method` on one reading of a path,
    /// and what it needs (a signed-in user when none does).
    fn decide_one(&self, method: &str, path: &str) -> (Option<&MatchedRule>, Access) {
        let folded = path.to_ascii_lowercase();
        let found = self.rules.iter().find(|rule| {
            let restricts = matches!(rule.access, Access::Role { .. } | Access::FreshDuo { .. });
            rule.holds_for(method, restricts)
                && if restricts {
                    rule.pattern.holds(&folded, true)
                } else {
                    rule.pattern.holds(path, false)
                }
        });
        match found {
            Some(rule) => (Some(&rule.matched), rule.access),
            None => (None, Access::SignedIn),
        }
    }

    /// What `method` on `path` needs, read in the strictest way an app may
    /// read it (the dry run's answer), and the rule that says so.
    pub fn decide(&self, method: &str, path: &str) -> (Option<&MatchedRule>, Access) {
        readings(path)
            .iter()
            .map(|reading| self.decide_one(method, reading))
            .max_by_key(|(_, access)| strictness(*access))
            .unwrap_or((None, Access::SignedIn))
    }

    /// What a request of `identity` (or nobody) for `method` on `path`
    /// gets at `now`: the strictest verdict over every reading of the path.
    pub fn verdict(
        &self,
        method: &str,
        path: &str,
        identity: Option<&Identity>,
        now: u64,
    ) -> Verdict {
        readings(path)
            .iter()
            .map(|reading| verdict(self.decide_one(method, reading).1, identity, now))
            .max_by_key(Verdict::severity)
            .unwrap_or(Verdict::SignIn)
    }
}

/// How much an access asks (for the dry run's strictest reading).
const fn strictness(access: Access) -> u32 {
    match access {
        Access::Public => 0,
        Access::SignedIn | Access::Role { role: Role::User } => 1,
        Access::Role { role: Role::Admin } => 2,
        Access::FreshDuo { minutes } => 3 + (MAX_FRESH_MINUTES - minutes),
    }
}

impl Compiled {
    /// Whether the rule holds for `method`: `HEAD` as `GET` (apps answer
    /// it with the GET handler), and, for a rule that restricts, `POST`
    /// as `PUT`, `PATCH` or `DELETE` (a method override in the body).
    fn holds_for(&self, method: &str, restricts: bool) -> bool {
        let named = |m: &str| self.methods.iter().any(|n| n.eq_ignore_ascii_case(m));
        self.methods.is_empty()
            || named(method)
            || (method.eq_ignore_ascii_case("HEAD") && named("GET"))
            || (restricts
                && method.eq_ignore_ascii_case("POST")
                && (named("PUT") || named("PATCH") || named("DELETE")))
    }
}

impl Pattern {
    /// Whether `path` meets the pattern; a restricting rule (`strict`)
    /// compares ASCII letters in any case and also holds for the path with
    /// a format suffix (`/admin.json`).
    fn holds(&self, path: &str, strict: bool) -> bool {
        let fold = |base: &str| if strict { base.to_ascii_lowercase() } else { base.to_owned() };
        let suffixed = |rest: &str| {
            strict
                && rest.strip_prefix('.').is_some_and(|ext| !ext.is_empty() && !ext.contains('/'))
        };
        match self {
            Self::Everything => true,
            Self::Exactly(base) => {
                let base = fold(base);
                path == base || path.strip_prefix(&base).is_some_and(suffixed)
            }
            Self::Under(base) => {
                let base = fold(base);
                path == base
                    || path
                        .strip_prefix(&base)
                        .is_some_and(|rest| rest.starts_with('/') || suffixed(rest))
            }
        }
    }
}

/// Every way an app may read `path` (its query dropped): as it came, and
/// split into segments with `;params` cut or kept and `..` resolved or
/// kept, each percent-decoded not at all, once, and until nothing changes
/// (at most four times).
fn readings(path: &str) -> Vec<String> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let once = percent_decoded(path);
    let mut fully = once.clone();
    for _ in 0..3 {
        let next = percent_decoded(&fully);
        if next == fully {
            break;
        }
        fully = next;
    }
    let mut found: Vec<String> = Vec::with_capacity(15);
    let mut keep = |reading: String| {
        if !found.contains(&reading) {
            found.push(reading);
        }
    };
    for decoded in [path, once.as_str(), fully.as_str()] {
        keep(if decoded.starts_with('/') { decoded.to_owned() } else { format!("/{decoded}") });
        for (cut, resolve) in [(false, false), (false, true), (true, false), (true, true)] {
            keep(segments(decoded, cut, resolve));
        }
    }
    found
}

/// `path` split on `/` and `\\`, empty and `.` segments dropped, each
/// segment's `;params` cut (`cut`), `..` resolved (`resolve`) or kept.
fn segments(path: &str, cut: bool, resolve: bool) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split(['/', '\\']) {
        let segment = if cut { segment.split(';').next().unwrap_or_default() } else { segment };
        match segment {
            "" | "." => {}
            ".." if resolve => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    format!("/{}", segments.join("/"))
}

/// A rule's path, in the form it is compared in: segments, `..`
/// resolved (a rule names no encoded or `;` forms).
fn normalized(path: &str) -> String {
    segments(path, false, true)
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or_default());
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a request gets, given what its path needs and who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Forwarded (with the identity when someone is signed in).
    Forward,
    /// Nobody is signed in: the login (a navigation) or 401.
    SignIn,
    /// Signed in, but the path needs a Duo approval newer than this
    /// session's: back through Duo (a navigation) or 401.
    StepUp,
    /// Signed in, and not allowed: 403, with the reason.
    Forbidden(&'static str),
}

impl Verdict {
    /// How far from going on: the strictest of several verdicts holds.
    const fn severity(&self) -> u8 {
        match self {
            Self::Forward => 0,
            Self::SignIn => 1,
            Self::StepUp => 2,
            Self::Forbidden(_) => 3,
        }
    }
}

/// Decides [`Verdict`] for `access` with `identity` at `now`.
pub fn verdict(access: Access, identity: Option<&Identity>, now: u64) -> Verdict {
    let Some(identity) = identity else {
        return if access == Access::Public { Verdict::Forward } else { Verdict::SignIn };
    };
    match access {
        Access::Public | Access::SignedIn | Access::Role { role: Role::User } => Verdict::Forward,
        Access::Role { role: Role::Admin } if identity.role == Role::Admin.as_str() => {
            Verdict::Forward
        }
        Access::Role { .. } => Verdict::Forbidden("This page is for admins."),
        Access::FreshDuo { minutes } => match identity.method {
            AuthMethod::Duo
                if now.saturating_sub(identity.auth_time) <= u64::from(minutes) * 60 =>
            {
                Verdict::Forward
            }
            AuthMethod::Duo | AuthMethod::Remembered => Verdict::StepUp,
            AuthMethod::Bypass | AuthMethod::FailOpen => {
                Verdict::Forbidden("This page needs a Duo approval, and this sign-in had none.")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use shared::api::AuthMethod;

    use super::*;
    use crate::keys::{IdHash, UserKey};

    fn rule(name: &str, methods: &[&str], path: &str, access: Access) -> AccessRule {
        AccessRule {
            name: name.to_owned(),
            enabled: true,
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
            path: path.to_owned(),
            access,
        }
    }

    fn rules() -> AccessRules {
        AccessRules::compile(&[
            rule("Health", &["GET"], "/health", Access::Public),
            rule("Public", &[], "/public/*", Access::Public),
            rule("Admin", &[], "/admin/*", Access::Role { role: Role::Admin }),
            rule("Payments", &["post"], "/pay", Access::FreshDuo { minutes: 5 }),
            AccessRule { enabled: false, ..rule("Off", &[], "*", Access::Public) },
        ])
        .expect("valid rules")
    }

    fn decided(method: &str, path: &str) -> (Option<String>, Access) {
        let rules = rules();
        let (matched, access) = rules.decide(method, path);
        (matched.map(|m| m.name.clone()), access)
    }

    #[test]
    fn the_first_matching_rule_decides_and_an_unmatched_path_needs_a_session() {
        assert_eq!(decided("GET", "/health"), (Some("Health".to_owned()), Access::Public));
        assert_eq!(decided("POST", "/health"), (None, Access::SignedIn), "GET only");
        assert_eq!(decided("GET", "/public"), (Some("Public".to_owned()), Access::Public));
        assert_eq!(decided("GET", "/public/a/b?x=1").1, Access::Public);
        assert_eq!(decided("GET", "/publicity").1, Access::SignedIn, "not under /public");
        assert_eq!(decided("POST", "/pay").1, Access::FreshDuo { minutes: 5 });
        assert_eq!(decided("GET", "/pay").1, Access::SignedIn);
        assert_eq!(decided("GET", "/anything"), (None, Access::SignedIn), "disabled rule skipped");
    }

    #[test]
    fn a_path_is_compared_as_the_app_may_read_it() {
        let admin = Access::Role { role: Role::Admin };
        for sneaky in [
            "/%61dmin/users",
            "//admin/users",
            "/public/../admin/users",
            "/public/..;/admin/users",
            "/admin;jsessionid=1/users",
            "/ADMIN/users",
            "/Admin%2fusers",
            "/public%2F..%2Fadmin/users",
            "/public/%252e%252e/admin",
            "\\admin\\users",
            "/./admin/./users",
            "/admin/..;/",
            "/admin/users/42%2F..%2F..%2F..",
            "/admin.json",
            "/ADMIN.json",
        ] {
            assert_eq!(decided("GET", sneaky).1, admin, "{sneaky}");
        }
        // A widening rule matches exactly: other letters are not public.
        assert_eq!(decided("GET", "/PUBLIC/x").1, Access::SignedIn);
        assert_eq!(decided("GET", "/public.json").1, Access::SignedIn, "no suffix either");
        assert_eq!(normalized("/a/../../b"), "/b", "never above the root");
        // HEAD is read as GET; a restricted PUT, PATCH or DELETE also
        // holds for POST (an override in the body).
        assert_eq!(decided("HEAD", "/health").1, Access::Public);
        let rules = AccessRules::compile(&[rule(
            "Delete",
            &["DELETE"],
            "/items/*",
            Access::Role { role: Role::Admin },
        )])
        .expect("valid");
        assert_eq!(rules.decide("POST", "/items/1").1, Access::Role { role: Role::Admin });
        assert_eq!(rules.decide("GET", "/items/1").1, Access::SignedIn);
        assert_eq!(decided("POST", "/pay.json").1, Access::FreshDuo { minutes: 5 });
    }

    #[test]
    fn the_strictest_reading_of_a_path_decides() {
        let rules = rules();
        let now = 10_000;
        let user = someone("user", AuthMethod::Duo, now - 60);
        let forbidden = |path: &str| {
            matches!(rules.verdict("GET", path, Some(&user), now), Verdict::Forbidden(_))
        };
        for sneaky in ["/admin/..;/me", "/public/..%2Fadmin/x", "/admin%2F..%2Fme", "/admin;/x"] {
            assert!(forbidden(sneaky), "{sneaky}");
        }
        assert_eq!(rules.verdict("GET", "/public/..%2F..%2Fadmin", None, now), Verdict::SignIn);
        assert_eq!(rules.verdict("GET", "/public/a%20b", None, now), Verdict::Forward);
        assert_eq!(rules.verdict("GET", "/me", Some(&user), now), Verdict::Forward);
    }

    #[test]
    fn each_problem_is_named_with_its_rule() {
        let cases = [
            (rule("", &[], "/x", Access::Public), "name"),
            (rule("Bad method", &["FETCH"], "/x", Access::Public), "method"),
            (rule("Relative", &[], "x/*", Access::Public), "path"),
            (rule("Glob", &[], "/x*", Access::Public), "path"),
            (rule("Encoded", &[], "/%61", Access::Public), "path"),
            (rule("Zero", &[], "/x", Access::FreshDuo { minutes: 0 }), "minutes"),
            (rule("Day+", &[], "/x", Access::FreshDuo { minutes: 1_441 }), "minutes"),
        ];
        for (bad, word) in cases {
            let fine = rule("Fine", &[], "/ok", Access::Public);
            let (number, problem) = canonical(&[fine, bad.clone()]).expect_err(word);
            assert_eq!(number, 2, "{problem}");
            assert!(problem.contains(word), "{word}: {problem}");
        }
        let trimmed = canonical(&[rule(" Spaced ", &[" get "], " /x/* ", Access::Public)]);
        let trimmed = trimmed.expect("valid");
        assert_eq!((trimmed[0].name.as_str(), trimmed[0].methods[0].as_str()), ("Spaced", "GET"));
        assert_eq!(trimmed[0].path, "/x/*");
    }

    fn someone(role: &str, method: AuthMethod, auth_time: u64) -> Identity {
        Identity {
            user: UserKey::of("alice").expect("a name"),
            username: "alice".to_owned(),
            role: role.to_owned(),
            method,
            auth_time,
            session: IdHash::of(b"s"),
            expires_at: auth_time + 3_600,
        }
    }

    #[test]
    fn a_verdict_for_everyone() {
        let now = 10_000;
        let fresh = Access::FreshDuo { minutes: 5 };
        let admin = Access::Role { role: Role::Admin };
        assert_eq!(verdict(Access::Public, None, now), Verdict::Forward);
        assert_eq!(verdict(Access::SignedIn, None, now), Verdict::SignIn);
        assert_eq!(verdict(admin, None, now), Verdict::SignIn);
        assert_eq!(verdict(fresh, None, now), Verdict::SignIn);
        let user = someone("user", AuthMethod::Duo, now - 60);
        assert_eq!(verdict(Access::Role { role: Role::User }, Some(&user), now), Verdict::Forward);
        assert!(matches!(verdict(admin, Some(&user), now), Verdict::Forbidden(_)));
        let boss = someone("admin", AuthMethod::Duo, now - 60);
        assert_eq!(verdict(admin, Some(&boss), now), Verdict::Forward);
        assert_eq!(verdict(fresh, Some(&user), now), Verdict::Forward);
        assert_eq!(
            verdict(fresh, Some(&someone("user", AuthMethod::Duo, now - 300)), now),
            Verdict::Forward
        );
        assert_eq!(
            verdict(fresh, Some(&someone("user", AuthMethod::Duo, now - 301)), now),
            Verdict::StepUp
        );
        let trusted = someone("user", AuthMethod::Remembered, now);
        assert_eq!(verdict(fresh, Some(&trusted), now), Verdict::StepUp, "no Duo this time");
        let bypass = someone("admin", AuthMethod::Bypass, now);
        assert!(matches!(verdict(fresh, Some(&bypass), now), Verdict::Forbidden(_)));
        let fail_open = someone("user", AuthMethod::FailOpen, now);
        assert!(matches!(verdict(fresh, Some(&fail_open), now), Verdict::Forbidden(_)));
    }
}
