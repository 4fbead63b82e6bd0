//! Forward-auth: another proxy (nginx `auth_request`, Traefik
//! `forwardAuth`, Caddy `forward_auth`) asks `{prefix}/verify` whether the
//! request it holds may reach the app, and forwards the identity headers of
//! a yes. The proxy names the request it holds in its own headers; this
//! reads them, and decides what a request without a session gets the way
//! the gateway does ([`super::forward::not_signed_in`]), answered in the
//! form each proxy can pass on.

use super::forward::{self, NotSignedIn};

/// The request the proxy is deciding about, as it named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// Its method (`GET` when the proxy did not say).
    pub method: String,
    /// Its path and query (`/` when the proxy did not say, or said
    /// something that is not a URL of this origin).
    pub path_and_query: String,
    /// Which kind of proxy asked.
    pub proxy: Proxy,
}

/// The two ways proxies ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    /// nginx `auth_request`: it passes 2xx, 401 and 403 on and fails on any
    /// other status, so the login's address travels in a 401's `Location`
    /// (the recipe turns it into a redirect). Named by `X-Original-URL`.
    AuthRequest,
    /// Traefik `forwardAuth` and Caddy `forward_auth`: the answer to a
    /// refused request goes to the client as it is, so a navigation gets a
    /// 302. Named by `X-Forwarded-Uri`, or nothing at all.
    Forwarded,
}

/// The headers a proxy names its request with.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProxyHeaders<'a> {
    /// `X-Original-URL` (nginx recipe: `$scheme://$http_host$request_uri`).
    pub original_url: Option<&'a str>,
    /// `X-Original-Method` (nginx recipe: `$request_method`).
    pub original_method: Option<&'a str>,
    /// `X-Forwarded-Uri` (Traefik, Caddy): the path and query.
    pub forwarded_uri: Option<&'a str>,
    /// `X-Forwarded-Method` (Traefik, Caddy).
    pub forwarded_method: Option<&'a str>,
}

impl Original {
    /// Reads the proxy's headers. nginx's are preferred when both kinds
    /// came (a chain of proxies).
    pub fn of(headers: ProxyHeaders<'_>) -> Self {
        let method = |named: Option<&str>| {
            named
                .map(str::trim)
                .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()))
                .map_or_else(|| "GET".to_owned(), str::to_ascii_uppercase)
        };
        if let Some(url) = headers.original_url {
            return Self {
                method: method(headers.original_method),
                path_and_query: path_of_url(url),
                proxy: Proxy::AuthRequest,
            };
        }
        let path_and_query = headers
            .forwarded_uri
            .map(str::trim)
            .filter(|uri| uri.starts_with('/'))
            .map_or_else(|| "/".to_owned(), str::to_owned);
        Self { method: method(headers.forwarded_method), path_and_query, proxy: Proxy::Forwarded }
    }
}

/// The path and query of an absolute URL (`https://host/path?q`), or of a
/// path; `/` for anything else.
fn path_of_url(url: &str) -> String {
    let url = url.trim();
    if url.starts_with('/') && !url.starts_with("//") {
        return url.to_owned();
    }
    let Some((scheme, rest)) = url.split_once("://") else { return "/".to_owned() };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return "/".to_owned();
    }
    match rest.find(['/', '?']) {
        Some(at) if rest[at..].starts_with('/') => rest[at..].to_owned(),
        Some(at) => format!("/{}", &rest[at..]),
        None => "/".to_owned(),
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

    fn nginx(url: &str, method: Option<&str>) -> Original {
        Original::of(ProxyHeaders {
            original_url: Some(url),
            original_method: method,
            ..ProxyHeaders::default()
        })
    }

    fn traefik(uri: Option<&str>, method: Option<&str>) -> Original {
        Original::of(ProxyHeaders {
            forwarded_uri: uri,
            forwarded_method: method,
            ..ProxyHeaders::default()
        })
    }

    #[test]
    fn each_proxy_names_its_request_in_its_own_headers() {
        let asked = nginx("https://app.example.com/reports/7?tab=a%20b", Some("post"));
        assert_eq!(asked.path_and_query, "/reports/7?tab=a%20b");
        assert_eq!((asked.method.as_str(), asked.proxy), ("POST", Proxy::AuthRequest));
        assert_eq!(nginx("http://app.example.com", None).path_and_query, "/");
        assert_eq!(nginx("http://app.example.com?x=1", None).path_and_query, "/?x=1");
        assert_eq!(nginx("/plain/path", None).path_and_query, "/plain/path");
        let asked = traefik(Some("/inbox?folder=x"), Some("GET"));
        assert_eq!(
            (asked.path_and_query.as_str(), asked.proxy),
            ("/inbox?folder=x", Proxy::Forwarded)
        );
        // Nothing said: the root, by GET, answered the Traefik way.
        assert_eq!(
            traefik(None, None),
            Original {
                method: "GET".to_owned(),
                path_and_query: "/".to_owned(),
                proxy: Proxy::Forwarded,
            }
        );
    }

    #[test]
    fn what_is_not_this_origins_url_returns_to_the_root() {
        for odd in ["javascript:alert(1)", "//evil.example/x", "ftp://host/x", "", "evil"] {
            assert_eq!(nginx(odd, None).path_and_query, "/", "{odd:?}");
        }
        assert_eq!(traefik(Some("evil.example/x"), None).path_and_query, "/");
        assert_eq!(traefik(Some("GET\u{0}"), Some("G\u{0}T")).method, "GET");
        // A hostile path that parses is still only a return target, which
        // the login refuses: the root.
        let hostile = traefik(Some("//evil.example/"), None);
        assert_eq!(hostile.path_and_query, "//evil.example/");
        assert_eq!(
            refused(&hostile, Some("navigate"), None),
            Refused::Redirect(routes::at(routes::PAGE))
        );
    }

    #[test]
    fn a_navigation_is_sent_to_the_login_in_the_form_its_proxy_passes_on() {
        let login = format!("{}?return_to=%2Freports%3Fq%3D1", routes::at(routes::PAGE));
        let via_nginx = nginx("https://app.example.com/reports?q=1", Some("GET"));
        assert_eq!(
            refused(&via_nginx, Some("navigate"), None),
            Refused::UnauthorizedWithLogin(login.clone())
        );
        let via_traefik = traefik(Some("/reports?q=1"), Some("GET"));
        assert_eq!(refused(&via_traefik, None, Some("text/html,*/*")), Refused::Redirect(login));
        // A script's fetch, or a POST: 401 with nothing to follow.
        assert_eq!(refused(&via_traefik, Some("cors"), None), Refused::Unauthorized);
        let post = nginx("https://app.example.com/reports", Some("POST"));
        assert_eq!(refused(&post, Some("navigate"), None), Refused::Unauthorized);
    }
}
