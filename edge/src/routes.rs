//! The Worker's routes as adapters: parse the request, call the flow core
//! ([`edge_core::flow`]), render its outcome or refusal. No decision of the
//! contract is made here.

use std::fmt::Write as _;

use std::rc::Rc;

use shared::admin::{
    AuditQuery, DuoUserCheckRequest, EnforceRequest, NewUserRequest, PasswordResetRequest,
    SessionRevokeRequest, UserChangeRequest,
};
use shared::api::{InlineProgress, PasswordChangeRequest, StepUpRequest, routes as paths};
use shared::policy::{DryRunRequest, PoliciesSave};
use worker::{Env, Request, Response};

use crate::config;
use crate::d1::D1Store;
use crate::duo_transport::{FetchTransport, LONG_POLL_TIMEOUT};
use crate::error::{EdgeError, MAX_BODY_LEN, MAX_POLICY_BODY_LEN};
use crate::password::WebCryptoPasswords;
use crate::trace::Trace;
use crate::{request, respond};
use edge_core::config::Config;
use edge_core::cookie::{
    self, KNOWN_BROWSER_COOKIE, LOGIN_COOKIE, LoginTicket, REMEMBER_COOKIE, SESSION_COOKIE,
};
use edge_core::flow::admin::{Admin, Caller};
use edge_core::flow::duo_callback::{CallbackQuery, SignedIn, duo_callback};
use edge_core::flow::duo_start::{StartOutcome, StartRequest, duo_start};
use edge_core::flow::health::HealthMemo;
use edge_core::flow::inline::{self, InlineRequest};
use edge_core::flow::login::{
    DuoLink, LoginInput, LoginOutcome, login as first_factor, parse_body,
};
use edge_core::flow::maintenance::PrunePlan;
use edge_core::flow::own_sessions;
use edge_core::flow::session::{self, IssuedSession};
use edge_core::flow::store::MaintenanceStore as _;
use edge_core::flow::{Ctx, Random, Reason, Refusal, Step, check_origin, trail::Trail};
use edge_core::flow::{
    accounts, admin, audit_log, own_password, policy_admin, provider, remember, remembered,
};
use edge_core::headers;
use edge_core::keys::{IdHash, UserKey};

thread_local! {
    // A Worker isolate is single-threaded: one memo per isolate.
    static HEALTH: Rc<HealthMemo> = Rc::new(HealthMemo::new());
}

/// What `GET /api/health` says about Duo under `fail_mode`
/// ([`HealthMemo::report`]).
pub fn reachability(fail_mode: config::FailMode) -> shared::api::DuoReachability {
    HEALTH.with(|memo| memo.report(fail_mode))
}

/// `POST /api/login`.
///
/// # Errors
/// Every refusal of the contract, as an [`EdgeError`].
pub async fn login(mut req: Request, env: &Env, trace: &Trace) -> Result<Response, EdgeError> {
    let config = config::from_env(env).map_err(EdgeError::Config)?;
    check_origin(&config.app_origin, request::header(&req, "Origin").as_deref())?;
    request::require_json(&req)?;
    let body = request::body(&mut req, MAX_BODY_LEN).await?;
    let login = parse_body(&body).map_err(|e| EdgeError::BadRequest(e.as_str()))?;
    let (store, ctx, random) = (D1Store::from_env(env)?, request::ctx(&req), request::random()?);
    let known = request::cookie(&req, KNOWN_BROWSER_COOKIE);
    let remembered = request::cookie(&req, REMEMBER_COOKIE);
    let input = LoginInput {
        body: &login,
        known_browser: known.as_deref(),
        remembered: remembered.as_deref(),
    };
    let (transport, memo) = (FetchTransport::default().traced(trace), HEALTH.with(Rc::clone));
    let duo = DuoLink { transport: &transport, health: &memo };
    let outcome = first_factor(&store, &WebCryptoPasswords, duo, &config, input, &ctx, &random)
        .await
        .map_err(|refusal| logged(Step::Login, refusal))?;
    if let LoginOutcome::Done { session, success: edge_core::flow::Success::FailOpen, .. } =
        &outcome
    {
        trace.noted(edge_core::flow::Success::FailOpen.as_str());
        let who = &session.info.username;
        worker::console_warn!("login: Duo unreachable, DUO_FAILMODE=open lets {who} in");
    }
    let (body, cookies) = outcome.into_answer();
    Ok(with_cookies(respond::json(&body, 200)?, &cookies)?)
}

