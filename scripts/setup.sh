#!/usr/bin/env bash
# Installs what the dev and test commands need, idempotently: each tool only
# when it is missing or at the wrong version. Everything comes from a package
# registry (rustup, crates.io, npm, Debian); nothing else is downloaded.
#
#   scripts/setup.sh          tools to build and run the product
#   scripts/setup.sh --test   also Chromium and ChromeDriver for the browser tests,
#                             and nginx for the forward-auth test
#
# The Debian and npm installs run in the background while cargo compiles the
# two cargo tools, which is most of a first run's time.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1
logs="$ROOT/target/setup"
mkdir -p "$logs"

# 1. The wasm32 target.
ensure_wasm_target

# 2. In the background: Debian packages for the browser tests and for the
#    forward-auth test (Debian's `nginx` has the auth_request module; the test
#    runs its own nginx in a temporary directory, not the system service), and
#    the npm packages from the committed lockfile (wrangler with workerd,
#    esbuild, binaryen's wasm-opt), reinstalled when the lockfile changes.
background=()
apt_install() {
  local sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "$@"
}
if (( want_test )); then
  missing=()
  for pkg in chromium chromium-driver nginx; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if (( ${#missing[@]} )); then
    log "apt-get install ${missing[*]} (in the background; log: target/setup/apt.log)"
    apt_install "${missing[@]}" >"$logs/apt.log" 2>&1 &
    background+=("$!:apt-get install ${missing[*]}:$logs/apt.log")
  fi
fi
stamp=node_modules/.package-lock.sha256
sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$sum" ]]; then
  log "npm ci (in the background; log: target/setup/npm.log)"
  { npm ci --no-audit --no-fund && echo "$sum" > "$stamp"; } >"$logs/npm.log" 2>&1 &
  background+=("$!:npm ci:$logs/npm.log")
fi

# 3. Cargo tools at exact versions. They are build tools, not what we ship:
#    compiled without optimisation or LTO, with parallel codegen (cargo
#    install honours CARGO_PROFILE_RELEASE_*). Measured for wasm-bindgen-cli:
#    2.0 min of CPU instead of 5.6 at opt-level 1 (and more at its own
#    release profile), while it still binds the Worker's wasm in about 1 s.
cargo_tool() { # binary crate version
  local bin=$1 crate=$2 version=$3 have=""
  if command -v "$bin" >/dev/null 2>&1; then
    # `wasm-bindgen 0.2.129`, `0.8.7`: the first x.y.z.
    have=$("$bin" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1 || true)
  fi
  if [[ "$have" != "$version" ]]; then
    log "cargo install $crate@$version (found: ${have:-none}); a few minutes on 2 cores"
    # One target directory for all tools: dependencies they share build once.
    CARGO_TARGET_DIR="$ROOT/target/tools" \
      CARGO_PROFILE_RELEASE_LTO=false \
      CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      CARGO_PROFILE_RELEASE_OPT_LEVEL=0 \
      CARGO_PROFILE_RELEASE_DEBUG=false \
      cargo install "$crate" --version "$version" --locked
  fi
}
if [[ ! -f Cargo.lock ]]; then
  cargo generate-lockfile
fi
cargo_tool wasm-bindgen wasm-bindgen-cli "$(wasm_bindgen_version)"
cargo_tool worker-build worker-build "$WORKER_BUILD_VERSION"

# 4. The background installs must have succeeded.
failed=0
for job in "${background[@]}"; do
  IFS=: read -r pid what joblog <<<"$job"
  if ! wait "$pid"; then
    echo "setup: $what failed; its log ($joblog) ends with:" >&2
    tail -n 20 "$joblog" >&2
    failed=1
  fi
done
(( failed == 0 )) || exit 1
log "setup complete"
