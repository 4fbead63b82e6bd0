//! What the Auth API remembers between requests: transactions (a push or a
//! call waiting for the tester, or a finished `auth`), SMS passcodes sent,
//! failed passcodes per user (Duo locks a user out after ten) and pending
//! enrollments. Lives in the emulator's state, behind its one lock.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

/// Transactions kept (older ones are forgotten, as Duo forgets finished ones).
const MAX_TRANSACTIONS: usize = 2000;
/// SMS batches kept per user (the phone page shows them all).
const MAX_SMS_PER_USER: usize = 5;
/// Passcodes in one SMS batch, as Duo sends them.
pub(crate) const SMS_BATCH: usize = 10;

/// `result`, `status` and `status_msg` of a transaction, as Duo reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Progress {
    /// `waiting`, `allow` or `deny`.
    pub result: &'static str,
    /// `pushed`, `calling`, `answered`, `allow`, `bypass`, `deny`, `fraud`,
    /// `timeout`, `locked_out`, `sent`.
    pub status: &'static str,
    pub status_msg: String,
}

impl Progress {
    pub fn new(result: &'static str, status: &'static str, msg: impl Into<String>) -> Self {
        Self { result, status, status_msg: msg.into() }
    }

    pub fn allow() -> Self {
        Self::new("allow", "allow", "Success. Logging you in...")
    }

    pub fn is_final(&self) -> bool {
        self.result != "waiting"
    }
}

/// The out-of-band factors that wait for the tester.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Channel {
    Push,
    Phone,
    /// Finished at once (passcode, SMS, bypass, refusal): nothing to act on.
    Immediate,
}

/// One `auth` request's transaction.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Transaction {
    pub txid: String,
    /// The integration that created it (only it may follow it).
    #[serde(skip)]
    pub ikey: String,
    /// The Duo user's primary username.
    pub user: String,
    /// `auth`'s `factor` as sent.
    pub factor: String,
    pub channel: Channel,
    /// The device's name, and its id.
    pub device: Option<String>,
    pub device_id: Option<String>,
    /// `type`, `display_username`, `pushinfo` (decoded pairs) and `ipaddr` as sent.
    #[serde(rename = "type")]
    pub push_type: Option<String>,
    pub display_username: Option<String>,
    pub pushinfo: Vec<(String, String)>,
    pub ipaddr: Option<String>,
    /// Emulator time, Unix seconds.
    pub created: i64,
    /// When a waiting push or call times out.
    pub expires: i64,
    #[serde(flatten)]
    pub progress: Progress,
    /// Bumped at every change; `auth_status` answers when it passes `reported`.
    #[serde(skip)]
    pub version: u64,
    #[serde(skip)]
    pub reported: u64,
    /// Verified Duo Push: the code the phone must be given to approve (not
    /// shown by the control API: only the sign-in page knows it).
    #[serde(skip)]
    pub verification_code: Option<String>,
}

/// A Verified Duo Push offer `preauth` handed out: the `txid` one push's
/// `auth` carries, and the code it will ask for.
#[derive(Debug, Clone)]
pub(crate) struct Offer {
    /// The integration it was offered to.
    pub ikey: String,
    /// The Duo user's primary username.
    pub user: String,
    pub code: String,
    /// Duo: 60 s after `preauth`.
    pub expires: i64,
}

/// What a tester (phone page or control API) may do to a waiting transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Approve the push, or press `#` on the call.
    Approve,
    /// Deny the push, or hang up.
    Deny,
    /// Report the request as fraud.
    Fraud,
    /// Answer the call (`calling` → `answered`).
    Answer,
    /// Let it time out now.
    Timeout,
}

impl Action {
    const ALL: [Self; 5] = [Self::Approve, Self::Deny, Self::Fraud, Self::Answer, Self::Timeout];

    /// The name the phone page's forms and the control API use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::Fraud => "fraud",
            Self::Answer => "answer",
            Self::Timeout => "timeout",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == text)
    }
}