/// `POST /api/step-up`: a signed-in user through Duo again (an app's path
/// needs a fresh approval), answered as the login is.
///
/// # Errors
/// Every refusal of [`edge_core::flow::login::step_up`], as an [`EdgeError`].
pub async fn step_up(mut req: Request, env: &Env, trace: &Trace) -> Result<Response, EdgeError> {
    let config = config::from_env(env).map_err(EdgeError::Config)?;
    check_origin(&config.app_origin, request::header(&req, "Origin").as_deref())?;
    request::require_json(&req)?;
    let body = request::body(&mut req, MAX_BODY_LEN).await?;
    let asked: StepUpRequest = serde_json::from_slice(&body)
        .map_err(|_| EdgeError::BadRequest("expected {\"return_to\": \"/path\"}"))?;
    let (store, ctx, random) = (D1Store::from_env(env)?, request::ctx(&req), request::random()?);
    let cookie = request::cookie(&req, SESSION_COOKIE);
    let (transport, memo) = (FetchTransport::default().traced(trace), HEALTH.with(Rc::clone));
    let duo = DuoLink { transport: &transport, health: &memo };
    let return_to = asked.return_to.as_deref();
    let outcome = edge_core::flow::login::step_up(
        &store,
        duo,
        &config,
        cookie.as_deref(),
        return_to,
        &ctx,
        &random,
    )
    .await
    .map_err(|refusal| logged(Step::Login, refusal))?;
    let (body, cookies) = outcome.into_answer();
    Ok(with_cookies(respond::json(&body, 200)?, &cookies)?)
}

/// `POST /api/duo/inline/start`: start a factor (inline mode).
///
/// # Errors
/// Every refusal of [`inline::start`], as an [`EdgeError`].
pub async fn inline_start(
    mut req: Request,
    env: &Env,
    trace: &Trace,
) -> Result<Response, EdgeError> {
    let config = config::from_env(env).map_err(EdgeError::Config)?;
    check_origin(&config.app_origin, request::header(&req, "Origin").as_deref())?;
    request::require_json(&req)?;
    let body = request::body(&mut req, MAX_BODY_LEN).await?;
    let start = inline::parse_start_body(&body).map_err(|e| EdgeError::BadRequest(e.as_str()))?;
    let (store, ctx, random) = (D1Store::from_env(env)?, request::ctx(&req), request::random()?);
    let (origin, login) = (request::header(&req, "Origin"), request::cookie(&req, LOGIN_COOKIE));
    let input = InlineRequest { origin: origin.as_deref(), login_cookie: login.as_deref() };
    let transport = FetchTransport::default().traced(trace);
    let progress = inline::start(&store, &transport, &config, input, &start, &ctx, &random)
        .await
        .map_err(|refusal| logged(Step::DuoStart, refusal))?;
    inline_progress(progress)
}

/// `POST /api/duo/inline/status`: follow the started factor (inline mode).
///
/// # Errors
/// Every refusal of [`inline::status`], as an [`EdgeError`].
pub async fn inline_status(req: Request, env: &Env, trace: &Trace) -> Result<Response, EdgeError> {
    let config = config::from_env(env).map_err(EdgeError::Config)?;
    let (store, ctx, random) = (D1Store::from_env(env)?, request::ctx(&req), request::random()?);
    let (origin, login) = (request::header(&req, "Origin"), request::cookie(&req, LOGIN_COOKIE));
    let input = InlineRequest { origin: origin.as_deref(), login_cookie: login.as_deref() };
    let transport = FetchTransport::with_timeout(LONG_POLL_TIMEOUT).traced(trace);
    let progress =
        inline::status(&store, &transport, &config, input, &ctx, &random).await.map_err(
            |refusal| logged(Step::DuoCallback, after_fraud(refusal, &input, &config, &ctx)),
        )?;
    inline_progress(progress)
}

/// A sign-in reported as fraud ended the user's sessions: this isolate's
/// gateway forgets them at once (others within `SESSION_RECHECK_SECONDS`).
fn after_fraud(refusal: Refusal, input: &InlineRequest<'_>, config: &Config, ctx: &Ctx) -> Refusal {
    if refusal.reason == Reason::FraudReported
        && let Some(ticket) = input
            .login_cookie
            .and_then(|cookie| LoginTicket::open(cookie, &config.session_secret, ctx.now).ok())
    {
        crate::gateway::forget(None, UserKey::of(&ticket.username).as_ref());
    }
    refusal
}

/// An inline step's progress as the contract's JSON, with its cookies.
fn inline_progress(progress: inline::Progress) -> Result<Response, EdgeError> {
    Ok(match progress {
        inline::Progress::Started { status, message, verification_code, login_cookie, max_age } => {
            let body =
                InlineProgress::Waiting { status: status.to_owned(), message, verification_code };
            let mut response = respond::json(&body, 200)?;
            let set = cookie::set(LOGIN_COOKIE, &login_cookie, max_age);
            response.headers_mut().append("Set-Cookie", &set)?;
            response
        }
        inline::Progress::Waiting { status, message, verification_code } => {
            respond::json(&InlineProgress::Waiting { status, message, verification_code }, 200)?
        }
        inline::Progress::Sent { message } => {
            respond::json(&InlineProgress::Sent { message }, 200)?
        }
        inline::Progress::Done(session) => {
            let body = InlineProgress::Done { session: session.info.clone() };
            with_session(respond::json(&body, 200)?, &session)?
        }
    })
}

