// A reference Worker for the benchmark of issue #10 (not the product): the
// product's Duo step, `POST /auth/duo/start` and `GET /auth/duo/callback`,
// written the plain way in JavaScript with `jose` and WebCrypto, so the Rust
// Worker (edge/) can be compared with it. It reads the product's login ticket
// (edge/src/cookie.rs) with the same SESSION_SECRET, uses the product's D1
// schema (migrations/) and its settings' names. See README.md.

import { SignJWT, base64url, jwtVerify } from "jose";

const LOGIN_COOKIE = "__Host-login";
const SESSION_COOKIE = "__Host-session";
const LOGIN_TTL_SECONDS = 300;
const LOGIN_MAX_SECONDS = 2 * LOGIN_TTL_SECONDS;
const MAX_COOKIE_LEN = 2048;
const CLOCK_SKEW_SECONDS = 60; // the login ticket's
const CLOCK_LEEWAY_SECONDS = 60; // the id_token's (exp, iat, nbf)
const JWT_LIFETIME_SECONDS = 300;
const HEALTH_MEMO_SECONDS = 60;
const DUO_TIMEOUT_MS = 10_000;
const DEFAULT_SESSION_TTL_SECONDS = 28_800;
const LOGIN_CONTEXT = new TextEncoder().encode("duo-edge-login/__Host-login/v1");
const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const USER_AGENT = "duo-edge-login-reference-worker";

// One memo per isolate, as in edge/src/duo.rs: a success is trusted for 60 s,
// a failure never.
let health = null;

// The login's prefix, as the product serves its paths (LOGIN_PREFIX).
const PREFIX = "/_login";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === `${PREFIX}/auth/duo/start` && request.method === "POST") {
      return step("duo_start", request, env, start);
    }
    if (url.pathname === `${PREFIX}/auth/duo/callback` && request.method === "GET") {
      return step("duo_callback", request, env, callback);
    }
    if (url.pathname === `${PREFIX}/api/health`) {
      return harden(Response.json({ status: "ok", duo: "unknown" }));
    }
    return harden(new Response("not found", { status: 404 }));
  },
};

/** A refusal: the contract's error code and a reason for the audit log. */
class Refusal extends Error {
  constructor(code, reason, detail) {
    super(detail ?? reason);
    this.code = code;
    this.reason = reason;
  }
}

const ERROR_OUTCOME = new Set(["duo_unavailable", "duo_error", "config_error", "internal"]);

async function step(name, request, env, handler) {
  const audit = {
    step: name,
    at: Math.floor(Date.now() / 1000),
    username: "",
    txid: null,
    clientIp: clientIp(request),
  };
  try {
    return await handler(request, env, audit);
  } catch (error) {
    const refusal =
      error instanceof Refusal ? error : new Refusal("internal", "internal", String(error));
    console.warn(`${name}: refused with ${refusal.code} (reason ${refusal.reason}): ${refusal.message}`);
    try {
      const outcome = ERROR_OUTCOME.has(refusal.code) ? "error" : "failure";
      await record(env.DB, audit, outcome, refusal.reason);
    } catch (e) {
      console.error(`${name}: audit event not written: ${e}`);
    }
    const response = redirect(`${PREFIX}/?error=${refusal.code}`);
    response.headers.append("Set-Cookie", clearCookie(LOGIN_COOKIE));
    return response;
  }
}

