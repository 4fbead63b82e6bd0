#!/usr/bin/env bash
# Builds the SPA into dist/ with Trunk (release: wasm-opt -Oz).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
trunk build --release --offline "$@"
