#!/usr/bin/env bash
# Builds the Worker into edge/build/ with worker-build (release). wrangler runs
# this as its [build] command; it uses the pinned local wasm-bindgen and esbuild.
set -euo pipefail
source "$(dirname "$0")/env.sh"
# The test command builds once up front; the wrangler instances it starts
# then skip the rebuild.
if [[ "${SKIP_WORKER_BUILD:-}" == 1 && -f "$ROOT/edge/build/index.js" ]]; then
  exit 0
fi
cd "$ROOT/edge"
worker-build --release