// POST /auth/duo/start
async function start(request, env, audit) {
  const config = loadConfig(env);
  if (request.headers.get("Origin") !== config.appOrigin) {
    throw new Refusal("forbidden_origin", "forbidden_origin");
  }
  const ticket = await loginTicket(request, config, audit.at);
  audit.username = normalize(ticket.u);
  const { duoName } = await duoUser(env.DB, ticket.u);
  await countDuoStart(env.DB, audit.username, config.duoStartLimit, audit.at);

  if (!healthIsFresh(audit.at)) {
    let reachable = false;
    let detail = "";
    try {
      const response = await duoPost(config, "/oauth/v1/health_check", {
        client_id: config.clientId,
        client_assertion: await clientAssertion(config, "/oauth/v1/health_check", audit.at),
      });
      const body = await response.json().catch(() => null);
      reachable = response.ok && body?.stat === "OK";
      detail = `health check: HTTP ${response.status}, stat ${body?.stat}`;
    } catch (error) {
      detail = `health check: ${error}`;
    }
    health = { at: audit.at, reachable };
    if (!reachable) {
      // DUO_FAILMODE=open is not part of the benchmark: refused either way.
      throw new Refusal("duo_unavailable", "duo_unreachable", detail);
    }
  }

  const state = randomToken();
  const nonce = randomToken();
  const request_jwt = await new SignJWT({
    response_type: "code",
    scope: "openid",
    redirect_uri: config.redirectUri,
    client_id: config.clientId,
    iss: config.clientId,
    aud: config.duoBase,
    exp: audit.at + JWT_LIFETIME_SECONDS,
    state,
    nonce,
    duo_uname: duoName,
    use_duo_code_attribute: true,
  })
    .setProtectedHeader({ alg: "HS512", typ: "JWT" })
    .sign(config.clientSecret);
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    request: request_jwt,
    nonce,
  });
  const authorize = `${config.duoBase}/oauth/v1/authorize?${query}`;

  const renewed = {
    u: ticket.u,
    iat: ticket.iat,
    exp: Math.min(audit.at + LOGIN_TTL_SECONDS, ticket.iat + LOGIN_MAX_SECONDS),
    state,
    nonce,
  };
  await record(env.DB, audit, "success", "redirect_to_duo");
  const response = redirect(authorize);
  const sealed = await seal(renewed, config.sessionKey);
  response.headers.append(
    "Set-Cookie",
    setCookie(LOGIN_COOKIE, sealed, Math.max(0, renewed.exp - audit.at)),
  );
  return response;
}

