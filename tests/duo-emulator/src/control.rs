//! The control API under `/__emulator/`: script outcomes, inject faults, move the clock, read the
//! request log, add apps and users, reset. JSON in, JSON out. Not part of Duo.

use http::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

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
