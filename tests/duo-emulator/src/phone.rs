//! The tester's stand-in for a user's phone (not part of Duo): `/phone/USER`
//! shows the Auth API pushes and calls waiting for that user, with buttons to
//! approve, deny, report fraud or answer; the SMS passcodes "sent" to the
//! user; and their pending Duo Mobile activations. `/activate/CODE` is the
//! activation link `enroll` hands out, and `/portal?code=...` the
//! self-enrollment link `preauth` hands out. Plain HTML forms, like the
//! prompt.
//!
//! While nothing is waiting the page reloads itself every two seconds, so a
//! push shows up on its own; while something waits it stays still for the
//! click.

use std::fmt::Write as _;

use http::Method;

use crate::auth_api::ledger::{Action, ActionError, Channel, Transaction};
use crate::auth_api::{ACTIVATE_PREFIX, PORTAL_PATH, activate, enroll_by_portal, portal_user};
use crate::html::{escape, page};
use crate::params::Params;
use crate::state::Shared;
use crate::web::{Req, Resp, html, redirect, refused};

/// Prefix of the phone pages.
pub(crate) const PREFIX: &str = "/phone";

/// Handles the phone and activation pages; `None` for another path.
pub(crate) fn handle(shared: &Shared, req: &Req) -> Option<Resp> {
    let path = req.path.as_str();
    if path == PREFIX || path == "/phone/" {
        return Some(match req.method {
            Method::GET => html(200, index(shared)),
            _ => not_allowed(),
        });
    }
    if let Some(user) = path.strip_prefix("/phone/") {
        let user = percent_decoded(user);
        return Some(match req.method {
            Method::GET => show(shared, &user, None),
            Method::POST => act(shared, req, &user),
            _ => not_allowed(),
        });
    }
    if path == PORTAL_PATH {
        let query = Params::from_query(req.query.as_deref());
        let code = query.get("code").unwrap_or_default().to_owned();
        return Some(match req.method {
            Method::GET => portal_page(shared, &code),
            Method::POST => match enroll_by_portal(shared, &code) {
                Ok(user) => html(
                    200,
                    page(
                        "Enrolled",
                        &format!(
                            "<h1>Enrolled</h1><div class=\"notice ok\" role=\"status\">{} now has Duo \
Mobile (push and passcodes).</div><p>Return to the application and log in again. \
<a href=\"{PREFIX}/{}\">Open the phone</a>.</p>",
                            escape(&user),
                            escape(&encoded(&user))
                        ),
                    ),
                ),
                Err(why) => refused(html(400, page("Enrollment failed", &notice(why))), why),
            },
            _ => not_allowed(),
        });
    }
    let code = path.strip_prefix(ACTIVATE_PREFIX)?;
    Some(match req.method {
        Method::GET => html(
            200,
            page(
                "Activate Duo Mobile",
                &format!(
                    "<h1>Activate Duo Mobile</h1><p>Activation code <code>{}</code>. Activating \
adds a Duo Mobile device (push and passcodes) to the user who was enrolled.</p>\
<form method=\"post\"><button class=\"good\" type=\"submit\">Activate</button></form>",
                    escape(code)
                ),
            ),
        ),
        Method::POST => match activate(shared, code) {
            Ok(user) => redirect(303, &format!("{PREFIX}/{}", encoded(&user))),
            Err(why) => refused(html(400, page("Activation failed", &notice(why))), why),
        },
        _ => not_allowed(),
    })
}

fn portal_page(shared: &Shared, code: &str) -> Resp {
    let Some(user) = portal_user(shared, code) else {
        let why = "This enrollment link is not valid, was used, or has expired (links work for five minutes).";
        return refused(html(400, page("Enrollment link expired", &notice(why))), why);
    };
    html(
        200,
        page(
            "Enroll in Duo",
            &format!(
                "<h1>Protect your account with Duo</h1><p>Enroll <strong>{}</strong>: add Duo \
Mobile on your phone for push approvals and passcodes.</p><form method=\"post\">\
<button class=\"good\" type=\"submit\">Add Duo Mobile</button></form>",
                escape(&user)
            ),
        ),
    )
}

fn not_allowed() -> Resp {
    html(405, page("Method not allowed", &notice("Method not allowed.")))
}

fn notice(text: &str) -> String {
    format!("<div class=\"notice error\" role=\"alert\">{}</div>", escape(text))
}

