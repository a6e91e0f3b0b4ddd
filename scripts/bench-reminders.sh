#!/usr/bin/env bash
# Benchmark of the daily reminder run (催办) over a million tasks, with the bare SQL floors measured
# in the same run: builds release, sets up its own PostGIS cluster (.pg/bench-reminders, durable
# settings, deleted afterwards), loads the demo county, grows it with synthetic tasks to 1,000,000,
# gives a third of them a lead department and 1% of the open ones a return not yet answered, then
# runs examples/bench_reminders.rs and, once, `greenledger reminders run` as an operator would.
#
#   scripts/bench-reminders.sh     GREENLEDGER_BENCH_PGPORT (54332) picks the cluster's port,
#                                  GREENLEDGER_BENCH_TASKS (1000000) the ledger's size
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh run
port=${GREENLEDGER_BENCH_PGPORT:-54332}
size=${GREENLEDGER_BENCH_TASKS:-1000000}

cargo build --release --quiet --bin greenledger --example bench_reminders

scripts/pg.sh wipe bench-reminders
base=$(scripts/pg.sh start bench-reminders "$port")
trap 'scripts/pg.sh wipe bench-reminders' EXIT
psql="$(scripts/pg.sh bindir)/psql"
"$psql" "$base/postgres" -qc "CREATE DATABASE greenledger"
export DATABASE_URL="$base/greenledger"

target/release/greenledger migrate >/dev/null
target/release/greenledger seed >/dev/null
have=$("$psql" "$DATABASE_URL" -Atc "SELECT count(*) FROM tasks")
started=$(date +%s)
target/release/greenledger synth --tasks $((size - have)) --seed 0.37 2>/dev/null >/dev/null
echo "# synth: $((size - have)) tasks in $(( $(date +%s) - started )) s" >&2
# What the synthetic ledger lacks: lead departments, and returns not yet answered (the return
# event is what the digest compares the latest report with).
"$psql" "$DATABASE_URL" -q <<'SQL'
UPDATE tasks SET lead_department = (ARRAY['water', 'housing', 'agriculture', 'industry', 'ecology'])[1 + abs(hashtext(code)) % 5]
WHERE abs(hashtext(code)) % 3 = 0;
WITH picked AS (
    UPDATE tasks SET return_reason = '合成数据：退回整改'
    WHERE status = 'in_progress' AND abs(hashtext(code || 'r')) % 100 = 0
    RETURNING id
)
INSERT INTO task_events (task_id, kind, action, status_before, status_after, reason, at)
SELECT id, 'transition', 'return', 'completed', 'in_progress', '合成数据：退回整改', timestamptz '2026-05-20 10:00+08'
FROM picked;
VACUUM ANALYZE tasks;
VACUUM ANALYZE task_events;
SQL
echo "bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $("$psql" "$DATABASE_URL" -Atc 'SHOW server_version'), jit $("$psql" "$DATABASE_URL" -Atc 'SHOW jit')"
target/release/examples/bench_reminders --runs "${GREENLEDGER_BENCH_RUNS:-5}" --from 2026-06-01
echo "# the command line, once (process start, the run, no channels configured):"
/usr/bin/time -f "# greenledger reminders run: %e s wall, %M KB peak" \
  target/release/greenledger reminders run --date 2026-07-01
