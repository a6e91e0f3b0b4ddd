#!/usr/bin/env bash
# The API against its own OpenAPI description: Schemathesis generates requests from
# /api/openapi.json for every operation, valid and invalid, and fails on any answer the description
# does not allow (an undocumented status, content type or body), on a server error, on a request the
# schema forbids that the service accepts, and on one it allows that the service refuses.
# It runs over a freshly seeded demo database, once as bureau staff and once as a township officer,
# each with an API token. GREENLEDGER_API_SEED replays a run (the seed is printed);
# GREENLEDGER_API_EXAMPLES sets the cases per operation.
# One worker: Debian's Python 3.11.2 has a race in its AST constructor that Hypothesis trips over
# from two threads ("AST constructor recursion depth mismatch").
# Called by scripts/test.sh with GREENLEDGER_TEST_DB set; installs Schemathesis into .venv/ if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${GREENLEDGER_TEST_DB:?set GREENLEDGER_TEST_DB to the test PostgreSQL server (scripts/test.sh does)}"

st_version=4.32.5
if ! .venv/bin/st --version 2>/dev/null | grep -qF "$st_version"; then
  echo "api-conformance: installing Schemathesis $st_version into .venv/"
  /usr/bin/python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$st_version"
fi

psql="$(scripts/pg.sh bindir)/psql"
[ -x "$psql" ] || psql=psql
db=greenledger_api_conformance
data=$(mktemp -d)
pid=
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$data"
  "$psql" "$GREENLEDGER_TEST_DB/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
}
trap cleanup EXIT

cargo build --quiet
"$psql" "$GREENLEDGER_TEST_DB/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
DATABASE_URL="$GREENLEDGER_TEST_DB/$db" target/debug/greenledger migrate >/dev/null
DATABASE_URL="$GREENLEDGER_TEST_DB/$db" target/debug/greenledger seed >/dev/null
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
DATABASE_URL="$GREENLEDGER_TEST_DB/$db" GREENLEDGER_ADDR="127.0.0.1:$port" GREENLEDGER_DATA_DIR="$data/files" \
  RUST_LOG=greenledger=warn target/debug/greenledger serve >"$data/serve.log" 2>&1 &
pid=$!

# token USERNAME: logs in and prints a new API token of that account.
token() {
  /usr/bin/python3 - "$url" "$1" "${GREENLEDGER_DEMO_PASSWORD:-greenledger-demo}" <<'PY'
import http.cookiejar, json, sys, time, urllib.request
url, username, password = sys.argv[1:]
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
def post(path, body):
    req = urllib.request.Request(url + path, json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Origin": url})
    return json.load(opener.open(req))
for _ in range(150):
    try:
        urllib.request.urlopen(url + "/api/health/ready")
        break
    except OSError:
        time.sleep(0.2)
post("/api/session", {"username": username, "password": password})
print(post("/api/me/tokens", {"name": "api conformance"})["secret"])
PY
}

seed=${GREENLEDGER_API_SEED:-$(( (RANDOM << 15) | RANDOM ))}
examples=${GREENLEDGER_API_EXAMPLES:-10}
echo "api-conformance: seed $seed (replay with GREENLEDGER_API_SEED=$seed scripts/api-conformance.sh)"
status=0
for who in bureau township-330599101; do
  echo "api-conformance: as $who"
  .venv/bin/st --config-file scripts/api-conformance.toml run "$url/api/openapi.json" \
    --header "Authorization: Bearer $(token "$who")" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,positive_data_acceptance \
    --phases coverage,fuzzing \
    --max-examples "$examples" --seed "$seed" --workers 1 \
    --generation-database none --no-color --output-truncate false \
    "$@" || status=$?
done
if [ "$status" != 0 ]; then
  echo "api-conformance: the service's log ends with:" >&2
  tail -30 "$data/serve.log" >&2
fi
exit "$status"
