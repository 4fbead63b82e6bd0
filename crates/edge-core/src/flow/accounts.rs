//! Accounts from the admin console: add a user, set a user's password
//! (`POST /api/admin/users/add`, `POST /api/admin/users/password`), and
//! check a user's mapping to Duo (`POST /api/admin/users/duo-check`).
//!
//! A password is either typed by the admin (the policy of
//! `credentials::policy`, the one `user-admin` applies) or generated here
//! from the request's randomness and answered this once: only its hash is
//! stored, made with the same PBKDF2 the login verifies with
//! ([`Passwords::hash`]). Neither ever reaches the audit log, which says
//! only whether the password was typed or generated. A new password ends
//! the user's sessions. An admin cannot reset their own password here: a
//! generated one lost before it was copied, with every session ended,
//! would lock them out.

use credentials::policy::{self, GENERATED_ENTROPY_BYTES};
use credentials::{DEFAULT_ITERATIONS, PasswordHash, Username, password::SALT_LEN};

use crate::keys::UserKey;
use shared::admin::{
    DuoFailure, DuoPreauth, DuoUserCheck, DuoUserCheckRequest, NewPassword, NewUserRequest,
    PasswordIssued, PasswordResetRequest,
};
use shared::api::Password;
use shared::duo::auth_api::{PreauthResult, User, parse_preauth};
use shared::duo::{Transport, UnixTime};

use super::admin::{Admin, change_refused, duo_username};
use super::audit::{Reason, Refusal};
use super::breach::{self, Screened};
use super::context::{Ctx, Passwords, Random, capitalized, unix_i64};
use super::store::{AddOutcome, AdminEvent, ConsoleStore, NewUser, SignInStore, UserUpdate};
use crate::config::Config;
use crate::config::DuoSetup;

/// `POST /api/admin/users/add`: a new, enabled user, recorded as
/// `add_user`.
///
/// # Errors
/// `bad_request` (an invalid
/// username or Duo username, a password the policy refuses, a name or a
/// Duo identity another account has); `internal`.
pub async fn add_user<S: ConsoleStore, P: Passwords>(
    store: &S,
    passwords: &P,
    config: &Config,
    admin: &Admin,
    request: &NewUserRequest,
    ctx: &Ctx,
    random: &Random,
) -> Result<PasswordIssued, Refusal> {
    let username = Username::parse(&request.username).map_err(|e| {
        Refusal::new(Reason::AdminBadValue)
            .detail(e.to_string())
            .message(&format!("That username cannot be used: {e}."))
    })?;
    let duo_name = duo_username(request.duo_username.as_deref())?;
    let chosen = Chosen { passwords, config, random };
    let (hash, generated, screened) = chosen.password(&request.password, &username).await?;
    let user = NewUser {
        username: username.as_str().to_owned(),
        normalized: UserKey::of_username(&username),
        password_hash: hash.to_phc(),
        duo_policy: request.duo_policy.as_str(),
        duo_username: duo_name.clone(),
        role: request.role.as_str(),
        must_change_password: true,
    };
    let mut detail = serde_json::json!({
        "role": request.role,
        "duo_policy": request.duo_policy,
        "duo_username": duo_name,
        "password": source(generated.as_ref()),
    });
    if let Some(screened) = &screened {
        detail["breach_check"] = screened.as_str().into();
    }
    let event = AdminEvent::new(admin.username().to_owned(), "add_user", ctx)
        .on(&user.normalized)
        .with(&detail);
    match store.add_user(&user, &event).await.map_err(Refusal::internal)? {
        AddOutcome::Added => Ok(PasswordIssued {
            username: user.username,
            generated,
            warning: screened.and_then(|s| s.warning()),
        }),
        AddOutcome::Exists => Err(Refusal::new(Reason::AdminBadValue)
            .detail(format!("user {} exists", user.normalized))
            .message(&format!("There is already a user named {}.", user.username))),
        AddOutcome::DuoIdentityTaken => {
            Err(Refusal::new(Reason::AdminBadValue).detail("duo identity taken").message(
                "Another user already has that Duo username (their Duo username, or their \
                 username when they have none): set a different Duo username.",
            ))
        }
    }
}

