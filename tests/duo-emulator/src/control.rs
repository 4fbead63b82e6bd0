//! The control API under `/__emulator/`: script outcomes, inject faults, move the clock, read the
//! request log, add apps and users, reset. JSON in, JSON out. Not part of Duo.

use http::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::auth_api::ledger::{Action, ActionError, SmsBatch, Transaction};
use crate::config::{AppConfig, UserConfig};
use crate::params::Params;
use crate::state::{Fault, FaultRule, Inner, Script, ScriptEntry, Shared};
use crate::web::{Req, Resp, json};

/// Prefix of every control route.
pub(crate) const PREFIX: &str = "/__emulator";

/// One item or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            Self::Many(v) => v,
            Self::One(t) => vec![t],
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    offset_seconds: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionRequest {
    action: String,
    /// Verified Duo Push: the code typed on the phone (approve only).
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivateRequest {
    activation_code: String,
}

fn bad_request(message: impl Into<String>) -> Resp {
    json(400, &json!({"error": "bad_request", "message": message.into()}))
}

fn parse<T: DeserializeOwned>(req: &Req) -> Result<T, String> {
    serde_json::from_slice(&req.body).map_err(|e| format!("invalid JSON body: {e}"))
}

/// Dispatches a control request.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Resp {
    let route = req.path.strip_prefix(PREFIX).unwrap_or("").trim_end_matches('/');
    match (&req.method, route) {
        (&Method::GET, "") => json(200, &index()),
        (&Method::POST, "/script") => post_script(shared, req),
        (&Method::GET, "/script") => json(200, &scripts(&shared.lock())),
        (&Method::DELETE, "/script") => {
            let mut inner = shared.lock();
            inner.scripts.clear();
            json(200, &scripts(&inner))
        }
        (&Method::POST, "/faults") => post_faults(shared, req),
        (&Method::GET, "/faults") => json(200, &faults(&shared.lock())),
        (&Method::DELETE, "/faults") => {
            let mut inner = shared.lock();
            inner.faults.clear();
            inner.clock_offset = 0;
            json(200, &faults(&inner))
        }
        (&Method::POST, "/clock") => match parse::<ClockRequest>(req) {
            Ok(c) => {
                shared.lock().clock_offset = c.offset_seconds;
                json(200, &clock(shared))
            }
            Err(msg) => bad_request(msg),
        },
        (&Method::GET, "/clock") => json(200, &clock(shared)),
        (&Method::GET, "/requests") => requests(shared, req),
        (&Method::DELETE, "/requests") => {
            shared.lock().log.clear();
            json(200, &json!({"requests": []}))
        }
        (&Method::POST, "/reset") => {
            shared.reset();
            json(200, &json!({"reset": true}))
        }
        (&Method::GET, "/config") => json(200, &config(&shared.lock())),
        (&Method::POST, "/apps") => post_apps(shared, req),
        (&Method::POST, "/users") => post_users(shared, req),
        (&Method::GET, "/transactions") => transactions(shared, req),
        (&Method::POST, route) if route.starts_with("/transactions/") => {
            act(shared, req, route.trim_start_matches("/transactions/"))
        }
        (&Method::GET, "/sms") => sms(shared, req),
        (&Method::POST, "/pwned") => post_pwned(shared, req),
        (&Method::GET, "/enrollments") => {
            json(200, &json!({"enrollments": shared.lock().auth_api.enrollments}))
        }
        (&Method::POST, "/activate") => match parse::<ActivateRequest>(req) {
            Ok(body) => match crate::auth_api::activate(shared, &body.activation_code) {
                Ok(user) => json(200, &json!({"activated": true, "user": user})),
                Err(why) => json(409, &json!({"error": "conflict", "message": why})),
            },
            Err(msg) => bad_request(msg),
        },
        _ => json(
            404,
            &json!({"error": "not_found", "message": "No such control route; see GET /__emulator."}),
        ),
    }
}

fn index() -> Value {
    json!({
        "emulator": "duo-emulator",
        "routes": [
            "POST /__emulator/script", "GET /__emulator/script", "DELETE /__emulator/script",
            "POST /__emulator/faults", "GET /__emulator/faults", "DELETE /__emulator/faults",
            "POST /__emulator/clock", "GET /__emulator/clock",
            "GET /__emulator/requests", "DELETE /__emulator/requests",
            "POST /__emulator/reset", "GET /__emulator/config",
            "POST /__emulator/apps", "POST /__emulator/users",
            "GET /__emulator/transactions", "POST /__emulator/transactions/{txid}",
            "GET /__emulator/sms", "GET /__emulator/enrollments", "POST /__emulator/activate",
            "POST /__emulator/pwned",
        ],
    })
}

fn post_script(shared: &Shared, req: &Req) -> Resp {
    let items = match parse::<OneOrMany<Script>>(req) {
        Ok(items) => items.into_vec(),
        Err(msg) => return bad_request(msg),
    };
    if let Some(bad) = items.iter().find(|s| s.user.trim().is_empty() || s.times == 0) {
        return bad_request(format!("script for {:?} needs a user and times >= 1", bad.user));
    }
    let mut inner = shared.lock();
    for script in items {
        let key = inner.script_key(&script.user);
        inner.scripts.push(ScriptEntry { key, remaining: script.times, script });
    }
    json(200, &scripts(&inner))
}

fn scripts(inner: &Inner) -> Value {
    let list: Vec<Value> = inner
        .scripts
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(&e.script).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut v {
                map.insert("times".into(), json!(e.remaining));
            }
            v
        })
        .collect();
    json!({"scripts": list})
}

