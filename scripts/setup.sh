#!/usr/bin/env bash
# Installs what the dev and test commands need, idempotently: each tool only
# when it is missing or at the wrong version. Everything comes from a package
# registry (rustup, crates.io, npm, Debian); nothing else is downloaded.
#
#   scripts/setup.sh          tools to build and run the product
#   scripts/setup.sh --test   also Chromium and ChromeDriver for the browser tests
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

# 1. Rust target and components (rust-toolchain.toml names them; rustup
#    installs on first use, this makes it explicit and early).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup: adding wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. Cargo tools at exact versions.
cargo_tool() { # binary crate version
  local bin=$1 crate=$2 version=$3 have=""
  if command -v "$bin" >/dev/null 2>&1; then
    # `trunk 0.21.14`, `wasm-bindgen 0.2.129`, `0.8.7`: the first x.y.z.
    have=$("$bin" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1 || true)
  fi
  if [[ "$have" != "$version" ]]; then
    log "cargo install $crate@$version (found: ${have:-none}); this takes a few minutes on 2 cores"
    # One target directory for all tools: dependencies they share build once.
    CARGO_TARGET_DIR="$ROOT/target/tools" cargo install "$crate" --version "$version" --locked
  fi
}
if [[ ! -f Cargo.lock ]]; then
  cargo generate-lockfile
fi
cargo_tool wasm-bindgen wasm-bindgen-cli "$(wasm_bindgen_version)"
cargo_tool trunk trunk "$TRUNK_VERSION"
cargo_tool worker-build worker-build "$WORKER_BUILD_VERSION"

# 3. npm packages from the committed lockfile (wrangler with workerd, esbuild,
#    binaryen's wasm-opt). Reinstalled when the lockfile changes.
stamp=node_modules/.package-lock.sha256
sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$sum" ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund
  echo "$sum" > "$stamp"
fi

# 4. Debian packages for the browser tests.
if (( want_test )); then
  missing=()
  for pkg in chromium chromium-driver; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if (( ${#missing[@]} )); then
    log "apt-get install ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
  fi
fi
log "setup complete"
