//! The coarse flood filter in front of the expensive steps: which requests
//! it counts, and under which key. The Worker asks Cloudflare's Rate
//! Limiting binding of the group (`[[ratelimits]]` in `wrangler.toml`)
//! before anything else, so a flood of guesses is refused before PBKDF2
//! (about 13 ms of CPU each) and before D1. The exact limits of the sign-in
//! (`flow::limits`, in D1) stay as they are, below it.

use shared::api::routes;

/// A group of routes counted together per client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloodGroup {
    /// The password and the Duo steps: each may cost a password hash, a
    /// D1 write or a call to Duo.
    SignIn,
    /// The admin console's API.
    Console,
}

impl FloodGroup {
    /// The Rate Limiting binding that counts it.
    pub const fn binding(self) -> &'static str {
        match self {
            Self::SignIn => "FLOOD_SIGN_IN",
            Self::Console => "FLOOD_CONSOLE",
        }
    }

    /// The seconds its limit counts over (the bindings' `period` in
    /// `wrangler.toml`): how long a refused client waits.
    pub const fn period_seconds(self) -> u64 {
        match self {
            Self::SignIn => 10,
            Self::Console => 60,
        }
    }

    /// The key a client is counted under: the group and its address
    /// (`CF-Connecting-IP`, which Cloudflare sets on every request it
    /// passes on). A request without one did not come through Cloudflare's
    /// edge (a local `wrangler dev`): it is not counted, as it could only be
    /// counted together with every other such request.
    pub fn key(self, client: Option<std::net::IpAddr>) -> Option<String> {
        let group = match self {
            Self::SignIn => "sign-in",
            Self::Console => "console",
        };
        client.map(|ip| format!("{group}:{ip}"))
    }

    /// Whether a refusal goes back as a redirect to the sign-in page (the
    /// prompt mode's form and Duo's redirect back) rather than as JSON.
    pub fn redirects(path: &str) -> bool {
        path == routes::DUO_START || path == routes::DUO_CALLBACK
    }
}

/// The group a request (`method`, the login's own `path`) is counted in,
/// or `None` for one the filter lets through (pages, the session check,
/// the gateway, an inline status poll, which costs neither a hash nor a
/// new Duo request).
pub fn group_of(method: &str, path: &str) -> Option<FloodGroup> {
    match (method, path) {
        (
            "POST",
            routes::LOGIN | routes::STEP_UP | routes::DUO_START | routes::DUO_INLINE_START,
        )
        | ("GET", routes::DUO_CALLBACK) => Some(FloodGroup::SignIn),
        (_, p) if p.starts_with("/api/admin/") => Some(FloodGroup::Console),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expensive_steps_are_counted_and_the_rest_is_not() {
        for (method, path) in [
            ("POST", routes::LOGIN),
            ("POST", routes::STEP_UP),
            ("POST", routes::DUO_START),
            ("POST", routes::DUO_INLINE_START),
            ("GET", routes::DUO_CALLBACK),
        ] {
            assert_eq!(group_of(method, path), Some(FloodGroup::SignIn), "{method} {path}");
        }
        for (method, path) in [("GET", "/api/admin/users"), ("POST", "/api/admin/users/change")] {
            assert_eq!(group_of(method, path), Some(FloodGroup::Console), "{method} {path}");
        }
        for (method, path) in [
            ("GET", routes::SESSION),
            ("GET", routes::HEALTH),
            ("POST", routes::DUO_INLINE_STATUS),
            ("GET", routes::PAGE),
            ("GET", routes::LOGIN),
        ] {
            assert_eq!(group_of(method, path), None, "{method} {path}");
        }
        let ip = "198.51.100.7".parse().ok();
        assert_eq!(FloodGroup::SignIn.key(ip).as_deref(), Some("sign-in:198.51.100.7"));
        assert_eq!(FloodGroup::Console.key(None), None, "no address, not counted");
        assert!(FloodGroup::redirects(routes::DUO_START) && !FloodGroup::redirects(routes::LOGIN));
    }
}
