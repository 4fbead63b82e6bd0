#!/usr/bin/env bash
# Deploys the login to Cloudflare in one command, from a fresh clone:
#
#   scripts/deploy.sh            the deployment (asks for what it needs)
#   scripts/deploy.sh --dry-run  the plan, and the production bundle built
#                                (`wrangler deploy --dry-run`); no account
#
# It checks the account (CLOUDFLARE_API_TOKEN, or `npx wrangler login`),
# creates the D1 database if there is none by that name and writes its id
# into wrangler.deploy.toml (a copy of wrangler.toml, not committed; the
# committed file keeps its placeholder), applies the remote migrations,
# creates the generated secrets that are missing (SESSION_SECRET; the
# gateway's signing keys, GATEWAY_KEYS, whose set it also writes to
# gateway-keys.json, mode 600: keep it, "Keys and rotation" needs it) and
# takes the Duo secret from the environment or a prompt without echo,
# deploys with the settings as vars, checks /_login/api/health on the
# deployed URL, and prints the redirect URI to register in Duo and the
# first admin command. A second run finds everything in place: it creates
# and uploads nothing and deploys the same bundle again.
#
# Settings, from the environment or asked for (the non-secret ones echo):
#   DUO_MODE (prompt | inline, default prompt), DUO_API_HOST, APP_ORIGIN,
#   UPSTREAM_URL (an origin, or `none` for forward-auth only),
#   DUO_CLIENT_ID and the secret DUO_CLIENT_SECRET (prompt mode),
#   DUO_IKEY and the secret DUO_SKEY (inline mode).
# WRANGLER (default `npx wrangler`) is the wrangler to run; DEPLOY_DATABASE
# (default the name in wrangler.toml) the D1 database; DEPLOY_CONFIG
# (default wrangler.deploy.toml) and DEPLOY_KEYS (default gateway-keys.json)
# where the config and the key set go.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

dry_run=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "deploy: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done
read -r -a wrangler <<<"${WRANGLER:-npx wrangler}"
config=${DEPLOY_CONFIG:-wrangler.deploy.toml}
keys_file=${DEPLOY_KEYS:-gateway-keys.json}
database=${DEPLOY_DATABASE:-$(sed -n 's/^database_name = "\(.*\)"$/\1/p' wrangler.toml | head -n1)}

step() { printf '\n==> %s\n' "$*" >&2; }
say() { printf '    %s\n' "$*" >&2; }
fail() { printf 'deploy: %s\n' "$*" >&2; exit 1; }

# A setting from the environment, or asked for (echoed; `secret` asks
# without echo). In a dry run nothing is asked: a missing one is named.
setting() { # name prompt [secret]
  local name=$1 value=${!1:-}
  if [[ -z "$value" ]] && (( ! dry_run )); then
    [[ -t 0 ]] || fail "$name is not set (set it in the environment, or run in a terminal to be asked)"
    if [[ "${3:-}" == secret ]]; then
      read -r -s -p "    $2: " value; echo >&2
    else
      read -r -p "    $2: " value
    fi
  fi
  printf '%s' "$value"
}

# The deploy config: wrangler.toml with the database's id.
write_config() { # database_id
  sed "s/^database_id = \".*\"$/database_id = \"$1\"/" wrangler.toml > "$config.tmp"
  mv "$config.tmp" "$config"
}

if (( dry_run )); then
  step "plan (dry run: nothing is created, uploaded or deployed)"
  say "1. check the Cloudflare account (wrangler whoami)"
  say "2. D1 database \"$database\": created if missing; its id goes into $config"
  say "3. queues duo-edge-alerts and duo-edge-alerts-dlq (alerts): created if missing"
  say "4. remote migrations: $(ls migrations/*.sql | wc -l) files in migrations/"
  say "5. secrets, only those missing: SESSION_SECRET and GATEWAY_KEYS (generated),"
  say "   DUO_CLIENT_SECRET (prompt mode) or DUO_SKEY (inline mode) from the environment or asked"
  say "6. wrangler deploy with DUO_MODE, DUO_API_HOST, APP_ORIGIN, UPSTREAM_URL and the Duo key as vars"
  say "7. GET /_login/api/health on the deployed URL until it answers 200 \"ok\""
  mode=${DUO_MODE:-prompt}
  for name in DUO_API_HOST APP_ORIGIN UPSTREAM_URL; do
    [[ -n "${!name:-}" ]] || say "   (to be asked: $name)"
  done
  step "build the production bundle (wrangler deploy --dry-run)"
  # wrangler.toml itself (its placeholder id): a dry run needs no database.
  "${wrangler[@]}" deploy --dry-run --outdir target/deploy-dry-run
  say "bundle: target/deploy-dry-run"
  exit 0
fi

step "the Cloudflare account"
if ! "${wrangler[@]}" whoami --json > /dev/null 2>&1; then
  fail "not signed in to Cloudflare: set CLOUDFLARE_API_TOKEN (a token allowed to edit Workers \
scripts and D1) or run \`npx wrangler login\`, then run this again"
fi
say "signed in"

mode=${DUO_MODE:-prompt}
case "$mode" in
  prompt) key_name=DUO_CLIENT_ID secret_name=DUO_CLIENT_SECRET ;;
  inline) key_name=DUO_IKEY secret_name=DUO_SKEY ;;
  *) fail "DUO_MODE must be prompt or inline, not $mode" ;;
esac
step "settings (DUO_MODE=$mode)"
api_host=$(setting DUO_API_HOST "Duo API hostname (api-XXXXXXXX.duosecurity.com)")
app_origin=$(setting APP_ORIGIN "the app's origin (https://app.example.com)")
upstream=$(setting UPSTREAM_URL "the app's origin behind the login, or none")
duo_key=$(setting "$key_name" "Duo $key_name")
for pair in "DUO_API_HOST=$api_host" "APP_ORIGIN=$app_origin" "UPSTREAM_URL=$upstream" \
  "$key_name=$duo_key"; do
  [[ -n "${pair#*=}" ]] || fail "${pair%%=*} is empty"
