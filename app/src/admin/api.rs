//! The console's one way to ask the Worker: a request's JSON answer, or
//! the Worker's refusal as a [`Problem`] (its words shown where the
//! Worker refuses an admin action), through one error mapping.

use gloo_net::http::{Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::ErrorCode;

use crate::api::{Words, problem_of};
use crate::messages::Problem;

/// The console shows the Worker's reason for refusing an admin action.
const REFUSALS: Words =
    Words::Refusal(|code| matches!(code, ErrorCode::Forbidden | ErrorCode::BadRequest));

/// An admin request's answer: its JSON body, or the Worker's refusal.
pub(super) async fn reply<T: DeserializeOwned>(
    sent: Result<Response, gloo_net::Error>,
) -> Result<T, Problem> {
    answered(sent).await?.json().await.map_err(|_| Problem::unexpected())
}

/// An admin request answered without a body (204), or the Worker's refusal.
pub(super) async fn done(sent: Result<Response, gloo_net::Error>) -> Result<(), Problem> {
    answered(sent).await.map(drop)
}

/// An admin request's successful response, or the Worker's refusal (not
/// generic: the refusal's mapping is compiled once, not per answer type).
async fn answered(sent: Result<Response, gloo_net::Error>) -> Result<Response, Problem> {
    let response = sent.map_err(|_| Problem::network())?;
    if response.ok() {
        return Ok(response);
    }
    let body = response.json().await.ok();
    Err(problem_of(response.status(), body, REFUSALS))
}

/// `POST path` with `body` as JSON.
/// A change the Worker first wants confirmed (`reauthentication_required`)
/// is confirmed in the dialog and sent again, as it was.
pub(super) async fn post_json<B: Serialize>(
    path: &str,
    body: &B,
) -> Result<Response, gloo_net::Error> {
    let response = Request::post(path).json(body)?.send().await?;
    if crate::reauth::asked(&response) && crate::reauth::confirm().await {
        return Request::post(path).json(body)?.send().await;
    }
    Ok(response)
}

/// `POST path` with `body` as JSON: its JSON answer, or the Worker's refusal.
pub(super) async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, Problem> {
    reply(post_json(path, body).await).await
}
