//! The admin API (`/api/admin/*`): only for a live session whose account is
//! an enabled `admin` now (the role is read with the session on every
//! request, so a demotion takes effect at once). Every change checks
//! `Origin`, is written with its `admin_events` row in one transaction
//! (who, what, whom, from where), and cannot lock the admins out: nobody
//! disables or demotes themselves here, and the database refuses to leave
//! no enabled admin (migration 0004), so two admins demoting each other at
//! once cannot both win.

use crate::keys::UserKey;
use credentials::sql::DuoUsername;
use shared::admin::{
    DuoPolicy, PAGE_SIZE, SessionList, SessionSummary, UserChange, UserList, UserSummary,
};
use shared::api::{AuthMethod, DuoDetails, Role, SessionInfo};

use super::audit::{Reason, Refusal};
use super::context::{Ctx, check_origin, unix_i64};
use super::session;
use super::store::{
    AdminEvent, AdminSessionRecord, AdminUserRecord, ChangeOutcome, ConsoleStore, SessionQuery,
    SessionStore, UserQuery, UserUpdate, Whose,
};
use crate::config::Config;
use crate::keys::IdHash;

/// The longest search text accepted.
const MAX_SEARCH_LEN: usize = 64;

/// A console search as the store compares it: trimmed, lower case, at most
/// [`MAX_SEARCH_LEN`] characters.
pub fn search_text(search: &str) -> String {
    search.trim().to_ascii_lowercase().chars().take(MAX_SEARCH_LEN).collect()
}

/// Who asks: the request's `Origin` and session cookie.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The `Origin` header.
    pub origin: Option<&'a str>,
    /// The `__Host-session` cookie's value.
    pub session_cookie: Option<&'a str>,
}

/// An admin at the console, as the guard found them for this request: the
/// capability every console function takes. Only the guard makes one
/// ([`Admin::reading`] for a page, [`Admin::acting`] for a change, which
/// checks `Origin` first), so no console function can be reached without
/// both checks, and an adapter for a console route is the guard and one
/// call. Nothing else can make one:
///
/// ```compile_fail
/// let forged = edge_core::flow::admin::Admin { session: unimplemented!() };
/// ```
#[derive(Debug, Clone)]
pub struct Admin {
    session: SessionInfo,
}

impl Admin {
    /// The guard of a console page (a `GET`): the admin behind the session
    /// cookie, checked against the database now.
    ///
    /// # Errors
    /// As [`require_admin`].
    pub async fn reading<S: SessionStore>(
        store: &S,
        session_cookie: Option<&str>,
        now: u64,
    ) -> Result<Self, Refusal> {
        require_admin(store, session_cookie, now).await.map(|session| Self { session })
    }

    /// The guard of a `POST` that changes nothing (an export, a test of
    /// Duo, a dry run, a check): `Origin` first, then the admin as
    /// [`Admin::reading`] finds them.
    ///
    /// # Errors
    /// `forbidden_origin`; as [`require_admin`].
    pub async fn asking<S: SessionStore>(
        store: &S,
        config: &Config,
        caller: Caller<'_>,
        now: u64,
    ) -> Result<Self, Refusal> {
        check_origin(&config.app_origin, caller.origin)?;
        Self::reading(store, caller.session_cookie, now).await
    }

    /// The guard of a console change: as [`Admin::asking`], and the
    /// session's confirmation recent ([`session::require_recent`]).
    ///
    /// # Errors
    /// `forbidden_origin`; as [`require_admin`]; `reauthentication_required`.
    pub async fn acting<S: SessionStore>(
        store: &S,
        config: &Config,
        caller: Caller<'_>,
        now: u64,
    ) -> Result<Self, Refusal> {
        let admin = Self::asking(store, config, caller, now).await?;
        session::require_recent(&admin.session, config, now)?;
        Ok(admin)
    }

    /// The admin's username, as registered.
    pub fn username(&self) -> &str {
        &self.session.username
    }
}