/// `GET /api/admin/users?q=&user=&role=&state=&sort=&page=` (the URL's
/// `query`, read by the router).
///
/// # Errors
/// `unauthenticated`, `forbidden`, or storage failures.
pub async fn admin_users(req: Request, env: &Env, query: &str) -> Result<Response, EdgeError> {
    let store = D1Store::from_env(env)?;
    let admin = reading(&req, &store).await?;
    let [role, state, sort] =
        ["role", "state", "sort"].map(|n| param(query, n).unwrap_or_default());
    let (search, user, page) = whose_and_page(query);
    let asked = admin::user_query(&search, user.as_deref(), &role, &state, &sort);
    let list = admin::users(&store, &admin, &asked, page)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&list, 200)?)
}

/// `GET /api/admin/overview`.
///
/// # Errors
/// `unauthenticated`, `forbidden`, or storage failures.
pub async fn admin_overview(req: Request, env: &Env) -> Result<Response, EdgeError> {
    let store = D1Store::from_env(env)?;
    let admin = reading(&req, &store).await?;
    let figures = edge_core::flow::overview::overview(&store, &admin, request::now())
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&figures, 200)?)
}

/// `GET /api/admin/sessions?q=&user=&method=&sort=&page=`.
///
/// # Errors
/// `unauthenticated`, `forbidden`, or storage failures.
pub async fn admin_sessions(req: Request, env: &Env, query: &str) -> Result<Response, EdgeError> {
    let store = D1Store::from_env(env)?;
    let admin = reading(&req, &store).await?;
    let [method, sort] = ["method", "sort"].map(|n| param(query, n).unwrap_or_default());
    let (search, user, page) = whose_and_page(query);
    let asked = admin::session_query(&search, user.as_deref(), &method, &sort);
    let list = admin::sessions(&store, &admin, &asked, page, request::now())
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&list, 200)?)
}

/// `POST /api/admin/sessions/revoke`.
///
/// # Errors
/// Every refusal of [`admin::revoke_session`], as an [`EdgeError`].
pub async fn admin_revoke_session(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, revoke) = post_body::<SessionRevokeRequest>(&mut req, env).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let admin = acting(&req, &store, &config, &ctx).await?;
    admin::revoke_session(&store, &admin, &revoke.id, &ctx)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    // At once in this isolate; elsewhere within SESSION_RECHECK_SECONDS.
    if let Some(session) = IdHash::parse(&revoke.id) {
        crate::gateway::forget_session(&session);
    }
    Ok(respond::empty(204)?)
}

/// `GET /api/admin/audit?log=&user=&outcome=&from=&to=&page=`.
///
/// # Errors
/// `bad_request` for an unreadable search; `unauthenticated`,
/// `forbidden`, or storage failures.
pub async fn admin_audit(req: Request, env: &Env, query: &str) -> Result<Response, EdgeError> {
    let search = audit_query(query)?;
    let store = D1Store::from_env(env)?;
    let admin = reading(&req, &store).await?;
    let list = audit_log::page(&store, &admin, &search)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&list, 200)?)
}

/// `POST /api/admin/audit.csv` with the search as a form
/// (`log=&user=&outcome=&from=&to=`): a download. A POST, so that `Origin`
/// is checked before the export is recorded in the admin's name.
///
/// # Errors
/// As [`admin_audit`], and `forbidden_origin`.
pub async fn admin_audit_csv(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let config = config::from_env(env).map_err(EdgeError::Config)?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    // Before the body is read: a request from elsewhere learns nothing.
    let admin = asking(&req, &store, &config, &ctx).await?;
    let body = request::body(&mut req, MAX_BODY_LEN).await?;
    let form = std::str::from_utf8(&body).map_err(|_| EdgeError::BadRequest("not a form"))?;
    let search = audit_query(form)?;
    let export = audit_log::export(&store, &admin, &search, &ctx)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    let mut response = Response::ok(export.csv)?;
    let headers = response.headers_mut();
    headers.set("Content-Type", "text/csv; charset=utf-8")?;
    let disposition = format!("attachment; filename=\"{}\"", export.file_name);
    headers.set("Content-Disposition", &disposition)?;
    headers.set("X-Audit-Rows", &export.rows.to_string())?;
    headers.set("X-Audit-Total", &export.total.to_string())?;
    Ok(respond::harden(response)?)
}

fn audit_query(query: &str) -> Result<AuditQuery, EdgeError> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    AuditQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(|e| {
        let said = format!("The search was not understood: {e}.");
        logged_as("admin", Refusal::new(Reason::AdminBadValue).detail(e).message(&said)).into()
    })
}

