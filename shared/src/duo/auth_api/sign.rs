//! Request signing as Duo verifies it (`duo-auth-api.md` section 2): the
//! canonical parameters, the canonical request of signature versions 2 and
//! 5, the HMAC, the `Authorization: Basic` header and the RFC 2822 date.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha512};

use super::super::inputs::UnixTime;

/// Percent-encodes `text` as Duo canonicalizes it: every UTF-8 byte but
/// `A-Z a-z 0-9 _ . ~ -` becomes `%XX`, uppercase hex (so a space is `%20`,
/// never `+`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'~' | b'-') {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
    out
}

/// The canonical parameters: each key and value percent-encoded, pairs
/// sorted by encoded key then encoded value, joined `k=v` with `&` (empty
/// for none; an empty value stays `k=`).
pub fn canonical_params(params: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> =
        params.iter().map(|(k, v)| (percent_encode(k), percent_encode(v))).collect();
    pairs.sort();
    let pairs: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join("&")
}

/// The canonical request of signature version 2:
/// `DATE \n METHOD \n host \n PATH \n params` (method upper-cased, host
/// lower-cased, the path as given).
pub fn canonical_v2(date: &str, method: &str, host: &str, path: &str, params: &str) -> String {
    format!(
        "{date}\n{}\n{}\n{path}\n{params}",
        method.to_ascii_uppercase(),
        host.to_ascii_lowercase()
    )
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-512 of `bytes`, lower-case hex.
pub fn sha512_hex(bytes: &[u8]) -> String {
    hex(&Sha512::digest(bytes))
}

/// The hash of the `x-duo-*` headers in a v5 request: names lower-cased,
/// sorted, `name \0 value \0 ...` (SHA-512 of nothing when there are none).
pub fn x_duo_headers_hash(headers: &[(&str, &str)]) -> String {
    let mut lowered: Vec<(String, &str)> =
        headers.iter().map(|(name, value)| (name.to_ascii_lowercase(), *value)).collect();
    lowered.sort();
    let joined: Vec<String> = lowered.iter().map(|(n, v)| format!("{n}\0{v}")).collect();
    sha512_hex(joined.join("\0").as_bytes())
}

/// The canonical request of signature version 5: version 2's lines, then
/// the SHA-512 of the body and of the `x-duo-*` headers. A JSON body's
/// parameters are in the body, so `params` is empty then.
pub fn canonical_v5(
    date: &str,
    method: &str,
    host: &str,
    path: &str,
    params: &str,
    body: &[u8],
    x_duo_headers: &[(&str, &str)],
) -> String {
    format!(
        "{}\n{}\n{}",
        canonical_v2(date, method, host, path, params),
        sha512_hex(body),
        x_duo_headers_hash(x_duo_headers)
    )
}

/// HMAC-SHA512 of the canonical request with the secret key, lower-case hex.
pub fn hmac_sha512_hex(secret_key: &[u8], canonical: &str) -> String {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(secret_key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(canonical.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// `Basic base64(ikey ":" signature)`.
pub fn authorization(integration_key: &str, signature_hex: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{integration_key}:{signature_hex}")))
}

/// `now` as RFC 2822, in English and UTC, as Duo's Python client writes it:
/// `Tue, 21 Aug 2012 17:29:18 -0000`.
pub fn rfc2822(now: UnixTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let seconds = now.0;
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let month = MONTHS[usize::try_from(month - 1).unwrap_or(0).min(11)];
    format!(
        "{weekday}, {day:02} {month} {year:04} {:02}:{:02}:{:02} -0000",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date `(year, month, day)` of a day count from
/// 1970-01-01 (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
