//! Header values as the Worker reads them: pure parsing, tested natively
//! (the runtime side is `edge::request`, in the Worker).

use std::net::IpAddr;

/// `CF-Connecting-IP`'s value, when it is one IP address.
pub fn client_ip(value: &str) -> Option<IpAddr> {
    value.trim().parse().ok()
}

/// A browser, as "trust this browser" lists it: its family and system,
/// read from `User-Agent` (which the client writes: a label for people,
/// never a check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserAgent {
    /// `Edge`, `Chrome`, `Firefox`, `Safari`, or `a browser`.
    pub browser: &'static str,
    /// `Windows`, `macOS`, `iOS`, `Android`, `Linux`, `ChromeOS`, or `an unknown system`.
    pub os: &'static str,
}

impl UserAgent {
    /// Reads a `User-Agent` value (the order matters: Edge says Chrome and
    /// Safari too, Chrome says Safari, iOS says "like Mac OS X", Android
    /// says Linux).
    pub fn parse(value: &str) -> Self {
        let has = |needle: &str| value.contains(needle);
        let browser = if has("Edg/") {
            "Edge"
        } else if has("Firefox/") || has("FxiOS/") {
            "Firefox"
        } else if has("Chrome/") || has("CriOS/") {
            "Chrome"
        } else if has("Safari/") {
            "Safari"
        } else {
            "a browser"
        };
        let os = if has("iPhone") || has("iPad") {
            "iOS"
        } else if has("Android") {
            "Android"
        } else if has("CrOS") {
            "ChromeOS"
        } else if has("Windows") {
            "Windows"
        } else if has("Mac OS X") || has("Macintosh") {
            "macOS"
        } else if has("Linux") {
            "Linux"
        } else {
            "an unknown system"
        };
        Self { browser, os }
    }
}

impl std::fmt::Display for UserAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.browser, self.os)
    }
}

/// Whether an `application/x-www-form-urlencoded` body sets `name` to `1`.
pub fn form_flag(body: &[u8], name: &str) -> bool {
    form_urlencoded::parse(body).any(|(key, value)| key == name && value == "1")
}

/// Whether `Content-Type` is `application/json`, with or without parameters
/// (`; charset=utf-8`).
pub fn is_json(content_type: Option<&str>) -> bool {
    let media_type = content_type.unwrap_or_default().split(';').next().unwrap_or_default();
    media_type.trim().eq_ignore_ascii_case("application/json")
}

/// Largest request body read by default (the sign-in steps, the console's
/// actions), in bytes.
pub const MAX_BODY_LEN: usize = 4096;

/// Largest body of the routes that carry a policy set (a save, a dry run):
/// the set's own limit, and a little for the rest of the request.
pub const MAX_POLICY_BODY_LEN: usize = shared::policy::MAX_POLICY_BYTES + 1024;

/// Whether a `Content-Length` announces more than `limit` bytes (an
/// unreadable length counts as too long).
pub fn declared_too_long(length: &str, limit: usize) -> bool {
    length.trim().parse::<u64>().map_or(true, |n| n > limit as u64)
}

/// The path and the query of an absolute request URL (`https://host/path?query#fragment`,
/// as the runtime gives it): `("/path", "query")`. Read by hand: the `url`
/// crate (and its IDNA tables) would add kilobytes to the Worker for two
/// splits. A URL without a path is `/`.
pub fn path_and_query(url: &str) -> (&str, &str) {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_and_query = after_scheme.find('/').map_or("", |at| &after_scheme[at..]);
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    (if path.is_empty() { "/" } else { path }, query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_flag_is_set_only_by_its_own_name_and_1() {
        assert!(form_flag(b"remember=1", "remember"));
        assert!(form_flag(b"a=b&remember=1", "remember"));
        assert!(!form_flag(b"remember=0", "remember"));
        assert!(!form_flag(b"remember=true", "remember"));
        assert!(!form_flag(b"remembered=1", "remember"));
        assert!(!form_flag(b"", "remember"));
        assert!(!form_flag(&[0xff, 0xfe, b'='], "remember"));
    }

    #[test]
    fn browsers_are_named_by_family_and_system() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1",
                "Chrome on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("curl/8.5.0", "a browser on an unknown system"),
            ("", "a browser on an unknown system"),
        ];
        for (value, said) in cases {
            assert_eq!(UserAgent::parse(value).to_string(), said, "{value}");
        }
    }

    #[test]
    fn path_and_query_are_read_from_the_url() {
        let cases = [
            ("http://localhost:8787/api/login", ("/api/login", "")),
            (
                "https://login.example.com/auth/duo/callback?state=a&duo_code=b",
                ("/auth/duo/callback", "state=a&duo_code=b"),
            ),
            ("https://example.com", ("/", "")),
            ("https://example.com?x=1", ("/", "")),
            ("https://example.com/a?b=c?d#frag", ("/a", "b=c?d")),
            ("https://example.com/a#f?g", ("/a", "")),
            ("https://example.com/?", ("/", "")),
        ];
        for (url, expected) in cases {
            assert_eq!(path_and_query(url), expected, "{url}");
        }
    }

    #[test]
    fn json_media_type_allows_parameters_only() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        for other in [None, Some(""), Some("text/plain"), Some("application/jsonx")] {
            assert!(!is_json(other), "{other:?}");
        }
    }

    #[test]
    fn content_length_is_checked_before_reading() {
        assert!(!declared_too_long("4096", 4096));
        assert!(declared_too_long("4097", 4096));
        assert!(!declared_too_long("524288", 512 * 1024));
        assert!(declared_too_long("lots", 4096));
    }

    #[test]
    fn client_ip_must_be_an_address() {
        assert_eq!(client_ip(" 192.0.2.1 "), Some(IpAddr::from([192, 0, 2, 1])));
        assert!(client_ip("2001:db8::1").is_some());
        assert_eq!(client_ip("192.0.2.1, 10.0.0.1"), None);
        assert_eq!(client_ip("unknown"), None);
    }
}