/// `GET /api/admin/duo`: the Duo provider's settings (no secret).
///
/// # Errors
/// `config_error` when the settings do not parse; `unauthenticated`,
/// `forbidden`, or storage failures.
pub async fn admin_duo(req: Request, env: &Env) -> Result<Response, EdgeError> {
    let config = config::from_env(env).map_err(EdgeError::Config)?;
    let store = D1Store::from_env(env)?;
    let admin = reading(&req, &store).await?;
    let provider = provider::settings(&store, &config, &admin)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&provider, 200)?)
}

/// `POST /api/admin/duo/test`: Duo's health check (or `check`) now.
///
/// # Errors
/// As [`admin_duo`], and `forbidden_origin`.
pub async fn admin_duo_test(req: Request, env: &Env, trace: &Trace) -> Result<Response, EdgeError> {
    let config = config::from_env(env).map_err(EdgeError::Config)?;
    let (store, ctx, random) = (D1Store::from_env(env)?, request::ctx(&req), request::random()?);
    let admin = asking(&req, &store, &config, &ctx).await?;
    // workerd's clock moves during I/O: exactly the wait for Duo.
    let clock = js_sys::Date::now;
    let transport = FetchTransport::default().traced(trace);
    let test =
        provider::test_connection(&store, &transport, &config, &admin, &clock, &ctx, &random)
            .await
            .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&test, 200)?)
}

/// `POST /api/admin/duo/enforce`.
///
/// # Errors
/// Every refusal of [`provider::set_enforce`], as an [`EdgeError`].
pub async fn admin_duo_enforce(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, asked) = post_body::<EnforceRequest>(&mut req, env).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let admin = acting(&req, &store, &config, &ctx).await?;
    provider::set_enforce(&store, &admin, &asked, &ctx)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    if !asked.enforce {
        worker::console_warn!("admin: Duo enforcement turned off; passwords alone sign in");
    }
    Ok(respond::empty(204)?)
}

/// The console's guard for a page: the admin behind the session cookie.
pub(crate) async fn reading(req: &Request, store: &D1Store) -> Result<Admin, EdgeError> {
    let cookie = request::cookie(req, SESSION_COOKIE);
    Ok(Admin::reading(store, cookie.as_deref(), request::now())
        .await
        .map_err(|refusal| logged_as("admin", refusal))?)
}

/// The console's guard for an action: `Origin`, then the admin.
pub(crate) async fn acting(
    req: &Request,
    store: &D1Store,
    config: &Config,
    ctx: &Ctx,
) -> Result<Admin, EdgeError> {
    guarded(req, store, config, ctx, true).await
}

/// The guard of a console `POST` that changes nothing ([`Admin::asking`]).
pub(crate) async fn asking(
    req: &Request,
    store: &D1Store,
    config: &Config,
    ctx: &Ctx,
) -> Result<Admin, EdgeError> {
    guarded(req, store, config, ctx, false).await
}

/// [`Admin::acting`] for a change, else [`Admin::asking`].
async fn guarded(
    req: &Request,
    store: &D1Store,
    config: &Config,
    ctx: &Ctx,
    change: bool,
) -> Result<Admin, EdgeError> {
    let (origin, cookie) = (request::header(req, "Origin"), request::cookie(req, SESSION_COOKIE));
    let caller = Caller { origin: origin.as_deref(), session_cookie: cookie.as_deref() };
    let admin = if change {
        Admin::acting(store, config, caller, ctx.now).await
    } else {
        Admin::asking(store, config, caller, ctx.now).await
    };
    Ok(admin.map_err(|refusal| logged_as("admin", refusal))?)
}

/// The settings and the JSON body of a `POST` (the admin API's, a password
/// change): `Origin` checked before the body is read (the flow checks it
/// again), JSON required.
pub(crate) async fn post_body<T: serde::de::DeserializeOwned>(
    req: &mut Request,
    env: &Env,
) -> Result<(Config, T), EdgeError> {
    post_body_up_to(req, env, MAX_BODY_LEN).await
}

/// [`post_body`] for a route that reads up to `limit` bytes.
async fn post_body_up_to<T: serde::de::DeserializeOwned>(
    req: &mut Request,
    env: &Env,
    limit: usize,
) -> Result<(Config, T), EdgeError> {
    let config = config::from_env(env).map_err(EdgeError::Config)?;
    check_origin(&config.app_origin, request::header(req, "Origin").as_deref())?;
    request::require_json(req)?;
    let body = request::body(req, limit).await?;
    let parsed =
        serde_json::from_slice(&body).map_err(|_| EdgeError::BadRequest("malformed JSON"))?;
    Ok((config, parsed))
}

/// `q` and `page` of an admin list's query string.
/// The last value of parameter `name` in the URL's `query`, if any.
pub(crate) fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(n, _)| n == name)
        .last()
        .map(|(_, value)| value.into_owned())
}

