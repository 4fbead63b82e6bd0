//! Duo's answers, typed: the envelope (`{"stat": "OK", "response": ...}` or
//! `{"stat": "FAIL", "code": ..., "message": ..., "message_detail": ...}`)
//! and each operation's response. Unknown fields are ignored and unknown
//! values kept as text, so a new value at Duo is not an error here.

use serde_json::{Map, Value};

use super::super::http::{HttpResponse, MAX_RESPONSE_BODY};

/// Why an Auth API call did not give its answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthApiError {
    /// Duo refused the request with one of its codes (`stat: FAIL`).
    #[error("Duo refused the request: {code} {message}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Duo's code, e.g. 40103.
        code: i64,
        /// Duo's message, e.g. "Invalid signature in request credentials".
        message: String,
        /// Duo's detail, e.g. the parameter at fault.
        detail: Option<String>,
    },
    /// An HTTP error without Duo's error body (a proxy, a load balancer).
    #[error("Duo answered HTTP {status} without an Auth API body")]
    Http {
        /// The HTTP status.
        status: u16,
    },
    /// A success that is not what the Auth API sends.
    #[error("Duo's answer is not an Auth API response: {0}")]
    Malformed(&'static str),
}

/// What kind of failure an [`AuthApiError`] is, for deciding what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The keys, the signature or the clock: misconfiguration (4010x).
    Credentials,
    /// The keys are not an Auth API application's (40301).
    WrongIntegration,
    /// A parameter Duo refused (4000x), e.g. no capable device.
    BadRequest,
    /// Too many requests (42901).
    RateLimited,
    /// Duo is failing (5xx): the only kind that means "unreachable".
    Unavailable,
    /// Not Duo's format.
    Malformed,
    /// Anything else.
    Other,
}

impl AuthApiError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Refused { status, code, .. } => match code / 100 {
                401 => ErrorKind::Credentials,
                403 => ErrorKind::WrongIntegration,
                400 => ErrorKind::BadRequest,
                429 => ErrorKind::RateLimited,
                _ if *status >= 500 || (50_000..60_000).contains(code) => ErrorKind::Unavailable,
                _ => ErrorKind::Other,
            },
            Self::Http { status } if *status >= 500 => ErrorKind::Unavailable,
            Self::Http { status: 429 } => ErrorKind::RateLimited,
            Self::Http { .. } => ErrorKind::Other,
            Self::Malformed(_) => ErrorKind::Malformed,
        }
    }

    /// Duo's code, when it gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            Self::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// What the error most likely means, in words, for an operator.
    pub fn explanation(&self) -> &'static str {
        match (self.code(), self.kind()) {
            (Some(40101), _) => "the request carried no credentials (Authorization header)",
            (Some(40102), _) => "Duo does not know this integration key: check DUO_IKEY",
            (Some(40103), _) => "the signature does not match: check DUO_SKEY",
            (Some(40104), _) => "the request had no readable Date",
            (Some(40105), _) => {
                "the request's Date is too far from Duo's clock: check this machine's clock"
            }
            (Some(40301), _) => {
                "these keys are not an Auth API application's (wrong integration type)"
            }
            (Some(40002), _) => {
                "Duo refused a parameter (for a factor: no device of the user can do it)"
            }
            (_, ErrorKind::RateLimited) => "Duo is rate-limiting these keys; retry later",
            (_, ErrorKind::Unavailable) => "Duo is failing or unreachable",
            (_, ErrorKind::Malformed) => "the answer is not Duo's: check DUO_API_HOST",
            _ => "Duo refused the request",
        }
    }
}