// GET /auth/duo/callback
async function callback(request, env, audit) {
  const config = loadConfig(env);
  const query = callbackQuery(new URL(request.url));
  let ticket = null;
  let ticketError = null;
  try {
    ticket = await loginTicket(request, config, audit.at);
    audit.username = normalize(ticket.u);
  } catch (error) {
    ticketError = error;
  }
  if (query.error !== null) {
    if (query.error === "access_denied") {
      throw new Refusal("duo_denied", "duo_access_denied", `Duo error ${query.error}`);
    }
    throw new Refusal("duo_error", "duo_error_redirect", `Duo error ${query.error}`);
  }
  if (ticketError) throw ticketError;

  if (!ticket.state || !ticket.nonce) throw new Refusal("state_mismatch", "duo_not_started");
  if (query.state === null) throw new Refusal("state_mismatch", "state_missing");
  if (!constantTimeEqual(ticket.state, query.state)) {
    throw new Refusal("state_mismatch", "state_mismatch");
  }
  if (!query.code) throw new Refusal("duo_error", "code_missing");

  // Single use: spent before the exchange, as ours.
  const spent = await env.DB.prepare(
    "INSERT INTO spent_states (state_hash, spent_at) VALUES (?1, ?2) " +
      "ON CONFLICT (state_hash) DO NOTHING RETURNING state_hash",
  )
    .bind(await hexSha256(new TextEncoder().encode(ticket.state)), audit.at)
    .first();
  if (spent === null) throw new Refusal("state_mismatch", "state_replayed");
  const { user, duoName } = await duoUser(env.DB, ticket.u);

  // The code exchange.
  let response;
  try {
    response = await duoPost(config, "/oauth/v1/token", {
      grant_type: "authorization_code",
      code: query.code,
      redirect_uri: config.redirectUri,
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await clientAssertion(config, "/oauth/v1/token", audit.at),
      client_id: config.clientId,
    });
  } catch (error) {
    throw new Refusal("duo_unavailable", "duo_unreachable", String(error));
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const code = response.status >= 500 ? "duo_unavailable" : "duo_error";
    throw new Refusal(code, body?.error ? "duo_oauth_error" : "duo_http_status");
  }
  if (
    typeof body?.id_token !== "string" ||
    typeof body.access_token !== "string" ||
    body.access_token === "" ||
    !(typeof body.expires_in === "number" && body.expires_in > 0) ||
    body.token_type !== "Bearer"
  ) {
    throw new Refusal("duo_error", "duo_malformed");
  }

  // The id_token: HS512 with the client secret, iss, aud, exp/nbf (jose),
  // then iat, nonce, preferred_username and auth_result here.
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(body.id_token, config.clientSecret, {
      algorithms: ["HS512"],
      issuer: [`https://${config.apiHost}/oauth/v1/token`, `${config.duoBase}/oauth/v1/token`],
      audience: config.clientId,
      clockTolerance: CLOCK_LEEWAY_SECONDS,
      currentDate: new Date(audit.at * 1000),
      requiredClaims: ["exp", "iat", "preferred_username"],
    }));
  } catch (error) {
    throw new Refusal("duo_error", "id_token_invalid", `${error.code}: ${error.message}`);
  }
  if (Array.isArray(claims.aud) && claims.aud.length !== 1) {
    throw new Refusal("duo_error", "id_token_audience");
  }
  if (claims.iat > audit.at + CLOCK_LEEWAY_SECONDS) {
    throw new Refusal("duo_error", "id_token_time");
  }
  if (claims.nonce === undefined || claims.nonce === null) {
    throw new Refusal("duo_error", "id_token_nonce");
  }
  if (typeof claims.nonce !== "string" || !constantTimeEqual(claims.nonce, ticket.nonce)) {
    throw new Refusal("duo_error", "id_token_nonce");
  }
  if (
    typeof claims.preferred_username !== "string" ||
    !constantTimeEqual(claims.preferred_username, duoName)
  ) {
    throw new Refusal("duo_error", "id_token_username");
  }
  const context = claims.auth_context ?? {};
  audit.txid = typeof context.txid === "string" ? context.txid : null;
  const status = claims.auth_result?.status;
  if (status !== "allow") {
    throw status === undefined
      ? new Refusal("duo_error", "id_token_invalid")
      : new Refusal("duo_denied", "duo_denied");
  }

  // The session: 32 random bytes in the cookie, their SHA-256 in D1.
  const id = crypto.getRandomValues(new Uint8Array(32));
  const ttl = config.sessionTtl;
  const details = {
    factor: stringOrNull(context.factor),
    device: stringOrNull(context.auth_device?.name),
    txid: audit.txid,
    result: stringOrNull(status),
  };
  await env.DB.prepare(
    "INSERT INTO sessions (id_hash, username, method, duo_context, created_at, expires_at) " +
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
  )
    .bind(await hexSha256(id), user.username, "duo", JSON.stringify(details), audit.at, audit.at + ttl)
    .run();
  await record(env.DB, audit, "success", "duo_allow");
  const done = redirect(`${PREFIX}/`);
  done.headers.append("Set-Cookie", setCookie(SESSION_COOKIE, base64url.encode(id), ttl));
  done.headers.append("Set-Cookie", clearCookie(LOGIN_COOKIE));
  return done;
}

// --- settings -------------------------------------------------------------

/** The settings, read on every request as ours does (no validation beyond what the flow needs). */
// Duo steps per user per 15-minute window, counted as the product counts
// them (edge/src/flow/limits.rs: one upsert with RETURNING, key `ds:<user>`).
async function countDuoStart(db, username, limit, now) {
  const windowStart = now - (now % 900);
  const row = await db
    .prepare(
      "INSERT INTO login_attempts (limit_key, window_start, count, updated_at) " +
        "VALUES (?1, ?2, 1, ?3) ON CONFLICT (limit_key, window_start) " +
        "DO UPDATE SET count = count + 1, updated_at = excluded.updated_at RETURNING count",
    )
    .bind(`ds:${username}`, windowStart, now)
    .first();
  if (row === null || row.count > limit) {
    throw new Refusal("rate_limited", "duo_start_limit", `${row?.count} Duo steps in the window`);
  }
}

