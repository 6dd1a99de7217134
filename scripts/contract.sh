#!/usr/bin/env bash
# Contract fuzzing: schemathesis against /api/v1/openapi.json, as three
# callers (anonymous, a signed-in user, an admin), with the checks
# not_a_server_error, status_code_conformance, content_type_conformance and
# response_schema_conformance. See docs/contract.md.
#
# Standalone it starts a throw-away instance `contract` (infra up --ephemeral,
# seed) and purges it at exit. With DATABASE_URL and REDIS_URL exported (a
# shared test instance) it uses a database of its own on that server
# (bp_contract_<random>, migrated, dropped at exit) and Redis keys under a
# prefix of its own.
#
# Environment:
#   CONTRACT_EXAMPLES=N      examples per operation (default 25; about 2.5 min in all)
#   CONTRACT_SEED=N          hypothesis seed (default 20261130)
#   CONTRACT_WORKERS=N       schemathesis workers (default 2)
#   CONTRACT_CALLERS="..."   which callers to run (default "anonymous user admin")
#   CONTRACT_CHECKS=a,b      checks (default the four above)
#   CONTRACT_RUN_TIMEOUT=S   bound on one caller's run (default 900 s)
#   CONTRACT_OUT=DIR         logs and reports (default $BP_HOME/contract-report, emptied first)
#   CONTRACT_VERBOSE=1       stream schemathesis' whole output, not just its phases
#   CONTRACT_PYTHON=python3  the interpreter of the venv (rebuilt when this changes)
#   BP_HOME                  default ./.bp; the venv is $BP_HOME/contract-venv
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

export BP_HOME="${BP_HOME:-$root/.bp}"
instance=contract
examples="${CONTRACT_EXAMPLES:-25}"
seed="${CONTRACT_SEED:-20261130}"
workers="${CONTRACT_WORKERS:-2}"
callers="${CONTRACT_CALLERS:-anonymous user admin}"
checks="${CONTRACT_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance}"
run_timeout="${CONTRACT_RUN_TIMEOUT:-900}"
out="${CONTRACT_OUT:-$BP_HOME/contract-report}"
requirements="$root/scripts/contract/requirements.txt"
helper="$root/scripts/contract/contract.py"
hooks="$root/scripts/contract/hooks.py"
venv="$BP_HOME/contract-venv"
started=$(date +%s)

log() { echo "contract: $*"; }
fail() { echo "contract: $*" >&2; exit 2; }
case "$examples" in ''|*[!0-9]*) fail "CONTRACT_EXAMPLES must be a positive number, not '$examples'" ;; esac
[ "$examples" -ge 1 ] || fail "CONTRACT_EXAMPLES must be at least 1"

