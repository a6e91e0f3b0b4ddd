#!/usr/bin/env bash
# The browser tests (tests/e2e): the service over a freshly seeded demo database in the test cluster,
# on a free loopback port, driven by Debian's Chromium through playwright-core from web/node_modules.
# A second service runs over the demo plus GREENLEDGER_E2E_SYNTH synthetic tasks (default 25,000:
# enough that the county's tiles at zoom 9 hold clusters), for the tests of a view holding too many
# tasks to draw one by one (tests/e2e/dense.test.mjs). A third serves the first database again as a
# county in another time zone than the browsers' (tests/e2e/county-zone.test.mjs).
# Called by scripts/test.sh with GREENLEDGER_TEST_DB set; screenshots go to test-artifacts/.
# GREENLEDGER_E2E_ONLY=tests/e2e/x.test.mjs runs only the files it names.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${GREENLEDGER_TEST_DB:?set GREENLEDGER_TEST_DB to the test PostgreSQL server (scripts/test.sh does)}"

psql="$(scripts/pg.sh bindir)/psql"
[ -x "$psql" ] || psql=psql
dbs=(greenledger_e2e greenledger_e2e_dense)
pids=()
data=$(mktemp -d)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$data"
  for d in "${dbs[@]}"; do
    "$psql" "$GREENLEDGER_TEST_DB/postgres" -q -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" 2>/dev/null || true
  done
}
trap cleanup EXIT

cargo build --quiet

# serve DATABASE LOG [SYNTHETIC_TASKS]: a fresh demo database served on a free port; sets $url.
serve() {
  local db=$1 log=$2 synth=${3:-0}
  "$psql" "$GREENLEDGER_TEST_DB/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  DATABASE_URL="$GREENLEDGER_TEST_DB/$db" target/debug/greenledger migrate >/dev/null
  # The demo's report photos go where `start` tells the service to look for uploads.
  DATABASE_URL="$GREENLEDGER_TEST_DB/$db" GREENLEDGER_DATA_DIR="$data/files-$db" target/debug/greenledger seed >/dev/null
  # synth writes with triggers off, which takes the superuser the test cluster connects as.
  [ "$synth" = 0 ] || DATABASE_URL="$GREENLEDGER_TEST_DB/$db" target/debug/greenledger synth --tasks "$synth" >/dev/null 2>&1
  start "$db" "$log"
}

# start DATABASE LOG [VAR=VALUE...]: the service over an existing database, with these settings,
# on a free port; sets $url. Not run in a subshell, so cleanup knows the server's pid.
start() {
  local db=$1 log=$2 port
  shift 2
  port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
  env "$@" DATABASE_URL="$GREENLEDGER_TEST_DB/$db" GREENLEDGER_ADDR="127.0.0.1:$port" GREENLEDGER_DATA_DIR="$data/files-$db" \
    RUST_LOG=greenledger=warn target/debug/greenledger serve >"$log" 2>&1 &
  pids+=($!)
  url="http://127.0.0.1:$port"
  node -e '
    const url = process.argv[1];
    const until = Date.now() + 30000;
    (async function poll() {
      try { if ((await fetch(url + "/api/health")).ok) return; } catch {}
      if (Date.now() > until) { console.error("the service did not start"); process.exit(1); }
      setTimeout(poll, 200);
    })();' "$url" || { cat "$log"; exit 1; }
}

log="$data/serve.log"
dense_log="$data/serve-dense.log"
serve greenledger_e2e_dense "$dense_log" "${GREENLEDGER_E2E_SYNTH:-25000}"
dense_url=$url
serve greenledger_e2e "$log"
url_main=$url
# The same ledger as a county in another zone than the browsers' (tests/e2e/county-zone.test.mjs).
# It leaves the daily reminders to the first: its "today" is another day for much of the day, so
# it would make a second day's digests in the same inbox (a real county has one zone).
zone=America/Los_Angeles
start greenledger_e2e "$data/serve-zoned.log" GREENLEDGER_TIMEZONE="$zone" GREENLEDGER_REMINDERS=false
zoned_url=$url

mkdir -p test-artifacts
rm -f test-artifacts/*.png
status=0
GREENLEDGER_E2E_URL="$url_main" GREENLEDGER_E2E_DENSE_URL="$dense_url" \
  GREENLEDGER_E2E_ZONED_URL="$zoned_url" GREENLEDGER_E2E_ZONE="$zone" node --test --test-concurrency=1 \
  ${GREENLEDGER_E2E_ONLY:-tests/e2e/*.test.mjs} || status=$?
if [ "$status" != 0 ]; then
  echo "e2e: the service's log ends with:" >&2
  tail -30 "$log" >&2
  echo "e2e: the dense ledger's service log ends with:" >&2
  tail -10 "$dense_log" >&2
fi
exit "$status"
