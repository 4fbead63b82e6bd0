//! The gateway's adapter: a request for the app's paths (everything outside
//! the login's prefix) is forwarded with a signed assertion of who is
//! asking, or answered with the login (a navigation) or a 401. The
//! decisions are the core's ([`edge_core::gateway`]); here the session is
//! read, the assertion signed through `WebCrypto`, and the request and its
//! answer streamed between the browser and the app.

use std::cell::RefCell;
use std::rc::Rc;

use edge_core::config::{Config, ConfigProblem};
use edge_core::cookie::SESSION_COOKIE;
use edge_core::flow::store::ConsoleStore as _;
use edge_core::gateway::access::{AccessRules, Verdict};
use edge_core::gateway::assertion::{ASSERTION_HEADER, Claims, Identity, SigningInput};
use edge_core::gateway::cache::{self, SessionCache};
use edge_core::gateway::config::{GatewayConfig, UPSTREAM_BINDING, Upstream};
use edge_core::gateway::forward::{self, CHALLENGE, NotSignedIn};
use edge_core::gateway::forward_auth::{self, Original, Proxy, Refused};
use edge_core::headers;
use edge_core::keys::{IdHash, UserKey};
use edge_core::session::SessionId;
use shared::policy::PolicySet;
use shared::{ErrorBody, ErrorCode};
use wasm_bindgen::JsCast;
use worker::web_sys;
use worker::{Env, Fetch, Request, Response, Result};

use crate::d1::D1Store;
use crate::{config, request, respond, webcrypto};

thread_local! {
    /// The access rules and when they were read ([`access_rules`]).
    static ACCESS: RefCell<Option<(Rc<AccessRules>, u64)>> = const { RefCell::new(None) };
    /// Sessions this isolate has checked ([`cache`]): the steady state
    /// costs no D1 round trip.
    static SESSIONS: Rc<RefCell<SessionCache>> = Rc::new(RefCell::new(SessionCache::default()));
    /// The settings, parsed once per isolate (an isolate's environment
    /// never changes; a deploy starts new isolates).
    static SETTINGS: RefCell<Option<Rc<(Config, GatewayConfig)>>> = const { RefCell::new(None) };
}

/// The login's and the gateway's settings, parsed on first use (a problem
/// is not kept: it is read again at the next request).
///
/// # Errors
/// The first setting that is missing or invalid.
pub fn settings(env: &Env) -> std::result::Result<Rc<(Config, GatewayConfig)>, ConfigProblem> {
    if let Some(parsed) = SETTINGS.with(|s| s.borrow().clone()) {
        return Ok(parsed);
    }
    let config = config::from_env(env)?;
    let gateway = config::gateway_from_env(env, &config.app_origin)?;
    let parsed = Rc::new((config, gateway));
    SETTINGS.with(|s| *s.borrow_mut() = Some(Rc::clone(&parsed)));
    Ok(parsed)
}

/// Forgets the session `cookie` names in this isolate (signed out here),
/// and with `everywhere` every session of its user.
pub fn forget(identity_of: Option<&str>, everywhere: Option<&UserKey>) {
    SESSIONS.with(|sessions| {
        let mut sessions = sessions.borrow_mut();
        if let Some(id) = identity_of.and_then(SessionId::parse) {
            sessions.forget(&id.storage_key());
        }
        if let Some(user) = everywhere {
            sessions.forget_user(user);
        }
    });
}

/// Forgets the session named by its id's hash in this isolate (an admin
/// revoked it here).
pub fn forget_session(session: &IdHash) {
    SESSIONS.with(|sessions| sessions.borrow_mut().forget(session));
}

/// A 503 naming the setting that is missing or invalid (logged once).
fn misconfigured(problem: &ConfigProblem) -> Result<Response> {
    config::log_once(problem);
    let message = format!("The sign-in service is misconfigured: {}.", problem.setting());
    respond::json(&ErrorBody { code: ErrorCode::ConfigError, message }, 503)
}