/// Reads the envelope: the `response` of a success, or the error.
fn envelope(response: &HttpResponse) -> Result<Value, AuthApiError> {
    let parsed: Option<Map<String, Value>> = (response.body.len() <= MAX_RESPONSE_BODY)
        .then(|| serde_json::from_slice(&response.body).ok())
        .flatten();
    let Some(mut body) = parsed else {
        return if (200..300).contains(&response.status) {
            Err(AuthApiError::Malformed("not a JSON object"))
        } else {
            Err(AuthApiError::Http { status: response.status })
        };
    };
    match body.get("stat").and_then(Value::as_str) {
        Some("OK") if (200..300).contains(&response.status) => {
            body.remove("response").ok_or(AuthApiError::Malformed("no response"))
        }
        Some("FAIL") => {
            let code = match body.get("code") {
                Some(Value::Number(n)) => n.as_i64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            };
            let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
            match code {
                Some(code) => Err(AuthApiError::Refused {
                    status: response.status,
                    code,
                    message: text("message").unwrap_or_default(),
                    detail: text("message_detail"),
                }),
                None => Err(AuthApiError::Http { status: response.status }),
            }
        }
        _ if !(200..300).contains(&response.status) => {
            Err(AuthApiError::Http { status: response.status })
        }
        _ => Err(AuthApiError::Malformed("no stat")),
    }
}

fn object(value: Value) -> Result<Map<String, Value>, AuthApiError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(AuthApiError::Malformed("response is not an object")),
    }
}

fn string(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// `ping` and `check`: Duo's time (Unix seconds).
///
/// # Errors
/// [`AuthApiError`].
pub fn parse_time(response: &HttpResponse) -> Result<i64, AuthApiError> {
    let map = object(envelope(response)?)?;
    map.get("time").and_then(Value::as_i64).ok_or(AuthApiError::Malformed("no time"))
}

/// `preauth`'s verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreauthResult {
    /// Use `auth` with one of the devices.
    Auth,
    /// Let the user in now, no second factor (bypass, trusted network).
    Allow,
    /// Not permitted now (locked out, disabled, policy).
    Deny,
    /// The user must enroll first (`enroll_portal_url`).
    Enroll,
    /// A value this client does not know.
    Other(String),
}

/// What a device can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Valid for automatic selection.
    Auto,
    /// Duo Push.
    Push,
    /// SMS passcodes.
    Sms,
    /// Phone call.
    Phone,
    /// Duo Mobile passcodes.
    MobileOtp,
    /// A capability this client does not know.
    Other(String),
}

/// A device's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceKind {
    /// A phone (app, SMS, calls).
    Phone,
    /// A hardware token.
    Token,
    /// A kind this client does not know.
    Other(String),
}

/// One of the user's devices, as `preauth` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Duo's id, for `auth`'s `device`.
    pub id: String,
    /// A short label, e.g. "iPhone (XXX-XXX-4788)".
    pub display_name: Option<String>,
    /// The name the user gave it (may be empty).
    pub name: Option<String>,
    /// The masked number, e.g. "XXX-XXX-4788".
    pub number: Option<String>,
    /// Phone or token.
    pub kind: DeviceKind,
    /// What it can do.
    pub capabilities: Vec<Capability>,
    /// The first digit of the next SMS passcode, after SMS passcodes were sent.
    pub sms_nextcode: Option<String>,
}

impl Device {
    /// Whether it can do `capability`.
    pub fn can(&self, capability: &Capability) -> bool {
        self.capabilities.contains(capability)
    }

    /// What to call it: the display name, else the name, else the id.
    pub fn label(&self) -> &str {
        [&self.display_name, &self.name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|s| !s.is_empty())
            .unwrap_or(&self.id)
    }
}

/// `preauth`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreauthResponse {
    /// The verdict.
    pub result: PreauthResult,
    /// Duo's message, for display.
    pub status_msg: String,
    /// The devices (for `Auth`).
    pub devices: Vec<Device>,
    /// Where to enroll (for `Enroll`).
    pub enroll_portal_url: Option<String>,
    /// Verified Duo Push required (asked for with
    /// [`super::AuthApiClient::preauth_for_verified_push`]): the `txid` the
    /// push must carry.
    pub verified_push: Option<VerifiedPush>,
}