fn post_faults(shared: &Shared, req: &Req) -> Resp {
    let rules = match parse::<OneOrMany<FaultRule>>(req) {
        Ok(r) => r.into_vec(),
        Err(msg) => return bad_request(msg),
    };
    let mut inner = shared.lock();
    for rule in rules {
        match rule.fault {
            Fault::ClockOffset { seconds } => inner.clock_offset = seconds,
            _ if rule.times == Some(0) => {}
            _ => inner.faults.push(rule.normalized()),
        }
    }
    json(200, &faults(&inner))
}

fn faults(inner: &Inner) -> Value {
    json!({"faults": inner.faults, "clock_offset_seconds": inner.clock_offset})
}

fn clock(shared: &Shared) -> Value {
    let now = shared.now();
    json!({"now": now.secs_f64(), "offset_seconds": shared.lock().clock_offset})
}

fn requests(shared: &Shared, req: &Req) -> Resp {
    let query = Params::from_query(req.query.as_deref());
    let path = query.get("path");
    let since = query.get("since").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    let inner = shared.lock();
    let list: Vec<&crate::state::LogEntry> =
        inner.log.iter().filter(|e| e.seq > since && path.is_none_or(|p| e.path == p)).collect();
    json(200, &json!({"requests": list}))
}

fn config(inner: &Inner) -> Value {
    let apps: Vec<Value> = inner
        .apps
        .iter()
        .map(|a| {
            json!({
                "client_id": a.client_id,
                "name": a.name,
                "new_user_policy": a.new_user_policy,
                "frameless": a.frameless,
            })
        })
        .collect();
    json!({"apps": apps, "users": inner.users})
}

fn post_apps(shared: &Shared, req: &Req) -> Resp {
    let apps = match parse::<OneOrMany<AppConfig>>(req) {
        Ok(a) => a.into_vec(),
        Err(msg) => return bad_request(msg),
    };
    if let Some(err) = apps.iter().find_map(|a| a.validate().err()) {
        return bad_request(err.to_string());
    }
    let mut inner = shared.lock();
    for app in apps {
        inner.apps.retain(|a| a.client_id != app.client_id);
        inner.apps.push(app);
    }
    json(200, &config(&inner))
}

fn post_users(shared: &Shared, req: &Req) -> Resp {
    let users = match parse::<OneOrMany<UserConfig>>(req) {
        Ok(u) => u.into_vec(),
        Err(msg) => return bad_request(msg),
    };
    if let Some(err) = users.iter().find_map(|u| u.validate().err()) {
        return bad_request(err.to_string());
    }
    let mut inner = shared.lock();
    for user in users {
        inner.users.retain(|u| !u.username.eq_ignore_ascii_case(&user.username));
        inner.users.push(user);
    }
    json(200, &config(&inner))
}

/// `GET /__emulator/transactions[?user=NAME]`: Auth API transactions, oldest first.
fn transactions(shared: &Shared, req: &Req) -> Resp {
    let query = Params::from_query(req.query.as_deref());
    let now = shared.now().secs();
    let mut inner = shared.lock();
    if inner.auth_api.expire(now) {
        shared.changed.notify_waiters();
    }
    let primary = query.get("user").map(|name| inner.script_key(name));
    let list: Vec<&Transaction> = inner
        .auth_api
        .all()
        .into_iter()
        .filter(|t| primary.as_ref().is_none_or(|p| t.user.eq_ignore_ascii_case(p)))
        .collect();
    json(200, &json!({"transactions": list}))
}

/// `POST /__emulator/transactions/{txid}` `{"action": "approve"|"deny"|"fraud"|"answer"|"timeout"}`
/// (approving a Verified Duo Push also takes `"code"`).
fn act(shared: &Shared, req: &Req, txid: &str) -> Resp {
    let (action, code) = match parse::<ActionRequest>(req) {
        Ok(body) => match Action::parse(&body.action) {
            Some(action) => (action, body.code),
            None => {
                return bad_request("action must be approve, deny, fraud, answer or timeout");
            }
        },
        Err(msg) => return bad_request(msg),
    };
    let answer = match shared.lock().auth_api.act(txid, action, code.as_deref()) {
        Ok(txn) => json(200, &json!({"transaction": txn})),
        Err(ActionError::Unknown) => {
            json(404, &json!({"error": "not_found", "message": ActionError::Unknown.message()}))
        }
        Err(error) => json(409, &json!({"error": "conflict", "message": error.message()})),
    };
    shared.changed.notify_waiters();
    answer
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PwnedRequest {
    password: String,
    count: u64,
}

/// `POST /__emulator/pwned` `{"password": "...", "count": N}` (or a list):
/// breached passwords the Pwned Passwords stand-in then reports.
fn post_pwned(shared: &Shared, req: &Req) -> Resp {
    let items = match parse::<OneOrMany<PwnedRequest>>(req) {
        Ok(items) => items.into_vec(),
        Err(msg) => return bad_request(msg),
    };
    if items.iter().any(|i| i.password.is_empty() || i.count == 0) {
        return bad_request("each needs a password and a count of at least 1");
    }
    let mut inner = shared.lock();
    for item in items {
        inner.pwned.push((crate::pwned::sha1_hex(&item.password), item.count));
    }
    json(200, &json!({"pwned": inner.pwned.len()}))
}

/// `GET /__emulator/sms[?user=NAME]`: the SMS passcode batches sent, oldest first.
fn sms(shared: &Shared, req: &Req) -> Resp {
    let query = Params::from_query(req.query.as_deref());
    let inner = shared.lock();
    let primary = query.get("user").map(|name| inner.script_key(name));
    let mut list: Vec<&SmsBatch> = inner
        .auth_api
        .sms
        .iter()
        .filter(|(user, _)| primary.as_ref().is_none_or(|p| *user == p))
        .flat_map(|(_, batches)| batches)
        .collect();
    list.sort_by_key(|b| b.sent);
    json(200, &json!({"sms": list}))
}