/// Who is asking and what the path needs, decided; or the answer already
/// given (storage down, the assertion not signed).
enum Asking {
    /// Forwarded: with the identity and its assertion when signed in.
    Forward(Option<(Identity, String)>),
    /// Refused by the access rules (or nobody signed in).
    Refused(Verdict),
    Answered(Response),
}

fn failed(what: &str, why: &str) -> Result<Asking> {
    worker::console_error!("gateway: {what}: {why}");
    let body = error(ErrorCode::Internal, "Try again in a moment.");
    Ok(Asking::Answered(respond::json(&body, 500)?))
}

/// Reads the session cookie and the access rules, decides whether
/// `method` on `path` goes on, and signs the assertion for a signed-in user
/// whose request does.
async fn asking(
    req: &Request,
    env: &Env,
    (config, gateway): &(Config, GatewayConfig),
    method: &str,
    path: &str,
) -> Result<Asking> {
    let now = request::now();
    let store = D1Store::from_env(env)?;
    let cookie = request::cookie(req, SESSION_COOKIE);
    let sessions = SESSIONS.with(Rc::clone);
    let recheck = gateway.recheck_seconds;
    let identity = match cache::identify(&sessions, &store, cookie.as_deref(), now, recheck).await {
        Ok(identity) => identity,
        Err(refusal) => {
            return failed(
                "the session could not be read",
                refusal.detail.as_deref().unwrap_or("-"),
            );
        }
    };
    let rules = match access_rules(&store, now, recheck).await {
        Ok(rules) => rules,
        Err(why) => return failed("the access rules could not be read", &why),
    };
    let verdict = rules.verdict(method, path, identity.as_ref(), now);
    let Some(identity) = identity.filter(|_| verdict == Verdict::Forward) else {
        return Ok(match verdict {
            Verdict::Forward => Asking::Forward(None),
            refused => Asking::Refused(refused),
        });
    };
    let ttl = gateway.assertion_ttl_seconds;
    let kept = sessions.borrow().assertion(&identity, now, ttl).map(str::to_owned);
    if let Some(assertion) = kept {
        return Ok(Asking::Forward(Some((identity, assertion))));
    }
    match sign(gateway, &identity, config.app_origin.as_str(), now).await {
        Ok((assertion, expires)) => {
            sessions.borrow_mut().keep_assertion(&identity, assertion.clone(), expires);
            Ok(Asking::Forward(Some((identity, assertion))))
        }
        Err(why) => failed("the assertion could not be signed", &why),
    }
}

/// The access rules of the stored policies, read at most once per
/// `recheck` seconds in this isolate (a save here forgets them at once).
async fn access_rules(
    store: &D1Store,
    now: u64,
    recheck: u64,
) -> std::result::Result<Rc<AccessRules>, String> {
    let kept = ACCESS.with(|kept| kept.borrow().clone());
    if let Some((rules, read_at)) = kept
        && now >= read_at
        && now < read_at.saturating_add(recheck)
    {
        return Ok(rules);
    }
    let stored = store.policies().await.map_err(|e| e.to_string())?;
    let set: PolicySet = serde_json::from_str(&stored.document).map_err(|e| e.to_string())?;
    let rules = Rc::new(AccessRules::compile(&set.access)?);
    ACCESS.with(|kept| *kept.borrow_mut() = Some((Rc::clone(&rules), now)));
    Ok(rules)
}

/// Forgets the access rules read in this isolate (the policies were saved
/// here).
pub fn forget_access_rules() {
    ACCESS.with(|kept| *kept.borrow_mut() = None);
}

