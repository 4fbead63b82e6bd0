#!/usr/bin/env bash
# Rotates the deployed Worker's secrets, one command each, signing nobody
# out (README, "Operate: rotating secrets"):
#
#   scripts/rotate-secret.sh session-secret begin
#       a new SESSION_SECRET goes in as SESSION_SECRET_NEXT: from now on it
#       signs every new cookie, and cookies signed with the old one are
#       still accepted (sign-ins under way, known browsers). The new value is
#       kept in session-secret.next (mode 600) until `finish`.
#   scripts/rotate-secret.sh session-secret finish
#       after the grace period (30 days keeps every known browser's cookie;
#       10 minutes every sign-in under way): the new value becomes
#       SESSION_SECRET, and the old one is accepted no more.
#       (SESSION_SECRET_NEXT stays equal to it until the next rotation.)
#   scripts/rotate-secret.sh gateway-keys
#       the gateway's signing keys move one role on (scripts/gateway-keys.mjs
#       rotate: the next key signs, the old one stays published), from
#       gateway-keys.json, which is replaced.
#   scripts/rotate-secret.sh duo
#       after resetting the secret in the Duo Admin Panel: the new
#       DUO_CLIENT_SECRET (DUO_SKEY with DUO_MODE=inline), asked without echo
#       or read from the environment.
#
# Sessions are random ids, not signed: no rotation ends one. WRANGLER (default
# `npx wrangler`) and DEPLOY_CONFIG (default wrangler.deploy.toml, which
# scripts/deploy.sh writes), DEPLOY_KEYS (default gateway-keys.json) and
# ROTATION_FILE (default session-secret.next) as in scripts/deploy.sh.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

read -r -a wrangler <<<"${WRANGLER:-npx wrangler}"
config=${DEPLOY_CONFIG:-wrangler.deploy.toml}
keys_file=${DEPLOY_KEYS:-gateway-keys.json}
next_file=${ROTATION_FILE:-session-secret.next}

fail() { printf 'rotate-secret: %s\n' "$*" >&2; exit 1; }
say() { printf '    %s\n' "$*" >&2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

[[ -f "$config" ]] || fail "$config not found: deploy with scripts/deploy.sh first (it writes it)"
# `secret put NAME`, the value on stdin (never an argument).
put() { "${wrangler[@]}" secret put "$1" --config "$config" > /dev/null; }

case "${1:-} ${2:-}" in
  "session-secret begin")
    [[ ! -e "$next_file" ]] || fail "a rotation is under way ($next_file exists): run \`$0 session-secret finish\` first"
    (umask 077; node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64"))' > "$next_file")
    put SESSION_SECRET_NEXT < "$next_file"
    say "SESSION_SECRET_NEXT is set: new cookies are signed with it, the old secret's are still accepted."
    say "After the grace period (30 days for every known browser, 10 minutes for sign-ins under way):"
    say "  $0 session-secret finish"
    ;;
  "session-secret finish")
    [[ -s "$next_file" ]] || fail "no rotation under way ($next_file is missing): start one with \`$0 session-secret begin\`"
    put SESSION_SECRET < "$next_file"
    rm -f "$next_file"
    say "SESSION_SECRET is the new secret; cookies signed with the old one are no longer accepted."
    ;;
  "gateway-keys ")
    [[ -s "$keys_file" ]] || fail "$keys_file not found: the set in force is needed (scripts/deploy.sh wrote it)"
    (umask 077; node scripts/gateway-keys.mjs rotate < "$keys_file" > "$keys_file.new")
    put GATEWAY_KEYS < "$keys_file.new"
    mv "$keys_file.new" "$keys_file"
    say "GATEWAY_KEYS rotated: the next key signs now, the old one stays published as previous."
    say "Wait at least 5 minutes (the key set's cache) before rotating again."
    ;;
  "duo ")
    name=DUO_CLIENT_SECRET
    [[ "${DUO_MODE:-prompt}" == inline ]] && name=DUO_SKEY
    value=${!name:-}
    if [[ -z "$value" ]]; then
      [[ -t 0 ]] || fail "$name is not set (set it in the environment, or run in a terminal to be asked)"
      read -r -s -p "    the new $name from the Duo Admin Panel: " value; echo >&2
    fi
    [[ -n "$value" ]] || fail "$name is empty"
    printf '%s' "$value" | put "$name"
    unset value
    say "$name is set: the Worker uses it from its next request (Duo accepts only the new one)."
    ;;
  *) usage ;;
esac
