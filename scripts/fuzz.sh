#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of untrusted input (libFuzzer via
# cargo-fuzz, on nightly), each target for a bounded time; new interesting
# inputs are merged into the committed corpus (fuzz/corpus/<target>/).
#
#   scripts/fuzz.sh                 every target, 60 s each
#   scripts/fuzz.sh cookies 300     one target, 300 s
#
# The targets are tests/fuzz-targets/src/lib.rs; the test command replays
# the corpus and mutations of it on stable (tests/fuzz-targets/tests/replay.rs).
# A crash is saved under fuzz/artifacts/<target>/: reproduce it with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
# and add the input to the corpus with the fix.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

seconds="${2:-60}"
targets=(login_body cookies callback_query headers token_response id_token_claims config)
if (( $# > 0 )); then targets=("$1"); fi

# Nightly from rustup (the product builds on stable) and cargo-fuzz from
# crates.io, built as a tool into target/tools.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  log "installing the nightly toolchain (minimal profile)"
  rustup toolchain install nightly --profile minimal
fi
tools="$ROOT/target/tools"
if [[ ! -x "$tools/bin/cargo-fuzz" ]]; then
  log "building cargo-fuzz"
  CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false \
    cargo install cargo-fuzz --locked --root "$tools"
fi
export PATH="$tools/bin:$PATH"

for target in "${targets[@]}"; do
  log "fuzzing $target for ${seconds} s"
  mkdir -p "fuzz/corpus/$target"
  # New inputs go to a scratch directory, then are merged: only those that
  # add coverage join the committed corpus.
  scratch="$ROOT/fuzz/target/new-corpus/$target"
  rm -rf "$scratch" && mkdir -p "$scratch"
  cargo +nightly fuzz run --fuzz-dir fuzz "$target" "$scratch" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 2>&1 |
    grep -E '^(#[0-9]+\s+DONE|stat::|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)' || true
  if compgen -G "fuzz/artifacts/$target/*" >/dev/null; then
    echo "fuzz.sh: $target crashed; see fuzz/artifacts/$target/" >&2
    exit 1
  fi
  cargo +nightly fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" "$scratch" -- \
    -merge=1 >/dev/null 2>&1 || true
  # Minimized by edges only (not hit counts): a corpus small enough to commit.
  cargo +nightly fuzz cmin --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- -use_counters=0 \
    >/dev/null 2>&1 || true
  log "$target: $(find "fuzz/corpus/$target" -type f | wc -l) corpus files"
done
