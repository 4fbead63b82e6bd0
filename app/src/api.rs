//! Typed calls to the Worker, through `shared`'s routes and DTOs.
//!
//! Every failure becomes a [`Problem`]: a contract error code (or none, for a
//! network failure or an answer outside the contract) and, for rate limiting,
//! how long to wait. The SPA never shows raw error text from the wire.

use gloo_net::http::{Request, Response};
use shared::api::{
    DuoReachability, HealthResponse, InlineProgress, InlineStartRequest, LoginRequest,
    LoginResponse, Password, PasswordChangeRequest, SessionInfo, routes,
};
use shared::{ErrorBody, ErrorCode};

use crate::messages::Problem;

/// What the SPA knows about the service's readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Configuration is complete.
    Ready(DuoReachability),
    /// The Worker reports a setting missing or invalid (its name, never its value).
    Misconfigured { setting: Option<String> },
    /// No usable answer: network failure or a response outside the contract.
    Unreachable,
}

impl From<HealthResponse> for Health {
    fn from(body: HealthResponse) -> Self {
        if body.is_ready() {
            Self::Ready(body.duo.unwrap_or(DuoReachability::Unknown))
        } else {
            Self::Misconfigured { setting: body.setting }
        }
    }
}

/// `GET /api/health`. A `503` carries a body too, so the body decides.
pub async fn health() -> Health {
    let Ok(response) = Request::get(&routes::at(routes::HEALTH)).send().await else {
        return Health::Unreachable;
    };
    match response.json::<HealthResponse>().await {
        Ok(body) => body.into(),
        Err(_) => Health::Unreachable,
    }
}

/// A refusal of the password step: a `duo_denied` there is Duo refusing
/// the account before any request (inline preauth, a trusted browser Duo no
/// longer vouches for), shown with Duo's words.
async fn refused_at_sign_in(response: &gloo_net::http::Response) -> Problem {
    let problem = problem_from(response, Words::Duo(|code| code == ErrorCode::DuoDenied)).await;
    if problem.code == Some(ErrorCode::DuoDenied) {
        problem.with_denial(Some(shared::api::DuoDenial::Account))
    } else {
        problem
    }
}

/// `POST /api/login`: the first factor.
///
/// # Errors
/// The Worker's error (bad credentials, rate limiting, ...) or a network failure.
pub async fn login(
    username: String,
    password: String,
    return_to: Option<String>,
    fresh: bool,
) -> Result<LoginResponse, Problem> {
    let body = LoginRequest { username, password: Password::new(password), return_to, fresh };
    let request =
        Request::post(&routes::at(routes::LOGIN)).json(&body).map_err(|_| Problem::network())?;
    let response = request.send().await.map_err(|_| Problem::network())?;
    if response.ok() {
        response.json().await.map_err(|_| Problem::unexpected())
    } else {
        Err(refused_at_sign_in(&response).await)
    }
}

/// `POST /api/step-up`: through Duo again, the session standing in for
/// the password; answered as [`login`].
///
/// # Errors
/// The Worker's error (no session, a policy, Duo unavailable, ...) or a
/// network failure.
pub async fn step_up(return_to: Option<String>) -> Result<LoginResponse, Problem> {
    let body = shared::api::StepUpRequest { return_to };
    let request =
        Request::post(&routes::at(routes::STEP_UP)).json(&body).map_err(|_| Problem::network())?;
    let response = request.send().await.map_err(|_| Problem::network())?;
    if response.ok() {
        response.json().await.map_err(|_| Problem::unexpected())
    } else {
        Err(refused_at_sign_in(&response).await)
    }
}

/// `GET /api/session`: `Ok(None)` when nobody is signed in.
///
/// # Errors
/// Any answer but 200 and 401, or a network failure.
pub async fn session() -> Result<Option<SessionInfo>, Problem> {
    let response =
        Request::get(&routes::at(routes::SESSION)).send().await.map_err(|_| Problem::network())?;
    match response.status() {
        200 => response.json().await.map(Some).map_err(|_| Problem::unexpected()),
        401 => Ok(None),
        _ => Err(problem_from(&response, Words::None).await),
    }
}

