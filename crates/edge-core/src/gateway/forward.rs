//! What a request to the app becomes: who is asking ([`identify`]), what a
//! request without a session gets ([`not_signed_in`]), which of its headers
//! go to the app ([`forwards_header`], [`app_cookies`]) and which of the
//! app's `Set-Cookie`s come back ([`passes_set_cookie`]).

use shared::api::routes;

use super::assertion::IDENTITY_HEADERS;
use crate::cookie::{KNOWN_BROWSER_COOKIE, LOGIN_COOKIE, REMEMBER_COOKIE, SESSION_COOKIE};
use crate::flow::audit::Refusal;
use crate::flow::session;
use crate::flow::store::SessionStore;
use crate::keys::UserKey;
use crate::session::SessionId;
use shared::return_to::ReturnTo;

use super::assertion::Identity;

/// The login's cookies: never shown to the app, never set by it.
pub const LOGIN_COOKIES: [&str; 4] =
    [SESSION_COOKIE, LOGIN_COOKIE, REMEMBER_COOKIE, KNOWN_BROWSER_COOKIE];

/// `WWW-Authenticate` of a 401 from the gateway.
pub const CHALLENGE: &str = r#"DuoLogin realm="app""#;

/// Who the session cookie signs in, checked against the store: `None`
/// without a live session, or for a user who must first replace a password
/// an admin set (the login's page asks for it).
///
/// # Errors
/// `internal` for storage.
pub async fn identify<S: SessionStore>(
    store: &S,
    session_cookie: Option<&str>,
    now: u64,
) -> Result<Option<Identity>, Refusal> {
    let Some(id) = session_cookie.and_then(SessionId::parse) else { return Ok(None) };
    let info = match session::check(store, session_cookie, now).await {
        Ok(info) => info,
        Err(refusal) if refusal.code() == shared::ErrorCode::Unauthenticated => return Ok(None),
        Err(refusal) => return Err(refusal),
    };
    if info.password_change_required {
        return Ok(None);
    }
    let Some(user) = UserKey::of(&info.username) else { return Ok(None) };
    Ok(Some(Identity {
        user,
        username: info.username,
        role: info.role.as_str().to_owned(),
        method: info.method,
        auth_time: u64::try_from(info.authenticated_at).unwrap_or_default(),
        session: id.storage_key(),
        expires_at: u64::try_from(info.expires_at).unwrap_or_default(),
    }))
}

/// What a request of the app's gets without a usable session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSignedIn {
    /// A browser navigation: 302 to the login's page, which returns here
    /// after the sign-in (the `Location`).
    Login(String),
    /// Anything else (a script's fetch, an API client): 401 JSON with
    /// [`CHALLENGE`].
    Unauthorized,
}

/// Decides [`NotSignedIn`] for a request: a `GET` or `HEAD` that a browser
/// makes as a navigation (`Sec-Fetch-Mode: navigate`, or, from a browser
/// that does not send it, one that accepts HTML) goes to the login, with
/// its path and query to return to when they are a safe target.
pub fn not_signed_in(
    method: &str,
    sec_fetch_mode: Option<&str>,
    accept: Option<&str>,
    path_and_query: &str,
) -> NotSignedIn {
    let reading = method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD");
    let navigation = match sec_fetch_mode {
        Some(mode) => mode.trim().eq_ignore_ascii_case("navigate"),
        None => accept.is_some_and(|accept| accept.contains("text/html")),
    };
    if !(reading && navigation) {
        return NotSignedIn::Unauthorized;
    }
    NotSignedIn::Login(login_location(path_and_query))
}

/// The login's page, returning to `path_and_query` when it is a safe
/// target (else to the app's root).
pub fn login_location(path_and_query: &str) -> String {
    let page = routes::at(routes::PAGE);
    match ReturnTo::parse(path_and_query).filter(|target| target.as_str() != "/") {
        Some(target) => {
            let encoded: String =
                form_urlencoded::byte_serialize(target.as_str().as_bytes()).collect();
            format!("{page}?return_to={encoded}")
        }
        None => page,
    }
}

