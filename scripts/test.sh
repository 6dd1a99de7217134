#!/usr/bin/env bash
# `make test`: build, start a throw-away PostgreSQL 16 + pgvector and Redis 7
# (instance `test`, separate from `make run`'s data), run every workspace test
# against them, stop and delete them, and exit with the tests' status.
# Options: --keep-db keeps the test databases and the instance; anything else
# is passed to `cargo test` (`-p CRATE` runs one crate's tests instead of the
# workspace's: make test-store, test-cache, test-engine, test-api, test-cli).
# Before the tests it installs Debian's prometheus, nginx and pgbouncer
# packages where missing and checks deploy/prometheus with promtool.
# The whole workspace's run ends with contract fuzzing (scripts/contract.sh),
# the web application's unit tests and its browser tests (scripts/e2e.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

export BP_HOME="${BP_HOME:-$PWD/.bp}"
instance=test
bin=target/debug/betterprompts
keep=0
scope=(--workspace)
cargo_args=()
for arg in "$@"; do
  case "$arg" in
    --keep-db) keep=1 ;;
    # One crate (make test-store, test-api...): not the whole workspace.
    -p|--package|-p*|--package=*) scope=(); cargo_args+=("$arg") ;;
    *) cargo_args+=("$arg") ;;
  esac
done
if [ "$keep" = 1 ]; then export BP_KEEP_TEST_DB=1; fi

started=$(date +%s)
cargo build --locked -p betterprompts
# A test instance left by an interrupted run is discarded first.
"$bin" --instance "$instance" infra down --purge >/dev/null

cleanup() {
  if [ "$keep" = 1 ]; then
    echo "kept instance '$instance' and its test databases; connect with: $bin --instance $instance infra status"
    echo "remove them with: $bin --instance $instance infra down --purge"
  else
    "$bin" --instance "$instance" infra down --purge
  fi
}
trap cleanup EXIT

"$bin" --instance "$instance" infra up --ephemeral --no-migrate
# An assignment, so that set -e stops here if the servers do not answer.
endpoints=$("$bin" --instance "$instance" infra status --env)
eval "$endpoints"
export DATABASE_URL REDIS_URL
# `infra up` installed the sentence model there (kept across runs); the
# model's tests must not skip in `make test`.
export BP_MODEL_DIR="${BP_MODEL_DIR:-$BP_HOME/models/all-MiniLM-L6-v2}" BP_REQUIRE_MODEL=1

# Monitoring: Debian's prometheus package gives promtool, which checks the
# deployed configuration and alert rules (and their unit tests) here, and
# the prometheus server that a CLI test starts against `serve`.
source scripts/lib/apt.sh
apt_install prometheus /usr/bin/prometheus
export BP_PROMETHEUS=/usr/bin/prometheus
# nginx (Debian's, never started as a service) in front of two `serve`
# processes in a CLI test, with deploy/nginx.conf.
apt_install nginx /usr/sbin/nginx
export BP_NGINX=/usr/sbin/nginx
# PgBouncer (Debian's 1.18, started by the store tests on their own port).
apt_install pgbouncer /usr/sbin/pgbouncer
export BP_PGBOUNCER=/usr/sbin/pgbouncer
if ! promtool_out=$(promtool check config deploy/prometheus/prometheus.yml 2>&1 \
    && promtool check config deploy/prometheus/compose.yml 2>&1 \
    && promtool test rules deploy/prometheus/alerts_test.yml 2>&1); then
  echo "$promtool_out" >&2
  echo "make test: promtool rejected deploy/prometheus" >&2
  exit 1
fi
echo "make test: promtool: deploy/prometheus config and alert rules valid, rule tests pass"

# bp-api's tests run with four test threads on two cores: they mostly wait
# on PostgreSQL, Redis and bcrypt (123 s with the default two threads, 63 s
# with four). The other crates keep the default: the store's replica tests
# need the replica to keep up, which four threads of bulk writes beside them
# do not allow. RUST_TEST_THREADS set by the caller wins.
api_threads="${RUST_TEST_THREADS:-4}"
status=0
run_tests() {
  local threads=$1
  shift
  local s=0
  if [ -n "$threads" ]; then
    RUST_TEST_THREADS="$threads" cargo test --locked "$@" || s=$?
  else
    cargo test --locked "$@" || s=$?
  fi
  if [ "$status" = 0 ]; then status=$s; fi
}
if [ "${#scope[@]}" -gt 0 ]; then
  run_tests "${RUST_TEST_THREADS:-}" --workspace --exclude bp-api "${cargo_args[@]}"
  run_tests "$api_threads" -p bp-api "${cargo_args[@]}"
elif [[ " ${cargo_args[*]} " == *" bp-api "* || " ${cargo_args[*]} " == *"-pbp-api "* ]]; then
  run_tests "$api_threads" "${cargo_args[@]}"
else
  run_tests "${RUST_TEST_THREADS:-}" "${cargo_args[@]}"
fi
echo "make test: cargo test exited $status after $(( $(date +%s) - started )) s"

# Contract fuzzing (schemathesis against the live OpenAPI document, on a
# database of its own on the same servers) with the whole workspace's run
# only; BP_SKIP_CONTRACT=1 leaves it out. See docs/contract.md.
if [ "${#scope[@]}" -gt 0 ] && [ "${#cargo_args[@]}" -eq 0 ] && [ "${BP_SKIP_CONTRACT:-0}" != 1 ]; then
  contract=0
  bash scripts/contract.sh || contract=$?
  echo "make test: contract fuzzing exited $contract after $(( $(date +%s) - started )) s"
  if [ "$status" = 0 ]; then status=$contract; fi
fi

# The web application: unit tests, then the browser tests against real
# servers on this instance (whole-workspace runs only; BP_SKIP_E2E=1 leaves
# them out). See docs/ui.md.
if [ "${#scope[@]}" -gt 0 ] && [ "${#cargo_args[@]}" -eq 0 ] && [ "${BP_SKIP_E2E:-0}" != 1 ]; then
  web=0
  bash scripts/web.sh test || web=$?
  echo "make test: web unit tests exited $web after $(( $(date +%s) - started )) s"
  e2e=0
  bash scripts/e2e.sh || e2e=$?
  echo "make test: browser tests exited $e2e after $(( $(date +%s) - started )) s"
  if [ "$status" = 0 ]; then status=$web; fi
  if [ "$status" = 0 ]; then status=$e2e; fi
fi
exit "$status"
