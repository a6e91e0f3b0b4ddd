#!/usr/bin/env bash
# Benchmark of GET /api/rollups/townships against its bare SQL (the floor) at 10k, 100k and 1M tasks,
# in one run: builds release, sets up its own PostGIS cluster (.pg/bench, durable settings, deleted
# afterwards), loads the demo county, grows it with synthetic tasks and prints median and p99 of
# both, and their ratio, at each size. Takes about 10 minutes on 2 cores.
#
#   scripts/bench-rollups.sh            GREENLEDGER_BENCH_PGPORT (54331) and GREENLEDGER_BENCH_ADDR
#                                       (127.0.0.1:8089) choose the cluster's port and the server's address
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh run
port=${GREENLEDGER_BENCH_PGPORT:-54331}
addr=${GREENLEDGER_BENCH_ADDR:-127.0.0.1:8089}

cargo build --release --quiet --bin greenledger --example bench_rollups

scripts/pg.sh wipe bench
base=$(scripts/pg.sh start bench "$port")
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  scripts/pg.sh wipe bench
}
trap cleanup EXIT
psql="$(scripts/pg.sh bindir)/psql"
"$psql" "$base/postgres" -qc "CREATE DATABASE greenledger"
export DATABASE_URL="$base/greenledger"

target/release/greenledger migrate >/dev/null
target/release/greenledger seed >/dev/null
GREENLEDGER_ADDR=$addr RUST_LOG=warn target/release/greenledger serve --web-dir web >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
  curl -sf "http://$addr/api/health" >/dev/null && break
  sleep 0.2
done

echo "bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $("$psql" "$DATABASE_URL" -Atc 'SHOW server_version'), jit $("$psql" "$DATABASE_URL" -Atc 'SHOW jit')"
have=$("$psql" "$DATABASE_URL" -Atc "SELECT count(*) FROM tasks")
seed=0.11
for size in 10000:200 100000:100 1000000:30; do
  n=${size%%:*}
  runs=${size##*:}
  target/release/greenledger synth --tasks $((n - have)) --seed "$seed" 2>/dev/null >/dev/null
  have=$n
  seed=$(echo "$seed + 0.11" | bc)
  # A settled table, as a live one is between autovacuum runs.
  "$psql" "$DATABASE_URL" -qc "VACUUM ANALYZE tasks"
  echo "# load average before $n tasks: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  target/release/examples/bench_rollups --base-url "http://$addr" --runs "$runs" | { [ "$n" = 10000 ] && cat || tail -n +2; }
done
