//! D1 access: users, sessions, the audit log, spent Duo states
//! (`migrations/0001_init.sql`).
//! Every value is a bound parameter; no SQL is built from input.

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, Env, Result};

use crate::ratelimit::Limit;

/// Binding name of the D1 database (`[[d1_databases]]` in `wrangler.toml`).
pub const DB_BINDING: &str = "DB";

/// The database of this Worker.
///
/// # Errors
/// When the binding is missing.
pub fn database(env: &Env) -> Result<D1Database> {
    env.d1(DB_BINDING)
}

/// A JS number for a time or count (all far below 2^53, where f64 is exact).
#[allow(clippy::cast_precision_loss, reason = "Unix seconds and counts stay below 2^53")]
fn number(value: u64) -> JsValue {
    JsValue::from_f64(value as f64)
}

fn text_or_null(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// A row of `users`, as the login needs it.
#[derive(Debug, Deserialize)]
pub struct UserRecord {
    /// As registered.
    pub username: String,
    /// PHC string.
    pub password_hash: String,
    /// `required` or `bypass`.
    pub duo_policy: String,
    /// `0` or `1`.
    pub disabled: u8,
    /// The username Duo knows, when it differs from `username`.
    #[serde(default)]
    pub duo_username: Option<String>,
}

/// The user whose normalized name is `normalized`.
///
/// # Errors
/// D1 errors.
pub async fn user(db: &D1Database, normalized: &str) -> Result<Option<UserRecord>> {
    db.prepare(
        "SELECT username, password_hash, duo_policy, disabled, duo_username FROM users \
         WHERE username_normalized = ?1",
    )
    .bind(&[JsValue::from_str(normalized)])?
    .first::<UserRecord>(None)
    .await
}

#[derive(Deserialize)]
struct At {
    at: u64,
}

/// Which failures a limit counts.
#[derive(Debug, Clone, Copy)]
pub enum FailureKey<'a> {
    /// By normalized username (as submitted).
    Username(&'a str),
    /// By client IP.
    ClientIp(&'a str),
}

/// Times of failed logins for `key` inside `limit`'s window, newest first,
/// at most `limit.max_failures` of them.
///
/// # Errors
/// D1 errors.
pub async fn recent_failures(
    db: &D1Database,
    key: FailureKey<'_>,
    limit: Limit,
    now: u64,
) -> Result<Vec<u64>> {
    let (sql, value) = match key {
        FailureKey::Username(name) => (
            "SELECT at FROM auth_events WHERE step = 'login' AND outcome = 'failure' \
             AND username = ?1 AND at > ?2 ORDER BY at DESC LIMIT ?3",
            name,
        ),
        FailureKey::ClientIp(ip) => (
            "SELECT at FROM auth_events WHERE step = 'login' AND outcome = 'failure' \
             AND client_ip = ?1 AND at > ?2 ORDER BY at DESC LIMIT ?3",
            ip,
        ),
    };
    let rows = db
        .prepare(sql)
        .bind(&[
            JsValue::from_str(value),
            number(limit.window_start(now)),
            number(u64::from(limit.max_failures)),
        ])?
        .all()
        .await?
        .results::<At>()?;
    Ok(rows.into_iter().map(|row| row.at).collect())
}

/// One audit record (`auth_events`). Never a password, code or token.
#[derive(Debug, Clone, Copy)]
pub struct AuthEvent<'a> {
    /// When (Unix seconds).
    pub at: u64,
    /// Normalized username as submitted.
    pub username: &'a str,
    /// `login`, `logout`, ...
    pub step: &'static str,
    /// `success`, `failure`, `rate_limited`, `error`.
    pub outcome: &'static str,
    /// A stable reason code.
    pub reason: &'static str,
    /// Duo's transaction id, when there is one.
    pub duo_txid: Option<&'a str>,
    /// `CF-Connecting-IP`, when valid.
    pub client_ip: Option<&'a str>,
}

/// Appends `event` to the audit log.
///
/// # Errors
/// D1 errors.
pub async fn record(db: &D1Database, event: &AuthEvent<'_>) -> Result<()> {
    db.prepare(
        "INSERT INTO auth_events (at, username, step, outcome, reason, duo_txid, client_ip) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(&[
        number(event.at),
        JsValue::from_str(event.username),
        JsValue::from_str(event.step),
        JsValue::from_str(event.outcome),
        JsValue::from_str(event.reason),
        text_or_null(event.duo_txid),
        text_or_null(event.client_ip),
    ])?
    .run()
    .await?;
    Ok(())
}