/// Whether a client that sent `accept_encoding` (`None`: no such header)
/// can read a body in content coding `coding` (`br`, `gzip`, ...). A
/// client that names no coding gets the body as it is: RFC 9110 would
/// allow any, but scripts and tools that send none expect plain bytes.
pub fn accepts_encoding(accept_encoding: Option<&str>, coding: &str) -> bool {
    let Some(listed) = accept_encoding else { return false };
    let coding = coding.trim();
    let mut star = false;
    for item in listed.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let refused = parts.any(|p| {
            let p = p.trim();
            // `q=0` (also `0.`, `0.0`, ... `0.000`) refuses; read without
            // float parsing, whose tables would cost the Worker 10 KB.
            p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")).is_some_and(|q| {
                let rest = q.trim().strip_prefix('0');
                let rest = rest.map(|r| r.strip_prefix('.').unwrap_or(r));
                rest.is_some_and(|r| r.len() <= 3 && r.bytes().all(|b| b == b'0'))
            })
        });
        if name.eq_ignore_ascii_case(coding) {
            return !refused;
        }
        if name == "*" {
            star = !refused;
        }
    }
    star
}

/// The login's address `location` asking for a fresh Duo approval (a
/// step-up): the page signs in again even when a session exists, and
/// without the trusted-browser shortcut.
pub fn fresh_approval(location: &str) -> String {
    let joiner = if location.contains('?') { '&' } else { '?' };
    format!("{location}{joiner}{FRESH_PARAM}=1")
}

/// The query parameter that asks the login's page for a fresh approval.
pub const FRESH_PARAM: &str = "fresh";

/// Whether a request header goes to the app as it came: not `Cookie`
/// (rebuilt by [`app_cookies`]), not an identity header (a client must not
/// claim to be anyone: the gateway sets them), not `Host` (the fetch sets
/// it for the app).
pub fn forwards_header(name: &str) -> bool {
    let dash = name.replace('_', "-");
    !NOT_FORWARDED.iter().any(|dropped| dash.eq_ignore_ascii_case(dropped))
}

/// The request headers that do not go to the app as they came
/// ([`forwards_header`]): the cookies (rebuilt), `Host`, the identity
/// headers (the gateway sets its own), and the headers some frameworks
/// read a method or a path from instead of the request's own
/// (`X-HTTP-Method-Override`, `X-Original-URL`, ...), which would let a
/// request be decided as one thing and served as another. A header named
/// like an identity header with `_` for `-` (`Duo_Login_User`, which CGI
/// style servers read as the same) is dropped too.
pub const NOT_FORWARDED: [&str; 10] = [
    "cookie",
    "host",
    IDENTITY_HEADERS[0],
    IDENTITY_HEADERS[1],
    IDENTITY_HEADERS[2],
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
];

/// The `Cookie` header without the login's cookies; `None` when none is
/// left.
pub fn app_cookies(cookie_header: &str) -> Option<String> {
    let kept: Vec<&str> = cookie_header
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(name, _)| name).trim();
            !LOGIN_COOKIES.contains(&name)
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// Whether a `Set-Cookie` from the app reaches the browser: not one for a
/// login cookie's name (the app cannot sign anyone in or out).
pub fn passes_set_cookie(value: &str) -> bool {
    let name = value.split_once('=').map_or(value, |(name, _)| name).trim();
    // A nameless cookie (`=__Host-session=x`) comes back from some
    // browsers as the cookie its value names: never passed.
    !name.is_empty() && !LOGIN_COOKIES.iter().any(|login| name.eq_ignore_ascii_case(login))
}