/// `?q=` (names containing it), `?user=` (exactly that user) and `?page=`.
fn whose_and_page(query: &str) -> (String, Option<String>, u32) {
    let page = param(query, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
    (param(query, "q").unwrap_or_default(), param(query, "user"), page)
}

/// `POST /api/admin/users/change`.
///
/// # Errors
/// Every refusal of [`admin::change_user`], as an [`EdgeError`].
pub async fn admin_change_user(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, change) = post_body::<UserChangeRequest>(&mut req, env).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let admin = acting(&req, &store, &config, &ctx).await?;
    admin::change_user(&store, &admin, &change.username, &change.change, &ctx)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    // A disabled, demoted or changed account: checked again at its next
    // request in this isolate; elsewhere within SESSION_RECHECK_SECONDS.
    crate::gateway::forget(None, UserKey::of(&change.username).as_ref());
    Ok(respond::empty(204)?)
}

/// `POST /api/admin/users/add`: 201 with the generated password, if any.
///
/// # Errors
/// Every refusal of [`accounts::add_user`], as an [`EdgeError`].
pub async fn admin_add_user(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, asked) = post_body::<NewUserRequest>(&mut req, env).await?;
    let (store, ctx, random) = (D1Store::from_env(env)?, request::ctx(&req), request::random()?);
    let admin = acting(&req, &store, &config, &ctx).await?;
    let issued =
        accounts::add_user(&store, &WebCryptoPasswords, &config, &admin, &asked, &ctx, &random)
            .await
            .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&issued, 201)?)
}

/// `POST /api/admin/users/password`: 200 with the generated password, if any.
///
/// # Errors
/// Every refusal of [`accounts::reset_password`], as an [`EdgeError`].
pub async fn admin_reset_password(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, asked) = post_body::<PasswordResetRequest>(&mut req, env).await?;
    let (store, ctx, random) = (D1Store::from_env(env)?, request::ctx(&req), request::random()?);
    let admin = acting(&req, &store, &config, &ctx).await?;
    let passwords = WebCryptoPasswords;
    let issued =
        accounts::reset_password(&store, &passwords, &config, &admin, &asked, &ctx, &random)
            .await
            .map_err(|refusal| logged_as("admin", refusal))?;
    crate::gateway::forget(None, UserKey::of(&asked.username).as_ref());
    Ok(respond::json(&issued, 200)?)
}

/// `POST /api/admin/users/duo-check`.
///
/// # Errors
/// Every refusal of [`accounts::check_duo_user`], as an [`EdgeError`].
pub async fn admin_duo_check(
    mut req: Request,
    env: &Env,
    trace: &Trace,
) -> Result<Response, EdgeError> {
    let (config, asked) = post_body::<DuoUserCheckRequest>(&mut req, env).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let admin = asking(&req, &store, &config, &ctx).await?;
    let transport = FetchTransport::default().traced(trace);
    let check = accounts::check_duo_user(&store, &transport, &config, &admin, &asked, &ctx)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&check, 200)?)
}

/// `GET /api/admin/policies`.
///
/// # Errors
/// Every refusal of [`policy_admin::view`], as an [`EdgeError`].
pub async fn admin_policies(req: Request, env: &Env) -> Result<Response, EdgeError> {
    let store = D1Store::from_env(env)?;
    let admin = reading(&req, &store).await?;
    let view =
        policy_admin::view(&store, &admin).await.map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&view, 200)?)
}

/// `POST /api/admin/policies`: the saved set.
///
/// # Errors
/// Every refusal of [`policy_admin::save`], as an [`EdgeError`].
pub async fn admin_save_policies(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, asked) =
        post_body_up_to::<PoliciesSave>(&mut req, env, MAX_POLICY_BODY_LEN).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let admin = acting(&req, &store, &config, &ctx).await?;
    let view = policy_admin::save(&store, &admin, &asked, &ctx)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    // The new access rules hold at once here; elsewhere within
    // SESSION_RECHECK_SECONDS.
    crate::gateway::forget_access_rules();
    Ok(respond::json(&view, 200)?)
}

/// `POST /api/admin/policies/dry-run`.
///
/// # Errors
/// Every refusal of [`policy_admin::dry_run`], as an [`EdgeError`].
pub async fn admin_policies_dry_run(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, asked) =
        post_body_up_to::<DryRunRequest>(&mut req, env, MAX_POLICY_BODY_LEN).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let admin = asking(&req, &store, &config, &ctx).await?;
    let result = policy_admin::dry_run(&store, &admin, &asked)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&result, 200)?)
}

/// `POST /api/remembered/forget`: this browser is no longer remembered;
/// 204 and its cookie cleared.
///
/// # Errors
/// `forbidden_origin`; storage failures.
pub async fn forget_browser(req: Request, env: &Env) -> Result<Response, EdgeError> {
    let config = config::from_env(env).map_err(EdgeError::Config)?;
    let store = D1Store::from_env(env)?;
    let (origin, token) = (request::header(&req, "Origin"), request::cookie(&req, REMEMBER_COOKIE));
    remember::forget(&store, &config, origin.as_deref(), token.as_deref(), request::now())
        .await
        .map_err(|refusal| logged_as("remember", refusal))?;
    let mut response = respond::empty(204)?;
    response.headers_mut().append("Set-Cookie", &cookie::clear(REMEMBER_COOKIE))?;
    Ok(response)
}