/// `POST /api/logout`: ends the session on the server and clears its cookie.
///
/// # Errors
/// The Worker's error (e.g. `forbidden_origin`) or a network failure.
pub async fn logout() -> Result<(), Problem> {
    let response =
        Request::post(&routes::at(routes::LOGOUT)).send().await.map_err(|_| Problem::network())?;
    if response.ok() { Ok(()) } else { Err(problem_from(&response, Words::None).await) }
}

/// `POST /api/logout-everywhere`: ends every session of this user (other
/// browsers and devices too) and clears this one's cookie.
///
/// # Errors
/// The Worker's error (e.g. `forbidden_origin`) or a network failure.
pub async fn logout_everywhere() -> Result<(), Problem> {
    let request = Request::post(&routes::at(routes::LOGOUT_EVERYWHERE));
    let response = request.send().await.map_err(|_| Problem::network())?;
    if response.ok() { Ok(()) } else { Err(problem_from(&response, Words::None).await) }
}

/// `POST /api/password`: the signed-in user's own new password.
///
/// # Errors
/// The Worker's refusal in its words (a wrong current password, the
/// policy), rate limiting, or a network failure.
pub async fn change_password(current: String, new: String) -> Result<Option<String>, Problem> {
    let body = PasswordChangeRequest { current: Password::new(current), new: Password::new(new) };
    let request =
        Request::post(&routes::at(routes::PASSWORD)).json(&body).map_err(|_| Problem::network())?;
    let mut response = request.send().await.map_err(|_| Problem::network())?;
    if crate::reauth::asked(&response) && crate::reauth::confirm().await {
        let again = Request::post(&routes::at(routes::PASSWORD))
            .json(&body)
            .map_err(|_| Problem::network())?;
        response = again.send().await.map_err(|_| Problem::network())?;
    }
    if response.status() == 204 {
        return Ok(None);
    }
    if response.ok() {
        // Changed, with something to say (a breached password let through).
        let said: shared::api::PasswordChanged =
            response.json().await.map_err(|_| Problem::unexpected())?;
        return Ok(Some(said.warning));
    }
    // The Worker's words for a wrong current password or the policy.
    let words = Words::Refusal(|code| {
        matches!(code, ErrorCode::BadRequest | ErrorCode::InvalidCredentials)
    });
    Err(problem_from(&response, words).await)
}

/// `POST /api/remembered/forget`: Duo is asked again at the next sign-in
/// from this browser.
///
/// # Errors
/// The Worker's error or a network failure.
pub async fn forget_browser() -> Result<(), Problem> {
    let request = Request::post(&routes::at(routes::FORGET_BROWSER));
    let response = request.send().await.map_err(|_| Problem::network())?;
    if response.ok() { Ok(()) } else { Err(problem_from(&response, Words::None).await) }
}

/// `GET /api/sessions`: the user's own sessions and trusted browsers.
///
/// # Errors
/// `unauthenticated`, or a network failure.
pub async fn own_sessions() -> Result<shared::api::OwnSessions, Problem> {
    let response = Request::get(&routes::at(routes::OWN_SESSIONS))
        .send()
        .await
        .map_err(|_| Problem::network())?;
    if response.ok() {
        return response.json().await.map_err(|_| Problem::unexpected());
    }
    Err(problem_from(&response, Words::None).await)
}

/// `POST /api/sessions/end`: ends one of them.
///
/// # Errors
/// The Worker's refusal in its words (no longer one of theirs), or a network failure.
pub async fn end_own(kind: shared::api::OwnKind, id: String) -> Result<(), Problem> {
    let body = shared::api::EndOwnRequest { kind, id };
    let request = Request::post(&routes::at(routes::OWN_SESSIONS_END))
        .json(&body)
        .map_err(|_| Problem::network())?;
    let response = request.send().await.map_err(|_| Problem::network())?;
    if response.ok() {
        return Ok(());
    }
    Err(problem_from(&response, Words::Refusal(|code| code == ErrorCode::BadRequest)).await)
}

/// `POST /api/duo/inline/start`: start a factor (inline mode).
///
/// # Errors
/// The Worker's error, with Duo's words when it gave them, or a network failure.
pub async fn inline_start(body: &InlineStartRequest) -> Result<InlineProgress, Problem> {
    let request = Request::post(&routes::at(routes::DUO_INLINE_START))
        .json(body)
        .map_err(|_| Problem::network())?;
    inline_answer(request.send().await).await
}

