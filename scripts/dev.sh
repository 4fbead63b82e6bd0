#!/usr/bin/env bash
# The dev command: installs what is missing, builds the SPA and the Worker,
# and runs the product locally under `wrangler dev` on http://localhost:8787.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh"

# Local secrets. Created once, never overwritten: edit it to use real Duo
# credentials (see README, "Configuration").
if [[ ! -f .dev.vars ]]; then
  log "writing .dev.vars (local secrets for the Duo emulator; not committed)"
  umask 077
  cat > .dev.vars <<VARS
# Local secrets for wrangler dev. Not committed (.gitignore).
# DUO_CLIENT_SECRET matches the Duo emulator's built-in development app.
DUO_CLIENT_SECRET=EmulatorDevSecretNotForProduction0000000
SESSION_SECRET=$(head -c 32 /dev/urandom | base64)
VARS
fi

log "building the SPA (trunk)"
"$ROOT/scripts/build-app.sh"

PORT="${PORT:-8787}"
log "starting wrangler dev on http://localhost:$PORT"
exec wrangler dev --port "$PORT" --show-interactive-dev-session=false "$@"
