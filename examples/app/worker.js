// The example app behind the login (issue #24): a small Worker that knows who
// is asking only from the signed assertion the login adds to every request it
// forwards (`Duo-Login-Assertion`, a JWT signed with ES256), verified with
// `jose` against the keys the login publishes at /_login/jwks.json. The plain
// `Duo-Login-User` and `Duo-Login-Role` headers are never read: anything that
// reaches the app without passing the login could send them. See README.md.

import { createRemoteJWKSet, errors, jwtVerify } from "jose";

const ASSERTION_HEADER = "Duo-Login-Assertion";
// The login's own paths (its pages, API and keys) are under this prefix.
const LOGIN_PREFIX = "/_login";
// Clocks on the login and on the app may differ by a few seconds.
const CLOCK_TOLERANCE_SECONDS = 10;
// The login's assertions live at most 5 minutes (GATEWAY_ASSERTION_TTL_SECONDS).
const MAX_TOKEN_AGE_SECONDS = 300;
// Every claim the login puts in an assertion.
const REQUIRED_CLAIMS = [
  "iss", "aud", "sub", "username", "role", "amr", "method", "auth_time", "sid", "iat", "exp", "jti",
];
const ROLES = new Set(["user", "admin"]);

// The login's keys, fetched on first use and cached by jose for this isolate
// (refetched after 10 minutes, or when a token names a key it has not seen:
// the login's next key after a rotation).
let remote = null;

/** jose could not get the login's keys (network, status, not a key set). */
class KeysUnavailable extends Error {}

// Errors of choosing a key from a set that was fetched; any other error from
// the key set means the set itself could not be had.
const KEY_CHOICE_CODES = new Set([
  "ERR_JWKS_NO_MATCHING_KEY",
  "ERR_JWKS_MULTIPLE_MATCHING_KEYS",
  "ERR_JOSE_NOT_SUPPORTED",
  "ERR_JWK_INVALID",
]);

export default {
  async fetch(request, env) {
    let settings;
    try {
      settings = settingsOf(env);
    } catch (error) {
      console.error(`example app: ${error.message}`);
      return page(500, "Not configured", `<p>${escape(error.message)}</p>`);
    }
    const url = new URL(request.url);
    const route = ROUTES[url.pathname];
    if (!route) {
      return page(404, "Not found", `<p>There is no page at <code>${escape(url.pathname)}</code>.</p>`);
    }
    if (route.getOnly && request.method !== "GET" && request.method !== "HEAD") {
      const response = page(405, "Method not allowed", "<p>This page is read with GET.</p>");
      response.headers.set("Allow", "GET, HEAD");
      return response;
    }
    const identity = await verify(request, settings);
    return route.handle({ request, url, settings, identity });
  },
};

/** LOGIN_ORIGIN, AUDIENCE and JWKS_URL, checked; an error names the setting. */
function settingsOf(env) {
  const loginOrigin = origin(env.LOGIN_ORIGIN, "LOGIN_ORIGIN");
  const audience = (env.AUDIENCE ?? "").trim();
  if (!audience) {
    throw new Error("AUDIENCE is not set (the login's GATEWAY_AUDIENCE, by default its origin)");
  }
  const jwksText = (env.JWKS_URL ?? "").trim() || `${loginOrigin}${LOGIN_PREFIX}/jwks.json`;
  let jwksUrl;
  try {
    jwksUrl = new URL(jwksText);
  } catch {
    throw new Error("JWKS_URL is not a URL");
  }
  return { loginOrigin, audience, jwksUrl };
}

function origin(value, name) {
  const text = (value ?? "").trim();
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${name} is not set to an origin like https://login.example.com`);
  }
  if (url.origin === "null" || text.replace(/\/$/, "") !== url.origin) {
    throw new Error(`${name} must be an origin like https://login.example.com (no path)`);
  }
  return url.origin;
}

function keySet(jwksUrl) {
  if (remote?.href !== jwksUrl.href) {
    const set = createRemoteJWKSet(jwksUrl);
    const key = async (header, token) => {
      try {
        return await set(header, token);
      } catch (error) {
        if (KEY_CHOICE_CODES.has(error?.code)) throw error;
        throw new KeysUnavailable(`the keys at ${jwksUrl.href} could not be fetched`, {
          cause: error,
        });
      }
    };
    remote = { href: jwksUrl.href, key };
  }
  return remote.key;
}

/**
 * Who the request's assertion says is signed in:
 * `{ verified: true, claims }`, `{ verified: false, reason, detail }` (no
 * assertion, or jose refused it; `detail` is jose's message, never the
 * token), or `{ verified: false, reason: "keys_unavailable", detail }`.
 */
