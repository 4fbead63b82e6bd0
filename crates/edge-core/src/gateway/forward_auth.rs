//! Forward-auth: another proxy asks whether the request it holds may reach
//! the app (nginx `auth_request` at `{prefix}/verify/nginx`, Traefik
//! `forwardAuth` and Caddy `forward_auth` at `{prefix}/verify`), and
//! forwards the identity headers of a yes. The proxy names the request in
//! headers it sets itself; each endpoint reads only its kind's, and
//! decides what a request without a session gets the way the gateway does
//! ([`super::forward::not_signed_in`]), answered in the form that proxy
//! passes on.

use super::forward::{self, NotSignedIn};

/// The request the proxy is deciding about, as it named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// Its method.
    pub method: String,
    /// Its path and query.
    pub path_and_query: String,
    /// Which kind of proxy asked.
    pub proxy: Proxy,
}

/// The two ways proxies ask, each at its own endpoint: a proxy passes the
/// client's headers on to the check, so each endpoint reads only the
/// headers its kind of proxy sets itself (overwriting the client's), never
/// the other kind's, which a client could have sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    /// nginx `auth_request`, at `{prefix}/verify/nginx`: it passes 2xx, 401
    /// and 403 on and fails on any other status, so the login's address
    /// travels in a 401's `Location` (the recipe turns it into a
    /// redirect). The request is named by `X-Original-URI` (the recipe's
    /// `$request_uri`) and `X-Original-Method`.
    AuthRequest,
    /// Traefik `forwardAuth` and Caddy `forward_auth`, at
    /// `{prefix}/verify`: the answer to a refused request goes to the
    /// client as it is, so a navigation gets a 302. Named by
    /// `X-Forwarded-Uri` and `X-Forwarded-Method`.
    Forwarded,
}

impl Original {
    /// The request `proxy` names with `uri` (a path and query) and
    /// `method`; `None` (the check answers 400, nothing is decided) when
    /// either is missing or is not a path or a method: a check that cannot
    /// tell what it is asked about must not decide for some default.
    pub fn named(proxy: Proxy, uri: Option<&str>, method: Option<&str>) -> Option<Self> {
        let uri = uri?.trim();
        let method = method?.trim();
        let is_path = uri.starts_with('/')
            && !uri.starts_with("//")
            && !uri.bytes().any(|b| b.is_ascii_control() || b == b' ' || b == b'\\');
        let is_method = !method.is_empty()
            && method.len() <= 16
            && method.bytes().all(|b| b.is_ascii_alphabetic());
        (is_path && is_method).then(|| Self {
            method: method.to_ascii_uppercase(),
            path_and_query: uri.to_owned(),
            proxy,
        })
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.path_and_query.split(['?', '#']).next().unwrap_or("/")
    }
}

/// What `{prefix}/verify` answers a request without a usable session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// 302 to the login (Traefik, Caddy: the browser follows it).
    Redirect(String),
    /// 401 with the login in `Location` (nginx: the recipe redirects).
    UnauthorizedWithLogin(String),
    /// 401, nothing to follow (not a navigation).
    Unauthorized,
}

/// Decides [`Refused`] for `original`, with the browser's own
/// `Sec-Fetch-Mode` and `Accept` (proxies pass the request's headers on).
pub fn refused(original: &Original, sec_fetch_mode: Option<&str>, accept: Option<&str>) -> Refused {
    let decided =
        forward::not_signed_in(&original.method, sec_fetch_mode, accept, &original.path_and_query);
    match (decided, original.proxy) {
        (NotSignedIn::Unauthorized, _) => Refused::Unauthorized,
        (NotSignedIn::Login(location), Proxy::Forwarded) => Refused::Redirect(location),
        (NotSignedIn::Login(location), Proxy::AuthRequest) => {
            Refused::UnauthorizedWithLogin(location)
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::api::routes;

    use super::*;

    fn nginx(uri: &str, method: &str) -> Original {
        Original::named(Proxy::AuthRequest, Some(uri), Some(method)).expect("named")
    }

    fn traefik(uri: &str, method: &str) -> Original {
        Original::named(Proxy::Forwarded, Some(uri), Some(method)).expect("named")
    }

    #[test]
    fn each_proxy_names_its_request_and_nothing_else_is_decided() {
        let asked = nginx("/reports/7?tab=a%20b", "post");
        assert_eq!(asked.path_and_query, "/reports/7?tab=a%20b");
        assert_eq!(
            (asked.method.as_str(), asked.proxy, asked.path()),
            ("POST", Proxy::AuthRequest, "/reports/7")
        );
        let asked = traefik("/inbox?folder=x", "GET");
        assert_eq!((asked.path(), asked.proxy), ("/inbox", Proxy::Forwarded));
        // Missing or odd: nothing decided (400), never the root.
        for (uri, method) in [
            (None, Some("GET")),
            (Some("/x"), None),
            (Some("https://host/x"), Some("GET")),
            (Some("//evil.example/"), Some("GET")),
            (Some("/a b"), Some("GET")),
            (Some("/a\\b"), Some("GET")),
            (Some("/x"), Some("G T")),
            (Some("/x"), Some("")),
            (Some(""), Some("GET")),
        ] {
            assert_eq!(Original::named(Proxy::Forwarded, uri, method), None, "{uri:?} {method:?}");
        }
    }

    #[test]
    fn a_navigation_is_sent_to_the_login_in_the_form_its_proxy_passes_on() {
        let login = format!("{}?return_to=%2Freports%3Fq%3D1", routes::at(routes::PAGE));
        let via_nginx = nginx("/reports?q=1", "GET");
        assert_eq!(
            refused(&via_nginx, Some("navigate"), None),
            Refused::UnauthorizedWithLogin(login.clone())
        );
        let via_traefik = traefik("/reports?q=1", "GET");
        assert_eq!(refused(&via_traefik, None, Some("text/html,*/*")), Refused::Redirect(login));
        // A script's fetch, or a POST: 401 with nothing to follow.
        assert_eq!(refused(&via_traefik, Some("cors"), None), Refused::Unauthorized);
        let post = nginx("/reports", "POST");
        assert_eq!(refused(&post, Some("navigate"), None), Refused::Unauthorized);
    }
}
