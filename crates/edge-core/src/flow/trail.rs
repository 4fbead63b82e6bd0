//! The audit trail of a step: who and what its record is about, learned as
//! it runs, and the one place a step's record is derived from its result
//! ([`Trail::finish`]), written with the session the step made, if any.

use std::net::IpAddr;

use super::audit::{Outcome, Reason, Refusal, Step, Success};
use super::context::Ctx;
use super::store::{AuditEvent, NewSession, SessionStore};
use crate::keys::UserKey;

/// What a step's audit record says on success, when it says anything.
pub trait Audited {
    /// The reason recorded for this outcome; `None` records nothing.
    fn success(&self) -> Option<Success>;

    /// The session this outcome made, stored with its record.
    fn new_session(&self) -> Option<&NewSession> {
        None
    }
}

/// Who and what a step's audit record is about, learned as the step runs.
#[derive(Debug, Clone)]
pub struct Trail {
    step: Step,
    at: u64,
    client: Option<IpAddr>,
    country: Option<[u8; 2]>,
    /// The normalized username as submitted (nobody's until known).
    pub username: UserKey,
    /// Duo's transaction id, once Duo answered with one.
    pub txid: Option<String>,
    /// The sign-in policy that decided, once one did ("#2 Office").
    pub policy: Option<String>,
}

impl Trail {
    /// A trail for `step` of the request `ctx`.
    pub fn new(step: Step, ctx: &Ctx) -> Self {
        Self {
            step,
            at: ctx.now,
            client: ctx.client,
            country: ctx.country,
            username: UserKey::default(),
            txid: None,
            policy: None,
        }
    }

    /// The audit record of a step that ended with `reason` (derived from
    /// the result, here only).
    fn event(&self, outcome: Outcome, reason: &'static str) -> AuditEvent {
        AuditEvent {
            at: self.at,
            username: self.username.as_str().to_owned(),
            step: self.step,
            outcome,
            reason,
            duo_txid: self.txid.clone(),
            client_ip: self.client.map(|ip| ip.to_string()),
            repeats: 0,
            policy: self.policy.clone(),
            country: super::context::country_text(self.country),
            factor: None,
        }
    }

    /// Writes the audit record of `result` and hands the result on, with
    /// the session the step made, if any, in the same atomic write. A
    /// success must be recorded (else the step fails as `internal`); a
    /// refusal is recorded on a best-effort basis, a failure to record it
    /// added to its detail.
    ///
    /// # Errors
    /// The refusal, or `internal` when a success could not be recorded.
    pub async fn finish<S: SessionStore, T: Audited>(
        &self,
        store: &S,
        result: Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        match result {
            Ok(outcome) => {
                if let Some(success) = outcome.success() {
                    let mut event = self.event(Outcome::Success, success.as_str());
                    event.factor = outcome.new_session().and_then(NewSession::factor);
                    let written = match outcome.new_session() {
                        Some(session) => store.create_session(session, &event).await,
                        None => store.record(&event).await.map(|()| true),
                    };
                    let written = written
                        .map_err(|e| Refusal::internal(format!("audit event not written: {e}")))?;
                    if !written {
                        // The account changed while this step ran: the
                        // session it checked for is no longer due.
                        let changed = Refusal::new(Reason::AccountChanged)
                            .detail("the account changed before the session was stored");
                        return Err(self.refuse(store, changed).await);
                    }
                }
                Ok(outcome)
            }
            Err(refusal) => Err(self.refuse(store, refusal).await),
        }
    }

    /// Writes the audit record of `refusal` (best effort: a failure to
    /// write it is added to its detail) and hands it on. A repeat of a
    /// rate-limit refusal ([`Refusal::counted_only`]) is not written.
    pub async fn refuse<S: SessionStore>(&self, store: &S, mut refusal: Refusal) -> Refusal {
        if refusal.counted_only {
            return refusal;
        }
        let event = self.event(refusal.reason.outcome(), refusal.reason.as_str());
        if let Err(error) = store.record(&event).await {
            let detail = refusal.detail.take().unwrap_or_else(|| "-".to_owned());
            refusal.detail = Some(format!("{detail} (audit event not written: {error})"));
        }
        refusal
    }
}
