//! A sign-in reported as fraud in Duo (inline: `auth_status` `fraud`, the
//! push marked fraudulent on the phone; prompt: the `id_token`'s
//! `auth_result.status` `fraud`, the Universal Prompt's "Deny and report
//! fraud"). Someone has the password and tried it: the account goes on hold
//! (`users.held_at`), its version moves on (sign-ins under way stop), its
//! sessions and trusted browsers end, in one batch. While on hold, a
//! correct password is answered `account_held` and no Duo step starts,
//! until an admin releases it from the console (`release_hold`).

use super::audit::{Reason, Refusal};
use super::store::{SignInStore, UserRecord};
use crate::keys::UserKey;

/// What the person is told after reporting fraud.
const REPORTED: &str = "You reported this sign-in as fraud. Your account is now on hold: its sessions and trusted browsers were ended. Tell your administrator, who must release it before you can sign in again; change your password then.";

/// What a correct password for a held account is told.
const HELD: &str = "Your account is on hold because a sign-in to it was reported as fraud. Ask your administrator to release it.";

/// Puts the account of `user` on hold after Duo said the user reported the
/// sign-in as fraud: the refusal the step answers.
pub(super) async fn reported<S: SignInStore>(store: &S, user: &UserKey, now: u64) -> Refusal {
    match store.hold_for_fraud(user, now).await {
        Ok(held) => Refusal::new(Reason::FraudReported)
            .detail(if held { "account put on hold" } else { "account already on hold" })
            .message(REPORTED),
        Err(error) => Refusal::internal(error),
    }
}

/// A held account goes no further than its password.
///
/// # Errors
/// [`Reason::AccountHeld`] when `user` is on hold.
pub(super) fn not_held(user: &UserRecord) -> Result<(), Refusal> {
    match user.held_at {
        None => Ok(()),
        Some(at) => Err(Refusal::new(Reason::AccountHeld)
            .detail(format!("on hold since {at}"))
            .message(HELD)),
    }
}
