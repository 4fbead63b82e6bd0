//! Header values as the Worker reads them: pure parsing, tested natively
//! (the runtime side is [`crate::request`] in the Worker build).

use std::net::IpAddr;

use crate::error::MAX_BODY_LEN;

/// `CF-Connecting-IP`'s value, when it is one IP address.
pub fn client_ip(value: &str) -> Option<IpAddr> {
    value.trim().parse().ok()
}

/// Whether `Content-Type` is `application/json`, with or without parameters
/// (`; charset=utf-8`).
pub fn is_json(content_type: Option<&str>) -> bool {
    let media_type = content_type.unwrap_or_default().split(';').next().unwrap_or_default();
    media_type.trim().eq_ignore_ascii_case("application/json")
}

/// Whether a `Content-Length` announces more than [`MAX_BODY_LEN`] bytes (an
/// unreadable length counts as too long).
pub fn declared_too_long(length: &str) -> bool {
    length.trim().parse::<u64>().map_or(true, |n| n > MAX_BODY_LEN as u64)
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
        assert!(!declared_too_long("4096"));
        assert!(declared_too_long("4097"));
        assert!(declared_too_long("lots"));
    }

    #[test]
    fn client_ip_must_be_an_address() {
        assert_eq!(client_ip(" 192.0.2.1 "), Some(IpAddr::from([192, 0, 2, 1])));
        assert!(client_ip("2001:db8::1").is_some());
        assert_eq!(client_ip("192.0.2.1, 10.0.0.1"), None);
        assert_eq!(client_ip("unknown"), None);
    }
}
