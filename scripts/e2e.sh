#!/usr/bin/env bash
# End-to-end tests of the web application in headless Chromium (see
# docs/ui.md): Debian's `chromium` (installed here with apt-get when
# missing) driven by Playwright, against real `betterprompts serve`
# processes on throw-away databases.
#
# Two servers are started:
# - the main one, on a database of its own (bp_e2e_<random>), trusting
#   X-Forwarded-For so that each test is a client of its own for the rate
#   limiter, with an admin account made for the admin tests;
# - a degraded one, whose database refuses connections once it is up, for
#   the page's behaviour while the API answers 503.
#
# With DATABASE_URL and REDIS_URL exported (make test's shared instance) the
# databases are made on that server and dropped at exit; standalone it
# starts a throw-away instance `e2e` and purges it.
#
# Environment:
#   BP_CHROMIUM=PATH        the browser (default /usr/bin/chromium)
#   BP_E2E_WORKERS=N        Playwright workers (default 2)
#   BP_E2E_SCREENSHOTS=DIR  where screenshots go (default web/test-results/screenshots;
#                           docs/ui to refresh the documentation's)
#   E2E_ARGS="..."          extra arguments for `playwright test` (a file or -g filter)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export BP_HOME="${BP_HOME:-$root/.bp}"
instance=e2e
helper="$root/scripts/contract/contract.py"
out="$BP_HOME/e2e-report"
started=$(date +%s)

log() { echo "e2e: $*"; }
fail() { echo "e2e: $*" >&2; exit 2; }

# --- the browser: Debian's package, never a download of Playwright's own
chromium="${BP_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
    || fail "$chromium is missing: install Debian's chromium package (apt-get install chromium) or set BP_CHROMIUM"
  log "installing Debian's chromium package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } \
    || fail "apt-get could not install chromium"
fi
export BP_CHROMIUM="$chromium"

# --- the page and the test runner
bash scripts/web.sh build

work=""
bin=""
mode=""
pids=()
dbs=()
psql=""
admin_url=""

cleanup() {
  local status=$?
  set +e
  for pid in "${pids[@]+"${pids[@]}"}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]+"${pids[@]}"}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [ "$mode" = shared ]; then
    for db in "${dbs[@]+"${dbs[@]}"}"; do
      "$psql" "$admin_url" -qAtX -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null \
        || echo "e2e: could not drop database $db" >&2
    done
  elif [ "$mode" = standalone ]; then
    "$bin" --instance "$instance" infra down --purge >/dev/null 2>&1
  fi
  [ -z "$work" ] || rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- a private copy of the binary (another build may replace target/debug)
work=$(mktemp -d "${TMPDIR:-/tmp}/bp-e2e.XXXXXX")
cp target/debug/betterprompts "$work/betterprompts" || fail "no target/debug/betterprompts (cargo build -p betterprompts first)"
bin="$work/betterprompts"

# shellcheck source=scripts/lib/psql.sh
. "$root/scripts/lib/psql.sh"

rm -rf "$out"
mkdir -p "$out"
if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  mode=standalone
  "$bin" --instance "$instance" infra down --purge >/dev/null 2>&1 || true
  log "starting throw-away instance '$instance'"
  "$bin" --instance "$instance" infra up --ephemeral --no-migrate >"$out/infra.log" 2>&1 \
    || { cat "$out/infra.log" >&2; fail "infra up failed"; }
  eval "$("$bin" --instance "$instance" infra status --env)"
else
  mode=shared
fi
psql=$(find_psql) || fail "psql is needed (set BP_PG_BIN)"
admin_url="$DATABASE_URL"
suffix=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')

# A database of its own, migrated; sets db_url. (Not in a $(...) subshell,
# so that the cleanup list keeps it.)
database() {
  local name=$1
  db_url=$(python3 "$helper" db-url "$admin_url" "$name")
  "$psql" "$admin_url" -qAtX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$name\"" >/dev/null
  dbs+=("$name")
  DATABASE_URL="$db_url" "$bin" migrate up >"$out/migrate-$name.log" 2>&1 \
    || { cat "$out/migrate-$name.log" >&2; fail "migrating $name failed"; }
}

# Starts serve with the given environment, waits until it is ready; sets
# served to its origin.
serve() {
  local name=$1
  shift
  env "$@" "$bin" serve --addr 127.0.0.1:0 >"$out/$name.out" 2>"$out/$name.log" &
  pids+=($!)
  served=$(python3 "$helper" serve-url "$out/$name.out" "$!" 60) || { tail -20 "$out/$name.log" >&2; fail "$name server did not start"; }
  python3 "$helper" wait-ready "$served" 60
}

common=(
  REDIS_URL="$REDIS_URL" BP_BCRYPT_COST=10 BP_WEB_DIR="$root/web/dist" RUST_LOG="${RUST_LOG:-info}"
  BP_MODEL_DIR="${BP_MODEL_DIR:-$BP_HOME/models/all-MiniLM-L6-v2}"
)
keys=()
while IFS= read -r line; do
  case "$line" in BP_ENCRYPTION_KEYS=*|BP_BLIND_INDEX_KEY=*) keys+=("$line") ;; esac
done < <("$bin" keys generate 2>/dev/null)

main_db="bp_e2e_$suffix"
database "$main_db"
main_url=$db_url
serve main "${common[@]}" "${keys[@]}" DATABASE_URL="$main_url" BP_REDIS_KEY_PREFIX="bp-e2e-$suffix" BP_TRUST_PROXY=true
origin=$served

degraded_db="bp_e2e_down_$suffix"
database "$degraded_db"
serve degraded "${common[@]}" "${keys[@]}" DATABASE_URL="$db_url" BP_REDIS_KEY_PREFIX="bp-e2e-down-$suffix"
degraded=$served
# Now its database goes away: new connections are refused, open ones end.
"$psql" "$admin_url" -qAtX -v ON_ERROR_STOP=1 \
  -c "ALTER DATABASE \"$degraded_db\" ALLOW_CONNECTIONS false" \
  -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$degraded_db'" >/dev/null

# The admin of the admin tests.
python3 "$helper" register "$origin" "e2eadmin$suffix" "$work/admin.json"
"$psql" "$main_url" -qAtX -v ON_ERROR_STOP=1 \
  -c "UPDATE auth.users SET role = 'admin' WHERE username = 'e2eadmin$suffix'" >/dev/null
admin_password=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["password"])' "$work/admin.json")

log "serving at $origin (degraded server at $degraded); $(( $(date +%s) - started )) s to set up"
set +e
(
  cd web
  export BP_E2E_URL="$origin" BP_E2E_DEGRADED_URL="$degraded"
  export BP_E2E_ADMIN_USER="e2eadmin$suffix" BP_E2E_ADMIN_PASSWORD="$admin_password"
  # shellcheck disable=SC2086 # E2E_ARGS is a list of arguments
  exec npx playwright test ${E2E_ARGS:-}
)
status=$?
set -e
if [ "$status" != 0 ]; then
  echo "e2e: the servers' logs are in $out; traces of failed tests in web/test-results" >&2
  cp "$out"/*.log web/test-results/ 2>/dev/null || true
fi
log "exited $status after $(( $(date +%s) - started )) s"
exit "$status"