/// Why an action was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActionError {
    Unknown,
    Finished,
    NotACall,
    /// Approving a Verified Duo Push needs the code.
    CodeRequired,
}

impl ActionError {
    pub fn message(self) -> &'static str {
        match self {
            Self::Unknown => "no such transaction",
            Self::Finished => "the transaction has already finished",
            Self::NotACall => "only a phone call can be answered",
            Self::CodeRequired => {
                "approving a Verified Duo Push takes the code shown at the sign-in"
            }
        }
    }
}

/// A batch of SMS passcodes "sent" to a user's phone.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SmsBatch {
    pub user: String,
    pub device: String,
    pub number: String,
    pub sent: i64,
    pub passcodes: Vec<String>,
    /// Which passcodes were used (one use each).
    pub used: Vec<bool>,
}

impl SmsBatch {
    /// The first digit of the next unused passcode (`sms_nextcode`).
    pub fn next_code(&self) -> Option<String> {
        self.passcodes
            .iter()
            .zip(&self.used)
            .find(|(_, used)| !**used)
            .and_then(|(code, _)| code.get(..1).map(str::to_owned))
    }
}

/// A pending or finished `enroll`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Enrollment {
    pub username: String,
    pub user_id: String,
    pub activation_code: String,
    /// The random part of the code, used in the activation URL.
    pub code: String,
    pub expiration: i64,
    pub activated: bool,
}

/// A self-enrollment link `preauth` handed out.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Portal {
    pub code: String,
    pub username: String,
    pub expires: i64,
    pub used: bool,
}

/// The Auth API's memory.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub transactions: HashMap<String, Transaction>,
    order: VecDeque<String>,
    /// Newest last, per primary username (lower case).
    pub sms: HashMap<String, Vec<SmsBatch>>,
    /// Consecutive failed passcodes per primary username (lower case).
    pub failures: HashMap<String, u32>,
    pub enrollments: Vec<Enrollment>,
    /// Self-enrollment links (newest last; at most [`MAX_TRANSACTIONS`]).
    pub portals: Vec<Portal>,
    /// Verified Duo Push offers by txid, each used by at most one push.
    pub offers: HashMap<String, Offer>,
}

impl Ledger {
    pub fn insert(&mut self, mut txn: Transaction) {
        txn.version = 1;
        self.order.push_back(txn.txid.clone());
        self.transactions.insert(txn.txid.clone(), txn);
        while self.order.len() > MAX_TRANSACTIONS {
            if let Some(old) = self.order.pop_front() {
                self.transactions.remove(&old);
            }
        }
    }

    /// Times out every waiting transaction whose time is up. Returns whether any changed.
    pub fn expire(&mut self, now: i64) -> bool {
        let mut changed = false;
        for txn in self.transactions.values_mut() {
            if !txn.progress.is_final() && now >= txn.expires {
                txn.progress = Progress::new("deny", "timeout", "Login timed out.");
                txn.version += 1;
                changed = true;
            }
        }
        changed
    }

    /// Records a Verified Duo Push offer (forgetting expired ones).
    pub fn offer(&mut self, txid: String, offer: Offer, now: i64) {
        self.offers.retain(|_, o| o.expires > now);
        if self.offers.len() < MAX_TRANSACTIONS {
            self.offers.insert(txid, offer);
        }
    }

    /// Takes the offer `txid` names, if it is this integration's and user's
    /// and has not expired: one push each.
    pub fn take_offer(&mut self, txid: &str, ikey: &str, user: &str, now: i64) -> Option<Offer> {
        let offer = self.offers.remove(txid)?;
        (offer.ikey == ikey && offer.user.eq_ignore_ascii_case(user) && now < offer.expires)
            .then_some(offer)
    }

