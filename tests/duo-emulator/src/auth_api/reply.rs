//! What every Auth API endpoint shares: Duo's answers (`OK`, `FAIL`, an
//! invalid parameter), the verified request, the user it names, and how
//! devices and numbers are shown. The dispatcher (`super`) and the
//! endpoints (`super::enroll`, `super::factors`) all use it, and it uses
//! none of them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::config::{AuthApiApp, DeviceConfig, UserConfig};
use crate::state::{Shared, duo_key};
use crate::web::{Resp, json as json_response, refused};

/// A failure as Duo answers it.
pub(super) fn fail(status: u16, code: u32, message: &str, detail: Option<&str>) -> Resp {
    let mut body = json!({"stat": "FAIL", "code": code, "message": message});
    if let Some(detail) = detail {
        body["message_detail"] = json!(detail);
    }
    refused(json_response(status, &body), message)
}

pub(super) fn ok(response: &Value) -> Resp {
    json_response(200, &json!({"stat": "OK", "response": response}))
}

/// A verified request: its application and parameters.
pub(super) struct Verified {
    pub(super) app: AuthApiApp,
    pub(super) params: BTreeMap<String, Vec<String>>,
}

impl Verified {
    pub(super) fn one(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(|v| v.first()).map(String::as_str)
    }
}

/// `Ok(None)` when Duo does not know them, `Err` (the parameter Duo's 40002
/// names) when the request names none or both.
pub(super) fn named_user(
    shared: &Shared,
    verified: &Verified,
) -> Result<Option<UserConfig>, &'static str> {
    let inner = shared.lock();
    match (verified.one("username"), verified.one("user_id")) {
        (Some(name), None) => Ok(inner.user(name).cloned()),
        (None, Some(id)) => {
            Ok(inner.users.iter().find(|u| duo_key("DU", &u.username) == id).cloned())
        }
        _ => Err("username"),
    }
}

/// Duo's answer to a missing or invalid parameter.
pub(super) fn invalid(parameter: &str) -> Resp {
    let mut body = json!({"stat": "FAIL", "code": 40002, "message": "Invalid request parameters"});
    body["message_detail"] = json!(parameter);
    refused(json_response(400, &body), format!("invalid parameter {parameter}"))
}

/// A device's id (`DP…`), stable for the user and device name.
pub(super) fn device_id(user: &UserConfig, device: &DeviceConfig) -> String {
    duo_key("DP", &format!("{}\u{0}{}", user.username, device.name))
}

/// `+1 555-0100` as Duo shows numbers: `XXX-XXX-0100`.
pub(super) fn mask(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let last = &digits[digits.len().saturating_sub(4)..];
    format!("XXX-XXX-{last}")
}
