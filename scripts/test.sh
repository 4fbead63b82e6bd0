#!/usr/bin/env bash
# The test command: installs what is missing, then runs every check CI runs.
# Each step is timed; the first failure stops the run with a non-zero exit.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

started=$SECONDS
step() { # name command...
  local name=$1 t=$SECONDS
  shift
  log "$name"
  "$@"
  printf '    (%s: %ds)\n' "$name" $((SECONDS - t)) >&2
}

# Processes the tests start stop with them (guards in tests/e2e); this catches
# anything left if the run itself is interrupted.
cleanup() {
  pkill -f -- "--persist-to $ROOT/target/e2e-state" 2>/dev/null || true
}
trap cleanup EXIT

step "setup" "$ROOT/scripts/setup.sh" --test

step "rustfmt" cargo fmt --all --check
step "clippy (native)" cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
step "clippy (wasm32: shared)" cargo clippy -p shared --all-targets --features duo \
  --target wasm32-unknown-unknown --locked -- -D warnings
step "clippy (wasm32: app, edge)" cargo clippy -p app -p edge --all-targets \
  --target wasm32-unknown-unknown --locked -- -D warnings

step "build SPA" "$ROOT/scripts/build-app.sh"
step "SPA bundle holds no secret or Duo client code" "$ROOT/scripts/check-bundle.sh"
step "build Worker" "$ROOT/scripts/build-worker.sh"

step "tests (native, incl. end-to-end)" cargo test --workspace --all-features --locked
step "tests (wasm32 in headless Chromium: shared)" cargo test -p shared --features duo \
  --target wasm32-unknown-unknown --locked
step "tests (wasm32 in headless Chromium: app)" cargo test -p app \
  --target wasm32-unknown-unknown --locked

step "wrangler deploy --dry-run" env SKIP_WORKER_BUILD=1 \
  wrangler deploy --dry-run --outdir "$ROOT/target/deploy-dry-run"

"$ROOT/scripts/size-report.sh"
log "all checks passed in $((SECONDS - started))s"
