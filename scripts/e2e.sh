#!/usr/bin/env bash
# The browser tests (tests/e2e): the service over a freshly seeded demo database in the test cluster,
# on a free loopback port, driven by Debian's Chromium through playwright-core from web/node_modules.
# Called by scripts/test.sh with GREENLEDGER_TEST_DB set; screenshots go to test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${GREENLEDGER_TEST_DB:?set GREENLEDGER_TEST_DB to the test PostgreSQL server (scripts/test.sh does)}"

psql="$(scripts/pg.sh bindir)/psql"
[ -x "$psql" ] || psql=psql
db=greenledger_e2e
"$psql" "$GREENLEDGER_TEST_DB/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
export DATABASE_URL="$GREENLEDGER_TEST_DB/$db"

cargo build --quiet
target/debug/greenledger migrate >/dev/null
target/debug/greenledger seed >/dev/null

port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
data=$(mktemp -d)
log="$data/serve.log"
GREENLEDGER_ADDR="127.0.0.1:$port" GREENLEDGER_DATA_DIR="$data/files" RUST_LOG=greenledger=warn \
  target/debug/greenledger serve >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
  "$psql" "$GREENLEDGER_TEST_DB/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
}
trap cleanup EXIT

url="http://127.0.0.1:$port"
node -e '
  const url = process.argv[1];
  const until = Date.now() + 30000;
  (async function poll() {
    try { if ((await fetch(url + "/api/health")).ok) return; } catch {}
    if (Date.now() > until) { console.error("the service did not start"); process.exit(1); }
    setTimeout(poll, 200);
  })();' "$url" || { cat "$log"; exit 1; }

mkdir -p test-artifacts
rm -f test-artifacts/*.png
status=0
GREENLEDGER_E2E_URL="$url" node --test --test-concurrency=1 tests/e2e/*.test.mjs || status=$?
if [ "$status" != 0 ]; then
  echo "e2e: the service's log ends with:" >&2
  tail -30 "$log" >&2
fi
exit "$status"