/// The session of an admin, or the refusal.
///
/// # Errors
/// `unauthenticated` without a live session; `forbidden` for a session
/// whose account is not an admin now, made fail-open (without Duo), or
/// whose password an admin set (the user chooses their own first).
async fn require_admin<S: SessionStore>(
    store: &S,
    session_cookie: Option<&str>,
    now: u64,
) -> Result<SessionInfo, Refusal> {
    let session = session::check(store, session_cookie, now).await?;
    if session.role != Role::Admin {
        return Err(Refusal::new(Reason::NotAdmin)
            .detail(format!("{} is not an admin", session.username))
            .message("This page is for administrators."));
    }
    if session.method == AuthMethod::FailOpen {
        // Fail-open covers a Duo outage for signing in, never for
        // administering: nobody reaches the console without Duo's approval.
        return Err(Refusal::new(Reason::FailOpenConsole)
            .detail(format!("{} signed in fail-open, without Duo", session.username))
            .message(
                "You signed in while Duo was unreachable: the console needs a sign-in \
                 approved by Duo. Sign out and sign in again once Duo is back.",
            ));
    }
    if session.password_change_required {
        return Err(Refusal::new(Reason::PasswordChangeRequired)
            .detail(format!("{} has a password an admin set", session.username))
            .message("Choose your own password first, on your account page."));
    }
    Ok(session)
}

/// `GET /api/admin/users?q=&user=&role=&state=&sort=&page=`: the users
/// `query` asks for, [`PAGE_SIZE`] per page.
///
/// # Errors
/// `internal` for storage.
pub async fn users<S: ConsoleStore>(
    store: &S,
    _admin: &Admin,
    query: &UserQuery,
    page: u32,
) -> Result<UserList, Refusal> {
    let page = page.max(1);
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    let listed = store.list_users(query, offset, PAGE_SIZE).await.map_err(Refusal::internal)?;
    Ok(UserList {
        users: listed.rows.into_iter().map(summary).collect(),
        total: listed.total,
        page,
        page_size: PAGE_SIZE,
        held: listed.held,
    })
}

fn summary(row: AdminUserRecord) -> UserSummary {
    UserSummary {
        username: row.username,
        role: Role::parse(&row.role).unwrap_or_default(),
        duo_policy: if row.duo_policy == "bypass" {
            DuoPolicy::Bypass
        } else {
            DuoPolicy::Required
        },
        duo_username: row.duo_username,
        disabled: row.disabled != 0,
        created_at: unix_i64(row.created_at),
        last_login_at: row.last_login_at.map(unix_i64),
        last_login_method: row.last_login_method,
        held_at: row.held_at.map(unix_i64),
    }
}

/// The users list's query from its parameters: `q` or `user` (see
/// [`whose`]), `role` (`admin`, `user`), `state` (`enabled`, `disabled`,
/// `held`), `sort` (`last_sign_in`, else by name). Anything else in
/// `role`, `state` or `sort` is ignored (the list shows more, not less).
pub fn user_query(
    search: &str,
    user: Option<&str>,
    role: &str,
    state: &str,
    sort: &str,
) -> UserQuery {
    UserQuery {
        whose: whose(search, user),
        role: one_of(role, &["admin", "user"]),
        state: one_of(state, &["enabled", "disabled", "held"]),
        by_last_sign_in: sort == "last_sign_in",
    }
}

