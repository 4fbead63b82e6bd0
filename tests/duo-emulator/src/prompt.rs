//! The prompt page a person uses: choose a device and factor, act as the phone (approve/deny a
//! push, answer a call), enter a passcode, or enroll. Plain HTML forms posting back here, so it
//! works with JavaScript off and browser tests can click through it.

use std::fmt::Write as _;

use http::header;

use crate::config::{Capability, DeviceConfig, UserConfig};
use crate::html::{self, escape};
use crate::oauth::finish;
use crate::params::Params;
use crate::state::{Decision, Session, Shared, View, device_used};
use crate::web::{HandlerError, Req, Resp, html, redirect, refused};

/// Path of the prompt page.
pub(crate) const PATH: &str = "/frame/v4/prompt";

fn unknown_session() -> Resp {
    let msg = "This login request is unknown or has expired. Start again from the application.";
    refused(html(404, html::error_page("Login request not found", msg)), "unknown prompt session")
}

/// `GET /frame/v4/prompt?sid=…`.
pub(crate) fn show(shared: &Shared, req: &Req) -> Resp {
    let query = Params::from_query(req.query.as_deref());
    let sid = query.get("sid").unwrap_or("");
    let inner = shared.lock();
    let Some(session) = inner.sessions.get(sid) else {
        return unknown_session();
    };
    let user = inner.user(&session.duo_uname);
    html(200, render(sid, session, user))
}

/// `POST /frame/v4/prompt`: one form action, then 303 to the page or back to the application.
// One arm per form action, in the order a person meets them; splitting it would scatter the
// state machine.
#[allow(clippy::too_many_lines)]
pub(crate) fn act(shared: &Shared, req: &Req) -> Result<Resp, HandlerError> {
    let Ok(form) = Params::from_request(None, req.header(&header::CONTENT_TYPE), &req.body) else {
        return Ok(refused(
            html(400, html::error_page("Invalid request", "Unreadable form.")),
            "bad form",
        ));
    };
    let sid = form.get("sid").unwrap_or("").to_owned();
    let action = form.get("action").unwrap_or("");
    let device_index = form.get("device").and_then(|d| d.parse::<usize>().ok());
    let now = shared.now();
    let mut inner = shared.lock();
    let Some(mut session) = inner.sessions.get(&sid).cloned() else {
        return Ok(unknown_session());
    };
    let page = format!("{}{PATH}?sid={sid}", req.base_url());
    if session.view == View::Done {
        return Ok(redirect(303, &page));
    }
    let user = inner.user(&session.duo_uname).cloned();
    let device = |i: Option<usize>| -> Option<(&UserConfig, &DeviceConfig)> {
        let u = user.as_ref()?;
        Some((u, u.devices.get(i?)?))
    };
    session.notice = None;
    let mut decision = None;
    match (action, session.view) {
        ("push", _) => match device(device_index) {
            Some((_, d)) if d.capabilities.contains(&Capability::Push) => {
                session.view = View::Push(device_index.unwrap_or(0));
            }
            _ => session.notice = Some("That device cannot receive Duo Push.".into()),
        },
        ("call", _) => match device(device_index) {
            Some((_, d)) if d.capabilities.contains(&Capability::Phone) => {
                session.view = View::Call(device_index.unwrap_or(0));
            }
            _ => session.notice = Some("That device cannot receive phone calls.".into()),
        },
        ("passcode", _) => session.view = View::Passcode,
        ("back", _) => session.view = View::Choose,
        ("approve", View::Push(i)) => {
            let auth_device = device(Some(i)).map(|(u, d)| device_used(u, d));
            decision = Some(Decision::allow("duo_push", "user_approved", auth_device));
        }
        ("deny", View::Push(i)) => {
            let auth_device = device(Some(i)).map(|(u, d)| device_used(u, d));
            decision = Some(Decision::deny("duo_push", "user_mistake", auth_device));
        }
        ("fraud", View::Push(i)) => {
            let auth_device = device(Some(i)).map(|(u, d)| device_used(u, d));
            decision = Some(Decision::fraud("duo_push", auth_device));
        }
        ("approve", View::Call(i)) => {
            let auth_device = device(Some(i)).map(|(u, d)| device_used(u, d));
            decision = Some(Decision::allow("phone_call", "user_approved", auth_device));
        }
        ("deny", View::Call(i)) => {
            let auth_device = device(Some(i)).map(|(u, d)| device_used(u, d));
            decision = Some(Decision::deny("phone_call", "no_keys_pressed", auth_device));
        }
        ("verify", View::Passcode) => {
            let entered = form.get("passcode").unwrap_or("").trim();
            let valid = user.as_ref().is_some_and(|u| u.passcodes.iter().any(|p| p == entered));
            if valid {
                let auth_device = user.as_ref().and_then(|u| {
                    u.devices
                        .iter()
                        .find(|d| d.capabilities.contains(&Capability::MobileOtp))
                        .map(|d| device_used(u, d))
                });
                decision = Some(Decision::allow("passcode", "valid_passcode", auth_device));
            } else {
                session.notice = Some("Incorrect passcode. Try again.".into());
            }
        }
        ("enroll", View::Enroll) => {
            let platform = match form.get("platform") {
                Some("Android") => "Android",
                Some("Landline") => "Landline",
                _ => "iOS",
            };
            let number = form
                .get("number")
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or("+1 555-0199");
            let device = DeviceConfig {
                name: if platform == "Landline" {
                    "Landline".into()
                } else {
                    format!("{platform} phone")
                },
                platform: platform.into(),
                number: Some(number.chars().take(40).collect()),
                capabilities: if platform == "Landline" {
                    vec![Capability::Phone]
                } else {
                    vec![
                        Capability::Push,
                        Capability::Phone,
                        Capability::Sms,
                        Capability::MobileOtp,
                    ]
                },
            };
            if let Some(u) = inner.user_mut(&session.duo_uname) {
                u.devices.push(device);
            } else {
                let mut u = UserConfig::new(session.duo_uname.clone());
                u.devices.push(device);
                inner.users.push(u);
            }
            session.view = View::Choose;
            session.notice = Some("Your device is enrolled. Now choose how to verify.".into());
        }
        ("cancel", _) => decision = Some(Decision::deny("not_available", "user_cancelled", None)),
        ("return", View::LockedOut) => {
            decision = Some(Decision::deny("not_available", "locked_out", None));
        }
        ("return", View::Disabled) => {
            decision = Some(Decision::deny("not_available", "user_disabled", None));
        }
        ("return", View::DeniedUnenrolled) => {
            decision = Some(Decision::deny("not_available", "deny_unenrolled_user", None));
        }
        _ => session.notice = Some("That action is not available now.".into()),
    }
    if let Some(decision) = decision {
        let location = finish(&mut inner, &session, decision, now)?;
        session.view = View::Done;
        inner.sessions.insert(sid, session);
        return Ok(redirect(303, &location));
    }
    inner.sessions.insert(sid, session);
    Ok(redirect(303, &page))
}