fn percent_decoded(text: &str) -> String {
    form_urlencoded::parse(format!("u={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn index(shared: &Shared) -> String {
    let inner = shared.lock();
    let mut list = String::new();
    for user in &inner.users {
        let waiting = inner
            .auth_api
            .of_user(&user.username)
            .iter()
            .filter(|t| !t.progress.is_final())
            .count();
        let _ = write!(
            list,
            "<li><a href=\"{PREFIX}/{}\">{}</a>{}</li>",
            escape(&encoded(&user.username)),
            escape(&user.username),
            if waiting > 0 { format!(" ({waiting} waiting)") } else { String::new() }
        );
    }
    page(
        "Phones",
        &format!("<h1>Phones</h1><p>Each user's phone, for the Auth API.</p><ul>{list}</ul>"),
    )
}

fn show(shared: &Shared, name: &str, problem: Option<&str>) -> Resp {
    let now = shared.now().secs();
    let mut inner = shared.lock();
    if inner.auth_api.expire(now) {
        shared.changed.notify_waiters();
    }
    let Some(user) = inner.user(name).cloned() else {
        return refused(
            html(404, page("Unknown user", &notice(&format!("Duo has no user {name}.")))),
            "unknown user",
        );
    };
    let mut body = format!("<h1>{}'s phone</h1>", escape(&user.username));
    if let Some(problem) = problem {
        body.push_str(&notice(problem));
    }
    let transactions = inner.auth_api.of_user(&user.username);
    let waiting: Vec<&&Transaction> =
        transactions.iter().filter(|t| !t.progress.is_final()).collect();
    if waiting.is_empty() {
        body.push_str(
            "<p class=\"muted\">Nothing is waiting. This page reloads every two seconds.</p>",
        );
    }
    for txn in &waiting {
        body.push_str(&waiting_card(&user.username, txn, now));
    }

    let sms = inner.auth_api.sms.get(&user.username.to_ascii_lowercase());
    if let Some(batches) = sms.filter(|b| !b.is_empty()) {
        body.push_str("<h2>Text messages</h2>");
        for batch in batches.iter().rev() {
            let codes: Vec<String> = batch
                .passcodes
                .iter()
                .zip(&batch.used)
                .map(|(code, used)| {
                    if *used {
                        format!("<del>{}</del>", escape(code))
                    } else {
                        format!("<code class=\"passcode\">{}</code>", escape(code))
                    }
                })
                .collect();
            let _ = write!(
                body,
                "<div class=\"device sms\"><p class=\"muted\">To {} ({}), {} s ago</p>\
<p>Duo passcodes: {}</p></div>",
                escape(&batch.device),
                escape(&batch.number),
                now.saturating_sub(batch.sent),
                codes.join(" ")
            );
        }
    }

    let pending: Vec<_> = inner
        .auth_api
        .enrollments
        .iter()
        .filter(|e| {
            e.username.eq_ignore_ascii_case(&user.username) && !e.activated && now < e.expiration
        })
        .collect();
    for enrollment in pending {
        let _ = write!(
            body,
            "<div class=\"device\"><h2>Duo Mobile activation</h2><form method=\"post\">\
<input type=\"hidden\" name=\"activate\" value=\"{}\">\
<button class=\"good\" type=\"submit\">Activate Duo Mobile</button></form></div>",
            escape(&enrollment.code)
        );
    }

    let finished: Vec<String> = transactions
        .iter()
        .filter(|t| t.progress.is_final())
        .take(5)
        .map(|t| {
            format!(
                "<li><span class=\"status\">{}</span> {} ({}): {}</li>",
                escape(t.progress.status),
                escape(&t.factor),
                escape(t.device.as_deref().unwrap_or("no device")),
                escape(&t.progress.status_msg)
            )
        })
        .collect();
    if !finished.is_empty() {
        let _ = write!(body, "<h2>Recent</h2><ul class=\"recent\">{}</ul>", finished.join(""));
    }
    let still = waiting.is_empty();
    drop(inner);
    let mut html_text = page(&format!("{}'s phone", user.username), &body);
    if still {
        html_text =
            html_text.replacen("<head>", "<head><meta http-equiv=\"refresh\" content=\"2\">", 1);
    }
    html(200, html_text)
}

fn waiting_card(user: &str, txn: &Transaction, now: i64) -> String {
    let (heading, buttons): (&str, &[(Action, &str, &str)]) =
        match (txn.channel, txn.progress.status) {
            (Channel::Phone, "calling") => (
                "Incoming call from Duo",
                &[(Action::Answer, "good", "Answer"), (Action::Deny, "danger", "Decline")],
            ),
            (Channel::Phone, _) => (
                "Duo call: press # to log in",
                &[
                    (Action::Approve, "good", "Press #"),
                    (Action::Deny, "secondary", "Hang up"),
                    (Action::Fraud, "danger", "Press 9 (fraud)"),
                ],
            ),
            _ if txn.verification_code.is_some() => (
                "Verified Duo Push",
                &[
                    (Action::Approve, "good", "Verify"),
                    (Action::Deny, "secondary", "Deny"),
                    (Action::Fraud, "danger", "Report fraud"),
                ],
            ),
            _ => (
                "Duo Push",
                &[
                    (Action::Approve, "good", "Approve"),
                    (Action::Deny, "secondary", "Deny"),
                    (Action::Fraud, "danger", "Report fraud"),
                ],
            ),
        };
    let mut details = String::new();
    let title = txn.push_type.as_deref().unwrap_or("Login");
    let _ = write!(details, "<p><strong>{} request</strong>", escape(title));
    let shown_user = txn.display_username.as_deref().unwrap_or(user);
    let _ = write!(details, " for <strong>{}</strong>", escape(shown_user));
    if let Some(device) = &txn.device {
        let _ = write!(details, " on {}", escape(device));
    }
    details.push_str("</p>");
    if let Some(ip) = &txn.ipaddr {
        let _ = write!(details, "<p class=\"muted\">From {}</p>", escape(ip));
    }
    for (key, value) in &txn.pushinfo {
        let _ = write!(details, "<p class=\"muted\">{}: {}</p>", escape(key), escape(value));
    }
    let _ = write!(
        details,
        "<p class=\"muted\">{} (times out in {} s)</p>",
        escape(&txn.progress.status_msg),
        txn.expires.saturating_sub(now).max(0)
    );
    let mut form = format!(
        "<form method=\"post\"><input type=\"hidden\" name=\"txid\" value=\"{}\"><div class=\"row\">",
        escape(&txn.txid)
    );
    if txn.verification_code.is_some() {
        form.push_str(
            "<p><label for=\"code\">Enter the code shown at the sign-in</label> \
             <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"off\" \
             size=\"8\"></p>",
        );
    }
    for (action, class, label) in buttons {
        let name = action.name();
        let _ = write!(
            form,
            "<button class=\"{class}\" type=\"submit\" name=\"action\" value=\"{name}\">{label}</button>"
        );
    }
    form.push_str("</div></form>");
    format!(
        "<div class=\"device transaction\" data-txid=\"{}\"><h2>{heading}</h2>{details}{form}</div>",
        escape(&txn.txid)
    )
}

fn act(shared: &Shared, req: &Req, user: &str) -> Resp {
    let params = Params::from_request(None, req.header(&http::header::CONTENT_TYPE), &req.body)
        .unwrap_or_default();
    if let Some(code) = params.get("activate") {
        return match activate(shared, code) {
            Ok(_) => redirect(303, &format!("{PREFIX}/{}", encoded(user))),
            Err(why) => refused(show_status(shared, user, why, 400), why),
        };
    }
    let (Some(txid), Some(action)) =
        (params.get("txid"), params.get("action").and_then(Action::parse))
    else {
        return refused(
            show_status(shared, user, "Choose a transaction and an action.", 400),
            "bad phone form",
        );
    };
    let result = {
        let mut inner = shared.lock();
        let primary = inner.user(user).map(|u| u.username.clone());
        // Only this user's phone acts on this user's transactions.
        let theirs = inner
            .auth_api
            .transactions
            .get(txid)
            .is_some_and(|t| Some(&t.user) == primary.as_ref());
        if theirs {
            inner.auth_api.act(txid, action, params.get("code")).map(|_| ())
        } else {
            Err(ActionError::Unknown)
        }
    };
    match result {
        Ok(()) => {
            shared.changed.notify_waiters();
            redirect(303, &format!("{PREFIX}/{}", encoded(user)))
        }
        Err(error) => refused(show_status(shared, user, error.message(), 409), error.message()),
    }
}

fn show_status(shared: &Shared, user: &str, problem: &str, status: u16) -> Resp {
    let mut resp = show(shared, user, Some(problem));
    if resp.status().is_success() {
        *resp.status_mut() =
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    }
    resp
}