/// What `preauth` answers when the user's policy requires Verified Duo Push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPush {
    /// The transaction the push's `auth` carries (Duo: valid 60 s).
    pub txid: String,
    /// The code, when Duo names it here already (one source documents
    /// `verification_code` in `preauth`; Duo's own test server sends it only
    /// in `auth_status`'s message).
    pub code: Option<String>,
}

/// `preauth`.
///
/// # Errors
/// [`AuthApiError`].
pub fn parse_preauth(response: &HttpResponse) -> Result<PreauthResponse, AuthApiError> {
    let map = object(envelope(response)?)?;
    let result = match map.get("result").and_then(Value::as_str) {
        Some("auth") => PreauthResult::Auth,
        Some("allow") => PreauthResult::Allow,
        Some("deny") => PreauthResult::Deny,
        Some("enroll") => PreauthResult::Enroll,
        Some(other) => PreauthResult::Other(other.to_owned()),
        None => return Err(AuthApiError::Malformed("no result")),
    };
    let devices = match map.get("devices") {
        Some(Value::Array(devices)) => devices.iter().filter_map(device).collect(),
        _ => Vec::new(),
    };
    Ok(PreauthResponse {
        result,
        status_msg: string(&map, "status_msg").unwrap_or_default(),
        devices,
        enroll_portal_url: string(&map, "enroll_portal_url"),
        verified_push: string(&map, "txid").filter(|txid| valid_txid(txid)).map(|txid| {
            VerifiedPush { txid, code: string(&map, "verification_code").and_then(|c| code(&c)) }
        }),
    })
}

/// A txid as Duo writes them (a UUID; at most 64 letters, digits and `-`).
fn valid_txid(txid: &str) -> bool {
    !txid.is_empty()
        && txid.len() <= 64
        && txid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A Verified Push code: 3 to 6 digits (Duo's range), else nothing.
fn code(text: &str) -> Option<String> {
    (3..=6).contains(&text.len()).then_some(())?;
    text.bytes().all(|b| b.is_ascii_digit()).then(|| text.to_owned())
}

fn device(value: &Value) -> Option<Device> {
    let map = value.as_object()?;
    let capabilities = match map.get("capabilities") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(|c| match c {
                "auto" => Capability::Auto,
                "push" => Capability::Push,
                "sms" => Capability::Sms,
                "phone" => Capability::Phone,
                "mobile_otp" => Capability::MobileOtp,
                other => Capability::Other(other.to_owned()),
            })
            .collect(),
        _ => Vec::new(),
    };
    Some(Device {
        id: string(map, "device")?,
        display_name: string(map, "display_name"),
        name: string(map, "name"),
        number: string(map, "number"),
        kind: match map.get("type").and_then(Value::as_str) {
            Some("phone") => DeviceKind::Phone,
            Some("token") => DeviceKind::Token,
            other => DeviceKind::Other(other.unwrap_or_default().to_owned()),
        },
        capabilities,
        sms_nextcode: string(map, "sms_nextcode"),
    })
}

/// Where an authentication stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthResult {
    /// Let the user in.
    Allow,
    /// Do not.
    Deny,
    /// Not decided yet (asynchronous transactions).
    Waiting,
    /// A value this client does not know (treated as not allowed).
    Other(String),
}

/// The state of an authentication: `auth`'s synchronous answer, or
/// `auth_status`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOutcome {
    /// The verdict.
    pub result: AuthResult,
    /// Duo's status: `allow`, `deny`, `pushed`, `calling`, `answered`,
    /// `timeout`, `fraud`, `locked_out`, `sent`, `bypass`, ...
    pub status: String,
    /// Duo's message, for display.
    pub status_msg: String,
}

impl AuthOutcome {
    /// Only `result: allow` lets a user in.
    pub fn is_allowed(&self) -> bool {
        self.result == AuthResult::Allow
    }