/// `POST /api/admin/users/password`: a new password for another user,
/// whose sessions end, recorded as `reset_password`.
///
/// # Errors
/// `forbidden` for one's own
/// password; `bad_request` (no such user, a password the policy refuses);
/// `internal`.
pub async fn reset_password<S: ConsoleStore, P: Passwords>(
    store: &S,
    passwords: &P,
    config: &Config,
    admin: &Admin,
    request: &PasswordResetRequest,
    ctx: &Ctx,
    random: &Random,
) -> Result<PasswordIssued, Refusal> {
    let no_such = || Refusal::new(Reason::NoSuchUser).message("There is no user with that name.");
    let username = Username::parse(&request.username).map_err(|_| no_such())?;
    let target = UserKey::of_username(&username);
    if UserKey::of(admin.username()).is_some_and(|me| me == target) {
        return Err(Refusal::new(Reason::SelfLockout).message(
            "You cannot reset your own password here: it would end this session too. Ask \
             another admin, or use scripts/user.sh set-password.",
        ));
    }
    let chosen = Chosen { passwords, config, random };
    let (hash, generated, screened) = chosen.password(&request.password, &username).await?;
    let mut detail = serde_json::json!({"password": source(generated.as_ref())});
    if let Some(screened) = &screened {
        detail["breach_check"] = screened.as_str().into();
    }
    let event = AdminEvent::new(admin.username().to_owned(), "reset_password", ctx)
        .on(&target)
        .with(&detail);
    let outcome = store
        .change_user(&target, &UserUpdate::Password(hash.to_phc()), &event)
        .await
        .map_err(Refusal::internal)?;
    change_refused(outcome, &target)?;
    // The name as the admin typed it (normalized names compare equal).
    Ok(PasswordIssued {
        username: username.as_str().to_owned(),
        generated,
        warning: screened.and_then(|s| s.warning()),
    })
}

/// What choosing a password for someone takes.
struct Chosen<'a, P> {
    passwords: &'a P,
    config: &'a Config,
    random: &'a Random,
}

impl<P: Passwords> Chosen<'_, P> {
    /// The hash of the new password, the password when it was generated,
    /// and what the breach check found of a typed one (a generated one is
    /// 100 random bits: in no breach, not asked about).
    async fn password(
        &self,
        choice: &NewPassword,
        username: &Username,
    ) -> Result<(PasswordHash, Option<Password>, Option<Screened>), Refusal> {
        let (salt, entropy) = self.random.password.split_at(SALT_LEN);
        let (password, generated, screened) = match choice {
            NewPassword::Generate => {
                let mut bytes = [0_u8; GENERATED_ENTROPY_BYTES];
                bytes.copy_from_slice(&entropy[..GENERATED_ENTROPY_BYTES]);
                let made = Password::new(policy::generate(&bytes).as_str());
                (made.clone(), Some(made), None)
            }
            NewPassword::Typed(typed) => {
                policy::check(typed.expose(), username.as_str()).map_err(|e| {
                    let said = e.to_string();
                    Refusal::new(Reason::AdminBadValue)
                        .detail(said.clone())
                        .message(&format!("{}.", capitalized(&said)))
                })?;
                let screened = breach::screen(self.passwords, self.config, typed.expose()).await?;
                (typed.clone(), None, Some(screened))
            }
        };
        let hash = self
            .passwords
            .hash(password.expose().as_bytes(), salt, DEFAULT_ITERATIONS)
            .await
            .map_err(Refusal::internal)?;
        Ok((hash, generated, screened))
    }
}

/// What the audit log says of a new password.
fn source(generated: Option<&Password>) -> &'static str {
    if generated.is_some() { "generated" } else { "typed" }
}

