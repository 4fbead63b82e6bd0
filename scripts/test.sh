#!/usr/bin/env bash
# The test command: installs what is missing, then runs every check CI runs.
# Each step is timed and the run ends with a summary of the phases; the first
# failure stops the run with a non-zero exit (the summary says where).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

started=$SECONDS
phases=()   # "phase<TAB>seconds"
current=""
step() { # phase name command...
  local phase=$1 name=$2 t=$SECONDS
  shift 2
  current=$phase
  log "$name"
  "$@"
  printf '    (%s: %ds)\n' "$name" $((SECONDS - t)) >&2
  phases+=("$phase"$'\t'"$((SECONDS - t))")
}

# One line per phase (steps of a phase add up), in the order they ran.
summary() {
  local status=$1 order=() phase seconds
  declare -A total=()
  for entry in "${phases[@]}"; do
    IFS=$'\t' read -r phase seconds <<<"$entry"
    [[ -v "total[$phase]" ]] || order+=("$phase")
    total[$phase]=$(( ${total[$phase]:-0} + seconds ))
  done
  printf '\ntimings (scripts/test.sh):\n' >&2
  for phase in "${order[@]}"; do
    printf '  %-22s %5ds\n' "$phase" "${total[$phase]}" >&2
  done
  if (( status != 0 )); then
    printf '  %-22s failed\n' "$current" >&2
  fi
  printf '  %-22s %5ds\n' "total" $((SECONDS - started)) >&2
}

# Processes the tests start stop with them (guards in tests/e2e); this catches
# anything left if the run itself is interrupted.
finish() {
  local status=$?
  pkill -f -- "--persist-to $ROOT/target/e2e-state" 2>/dev/null || true
  summary "$status"
}
trap finish EXIT

step setup "setup" "$ROOT/scripts/setup.sh" --test

step lint "rustfmt" cargo fmt --all --check
# `app` is a wasm-only crate: clippy checks it for wasm32 below and its tests
# run in Chromium. Natively it would only compile Leptos twice more for nothing.
step lint "clippy (native)" cargo clippy --workspace --exclude app --all-targets --all-features \
  --locked -- -D warnings
# One wasm32 pass for the wasm crates (shared with its Duo client on).
step lint "clippy (wasm32: shared, app, edge)" cargo clippy -p shared -p app -p edge -p store-conformance \
  --all-targets --features shared/duo --target wasm32-unknown-unknown --locked -- -D warnings

step builds "build SPA" "$ROOT/scripts/build-app.sh"
step builds "SPA bundle holds no secret or Duo client code" "$ROOT/scripts/check-bundle.sh"
step builds "build Worker" "$ROOT/scripts/build-worker.sh"
# The test Worker that runs the store conformance suites over D1 (tests only).
step builds "build store conformance Worker" env WORKER_CRATE=tests/store-conformance \
  "$ROOT/scripts/build-worker.sh"

# Test binaries are compiled first, so a slow compile and a slow test show
# apart. Native and end-to-end tests run in one cargo invocation: any other
# selection of packages unifies dependency features differently and would
# compile much of the workspace a second time.
native_tests=(--workspace --exclude app --all-features --locked)
wasm_tests_shared=(-p shared --features duo --target wasm32-unknown-unknown --locked)
wasm_tests_app=(-p app --target wasm32-unknown-unknown --locked)
step "test builds" "build tests (native)" cargo test "${native_tests[@]}" --no-run
step "test builds" "build tests (wasm32: shared)" cargo test "${wasm_tests_shared[@]}" --no-run
step "test builds" "build tests (wasm32: app)" cargo test "${wasm_tests_app[@]}" --no-run

# Four tests at a time on two cores: the end-to-end tests spend most of their
# time waiting (on wrangler dev, the browser, Duo's timeouts), not computing.
step "native + e2e tests" "tests (native, and end-to-end: wrangler dev, emulator, headless Chromium)" \
  cargo test "${native_tests[@]}" -- --test-threads=4 --skip load::
# Fifty sign-ins at once load the machine by themselves: alone, so that they
# measure the Worker, not the other tests' browsers.
step "native + e2e tests" "end-to-end: fifty users signing in at once" \
  cargo test "${native_tests[@]}" --test e2e -- load::
step "wasm tests" "tests (wasm32 in headless Chromium: shared)" cargo test "${wasm_tests_shared[@]}"
step "wasm tests" "tests (wasm32 in headless Chromium: app)" cargo test "${wasm_tests_app[@]}"

step "deploy dry run" "scripts/deploy.sh --dry-run" env SKIP_WORKER_BUILD=1 \
  "$ROOT/scripts/deploy.sh" --dry-run

step "size report" "size report" "$ROOT/scripts/size-report.sh"
log "all checks passed in $((SECONDS - started))s"