function loadConfig(env) {
  const value = (name) => {
    const v = env[name];
    if (typeof v !== "string" || v.trim() === "") {
      throw new Refusal("config_error", "config_error", `${name} missing`);
    }
    return v.trim();
  };
  const clientId = value("DUO_CLIENT_ID");
  const secret = value("DUO_CLIENT_SECRET");
  const apiHost = value("DUO_API_HOST");
  if (clientId.length !== 20 || secret.length !== 40) {
    throw new Refusal("config_error", "config_error", "DUO_CLIENT_ID or DUO_CLIENT_SECRET");
  }
  let sessionKey;
  try {
    sessionKey = Uint8Array.from(atob(value("SESSION_SECRET")), (c) => c.charCodeAt(0));
  } catch {
    throw new Refusal("config_error", "config_error", "SESSION_SECRET");
  }
  if (sessionKey.length < 32) throw new Refusal("config_error", "config_error", "SESSION_SECRET");
  const appOrigin = value("APP_ORIGIN");
  const ttl = env.SESSION_TTL_SECONDS ? Number(env.SESSION_TTL_SECONDS) : DEFAULT_SESSION_TTL_SECONDS;
  const startLimit = env.DUO_START_LIMIT ? Number(env.DUO_START_LIMIT) : 5;
  // A loopback host:port is the local emulator, over http (as ours).
  const loopback = /^(127\.0\.0\.1|localhost):\d+$/.test(apiHost);
  return {
    clientId,
    clientSecret: new TextEncoder().encode(secret),
    apiHost,
    duoBase: `${loopback ? "http" : "https"}://${apiHost}`,
    appOrigin,
    redirectUri: `${appOrigin}${PREFIX}/auth/duo/callback`,
    sessionKey,
    sessionTtl: Number.isInteger(ttl) && ttl > 0 ? ttl : DEFAULT_SESSION_TTL_SECONDS,
    duoStartLimit: Number.isInteger(startLimit) && startLimit > 0 ? startLimit : 5,
  };
}

// --- the login ticket (edge/src/cookie.rs, byte for byte) -----------------