    /// Applies a tester's action; approving a Verified Duo Push takes its
    /// `code`, and a wrong one fails the push.
    pub fn act(
        &mut self,
        txid: &str,
        action: Action,
        code: Option<&str>,
    ) -> Result<&Transaction, ActionError> {
        let txn = self.transactions.get_mut(txid).ok_or(ActionError::Unknown)?;
        if txn.progress.is_final() {
            return Err(ActionError::Finished);
        }
        let typed = match (&txn.verification_code, action, code.map(str::trim)) {
            (Some(_), Action::Approve, None | Some("")) => return Err(ActionError::CodeRequired),
            (Some(expected), Action::Approve, Some(typed)) => Some(typed == expected),
            _ => None,
        };
        txn.progress = match (action, txn.channel) {
            _ if typed == Some(false) => {
                Progress::new("deny", "deny", "Incorrect verification code. Login request denied.")
            }
            (Action::Answer, Channel::Phone) => {
                Progress::new("waiting", "answered", "Answered. Press '#' on your phone to log in.")
            }
            (Action::Answer, _) => return Err(ActionError::NotACall),
            (Action::Approve, _) => Progress::allow(),
            (Action::Deny, Channel::Phone) => {
                Progress::new("deny", "deny", "No keypress detected. Please try again.")
            }
            (Action::Deny, _) => Progress::new("deny", "deny", "Login request denied."),
            (Action::Fraud, _) => {
                Progress::new("deny", "fraud", "Login request reported as fraudulent.")
            }
            (Action::Timeout, _) => Progress::new("deny", "timeout", "Login timed out."),
        };
        txn.version += 1;
        Ok(txn)
    }

    /// A user's transactions, newest first.
    pub fn of_user(&self, user: &str) -> Vec<&Transaction> {
        let mut list: Vec<&Transaction> =
            self.order.iter().filter_map(|id| self.transactions.get(id)).collect();
        list.retain(|t| t.user.eq_ignore_ascii_case(user));
        list.reverse();
        list
    }

    /// Every transaction, oldest first.
    pub fn all(&self) -> Vec<&Transaction> {
        self.order.iter().filter_map(|id| self.transactions.get(id)).collect()
    }

    pub fn add_portal(&mut self, portal: Portal) {
        self.portals.push(portal);
        if self.portals.len() > MAX_TRANSACTIONS {
            self.portals.remove(0);
        }
    }

    pub fn record_sms(&mut self, batch: SmsBatch) {
        let list = self.sms.entry(batch.user.to_ascii_lowercase()).or_default();
        list.push(batch);
        if list.len() > MAX_SMS_PER_USER {
            list.remove(0);
        }
    }

    /// Spends an unused SMS passcode of `user`'s; `true` when it was one.
    pub fn spend_sms(&mut self, user: &str, passcode: &str) -> bool {
        let Some(batches) = self.sms.get_mut(&user.to_ascii_lowercase()) else { return false };
        for batch in batches.iter_mut().rev() {
            if let Some(i) = batch.passcodes.iter().position(|c| c == passcode)
                && batch.used.get(i) == Some(&false)
            {
                batch.used[i] = true;
                return true;
            }
        }
        false
    }

