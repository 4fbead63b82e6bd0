//! Sign-in policies: which rule a sign-in matches, first match wins
//! (`shared::policy` has the wire forms and their meaning).
//!
//! A set is checked and put in canonical form once, when an admin saves it
//! ([`canonical`]: names trimmed, usernames normalized, countries in upper
//! case, networks as `address/prefix` with no host bits), and compiled for
//! each sign-in from the stored JSON ([`Policies::from_stored`]), read in
//! the same statement as the user. The client's address, country and ASN
//! are Cloudflare's (`CF-Connecting-IP`, `request.cf`), never a header the
//! client chose ([`Place`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use credentials::Username;
use shared::api::Role;
use shared::policy::{
    MAX_LIST, MAX_REMEMBER_DAYS, MAX_RULES, MatchedRule, PolicyAction, PolicyRule, PolicySet,
};

/// Where a sign-in comes from, as Cloudflare saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Place {
    /// The client's address.
    pub ip: Option<IpAddr>,
    /// The country (ISO 3166-1 alpha-2, upper case; `XX`, `T1`).
    pub country: Option<[u8; 2]>,
    /// The autonomous system.
    pub asn: Option<u32>,
}

impl Place {
    /// A country as `request.cf` gives it: two ASCII letters, else none.
    pub fn country_code(text: &str) -> Option<[u8; 2]> {
        match text.trim().as_bytes() {
            &[a, b] if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => {
                Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
            }
            _ => None,
        }
    }
}

/// An address range: IPv4 addresses live in the low 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    v4: bool,
    network: u128,
    prefix: u8,
}

impl Cidr {
    /// `192.0.2.0/24`, `2001:db8::/32`, or one address (`/32`, `/128`).
    ///
    /// # Errors
    /// What is wrong, in words (host bits set names the network meant).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let ip: IpAddr = address.parse().map_err(|_| format!("\"{text}\" is not an address"))?;
        if let IpAddr::V6(v6) = ip
            && let Some(v4) = embedded_v4(v6)
        {
            // Clients are compared as IPv4 when they come in one of these forms.
            return Err(format!(
                "\"{text}\" is an IPv4 range in IPv6 form: write it as IPv4 ({v4}/...)"
            ));
        }
        let (v4, bits, value) = match ip {
            IpAddr::V4(v4) => (true, 32_u8, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => (false, 128_u8, u128::from(v6)),
        };
        let prefix = match prefix {
            None => bits,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= bits)
                .ok_or_else(|| format!("\"{text}\": the prefix is at most /{bits}"))?,
            Some(_) => return Err(format!("\"{text}\": the prefix is a number")),
        };
        let cidr = Self { v4, network: value & mask(bits, prefix), prefix };
        if cidr.network != value {
            return Err(format!("\"{text}\" has host bits set: did you mean {cidr}?"));
        }
        Ok(cidr)
    }

    /// Whether `ip` is in the range. An IPv6 address that carries an IPv4
    /// one ([`embedded_v4`]) is that IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        let (v4, bits, value) = match ip {
            IpAddr::V4(v4) => (true, 32, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => (false, 128, u128::from(v6)),
        };
        v4 == self.v4 && value & mask(bits, self.prefix) == self.network
    }
}

/// The IPv4 address an IPv6 address stands for, in the three forms that
/// carry one: IPv4-mapped (`::ffff:192.0.2.7`), IPv4-compatible
/// (`::192.0.2.7`, deprecated by RFC 4291; not `::` or `::1`, nor anything
/// in `0.0.0.0/8`) and NAT64's well-known prefix (`64:ff9b::192.0.2.7`,
/// RFC 6052). A rule on `192.0.2.0/24` holds for a client in any of them,
/// so that no form of an address escapes a rule written for it. (The rate
/// limits count IPv6 clients by /64 whatever they carry: a whole NAT64
/// prefix is one client there, never four billion.)
pub fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let octets = ip.octets();
    let v4 = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    let prefix = &octets[..12];
    let mapped = prefix == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
    let compatible = prefix == [0; 12] && octets[12] != 0;
    let nat64 = prefix == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
    (mapped || compatible || nat64).then_some(v4)
}