# --- schemathesis in its own venv, rebuilt when the pinned requirements change
python="${CONTRACT_PYTHON:-python3}"
command -v "$python" >/dev/null || fail "$python is needed (with its venv module; CONTRACT_PYTHON chooses another)"
digest() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi | cut -d' ' -f1; }
command -v timeout >/dev/null || fail "timeout (GNU coreutils) is needed"
want=$( { cat "$requirements"; "$python" -c 'import sys; print(sys.executable, sys.version)'; } | digest)
if [ ! -x "$venv/bin/schemathesis" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  log "installing schemathesis into $venv ($(grep -m1 '^schemathesis==' "$requirements"))"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" >"$venv/.requirements.sha256"
fi
st="$venv/bin/schemathesis"
py="$venv/bin/python"

# --- a private copy of the binary: another build may replace target/debug
# while this runs, and every step here should use the same one.
work=$(mktemp -d "${TMPDIR:-/tmp}/bp-contract.XXXXXX")
mode=""
serve_pid=""
db_name=""
admin_url=""
psql=""

cleanup() {
  local status=$?
  set +e
  if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
    kill -TERM "$serve_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$serve_pid" 2>/dev/null
    wait "$serve_pid" 2>/dev/null
  fi
  if [ "$mode" = standalone ]; then
    "$bin" --instance "$instance" infra down --purge >/dev/null 2>&1 \
      || echo "contract: could not purge instance '$instance': run $root/target/debug/betterprompts --instance $instance infra down --purge" >&2
  elif [ "$mode" = shared ] && [ -n "$db_name" ]; then
    "$psql" "$admin_url" -qAtX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$db_name\" WITH (FORCE)" >/dev/null \
      || echo "contract: could not drop database $db_name" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

src="$root/target/debug/betterprompts"
deadline=$(( $(date +%s) + 300 ))
until [ -x "$src" ] && cp "$src" "$work/betterprompts" 2>/dev/null && "$work/betterprompts" --version >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "no working $src (build it first: cargo build -p betterprompts)"
  log "waiting for $src (being rebuilt?)"
  sleep 2
done
bin="$work/betterprompts"

# shellcheck source=scripts/lib/psql.sh
. "$root/scripts/lib/psql.sh"

rm -rf "$out"
mkdir -p "$out"
suffix=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')

# --- the database and Redis the server will use
serve_env=(
  BP_BCRYPT_COST=10
  BP_RATE_LIMIT_ANONYMOUS=100000000 BP_RATE_LIMIT_FREE=100000000
  BP_RATE_LIMIT_PRO=100000000 BP_RATE_LIMIT_ENTERPRISE=100000000
  RUST_LOG="${RUST_LOG:-info}"
)
if [ -n "${DATABASE_URL:-}" ] && [ -n "${REDIS_URL:-}" ]; then
  mode=shared
  psql=$(find_psql) || fail "psql is needed to create a database on the shared server (set BP_PG_BIN)"
  admin_url="$DATABASE_URL"
  db_name="bp_contract_$suffix"
  db_url=$("$py" "$helper" db-url "$DATABASE_URL" "$db_name")
  log "shared server: creating database $db_name"
  "$psql" "$admin_url" -qAtX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db_name\"" >/dev/null
  DATABASE_URL="$db_url" "$bin" migrate up >"$out/migrate.log" 2>&1 || { cat "$out/migrate.log" >&2; fail "migrating $db_name failed"; }
  if [ -z "${BP_ENCRYPTION_KEYS:-}" ]; then
    # Throw-away PII keys for this database only.
    while IFS= read -r line; do
      case "$line" in BP_ENCRYPTION_KEYS=*|BP_BLIND_INDEX_KEY=*) serve_env+=("$line") ;; esac
    done < <("$bin" keys generate 2>/dev/null)
  fi
  serve_env+=(DATABASE_URL="$db_url" REDIS_URL="$REDIS_URL" BP_REDIS_KEY_PREFIX="bp-contract-$suffix")
  db_for_sql="$db_url"
  instance_args=()
else
  mode=standalone
  unset DATABASE_URL REDIS_URL
  "$bin" --instance "$instance" infra down --purge >/dev/null 2>&1 || true
  log "starting throw-away instance '$instance'"
  "$bin" --instance "$instance" infra up --ephemeral >"$out/infra.log" 2>&1 || { cat "$out/infra.log" >&2; fail "infra up failed"; }
  endpoints=$("$bin" --instance "$instance" infra status --env)
  db_for_sql=$(eval "$endpoints"; echo "$DATABASE_URL")
  psql=$(find_psql) || fail "psql is needed to promote the admin (set BP_PG_BIN)"
  instance_args=(--instance "$instance")
fi

log "seeding development data"
env "${serve_env[@]}" "$bin" "${instance_args[@]}" seed >"$out/seed.log" 2>&1 \
  || { tail -20 "$out/seed.log" >&2; fail "seed failed"; }

# --- the server, on a free loopback port
log "starting serve"
env "${serve_env[@]}" "$bin" "${instance_args[@]}" serve --addr 127.0.0.1:0 >"$out/serve.out" 2>"$out/serve.log" &
serve_pid=$!
origin=$("$py" "$helper" serve-url "$out/serve.out" "$serve_pid" 60)
"$py" "$helper" wait-ready "$origin" 60
ops=$("$py" "$helper" save-openapi "$origin" "$out/openapi.json")
log "serving at $origin ($ops operations in its OpenAPI document)"

# --- callers
user_auth="$work/user.json"
admin_auth="$work/admin.json"
case " $callers " in *" user "*)
  "$py" "$helper" register "$origin" "ctuser$suffix" "$user_auth"
  log "user ctuser$suffix registered"
