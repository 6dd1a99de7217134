#!/usr/bin/env bash
# The web application's steps, each installing what it needs first:
#   scripts/web.sh deps    npm ci, when package-lock.json changed since the last install
#   scripts/web.sh build   deps, then the production build into web/dist when its inputs changed
#   scripts/web.sh lint    deps, then the generated API types, tsc --strict and eslint
#   scripts/web.sh test    deps, then the unit tests (Vitest)
#   scripts/web.sh check   exit 0 when Node.js 20+ and npm are there (make run's test)
# It needs Node.js 20 or newer with npm; nothing else (the page is built
# offline from the npm registry's packages).
set -euo pipefail
cd "$(dirname "$0")/../web"

log() { echo "web: $*"; }
fail() { echo "web: $*" >&2; exit 2; }
digest() { sha256sum | cut -d' ' -f1; }

node_ok() {
  command -v node >/dev/null && command -v npm >/dev/null || return 1
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
  [ "$major" -ge 20 ]
}

need_node() {
  node_ok || fail "the web application needs Node.js 20 or newer with npm (found: $(node --version 2>/dev/null || echo none)); on Debian: apt-get install nodejs npm, or see https://nodejs.org"
}

deps() {
  need_node
  local want
  want=$( { cat package-lock.json; node --version; } | digest)
  if [ ! -d node_modules ] || [ "$(cat node_modules/.bp-lock.sha256 2>/dev/null)" != "$want" ]; then
    log "installing packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > node_modules/.bp-lock.sha256
  fi
}

# Everything the build reads: sources, configuration, the lockfile and the
# API contract the client is generated from.
inputs() {
  {
    find src public index.html package.json package-lock.json tsconfig.json vite.config.ts \
      ../crates/bp-api/tests/openapi.snapshot.json -type f ! -name schema.d.ts -print0 \
      | sort -z | xargs -0 sha256sum
  } | digest
}

build() {
  deps
  local want
  want=$(inputs)
  if [ -f dist/index.html ] && [ "$(cat dist/.bp-inputs.sha256 2>/dev/null)" = "$want" ]; then
    log "web/dist is current"
    return 0
  fi
  log "building web/dist"
  npm run --silent build
  echo "$want" > dist/.bp-inputs.sha256
}

case "${1:-}" in
  deps) deps ;;
  build) build ;;
  lint) deps; npm run --silent lint ;;
  test) deps; npx vitest run ;;
  check) node_ok ;;
  *) fail "usage: scripts/web.sh deps|build|lint|test|check" ;;
esac
