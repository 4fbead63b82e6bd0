//! Where a sign-in returns to: the app's path and query the browser asked
//! for before it was sent to the login. Same origin and relative only: a
//! value that a browser could read as another host, or as anything but a
//! path on this origin, is refused, in every spelling an attacker may try
//! (`//host`, `/\host`, percent-encoded slashes and backslashes, tabs and
//! newlines that browsers strip, schemes, and nested encodings).

/// The longest return target kept (a path and query), in bytes; a longer
/// one is refused and the sign-in returns to the app's root.
pub const MAX_LEN: usize = 2048;

/// A same-origin path (and query) to return to after the sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnTo(String);

impl ReturnTo {
    /// The app's root, where a sign-in without a target returns.
    pub fn root() -> Self {
        Self("/".to_owned())
    }

    /// Reads a return target: `None` unless it is a path on this origin.
    ///
    /// Accepted: a value that starts with exactly one `/`, followed by
    /// printable ASCII without a backslash, and that still starts that way
    /// after any number of percent-decodings (so that no later decoding,
    /// by the browser or by the app, turns it into `//host` or `/\host`).
    /// A fragment is dropped (browsers never send it).
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.split_once('#').map_or(raw, |(before, _)| before);
        if raw.len() > MAX_LEN || !is_local_path(raw) {
            return None;
        }
        // Every decoding must stay a local path: `/%2F%2Fhost`, `/%5Chost`,
        // `/%252F%252Fhost` are all refused.
        let mut decoded = raw.to_owned();
        for _ in 0..4 {
            let next = percent_decode(&decoded)?;
            if !stays_local(&next) {
                return None;
            }
            if next == decoded {
                return Some(Self(raw.to_owned()));
            }
            decoded = next;
        }
        // Still changing after four decodings: nobody links like that.
        None
    }

    /// The path and query, to put in `Location` (relative: the browser
    /// resolves it against this origin).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A path on this origin: `/`, not followed by `/` or `\`, only printable
/// ASCII, no backslash anywhere, and no scheme before its first slash.
fn is_local_path(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && bytes.iter().all(|b| b.is_ascii_graphic() && *b != b'\\')
}

/// A decoded form of an accepted value: still `/` not followed by `/` or
/// `\`, and no backslash or control character anywhere (browsers strip
/// tabs and newlines from URLs, and read `\` as `/`).
fn stays_local(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && !bytes.iter().any(|b| b.is_ascii_control() || *b == b'\\')
}

/// One round of percent-decoding; `None` when a `%` is not followed by two
/// hexadecimal digits or the result is not UTF-8.
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_queries_of_this_origin_are_kept() {
        for ok in [
            "/",
            "/reports",
            "/reports/2026?quarter=4&sort=desc",
            "/a%20b",
            "/search?q=%E2%9C%93",
            "/x?next=%2Fy",
            "/?",
            "/deep/link/",
        ] {
            assert_eq!(ReturnTo::parse(ok).map(|r| r.0), Some(ok.to_owned()), "{ok:?}");
        }
        assert_eq!(ReturnTo::parse("/page#section").map(|r| r.0), Some("/page".to_owned()));
    }

    #[test]
    fn every_open_redirect_form_is_refused() {
        for bad in [
            "",
            "reports",
            "//evil.example",
            "//evil.example/path",
            "/\\evil.example",
            "\\\\evil.example",
            "/\\/evil.example",
            "https://evil.example",
            "http:/evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "/%2F/evil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "%2F%2Fevil.example",
            "/%252F%252Fevil.example",
            "/%25252F%25252Fevil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/%09/evil.example",
            "/%0A/evil.example",
            "/%00",
            "/%7F",
            "/x\\y",
            "/x%5Cy",
            "/%",
            "/%G0",
            "/%C3%28",
            "/caf\u{e9}",
            " /reports",
        ] {
            assert_eq!(ReturnTo::parse(bad), None, "{bad:?}");
        }
        assert_eq!(ReturnTo::parse(&format!("/{}", "a".repeat(MAX_LEN))), None, "too long");
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever is accepted is a local path after any number of
            /// decodings a browser or an app may apply.
            #[test]
            fn nothing_accepted_leaves_the_origin(value in "[/\\\\%2-5A-Fa-f:.a-z?#\t ]{0,24}") {
                if let Some(target) = ReturnTo::parse(&value) {
                    let mut text = target.as_str().to_owned();
                    for _ in 0..6 {
                        prop_assert!(stays_local(&text), "{text:?} from {value:?}");
                        match percent_decode(&text) {
                            Some(next) => text = next,
                            None => break,
                        }
                    }
                }
            }
        }
    }
}