/// `GET /api/sessions`: the signed-in user's sessions and trusted browsers.
///
/// # Errors
/// `unauthenticated`, or storage failures.
pub async fn own_sessions(req: Request, env: &Env) -> Result<Response, EdgeError> {
    let store = D1Store::from_env(env)?;
    let (session, remember) =
        (request::cookie(&req, SESSION_COOKIE), request::cookie(&req, REMEMBER_COOKIE));
    let listed =
        own_sessions::list(&store, session.as_deref(), remember.as_deref(), request::now()).await?;
    Ok(respond::json(&listed, 200)?)
}

/// `POST /api/sessions/end`: 204; ending this browser's own session or
/// trust clears its cookie too.
///
/// # Errors
/// Every refusal of [`own_sessions::end`], as an [`EdgeError`].
pub async fn end_own(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, asked) = post_body::<shared::api::EndOwnRequest>(&mut req, env).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let (origin, session, remember) = (
        request::header(&req, "Origin"),
        request::cookie(&req, SESSION_COOKIE),
        request::cookie(&req, REMEMBER_COOKIE),
    );
    let caller = Caller { origin: origin.as_deref(), session_cookie: session.as_deref() };
    let ended = own_sessions::end(&store, &config, caller, remember.as_deref(), &asked, &ctx)
        .await
        .map_err(|refusal| logged_as("sessions", refusal))?;
    if ended.kind == shared::api::OwnKind::Session
        && let Some(id) = edge_core::keys::IdHash::parse(&asked.id)
    {
        crate::gateway::forget_session(&id);
    }
    let mut response = respond::empty(204)?;
    if ended.current {
        let cleared = match ended.kind {
            shared::api::OwnKind::Session => SESSION_COOKIE,
            shared::api::OwnKind::Browser => REMEMBER_COOKIE,
        };
        response.headers_mut().append("Set-Cookie", &cookie::clear(cleared))?;
    }
    Ok(response)
}

/// `GET /api/admin/remembered?q=&user=&sort=&page=`.
///
/// # Errors
/// `unauthenticated`, `forbidden`, or storage failures.
pub async fn admin_remembered(req: Request, env: &Env, query: &str) -> Result<Response, EdgeError> {
    let store = D1Store::from_env(env)?;
    let admin = reading(&req, &store).await?;
    let (search, user, page) = whose_and_page(query);
    let whose = admin::whose(&search, user.as_deref());
    let by_last_used = param(query, "sort").as_deref() == Some("last_used");
    let list = remembered::list(&store, &admin, &whose, by_last_used, page, request::now())
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::json(&list, 200)?)
}

/// `POST /api/admin/remembered/forget`.
///
/// # Errors
/// Every refusal of [`remembered::revoke`], as an [`EdgeError`].
pub async fn admin_forget_browser(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, asked) = post_body::<SessionRevokeRequest>(&mut req, env).await?;
    let (store, ctx) = (D1Store::from_env(env)?, request::ctx(&req));
    let admin = acting(&req, &store, &config, &ctx).await?;
    remembered::revoke(&store, &admin, &asked.id, &ctx)
        .await
        .map_err(|refusal| logged_as("admin", refusal))?;
    Ok(respond::empty(204)?)
}

/// `POST /api/password`: the signed-in user's own new password; 204.
///
/// # Errors
/// Every refusal of [`own_password::change_password`], as an [`EdgeError`].
pub async fn change_password(mut req: Request, env: &Env) -> Result<Response, EdgeError> {
    let (config, asked) = post_body::<PasswordChangeRequest>(&mut req, env).await?;
    let (store, ctx, random) = (D1Store::from_env(env)?, request::ctx(&req), request::random()?);
    let (origin, cookie) = (request::header(&req, "Origin"), request::cookie(&req, SESSION_COOKIE));
    let caller = Caller { origin: origin.as_deref(), session_cookie: cookie.as_deref() };
    let now = request::now();
    let changed_for = session::check(&store, cookie.as_deref(), now)
        .await
        .map(|i| i.username)
        .unwrap_or_default();
    let passwords = WebCryptoPasswords;
    let warning =
        own_password::change_password(&store, &passwords, &config, caller, &asked, &ctx, &random)
            .await
            .map_err(|refusal| logged_as("password", refusal))?;
    // Every session of the user in this isolate's cache, found by the name
    // the change was made for (the caller's session may not be cached).
    crate::gateway::forget(None, UserKey::of(&changed_for).as_ref());
    Ok(match warning {
        Some(warning) => respond::json(&shared::api::PasswordChanged { warning }, 200)?,
        None => respond::empty(204)?,
    })
}

