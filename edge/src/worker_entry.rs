//! The Worker's entry point: the router over [`crate::routes`].

use shared::admin::routes as admin;
use shared::alerts::routes as alert;
use shared::api::{HealthResponse, routes as paths};
use shared::policy::routes as policy;
use shared::{ErrorBody, ErrorCode};
use worker::{
    Context, Env, MessageBatch, Method, Request, Response, Result, ScheduleContext, ScheduledEvent,
    event,
};

use crate::trace::Trace;
use crate::{alerts, config, error, flood, gateway, request, respond, routes};
use edge_core::gateway::forward_auth::Proxy;
use edge_core::headers;

/// Binding name of the SPA's static assets (`[assets]` in `wrangler.toml`).
const ASSETS_BINDING: &str = "ASSETS";

/// The router: one `match` on method and path. (worker's `Router`, with one
/// async closure per route and a route tree, cost about 20 KB of the wasm.)
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let trace = Trace::start(&req);
    let url = request::url(&req);
    let (path, query) = headers::path_and_query(&url);
    let answer = route(req, &env, &url, (path, query), &trace).await;
    trace.finish(path, &answer);
    answer
}

/// The request for `path` (with its `query`) answered, told to `trace`.
async fn route(
    req: Request,
    env: &Env,
    url: &str,
    (path, query): (&str, &str),
    trace: &Trace,
) -> Result<Response> {
    // Everything outside the login's prefix is the app's.
    let Some(path) = paths::own(path) else { return gateway::app(req, env).await };
    // A flood is refused here, before any password hash, D1 or Duo.
    if let Some(group) = edge_core::flood::group_of(req.method().as_ref(), path)
        && !flood::allowed(env, group, &req).await
    {
        trace.because("flood");
        return flood::refused(group, path, &req);
    }
    let answer = |outcome| answer(outcome, trace);
    match (req.method(), path) {
        (Method::Get, paths::HEALTH) => health(env),
        (Method::Get, paths::JWKS) => gateway::jwks(env),
        (_, paths::VERIFY) => gateway::verify(req, env, Proxy::Forwarded).await,
        (_, paths::VERIFY_NGINX) => gateway::verify(req, env, Proxy::AuthRequest).await,
        (Method::Post, paths::LOGIN) => answer(routes::login(req, env, trace).await),
        (Method::Post, paths::STEP_UP) => answer(routes::step_up(req, env, trace).await),
        (Method::Get, paths::SESSION) => answer(routes::session(req, env).await),
        (Method::Post, paths::LOGOUT) => answer(routes::logout(req, env).await),
        (Method::Post, paths::LOGOUT_EVERYWHERE) => {
            answer(routes::logout_everywhere(req, env).await)
        }
        (Method::Post, paths::PASSWORD) => answer(routes::change_password(req, env).await),
        (Method::Post, paths::FORGET_BROWSER) => answer(routes::forget_browser(req, env).await),
        (Method::Get, paths::OWN_SESSIONS) => answer(routes::own_sessions(req, env).await),
        (Method::Post, paths::OWN_SESSIONS_END) => answer(routes::end_own(req, env).await),
        (Method::Get, admin::REMEMBERED) => answer(routes::admin_remembered(req, env, query).await),
        (Method::Post, admin::REMEMBERED_FORGET) => {
            answer(routes::admin_forget_browser(req, env).await)
        }
        (Method::Get, admin::USERS) => answer(routes::admin_users(req, env, query).await),
        (Method::Post, admin::USER_CHANGE) => answer(routes::admin_change_user(req, env).await),
        (Method::Post, admin::USER_ADD) => answer(routes::admin_add_user(req, env).await),
        (Method::Post, admin::USER_PASSWORD) => {
            answer(routes::admin_reset_password(req, env).await)
        }
        (Method::Post, admin::USER_DUO_CHECK) => {
            answer(routes::admin_duo_check(req, env, trace).await)
        }
        (Method::Get, policy::POLICIES) => answer(routes::admin_policies(req, env).await),
        (Method::Post, policy::POLICIES) => answer(routes::admin_save_policies(req, env).await),
        (Method::Post, policy::DRY_RUN) => answer(routes::admin_policies_dry_run(req, env).await),
        (Method::Get, admin::AUDIT) => answer(routes::admin_audit(req, env, query).await),
        (Method::Post, admin::AUDIT_CSV) => answer(routes::admin_audit_csv(req, env).await),
        (Method::Get, admin::OVERVIEW) => answer(routes::admin_overview(req, env).await),
        (Method::Get, admin::DUO) => answer(routes::admin_duo(req, env).await),
        (Method::Post, admin::DUO_TEST) => answer(routes::admin_duo_test(req, env, trace).await),
        (Method::Post, admin::DUO_ENFORCE) => answer(routes::admin_duo_enforce(req, env).await),
        (Method::Get, admin::SESSIONS) => answer(routes::admin_sessions(req, env, query).await),
        (Method::Post, admin::SESSION_REVOKE) => {
            answer(routes::admin_revoke_session(req, env).await)
        }
        (Method::Get, alert::ALERTS) => answer(alerts::view(req, env).await),
        (Method::Get, alert::DELIVERIES) => answer(alerts::deliveries(req, env, query).await),
        (Method::Post, alert::WEBHOOK_ADD) => answer(alerts::add(req, env).await),
        (Method::Post, alert::WEBHOOK_CHANGE) => answer(alerts::change(req, env).await),
        (Method::Post, alert::WEBHOOK_REMOVE) => answer(alerts::remove(req, env).await),
        (Method::Post, alert::WEBHOOK_TEST) => answer(alerts::test(req, env).await),
        (Method::Post, paths::DUO_START) => routes::start(req, env, trace).await,
        (Method::Post, paths::DUO_INLINE_START) => {
            answer(routes::inline_start(req, env, trace).await)
        }
        (Method::Post, paths::DUO_INLINE_STATUS) => {
            answer(routes::inline_status(req, env, trace).await)
        }
        (Method::Get, paths::DUO_CALLBACK) => routes::callback(req, env, query, trace).await,
        // Any other method or path under the API prefixes: a JSON 404.
        (_, other) if other.starts_with("/api/") || other.starts_with("/auth/") => not_found(),
        // The console's pages (`/admin/users/alice`): the console, which
        // shows the page its address names.
        (Method::Get | Method::Head, other) if paths::is_console_page(other) => {
            // (The origin cut by hand: `Url::parse` would link the url
            // crate's IDNA tables, about 80 KB of the Worker.)
            let after_scheme = url.find("://").map_or(0, |i| i + 3);
            let origin_end = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
            let console = format!("{}{}", &url[..origin_end], paths::at(paths::ADMIN_PAGE));
            env.assets(ASSETS_BINDING)?.fetch(console, None).await
        }
        // Everything else under the prefix is the SPA's: its pages and
        // files, in `dist/` under the same prefix.
        _ => env.assets(ASSETS_BINDING)?.fetch_request(req).await,
    }
}

