#!/usr/bin/env bash
# The SPA bundle (dist/) must hold no secret and none of the Duo client's
# signing code: what is in dist/ is public. Fails naming the file and the
# kind of finding, never printing a secret's value.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

[[ -d dist ]] || { echo "check-bundle: dist/ missing (scripts/build-app.sh)" >&2; exit 1; }
status=0
check() { # description pattern
  local hits
  hits=$(grep -rlaF -- "$2" dist || true)
  if [[ -n "$hits" ]]; then
    echo "check-bundle: $1 found in: $hits" >&2
    status=1
  fi
}
# Markers of the Duo client (shared, feature duo): it must stay on the edge.
check "Duo client code (client_assertion)" "client_assertion"
check "Duo client code (HS512 signing)" "HS512"
# The secrets the dev and test settings use.
check "the emulator's client secret" "EmulatorDevSecretNotForProduction0000000"
check "the emulator's Auth API secret key" "EmulatorAuthApiSecretNotForProduction000"
if [[ -f .dev.vars ]]; then
  while IFS='=' read -r name value; do
    [[ "$name" =~ ^[[:space:]]*(DUO_CLIENT_SECRET|DUO_SKEY|SESSION_SECRET|GATEWAY_KEYS)[[:space:]]*$ && -n "$value" ]] || continue
    check "the value of $name from .dev.vars" "$value"
  done < .dev.vars
fi
exit $status