    /// `sms_nextcode` for a user, from the newest batch.
    pub fn sms_nextcode(&self, user: &str) -> Option<String> {
        self.sms.get(&user.to_ascii_lowercase())?.last()?.next_code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(txid: &str, expires: i64) -> Transaction {
        Transaction {
            txid: txid.into(),
            ikey: "DI".into(),
            user: "alice".into(),
            factor: "push".into(),
            channel: Channel::Push,
            device: None,
            device_id: None,
            push_type: None,
            display_username: None,
            pushinfo: Vec::new(),
            ipaddr: None,
            created: 0,
            expires,
            progress: Progress::new(
                "waiting",
                "pushed",
                "Pushed a login request to your device...",
            ),
            version: 0,
            reported: 0,
            verification_code: None,
        }
    }

    #[test]
    fn actions_move_a_waiting_transaction_once() {
        let mut ledger = Ledger::default();
        ledger.insert(push("a", 60));
        assert_eq!(ledger.act("a", Action::Answer, None).err(), Some(ActionError::NotACall));
        let txn = ledger.act("a", Action::Approve, None).map(|t| (t.progress.clone(), t.version));
        assert_eq!(txn, Ok((Progress::allow(), 2)));
        assert_eq!(ledger.act("a", Action::Deny, None).err(), Some(ActionError::Finished));
        assert_eq!(ledger.act("b", Action::Deny, None).err(), Some(ActionError::Unknown));
    }

    #[test]
    fn a_verified_push_is_approved_only_with_its_code() {
        let mut ledger = Ledger::default();
        for id in ["a", "b"] {
            ledger.insert(Transaction { verification_code: Some("376".into()), ..push(id, 60) });
        }
        assert_eq!(ledger.act("a", Action::Approve, None).err(), Some(ActionError::CodeRequired));
        assert_eq!(
            ledger.act("a", Action::Approve, Some(" ")).err(),
            Some(ActionError::CodeRequired)
        );
        let wrong = ledger.act("a", Action::Approve, Some("377")).map(|t| t.progress.clone());
        assert_eq!(
            wrong.map(|p| (p.result, p.status)),
            Ok(("deny", "deny")),
            "a wrong code fails it"
        );
        assert_eq!(
            ledger.act("a", Action::Approve, Some("376")).err(),
            Some(ActionError::Finished)
        );
        let right = ledger.act("b", Action::Approve, Some(" 376 ")).map(|t| t.progress.clone());
        assert_eq!(right, Ok(Progress::allow()));

        ledger.offer(
            "t".into(),
            Offer { ikey: "I".into(), user: "alice".into(), code: "1".into(), expires: 60 },
            0,
        );
        assert!(ledger.take_offer("t", "OTHER", "alice", 1).is_none(), "another integration's");
        ledger.offer(
            "t".into(),
            Offer { ikey: "I".into(), user: "alice".into(), code: "1".into(), expires: 60 },
            0,
        );
        assert!(ledger.take_offer("t", "I", "bob", 1).is_none(), "another user's");
        ledger.offer(
            "t".into(),
            Offer { ikey: "I".into(), user: "alice".into(), code: "1".into(), expires: 60 },
            0,
        );
        assert!(ledger.take_offer("t", "I", "alice", 60).is_none(), "expired");
        ledger.offer(
            "t".into(),
            Offer { ikey: "I".into(), user: "alice".into(), code: "1".into(), expires: 60 },
            0,
        );
        assert!(ledger.take_offer("t", "I", "Alice", 59).is_some());
        assert!(ledger.take_offer("t", "I", "alice", 59).is_none(), "used once");
    }

    #[test]
    fn waiting_transactions_time_out_and_finished_ones_stay() {
        let mut ledger = Ledger::default();
        ledger.insert(push("a", 60));
        ledger.insert(push("b", 60));
        assert!(ledger.act("b", Action::Fraud, None).is_ok());
        assert!(!ledger.expire(59));
        assert!(ledger.expire(60));
        assert_eq!(ledger.transactions["a"].progress.status, "timeout");
        assert_eq!(ledger.transactions["b"].progress.status, "fraud");
        assert!(!ledger.expire(61), "a finished transaction does not time out again");
    }

    #[test]
    fn sms_passcodes_are_spent_once_and_the_next_code_follows() {
        let mut ledger = Ledger::default();
        ledger.record_sms(SmsBatch {
            user: "Alice".into(),
            device: "iPhone".into(),
            number: "XXX-XXX-0100".into(),
            sent: 0,
            passcodes: vec!["1000001".into(), "2000002".into()],
            used: vec![false, false],
        });
        assert_eq!(ledger.sms_nextcode("alice").as_deref(), Some("1"));
        assert!(ledger.spend_sms("alice", "1000001"));
        assert!(!ledger.spend_sms("alice", "1000001"), "second use");
        assert!(!ledger.spend_sms("bob", "2000002"), "someone else's code");
        assert_eq!(ledger.sms_nextcode("ALICE").as_deref(), Some("2"));
        assert!(ledger.spend_sms("alice", "2000002"));
        assert_eq!(ledger.sms_nextcode("alice"), None);
    }
}