esac
case " $callers " in *" admin "*)
  "$py" "$helper" register "$origin" "ctadmin$suffix" "$admin_auth"
  "$psql" "$db_for_sql" -qAtX -v ON_ERROR_STOP=1 \
    -c "UPDATE auth.users SET role = 'admin' WHERE username = 'ctadmin$suffix'" >/dev/null
  roles=$("$py" "$helper" login "$admin_auth")
  case ",$roles," in *,admin,*) ;; *) fail "ctadmin$suffix logged in without the admin role (roles: $roles)" ;; esac
  log "admin ctadmin$suffix registered and promoted"
esac

# --- one schemathesis run per caller
run_caller() {
  local caller=$1
  local args=(
    run "$origin/api/v1/openapi.json" --url "$origin"
    --checks "$checks"
    --max-examples "$examples" --seed "$seed" --workers "$workers"
    --generation-database none
    --request-timeout 30
    --report json,ndjson,junit --report-dir "$out/$caller"
    --no-color
  )
  local auth_file=""
  case "$caller" in
    anonymous) ;;
    user) auth_file=$user_auth ;;
    admin) auth_file=$admin_auth ;;
    *) fail "unknown caller '$caller' (anonymous, user, admin)" ;;
  esac
  if [ -n "$auth_file" ]; then
    # The caller's own credentials only: no generated X-API-Key or cookie
    # overriding the Bearer token. Logout would end the caller's session
    # for the rest of the run (docs/contract.md).
    args+=(--generation-with-security-parameters false --exclude-operation-id post_auth_logout)
  fi
  log "[$caller] schemathesis: $examples examples per operation, seed $seed"
  local t0 rc statuses
  t0=$(date +%s)
  set +o errexit
  (
    cd "$out"
    export SCHEMATHESIS_HOOKS="$hooks"
    if [ -n "$auth_file" ]; then export CONTRACT_AUTH_FILE="$auth_file"; else unset CONTRACT_AUTH_FILE; fi
    exec timeout --foreground --signal=INT --kill-after=30 "$run_timeout" "$st" "${args[@]}"
  ) 2>&1 | tee "$out/$caller.log" | if [ "${CONTRACT_VERBOSE:-0}" = 1 ]; then cat; else
      grep --line-buffered -E '\(in [0-9.]+s\)|^ +(Scenarios|Operations):|^=+ .* in [0-9.]+s =+$' | sed -u "s/^ */  [$caller] /"; fi
  statuses=("${PIPESTATUS[@]}")
  set -o errexit
  rc=${statuses[0]}
  log "[$caller] done in $(( $(date +%s) - t0 )) s (schemathesis exit $rc; log $out/$caller.log)"
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "contract: [$caller] stopped after CONTRACT_RUN_TIMEOUT=$run_timeout s" >&2
  fi
  if ! kill -0 "$serve_pid" 2>/dev/null; then
    fail "serve died during the $caller run (see $out/serve.log)"
  fi
}

# Whether a caller's run failed only because schemathesis itself crashed:
# a "Runtime Error" (a Python error inside the tool, such as CPython's "AST
# constructor recursion depth mismatch" seen once in its coverage phase)
# while every generated test case passed. That says nothing about the API.
tool_crash_only() {
  grep -q "Runtime Error" "$1" && grep -qE '^ *[0-9]+ generated, [0-9]+ passed *$' "$1"
}

for caller in $callers; do
  run_caller "$caller"
  if tool_crash_only "$out/$caller.log"; then
    log "[$caller] schemathesis crashed with every test case passing; running this caller once more"
    rm -rf "${out:?}/$caller"
    run_caller "$caller"
  fi
done

log "reports in $out; total $(( $(date +%s) - started )) s"
# shellcheck disable=SC2086
"$py" "$helper" summarize "$out" $callers
