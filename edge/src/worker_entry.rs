//! The Worker's entry point: the router over [`crate::routes`].

use shared::api::{HealthResponse, routes as paths};
use shared::{ErrorBody, ErrorCode};
use worker::{Context, Env, Request, Response, Result, Router, event};

use crate::{config, error, respond, routes};

/// Binding name of the SPA's static assets (`[assets]` in `wrangler.toml`).
const ASSETS_BINDING: &str = "ASSETS";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Router::new()
        .get(paths::HEALTH, |_, ctx| health(&ctx.env))
        .post_async(
            paths::LOGIN,
            |req, ctx| async move { answer(routes::login(req, &ctx.env).await) },
        )
        .get_async(paths::SESSION, |req, ctx| async move {
            answer(routes::session(req, &ctx.env).await)
        })
        .post_async(
            paths::LOGOUT,
            |req, ctx| async move { answer(routes::logout(req, &ctx.env).await) },
        )
        .post_async(paths::LOGOUT_EVERYWHERE, |req, ctx| async move {
            answer(routes::logout_everywhere(req, &ctx.env).await)
        })
        .post_async(paths::DUO_START, |req, ctx| async move { routes::start(req, &ctx.env).await })
        .get_async(
            paths::DUO_CALLBACK,
            |req, ctx| async move { routes::callback(req, &ctx.env).await },
        )
        .or_else_any_method_async("/api/*rest", |_, _| async { not_found() })
        .or_else_any_method_async("/auth/*rest", |_, _| async { not_found() })
        .or_else_any_method_async("/*rest", |req, ctx| async move {
            ctx.env.assets(ASSETS_BINDING)?.fetch_request(req).await
        })
        .run(req, env)
        .await
}

/// `GET /api/health`: `200 {"status":"ok","duo":...}` (`unknown` when
/// `DUO_FAILMODE=open`) or `503` naming the first setting that is missing
/// or invalid.
fn health(env: &Env) -> Result<Response> {
    let body = match config::Config::from_env(env) {
        Ok(config) => HealthResponse::ok(routes::reachability(config.fail_mode)),
        Err(problem) => {
            config::log_once(&problem);
            HealthResponse::config_error(problem.setting())
        }
    };
    let status = if body.is_ready() { 200 } else { 503 };
    respond::json(&body, status)
}

/// A handler's outcome as a response: errors become the contract's bodies.
fn answer(outcome: std::result::Result<Response, error::EdgeError>) -> Result<Response> {
    outcome.or_else(error::EdgeError::into_response)
}

fn not_found() -> Result<Response> {
    respond::json(
        &ErrorBody { code: ErrorCode::BadRequest, message: "No such endpoint.".to_owned() },
        404,
    )
}
