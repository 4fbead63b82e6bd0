//! The console's one way to ask the Worker: a request's JSON answer, or
//! the Worker's refusal as a [`Problem`] (its words shown where the
//! Worker refuses an admin action), through one error mapping.

use gloo_net::http::{Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::{ErrorBody, ErrorCode};

use crate::messages::Problem;

/// An admin request's answer: its JSON body, or the Worker's refusal.
pub(super) async fn reply<T: DeserializeOwned>(
    sent: Result<Response, gloo_net::Error>,
) -> Result<T, Problem> {
    let response = sent.map_err(|_| Problem::network())?;
    if response.ok() {
        return response.json().await.map_err(|_| Problem::unexpected());
    }
    Err(problem_of(response).await)
}

/// An admin request answered without a body (204), or the Worker's refusal.
pub(super) async fn done(sent: Result<Response, gloo_net::Error>) -> Result<(), Problem> {
    let response = sent.map_err(|_| Problem::network())?;
    if response.ok() { Ok(()) } else { Err(problem_of(response).await) }
}

/// `POST path` with `body` as JSON.
pub(super) async fn post_json<B: Serialize>(
    path: &str,
    body: &B,
) -> Result<Response, gloo_net::Error> {
    Request::post(path).json(body)?.send().await
}

/// `POST path` with `body` as JSON: its JSON answer, or the Worker's refusal.
pub(super) async fn post<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, Problem> {
    reply(post_json(path, body).await).await
}

/// The Worker's refusal as the console shows it.
async fn problem_of(response: gloo_net::http::Response) -> Problem {
    match response.json::<ErrorBody>().await {
        Ok(body) => {
            // The console shows the Worker's reason for refusing an admin action.
            let said = matches!(body.code, ErrorCode::Forbidden | ErrorCode::BadRequest)
                .then_some(body.message);
            Problem::new(body.code).refused_with(said)
        }
        Err(_) => Problem::unexpected(),
    }
}
