//! A local stand-in for Have I Been Pwned's Pwned Passwords range API (not
//! Duo's; served here so that the tests and the dev command need no
//! network): `GET /range/{5 hex digits}` answers `text/plain` lines
//! `SUFFIX:COUNT` (35 upper-case hex digits of the SHA-1 after the prefix,
//! CRLF-separated) for the breached passwords it knows with that prefix, as
//! the real API does; with `Add-Padding: true`, padded with random suffixes
//! of count 0 to between 800 and 1,000 lines. A prefix that is not five hex
//! digits is `400` "The hash prefix was not in a valid format".
//!
//! The breached passwords: a built-in list of passwords every breach corpus
//! holds, and those added by `POST /__emulator/pwned`.

use std::fmt::Write as _;

use http::{Method, header};
use sha1::{Digest, Sha1};

use crate::state::{Shared, random_bytes};
use crate::web::{HandlerError, Req, Resp, response};

/// The route's prefix.
pub(crate) const PREFIX: &str = "/range/";

/// Passwords found in public breach corpora (with made-up counts of the
/// size the real API reports for them), 8 characters or more so that they
/// pass the length rule and only the breach check refuses them.
pub(crate) const BUILT_IN: [(&str, u64); 12] = [
    ("password", 10_434_004),
    ("12345678", 3_028_724),
    ("123456789", 7_671_364),
    ("password1", 2_418_984),
    ("qwertyuiop", 1_171_324),
    ("iloveyou123", 71_412),
    ("Password123", 153_912),
    ("Password1234", 28_391),
    ("letmein123", 39_420),
    ("welcome123", 52_874),
    ("correcthorsebatterystaple", 384),
    ("Summer2024!", 2_107),
];

/// The upper-case hex SHA-1 of `password`.
pub(crate) fn sha1_hex(password: &str) -> String {
    Sha1::digest(password.as_bytes()).iter().fold(String::with_capacity(40), |mut out, b| {
        let _ = write!(out, "{b:02X}");
        out
    })
}

/// Handles `/range/*`; `None` for another path.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Option<Result<Resp, HandlerError>> {
    let prefix = req.path.strip_prefix(PREFIX)?;
    if req.method != Method::GET {
        return Some(Ok(text(405, "Method not allowed".to_owned())));
    }
    if prefix.len() != 5 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(Ok(text(400, "The hash prefix was not in a valid format".to_owned())));
    }
    let prefix = prefix.to_ascii_uppercase();
    let known: Vec<(String, u64)> = {
        let inner = shared.lock();
        BUILT_IN
            .iter()
            .map(|(password, count)| (sha1_hex(password), *count))
            .chain(inner.pwned.iter().map(|(hash, count)| (hash.clone(), *count)))
            .filter(|(hash, _)| hash.starts_with(&prefix))
            .collect()
    };
    let mut lines: Vec<(String, u64)> =
        known.into_iter().map(|(hash, count)| (hash[5..].to_owned(), count)).collect();
    let padded = req.header(&header::HeaderName::from_static("add-padding")) == Some("true");
    if padded {
        match padding(lines.len()) {
            Ok(extra) => lines.extend(extra.into_iter().map(|suffix| (suffix, 0))),
            Err(_) => return Some(Err(HandlerError::Internal("no randomness for the padding"))),
        }
    }
    lines.sort();
    let body = lines.iter().fold(String::new(), |mut out, (suffix, count)| {
        let _ = write!(out, "{suffix}:{count}\r\n");
        out
    });
    Some(Ok(text(200, body)))
}

/// Random 35-digit suffixes bringing `real` lines to 800..1000.
fn padding(real: usize) -> Result<Vec<String>, getrandom::Error> {
    let [a, b] = random_bytes::<2>()?;
    let target = 800 + usize::from(u16::from_le_bytes([a, b]) % 201);
    let mut out = Vec::with_capacity(target.saturating_sub(real));
    while out.len() + real < target {
        let bytes = random_bytes::<18>()?;
        let hex = bytes.iter().fold(String::with_capacity(36), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        });
        out.push(hex[..35].to_owned());
    }
    Ok(out)
}

fn text(status: u16, body: String) -> Resp {
    response(
        status,
        &[
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=2678400"),
        ],
        body,
    )
}