/// A request for one of the app's paths.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub async fn app(req: Request, env: &Env) -> Result<Response> {
    let settings = match settings(env) {
        Ok(settings) => settings,
        Err(problem) => return misconfigured(&problem),
    };
    let url = request::url(&req);
    let (path, query) = headers::path_and_query(&url);
    let upstream = &settings.1.upstream;
    let target = match upstream {
        Upstream::Origin(origin) if query.is_empty() => format!("{origin}{path}"),
        Upstream::Origin(origin) => format!("{origin}{path}?{query}"),
        Upstream::Binding => url.clone(),
        Upstream::ForwardAuthOnly => return no_app(),
    };
    let method = req.inner().method();
    let signed = match asking(&req, env, &settings, &method, path).await? {
        Asking::Forward(signed) => signed,
        Asking::Refused(verdict) => return refused(&req, &verdict),
        Asking::Answered(response) => return Ok(response),
    };
    let accepts = request::header(&req, "Accept-Encoding");
    let forwarded = upstream_request(&req, &target, signed.as_ref())?;
    let answer = match upstream {
        Upstream::Binding => env.service(UPSTREAM_BINDING)?.fetch_request(forwarded).await,
        _ => Fetch::Request(forwarded).send().await,
    };
    match answer {
        Ok(response) => passed_back(response, accepts.as_deref()),
        Err(why) => {
            worker::console_error!("gateway: the app did not answer: {why}");
            respond::json(&error(ErrorCode::Internal, "The app did not answer."), 502)
        }
    }
}

/// `GET {prefix}/jwks.json`: the public keys the app verifies assertions
/// with (current, next, previous), cacheable for five minutes: a key is
/// published as `next` longer than that before it signs.
///
/// # Errors
/// Only when the runtime cannot build a response.
pub fn jwks(env: &Env) -> Result<Response> {
    match settings(env) {
        Ok(settings) => {
            let mut response = Response::from_json(&settings.1.keys.jwks())?;
            response.headers_mut().set("Cache-Control", "public, max-age=300")?;
            Ok(response)
        }
        Err(problem) => misconfigured(&problem),
    }
}

/// Any method on `{prefix}/verify` (Traefik, Caddy) or
/// `{prefix}/verify/nginx`: forward-auth for a proxy in front of the app.
/// For the request the proxy names ([`Original`]; 400 when it names none),
/// decided by the same access rules: 200 with the assertion and the plain
/// identity headers (empty when nobody is signed in on a public path: the
/// proxy copies them over whatever the client sent), 403, or what
/// [`forward_auth::refused`] decides for a request that must sign in
/// (again, for a fresh Duo approval).
///
/// # Errors
/// Only when the runtime cannot build a response.
pub async fn verify(req: Request, env: &Env, proxy: Proxy) -> Result<Response> {
    let named = |name: &str| request::header(&req, name);
    let (uri, method) = match proxy {
        Proxy::AuthRequest => (named("X-Original-URI"), named("X-Original-Method")),
        Proxy::Forwarded => (named("X-Forwarded-Uri"), named("X-Forwarded-Method")),
    };
    let Some(original) = Original::named(proxy, uri.as_deref(), method.as_deref()) else {
        let message = match proxy {
            Proxy::AuthRequest => "Name the request with X-Original-URI and X-Original-Method.",
            Proxy::Forwarded => "Name the request with X-Forwarded-Uri and X-Forwarded-Method.",
        };
        return respond::json(&error(ErrorCode::BadRequest, message), 400);
    };
    let settings = match settings(env) {
        Ok(settings) => settings,
        Err(problem) => return misconfigured(&problem),
    };
    let verdict = match asking(&req, env, &settings, &original.method, original.path()).await? {
        Asking::Forward(signed) => {
            let mut response = Response::empty()?.with_status(200);
            let headers = response.headers_mut();
            headers.set(ASSERTION_HEADER, signed.as_ref().map_or("", |(_, a)| a.as_str()))?;
            for (name, value) in forward::plain_headers_of(signed.as_ref().map(|(i, _)| i)) {
                headers.set(name, &value)?;
            }
            headers.set("Cache-Control", "no-store")?;
            return Ok(response);
        }
        Asking::Answered(response) => return Ok(response),
        Asking::Refused(verdict) => verdict,
    };
    if let Verdict::Forbidden(reason) = verdict {
        return forbidden(reason);
    }
    let (mode, accept) = (named("Sec-Fetch-Mode"), named("Accept"));
    let decided = forward_auth::refused(&original, mode.as_deref(), accept.as_deref());
    let again = |location: String| {
        if verdict == Verdict::StepUp { forward::fresh_approval(&location) } else { location }
    };
    let (status, location) = match decided {
        Refused::Redirect(location) => (302, Some(again(location))),
        Refused::UnauthorizedWithLogin(location) => (401, Some(again(location))),
        Refused::Unauthorized => (401, None),
    };
    let body = error(ErrorCode::Unauthenticated, unauthenticated(&verdict));
    let mut response = respond::json(&body, status)?;
    let headers = response.headers_mut();
    if let Some(location) = location {
        headers.set("Location", &location)?;
    }
    headers.set("WWW-Authenticate", CHALLENGE)?;
    headers.set("Cache-Control", "no-store")?;
    Ok(response)
}

