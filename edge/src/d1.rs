//! The store's ports ([`SessionStore`], [`SignInStore`], [`ConsoleStore`],
//! [`MaintenanceStore`], and `AlertStore` in [`alerts`]) over D1
//! (`migrations/`): one statement per operation, every value a bound
//! parameter; no SQL is built from input. A record that raises an alert
//! (`edge_core::flow::alerts`) queues it once the write succeeded.

mod alerts;

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, Env};

use shared::admin::{AuditLog, AuditQuery, AuditRow, HourCounts};

use edge_core::flow::limits::LimitKey;
use edge_core::flow::maintenance::{PrunePlan, Pruned};
use edge_core::flow::store::{
    AddOutcome, AdminEvent, AdminSessionRecord, AdminUserRecord, AuditEvent, ChangeOutcome,
    ConsoleStore, DuoMapping, EnforceSetting, MaintenanceStore, NewSession, NewUser,
    OverviewRecord, OwnItem, OwnSessionRecord, RememberedBrowser, SessionQuery, SessionRecord,
    SessionStore, SignInStore, SingleUse, StoreError, StoredPolicies, UserPage, UserQuery,
    UserRecord, UserUpdate, Whose,
};
use edge_core::keys::{IdHash, UserKey};

/// Binding name of the D1 database (`[[d1_databases]]` in `wrangler.toml`).
pub const DB_BINDING: &str = "DB";

/// The flow's storage in the Worker's D1 database, and the alerts' queue
/// its records raise alerts on (none when the Worker has no `ALERTS`).
pub struct D1Store(D1Database, Option<worker::Queue>);

impl D1Store {
    /// The database of this Worker, with its alerts' queue.
    ///
    /// # Errors
    /// When the database's binding is missing.
    pub fn from_env(env: &Env) -> worker::Result<Self> {
        Ok(Self(env.d1(DB_BINDING)?, env.queue(ALERTS_QUEUE).ok()))
    }

    /// Queues the alert `event` raises, if any (it is written).
    async fn raise_auth(&self, event: &AuditEvent) {
        if self.1.is_some() {
            self.raise(edge_core::flow::alerts::of_auth_event(event, alert_id())).await;
        }
    }

    /// Queues the alert an admin's `event` raises, if any (it is written).
    async fn raise_admin(&self, event: &AdminEvent) {
        if self.1.is_some() {
            self.raise(edge_core::flow::alerts::of_admin_event(event, alert_id())).await;
        }
    }

    /// Sends `alert` to the queue; a failure is logged (the record it came
    /// from is written: the console shows it either way).
    async fn raise(&self, alert: Option<edge_core::flow::alerts::Alert>) {
        let (Some(queue), Some(alert)) = (&self.1, alert) else { return };
        let kind = alert.kind.as_str();
        let message = edge_core::flow::alerts::QueueMessage::Raised { alert };
        if let Err(error) = queue.send(message.to_text()).await {
            worker::console_error!("alerts: could not queue a {kind} alert: {error}");
        }
    }
}

/// The queue binding alerts are sent to (`[[queues.producers]]` in
/// `wrangler.toml`); the Worker consumes it (`crate::alerts`).
pub const ALERTS_QUEUE: &str = "ALERTS";

/// A fresh alert id: `al_` and 24 random hex digits.
pub fn alert_id() -> String {
    let mut bytes = [0_u8; 12];
    // Without randomness the clock's milliseconds still tell alerts apart
    // for a receiver's de-duplication.
    if getrandom::getrandom(&mut bytes).is_err() {
        bytes[..8].copy_from_slice(&worker::Date::now().as_millis().to_be_bytes());
    }
    format!("al_{}", edge_core::keys::hex(&bytes))
}

/// A JS number for a time or count (all far below 2^53, where f64 is exact).
#[allow(clippy::cast_precision_loss, reason = "Unix seconds and counts stay below 2^53")]
fn number(value: u64) -> JsValue {
    JsValue::from_f64(value as f64)
}

fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