fn masked(number: Option<&str>) -> String {
    let Some(n) = number else { return String::new() };
    let digits: Vec<char> = n.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits.iter().skip(digits.len().saturating_sub(4)).collect();
    format!("XXX-XXX-{tail}")
}

fn button(sid: &str, action: &str, label: &str, class: &str, device: Option<usize>) -> String {
    let device = device
        .map(|i| format!("<input type=\"hidden\" name=\"device\" value=\"{i}\">"))
        .unwrap_or_default();
    format!(
        "<form method=\"post\" action=\"{PATH}\"><input type=\"hidden\" name=\"sid\" value=\"{sid}\">{device}\
<button type=\"submit\" name=\"action\" value=\"{action}\" class=\"{class}\">{label}</button></form>",
        sid = escape(sid),
        action = escape(action),
        label = escape(label),
        class = escape(class),
    )
}

// One arm per view; each arm is the whole page body for that view.
#[allow(clippy::too_many_lines)]
fn render(sid: &str, session: &Session, user: Option<&UserConfig>) -> String {
    let mut body = String::new();
    let app = escape(&session.app_name);
    let uname = escape(&session.duo_uname);
    let devices: &[DeviceConfig] = user.map_or(&[], |u| u.devices.as_slice());
    let _ = write!(
        body,
        "<p class=\"muted\">Logging in to <strong>{app}</strong> as <strong>{uname}</strong></p>"
    );
    if let Some(notice) = &session.notice {
        let class =
            if notice.starts_with("Your device is enrolled") { "notice ok" } else { "notice" };
        let _ = write!(body, "<div class=\"{class}\" role=\"status\">{}</div>", escape(notice));
    }
    let title = match session.view {
        View::Choose => {
            body.push_str("<h1>Choose an authentication method</h1>");
            for (i, d) in devices.iter().enumerate() {
                let _ = write!(
                    body,
                    "<div class=\"device\"><h2>{} <span class=\"muted\">{} {}</span></h2><div class=\"row\">",
                    escape(&d.name),
                    escape(&d.platform),
                    escape(&masked(d.number.as_deref()))
                );
                if d.capabilities.contains(&Capability::Push) {
                    body.push_str(&button(sid, "push", "Send Me a Push", "", Some(i)));
                }
                if d.capabilities.contains(&Capability::Phone) {
                    body.push_str(&button(sid, "call", "Call Me", "secondary", Some(i)));
                }
                body.push_str("</div></div>");
            }
            body.push_str("<div class=\"row\">");
            body.push_str(&button(sid, "passcode", "Enter a Passcode", "secondary", None));
            body.push_str(&button(sid, "cancel", "Cancel and return", "secondary", None));
            body.push_str("</div>");
            "Duo: choose a method"
        }
        View::Push(i) => {
            let name = devices.get(i).map_or("your phone", |d| d.name.as_str());
            let _ = write!(
                body,
                "<h1>Check your phone</h1><p>A Duo Push was sent to <strong>{}</strong>.</p>\
<div class=\"device\"><h2>You are the phone now</h2><p class=\"muted\">Duo Mobile asks: \
\"Are you logging in to {app}?\"</p><div class=\"row\">{}{}{}</div></div><div class=\"row\">{}</div>",
                escape(name),
                button(sid, "approve", "Approve", "good", None),
                button(sid, "deny", "Deny", "danger", None),
                button(sid, "fraud", "Deny and report fraud", "danger", None),
                button(sid, "back", "Other options", "secondary", None),
            );
            "Duo: push sent"
        }
        View::Call(i) => {
            let number = devices.get(i).and_then(|d| d.number.as_deref());
            let _ = write!(
                body,
                "<h1>Answer the call</h1><p>Calling <strong>{}</strong>&hellip;</p>\
<div class=\"device\"><h2>You are answering the call</h2><p class=\"muted\">\"Press 1 to approve this login.\"</p>\
<div class=\"row\">{}{}</div></div><div class=\"row\">{}</div>",
                escape(&masked(number)),
                button(sid, "approve", "Press 1 (approve)", "good", None),
                button(sid, "deny", "Hang up", "danger", None),
                button(sid, "back", "Other options", "secondary", None),
            );
            "Duo: calling"
        }
        View::Passcode => {
            let hint = user.filter(|u| !u.passcodes.is_empty()).map_or_else(
                || "<p class=\"muted\">Emulator: this user has no passcodes configured.</p>".into(),
                |u| {
                    let list: Vec<String> =
                        u.passcodes.iter().map(|p| format!("<code>{}</code>", escape(p))).collect();
                    format!(
                        "<p class=\"muted\">Emulator: valid passcodes for this user are {}.</p>",
                        list.join(", ")
                    )
                },
            );
            let _ = write!(
                body,
                "<h1>Enter a passcode</h1>{hint}\
<form method=\"post\" action=\"{PATH}\"><input type=\"hidden\" name=\"sid\" value=\"{sid}\">\
<label for=\"passcode\">Passcode</label><input id=\"passcode\" name=\"passcode\" inputmode=\"numeric\" \
autocomplete=\"one-time-code\" autofocus><div class=\"row\">\
<button type=\"submit\" name=\"action\" value=\"verify\">Verify</button></div></form><div class=\"row\">{}</div>",
                button(sid, "back", "Other options", "secondary", None),
                sid = escape(sid),
            );
            "Duo: passcode"
        }
        View::Enroll => {
            let _ = write!(
                body,
                "<h1>Let's set up Duo</h1><p>{uname} is not enrolled in Duo yet. {app} requires \
two-factor authentication: add a device to continue.</p>\
<form method=\"post\" action=\"{PATH}\"><input type=\"hidden\" name=\"sid\" value=\"{sid}\">\
<label for=\"platform\">Device</label><select id=\"platform\" name=\"platform\">\
<option value=\"iOS\">iPhone (Duo Mobile)</option><option value=\"Android\">Android (Duo Mobile)</option>\
<option value=\"Landline\">Landline (phone calls)</option></select>\
<label for=\"number\">Phone number</label><input id=\"number\" name=\"number\" value=\"+1 555-0199\">\
<div class=\"row\"><button type=\"submit\" name=\"action\" value=\"enroll\">Enroll this device</button></div></form>\
<div class=\"row\">{}</div>",
                button(sid, "cancel", "Cancel and return", "secondary", None),
                sid = escape(sid),
            );
            "Duo: enroll"
        }
        View::LockedOut => {
            let _ = write!(
                body,
                "<h1>Your account is locked</h1><p>Your Duo account has been locked out. Contact your \
administrator.</p><div class=\"row\">{}</div>",
                button(
                    sid,
                    "return",
                    &format!("Return to {}", session.app_name),
                    "secondary",
                    None
                )
            );
            "Duo: locked out"
        }
        View::Disabled => {
            let _ = write!(
                body,
                "<h1>Your account is disabled</h1><p>Your Duo account has been disabled. Contact your \
administrator.</p><div class=\"row\">{}</div>",
                button(
                    sid,
                    "return",
                    &format!("Return to {}", session.app_name),
                    "secondary",
                    None
                )
            );
            "Duo: disabled"
        }
        View::DeniedUnenrolled => {
            let _ = write!(
                body,
                "<h1>Access denied</h1><p>{uname} is not enrolled in Duo, and {app} does not allow \
unenrolled users.</p><div class=\"row\">{}</div>",
                button(
                    sid,
                    "return",
                    &format!("Return to {}", session.app_name),
                    "secondary",
                    None
                )
            );
            "Duo: access denied"
        }
        View::Done => {
            body.push_str("<h1>Done</h1><p>This login is complete. You can close this page.</p>");
            "Duo: done"
        }
    };
    html::page(title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_phone_numbers() {
        assert_eq!(masked(Some("+1 555-0100")), "XXX-XXX-0100");
        assert_eq!(masked(None), "");
    }

    #[test]
    fn buttons_escape_values() {
        let b = button("s\"id", "push", "<b>", "", Some(1));
        assert!(b.contains("s&quot;id"));
        assert!(b.contains("&lt;b&gt;"));
        assert!(b.contains("name=\"device\" value=\"1\""));
    }
}
