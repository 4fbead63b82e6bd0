#!/usr/bin/env bash
# Prints raw and gzip sizes of the two wasm binaries that ship: the Worker's
# (edge/build) and the SPA's (dist), and fails when either is over its
# budget. Run after both are built.
#
# The budgets sit just above the sizes measured when they were last set: a
# change that grows a binary past one must lower something else or raise the
# budget on purpose, in the same commit, saying why.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

WORKER_GZIP_BUDGET=462000
SPA_GZIP_BUDGET=187000
ADMIN_GZIP_BUDGET=411000

status=0
report() { # label file budget
  local raw gz
  raw=$(stat -c %s "$2")
  gz=$(gzip -9 -c "$2" | wc -c)
  printf '%-14s %10d bytes raw %10d bytes gzip -9 (budget %d)   %s\n' "$1" "$raw" "$gz" "$3" "$2"
  if (( gz > $3 )); then
    echo "size report: $1 is $((gz - $3)) bytes over its gzip budget ($3)" >&2
    status=1
  fi
}
worker_wasm=$(find edge/build -name '*.wasm' | head -n1)
app_wasm=$(find dist -maxdepth 2 -name 'app-*_bg.wasm' | head -n1)
admin_wasm=$(find dist -maxdepth 2 -name 'admin-*_bg.wasm' | head -n1)
[[ -n "$worker_wasm" && -n "$app_wasm" && -n "$admin_wasm" ]] || { echo "size report: build first" >&2; exit 1; }
echo "wasm sizes:"
report "Worker (edge)" "$worker_wasm" "$WORKER_GZIP_BUDGET"
report "SPA (app)" "$app_wasm" "$SPA_GZIP_BUDGET"
report "Admin (app)" "$admin_wasm" "$ADMIN_GZIP_BUDGET"
exit $status