    /// Verified Duo Push: the code Duo asks the user to type in Duo Mobile,
    /// read from a waiting push's message ("Please enter verification code
    /// 708 into Duo Mobile..."): the 3 to 6 digits after "code".
    pub fn verification_code(&self) -> Option<String> {
        if self.result != AuthResult::Waiting {
            return None;
        }
        let lower = self.status_msg.to_ascii_lowercase();
        let (_, after) = lower.split_once("verification code")?;
        let digits: String =
            after.trim_start_matches([' ', ':']).chars().take_while(char::is_ascii_digit).collect();
        code(&digits)
    }
}

/// `auth`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthResponse {
    /// Synchronous: decided.
    Done(AuthOutcome),
    /// Asynchronous: follow `txid` with `auth_status`.
    Started {
        /// Duo's transaction id.
        txid: String,
    },
}

fn outcome(map: &Map<String, Value>) -> Result<AuthOutcome, AuthApiError> {
    let result = match map.get("result").and_then(Value::as_str) {
        Some("allow") => AuthResult::Allow,
        Some("deny") => AuthResult::Deny,
        Some("waiting") => AuthResult::Waiting,
        Some(other) => AuthResult::Other(other.to_owned()),
        None => return Err(AuthApiError::Malformed("no result")),
    };
    Ok(AuthOutcome {
        result,
        status: string(map, "status").unwrap_or_default(),
        status_msg: string(map, "status_msg").unwrap_or_default(),
    })
}

/// `auth`.
///
/// # Errors
/// [`AuthApiError`].
pub fn parse_auth(response: &HttpResponse) -> Result<AuthResponse, AuthApiError> {
    let map = object(envelope(response)?)?;
    if map.get("result").is_none()
        && let Some(txid) = string(&map, "txid").filter(|t| !t.is_empty())
    {
        return Ok(AuthResponse::Started { txid });
    }
    outcome(&map).map(AuthResponse::Done)
}

/// `auth_status`.
///
/// # Errors
/// [`AuthApiError`].
pub fn parse_auth_status(response: &HttpResponse) -> Result<AuthOutcome, AuthApiError> {
    outcome(&object(envelope(response)?)?)
}

/// `enroll`'s answer: what Duo Mobile needs to activate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollResponse {
    /// The new user's id.
    pub user_id: String,
    /// The new user's name.
    pub username: String,
    /// `duo://...`, for `enroll_status`.
    pub activation_code: String,
    /// A QR code image URL to scan with Duo Mobile.
    pub activation_barcode: Option<String>,
    /// A link that activates on the phone.
    pub activation_url: Option<String>,
    /// When the code expires (Unix seconds).
    pub expiration: Option<i64>,
}

/// `enroll`.
///
/// # Errors
/// [`AuthApiError`].
pub fn parse_enroll(response: &HttpResponse) -> Result<EnrollResponse, AuthApiError> {
    let map = object(envelope(response)?)?;
    let required = |key: &'static str| string(&map, key).ok_or(AuthApiError::Malformed(key));
    Ok(EnrollResponse {
        user_id: required("user_id")?,
        username: required("username")?,
        activation_code: required("activation_code")?,
        activation_barcode: string(&map, "activation_barcode"),
        activation_url: string(&map, "activation_url"),
        expiration: map.get("expiration").and_then(Value::as_i64),
    })
}

/// `enroll_status`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollStatus {
    /// The account was added to Duo Mobile.
    Success,
    /// Not yet.
    Waiting,
    /// Expired, or not this user's code.
    Invalid,
    /// A value this client does not know.
    Other(String),
}

/// `enroll_status` (its `response` is a bare string).
///
/// # Errors
/// [`AuthApiError`].
pub fn parse_enroll_status(response: &HttpResponse) -> Result<EnrollStatus, AuthApiError> {
    match envelope(response)? {
        Value::String(s) => Ok(match s.as_str() {
            "success" => EnrollStatus::Success,
            "waiting" => EnrollStatus::Waiting,
            "invalid" => EnrollStatus::Invalid,
            _ => EnrollStatus::Other(s),
        }),
        _ => Err(AuthApiError::Malformed("response is not a string")),
    }
}