fn text_or_null(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// `?1`..`?6` of an `admin_events` insert: at, actor, action, target,
/// detail, client.
fn admin_event_values(event: &AdminEvent) -> Vec<JsValue> {
    vec![
        number(event.at),
        text(&event.actor),
        text(event.action),
        text_or_null(event.target.as_deref()),
        text_or_null(event.detail.as_deref()),
        text_or_null(event.client_ip.as_deref()),
    ]
}

#[allow(clippy::needless_pass_by_value, reason = "used as `map_err(failed)`")]
fn failed(error: worker::Error) -> StoreError {
    StoreError(error.to_string())
}

#[derive(Deserialize)]
struct Count {
    count: u32,
}

#[derive(Deserialize)]
struct UserCounts {
    count: u32,
    held: u32,
}

#[derive(Deserialize)]
struct Username {
    username: String,
}

/// The users a console list is about (`?1` the text, `?3` 1 for exactly
/// that name, 0 for names containing it; see [`Whose`]).
macro_rules! whose {
    () => {
        "(?1 = '' OR (?3 = 1 AND lower(trim(username)) = ?1) \
         OR (?3 = 0 AND instr(lower(trim(username)), ?1) > 0))"
    };
}
/// A session `s` not idle past its window at `?2` (migration 0013).
macro_rules! not_idle {
    () => {
        "(s.idle_seconds = 0 OR coalesce(s.last_seen_at, s.created_at) + s.idle_seconds > ?2)"
    };
}
const SELECT_USER: &str = "SELECT username, password_hash, duo_policy, disabled, duo_username, \
    role, must_change_password, account_version, held_at, (SELECT document FROM policies WHERE id = 1) AS policies, coalesce((SELECT value = 'off' FROM settings WHERE name = 'enforce_duo'), 0) AS duo_off \
    FROM users WHERE username_normalized = ?1";

const HIT: &str = "INSERT INTO login_attempts (limit_key, window_start, count, updated_at) \
    VALUES (?1, ?2, 1, ?3) ON CONFLICT (limit_key, window_start) \
    DO UPDATE SET count = count + 1, updated_at = excluded.updated_at RETURNING count";

const RECORD: &str = "INSERT INTO auth_events \
    (at, username, step, outcome, reason, duo_txid, client_ip, repeats, policy, country, factor) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

fn record_values(event: &AuditEvent) -> Vec<JsValue> {
    vec![
        number(event.at),
        text(&event.username),
        text(event.step.as_str()),
        text(event.outcome.as_str()),
        text(event.reason),
        text_or_null(event.duo_txid.as_deref()),
        text_or_null(event.client_ip.as_deref()),
        number(u64::from(event.repeats)),
        text_or_null(event.policy.as_deref()),
        text_or_null(event.country.as_deref()),
        text_or_null(event.factor.as_deref()),
    ]
}

fn no_count() -> StoreError {
    StoreError("no count returned".to_owned())
}

/// The first row of one statement's result in a batch, if any.
fn first_row<T: for<'de> Deserialize<'de>>(
    result: &worker::D1Result,
) -> Result<Option<T>, StoreError> {
    Ok(result.results::<T>().map_err(failed)?.into_iter().next())
}

impl D1Store {
    /// Runs `N` statements in one round trip, as one transaction.
    async fn batch<const N: usize>(
        &self,
        statements: [(&str, Vec<JsValue>); N],
    ) -> Result<[worker::D1Result; N], StoreError> {
        let results = self.batch_all(&statements).await?;
        let got = results.len();
        results.try_into().map_err(|_| StoreError(format!("{got} results for {N} statements")))
    }

    /// Runs `statements` in one round trip, as one transaction.
    async fn batch_all(
        &self,
        statements: &[(&str, Vec<JsValue>)],
    ) -> Result<Vec<worker::D1Result>, StoreError> {
        let prepared = statements
            .iter()
            .map(|(sql, values)| self.0.prepare(*sql).bind(values))
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        self.0.batch(prepared).await.map_err(failed)
    }

    async fn first<T: for<'de> Deserialize<'de>>(
        &self,
        sql: &str,
        values: &[JsValue],
    ) -> Result<Option<T>, StoreError> {
        self.0.prepare(sql).bind(values).map_err(failed)?.first::<T>(None).await.map_err(failed)
    }

    async fn run(&self, sql: &str, values: &[JsValue]) -> Result<(), StoreError> {
        self.0.prepare(sql).bind(values).map_err(failed)?.run().await.map_err(failed)?;
        Ok(())
    }
}

impl SessionStore for D1Store {
    async fn create_session(
        &self,
        session: &NewSession,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        // The session only while its user is enabled and at the version the
        // step read; the audit record and the passcode count follow it (the
        // id is new, so it names this session or nothing).
        let id = text(session.id_hash.as_str());
        let mut recorded = record_values(event);
        recorded.push(id.clone());
        let [created, _, _] = self
            .batch([
                (
                    "INSERT INTO sessions (id_hash, username, method, duo_context, created_at, \
                     expires_at, client_ip, last_seen_at, idle_seconds, user_agent, country) \
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?5, ?9, ?10, ?11 WHERE EXISTS (SELECT 1 FROM users \
                     WHERE username_normalized = lower(trim(?2)) AND disabled = 0 \
                     AND account_version = ?8) RETURNING id_hash",
                    vec![
                        id.clone(),
                        text(&session.username),
                        text(session.method),
                        text_or_null(session.duo_context.as_deref()),
                        number(session.created_at),
                        number(session.expires_at),
                        text_or_null(session.client_ip.as_deref()),
                        number(session.account_version),
                        number(u64::from(session.idle_seconds)),
                        text_or_null(session.user_agent.as_deref()),
                        text_or_null(session.country.as_deref()),
                    ],
                ),
                (RECORD_IF_SESSION, recorded),
                (
                    "DELETE FROM login_attempts WHERE ?2 = 'duo' \
                     AND limit_key = 'pa:' || lower(trim(?3)) \
                     AND EXISTS (SELECT 1 FROM sessions WHERE id_hash = ?1)",
                    vec![id, text(session.method), text(&session.username)],
                ),
            ])
            .await?;
        let created = first_row::<serde_json::Value>(&created)?.is_some();
        if created {
            self.raise_auth(event).await;
        }
        Ok(created)
    }

    async fn live_session(
        &self,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let id_hash = id_hash.as_str();
        // Sessions hold the name as registered: the user is found by the
        // users table's own normalization, `lower(trim())`.
        self.first(
            concat!(
                "SELECT s.username, s.method, s.duo_context, s.created_at, s.expires_at, \
                 coalesce(u.disabled = 0, 0) AS user_active, coalesce(u.role, 'user') AS role, \
                 coalesce(u.must_change_password, 0) AS must_change_password, \
                 coalesce(s.last_seen_at, s.created_at) AS last_seen_at, s.idle_seconds \
                 FROM sessions s LEFT JOIN users u \
                 ON u.username_normalized = lower(trim(s.username)) \
                 WHERE s.id_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2 AND ",
                not_idle!()
            ),
            &[text(id_hash), number(now)],
        )
        .await
    }

    async fn revoke_session(
        &self,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<Option<String>, StoreError> {
        let id_hash = id_hash.as_str();
        let row: Option<Username> = self
            .first(
                "UPDATE sessions SET revoked_at = ?2 WHERE id_hash = ?1 AND revoked_at IS NULL \
                 RETURNING username",
                &[text(id_hash), number(now)],
            )
            .await?;
        Ok(row.map(|row| row.username))
    }

    async fn revoke_user_sessions(&self, normalized: &UserKey, now: u64) -> Result<(), StoreError> {
        let normalized = normalized.as_str();
        // `lower(trim())` is the users table's own normalization (ASCII names).
        self.batch([
            (
                "UPDATE sessions SET revoked_at = ?2 \
                 WHERE revoked_at IS NULL AND lower(trim(username)) = ?1",
                vec![text(normalized), number(now)],
            ),
            (FORGET_USER_BROWSERS_IF, vec![text(normalized), number(now)]),
            (BUMP_ACCOUNT_VERSION, vec![text(normalized)]),
        ])
        .await?;
        Ok(())
    }

    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.run(RECORD, &record_values(event)).await?;
        self.raise_auth(event).await;
        Ok(())
    }

    async fn touch_session(&self, id_hash: &IdHash, now: u64) -> Result<(), StoreError> {
        self.run(
            "UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1 AND revoked_at IS NULL",
            &[text(id_hash.as_str()), number(now)],
        )
        .await
    }

    async fn list_own(
        &self,
        normalized: &UserKey,
        now: u64,
    ) -> Result<(Vec<OwnSessionRecord>, Vec<RememberedBrowser>), StoreError> {
        let values = vec![text(normalized.as_str()), number(now)];
        let [sessions, browsers] =
            self.batch([(OWN_SESSIONS, values.clone()), (OWN_BROWSERS, values)]).await?;
        Ok((
            sessions.results::<OwnSessionRecord>().map_err(failed)?,
            browsers.results::<RememberedBrowser>().map_err(failed)?,
        ))
    }

    async fn end_own(
        &self,
        normalized: &UserKey,
        item: OwnItem,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<bool, StoreError> {
        let statement = match item {
            OwnItem::Session => END_OWN_SESSION,
            OwnItem::Browser => END_OWN_BROWSER,
        };
        let values = [text(normalized.as_str()), number(now), text(id_hash.as_str())];
        let ended: Option<serde_json::Value> = self.first(statement, &values).await?;
        Ok(ended.is_some())
    }
}

impl SignInStore for D1Store {
    async fn user(&self, normalized: &UserKey) -> Result<Option<UserRecord>, StoreError> {
        let normalized = normalized.as_str();
        self.first(SELECT_USER, &[text(normalized)]).await
    }

    async fn hit(&self, key: &LimitKey, window_start: u64, now: u64) -> Result<u32, StoreError> {
        let values = [text(&key.storage_key()), number(window_start), number(now)];
        let row: Option<Count> = self.first(HIT, &values).await?;
        row.map(|row| row.count).ok_or_else(no_count)
    }

    async fn forgive(&self, key: &LimitKey, window_start: u64) -> Result<(), StoreError> {
        self.run(
            "UPDATE login_attempts SET count = count - 1 \
             WHERE limit_key = ?1 AND window_start = ?2 AND count > 0",
            &[text(&key.storage_key()), number(window_start)],
        )
        .await
    }

    async fn user_and_hit(
        &self,
        normalized: &UserKey,
        key: &LimitKey,
        window_start: u64,
        now: u64,
    ) -> Result<(Option<UserRecord>, u32), StoreError> {
        let normalized = normalized.as_str();
        let [user, count] = self
            .batch([
                (SELECT_USER, vec![text(normalized)]),
                (HIT, vec![text(&key.storage_key()), number(window_start), number(now)]),
            ])
            .await?;
        let user = first_row::<UserRecord>(&user)?;
        let count = first_row::<Count>(&count)?.ok_or_else(no_count)?;
        Ok((user, count.count))
    }

    async fn user_and_hits(
        &self,
        normalized: &UserKey,
        keys: &[(LimitKey, u64)],
        now: u64,
    ) -> Result<(Option<UserRecord>, Vec<u32>), StoreError> {
        let normalized = normalized.as_str();
        let mut statements = vec![(SELECT_USER, vec![text(normalized)])];
        statements.extend(keys.iter().map(|(key, window_start)| {
            (HIT, vec![text(&key.storage_key()), number(*window_start), number(now)])
        }));
        let results = self.batch_all(&statements).await?;
        let (user, hits) = results.split_first().ok_or_else(no_count)?;
        let counts = hits
            .iter()
            .map(|hit| first_row::<Count>(hit)?.map(|row| row.count).ok_or_else(no_count))
            .collect::<Result<Vec<_>, _>>()?;
        if counts.len() != keys.len() {
            return Err(no_count());
        }
        Ok((first_row::<UserRecord>(user)?, counts))
    }

    async fn spend_once_and_user(
        &self,
        once: SingleUse<'_>,
        normalized: &UserKey,
        now: u64,
    ) -> Result<(bool, Option<UserRecord>), StoreError> {
        let normalized = normalized.as_str();
        let [spent, user] = self
            .batch([
                (
                    "INSERT INTO spent_states (state_hash, spent_at) VALUES (?1, ?2) \
                     ON CONFLICT (state_hash) DO NOTHING RETURNING state_hash",
                    vec![text(&once.storage_key()), number(now)],
                ),
                (SELECT_USER, vec![text(normalized)]),
            ])
            .await?;
        let first_use = first_row::<serde_json::Value>(&spent)?.is_some();
        Ok((first_use, first_row::<UserRecord>(&user)?))
    }

    async fn remember_browser(&self, browser: &RememberedBrowser) -> Result<bool, StoreError> {
        let stored: Option<Username> = self
            .first(
                "INSERT INTO remembered_browsers (id_hash, username, created_at, expires_at, \
             user_agent, client_ip) SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE coalesce((SELECT \
             json_extract(document, '$.remember_days') FROM policies WHERE id = 1), 0) > 0 \
             RETURNING username",
                &[
                    text(browser.id_hash.as_str()),
                    text(&browser.username),
                    number(browser.created_at),
                    number(browser.expires_at),
                    text_or_null(browser.user_agent.as_deref()),
                    text_or_null(browser.client_ip.as_deref()),
                ],
            )
            .await?;
        Ok(stored.is_some())
    }

    async fn use_remembered(
        &self,
        id_hash: &IdHash,
        normalized: &UserKey,
        now: u64,
        max_age: u64,
    ) -> Result<bool, StoreError> {
        let id_hash = id_hash.as_str();
        let normalized = normalized.as_str();
        let used: Option<Username> = self
            .first(
                "UPDATE remembered_browsers SET last_used_at = ?3 WHERE id_hash = ?1 \
                 AND username = ?2 AND revoked_at IS NULL AND expires_at > ?3 \
                 AND created_at + ?4 > ?3 RETURNING username",
                &[text(id_hash), text(normalized), number(now), number(max_age)],
            )
            .await?;
        Ok(used.is_some())
    }

    async fn forget_browser(
        &self,
        id_hash: &IdHash,
        now: u64,
    ) -> Result<Option<String>, StoreError> {
        let id_hash = id_hash.as_str();
        let forgotten: Option<Username> = self
            .first(
                "UPDATE remembered_browsers SET revoked_at = ?2 WHERE id_hash = ?1 \
                 AND revoked_at IS NULL RETURNING username",
                &[text(id_hash), number(now)],
            )
            .await?;
        Ok(forgotten.map(|row| row.username))
    }

    async fn hold_for_fraud(&self, normalized: &UserKey, now: u64) -> Result<bool, StoreError> {
        let user = text(normalized.as_str());
        let [held, _, _] = self
            .batch([
                (HOLD_FOR_FRAUD, vec![user.clone(), number(now)]),
                (REVOKE_USER_SESSIONS_IF, vec![user.clone(), number(now)]),
                (FORGET_USER_BROWSERS_IF, vec![user, number(now)]),
            ])
            .await?;
        Ok(first_row::<Username>(&held)?.is_some())
    }
}

impl ConsoleStore for D1Store {
    async fn list_users(
        &self,
        query: &UserQuery,
        offset: u32,
        limit: u32,
    ) -> Result<UserPage, StoreError> {
        // One set of values for both statements (the count reads no page).
        let values = vec![
            text(&query.whose.text),
            number(u64::from(limit)),
            number(u64::from(offset)),
            text(query.role),
            text(query.state),
            number(u64::from(query.by_last_sign_in)),
            number(query.whose.exact_flag()),
        ];
        let [rows, count] =
            self.batch([(LIST_USERS, values.clone()), (COUNT_USERS, values)]).await?;
        let counts = first_row::<UserCounts>(&count)?.ok_or_else(no_count)?;
        let rows = rows.results::<AdminUserRecord>().map_err(failed)?;
        Ok(UserPage { rows, total: counts.count, held: counts.held })
    }

    async fn list_sessions(
        &self,
        query: &SessionQuery,
        now: u64,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<AdminSessionRecord>, u32), StoreError> {
        // One set of values for both statements (the count reads no page).
        let values = vec![
            text(&query.whose.text),
            number(now),
            number(query.whose.exact_flag()),
            number(u64::from(limit)),
            number(u64::from(offset)),
            text(query.method),
            number(u64::from(query.by_last_active)),
        ];
        let [rows, count] =
            self.batch([(LIST_SESSIONS, values.clone()), (COUNT_SESSIONS, values)]).await?;
        let total = first_row::<Count>(&count)?.ok_or_else(no_count)?.count;
        Ok((rows.results::<AdminSessionRecord>().map_err(failed)?, total))
    }

    async fn overview(&self, from: u64, now: u64) -> Result<OverviewRecord, StoreError> {
        let range = || vec![number(from), number(now)];
        let [hours, methods, factors, refusals, addresses, countries, live] = self
            .batch([
                (OVERVIEW_HOURS_SQL, range()),
                (OVERVIEW_METHODS, range()),
                (OVERVIEW_FACTORS, range()),
                (OVERVIEW_REFUSALS, range()),
                (OVERVIEW_ADDRESSES, range()),
                (OVERVIEW_COUNTRIES, range()),
                (OVERVIEW_LIVE, range()),
            ])
            .await?;
        let hours = hours
            .results::<HourRow>()
            .map_err(failed)?
            .into_iter()
            .map(|row| {
                let counts = HourCounts {
                    signed_in: row.signed_in,
                    refused: row.refused,
                    rate_limited: row.rate_limited,
                    errors: row.errors,
                };
                (row.hour, counts)
            })
            .collect();
        let live = first_row::<LiveCounts>(&live)?.ok_or_else(no_count)?;
        Ok(OverviewRecord {
            hours,
            methods: methods.results().map_err(failed)?,
            factors: factors.results().map_err(failed)?,
            refusals: refusals.results().map_err(failed)?,
            refused_addresses: addresses.results().map_err(failed)?,
            refused_countries: countries.results().map_err(failed)?,
            live_sessions: live.count,
            live_fail_open: live.fail_open,
        })
    }

    async fn list_audit(
        &self,
        query: &AuditQuery,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<AuditRow>, u32), StoreError> {
        let (list, count) = match query.log {
            AuditLog::SignIns => (LIST_SIGN_INS, COUNT_SIGN_INS),
            AuditLog::Admin => (LIST_ADMIN_EVENTS, COUNT_ADMIN_EVENTS),
        };
        // JS numbers: times outside ±2^53 are no times anyway.
        #[allow(clippy::cast_precision_loss, reason = "bounds of a search")]
        let (from, to) = (
            JsValue::from_f64(query.from.unwrap_or(0) as f64),
            JsValue::from_f64(query.to.map_or(f64::MAX, |to| to as f64)),
        );
        let filter = vec![text(&query.user), text(&query.outcome), from, to];
        let mut paged = filter.clone();
        paged.extend([
            number(u64::from(limit)),
            number(u64::from(offset)),
            number(u64::from(query.oldest_first)),
        ]);
        let [rows, count] = self.batch([(list, paged), (count, filter)]).await?;
        let total = first_row::<Count>(&count)?.ok_or_else(no_count)?.count;
        Ok((rows.results::<AuditRow>().map_err(failed)?, total))
    }

    async fn record_admin(&self, event: &AdminEvent) -> Result<(), StoreError> {
        self.run(INSERT_ADMIN_EVENT, &admin_event_values(event)).await?;
        self.raise_admin(event).await;
        Ok(())
    }

    async fn enforce_setting(&self) -> Result<Option<EnforceSetting>, StoreError> {
        self.first(
            "SELECT value, updated_at, updated_by FROM settings WHERE name = 'enforce_duo'",
            &[],
        )
        .await
    }

    async fn set_enforce(&self, on: bool, event: &AdminEvent) -> Result<(), StoreError> {
        let value = text(if on { "on" } else { "off" });
        self.batch([
            (
                "INSERT INTO settings (name, value, updated_at, updated_by) \
                 VALUES ('enforce_duo', ?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET \
                 value = excluded.value, updated_at = excluded.updated_at, \
                 updated_by = excluded.updated_by",
                vec![value, number(event.at), text(&event.actor)],
            ),
            (INSERT_ADMIN_EVENT, admin_event_values(event)),
        ])
        .await?;
        self.raise_admin(event).await;
        Ok(())
    }

    async fn revoke_session_as_admin(
        &self,
        id_hash: &IdHash,
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        let id_hash = id_hash.as_str();
        // The event first, while the session is still live: one
        // transaction, so both statements see the same session (after the
        // update, another admin's revocation in the same second would look
        // like this one).
        let [_, revoked] = self
            .batch([
                (
                    "INSERT INTO admin_events (at, actor, action, target, detail, client_ip) \
                     SELECT ?1, ?2, ?3, lower(trim(username)), json_set(coalesce(?5, '{}'), \
                       '$.method', method, '$.browser', user_agent, '$.started', created_at), ?6 \
                     FROM sessions WHERE id_hash = ?7 AND revoked_at IS NULL AND expires_at > ?1",
                    admin_event_values(event).into_iter().chain([text(id_hash)]).collect(),
                ),
                (
                    "UPDATE sessions SET revoked_at = ?2 WHERE id_hash = ?1 AND revoked_at IS NULL \
                     AND expires_at > ?2 RETURNING username",
                    vec![text(id_hash), number(event.at)],
                ),
            ])
            .await?;
        Ok(first_row::<Username>(&revoked)?.is_some())
    }

    async fn change_user(
        &self,
        normalized: &UserKey,
        update: &UserUpdate,
        event: &AdminEvent,
    ) -> Result<ChangeOutcome, StoreError> {
        let normalized = normalized.as_str();
        let user = text(normalized);
        let now = number(event.at);
        let first = match update {
            UserUpdate::Policy(value) => (SET_POLICY, vec![user.clone(), text(value), now.clone()]),
            UserUpdate::Role(value) => (SET_ROLE, vec![user.clone(), text(value), now.clone()]),
            UserUpdate::Disabled(value) => {
                (SET_DISABLED, vec![user.clone(), number(u64::from(*value)), now.clone()])
            }
            UserUpdate::DuoUsername(value) => {
                (SET_DUO_USERNAME, vec![user.clone(), text_or_null(value.as_deref()), now.clone()])
            }
            UserUpdate::RevokeSessions => (BUMP_ACCOUNT_VERSION, vec![user.clone()]),
            UserUpdate::Password(phc) => (SET_PASSWORD, vec![user.clone(), text(phc), now.clone()]),
            UserUpdate::Release => (RELEASE_HOLD, vec![user.clone(), now.clone()]),
        };
        // Revoking is a no-op unless the update asks for it.
        let revoke_until = if update.revokes_sessions() { now.clone() } else { number(0) };
        let mut recorded = admin_event_values(event);
        recorded.push(user.clone());
        let result = self
            .batch([
                first,
                (REVOKE_USER_SESSIONS_IF, vec![user.clone(), revoke_until.clone()]),
                (FORGET_USER_BROWSERS_IF, vec![user, revoke_until]),
                (RECORD_ADMIN_EVENT, recorded),
            ])
            .await;
        match result {
            Ok([changed, _, _, _]) => Ok(if first_row::<Username>(&changed)?.is_some() {
                self.raise_admin(event).await;
                ChangeOutcome::Changed
            } else {
                ChangeOutcome::NoSuchUser
            }),
            Err(StoreError(message)) if message.contains("last enabled admin") => {
                Ok(ChangeOutcome::LastAdmin)
            }
            Err(StoreError(message)) if message.contains("Duo username") => {
                Ok(ChangeOutcome::DuoIdentityTaken)
            }
            Err(error) => Err(error),
        }
    }

    async fn change_own_password(
        &self,
        normalized: &UserKey,
        old_hash: &str,
        new_hash: &str,
        keep_session: &IdHash,
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        let normalized = normalized.as_str();
        let keep_session = keep_session.as_str();
        let (user, new) = (text(normalized), text(new_hash));
        // The second and third statements act only if the first changed
        // the hash: the new hash is the stored one (its salt is new).
        let mut recorded = admin_event_values(event);
        recorded.extend([user.clone(), new.clone()]);
        let [changed, _, _, _] = self
            .batch([
                (
                    "UPDATE users SET password_hash = ?3, must_change_password = 0, \
                     updated_at = ?4 WHERE username_normalized = ?1 AND password_hash = ?2 \
                     RETURNING username",
                    vec![user.clone(), text(old_hash), new.clone(), number(event.at)],
                ),
                (
                    "UPDATE sessions SET revoked_at = ?4 WHERE lower(trim(username)) = ?1 \
                     AND revoked_at IS NULL AND id_hash <> ?3 AND EXISTS (SELECT 1 FROM users \
                     WHERE username_normalized = ?1 AND password_hash = ?2)",
                    vec![user.clone(), new.clone(), text(keep_session), number(event.at)],
                ),
                (
                    "UPDATE remembered_browsers SET revoked_at = ?3 WHERE username = ?1 \
                     AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM users \
                     WHERE username_normalized = ?1 AND password_hash = ?2)",
                    vec![user, new, number(event.at)],
                ),
                (RECORD_IF_NEW_HASH, recorded),
            ])
            .await?;
        Ok(first_row::<Username>(&changed)?.is_some())
    }

    async fn list_remembered(
        &self,
        whose: &Whose,
        by_last_used: bool,
        now: u64,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<RememberedBrowser>, u32), StoreError> {
        let filter = vec![text(&whose.text), number(now), number(whose.exact_flag())];
        let mut paged = filter.clone();
        paged.extend([
            number(u64::from(limit)),
            number(u64::from(offset)),
            number(u64::from(by_last_used)),
        ]);
        let [rows, count] = self
            .batch([
                (
                    concat!(
                        "SELECT id_hash, username, created_at, expires_at, last_used_at, \
                         user_agent, client_ip FROM remembered_browsers WHERE revoked_at IS NULL \
                         AND expires_at > ?2 AND ",
                        whose!(),
                        " ORDER BY CASE WHEN ?6 = 1 THEN last_used_at END DESC, created_at DESC \
                         LIMIT ?4 OFFSET ?5"
                    ),
                    paged,
                ),
                (
                    concat!(
                        "SELECT count(*) AS count FROM remembered_browsers \
                         WHERE revoked_at IS NULL AND expires_at > ?2 AND ",
                        whose!()
                    ),
                    filter,
                ),
            ])
            .await?;
        let total = first_row::<Count>(&count)?.map_or(0, |c| c.count);
        Ok((rows.results().map_err(failed)?, total))
    }

    async fn forget_browser_as_admin(
        &self,
        id_hash: &IdHash,
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        let id_hash = id_hash.as_str();
        // The event first, while the browser is still remembered (one
        // transaction: both statements see the same row).
        let [_, forgotten] = self
            .batch([
                (
                    "INSERT INTO admin_events (at, actor, action, target, detail, client_ip) \
                     SELECT ?1, ?2, ?3, username, ?5, ?6 FROM remembered_browsers \
                     WHERE id_hash = ?7 AND revoked_at IS NULL AND expires_at > ?1",
                    admin_event_values(event).into_iter().chain([text(id_hash)]).collect(),
                ),
                (
                    "UPDATE remembered_browsers SET revoked_at = ?2 WHERE id_hash = ?1 \
                     AND revoked_at IS NULL AND expires_at > ?2 RETURNING username",
                    vec![text(id_hash), number(event.at)],
                ),
            ])
            .await?;
        Ok(first_row::<Username>(&forgotten)?.is_some())
    }

    async fn policies(&self) -> Result<StoredPolicies, StoreError> {
        self.first(
            "SELECT version, document, updated_at, updated_by FROM policies WHERE id = 1",
            &[],
        )
        .await?
        .ok_or_else(|| StoreError("no policies row: apply migration 0009".to_owned()))
    }

    async fn save_policies(
        &self,
        expected_version: u32,
        document: &str,
        forget_browsers: bool,
        event: &AdminEvent,
    ) -> Result<bool, StoreError> {
        // The event (and the browsers forgotten) first, on the version the
        // save expects: one transaction, so they are written exactly when
        // the update is.
        let [_, _, saved] = self
            .batch([
                (
                    "UPDATE remembered_browsers SET revoked_at = ?1 WHERE ?2 = 1 \
                     AND revoked_at IS NULL \
                     AND EXISTS (SELECT 1 FROM policies WHERE id = 1 AND version = ?3)",
                    vec![
                        number(event.at),
                        number(u64::from(forget_browsers)),
                        number(u64::from(expected_version)),
                    ],
                ),
                (
                    "INSERT INTO admin_events (at, actor, action, target, detail, client_ip) \
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6 FROM policies WHERE id = 1 AND version = ?7",
                    admin_event_values(event)
                        .into_iter()
                        .chain([number(u64::from(expected_version))])
                        .collect(),
                ),
                (
                    "UPDATE policies SET version = version + 1, document = ?2, updated_at = ?3, \
                     updated_by = ?4 WHERE id = 1 AND version = ?1 RETURNING version AS count",
                    vec![
                        number(u64::from(expected_version)),
                        text(document),
                        number(event.at),
                        text(&event.actor),
                    ],
                ),
            ])
            .await?;
        let saved = first_row::<Count>(&saved)?.is_some();
        if saved {
            self.raise_admin(event).await;
        }
        Ok(saved)
    }

    async fn enabled_admins(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .0
            .prepare(
                "SELECT username FROM users WHERE role = 'admin' AND disabled = 0 \
                 ORDER BY username_normalized",
            )
            .all()
            .await
            .map_err(failed)?;
        Ok(rows.results::<Username>().map_err(failed)?.into_iter().map(|r| r.username).collect())
    }

    async fn add_user(&self, user: &NewUser, event: &AdminEvent) -> Result<AddOutcome, StoreError> {
        let values = vec![
            text(&user.username),
            text(user.normalized.as_str()),
            text(&user.password_hash),
            text(user.duo_policy),
            text_or_null(user.duo_username.as_deref()),
            text(user.role),
            number(event.at),
            number(u64::from(user.must_change_password)),
        ];
        let mut recorded = admin_event_values(event);
        recorded.extend([text(user.normalized.as_str()), text(&user.password_hash)]);
        let result = self.batch([(INSERT_USER, values), (RECORD_IF_NEW_HASH, recorded)]).await;
        match result {
            Ok([inserted, _]) => Ok(if first_row::<Username>(&inserted)?.is_some() {
                self.raise_admin(event).await;
                AddOutcome::Added
            } else {
                AddOutcome::Exists
            }),
            // The trigger of migration 0003 names the Duo identity in words;
            // its unique index is the guarantee.
            Err(StoreError(message))
                if message.contains("Duo username") || message.contains("users_duo_identity") =>
            {
                Ok(AddOutcome::DuoIdentityTaken)
            }
            Err(error) => Err(error),
        }
    }

    async fn duo_mapping(
        &self,
        normalized: &UserKey,
        identity: &str,
    ) -> Result<DuoMapping, StoreError> {
        #[derive(Deserialize)]
        struct At {
            at: Option<u64>,
        }
        #[derive(Deserialize)]
        struct Failure {
            at: u64,
            reason: String,
        }
        let (user, identity) = (text(normalized.as_str()), text(identity));
        let [taken, success, failure] = self
            .batch([
                (
                    "SELECT username FROM users WHERE username_normalized <> ?1 \
                     AND lower(trim(coalesce(duo_username, username))) = ?2",
                    vec![user.clone(), identity],
                ),
                (
                    "SELECT max(at) AS at FROM auth_events WHERE username = ?1 \
                     AND step = 'duo_callback' AND outcome = 'success'",
                    vec![user.clone()],
                ),
                (
                    "SELECT at, reason FROM auth_events WHERE username = ?1 \
                     AND step IN ('duo_start', 'duo_callback') AND outcome IN ('failure', 'error') \
                     ORDER BY at DESC, id DESC LIMIT 1",
                    vec![user],
                ),
            ])
            .await?;
        Ok(DuoMapping {
            taken_by: first_row::<Username>(&taken)?.map(|row| row.username),
            last_success: first_row::<At>(&success)?.and_then(|row| row.at),
            last_failure: first_row::<Failure>(&failure)?.map(|row| (row.at, row.reason)),
        })
    }
}

impl MaintenanceStore for D1Store {
    async fn prune(&self, plan: &PrunePlan) -> Result<Pruned, StoreError> {
        let limits = plan.limits;
        let statement = |sql: &str, values: &[JsValue]| self.0.prepare(sql).bind(values);
        // One batch: D1 runs it as one transaction.
        let batch = vec![
            statement(
                SUMMARIZE_COUNTERS,
                &[
                    number(plan.now),
                    number(plan.windows_before),
                    number(u64::from(limits.user_client)),
                    number(u64::from(limits.client)),
                    number(u64::from(limits.user)),
                    number(u64::from(limits.duo_start)),
                ],
            ),
            statement(
                "DELETE FROM login_attempts WHERE CASE substr(limit_key, 1, 3) \
                 WHEN 'pa:' THEN substr(limit_key, 4) NOT IN (SELECT username_normalized FROM users) \
                 WHEN 'pc:' THEN window_start < ?2 ELSE window_start < ?1 END",
                &[number(plan.windows_before), number(plan.passcode_windows_before)],
            ),
            statement(
                "DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1",
                &[number(plan.sessions_before)],
            ),
            statement(
                "DELETE FROM spent_states WHERE spent_at < ?1",
                &[number(plan.states_before)],
            ),
            statement("DELETE FROM auth_events WHERE at < ?1", &[number(plan.audit_before)]),
            statement("DELETE FROM admin_events WHERE at < ?1", &[number(plan.audit_before)]),
            statement(
                "DELETE FROM remembered_browsers WHERE expires_at < ?1 OR revoked_at < ?1",
                &[number(plan.sessions_before)],
            ),
        ]
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed)?;
        let results = self.0.batch(batch).await.map_err(failed)?;
        let changes: Vec<u64> = results
            .iter()
            .map(|result| {
                let meta = result.meta().ok().flatten();
                meta.and_then(|meta| meta.changes).map_or(0, |n| n as u64)
            })
            .collect();
        let [summaries, counters, sessions, states, audit_events, admin_events, browsers] =
            changes[..]
        else {
            return Err(StoreError(format!("{} results for 7 statements", changes.len())));
        };
        Ok(Pruned { sessions, states, counters, summaries, audit_events, admin_events, browsers })
    }
}

/// Users for the admin console: `?1` a lower-case search ('' for all),
/// `?2` the page size, `?3` the offset. The last login is the newest
/// session (sessions hold the name as registered: indexed equality).
/// The users a [`UserQuery`] asks for: `?1` the text, `?7` 1 for exactly
/// that name, `?4` a role, `?5` a state ('' for any).
macro_rules! users_asked {
    () => {
        "(?1 = '' OR (?7 = 1 AND u.username_normalized = ?1) OR (?7 = 0 AND \
         (instr(u.username_normalized, ?1) > 0 \
          OR instr(lower(coalesce(u.duo_username, '')), ?1) > 0))) \
         AND (?4 = '' OR u.role = ?4) \
         AND (?5 = '' OR (?5 = 'enabled' AND u.disabled = 0) \
          OR (?5 = 'disabled' AND u.disabled = 1) OR (?5 = 'held' AND u.held_at IS NOT NULL))"
    };
}
/// `?6` 1: the most recent sign-in first (never signed in last).
const LIST_USERS: &str = concat!(
    "SELECT u.username, u.role, u.duo_policy, u.duo_username, u.disabled, \
     u.created_at, u.held_at, \
     (SELECT max(s.created_at) FROM sessions s WHERE s.username = u.username) AS last_login_at, \
     (SELECT s.method FROM sessions s WHERE s.username = u.username \
        ORDER BY s.created_at DESC LIMIT 1) AS last_login_method \
     FROM users u WHERE ",
    users_asked!(),
    " ORDER BY CASE WHEN ?6 = 1 THEN last_login_at END DESC, u.username_normalized \
     LIMIT ?2 OFFSET ?3"
);
const COUNT_USERS: &str = concat!(
    "SELECT count(*) AS count, \
     (SELECT count(*) FROM users WHERE held_at IS NOT NULL) AS held FROM users u \
     WHERE ?2 >= 0 AND ?3 >= 0 AND ?6 >= 0 AND ",
    users_asked!()
);
/// A sign-in reported as fraud: the account on hold (when it was not) and
/// its version bumped.
const HOLD_FOR_FRAUD: &str = "UPDATE users SET held_at = ?2, \
    account_version = account_version + 1 WHERE username_normalized = ?1 AND held_at IS NULL \
    RETURNING username";
const RELEASE_HOLD: &str = "UPDATE users SET held_at = NULL, updated_at = ?2 \
    WHERE username_normalized = ?1 RETURNING username";
/// A page of `auth_events`: `?1` a normalized username ('' for any), `?2`
/// an outcome ('' for any), `?3`..`?4` the times (both included), `?5` the
/// page size, `?6` the offset.
/// The overview's statements (`?1` the first hour's start, `?2` now): the
/// sign-in log by hour and outcome, sessions made by method and factor,
/// refusals (with their repeats) by reason, address and country, and the
/// live sessions. Each reads the range through `auth_events_by_time`.
macro_rules! signed_in_reasons {
    () => {
        "('bypass', 'fail_open', 'duo_allow', 'duo_bypass', 'duo_not_enforced', \
         'policy_bypass', 'remembered_browser')"
    };
}
const OVERVIEW_HOURS_SQL: &str = concat!(
    "SELECT (at - CAST(?1 AS INTEGER)) / 3600 AS hour, \
     sum(outcome = 'success' AND reason IN ",
    signed_in_reasons!(),
    ") AS signed_in, sum(outcome = 'failure') AS refused, \
     sum(CASE WHEN outcome = 'rate_limited' THEN 1 + repeats ELSE 0 END) AS rate_limited, \
     sum(outcome = 'error') AS errors \
     FROM auth_events WHERE at BETWEEN ?1 AND ?2 GROUP BY hour"
);
const OVERVIEW_METHODS: &str = concat!(
    "SELECT reason AS key, count(*) AS count FROM auth_events \
     WHERE at BETWEEN ?1 AND ?2 AND outcome = 'success' AND reason IN ",
    signed_in_reasons!(),
    " GROUP BY reason ORDER BY count DESC, key"
);
const OVERVIEW_FACTORS: &str = concat!(
    "SELECT factor AS key, count(*) AS count FROM auth_events \
     WHERE at BETWEEN ?1 AND ?2 AND outcome = 'success' AND factor IS NOT NULL AND reason IN ",
    signed_in_reasons!(),
    " GROUP BY factor ORDER BY count DESC, key"
);
const OVERVIEW_REFUSALS: &str = "SELECT reason AS key, sum(1 + repeats) AS count \
    FROM auth_events WHERE at BETWEEN ?1 AND ?2 AND outcome IN ('failure', 'rate_limited') \
    GROUP BY reason ORDER BY count DESC, key";
const OVERVIEW_ADDRESSES: &str = "SELECT client_ip AS key, sum(1 + repeats) AS count \
    FROM auth_events WHERE at BETWEEN ?1 AND ?2 AND outcome IN ('failure', 'rate_limited') \
    AND client_ip IS NOT NULL AND client_ip != '' \
    GROUP BY client_ip ORDER BY count DESC, key LIMIT 5";
const OVERVIEW_COUNTRIES: &str = "SELECT country AS key, sum(1 + repeats) AS count \
    FROM auth_events WHERE at BETWEEN ?1 AND ?2 AND outcome IN ('failure', 'rate_limited') \
    AND country IS NOT NULL GROUP BY country ORDER BY count DESC, key LIMIT 5";
const OVERVIEW_LIVE: &str = concat!(
    "SELECT count(*) AS count, coalesce(sum(method = 'fail_open'), 0) AS fail_open \
     FROM sessions s WHERE ?1 >= 0 AND revoked_at IS NULL AND expires_at > ?2 AND ",
    not_idle!()
);

/// A row of [`OVERVIEW_HOURS_SQL`].
#[derive(serde::Deserialize)]
struct HourRow {
    hour: u32,
    signed_in: u32,
    refused: u32,
    rate_limited: u32,
    errors: u32,
}

/// The row of [`OVERVIEW_LIVE`].
#[derive(serde::Deserialize)]
struct LiveCounts {
    count: u32,
    fail_open: u32,
}

const LIST_SIGN_INS: &str = "SELECT at, username AS \"user\", step AS event, outcome, reason, \
    NULL AS target, duo_txid, client_ip, repeats, policy, country, factor FROM auth_events \
    WHERE (?1 = '' OR username = ?1) AND (?2 = '' OR outcome = ?2) AND at BETWEEN ?3 AND ?4 \
    ORDER BY CASE WHEN ?7 = 1 THEN at END, CASE WHEN ?7 = 1 THEN id END, at DESC, id DESC \
    LIMIT ?5 OFFSET ?6";
const COUNT_SIGN_INS: &str = "SELECT count(*) AS count FROM auth_events \
    WHERE (?1 = '' OR username = ?1) AND (?2 = '' OR outcome = ?2) AND at BETWEEN ?3 AND ?4";
/// A page of `admin_events`, as [`LIST_SIGN_INS`]: the user is the admin
/// or the user acted on; every recorded action succeeded.
const LIST_ADMIN_EVENTS: &str = "SELECT at, actor AS \"user\", action AS event, \
    'success' AS outcome, coalesce(detail, '') AS reason, target, NULL AS duo_txid, client_ip, \
    0 AS repeats FROM admin_events \
    WHERE (?1 = '' OR lower(actor) = ?1 OR target = ?1) AND (?2 = '' OR ?2 = 'success') \
      AND at BETWEEN ?3 AND ?4 \
    ORDER BY CASE WHEN ?7 = 1 THEN at END, CASE WHEN ?7 = 1 THEN id END, at DESC, id DESC \
    LIMIT ?5 OFFSET ?6";
const COUNT_ADMIN_EVENTS: &str = "SELECT count(*) AS count FROM admin_events \
    WHERE (?1 = '' OR lower(actor) = ?1 OR target = ?1) AND (?2 = '' OR ?2 = 'success') \
      AND at BETWEEN ?3 AND ?4";
/// Live sessions for the admin console: `?1` a lower-case search, `?2` now.
const LIST_SESSIONS: &str = concat!(
    "SELECT id_hash, username, method, duo_context, client_ip, user_agent, country, created_at, \
     expires_at, coalesce(last_seen_at, created_at) AS last_seen_at \
     FROM sessions s WHERE revoked_at IS NULL AND expires_at > ?2 AND (?6 = '' OR method = ?6) AND ",
    whose!(),
    " AND ",
    not_idle!(),
    " ORDER BY CASE WHEN ?7 = 1 THEN coalesce(last_seen_at, created_at) END DESC, created_at DESC, \
     id_hash LIMIT ?4 OFFSET ?5"
);
const COUNT_SESSIONS: &str = concat!(
    "SELECT count(*) AS count FROM sessions s WHERE revoked_at IS NULL AND expires_at > ?2 \
     AND ?4 >= 0 AND ?5 >= 0 AND ?7 >= 0 AND (?6 = '' OR method = ?6) AND ",
    whose!(),
    " AND ",
    not_idle!()
);
/// A user's own live sessions (`?1` normalized, `?2` now), newest first.
const OWN_SESSIONS: &str = concat!(
    "SELECT id_hash, method, client_ip, created_at, \
     coalesce(last_seen_at, created_at) AS last_seen_at, expires_at FROM sessions s \
     WHERE revoked_at IS NULL AND expires_at > ?2 AND lower(trim(username)) = ?1 AND ",
    not_idle!(),
    " ORDER BY created_at DESC LIMIT 100"
);
/// A user's own trusted browsers (`?1` normalized, `?2` now), newest first.
const OWN_BROWSERS: &str = "SELECT id_hash, username, created_at, expires_at, last_used_at, \
    user_agent, client_ip FROM remembered_browsers \
    WHERE revoked_at IS NULL AND expires_at > ?2 AND username = ?1 \
    ORDER BY created_at DESC LIMIT 100";
/// Ends one of the user's own live sessions (`?1` normalized, `?2` now, `?3` its hash).
const END_OWN_SESSION: &str = concat!(
    "UPDATE sessions AS s SET revoked_at = ?2 WHERE id_hash = ?3 AND revoked_at IS NULL \
     AND expires_at > ?2 AND lower(trim(username)) = ?1 AND ",
    not_idle!(),
    " RETURNING id_hash"
);
/// Ends one of the user's own trusted browsers.
const END_OWN_BROWSER: &str = "UPDATE remembered_browsers SET revoked_at = ?2 \
    WHERE id_hash = ?3 AND revoked_at IS NULL AND username = ?1 RETURNING id_hash";
const SET_POLICY: &str = "UPDATE users SET duo_policy = ?2, updated_at = ?3 \
    WHERE username_normalized = ?1 RETURNING username";
const SET_ROLE: &str = "UPDATE users SET role = ?2, updated_at = ?3 \
    WHERE username_normalized = ?1 RETURNING username";
const SET_DISABLED: &str = "UPDATE users SET disabled = ?2, updated_at = ?3 \
    WHERE username_normalized = ?1 RETURNING username";
const SET_DUO_USERNAME: &str = "UPDATE users SET duo_username = ?2, updated_at = ?3 \
    WHERE username_normalized = ?1 RETURNING username";
const SET_PASSWORD: &str = "UPDATE users SET password_hash = ?2, must_change_password = 1, \
    updated_at = ?3 WHERE username_normalized = ?1 RETURNING username";
/// A user an admin adds, unless the name is taken (no row returned then):
/// `?1` the name as typed, `?2` normalized, `?3` the PHC hash, `?4` the Duo
/// policy, `?5` the Duo username or NULL, `?6` the role, `?7` now, `?8`
/// whether the password must be changed at the first sign-in.
const INSERT_USER: &str = "INSERT INTO users (username, username_normalized, password_hash, \
    duo_policy, duo_username, disabled, role, created_at, updated_at, must_change_password) \
    SELECT ?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?7, ?8 \
    WHERE NOT EXISTS (SELECT 1 FROM users WHERE username_normalized = ?2) RETURNING username";
/// An admin event only when the user `?7` now has the hash `?8` (its salt
/// is new, so no older row has it): [`INSERT_USER`] or a password change
/// stored it.
const RECORD_IF_NEW_HASH: &str = "INSERT INTO admin_events \
    (at, actor, action, target, detail, client_ip) SELECT ?1, ?2, ?3, ?4, ?5, ?6 \
    WHERE EXISTS (SELECT 1 FROM users WHERE username_normalized = ?7 AND password_hash = ?8)";
/// Ends the sign-ins under way for user `?1` (the login tickets of the old
/// version are refused); the user's name when there is one. (Changes of a
/// column bump it by migration 0011's trigger.)
const BUMP_ACCOUNT_VERSION: &str = "UPDATE users SET account_version = account_version + 1 \
    WHERE username_normalized = ?1 RETURNING username";
/// The audit record ([`record_values`]) of a step whose session `?12` was
/// stored.
const RECORD_IF_SESSION: &str = "INSERT INTO auth_events \
    (at, username, step, outcome, reason, duo_txid, client_ip, repeats, policy, country, factor) \
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 \
    WHERE EXISTS (SELECT 1 FROM sessions WHERE id_hash = ?12)";
/// Forgets the user's live remembered browsers when `?2` is a time (0:
/// nothing).
const FORGET_USER_BROWSERS_IF: &str = "UPDATE remembered_browsers SET revoked_at = ?2 \
    WHERE ?2 > 0 AND revoked_at IS NULL AND username = ?1";
/// Revokes the user's live sessions when `?2` is a time (0: nothing).
const REVOKE_USER_SESSIONS_IF: &str = "UPDATE sessions SET revoked_at = ?2 \
    WHERE ?2 > 0 AND revoked_at IS NULL AND lower(trim(username)) = ?1";
/// An admin event ([`admin_event_values`]).
const INSERT_ADMIN_EVENT: &str = "INSERT INTO admin_events \
    (at, actor, action, target, detail, client_ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// The admin event, only when the user exists (`?7`).
const RECORD_ADMIN_EVENT: &str = "INSERT INTO admin_events \
    (at, actor, action, target, detail, client_ip) SELECT ?1, ?2, ?3, ?4, ?5, ?6 \
    WHERE EXISTS (SELECT 1 FROM users WHERE username_normalized = ?7)";

/// One audit summary per counter of a pruned window over its limit by more
/// than one (`MaintenanceStore::prune`). Keys are `uc:<user>|<client>`, `c:<client>`,
/// `u:<user>` and `ds:<user>` (`LimitKey::storage_key`); `?3`..`?6` are the
/// limits of each kind. Passcode counters (`pc:`, `pa:`) are left out: each
/// of their refusals was audited on its own.
const SUMMARIZE_COUNTERS: &str = "\
    INSERT INTO auth_events (at, username, step, outcome, reason, client_ip, repeats) \
    SELECT ?1, \
      CASE kind WHEN 'uc' THEN substr(rest, 1, instr(rest, '|') - 1) \
                WHEN 'c' THEN '' ELSE rest END, \
      CASE kind WHEN 'ds' THEN 'duo_start' ELSE 'login' END, \
      'rate_limited', \
      CASE kind WHEN 'uc' THEN 'user_client_limit' WHEN 'c' THEN 'client_limit' \
                WHEN 'u' THEN 'user_limit' ELSE 'duo_start_limit' END, \
      CASE kind WHEN 'uc' THEN substr(rest, instr(rest, '|') + 1) \
                WHEN 'c' THEN rest ELSE NULL END, \
      count - max - 1 \
    FROM (SELECT kind, rest, count, \
            CASE kind WHEN 'uc' THEN ?3 WHEN 'c' THEN ?4 WHEN 'u' THEN ?5 ELSE ?6 END AS max \
          FROM (SELECT substr(limit_key, 1, instr(limit_key, ':') - 1) AS kind, \
                       substr(limit_key, instr(limit_key, ':') + 1) AS rest, count \
                FROM login_attempts WHERE window_start < ?2 AND limit_key NOT LIKE 'pc:%' \
                  AND limit_key NOT LIKE 'pa:%')) \
    WHERE count > max + 1";