function findCookie(header, name) {
  for (const pair of header.split(";")) {
    const at = pair.indexOf("=");
    if (at >= 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return null;
}

async function ticketKey(keyBytes) {
  return crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** context || 0 || payload: what the ticket's HMAC covers. */
function macInput(payload) {
  const text = new TextEncoder().encode(payload);
  const input = new Uint8Array(LOGIN_CONTEXT.length + 1 + text.length);
  input.set(LOGIN_CONTEXT, 0);
  input.set(text, LOGIN_CONTEXT.length + 1);
  return input;
}

async function seal(ticket, keyBytes) {
  const payload = base64url.encode(JSON.stringify(ticket));
  const tag = await crypto.subtle.sign("HMAC", await ticketKey(keyBytes), macInput(payload));
  return `${payload}.${base64url.encode(new Uint8Array(tag))}`;
}

async function loginTicket(request, config, now) {
  const value = findCookie(request.headers.get("Cookie") ?? "", LOGIN_COOKIE);
  if (value === null) throw new Refusal("login_expired", "login_cookie_missing");
  const invalid = (detail) => new Refusal("login_expired", "login_cookie_invalid", detail);
  if (value.length > MAX_COOKIE_LEN) throw invalid("malformed login cookie");
  const dot = value.indexOf(".");
  if (dot < 0) throw invalid("malformed login cookie");
  const payload = value.slice(0, dot);
  let tag;
  try {
    tag = base64url.decode(value.slice(dot + 1));
  } catch {
    throw invalid("malformed login cookie");
  }
  // WebCrypto's verify compares in constant time.
  const key = await ticketKey(config.sessionKey);
  if (!(await crypto.subtle.verify("HMAC", key, tag, macInput(payload)))) {
    throw invalid("login cookie signature mismatch");
  }
  let ticket;
  try {
    ticket = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
  } catch {
    throw invalid("malformed login cookie");
  }
  if (
    typeof ticket?.u !== "string" ||
    !Number.isInteger(ticket.iat) ||
    !Number.isInteger(ticket.exp)
  ) {
    throw invalid("malformed login cookie");
  }
  if (ticket.iat > now + CLOCK_SKEW_SECONDS) throw invalid("login cookie issued in the future");
  if (now >= ticket.exp) throw new Refusal("login_expired", "login_cookie_expired");
  return ticket;
}

// --- D1 -------------------------------------------------------------------

/** crates/credentials' normalization: trimmed, ASCII lower-case, or "" when no user can have it. */
function normalize(typed) {
  const name = typed.trim();
  return /^[A-Za-z0-9._@+-]{1,64}$/.test(name) ? name.toLowerCase() : "";
}

async function duoUser(db, username) {
  const user = await db
    .prepare(
      "SELECT username, password_hash, duo_policy, disabled, duo_username FROM users " +
        "WHERE username_normalized = ?1",
    )
    .bind(normalize(username))
    .first();
  if (user === null || user.disabled !== 0) {
    throw new Refusal("login_expired", "user_unavailable");
  }
  const duoName = user.duo_username ? user.duo_username : user.username;
  return { user, duoName };
}

async function record(db, audit, outcome, reason) {
  await db
    .prepare(
      "INSERT INTO auth_events (at, username, step, outcome, reason, duo_txid, client_ip) " +
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(audit.at, audit.username, audit.step, outcome, reason, audit.txid, audit.clientIp)
    .run();
}

// --- Duo ------------------------------------------------------------------

function healthIsFresh(now) {
  return (
    health !== null && health.reachable && health.at <= now && now < health.at + HEALTH_MEMO_SECONDS
  );
}

async function clientAssertion(config, path, now) {
  return new SignJWT({
    iss: config.clientId,
    sub: config.clientId,
    aud: `${config.duoBase}${path}`,
    exp: now + JWT_LIFETIME_SECONDS,
    iat: now,
    jti: randomToken(),
  })
    .setProtectedHeader({ alg: "HS512", typ: "JWT" })
    .sign(config.clientSecret);
}

function duoPost(config, path, form) {
  return fetch(`${config.duoBase}${path}`, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "User-Agent": USER_AGENT,
    },
    body: new URLSearchParams(form).toString(),
    redirect: "manual",
    signal: AbortSignal.timeout(DUO_TIMEOUT_MS),
  });
}

function callbackQuery(url) {
  const query = { state: null, code: null, error: null };
  let duoCode = null;
  for (const [name, value] of url.searchParams) {
    if (name === "duo_code") duoCode = value;
    else if (name in query && query[name] === null) query[name] = value;
  }
  if (duoCode !== null) query.code = duoCode;
  return query;
}

// --- small helpers --------------------------------------------------------

/** 32 random bytes, base64url: 43 characters (state, nonce, jti). */
function randomToken() {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}

function constantTimeEqual(a, b) {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && crypto.subtle.timingSafeEqual(x, y);
}

async function hexSha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function stringOrNull(value) {
  return typeof value === "string" ? value : null;
}

function clientIp(request) {
  const header = request.headers.get("CF-Connecting-IP");
  return header ? header.trim() : null;
}

function setCookie(name, value, maxAge) {
  return `${name}=${value}; Max-Age=${maxAge}; Path=/; Secure; HttpOnly; SameSite=Lax`;
}

function clearCookie(name) {
  return setCookie(name, "", 0);
}

/** The headers every answer of ours carries (edge/src/respond.rs). */
function harden(response) {
  const headers = response.headers;
  headers.set("Cache-Control", "no-store");
  headers.set("Referrer-Policy", "no-referrer");
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("X-Frame-Options", "DENY");
  headers.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  headers.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  return response;
}

function redirect(location) {
  return harden(new Response(null, { status: 303, headers: { Location: location } }));
}