/// `POST /api/admin/users/duo-check`: the health of a user's mapping to
/// Duo, for the name stored or one about to be saved. Inline mode asks
/// Duo's `preauth` about the name (the Universal Prompt has no lookup);
/// both modes report another account with the same Duo identity, and the
/// user's last Duo sign-in and any Duo failure since, from the audit log.
/// Recorded as `check_duo_username`.
///
/// # Errors
/// `bad_request` (no such user,
/// an invalid Duo username); `internal`. Duo failing is a result.
pub async fn check_duo_user<S: ConsoleStore + SignInStore, T: Transport>(
    store: &S,
    duo: &T,
    config: &Config,
    admin: &Admin,
    request: &DuoUserCheckRequest,
    ctx: &Ctx,
) -> Result<DuoUserCheck, Refusal> {
    let no_such = || Refusal::new(Reason::NoSuchUser).message("There is no user with that name.");
    let target = UserKey::of(&request.username).ok_or_else(no_such)?;
    let user = store.user(&target).await.map_err(Refusal::internal)?.ok_or_else(no_such)?;
    let name = duo_username(request.duo_username.as_deref())?
        .or(user.duo_username)
        .unwrap_or(user.username);
    let mapping = store
        .duo_mapping(&target, &name.trim().to_ascii_lowercase())
        .await
        .map_err(Refusal::internal)?;
    let preauth = match &config.duo {
        DuoSetup::Inline(client) => {
            let request = client.preauth(User::Username(&name), None, UnixTime(unix_i64(ctx.now)));
            Some(match duo.send(request).await {
                Ok(response) => match parse_preauth(&response) {
                    Ok(answer) => verdict(answer),
                    Err(error) => {
                        DuoPreauth::Failed { message: format!("{error}: {}", error.explanation()) }
                    }
                },
                Err(error) => {
                    DuoPreauth::Failed { message: format!("Duo was not reached: {error}") }
                }
            })
        }
        DuoSetup::Prompt(_) => None,
    };
    let last_failure = mapping
        .last_failure
        .filter(|(at, _)| mapping.last_success.is_none_or(|success| *at >= success))
        .map(|(at, reason)| DuoFailure { at: unix_i64(at), reason });
    let check = DuoUserCheck {
        summary: summary(
            &name,
            mapping.taken_by.as_deref(),
            preauth.as_ref(),
            last_failure.as_ref(),
            mapping.last_success.is_some(),
        ),
        duo_username: name,
        taken_by: mapping.taken_by,
        preauth,
        last_duo_success: mapping.last_success.map(unix_i64),
        last_duo_failure: last_failure,
    };
    let result = match &check.preauth {
        Some(DuoPreauth::Enrolled { .. }) => "enrolled",
        Some(DuoPreauth::Allowed) => "allowed",
        Some(DuoPreauth::NotEnrolled) => "not_enrolled",
        Some(DuoPreauth::Denied { .. }) => "denied",
        Some(DuoPreauth::Failed { .. }) => "failed",
        None => "no_lookup",
    };
    let detail = serde_json::json!({"duo_username": check.duo_username, "preauth": result});
    let event = AdminEvent::new(admin.username().to_owned(), "check_duo_username", ctx)
        .on(&target)
        .with(&detail);
    store.record_admin(&event).await.map_err(Refusal::internal)?;
    Ok(check)
}

fn verdict(answer: shared::duo::auth_api::PreauthResponse) -> DuoPreauth {
    match answer.result {
        PreauthResult::Auth => DuoPreauth::Enrolled {
            devices: answer.devices.iter().map(|d| d.label().to_owned()).collect(),
        },
        PreauthResult::Allow => DuoPreauth::Allowed,
        PreauthResult::Enroll => DuoPreauth::NotEnrolled,
        PreauthResult::Deny => DuoPreauth::Denied { message: answer.status_msg },
        PreauthResult::Other(other) => {
            DuoPreauth::Failed { message: format!("Duo answered an unknown result, {other:?}.") }
        }
    }
}

/// The verdict in words: the identity first, then Duo, then the history.
fn summary(
    name: &str,
    taken_by: Option<&str>,
    preauth: Option<&DuoPreauth>,
    failure: Option<&DuoFailure>,
    succeeded: bool,
) -> String {
    let mut said = Vec::new();
    if let Some(other) = taken_by {
        said.push(format!(
            "{other} already has the Duo username {name}: it cannot be saved for this user."
        ));
    }
    said.push(match preauth {
        Some(DuoPreauth::Enrolled { devices }) => {
            let n = devices.len();
            format!("Duo knows {name}, with {n} device{}.", if n == 1 { "" } else { "s" })
        }
        Some(DuoPreauth::Allowed) => {
            format!("Duo lets {name} in without a second factor (a bypass user in Duo).")
        }
        Some(DuoPreauth::NotEnrolled) => {
            format!("Duo does not know {name}: they will be asked to enroll at their next sign-in.")
        }
        Some(DuoPreauth::Denied { message }) => format!("Duo refuses {name}: {message}"),
        Some(DuoPreauth::Failed { message }) => format!("Duo could not be asked: {message}"),
        None => format!(
            "Duo will be told {name}. The Universal Prompt cannot look a name up in advance: \
             the next Duo sign-in tells whether Duo accepts it."
        ),
    });
    said.push(match (failure, succeeded) {
        (Some(failure), _) if failure.reason == "id_token_username" => {
            "The last Duo sign-in failed: Duo confirmed a different username, so the Duo \
             username does not match the Duo account."
                .to_owned()
        }
        (Some(failure), _) => {
            format!("The last Duo step failed ({}).", failure.reason.replace('_', " "))
        }
        (None, true) => "The last sign-in with Duo succeeded.".to_owned(),
        (None, false) => "No sign-in with Duo yet.".to_owned(),
    });
    said.join(" ")
}