/// The top `prefix` of `bits` bits set.
fn mask(bits: u8, prefix: u8) -> u128 {
    let all = if bits == 32 { u128::from(u32::MAX) } else { u128::MAX };
    // (A shift by the whole width would overflow: /128 keeps every bit.)
    all & !all.checked_shr(u32::from(prefix)).unwrap_or(0)
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.v4 {
            let octets = u32::try_from(self.network).unwrap_or(0);
            write!(f, "{}/{}", std::net::Ipv4Addr::from(octets), self.prefix)
        } else {
            write!(f, "{}/{}", std::net::Ipv6Addr::from(self.network), self.prefix)
        }
    }
}

/// Why a set cannot be saved: the rule (from 1) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The rule, from 1; `None` for the set as a whole.
    pub rule: Option<u32>,
    /// In words.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Some(n) => write!(f, "Rule {n}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// `set` checked and in canonical form, for storing.
///
/// # Errors
/// The first [`PolicyError`].
pub fn canonical(set: &PolicySet) -> Result<PolicySet, PolicyError> {
    if set.rules.len() > MAX_RULES {
        return Err(PolicyError { rule: None, message: format!("at most {MAX_RULES} rules") });
    }
    let rules: Vec<PolicyRule> = set
        .rules
        .iter()
        .zip(1_u32..)
        .map(|(rule, n)| {
            canonical_rule(rule).map_err(|message| PolicyError { rule: Some(n), message })
        })
        .collect::<Result<_, _>>()?;
    // A name says which rule decided (in the audit log, the dry run): one
    // rule per name.
    if let Some((n, first, name)) = repeated(rules.iter().map(|r| r.name.as_str())) {
        return Err(PolicyError {
            rule: Some(n),
            message: format!("({name}) rule {first} has this name already: give each rule its own"),
        });
    }
    if let Some((n, first, name)) = repeated(set.access.iter().map(|r| r.name.trim())) {
        return Err(PolicyError {
            rule: None,
            message: format!(
                "access rule {n}: ({name}) path rule {first} has this name already: give each \
                 rule its own"
            ),
        });
    }
    if set.remember_days > MAX_REMEMBER_DAYS {
        return Err(PolicyError {
            rule: None,
            message: format!("a browser is remembered for at most {MAX_REMEMBER_DAYS} days"),
        });
    }
    let access = crate::gateway::access::canonical(&set.access).map_err(|(n, message)| {
        PolicyError { rule: None, message: format!("access rule {n}: {message}") }
    })?;
    Ok(PolicySet { rules, remember_days: set.remember_days, access })
}

/// The first name that appears twice (any case): its second place, its
/// first place (both from 1), and the name.
fn repeated<'a>(names: impl Iterator<Item = &'a str>) -> Option<(u32, u32, &'a str)> {
    let mut seen: Vec<(String, u32)> = Vec::new();
    for (name, n) in names.zip(1_u32..) {
        let key = name.to_lowercase();
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            return Some((n, *first, name));
        }
        seen.push((key, n));
    }
    None
}

fn canonical_rule(rule: &PolicyRule) -> Result<PolicyRule, String> {
    let name = rule.name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err("a name of 1 to 64 characters, without control characters".to_owned());
    }
    let lists = [
        rule.roles.len(),
        rule.users.len(),
        rule.networks.len(),
        rule.countries.len(),
        rule.asns.len(),
    ];
    if lists.iter().any(|&n| n > MAX_LIST) {
        return Err(format!("({name}) at most {MAX_LIST} entries in a list"));
    }
    let users = rule
        .users
        .iter()
        .map(|u| {
            Username::parse(u)
                .map(|u| u.normalized())
                .map_err(|e| format!("({name}) user \"{u}\": {e}"))
        })
        .collect::<Result<_, _>>()?;
    let networks = rule
        .networks
        .iter()
        .map(|n| Cidr::parse(n).map(|c| c.to_string()).map_err(|e| format!("({name}) network {e}")))
        .collect::<Result<_, _>>()?;
    let countries = rule
        .countries
        .iter()
        .map(|c| {
            Place::country_code(c)
                .filter(|code| code.iter().all(u8::is_ascii_alphanumeric))
                .map(|code| String::from_utf8_lossy(&code).into_owned())
                .ok_or_else(|| format!("({name}) country \"{c}\": two letters, e.g. DE"))
        })
        .collect::<Result<_, _>>()?;
    if rule.asns.contains(&0) {
        return Err(format!("({name}) ASN 0 is no autonomous system"));
    }
    // Trusted browsers skip Duo only where a rule asks for Duo: on a rule
    // that refuses or lets the password alone in, the box means nothing.
    let allow_remembered = rule.allow_remembered && rule.action == PolicyAction::RequireDuo;
    Ok(PolicyRule {
        name: name.to_owned(),
        users,
        networks,
        countries,
        allow_remembered,
        ..rule.clone()
    })
}