done
[[ "$app_origin" == https://* ]] || fail "APP_ORIGIN must be https:// (it is $app_origin)"

step "D1 database \"$database\""
find_database() {
  "${wrangler[@]}" d1 list --json | node -e '
    let text = ""; process.stdin.on("data", d => text += d).on("end", () => {
      const found = JSON.parse(text).find(db => db.name === process.argv[1]);
      if (found) console.log(found.uuid);
    });' "$database"
}
database_id=$(find_database)
if [[ -z "$database_id" ]]; then
  "${wrangler[@]}" d1 create "$database" > /dev/null
  database_id=$(find_database)
  [[ -n "$database_id" ]] || fail "the database $database was not found after creating it"
  say "created: $database_id"
else
  say "found: $database_id"
fi
write_config "$database_id"

step "queues (alerts and their dead letters)"
# The Worker sends alerts to duo-edge-alerts and consumes it; deliveries
# given up on land in duo-edge-alerts-dlq (wrangler.toml's [[queues]]).
for queue in duo-edge-alerts duo-edge-alerts-dlq; do
  if "${wrangler[@]}" queues info "$queue" > /dev/null 2>&1; then
    say "found: $queue"
  else
    "${wrangler[@]}" queues create "$queue" > /dev/null
    say "created: $queue"
  fi
done

step "remote migrations"
CI=1 "${wrangler[@]}" d1 migrations apply DB --remote --config "$config" >&2

step "secrets (only those missing)"
# The names the Worker has; none when it does not exist yet.
present=$("${wrangler[@]}" secret list --format json --config "$config" 2>/dev/null | node -e '
  let text = ""; process.stdin.on("data", d => text += d).on("end", () => {
    try { for (const s of JSON.parse(text)) console.log(s.name); } catch { }
  });' || true)
has() { grep -qx "$1" <<<"$present"; }
secrets_dir=$(mktemp -d)
trap 'rm -rf "$secrets_dir"' EXIT
chmod 700 "$secrets_dir"
secrets="$secrets_dir/secrets.json"
echo '{}' > "$secrets"
# Adds the secret NAME, read from stdin (never an argument: `ps` shows those).
add_secret() { # name
  node -e 'const fs = require("fs"), [file, name] = process.argv.slice(1);
    const all = JSON.parse(fs.readFileSync(file, "utf8"));
    all[name] = fs.readFileSync(0, "utf8");
    fs.writeFileSync(file, JSON.stringify(all));' "$secrets" "$1"
}
added=0
if has SESSION_SECRET; then say "SESSION_SECRET: set"; else
  node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64"))' | add_secret SESSION_SECRET
  added=1
  say "SESSION_SECRET: generated"
fi
if has GATEWAY_KEYS; then say "GATEWAY_KEYS: set"; else
  [[ ! -e "$keys_file" ]] || fail "$keys_file exists but the Worker has no GATEWAY_KEYS: \
upload it (npx wrangler secret put GATEWAY_KEYS --config $config < $keys_file) or move it away"
  (umask 077; node scripts/gateway-keys.mjs new > "$keys_file")
  add_secret GATEWAY_KEYS < "$keys_file"
  added=1
  say "GATEWAY_KEYS: generated (the set is in $keys_file, mode 600: keep it for rotation)"
fi
if has "$secret_name"; then say "$secret_name: set"; else
  value=$(setting "$secret_name" "Duo $secret_name" secret)
  [[ -n "$value" ]] || fail "$secret_name is empty"
  printf '%s' "$value" | add_secret "$secret_name"
  unset value
  added=1
  say "$secret_name: from the environment or the prompt"
fi
secrets_args=()
(( added )) && secrets_args=(--secrets-file "$secrets")

step "deploy"
vars=(--var "DUO_MODE:$mode" --var "DUO_API_HOST:$api_host" --var "APP_ORIGIN:$app_origin"
  --var "UPSTREAM_URL:$upstream" --var "$key_name:$duo_key")
deployed=$("${wrangler[@]}" deploy --config "$config" "${vars[@]}" "${secrets_args[@]}" 2>&1 | tee /dev/stderr)
rm -f "$secrets"

step "health"
# The URL wrangler names under "Deployed ... triggers" (workers.dev), else
# APP_ORIGIN (a route or Custom Domain).
url=$(sed -n '/^Deployed /,$p' <<<"$deployed" | grep -Eo 'https?://[^ ]+' | head -n1 || true)
url=${url:-$app_origin}
health="${url%/}/_login/api/health"
for _ in $(seq 1 30); do
  answer=$(curl -fsS --max-time 5 "$health" 2>/dev/null || true)
  if [[ "$answer" == *'"status":"ok"'* ]]; then break; fi
  sleep 2
done
if [[ -z "$answer" ]]; then
  fail "$health did not answer: give the Worker a route or a Custom Domain (or turn on its workers.dev \
address), then run this again"
fi
[[ "$answer" == *'"status":"ok"'* ]] || fail "$health answered $answer: the setting it names is \
missing or invalid (README, Configuration); set it and run this again"
say "$health: $answer"

cat >&2 <<EOF

  Deployed. In the Duo Admin Panel, register the redirect URI (prompt mode):
    $app_origin/_login/auth/duo/callback
  Give the Worker the app's hostname (a route or a Custom Domain), then add a
  break-glass admin and your users:
    scripts/user.sh add admin --bypass --admin --remote
  Roll back with \`npx wrangler rollback --config $config\` (README, Deploy).
EOF
