#!/usr/bin/env bash
# The map's load benchmark: the release build over the demo county, then over the demo county plus
# N synthetic tasks (default 100,000), each measured by scripts/bench-map.mjs in headless Chromium.
# Uses its own cluster (.pg/bench, port $GREENLEDGER_BENCH_PGPORT, default 54332), kept between runs.
#   scripts/bench-map.sh [N] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
synth=${1:-100000}
runs=${2:-7}

scripts/deps.sh test
base=$(scripts/pg.sh start bench "${GREENLEDGER_BENCH_PGPORT:-54332}")
psql="$(scripts/pg.sh bindir)/psql"
[ -x "$psql" ] || psql=psql
cargo build --release --quiet

pids=()
data=$(mktemp -d)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$data"
  scripts/pg.sh stop bench
}
trap cleanup EXIT

serve() { # database, extra synthetic tasks -> sets $url (not in a subshell, so cleanup knows the pid)
  local db=$1 extra=$2 port
  if [ "$("$psql" "$base/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    "$psql" "$base/postgres" -qc "CREATE DATABASE $db"
    DATABASE_URL="$base/$db" target/release/greenledger migrate >/dev/null
    DATABASE_URL="$base/$db" target/release/greenledger seed >/dev/null
    [ "$extra" = 0 ] || DATABASE_URL="$base/$db" target/release/greenledger synth --tasks "$extra" >/dev/null 2>&1
  fi
  port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
  DATABASE_URL="$base/$db" GREENLEDGER_ADDR="127.0.0.1:$port" GREENLEDGER_DATA_DIR="$data" RUST_LOG=warn \
    target/release/greenledger serve >>"$data/serve.log" 2>&1 &
  pids+=($!)
  url="http://127.0.0.1:$port"
  for _ in $(seq 100); do node -e 'fetch(process.argv[1] + "/api/health").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url" && break; sleep 0.2; done
}

echo "bench-map: machine load $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "bench-map: the demo county (300 tasks)"
serve greenledger_map_demo 0
node scripts/bench-map.mjs "$url" "$runs"
echo "bench-map: the demo county plus $synth synthetic tasks"
serve "greenledger_map_synth_$synth" "$synth"
node scripts/bench-map.mjs "$url" "$runs"
