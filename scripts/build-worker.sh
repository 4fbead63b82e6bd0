#!/usr/bin/env bash
# Builds the Worker into edge/build/ with worker-build (release). wrangler runs
# this as its [build] command; it uses the pinned local wasm-bindgen and esbuild.
# WORKER_CRATE=tests/store-conformance builds the test Worker of the store
# conformance suites into tests/store-conformance/build/ the same way.
#
#   scripts/build-worker.sh                  the whole build
#   scripts/build-worker.sh --compile-only   only the cargo step, exactly as
#       worker-build runs it (so its later run finds it done); needs no tools,
#       so the dev command runs it while setup.sh is still compiling them.
set -euo pipefail
source "$(dirname "$0")/env.sh"
crate_dir="$ROOT/${WORKER_CRATE:-edge}"
name=$(basename "$crate_dir")
cd "$crate_dir"
compile() {
  # worker-build 0.8.7 runs `cargo build --lib --release --target
  # wasm32-unknown-unknown` with WASM_BINDGEN_USE_JS_SYS=1, which wasm-bindgen's
  # macro reads without cargo tracking it: it must be the same here.
  WASM_BINDGEN_USE_JS_SYS=1 cargo build --lib --release --locked --target wasm32-unknown-unknown
}
if [[ "${1:-}" == "--compile-only" ]]; then
  compile
  exit 0
fi
# The test command builds once up front; the wrangler instances it starts
# then skip the rebuild.
if [[ "${SKIP_WORKER_BUILD:-}" == 1 && -f "$crate_dir/build/index.js" ]]; then
  exit 0
fi
# worker-build runs wasm-bindgen, wasm-opt and esbuild again (about 20 s)
# even when nothing changed: it runs only when the compiled wasm, the tools
# or these build settings differ from the last build's. The key hashes the
# files' contents only (read from stdin, so sha256sum prints no file name):
# a checkout moved or cloned to another folder, with the same target
# directory contents, skips the rebuild too.
compile
keyfile="$ROOT/target/worker-build.key"
[[ "$name" == edge ]] || keyfile="$ROOT/target/worker-build-$name.key"
key=$( {
  for file in "${CARGO_TARGET_DIR:-$ROOT/target}/wasm32-unknown-unknown/release/${name//-/_}.wasm" \
    "$crate_dir/Cargo.toml" "$ROOT/scripts/build-worker.sh"; do
    sha256sum < "$file"
  done
  worker-build --version; wasm-bindgen --version; wasm-opt --version
} | sha256sum | cut -d' ' -f1)
if [[ -f "$crate_dir/build/index.js" && "$(cat "$keyfile" 2>/dev/null)" == "$key" ]]; then
  exit 0
fi
worker-build --release
# worker-build keeps the wasm name section (139 KB raw, a seventh of the
# gzipped upload): function names only, which no deployment needs. A panic
# still logs its message and source location. The feature flags are the ones
# worker-build's own wasm-opt run enables.
wasm="$crate_dir/build/index_bg.wasm"
wasm-opt "$wasm" -o "$wasm.stripped" --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
mv "$wasm.stripped" "$wasm"
echo "$key" > "$keyfile"