/// The plain identity headers for `identity`, or empty ones for nobody (a
/// public path: a proxy copying them overwrites what the client sent).
pub fn plain_headers_of(identity: Option<&Identity>) -> [(&'static str, String); 2] {
    match identity {
        Some(identity) => plain_headers(identity),
        None => [
            (super::assertion::USER_HEADER, String::new()),
            (super::assertion::ROLE_HEADER, String::new()),
        ],
    }
}

/// The plain identity headers' values for apps that trust the hop: the
/// username as registered and the role.
pub fn plain_headers(identity: &Identity) -> [(&'static str, String); 2] {
    [
        (super::assertion::USER_HEADER, identity.username.clone()),
        (super::assertion::ROLE_HEADER, identity.role.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_navigation_goes_to_the_login_and_anything_else_gets_401() {
        let page = routes::at(routes::PAGE);
        let login = |target: &str| format!("{page}?return_to={target}");
        assert_eq!(
            not_signed_in("GET", Some("navigate"), None, "/reports?q=1&x=%2F"),
            NotSignedIn::Login(login("%2Freports%3Fq%3D1%26x%3D%252F"))
        );
        assert_eq!(
            not_signed_in("HEAD", None, Some("text/html,*/*"), "/"),
            NotSignedIn::Login(page.clone())
        );
        assert_eq!(
            not_signed_in("GET", Some("cors"), Some("text/html"), "/x"),
            NotSignedIn::Unauthorized
        );
        assert_eq!(
            not_signed_in("GET", None, Some("application/json"), "/x"),
            NotSignedIn::Unauthorized
        );
        assert_eq!(not_signed_in("POST", Some("navigate"), None, "/x"), NotSignedIn::Unauthorized);
        assert_eq!(
            not_signed_in("GET", Some("navigate"), None, "//evil.example"),
            NotSignedIn::Login(page)
        );
    }

    #[test]
    fn the_login_cookies_and_identity_headers_never_reach_the_app() {
        assert_eq!(
            app_cookies(
                "theme=dark; __Host-session=abc; cart=1;__Host-login=x; __Host-remember=r; __Host-known=k"
            ),
            Some("theme=dark; cart=1".to_owned())
        );
        assert_eq!(app_cookies("__Host-session=abc"), None);
        assert_eq!(app_cookies(""), None);
        assert_eq!(app_cookies("__Host-sessionx=1"), Some("__Host-sessionx=1".to_owned()));
        for name in
            ["Cookie", "cookie", "Host", "duo-login-assertion", "DUO-LOGIN-USER", "Duo-Login-Role"]
        {
            assert!(!forwards_header(name), "{name}");
        }
        for name in [
            "Duo_Login_User",
            "duo_login-role",
            "DUO_LOGIN_ASSERTION",
            "X-HTTP-Method-Override",
            "X-Original-URL",
            "x-rewrite-url",
        ] {
            assert!(!forwards_header(name), "{name}");
        }
        for name in [
            "Accept",
            "Content-Type",
            "Authorization",
            "CF-Connecting-IP",
            "Upgrade",
            "X-Duo-Login-User",
        ] {
            assert!(forwards_header(name), "{name}");
        }
    }

    #[test]
    fn a_body_is_left_encoded_only_for_a_client_that_reads_the_coding() {
        assert!(accepts_encoding(Some("gzip, deflate, br"), "br"));
        assert!(accepts_encoding(Some("GZIP;q=0.5"), "gzip"));
        assert!(accepts_encoding(Some("*"), "br"));
        assert!(!accepts_encoding(None, "br"), "none named: plain bytes");
        assert!(!accepts_encoding(Some("identity"), "gzip"));
        assert!(!accepts_encoding(Some("gzip"), "br"));
        assert!(!accepts_encoding(Some("br;q=0, *"), "br"), "refused by name");
        assert!(!accepts_encoding(Some("*;q=0"), "gzip"));
        assert!(!accepts_encoding(Some("gzip;q=0.000"), "gzip"));
        assert!(accepts_encoding(Some("gzip;q=0.001"), "gzip"));
        assert!(accepts_encoding(Some("gzip;q=1"), "gzip"));
    }

    #[test]
    fn the_app_cannot_set_a_login_cookie() {
        assert!(passes_set_cookie("theme=dark; Path=/"));
        assert!(!passes_set_cookie("__Host-session=forged; Path=/; Secure"));
        assert!(!passes_set_cookie(" __host-login=x"));
        assert!(!passes_set_cookie("__Host-remember=x"));
        assert!(!passes_set_cookie("__Host-known"));
        assert!(!passes_set_cookie("=__Host-session=x; Path=/"), "nameless");
    }
}
