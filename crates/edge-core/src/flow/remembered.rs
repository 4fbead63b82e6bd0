//! The trusted browsers in the console: the live ones listed
//! (`GET /api/admin/remembered`, never their tokens) and one forgotten by an
//! admin (`POST /api/admin/remembered/forget`, recorded as
//! `forget_browser`). The sign-in's side is [`super::remember`].

use shared::admin::{PAGE_SIZE, RememberedList, RememberedSummary};

use super::admin::Admin;
use super::audit::{Reason, Refusal};
use super::context::{Ctx, unix_i64};
use super::store::{AdminEvent, ConsoleStore, Whose};
use crate::keys::IdHash;

/// `GET /api/admin/remembered?q=&user=&sort=&page=`: live remembered
/// browsers of the users `whose`, newest first (`sort=last_used`: the most
/// recently used first).
///
/// # Errors
/// `internal` for storage.
pub async fn list<S: ConsoleStore>(
    store: &S,
    _admin: &Admin,
    whose: &Whose,
    by_last_used: bool,
    page: u32,
    now: u64,
) -> Result<RememberedList, Refusal> {
    let page = page.max(1);
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    let (rows, total) = store
        .list_remembered(whose, by_last_used, now, offset, PAGE_SIZE)
        .await
        .map_err(Refusal::internal)?;
    let browsers = rows
        .into_iter()
        .map(|b| RememberedSummary {
            id: b.id_hash.into_string(),
            username: b.username,
            user_agent: b.user_agent,
            client_ip: b.client_ip,
            created_at: unix_i64(b.created_at),
            expires_at: unix_i64(b.expires_at),
            last_used_at: b.last_used_at.map(unix_i64),
        })
        .collect();
    Ok(RememberedList { browsers, total, page, page_size: PAGE_SIZE })
}

/// `POST /api/admin/remembered/forget`: an admin forgets one remembered
/// browser (by its hash), recorded as `forget_browser`.
///
/// # Errors
/// `bad_request` when the id
/// names no live remembered browser; `internal`.
pub async fn revoke<S: ConsoleStore>(
    store: &S,
    admin: &Admin,
    id: &str,
    ctx: &Ctx,
) -> Result<(), Refusal> {
    let gone = || {
        Refusal::new(Reason::NoSuchUser)
            .detail("no such remembered browser")
            .message("That browser is no longer remembered.")
    };
    let Some(id) = IdHash::parse(id) else { return Err(gone()) };
    let event = AdminEvent::new(admin.username().to_owned(), "forget_browser", ctx)
        .with(&serde_json::json!({"browser": id.as_str()}));
    let forgotten = store.forget_browser_as_admin(&id, &event).await.map_err(Refusal::internal)?;
    if forgotten { Ok(()) } else { Err(gone()) }
}