async function verify(request, settings) {
  const token = request.headers.get(ASSERTION_HEADER);
  if (!token) {
    return { verified: false, present: false, reason: "missing", detail: `no ${ASSERTION_HEADER} header` };
  }
  try {
    const { payload } = await jwtVerify(token, keySet(settings.jwksUrl), {
      issuer: settings.loginOrigin,
      audience: settings.audience,
      algorithms: ["ES256"],
      typ: "JWT",
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: MAX_TOKEN_AGE_SECONDS,
      requiredClaims: REQUIRED_CLAIMS,
    });
    if (!ROLES.has(payload.role) || !Array.isArray(payload.amr)) {
      return refused("claims", 'unexpected "role" or "amr" claim value');
    }
    return { verified: true, present: true, claims: payload };
  } catch (error) {
    if (error instanceof KeysUnavailable) {
      console.error(`example app: ${error.message}: ${error.cause}`);
      return refused("keys_unavailable", error.message);
    }
    if (!(error instanceof errors.JOSEError)) throw error;
    const reason = reasonOf(error);
    console.warn(`example app: assertion refused (${reason}): ${error.message}`);
    return refused(reason, error.message);
  }
}

function refused(reason, detail) {
  return { verified: false, present: true, reason, detail };
}

/** A short, stable name for what jose refused. */
function reasonOf(error) {
  switch (error.code) {
    case "ERR_JWT_EXPIRED":
      return "expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return { aud: "audience", iss: "issuer", typ: "type", nbf: "not_yet_valid" }[error.claim] ?? "claims";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "signature";
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return "unknown_key";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "algorithm";
    default:
      return "malformed";
  }
}

const REASONS = {
  missing: "no assertion came with the request: it did not pass through the login",
  expired: "the assertion has expired",
  audience: "the assertion is meant for another app (audience)",
  issuer: "the assertion was issued by someone else (issuer)",
  type: "the token is not a JWT assertion",
  not_yet_valid: "the assertion is not valid yet",
  claims: "the assertion's claims are not the login's",
  signature: "the assertion's signature does not verify",
  unknown_key: "the assertion is signed with a key the login does not publish",
  algorithm: "the assertion is not signed with ES256",
  malformed: "the assertion is not a well-formed JWT",
};

const ROUTES = {
  "/": { getOnly: true, handle: home },
  "/me": { getOnly: true, handle: me },
  "/admin": { getOnly: true, handle: admin },
  "/payments": { getOnly: true, handle: payments },
  "/api/whoami": { getOnly: true, handle: whoami },
  "/debug/received": { getOnly: false, handle: received },
};

const SIGN_IN = `${LOGIN_PREFIX}/?return_to=%2Fme`;

function home({ identity }) {
  if (identity.reason === "keys_unavailable") return keysUnavailable(identity);
  const who = identity.verified
    ? `<p>Signed in as <strong>${escape(identity.claims.username)}</strong> (${escape(identity.claims.role)}).</p>`
    : `<p>Not signed in. <a href="${SIGN_IN}">Sign in</a></p>`;
  return page(
    200,
    "Example app",
    `${who}
<p>A small app behind the Duo login. It trusts only the signed assertion the login adds to each
request, verified with <code>jose</code> against the login's published keys.</p>
<ul>
  <li><a href="/me">Who am I</a>: the verified assertion</li>
  <li><a href="/admin">Admins only</a></li>
  <li><a href="/payments">Payments</a>: needs a Duo approval from the last ${STEP_UP_MINUTES} minutes</li>
  <li><a href="/api/whoami">/api/whoami</a>: the verified claims as JSON</li>
  <li><a href="/debug/received">/debug/received</a>: what reached the app</li>
</ul>`,
  );
}

function me({ identity }) {
  if (!identity.verified) return unauthenticated(identity);
  const c = identity.claims;
  return page(
    200,
    "Who am I",
    `<p>The login says, in an assertion signed with its key and verified here:</p>
<dl>
  <dt>Username</dt><dd>${escape(c.username)}</dd>
  <dt>Role</dt><dd>${escape(c.role)}</dd>
  <dt>Signed in with</dt><dd>${escape(c.method)} (amr: ${escape(c.amr.join(", "))})</dd>
  <dt>Signed in at</dt><dd>${escape(date(c.auth_time))}</dd>
  <dt>Session</dt><dd><code>${escape(c.sid)}</code></dd>
  <dt>This assertion expires</dt><dd>${escape(date(c.exp))}</dd>
</dl>
<p><a href="${LOGIN_PREFIX}/">Your account and sign-out</a></p>`,
  );
}

function admin({ identity }) {
  if (!identity.verified) return unauthenticated(identity);
  const c = identity.claims;
  if (c.role !== "admin") {
    return page(
      403,
      "Admins only",
      `<p>You are signed in as <strong>${escape(c.username)}</strong> with the role
<strong>${escape(c.role)}</strong>; this page is for admins.</p>`,
    );
  }
  return page(
    200,
    "Admins only",
    `<p>Welcome, <strong>${escape(c.username)}</strong>: the assertion says you are an admin.</p>
<p>The login's own <a href="${LOGIN_PREFIX}/admin/">admin console</a> manages users and policies.</p>`,
  );
}

