//! `POST /auth/v2/auth` and `GET /auth/v2/auth_status`.
//!
//! A push or a phone call becomes a waiting transaction that the tester
//! approves, denies, reports as fraud or answers on the phone page or
//! through the control API; it times out after `auth_timeout_seconds`
//! (Duo: 60 s). A synchronous `auth` holds the answer until the transaction
//! finishes; an asynchronous one answers `{"txid"}` at once, and each
//! `auth_status` answers at once when something changed since the last one,
//! else holds until something does (Duo's long poll). Passcodes and SMS
//! finish at once. A scripted outcome for the user (`POST /__emulator/script`)
//! decides a push or call without waiting.

use std::time::Duration;

use serde_json::json;

use super::ledger::{Channel, Progress, SMS_BATCH, SmsBatch, Transaction};
use super::reply::{Verified, device_id, invalid, mask, named_user, ok};
use crate::config::{Capability, DeviceConfig, UserConfig, UserStatus};
use crate::state::{Outcome, Shared, random_bytes, random_uuid};
use crate::web::{HandlerError, Resp};

/// How often a held request looks at the clock (a push times out even when
/// nobody acts, and the clock can be moved by the control API).
const RECHECK: Duration = Duration::from_millis(250);

/// Why `auth` starts no transaction.
enum Stop {
    /// A parameter Duo refuses (its 40002 names it).
    Invalid(&'static str),
    /// The emulator's own failure.
    Internal(HandlerError),
}

impl From<HandlerError> for Stop {
    fn from(error: HandlerError) -> Self {
        Self::Internal(error)
    }
}

/// `POST /auth/v2/auth`.
pub(super) async fn auth(shared: &Shared, verified: &Verified) -> Result<Resp, HandlerError> {
    let (txn, asynchronous) = match transaction(shared, verified, random_uuid()?) {
        Ok(started) => started,
        Err(Stop::Invalid(parameter)) => return Ok(invalid(parameter)),
        Err(Stop::Internal(error)) => return Err(error),
    };
    // A Verified Duo Push continues the transaction `preauth` offered.
    let txid = txn.txid.clone();
    shared.lock().auth_api.insert(txn);
    shared.changed.notify_waiters();
    if asynchronous {
        return Ok(ok(&json!({"txid": txid})));
    }
    let Some(done) = wait_for(shared, &txid, |txn| txn.progress.is_final()).await else {
        return Ok(invalid("txid"));
    };
    let progress = done.progress;
    Ok(ok(&json!({
        "result": progress.result,
        "status": progress.status,
        "status_msg": progress.status_msg,
    })))
}

/// Reads `auth`'s parameters and starts (or finishes) its transaction.
fn transaction(
    shared: &Shared,
    verified: &Verified,
    txid: String,
) -> Result<(Transaction, bool), Stop> {
    let factor = verified.one("factor").ok_or(Stop::Invalid("factor"))?;
    let asynchronous = match verified.one("async") {
        None | Some("0" | "false") => false,
        Some("1" | "true") => true,
        Some(_) => return Err(Stop::Invalid("async")),
    };
    let capability = match factor {
        "push" => Some(Capability::Push),
        "phone" => Some(Capability::Phone),
        "sms" => Some(Capability::Sms),
        "auto" | "passcode" => None,
        _ => return Err(Stop::Invalid("factor")),
    };
    let user = named_user(shared, verified).map_err(Stop::Invalid)?.ok_or_else(|| {
        Stop::Invalid(if verified.one("user_id").is_some() { "user_id" } else { "username" })
    })?;
    let now = shared.now().secs();
    let mut txn = Transaction {
        txid,
        ikey: verified.app.ikey.clone(),
        user: user.username.clone(),
        factor: factor.to_owned(),
        channel: Channel::Immediate,
        device: None,
        device_id: None,
        push_type: verified.one("type").map(str::to_owned),
        display_username: verified.one("display_username").map(str::to_owned),
        pushinfo: verified
            .one("pushinfo")
            .map(|info| form_urlencoded::parse(info.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
        ipaddr: verified.one("ipaddr").map(str::to_owned),
        created: now,
        expires: now.saturating_add(shared.config.auth_timeout_seconds),
        progress: Progress::allow(),
        version: 0,
        reported: 0,
        verification_code: None,
    };
    if factor == "passcode" {
        let passcode = verified.one("passcode").ok_or(Stop::Invalid("passcode"))?;
        txn.progress = match refusal(&user) {
            Some(refused) => refused,
            None => check_passcode(shared, &user, passcode),
        };
        return Ok((txn, asynchronous));
    }
    let wanted = verified.one("device").ok_or(Stop::Invalid("device"))?;
    let device = if wanted == "auto" {
        user.devices.iter().find(|d| able(d, capability))
    } else {
        let device = user.devices.iter().find(|d| device_id(&user, d) == wanted);
        Some(device.ok_or(Stop::Invalid("device"))?).filter(|d| able(d, capability))
    };
    if let Some(refused) = refusal(&user) {
        txn.progress = refused;
        return Ok((txn, asynchronous));
    }
    let device = device.ok_or(Stop::Invalid("no capable device"))?;
    out_of_band(shared, &user, device, capability, verified.one("txid"), &mut txn)?;
    Ok((txn, asynchronous))
}

/// Sends the SMS, or starts the push or call (decided at once by a script).
/// A push for a user whose policy requires Verified Duo Push must carry a
/// `txid` `preauth` offered (Duo's own test server denies one without);
/// a `txid` on anything but a push is denied the same way.
fn out_of_band(
    shared: &Shared,
    user: &UserConfig,
    device: &DeviceConfig,
    capability: Option<Capability>,
    offered: Option<&str>,
    txn: &mut Transaction,
) -> Result<(), Stop> {
    txn.device = Some(device.name.clone());
    txn.device_id = Some(device_id(user, device));
    let number = device.number.as_deref().map(mask).unwrap_or_default();
    let push = capability
        .map_or_else(|| device.capabilities.contains(&Capability::Push), |c| c == Capability::Push);
    if offered.is_some() && !push {
        txn.progress = Progress::new("deny", "deny", "A txid is only for a Verified Duo Push.");
        return Ok(());
    }
    if push && user.verified_push.is_some() {
        let Some(offered) = offered else {
            txn.progress = Progress::new("deny", "deny", "txid should be passed to /auth");
            return Ok(());
        };
        let offer =
            shared.lock().auth_api.take_offer(offered, &txn.ikey, &user.username, txn.created);
        let Some(offer) = offer else {
            txn.progress = Progress::new("deny", "deny", "Verified Duo Push expired. Try again.");
            return Ok(());
        };
        offered.clone_into(&mut txn.txid);
        txn.channel = Channel::Push;
        txn.progress = Progress::new(
            "waiting",
            "pushed",
            format!("Please enter verification code {} into Duo Mobile...", offer.code),
        );
        txn.verification_code = Some(offer.code);
        return Ok(());
    }
    if capability == Some(Capability::Sms) {
        let passcodes = sms_passcodes()?;
        txn.progress = Progress::new("deny", "sent", "New SMS passcodes sent.");
        shared.lock().auth_api.record_sms(SmsBatch {
            user: user.username.clone(),
            device: device.name.clone(),
            number,
            sent: txn.created,
            used: vec![false; passcodes.len()],
            passcodes,
        });
        return Ok(());
    }
    (txn.channel, txn.progress) = if push {
        (
            Channel::Push,
            Progress::new("waiting", "pushed", "Pushed a login request to your device..."),
        )
    } else {
        (Channel::Phone, Progress::new("waiting", "calling", format!("Dialing {number}...")))
    };
    if let Some(script) = shared.lock().take_script(&user.username) {
        txn.progress = match (script.outcome, txn.channel) {
            (Outcome::Approve, _) => Progress::allow(),
            (Outcome::Timeout, _) => Progress::new("deny", "timeout", "Login timed out."),
            (Outcome::Fraud, _) => {
                Progress::new("deny", "fraud", "Login request reported as fraudulent.")
            }
            (Outcome::Deny | Outcome::Error, Channel::Phone) => {
                Progress::new("deny", "deny", "No keypress detected. Please try again.")
            }
            (Outcome::Deny | Outcome::Error, _) => {
                Progress::new("deny", "deny", "Login request denied.")
            }
        };
    }
    Ok(())
}

/// `GET /auth/v2/auth_status`.
pub(super) async fn auth_status(shared: &Shared, verified: &Verified) -> Resp {
    let Some(txid) = verified.one("txid") else { return invalid("txid") };
    let ikey = verified.app.ikey.as_str();
    {
        let inner = shared.lock();
        // Another integration's transaction is as unknown as a made-up one.
        if inner.auth_api.transactions.get(txid).is_none_or(|t| t.ikey != ikey) {
            return invalid("txid");
        }
    }
    let answered = wait_for(shared, txid, |txn| {
        let ready = txn.version > txn.reported || txn.progress.is_final();
        if ready {
            txn.reported = txn.version;
        }
        ready
    })
    .await;
    let Some(txn) = answered else { return invalid("txid") };
    ok(&json!({
        "auth_delayed": false,
        "result": txn.progress.result,
        "status": txn.progress.status,
        "status_msg": txn.progress.status_msg,
    }))
}

/// Holds until `ready` says so for the transaction (timing out waiting ones
/// on the way); `None` when it is gone (the emulator was reset).
async fn wait_for(
    shared: &Shared,
    txid: &str,
    mut ready: impl FnMut(&mut Transaction) -> bool,
) -> Option<Transaction> {
    loop {
        let notified = shared.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let now = shared.now().secs();
        {
            let mut inner = shared.lock();
            if inner.auth_api.expire(now) {
                shared.changed.notify_waiters();
            }
            let txn = inner.auth_api.transactions.get_mut(txid)?;
            if ready(txn) {
                return Some(txn.clone());
            }
        }
        let _ = tokio::time::timeout(RECHECK, notified).await;
    }
}

/// Whether a device can do the factor (`None`: `auto`, a push or a call).
fn able(device: &DeviceConfig, capability: Option<Capability>) -> bool {
    match capability {
        Some(c) => device.capabilities.contains(&c),
        None => {
            device.capabilities.iter().any(|c| matches!(c, Capability::Push | Capability::Phone))
        }
    }
}

/// What Duo answers a user it will not authenticate, whatever the factor.
fn refusal(user: &UserConfig) -> Option<Progress> {
    match user.status {
        UserStatus::Active => None,
        UserStatus::Bypass => {
            Some(Progress::new("allow", "bypass", "Bypassing two-factor authentication."))
        }
        UserStatus::LockedOut => {
            Some(Progress::new("deny", "locked_out", "Your account is locked out."))
        }
        UserStatus::Disabled => {
            Some(Progress::new("deny", "locked_out", "Your account is disabled."))
        }
    }
}

/// A passcode: one of the user's configured ones (reusable), or an unused
/// SMS passcode (one use). Wrong ones count towards a lockout.
fn check_passcode(shared: &Shared, user: &UserConfig, passcode: &str) -> Progress {
    let key = user.username.to_ascii_lowercase();
    let threshold = shared.config.lockout_after_failures;
    let mut inner = shared.lock();
    let known = user.passcodes.iter().any(|p| p == passcode)
        || inner.auth_api.spend_sms(&user.username, passcode);
    if known {
        inner.auth_api.failures.remove(&key);
        return Progress::allow();
    }
    let failures = inner.auth_api.failures.entry(key).or_default();
    *failures += 1;
    if threshold > 0
        && *failures >= threshold
        && let Some(user) = inner.user_mut(&user.username)
    {
        user.status = UserStatus::LockedOut;
    }
    Progress::new("deny", "deny", "Incorrect passcode. Please try again.")
}

/// A batch of SMS passcodes: seven digits, the first one the passcode's
/// place in the batch (1 to 9, then 0), as Duo numbers them.
fn sms_passcodes() -> Result<Vec<String>, HandlerError> {
    let random = random_bytes::<{ SMS_BATCH * 6 }>()?;
    Ok(random
        .chunks(6)
        .zip(1u8..)
        .map(|(digits, place)| {
            let mut code = char::from(b'0' + place % 10).to_string();
            code.extend(digits.iter().map(|b| char::from(b'0' + b % 10)));
            code
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_passcodes_are_numbered_as_duo_numbers_them() {
        let codes = sms_passcodes().unwrap();
        assert_eq!(codes.len(), SMS_BATCH);
        let places: String = codes.iter().filter_map(|c| c.get(..1)).collect();
        assert_eq!(places, "1234567890");
        assert!(codes.iter().all(|c| c.len() == 7 && c.bytes().all(|b| b.is_ascii_digit())));
        assert_ne!(codes, sms_passcodes().unwrap(), "random after the first digit");
    }
}
