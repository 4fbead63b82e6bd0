#!/usr/bin/env bash
# Prints raw and gzip sizes of the two wasm binaries that ship: the Worker's
# (edge/build) and the SPA's (dist). Run after both are built.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

report() { # label file
  local raw gz
  raw=$(stat -c %s "$2")
  gz=$(gzip -9 -c "$2" | wc -c)
  printf '%-14s %10d bytes raw %10d bytes gzip -9   %s\n' "$1" "$raw" "$gz" "$2"
}
worker_wasm=$(find edge/build -name '*.wasm' | head -n1)
app_wasm=$(find dist -name '*_bg.wasm' | head -n1)
[[ -n "$worker_wasm" && -n "$app_wasm" ]] || { echo "size report: build first" >&2; exit 1; }
echo "wasm sizes:"
report "Worker (edge)" "$worker_wasm"
report "SPA (app)" "$app_wasm"