/// `GET /api/session`.
///
/// # Errors
/// [`EdgeError::Unauthenticated`] without a live session.
pub async fn session(req: Request, env: &Env) -> Result<Response, EdgeError> {
    let store = D1Store::from_env(env)?;
    let cookie = request::cookie(&req, SESSION_COOKIE);
    let info = session::check(&store, cookie.as_deref(), request::now()).await?;
    Ok(respond::json(&info, 200)?)
}

/// `POST /api/logout`: 204 and both cookies cleared, whether or not there
/// was a session.
///
/// # Errors
/// [`EdgeError::ForbiddenOrigin`], or storage failures.
pub async fn logout(req: Request, env: &Env) -> Result<Response, EdgeError> {
    end_sessions(req, env, false).await
}

/// `POST /api/logout-everywhere`: like [`logout`], and every other live
/// session of the same user is revoked too.
///
/// # Errors
/// [`EdgeError::ForbiddenOrigin`], or storage failures.
pub async fn logout_everywhere(req: Request, env: &Env) -> Result<Response, EdgeError> {
    end_sessions(req, env, true).await
}

async fn end_sessions(req: Request, env: &Env, everywhere: bool) -> Result<Response, EdgeError> {
    let config = config::from_env(env).map_err(EdgeError::Config)?;
    check_origin(&config.app_origin, request::header(&req, "Origin").as_deref())?;
    let store = D1Store::from_env(env)?;
    let cookie = request::cookie(&req, SESSION_COOKIE);
    let ctx = request::ctx(&req);
    let ended = if everywhere {
        session::logout_everywhere(&store, cookie.as_deref(), &ctx).await
    } else {
        session::logout(&store, cookie.as_deref(), &ctx).await
    };
    let ended = ended.map_err(|refusal| logged(Step::Logout, refusal))?;
    let user = match &ended {
        session::LogoutOutcome::RevokedEverywhere { username } => UserKey::of(username),
        _ => None,
    };
    crate::gateway::forget(cookie.as_deref(), user.as_ref());
    let mut response = respond::empty(204)?;
    let headers = response.headers_mut();
    headers.append("Set-Cookie", &cookie::clear(SESSION_COOKIE))?;
    headers.append("Set-Cookie", &cookie::clear(LOGIN_COOKIE))?;
    Ok(response)
}

/// `POST /auth/duo/start`: 303 to Duo, to `/` (fail-open), or to
/// `/?error=<code>`.
///
/// # Errors
/// Only if the runtime cannot build a response.
pub async fn start(mut req: Request, env: &Env, trace: &Trace) -> worker::Result<Response> {
    let ctx = request::ctx(&req);
    let (store, config, random) = match ready(env, Step::DuoStart, &ctx).await {
        Ok(ready) => ready,
        Err(refusal) => return refused(trace, Step::DuoStart, &refusal),
    };
    // The form's one field, `remember=1` ("trust this browser"); an
    // unreadable or oversized body is a form without it.
    let body = request::body(&mut req, MAX_BODY_LEN).await.unwrap_or_default();
    let remember = headers::form_flag(&body, "remember");
    let (origin, login) = (request::header(&req, "Origin"), request::cookie(&req, LOGIN_COOKIE));
    let input =
        StartRequest { origin: origin.as_deref(), login_cookie: login.as_deref(), remember };
    let memo = HEALTH.with(Rc::clone);
    let transport = FetchTransport::default().traced(trace);
    match duo_start(&store, &transport, &config, &memo, input, &ctx, &random).await {
        Ok(StartOutcome::Duo { url, login_cookie, max_age }) => {
            let mut response = respond::redirect(&url)?;
            let set = cookie::set(LOGIN_COOKIE, &login_cookie, max_age);
            response.headers_mut().append("Set-Cookie", &set)?;
            Ok(response)
        }
        Ok(StartOutcome::FailOpen { session, duo_error }) => {
            trace.noted(edge_core::flow::Success::FailOpen.as_str());
            let who = &session.info.username;
            worker::console_warn!(
                "duo_start: Duo unreachable, DUO_FAILMODE=open lets {who} in: {duo_error}"
            );
            signed_in(&session)
        }
        Err(refusal) => refused(trace, Step::DuoStart, &refusal),
    }
}