/// `value` if it is one of `words`, else empty (any).
fn one_of(value: &str, words: &[&'static str]) -> &'static str {
    words.iter().copied().find(|word| *word == value).unwrap_or("")
}

/// The users a console list is about: `?user=` (exactly one, a user's
/// page) or else `?q=` (names containing it).
pub fn whose(search: &str, user: Option<&str>) -> Whose {
    match user {
        Some(user) => Whose { text: search_text(user), exact: true },
        None => Whose { text: search_text(search), exact: false },
    }
}

/// The sessions list's query from its parameters: `q` or `user` (see
/// [`whose`]), `method` (`duo`, `bypass`, `fail_open`, `remembered`) and
/// `sort` (`last_active`, else by start). Anything else in `method` or
/// `sort` is ignored (the list shows more, not less).
pub fn session_query(search: &str, user: Option<&str>, method: &str, sort: &str) -> SessionQuery {
    SessionQuery {
        whose: whose(search, user),
        method: one_of(method, &["duo", "bypass", "fail_open", "remembered"]),
        by_last_active: sort == "last_active",
    }
}

/// `GET /api/admin/sessions?q=&user=&method=&sort=&page=`: the live
/// sessions `query` asks for, [`PAGE_SIZE`] per page.
///
/// # Errors
/// `internal` for storage.
pub async fn sessions<S: ConsoleStore>(
    store: &S,
    _admin: &Admin,
    query: &SessionQuery,
    page: u32,
    now: u64,
) -> Result<SessionList, Refusal> {
    let page = page.max(1);
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    let (rows, total) =
        store.list_sessions(query, now, offset, PAGE_SIZE).await.map_err(Refusal::internal)?;
    let sessions = rows.into_iter().map(session_summary).collect();
    Ok(SessionList { sessions, total, page, page_size: PAGE_SIZE })
}

fn session_summary(row: AdminSessionRecord) -> SessionSummary {
    // An unreadable Duo context hides the details, not the session.
    let duo: Option<DuoDetails> =
        row.duo_context.as_deref().and_then(|json| serde_json::from_str(json).ok());
    let (factor, device) = duo.map_or((None, None), |d| (d.factor, d.device));
    SessionSummary {
        id: row.id_hash.into_string(),
        username: row.username,
        method: row.method,
        factor,
        device,
        client_ip: row.client_ip,
        user_agent: row.user_agent,
        country: row.country,
        created_at: unix_i64(row.created_at),
        expires_at: unix_i64(row.expires_at),
        last_seen_at: unix_i64(row.last_seen_at.unwrap_or(row.created_at)),
    }
}

/// `POST /api/admin/sessions/revoke`: ends one live session, audited.
///
/// # Errors
/// `bad_request` when the id
/// names no live session; `internal`.
pub async fn revoke_session<S: ConsoleStore>(
    store: &S,
    admin: &Admin,
    id: &str,
    ctx: &Ctx,
) -> Result<(), Refusal> {
    let no_such = || {
        Refusal::new(Reason::NoSuchUser)
            .detail("no such live session")
            .message("That session has already ended.")
    };
    let Some(id) = IdHash::parse(id) else { return Err(no_such()) };
    let event = AdminEvent::new(admin.username().to_owned(), "revoke_session", ctx)
        .with(&serde_json::json!({"session": id.as_str()}));
    let revoked = store.revoke_session_as_admin(&id, &event).await.map_err(Refusal::internal)?;
    if revoked { Ok(()) } else { Err(no_such()) }
}

/// `POST /api/admin/users/change`.
///
/// # Errors
/// `bad_request` (no such user,
/// a Duo username another account has, an invalid Duo username);
/// `forbidden` (changing one's own role or enabled state, or leaving no
/// enabled admin); `internal`.
pub async fn change_user<S: ConsoleStore>(
    store: &S,
    admin: &Admin,
    username: &str,
    change: &UserChange,
    ctx: &Ctx,
) -> Result<(), Refusal> {
    let target = UserKey::of(username)
        .ok_or(Refusal::new(Reason::NoSuchUser).message("There is no user with that name."))?;
    let own = UserKey::of(admin.username()).is_some_and(|me| me == target);
    let (update, action, detail) = match change {
        UserChange::Role(role) => {
            if own {
                return Err(self_lockout());
            }
            (UserUpdate::Role(role.as_str()), "set_role", serde_json::json!({"role": role}))
        }
        UserChange::Disabled(disabled) => {
            if own {
                return Err(self_lockout());
            }
            let action = if *disabled { "disable" } else { "enable" };
            (UserUpdate::Disabled(*disabled), action, serde_json::json!({}))
        }
        UserChange::DuoPolicy(policy) => (
            UserUpdate::Policy(policy.as_str()),
            "set_duo_policy",
            serde_json::json!({"duo_policy": policy}),
        ),
        UserChange::DuoUsername(name) => {
            let name = duo_username(name.as_deref())?;
            let detail = serde_json::json!({"duo_username": name});
            (UserUpdate::DuoUsername(name), "set_duo_username", detail)
        }
        UserChange::ReleaseHold => (UserUpdate::Release, "release_hold", serde_json::json!({})),
        UserChange::RevokeSessions => {
            (UserUpdate::RevokeSessions, "revoke_sessions", serde_json::json!({}))
        }
    };
    let detail = with_before(store, &target, detail).await?;
    let event = AdminEvent::new(admin.username().to_owned(), action, ctx).on(&target).with(&detail);
    let outcome = store.change_user(&target, &update, &event).await.map_err(Refusal::internal)?;
    change_refused(outcome, &target)
}

/// `detail` (the new values) with the user's values before the change under
/// `before` (the console shows "user → admin"), read just before it.
async fn with_before<S: ConsoleStore>(
    store: &S,
    target: &UserKey,
    mut detail: serde_json::Value,
) -> Result<serde_json::Value, Refusal> {
    let exactly = UserQuery {
        whose: Whose { text: target.as_str().to_owned(), exact: true },
        ..UserQuery::containing("")
    };
    let listed = store.list_users(&exactly, 0, 1).await.map_err(Refusal::internal)?;
    let (Some(user), Some(fields)) = (listed.rows.first(), detail.as_object_mut()) else {
        return Ok(detail);
    };
    let mut before = serde_json::Map::new();
    for name in fields.keys() {
        let old = match name.as_str() {
            "role" => serde_json::json!(user.role),
            "duo_policy" => serde_json::json!(user.duo_policy),
            "duo_username" => serde_json::json!(user.duo_username),
            _ => continue,
        };
        before.insert(name.clone(), old);
    }
    if !before.is_empty() {
        fields.insert("before".to_owned(), serde_json::Value::Object(before));
    }
    Ok(detail)
}

/// A Duo username to store: trimmed, `None` when empty (the username).
///
/// # Errors
/// `bad_request` when it cannot be stored.
pub(super) fn duo_username(name: Option<&str>) -> Result<Option<String>, Refusal> {
    name.map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| DuoUsername::parse(n).map(|d| d.as_str().to_owned()))
        .transpose()
        .map_err(|e| {
            Refusal::new(Reason::AdminBadValue)
                .detail(e.to_string())
                .message("That Duo username cannot be used.")
        })
}

/// What [`super::store::ConsoleStore::change_user`] did, as the admin API answers it.
///
/// # Errors
/// The refusal of each outcome but `Changed`.
pub(super) fn change_refused(outcome: ChangeOutcome, target: &UserKey) -> Result<(), Refusal> {
    match outcome {
        ChangeOutcome::Changed => Ok(()),
        ChangeOutcome::NoSuchUser => Err(Refusal::new(Reason::NoSuchUser)
            .detail(format!("no user {target}"))
            .message("There is no user with that name.")),
        ChangeOutcome::LastAdmin => Err(Refusal::new(Reason::LastAdmin)
            .message("This is the last enabled admin: make another admin first.")),
        ChangeOutcome::DuoIdentityTaken => Err(Refusal::new(Reason::AdminBadValue)
            .detail("duo identity taken")
            .message("Another user already has that Duo username.")),
    }
}

fn self_lockout() -> Refusal {
    Refusal::new(Reason::SelfLockout)
        .message("You cannot change your own role or disable yourself. Ask another admin.")
}
