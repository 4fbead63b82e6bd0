#!/usr/bin/env bash
# Builds the SPA into dist/: the `app` binary (the sign-in page) and the
# `admin` binary (the admin console, /admin/, loaded only there) for wasm32
# (release profile), wasm-bindgen's web glue, wasm-opt -Oz, then
# scripts/bundle-spa.py writes content-hashed files, index.html and
# admin/index.html (Subresource Integrity, no inline script) and _headers
# (the security headers, with a CSP of scripts from 'self' only).
#
#   scripts/build-app.sh                  the whole build
#   scripts/build-app.sh --compile-only   only the cargo step (needs no tools:
#       the dev command runs it while setup.sh is still compiling them)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

cargo build --release --locked --target wasm32-unknown-unknown -p app --bin app --bin admin
[[ "${1:-}" == "--compile-only" ]] && exit 0
out="$ROOT/target/spa"
built="$ROOT/target/wasm32-unknown-unknown/release"
opt_args=(-Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)
# wasm-bindgen and wasm-opt (about 10 s of CPU each) run again only when the
# compiled wasm, their versions or the options changed. Contents only (from
# stdin, no file names), so a checkout moved to another folder skips them too.
key=$( { sha256sum < "$built/app.wasm"; sha256sum < "$built/admin.wasm"; wasm-bindgen --version;
  wasm-opt --version; echo "${opt_args[*]}"; } | sha256sum | cut -d' ' -f1)
if [[ "$(cat "$out/.key" 2>/dev/null)" != "$key" ]]; then
  rm -rf "$out"
  mkdir -p "$out"
  for name in app admin; do
    wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name "$name" "$built/$name.wasm"
    # The features are those rustc enables for wasm32 today: wasm-opt refuses
    # instructions of a feature it was not told about.
    wasm-opt "${opt_args[@]}" "$out/${name}_bg.wasm" -o "$out/${name}_bg.opt.wasm"
    mv "$out/${name}_bg.opt.wasm" "$out/${name}_bg.wasm"
  done
  echo "$key" > "$out/.key"
fi
python3 "$ROOT/scripts/bundle-spa.py" "$out" "$ROOT/dist"
