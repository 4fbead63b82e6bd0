#!/usr/bin/env bash
# The dev command: installs what is missing, builds the SPA, prepares the local
# D1 database, starts the Duo emulator (unless .dev.vars points at real Duo)
# and the example app (examples/app, unless UPSTREAM_URL names another app)
# and runs the product under `wrangler dev` on http://localhost:8787.
#
#   scripts/dev.sh                 everything on loopback, no Duo account needed
#   PORT=9000 scripts/dev.sh       another port (APP_ORIGIN follows it)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

PORT="${PORT:-8787}"
EMULATOR_SECRET="EmulatorDevSecretNotForProduction0000000"
EMULATOR_SKEY="EmulatorAuthApiSecretNotForProduction000"

# Local secrets. Created once, never overwritten: put real Duo credentials
# here to use Duo itself (README, "Configuration").
if [[ ! -f .dev.vars ]]; then
  log "writing .dev.vars (local settings for the Duo emulator; not committed)"
  (
    umask 077
    cat > .dev.vars <<VARS
# Local settings for wrangler dev (read by scripts/dev.sh too). Not committed.
# These point at the local Duo emulator. For real Duo set DUO_CLIENT_ID,
# DUO_CLIENT_SECRET and DUO_API_HOST (api-XXXXXXXX.duosecurity.com) from the
# Duo Admin Panel; the dev command then does not start the emulator.
DUO_CLIENT_SECRET=$EMULATOR_SECRET
DUO_SKEY=$EMULATOR_SKEY
SESSION_SECRET=$(head -c 32 /dev/urandom | base64)
VARS
  )
fi

# A setting as wrangler dev sees it: .dev.vars overrides wrangler.toml [vars].
setting() { # name
  local value
  value=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" .dev.vars | tail -n1)
  if [[ -z "$value" ]]; then
    value=$(sed -n "s/^$1 = //p" wrangler.toml | head -n1)
  fi
  value=${value%\"}
  printf '%s' "${value#\"}"
}

api_host=$(setting DUO_API_HOST)
use_emulator=0
case "$api_host" in
  127.0.0.1:* | localhost:* | "[::1]:"*) use_emulator=1 ;;
esac
# A .dev.vars written before the Auth API existed gets the emulator's
# DUO_SKEY (nothing else in it changes).
if (( use_emulator )) && ! grep -q '^[[:space:]]*DUO_SKEY[[:space:]]*=' .dev.vars; then
  log "adding the Duo emulator's DUO_SKEY to .dev.vars"
  printf 'DUO_SKEY=%s\n' "$EMULATOR_SKEY" >> .dev.vars
fi

# The gateway's signing keys (a new set per machine; never committed).
if ! grep -q '^[[:space:]]*GATEWAY_KEYS[[:space:]]*=' .dev.vars; then
  log "adding new gateway signing keys (GATEWAY_KEYS) to .dev.vars"
  printf "GATEWAY_KEYS='%s'\n" "$(node "$ROOT/scripts/gateway-keys.mjs" new)" >> .dev.vars
fi

# On a first run nearly all the time is compiling: the two cargo tools
# (setup.sh, its own target directory) and the product. They compile side by
# side, so the serial stretches of each (linking, LTO) overlap the other.
ensure_wasm_target
"$ROOT/scripts/setup.sh" &
setup_pid=$!
trap 'kill "$setup_pid" 2>/dev/null || true' EXIT
log "compiling the SPA, the Worker and the Duo emulator"
"$ROOT/scripts/build-app.sh" --compile-only
"$ROOT/scripts/build-worker.sh" --compile-only
if (( use_emulator )); then
  cargo build -p duo-emulator --bin duo-emulator --locked
fi
wait "$setup_pid"
trap - EXIT

log "building the SPA"
"$ROOT/scripts/build-app.sh"

