//! `POST /auth/v2/enroll` and `POST /auth/v2/enroll_status`, and the
//! activation that stands in for scanning the code with Duo Mobile.
//!
//! `enroll` creates the user at once, without devices (so `preauth` answers
//! `enroll` until the code is used), and an activation code valid for
//! `valid_secs` (default 86,400). Opening the activation URL and pressing
//! "Activate" (or the phone page's button, or `POST /__emulator/activate`)
//! gives the user a "Duo Mobile" device with push and passcodes, and
//! `enroll_status` then answers `success`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::ledger::Enrollment;
use super::reply::{Verified, invalid, ok};
use crate::config::{Capability, DeviceConfig, UserConfig};
use crate::state::{Shared, duo_key, random_bytes, random_hex};
use crate::web::{HandlerError, Req, Resp};

/// Activation codes' lifetime when `valid_secs` is not given (Duo's default).
const DEFAULT_VALID_SECS: i64 = 86_400;
/// Path of the activation page (`/activate/CODE`), as Duo Mobile's link.
pub(crate) const ACTIVATE_PREFIX: &str = "/activate/";

/// `POST /auth/v2/enroll`.
pub(super) fn enroll(
    shared: &Shared,
    req: &Req,
    verified: &Verified,
) -> Result<Resp, HandlerError> {
    let valid_secs = match verified.one("valid_secs") {
        None => DEFAULT_VALID_SECS,
        Some(text) => match text.parse::<i64>() {
            Ok(secs) if secs > 0 => secs,
            _ => return Ok(invalid("valid_secs")),
        },
    };
    let username = match verified.one("username") {
        Some(name) if name.trim().is_empty() => return Ok(invalid("username")),
        Some(name) => name.to_owned(),
        None => random_hex::<16>()?,
    };
    let code = activation_code()?;
    let activation_code = format!("duo://{code}-{}", URL_SAFE_NO_PAD.encode(req.host.as_bytes()));
    let now = shared.now().secs();
    let expiration = now.saturating_add(valid_secs);
    let user_id = duo_key("DU", &username);
    {
        let mut inner = shared.lock();
        if inner.user(&username).is_some() {
            return Ok(invalid("username"));
        }
        inner.users.push(UserConfig::new(username.clone()));
        inner.auth_api.enrollments.push(Enrollment {
            username: username.clone(),
            user_id: user_id.clone(),
            activation_code: activation_code.clone(),
            code: code.clone(),
            expiration,
            activated: false,
        });
    }
    let base = req.base_url();
    let barcode: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("value", &activation_code)
        .finish();
    Ok(ok(&json!({
        "activation_barcode": format!("{base}/frame/qr?{barcode}"),
        "activation_code": activation_code,
        "activation_url": format!("{base}{ACTIVATE_PREFIX}{code}"),
        "expiration": expiration,
        "user_id": user_id,
        "username": username,
    })))
}

/// `POST /auth/v2/enroll_status`: `success`, `waiting` or `invalid`.
pub(super) fn enroll_status(shared: &Shared, verified: &Verified) -> Resp {
    let Some(user_id) = verified.one("user_id") else { return invalid("user_id") };
    let Some(code) = verified.one("activation_code") else { return invalid("activation_code") };
    let now = shared.now().secs();
    let inner = shared.lock();
    let enrollment = inner
        .auth_api
        .enrollments
        .iter()
        .find(|e| e.activation_code == code && e.user_id == user_id);
    let status = match enrollment {
        Some(e) if e.activated => "success",
        Some(e) if now < e.expiration => "waiting",
        _ => "invalid",
    };
    ok(&json!(status))
}

/// Uses an activation code (the part after `duo://`, or the whole code):
/// the user gets a Duo Mobile device. Returns the username.
///
/// # Errors
/// A sentence for the tester when the code is unknown, used or expired.
pub(crate) fn activate(shared: &Shared, code: &str) -> Result<String, &'static str> {
    let now = shared.now().secs();
    let mut inner = shared.lock();
    let enrollment = inner
        .auth_api
        .enrollments
        .iter_mut()
        .find(|e| e.code == code || e.activation_code == code)
        .ok_or("No such activation code.")?;
    if enrollment.activated {
        return Err("This activation code was already used.");
    }
    if now >= enrollment.expiration {
        return Err("This activation code has expired.");
    }
    enrollment.activated = true;
    let username = enrollment.username.clone();
    let user = inner.user_mut(&username).ok_or("The user of this code no longer exists.")?;
    user.devices.push(duo_mobile());
    Ok(username)
}

/// The device an activation or a self-enrollment adds: Duo Mobile, push and passcodes.
pub(crate) fn duo_mobile() -> DeviceConfig {
    DeviceConfig {
        name: "Duo Mobile".into(),
        platform: "iOS".into(),
        number: None,
        capabilities: vec![Capability::Push, Capability::MobileOtp],
    }
}

/// Twenty letters and digits, like Duo's activation codes.
fn activation_code() -> Result<String, getrandom::Error> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    Ok(random_bytes::<20>()?
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}