/// One rule, ready to match.
#[derive(Debug, Clone)]
struct Compiled {
    matched: MatchedRule,
    action: PolicyAction,
    allow_remembered: bool,
    roles: Vec<Role>,
    users: Vec<String>,
    networks: Vec<Cidr>,
    countries: Vec<[u8; 2]>,
    asns: Vec<u32>,
}

impl Compiled {
    fn matches(&self, username: &str, role: Role, place: &Place) -> bool {
        (self.roles.is_empty() || self.roles.contains(&role))
            && (self.users.is_empty() || self.users.iter().any(|u| u == username))
            && (self.networks.is_empty()
                || place.ip.is_some_and(|ip| self.networks.iter().any(|n| n.contains(ip))))
            && (self.countries.is_empty()
                || place.country.is_some_and(|c| self.countries.contains(&c)))
            && (self.asns.is_empty() || place.asn.is_some_and(|a| self.asns.contains(&a)))
    }
}

/// A set, compiled: the enabled rules in order.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    rules: Vec<Compiled>,
    remember_days: u32,
}

impl Policies {
    /// Compiles a set. Every entry must parse: one that did not would be
    /// dropped and widen its rule (an empty list holds for everyone), so
    /// the set fails instead, naming the rule. (The console saves sets in
    /// canonical form, [`canonical`], which always compile.)
    ///
    /// # Errors
    /// The first rule with an entry that does not parse.
    pub fn compile(set: &PolicySet) -> Result<Self, PolicyError> {
        let rules = set
            .rules
            .iter()
            .zip(1_u32..)
            .filter(|(rule, _)| rule.enabled)
            .map(|(rule, number)| {
                let bad = || PolicyError {
                    rule: Some(number),
                    message: "an entry does not parse".to_owned(),
                };
                // (Lists are searched in order: sorting them would cost the
                // Worker 3 KB of gzip for no measurable gain at these sizes.)
                let users =
                    rule.users.iter().map(|u| credentials::normalize(u)).collect::<Option<_>>();
                let networks =
                    rule.networks.iter().map(|n| Cidr::parse(n).ok()).collect::<Option<_>>();
                let countries =
                    rule.countries.iter().map(|c| Place::country_code(c)).collect::<Option<_>>();
                Ok(Compiled {
                    matched: MatchedRule { number, name: rule.name.clone() },
                    action: rule.action,
                    allow_remembered: rule.allow_remembered,
                    roles: rule.roles.clone(),
                    users: users.ok_or_else(bad)?,
                    networks: networks.ok_or_else(bad)?,
                    countries: countries.ok_or_else(bad)?,
                    asns: rule.asns.clone(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { rules, remember_days: set.remember_days.min(MAX_REMEMBER_DAYS) })
    }

    /// How many days a browser may be remembered after a Duo sign-in (0:
    /// not at all).
    pub const fn remember_days(&self) -> u32 {
        self.remember_days
    }

    /// The stored set (`policies.document`), compiled.
    ///
    /// # Errors
    /// When the stored JSON is not a set: the caller fails closed.
    pub fn from_stored(json: &str) -> Result<Self, String> {
        let set: PolicySet = serde_json::from_slice(json.as_bytes())
            .map_err(|e| format!("stored policies unreadable: {e}"))?;
        Self::compile(&set).map_err(|e| format!("stored policies invalid: {e}"))
    }

    /// The first rule that matches `username` (normalized) with `role`
    /// from `place`, and what it does; `None` when none does.
    pub fn decide(
        &self,
        username: &str,
        role: Role,
        place: &Place,
    ) -> Option<(&MatchedRule, PolicyAction)> {
        self.decide_all(username, role, place).map(|(rule, action, _)| (rule, action))
    }

    /// [`Self::decide`], and whether the rule lets a remembered browser
    /// skip Duo.
    pub fn decide_all(
        &self,
        username: &str,
        role: Role,
        place: &Place,
    ) -> Option<(&MatchedRule, PolicyAction, bool)> {
        self.rules
            .iter()
            .find(|rule| rule.matches(username, role, place))
            .map(|rule| (&rule.matched, rule.action, rule.allow_remembered))
    }

    /// How many rules are in force.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule is in force.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}