/// A new row of `sessions`.
#[derive(Debug)]
pub struct NewSession<'a> {
    /// SHA-256 (hex) of the session id.
    pub id_hash: &'a str,
    /// As registered.
    pub username: &'a str,
    /// `duo`, `bypass` or `fail_open`.
    pub method: &'static str,
    /// Duo's report as JSON, for method `duo`.
    pub duo_context: Option<&'a str>,
    /// Start (Unix seconds).
    pub created_at: u64,
    /// End (Unix seconds).
    pub expires_at: u64,
}

/// Stores a new session.
///
/// # Errors
/// D1 errors.
pub async fn create_session(db: &D1Database, session: &NewSession<'_>) -> Result<()> {
    db.prepare(
        "INSERT INTO sessions (id_hash, username, method, duo_context, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(&[
        JsValue::from_str(session.id_hash),
        JsValue::from_str(session.username),
        JsValue::from_str(session.method),
        text_or_null(session.duo_context),
        number(session.created_at),
        number(session.expires_at),
    ])?
    .run()
    .await?;
    Ok(())
}

/// A live session, as `GET /api/session` reports it.
#[derive(Debug, Deserialize)]
pub struct SessionRecord {
    /// As registered.
    pub username: String,
    /// `duo`, `bypass` or `fail_open`.
    pub method: String,
    /// Duo's report as JSON, or `None`.
    pub duo_context: Option<String>,
    /// Start.
    pub created_at: u64,
    /// End.
    pub expires_at: u64,
}

/// The session stored under `id_hash`, if it is neither revoked nor expired at `now`.
///
/// # Errors
/// D1 errors.
pub async fn live_session(
    db: &D1Database,
    id_hash: &str,
    now: u64,
) -> Result<Option<SessionRecord>> {
    db.prepare(
        "SELECT username, method, duo_context, created_at, expires_at FROM sessions \
         WHERE id_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2",
    )
    .bind(&[JsValue::from_str(id_hash), number(now)])?
    .first::<SessionRecord>(None)
    .await
}

/// Spends a Duo `state` (stored as `state_hash`, the SHA-256 hex of the
/// value): `true` the first time, `false` when it was already spent. The
/// primary key makes this atomic, so two concurrent callbacks cannot both
/// win.
///
/// # Errors
/// D1 errors.
pub async fn spend_state(db: &D1Database, state_hash: &str, now: u64) -> Result<bool> {
    let row = db
        .prepare(
            "INSERT INTO spent_states (state_hash, spent_at) VALUES (?1, ?2) \
             ON CONFLICT (state_hash) DO NOTHING RETURNING state_hash",
        )
        .bind(&[JsValue::from_str(state_hash), number(now)])?
        .first::<serde_json::Value>(None)
        .await?;
    Ok(row.is_some())
}

#[derive(Deserialize)]
struct Username {
    username: String,
}

/// Revokes the live session stored under `id_hash`; its username, or `None`
/// when there was no live session.
///
/// # Errors
/// D1 errors.
pub async fn revoke_session(db: &D1Database, id_hash: &str, now: u64) -> Result<Option<String>> {
    let row = db
        .prepare(
            "UPDATE sessions SET revoked_at = ?2 WHERE id_hash = ?1 AND revoked_at IS NULL \
             RETURNING username",
        )
        .bind(&[JsValue::from_str(id_hash), number(now)])?
        .first::<Username>(None)
        .await?;
    Ok(row.map(|r| r.username))
}
