#!/usr/bin/env bash
# Conformance: Duo's official Python SDK (duo_universal 2.3.1 from PyPI) and Auth API client
# (duo_client 5.7.0, auth_api.py) against the emulator
# binary in TLS mode. Creates/reuses a venv, starts the emulator on a free port, runs
# conformance.py, and stops the emulator whatever happens.
#
# Environment:
#   DUO_EMULATOR_BIN   emulator binary (default: build it with cargo and use the debug binary)
#   DUO_EMULATOR_VENV  venv directory (default: <repo>/target/py-venv)
#   PYTHON             python3 to create the venv with (default: python3)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
VENV="${DUO_EMULATOR_VENV:-$ROOT/target/py-venv}"
SDK_VERSION="2.3.1"
# Duo's official Auth API client, for the Auth API conformance (auth_api.py).
AUTH_CLIENT_VERSION="5.7.0"

log() { printf 'conformance: %s\n' "$*" >&2; }

# 1. The venv and the SDK (idempotent: nothing is installed when the right version is there).
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating venv $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('duo_universal') != '$SDK_VERSION')" 2>/dev/null; then
  log "installing duo_universal==$SDK_VERSION from PyPI"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "duo_universal==$SDK_VERSION"
fi
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('duo_client') != '$AUTH_CLIENT_VERSION')" 2>/dev/null; then
  log "installing duo_client==$AUTH_CLIENT_VERSION from PyPI"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "duo_client==$AUTH_CLIENT_VERSION"
fi

# 2. The emulator binary.
BIN="${DUO_EMULATOR_BIN:-}"
if [[ -z "$BIN" ]]; then
  log "building duo-emulator"
  (cd "$ROOT" && cargo build --quiet -p duo-emulator --bin duo-emulator)
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/duo-emulator"
fi

# 3. Start it in TLS mode on a free port; stop it on any exit.
WORK="$(mktemp -d)"
PID=""
cleanup() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

"$BIN" --tls --listen 127.0.0.1:0 --ca-out "$WORK/ca.pem" >"$WORK/emulator.log" 2>&1 &
PID=$!
URL=""
for _ in $(seq 1 100); do
  URL="$(grep -o 'listening on https://[0-9.]*:[0-9]*' "$WORK/emulator.log" | head -n1 | sed 's/listening on //' || true)"
  [[ -n "$URL" ]] && break
  if ! kill -0 "$PID" 2>/dev/null; then
    cat "$WORK/emulator.log" >&2
    log "the emulator exited before listening"
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$URL" ]]; then
  cat "$WORK/emulator.log" >&2
  log "the emulator did not start"
  exit 1
fi
PORT="${URL##*:}"
log "emulator at https://localhost:$PORT (CA $WORK/ca.pem)"

# 4. Run the SDK against it (as "localhost", the name the certificate and the SDK check).
"$VENV/bin/python" "$HERE/conformance.py" --host "localhost:$PORT" --ca "$WORK/ca.pem"
"$VENV/bin/python" "$HERE/auth_api.py" --port "$PORT" --ca "$WORK/ca.pem"