// How recent a Duo approval the payments page wants.
const STEP_UP_MINUTES = 10;

// A page that wants a fresh Duo approval (a step-up). The login's path rule
// for it (`fresh_duo`) sends an older sign-in back through Duo before the
// request gets here; the app checks again itself, from the signed
// `auth_time` and `amr`, and without the rule asks the login the same way
// (`fresh=1`: Duo again for the signed-in user, a trusted browser not
// standing in).
function payments({ url, identity }) {
  if (!identity.verified) return unauthenticated(identity);
  const c = identity.claims;
  const ageSeconds = Math.floor(Date.now() / 1000) - c.auth_time;
  const approved = c.amr.includes("mfa") && ageSeconds <= STEP_UP_MINUTES * 60;
  if (!approved) {
    const back = encodeURIComponent(url.pathname + url.search);
    return new Response(null, {
      status: 302,
      headers: { Location: `${LOGIN_PREFIX}/?return_to=${back}&fresh=1`, "Cache-Control": "no-store" },
    });
  }
  return page(
    200,
    "Payments",
    `<p><strong>${escape(c.username)}</strong>, Duo approved this sign-in
${escape(String(Math.max(0, Math.round(ageSeconds / 60))))} minute(s) ago (${escape(date(c.auth_time))}):
payments are open for ${STEP_UP_MINUTES} minutes after it.</p>`,
  );
}

function whoami({ identity }) {
  if (identity.verified) return json(200, identity.claims);
  const status = identity.reason === "keys_unavailable" ? 503 : 401;
  const error = status === 503 ? "keys_unavailable" : "unauthenticated";
  return json(status, { error, reason: identity.reason, detail: identity.detail });
}

/** What reached the app, for checking the login's header hygiene. */
function received({ request, url, identity }) {
  const headers = {};
  for (const [name, value] of request.headers) {
    headers[name] = name === ASSERTION_HEADER.toLowerCase() ? "(present; value not shown)" : value;
  }
  const cookies = (request.headers.get("Cookie") ?? "")
    .split(";")
    .map((pair) => pair.split("=")[0].trim())
    .filter(Boolean);
  const assertion = identity.verified
    ? { present: true, verified: true, username: identity.claims.username, role: identity.claims.role }
    : { present: identity.present, verified: false, reason: identity.reason };
  return json(200, {
    method: request.method,
    path: url.pathname,
    query: url.search.replace(/^\?/, ""),
    headers,
    cookies,
    assertion,
  });
}

function unauthenticated(identity) {
  if (identity.reason === "keys_unavailable") return keysUnavailable(identity);
  return page(
    401,
    "Not signed in",
    `<p>This page needs a verified assertion from the login, and ${escape(REASONS[identity.reason] ?? identity.reason)}.</p>
<p>jose said: <code>${escape(identity.detail)}</code> (reason <code>${escape(identity.reason)}</code>)</p>
<p><a href="${SIGN_IN}">Sign in</a></p>`,
  );
}

function keysUnavailable(identity) {
  return page(
    503,
    "Keys unavailable",
    `<p>The login's public keys could not be fetched, so no assertion can be verified right now.</p>
<p><code>${escape(identity.detail)}</code></p>
<p>Check that the login is up and that <code>JWKS_URL</code> (or <code>LOGIN_ORIGIN</code>) points at it.</p>`,
  );
}

function date(seconds) {
  const at = new Date(seconds * 1000);
  return Number.isNaN(at.getTime()) ? String(seconds) : at.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1f2328}
header,footer{display:flex;gap:1rem;flex-wrap:wrap;font-size:.9rem}footer{margin-top:2rem;color:#59636e}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0}
code{overflow-wrap:anywhere}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}a{color:#58a6ff}footer{color:#9198a1}}`;

function page(status, title, body) {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title === "Example app" ? title : `${title} · Example app`)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><a href="/">Home</a><a href="/me">Who am I</a><a href="/admin">Admin</a><a href="${LOGIN_PREFIX}/">Account</a></header>
<main>
<h1>${escape(title)}</h1>
${body}
</main>
<footer>The example app behind the Duo login (examples/app).</footer>
</body>
</html>
`;
  return new Response(html, { status, headers: headers("text/html; charset=utf-8") });
}

function json(status, value) {
  return new Response(`${JSON.stringify(value, null, 2)}\n`, {
    status,
    headers: headers("application/json"),
  });
}

function headers(contentType) {
  return {
    "Content-Type": contentType,
    // Who is signed in differs per request: nothing is cached.
    "Cache-Control": "no-store",
    "Content-Security-Policy":
      "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  };
}

function escape(value) {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
}
