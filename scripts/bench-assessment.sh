#!/usr/bin/env bash
# Benchmark of a campaign year's assessment (GET …/assessment?draft=true) against the bare SQL of
# its indicators, over 1,000,000 tasks, in one run: builds release, sets up its own PostGIS cluster
# (.pg/bench-assess, deleted afterwards), loads the demo county, grows it with synthetic tasks, puts
# them all in one campaign (2026–2027) with lead departments for five in six, returns for one in
# fifty and a target per township and family, and prints the median of both and their ratio.
#
#   scripts/bench-assessment.sh     GREENLEDGER_BENCH_PGPORT (54332), GREENLEDGER_BENCH_ADDR
#                                   (127.0.0.1:8090) and GREENLEDGER_BENCH_TASKS (1000000)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh run
port=${GREENLEDGER_BENCH_PGPORT:-54332}
addr=${GREENLEDGER_BENCH_ADDR:-127.0.0.1:8090}
tasks=${GREENLEDGER_BENCH_TASKS:-1000000}

cargo build --release --quiet --bin greenledger --example bench_assessment

scripts/pg.sh wipe bench-assess
base=$(scripts/pg.sh start bench-assess "$port")
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  scripts/pg.sh wipe bench-assess
}
trap cleanup EXIT
psql="$(scripts/pg.sh bindir)/psql"
"$psql" "$base/postgres" -qc "CREATE DATABASE greenledger"
export DATABASE_URL="$base/greenledger"

target/release/greenledger migrate >/dev/null
target/release/greenledger seed >/dev/null
have=$("$psql" "$DATABASE_URL" -Atc "SELECT count(*) FROM tasks")
target/release/greenledger synth --tasks $((tasks - have)) --seed 0.23 2>/dev/null >/dev/null
"$psql" "$DATABASE_URL" -q <<'SQL'
INSERT INTO campaigns (code, name_zh, name_en, first_year, last_year) VALUES ('bench', '基准活动', 'Benchmark', 2026, 2027);
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE tasks SET campaign_code = 'bench',
       lead_department = (ARRAY['water', 'housing', 'agriculture', 'industry', 'ecology', NULL])[1 + abs(hashtext(code)) % 6];
INSERT INTO task_events (task_id, kind, action, status_before, status_after, reason)
SELECT id, 'transition', 'return', 'completed', 'in_progress', '基准' FROM tasks WHERE abs(hashtext(code || 'r')) % 50 = 0;
COMMIT;
INSERT INTO campaign_targets (campaign_code, year, township_code, category, task_count, quantity, unit, counted_when)
SELECT 'bench', 2026, t.code, c.code, 5000, 100, 'km', 'completed' FROM townships t CROSS JOIN categories c;
VACUUM ANALYZE tasks;
VACUUM ANALYZE task_events;
SQL
GREENLEDGER_ADDR=$addr RUST_LOG=warn target/release/greenledger serve --web-dir web >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
  curl -sf "http://$addr/api/health" >/dev/null && break
  sleep 0.2
done
echo "bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $("$psql" "$DATABASE_URL" -Atc 'SHOW server_version'), jit $("$psql" "$DATABASE_URL" -Atc 'SHOW jit')"
target/release/examples/bench_assessment --base-url "http://$addr" --runs "${GREENLEDGER_BENCH_RUNS:-10}"
