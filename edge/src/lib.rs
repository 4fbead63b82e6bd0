//! The Worker.
//!
//! Thin entry point and router; each concern lives in its own module:
//! [`config`] reads settings, [`respond`] builds responses with the headers
//! every answer carries, [`auth`] is the first factor and sessions (with
//! [`cookie`], [`session`], [`ratelimit`] and [`store`]), [`duo`] is the
//! Duo step (over [`duo_transport`]), [`error`] turns
//! failures into the contract's error bodies. Static assets (the SPA) are served by the Workers
//! assets binding; only `/api/*` and `/auth/*` reach this code
//! (`run_worker_first` in `wrangler.toml`), and anything else that does is
//! handed to the assets binding.

pub mod auth;
pub mod config;
pub mod cookie;
pub mod duo;
pub mod duo_transport;
pub mod error;
pub mod password;
pub mod ratelimit;
pub mod respond;
pub mod session;
pub mod store;

use shared::api::{HealthResponse, routes};
use shared::{ErrorBody, ErrorCode};
use worker::{Context, Env, Request, Response, Result, Router, event};

/// Binding name of the SPA's static assets (`[assets]` in `wrangler.toml`).
const ASSETS_BINDING: &str = "ASSETS";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Router::new()
        .get(routes::HEALTH, |_, ctx| health(&ctx.env))
        .post_async(
            routes::LOGIN,
            |req, ctx| async move { answer(auth::login(req, &ctx.env).await) },
        )
        .get_async(
            routes::SESSION,
            |req, ctx| async move { answer(auth::session(req, &ctx.env).await) },
        )
        .post_async(
            routes::LOGOUT,
            |req, ctx| async move { answer(auth::logout(req, &ctx.env).await) },
        )
        .post_async(routes::DUO_START, |req, ctx| async move { duo::start(req, &ctx.env).await })
        .get_async(
            routes::DUO_CALLBACK,
            |req, ctx| async move { duo::callback(req, &ctx.env).await },
        )
        .or_else_any_method_async("/api/*rest", |_, _| async { not_found() })
        .or_else_any_method_async("/auth/*rest", |_, _| async { not_found() })
        .or_else_any_method_async("/*rest", |req, ctx| async move {
            ctx.env.assets(ASSETS_BINDING)?.fetch_request(req).await
        })
        .run(req, env)
        .await
}

/// `GET /api/health`: `200 {"status":"ok","duo":...}` or `503` naming the
/// first setting that is missing or invalid.
fn health(env: &Env) -> Result<Response> {
    let body = match config::check(env) {
        Ok(()) => HealthResponse::ok(duo::reachability()),
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
