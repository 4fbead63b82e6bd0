#!/usr/bin/env bash
# The dev command: installs what is missing, builds the SPA, prepares the local
# D1 database, starts the Duo emulator (unless .dev.vars points at real Duo)
# and the example app (examples/app, unless UPSTREAM_URL names another app)
# and runs the product under `wrangler dev` on http://localhost:8787.
#
#   scripts/dev.sh                 everything on loopback, no Duo account needed
#   PORT=9000 scripts/dev.sh       another port (APP_ORIGIN follows it)
#   scripts/dev.sh --var DUO_MODE:inline
#                                  the inline mode (any wrangler dev option passes)
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

# This script's arguments go on to wrangler dev, after the --var options the
# dev command adds (dev_vars, below).
args=("$@")
dev_vars=()
# The value --var NAME:VALUE (or --var=NAME:VALUE) options among ARGS give
# NAME, the last one counting as in wrangler.
cli_var() { # name args...
  local name=$1 arg value="" in_var=0
  shift
  for arg in "$@"; do
    case "$arg" in
      --var=*) in_var=1; arg=${arg#--var=} ;;
      --var) in_var=1; continue ;;
      -*) in_var=0; continue ;;
    esac
    if (( in_var )) && [[ "$arg" == "$name:"* ]]; then
      value=${arg#"$name:"}
    fi
  done
  printf '%s' "$value"
}
in_dev_vars() { grep -q "^[[:space:]]*$1[[:space:]]*=" .dev.vars; }
# A setting as wrangler dev sees it: a --var (the dev command's, then the
# command line's) overrides .dev.vars, which overrides wrangler.toml [vars].
setting() { # name
  local value
  value=$(cli_var "$1" "${dev_vars[@]}" "${args[@]}")
  if [[ -z "$value" ]]; then
    value=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" .dev.vars | tail -n1)
    [[ -n "$value" ]] || value=$(sed -n "s/^$1 = //p" wrangler.toml | head -n1)
    value=${value%\"}
    value=${value#\"}
  fi
  printf '%s' "$value"
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

# The vars the dev command gives wrangler dev, each only when .dev.vars does
# not set it (a --var would override .dev.vars). APP_ORIGIN follows PORT.
if ! in_dev_vars APP_ORIGIN; then
  dev_vars+=(--var "APP_ORIGIN:http://localhost:$PORT")
fi
login_origin=$(setting APP_ORIGIN)
# Breached passwords: the emulator also stands in for Pwned Passwords' range
# API, so choosing a password needs no network (unless .dev.vars says otherwise).
if (( use_emulator )) && ! in_dev_vars PWNED_PASSWORDS_URL; then
  dev_vars+=(--var "PWNED_PASSWORDS_URL:http://$api_host")
fi
# Duo steps per user per 15 minutes: wrangler.toml's 5 (against push fatigue)
# is used up within a minute of trying the demo accounts, so the dev command
# allows 100 (production keeps wrangler.toml's, the tests set their own).
if ! in_dev_vars DUO_START_LIMIT; then
  dev_vars+=(--var "DUO_START_LIMIT:100")
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

# The banner: where to go, and what each demo account
# (crates/credentials/seed/demo-users.sql) meets in the mode this run uses,
# from the emulator's users (tests/duo-emulator/src/config.rs, dev_users).
duo_mode=$(setting DUO_MODE)
duo_mode=${duo_mode:-prompt}
if (( use_emulator )); then
  carol="Duo, locked out: Duo denies"
  case "$duo_mode" in
    inline)
      alice="Duo, enrolled: push, phone call, SMS, passcode 123456"
      dana="Duo, enrolled: push, phone call, SMS, passcode 246810"
      how="The inline mode (DUO_MODE=inline), with the Duo emulator at http://$api_host:
  no Duo page; after the password the login's own page lists the user's devices and
  methods. The emulator's phone, http://$api_host/phone/NAME, approves or denies a push
  or a call and shows the SMS passcodes."
      bob="Duo, not enrolled: the page links to the emulator's enrollment
                                    (it adds Duo Mobile: push, passcodes); then sign in again" ;;
    *)
      # The emulator's prompt page offers no SMS passcodes.
      alice="Duo, enrolled: push, phone call, passcode 123456"
      dana="Duo, enrolled: push, phone call, passcode 246810"
      how="Duo's prompt (DUO_MODE=prompt), played by the Duo emulator at http://$api_host:
  after the password, \"Log in with Duo\" opens its prompt page, which also plays the
  phone (approve or deny)."
      bob="Duo, not enrolled: the prompt enrolls him" ;;
  esac
else
  how="DUO_MODE=$duo_mode, with Duo at $api_host: the demo users meet whatever your Duo
  account says of them."
  alice="Duo" bob="Duo" carol="Duo" dana="Duo"
fi
case "$duo_mode" in
  prompt | inline) ;;
  *) how="DUO_MODE=$duo_mode is neither prompt nor inline: the login answers config_error." ;;
esac

cat >&2 <<EOF

  Open http://localhost:$PORT: $app behind the Duo login
  (the login's own pages: http://localhost:$PORT/_login/; the admin console, for admin
  and dana: http://localhost:$PORT/_login/admin/)

  $how
  Duo steps per user per 15 minutes: $(setting DUO_START_LIMIT) here (DUO_START_LIMIT; 5 in production)

  Demo accounts (local database only; README, "Demo accounts"):
    alice / alice-demo-pass   user, $alice
    bob   / bob-demo-pass     user, $bob
    carol / carol-demo-pass   user, $carol
    dana  / dana-demo-pass    admin, $dana
    admin / admin-demo-pass   admin, break-glass: password only, no Duo
    erin  / erin-demo-pass    disabled: refused like a wrong password

  Scheduled maintenance (the Cron Trigger): curl http://localhost:$PORT/__scheduled

EOF

log "starting wrangler dev on http://localhost:$PORT"
# --test-scheduled: GET /__scheduled runs the Cron Trigger, and wrangler
# leaves out its hint naming /cdn-cgi/handler/scheduled, which fails for this
# Worker (wrangler.toml, [assets]).
#
# wrangler 4.86 runs the [build] command a second time when its watcher of
# build.watch_dir is ready (that run makes the first bundle: with a custom
# build nothing else does) and announces it as "The file
# edge/src,shared/src changed, restarting build...": the watched directories
# joined with a comma, not a changed file. The watcher reports no change
# before it is ready, so the first such line is always that one; it is
# dropped, and the lines of a real change (naming the file) pass. sed ignores
# Ctrl-C so that wrangler's last lines still come through while it stops.
wrangler dev --port "$PORT" "${dev_vars[@]}" --test-scheduled \
  --show-interactive-dev-session=false "$@" \
  | ( trap '' INT; exec sed -u '0,/^The file .* changed, restarting build\.\.\.$/{//d}' )