/// `GET /auth/duo/callback` with the URL's `query` (read once, by the
/// router): 303 to `/` with a session, or to `/?error=<code>`.
///
/// # Errors
/// Only if the runtime cannot build a response.
pub async fn callback(
    req: Request,
    env: &Env,
    query: &str,
    trace: &Trace,
) -> worker::Result<Response> {
    let ctx = request::ctx(&req);
    let (store, config, random) = match ready(env, Step::DuoCallback, &ctx).await {
        Ok(ready) => ready,
        Err(refusal) => return refused(trace, Step::DuoCallback, &refusal),
    };
    let query = CallbackQuery::parse(query);
    let login = request::cookie(&req, LOGIN_COOKIE);
    let transport = FetchTransport::default().traced(trace);
    match duo_callback(&store, &transport, &config, &query, login.as_deref(), &ctx, &random).await {
        Ok(SignedIn(session, return_to)) => {
            let target =
                return_to.map_or_else(|| paths::at(paths::PAGE), |t| t.as_str().to_owned());
            with_session(respond::redirect(&target)?, &session)
        }
        Err(refusal) => {
            let input = InlineRequest { origin: None, login_cookie: login.as_deref() };
            refused(trace, Step::DuoCallback, &after_fraud(refusal, &input, &config, &ctx))
        }
    }
}

/// Scheduled maintenance (`edge_core::flow::maintenance`): prunes the tables
/// and logs what it deleted, or why it could not.
pub async fn maintain(env: &Env) {
    let pruned = async {
        let settings = config::maintenance_from_env(env).map_err(|p| p.to_string())?;
        let store = D1Store::from_env(env).map_err(|e| e.to_string())?;
        let (days, limit) = (settings.audit_retention_days, settings.duo_start_limit);
        let plan = PrunePlan::at(request::now(), days, limit);
        store.prune(&plan).await.map_err(|e| e.to_string())
    };
    match pruned.await {
        Ok(p) => worker::console_log!(
            "maintenance: deleted {} sessions, {} spent states, {} rate-limit counters \
             ({} summarized in the audit log), {} audit events, {} admin events and {} \
             remembered browsers",
            p.sessions,
            p.states,
            p.counters,
            p.summaries,
            p.audit_events,
            p.admin_events,
            p.browsers
        ),
        Err(problem) => worker::console_error!("maintenance failed: {problem}"),
    }
}

/// What a Duo step needs besides its request: storage, the configuration
/// and fresh randomness; or the step's `config_error` (or `internal`)
/// refusal, audited when storage is there.
async fn ready(env: &Env, step: Step, ctx: &Ctx) -> Result<(D1Store, Config, Random), Refusal> {
    let store = D1Store::from_env(env).map_err(Refusal::internal)?;
    let ready = match config::from_env(env) {
        Ok(config) => request::random().map(|random| (config, random)).map_err(Refusal::internal),
        Err(problem) => {
            config::log_once(&problem);
            Err(Refusal::new(Reason::ConfigError).detail(problem.to_string()))
        }
    };
    match ready {
        Ok((config, random)) => Ok((store, config, random)),
        Err(refusal) => Err(Trail::new(step, ctx).refuse(&store, refusal).await),
    }
}

/// Logs a refusal: the code, the reason and the detail (never a secret).
fn logged(step: Step, refusal: Refusal) -> Refusal {
    logged_as(step.as_str(), refusal)
}

/// [`logged`], for a request that is not a login step (`admin`).
pub(crate) fn logged_as(label: &str, refusal: Refusal) -> Refusal {
    let (code, reason) = (refusal.code(), refusal.reason.as_str());
    let detail = refusal.detail.as_deref().unwrap_or("-");
    worker::console_warn!("{label}: refused with {code} (reason {reason}): {detail}");
    refusal
}

/// A Duo step's refusal: logged, then 303 to `/?error=<code>` with the
/// login cookie cleared.
fn refused(trace: &Trace, step: Step, refusal: &Refusal) -> worker::Result<Response> {
    trace.because(refusal.reason.as_str());
    let refusal = logged(step, refusal.clone());
    let page = paths::at(paths::PAGE);
    // What the page needs beyond the code, from a fixed vocabulary: how long
    // a rate limit lasts, and why Duo denied.
    let mut target = format!("{page}?error={}", refusal.code().as_str());
    if let Some(seconds) = refusal.retry_after {
        let _ = write!(target, "&wait={seconds}");
    }
    if let Some(denial) = refusal.reason.denial() {
        let _ = write!(target, "&duo={}", denial.as_str());
    }
    let mut response = respond::redirect(&target)?;
    response.headers_mut().append("Set-Cookie", &cookie::clear(LOGIN_COOKIE))?;
    Ok(response)
}

/// 303 to the sign-in page with the new session's cookie, the login cookie cleared.
fn signed_in(session: &IssuedSession) -> worker::Result<Response> {
    with_session(respond::redirect(&paths::at(paths::PAGE))?, session)
}

/// Adds the session cookie (and the remembered browser's, when this
/// sign-in made one) and clears the login cookie.
fn with_session(response: Response, session: &IssuedSession) -> worker::Result<Response> {
    with_cookies(response, &session.set_cookies())
}

/// Adds a `Set-Cookie` header for each of `cookies`, in order.
fn with_cookies(mut response: Response, cookies: &[String]) -> worker::Result<Response> {
    for set in cookies {
        response.headers_mut().append("Set-Cookie", set)?;
    }
    Ok(response)
}