# The local D1 database (.wrangler/state): migrations every time (only new
# ones run), the demo users when the database is new.
fresh_db=0
[[ -d .wrangler/state/v3/d1 ]] || fresh_db=1
log "applying D1 migrations (local)"
CI=1 wrangler d1 migrations apply DB --local
if (( fresh_db )); then
  log "seeding the demo users"
  wrangler d1 execute DB --local --file crates/credentials/seed/demo-users.sql >/dev/null
  # The example app's path rules (public home, admin page, payments with a
  # fresh Duo approval), when the example app is the one behind the login.
  if [[ "$(setting UPSTREAM_URL)" == "http://127.0.0.1:8790" ]]; then
    log "seeding the example app's path rules"
    wrangler d1 execute DB --local --file examples/app/demo-policies.sql >/dev/null
  fi
fi

# The Duo emulator, when DUO_API_HOST is a loopback host:port. It and the
# example app (below) stop with this script.
emulator_pid=""
app_pid=""
stop_background() {
  [[ -n "$emulator_pid" ]] && kill "$emulator_pid" 2>/dev/null || true
  [[ -n "$app_pid" ]] && kill "$app_pid" 2>/dev/null || true
}
trap stop_background EXIT
if (( use_emulator )); then
  log "starting the Duo emulator on http://$api_host"
  "$ROOT/target/debug/duo-emulator" --listen "127.0.0.1:${api_host##*:}" &
  emulator_pid=$!
else
  log "DUO_API_HOST=$api_host: using that Duo service, not the emulator"
fi

# APP_ORIGIN follows PORT unless .dev.vars sets it.
login_origin="http://localhost:$PORT"
origin=(--var "APP_ORIGIN:$login_origin")
if grep -q '^[[:space:]]*APP_ORIGIN[[:space:]]*=' .dev.vars; then
  login_origin=$(setting APP_ORIGIN)
  origin=()
fi
# Breached passwords: the emulator also stands in for Pwned Passwords' range
# API, so choosing a password needs no network (unless .dev.vars says otherwise).
if (( use_emulator )) && ! grep -q '^[[:space:]]*PWNED_PASSWORDS_URL[[:space:]]*=' .dev.vars; then
  origin+=(--var "PWNED_PASSWORDS_URL:http://$api_host")
fi

# The example app (examples/app), when UPSTREAM_URL is its address: it
# verifies the login's assertions against the login's keys.
upstream=$(setting UPSTREAM_URL)
if [[ "$upstream" == "http://127.0.0.1:8790" ]]; then
  audience=$(setting GATEWAY_AUDIENCE)
  log "starting the example app on $upstream (log: .wrangler/example-app.log)"
  mkdir -p .wrangler
  wrangler dev --config examples/app/wrangler.toml --ip 127.0.0.1 --port 8790 \
    --var "LOGIN_ORIGIN:$login_origin" --var "AUDIENCE:${audience:-$login_origin}" \
    --show-interactive-dev-session=false > .wrangler/example-app.log 2>&1 &
  app_pid=$!
  app="the example app (examples/app)"
else
  log "UPSTREAM_URL=${upstream:-(empty: the service binding UPSTREAM)}: using your app, not the example app"
  app="your app (UPSTREAM_URL=${upstream:-the service binding UPSTREAM})"
fi

cat >&2 <<EOF

  Open http://localhost:$PORT: $app behind the Duo login
  (the login's own pages: http://localhost:$PORT/_login/)

  Demo accounts (local database only; README, "Demo accounts"):
    alice / alice-demo-pass   Duo: enrolled (push, passcode 123456, phone call)
    bob   / bob-demo-pass     Duo: not enrolled (the prompt enrolls him)
    carol / carol-demo-pass   Duo: locked out (Duo denies)
    admin / admin-demo-pass   break-glass: password only, no Duo
    erin  / erin-demo-pass    disabled (refused)

EOF

log "starting wrangler dev on http://localhost:$PORT"
wrangler dev --port "$PORT" "${origin[@]}" --show-interactive-dev-session=false "$@"