/// What a 401 says.
fn unauthenticated(verdict: &Verdict) -> &'static str {
    if *verdict == Verdict::StepUp {
        "This needs a fresh Duo approval: sign in again."
    } else {
        "Sign in first."
    }
}

/// 403 with `reason`.
fn forbidden(reason: &str) -> Result<Response> {
    let mut response = respond::json(&error(ErrorCode::Forbidden, reason), 403)?;
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}

/// An app's path when the app is behind another proxy (`UPSTREAM_URL=none`).
fn no_app() -> Result<Response> {
    let message = "This login protects its app through forward-auth: the app is served by the \
                   proxy in front of it.";
    respond::json(&error(ErrorCode::BadRequest, message), 404)
}

fn error(code: ErrorCode, message: &str) -> ErrorBody {
    ErrorBody { code, message: message.to_owned() }
}

/// A request the access rules refused: 403, or the login (a navigation;
/// asking for a fresh Duo approval on a step-up) or a 401.
fn refused(req: &Request, verdict: &Verdict) -> Result<Response> {
    if let Verdict::Forbidden(reason) = verdict {
        return forbidden(reason);
    }
    let url = request::url(req);
    let (path, query) = headers::path_and_query(&url);
    let path_and_query = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
    let method = req.inner().method();
    let mode = request::header(req, "Sec-Fetch-Mode");
    let accept = request::header(req, "Accept");
    match forward::not_signed_in(&method, mode.as_deref(), accept.as_deref(), &path_and_query) {
        NotSignedIn::Login(location) => {
            let location = if *verdict == Verdict::StepUp {
                forward::fresh_approval(&location)
            } else {
                location
            };
            let mut response = respond::redirect(&location)?.with_status(302);
            response.headers_mut().set("Cache-Control", "no-store")?;
            Ok(response)
        }
        NotSignedIn::Unauthorized => {
            let body = error(ErrorCode::Unauthenticated, unauthenticated(verdict));
            let mut response = respond::json(&body, 401)?;
            response.headers_mut().set("WWW-Authenticate", CHALLENGE)?;
            response.headers_mut().set("Cache-Control", "no-store")?;
            Ok(response)
        }
    }
}

/// The assertion for `identity`, signed with the current key, and when it
/// expires.
async fn sign(
    gateway: &GatewayConfig,
    identity: &Identity,
    issuer: &str,
    now: u64,
) -> std::result::Result<(String, u64), String> {
    let key = gateway.keys.current();
    let mut jti = [0u8; 16];
    getrandom::getrandom(&mut jti).map_err(|e| e.to_string())?;
    let ttl = gateway.assertion_ttl_seconds;
    let claims = Claims::new(identity, issuer, &gateway.audience, now, ttl, &jti);
    let input = SigningInput::new(key, &claims);
    let signature = webcrypto::es256_sign(key.kid(), key.private_jwk(), input.as_bytes()).await?;
    let expires = claims.exp;
    let token =
        input.signed(&signature).ok_or_else(|| "a signature of the wrong length".to_owned())?;
    Ok((token, expires))
}