/// `POST /api/duo/inline/status`: the started factor's next state (the
/// Worker holds the answer until something changes, up to its bound).
///
/// # Errors
/// As [`inline_start`].
pub async fn inline_status() -> Result<InlineProgress, Problem> {
    inline_answer(Request::post(&routes::at(routes::DUO_INLINE_STATUS)).send().await).await
}

async fn inline_answer(sent: Result<Response, gloo_net::Error>) -> Result<InlineProgress, Problem> {
    let response = sent.map_err(|_| Problem::network())?;
    if response.ok() {
        return response.json().await.map_err(|_| Problem::unexpected());
    }
    // Duo's own words, for the codes where Duo (or the factor) spoke.
    let words = Words::Duo(|code| {
        matches!(code, ErrorCode::DuoDenied | ErrorCode::BadRequest | ErrorCode::RateLimited)
    });
    Err(problem_from(&response, words).await)
}

/// Whose words an error body's `message` is, and for which codes the page
/// shows them (the predicate); for any other code the page says it in its
/// own words.
#[derive(Debug, Clone, Copy)]
pub enum Words {
    /// Never shown.
    None,
    /// Duo's (inline mode), shown under ours.
    Duo(fn(ErrorCode) -> bool),
    /// The Worker's reason for refusing an account change, shown as is.
    Refusal(fn(ErrorCode) -> bool),
}

/// An error response as the sign-in pages show it: [`problem_of`] its body,
/// with how long to wait (`Retry-After`: only the sign-in's steps are rate
/// limited).
pub async fn problem_from(response: &Response, words: Words) -> Problem {
    let retry_after = response.headers().get("retry-after").and_then(|v| v.trim().parse().ok());
    let body = response.json::<ErrorBody>().await.ok();
    problem_of(response.status(), body, words).with_retry_after(retry_after)
}

/// The one error mapping of the SPA and the console: an error response's
/// status and `{"code","message"}` body (`None`: none, or not the
/// contract's), with the message kept as `words` says. A 429 without a
/// body is still rate limiting.
pub fn problem_of(status: u16, body: Option<ErrorBody>, words: Words) -> Problem {
    let Some(body) = body else {
        return if status == 429 {
            Problem::new(ErrorCode::RateLimited)
        } else {
            Problem::unexpected()
        };
    };
    let problem = Problem::new(body.code);
    match words {
        Words::Duo(shown) if shown(body.code) => problem.with_said(Some(body.message)),
        Words::Refusal(shown) if shown(body.code) => problem.refused_with(Some(body.message)),
        _ => problem,
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn body(code: ErrorCode, message: &str) -> ErrorBody {
        ErrorBody { code, message: message.to_owned() }
    }

    #[wasm_bindgen_test]
    fn the_message_is_shown_only_for_the_codes_its_speaker_owns() {
        let duo = Words::Duo(|code| code == ErrorCode::DuoDenied);
        let denied =
            problem_of(403, Some(body(ErrorCode::DuoDenied, "Login request denied.")), duo);
        assert_eq!(denied.said.as_deref(), Some("Login request denied."));
        assert_eq!(
            denied.title(),
            Problem::new(ErrorCode::DuoDenied).title(),
            "Duo's words under ours"
        );
        let other = problem_of(500, Some(body(ErrorCode::Internal, "stack trace")), duo);
        assert_eq!(other.said, None, "never raw text for another code");
        let quiet =
            problem_of(403, Some(body(ErrorCode::DuoDenied, "Login request denied.")), Words::None);
        assert_eq!(quiet.said, None);

        let refusal = Words::Refusal(|code| code == ErrorCode::BadRequest);
        let refused = problem_of(
            400,
            Some(body(ErrorCode::BadRequest, "There is already a user named bob.")),
            refusal,
        );
        assert_eq!(refused.said.as_deref(), Some("There is already a user named bob."));
        assert_eq!(refused.title(), "That was not done.");
    }

    #[wasm_bindgen_test]
    fn an_answer_outside_the_contract_is_unexpected_unless_it_is_a_429() {
        assert_eq!(problem_of(502, None, Words::None), Problem::unexpected());
        assert_eq!(problem_of(429, None, Words::None).code, Some(ErrorCode::RateLimited));
    }
}
