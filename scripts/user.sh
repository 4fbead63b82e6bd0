#!/usr/bin/env bash
# Adds or changes a user in the D1 database. The password is hashed by
# `user-admin` (crates/admin, over crates/credentials: the same code the
# Worker verifies with), read from the terminal without echo, and never
# appears on a command line.
#
#   scripts/user.sh add NAME [--bypass] [--duo-username DUO_NAME] [--disable] [--admin]
#   scripts/user.sh set-role NAME user|admin   (the last enabled admin stays one)
#   scripts/user.sh set-password NAME      (also logs NAME out everywhere)
#   scripts/user.sh disable NAME | enable NAME | list   (disable: likewise)
#   scripts/user.sh revoke NAME            (log NAME out everywhere)
#
# The local database (the one `scripts/dev.sh` uses) by default; add
# `--remote` to change the deployed database instead.
#
# Duo's Auth API (DUO_IKEY, DUO_SKEY, DUO_API_HOST from wrangler.toml,
# .dev.vars or the environment; `--timeout SECONDS`, `--json`):
#   scripts/user.sh check | preauth USER | auth-status TXID [--wait]
#   scripts/user.sh auth USER --factor push|phone|sms|passcode|auto
#                   [--device ID] [--passcode CODE] [--async]
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

where=--local
args=()
for arg in "$@"; do
  if [[ "$arg" == --remote ]]; then where=--remote; else args+=("$arg"); fi
done
# The deployed database's id is in wrangler.deploy.toml (scripts/deploy.sh).
config=()
if [[ "$where" == --remote && -f wrangler.deploy.toml ]]; then config=(--config wrangler.deploy.toml); fi
if (( ${#args[@]} == 0 )); then
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi

log "building user-admin"
cargo build -q --release -p admin --bin user-admin --locked
admin="${CARGO_TARGET_DIR:-$ROOT/target}/release/user-admin"

case "${args[0]}" in
  check | preauth | auth | auth-status)
    exec "$admin" "${args[@]}"
    ;;
esac

if [[ ! -x node_modules/.bin/wrangler ]]; then
  "$ROOT/scripts/setup.sh"
fi

sql_file=$(mktemp)
trap 'rm -f "$sql_file"' EXIT

case "${args[0]}" in
  add | set-password)
    if [[ -t 0 ]]; then
      read -rsp "Password for ${args[1]:-?}: " password && echo >&2
      read -rsp "Again: " again && echo >&2
      if [[ "$password" != "$again" ]]; then
        echo "user.sh: the passwords differ" >&2
        exit 1
      fi
      printf '%s\n' "$password" | "$admin" "${args[@]}" > "$sql_file"
      unset password again
    else
      # Scripted use: the password is the first line of stdin.
      "$admin" "${args[@]}" > "$sql_file"
    fi
    ;;
  list)
    "$admin" list > "$sql_file"
    wrangler d1 execute DB "$where" "${config[@]}" --command "$(cat "$sql_file")"
    exit 0
    ;;
  *)
    "$admin" "${args[@]}" > "$sql_file"
    ;;
esac

CI=1 wrangler d1 migrations apply DB "$where" "${config[@]}" >/dev/null
wrangler d1 execute DB "$where" "${config[@]}" --file "$sql_file"
log "done (${args[0]} ${args[1]:-}, $where database)"