/// The request the app gets: the browser's method, headers (less the
/// login's cookies and any identity header) and body (a stream, never
/// read here), plus the assertion and the plain identity headers.
fn upstream_request(
    req: &Request,
    target: &str,
    signed: Option<&(Identity, String)>,
) -> Result<Request> {
    let inner = req.inner();
    // A copy less what must not cross: one call per dropped name, not
    // two per header.
    let headers = web_sys::Headers::new_with_headers(&inner.headers())?;
    for name in forward::NOT_FORWARDED {
        headers.delete(name)?;
    }
    // And any of them spelled with `_` for `-`, which CGI-style servers
    // read as the same header.
    for name in inner.headers().keys().into_iter().filter_map(|key| key.ok()?.as_string()) {
        if name.contains('_') && !forward::forwards_header(&name) {
            headers.delete(&name)?;
        }
    }
    if let Some(cookies) = request::header(req, "Cookie").and_then(|c| forward::app_cookies(&c)) {
        headers.set("Cookie", &cookies)?;
    }
    if let Some((identity, assertion)) = signed {
        headers.set(ASSERTION_HEADER, assertion)?;
        for (name, value) in forward::plain_headers(identity) {
            headers.set(name, &value)?;
        }
    }
    let init = web_sys::RequestInit::new();
    init.set_method(&inner.method());
    init.set_headers(&headers);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    // Never from a cache on the way (an origin behind Cloudflare): the
    // answer may be this user's alone, and a cache keys on neither the
    // assertion nor the cookies.
    js_sys::Reflect::set(&init, &"cache".into(), &"no-store".into())?;
    if let Some(body) = inner.body() {
        init.set_body(&body);
    }
    Ok(Request::from(web_sys::Request::new_with_str_and_init(target, &init)?))
}

/// The app's answer as the browser gets it: streamed, without any
/// `Set-Cookie` for one of the login's cookies, and without a
/// `Content-Encoding` the client did not ask for (the runtime's fetch asks
/// the app for br or gzip and decodes the body; the header left on would
/// make the runtime encode it again for a client that cannot read it). A
/// WebSocket upgrade passes as it is.
fn passed_back(response: Response, accepts: Option<&str>) -> Result<Response> {
    if response.status_code() == 101 {
        // The handshake cannot be rebuilt without losing the socket: one
        // that would set a login cookie is not passed on at all.
        let sets_login_cookie = response.headers().entries().any(|(name, value)| {
            name.eq_ignore_ascii_case("set-cookie") && !forward::passes_set_cookie(&value)
        });
        if sets_login_cookie {
            worker::console_error!("gateway: the app's WebSocket answer sets a login cookie");
            return respond::json(&error(ErrorCode::Internal, "The app did not answer."), 502);
        }
        return Ok(response);
    }
    let coding = response.headers().get("content-encoding")?;
    let unreadable = coding.is_some_and(|c| !forward::accepts_encoding(accepts, &c));
    let blocked = response.headers().has("set-cookie")?
        && response.headers().entries().any(|(name, value)| {
            name.eq_ignore_ascii_case("set-cookie") && !forward::passes_set_cookie(&value)
        });
    if !unreadable && !blocked {
        return Ok(response);
    }
    let inner: web_sys::Response = response.into();
    let headers = web_sys::Headers::new()?;
    let entries = js_sys::try_iter(&inner.headers())?.into_iter().flatten();
    for entry in entries {
        let pair: js_sys::Array = entry?.dyn_into()?;
        let (name, value) = (pair.get(0).as_string(), pair.get(1).as_string());
        let (Some(name), Some(value)) = (name, value) else { continue };
        let dropped = (name.eq_ignore_ascii_case("set-cookie")
            && !forward::passes_set_cookie(&value))
            || (unreadable && name.eq_ignore_ascii_case("content-encoding"));
        if !dropped {
            headers.append(&name, &value)?;
        }
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(inner.status());
    init.set_status_text(&inner.status_text());
    init.set_headers(&headers);
    let rebuilt =
        web_sys::Response::new_with_opt_readable_stream_and_init(inner.body().as_ref(), &init)?;
    Ok(Response::from(rebuilt))
}