/// The Cron Trigger (`[triggers]` in `wrangler.toml`): scheduled
/// maintenance ([`routes::maintain`]).
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    routes::maintain(&env).await;
}

/// The alerts' queue and its dead-letter queue ([`alerts::consume`]).
#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> Result<()> {
    alerts::consume(batch, &env).await;
    Ok(())
}

/// `GET /api/health`: `200 {"status":"ok","duo":...}` (`unknown` when
/// `DUO_FAILMODE=open`) or `503` naming the first setting that is missing
/// or invalid.
fn health(env: &Env) -> Result<Response> {
    let body = match gateway::settings(env) {
        Ok(settings) => HealthResponse::ok(routes::reachability(settings.0.fail_mode)),
        Err(problem) => {
            config::log_once(&problem);
            HealthResponse::config_error(problem.setting())
        }
    };
    let status = if body.is_ready() { 200 } else { 503 };
    respond::json(&body, status)
}

/// A handler's outcome as a response: errors become the contract's bodies,
/// their reason told to the request's log line.
fn answer(
    outcome: std::result::Result<Response, error::EdgeError>,
    trace: &Trace,
) -> Result<Response> {
    outcome.or_else(|error| {
        if let Some(reason) = error.reason() {
            trace.because(reason);
        }
        error.into_response()
    })
}

fn not_found() -> Result<Response> {
    respond::json(
        &ErrorBody { code: ErrorCode::BadRequest, message: "No such endpoint.".to_owned() },
        404,
    )
}
