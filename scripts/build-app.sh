#!/usr/bin/env bash
# Builds the SPA into dist/ with Trunk (release: wasm-opt -Oz), then writes
# dist/_headers: the security headers Workers static assets serve with it,
# including a Content-Security-Policy that allows exactly Trunk's inline
# loader script (by hash) and the wasm it instantiates.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
trunk build --release --offline "$@"
python3 "$ROOT/scripts/spa-headers.py" dist/index.html app/_headers > dist/_headers
