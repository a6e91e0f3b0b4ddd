#!/usr/bin/env bash
# Backup and restore of the demo county (with its photos) plus N synthetic tasks (default 100,000):
# size and time of `greenledger backup` and `greenledger restore`, each beside the bare PostgreSQL
# tools doing the database's part alone (pg_dump --format=custom, pg_restore --single-transaction)
# in the same run, and their ratio. Release build; its own PostGIS cluster (.pg/bench, port
# GREENLEDGER_BENCH_PGPORT, default 54333), deleted afterwards. Prints a Markdown table.
#
#   scripts/bench-backup.sh [N] [runs]      runs: backup/restore rounds, median reported (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
synth=${1:-100000}
runs=${2:-3}

scripts/deps.sh run
cargo build --release --quiet --bin greenledger
gl=$PWD/target/release/greenledger
pgbin=$(scripts/pg.sh bindir)

scripts/pg.sh wipe bench
base=$(scripts/pg.sh start bench "${GREENLEDGER_BENCH_PGPORT:-54333}")
work=$(mktemp -d)
cleanup() {
  rm -rf "$work"
  scripts/pg.sh wipe bench
}
trap cleanup EXIT
psql() { PGOPTIONS="-c client_min_messages=warning" "$pgbin/psql" -qAt "$@"; }
psql "$base/postgres" -c "CREATE DATABASE greenledger"
export DATABASE_URL="$base/greenledger" GREENLEDGER_DATA_DIR="$work/files"
$gl migrate >/dev/null
$gl seed >/dev/null
$gl synth --tasks "$synth" --seed 0.5 >/dev/null 2>&1
psql "$DATABASE_URL" -c "VACUUM ANALYZE"
tasks=$(psql "$DATABASE_URL" -c "SELECT count(*) FROM tasks")
photos=$(find "$work/files" -type f | wc -l)
photo_bytes=$(du -sb "$work/files" | cut -f1)
db_bytes=$(psql "$DATABASE_URL" -c "SELECT pg_database_size(current_database())")
echo "bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $tasks tasks, database $((db_bytes / 1048576)) MiB, $photos photos $((photo_bytes / 1048576)) MiB"

now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }'; }
median() { tr ' ' '\n' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

backup_s=() dump_s=() restore_s=() pgrestore_s=()
for i in $(seq "$runs"); do
  t=$(now); $gl backup --out "$work/archive.tar" >/dev/null; backup_s+=("$(since "$t")")
  t=$(now); "$pgbin/pg_dump" --format=custom --file "$work/bare.dump" --dbname "$DATABASE_URL"; dump_s+=("$(since "$t")")

  psql "$base/postgres" -c "DROP DATABASE IF EXISTS restored" -c "CREATE DATABASE restored"
  t=$(now)
  DATABASE_URL="$base/restored" GREENLEDGER_DATA_DIR="$work/restored-files" $gl restore --from "$work/archive.tar" >/dev/null
  restore_s+=("$(since "$t")")
  rm -rf "$work/restored-files"
  restored=$(psql "$base/restored" -c "SELECT count(*) FROM tasks")
  [ "$restored" = "$tasks" ] || { echo "bench: the restore holds $restored tasks, not $tasks" >&2; exit 1; }

  psql "$base/postgres" -c "DROP DATABASE IF EXISTS bare" -c "CREATE DATABASE bare"
  t=$(now)
  "$pgbin/pg_restore" --single-transaction --exit-on-error --no-owner --no-privileges --no-comments \
    --dbname "$base/bare" "$work/bare.dump"
  pgrestore_s+=("$(since "$t")")
done

archive_bytes=$(stat -c %s "$work/archive.tar")
dump_bytes=$(stat -c %s "$work/bare.dump")
b=$(echo "${backup_s[*]}" | median) d=$(echo "${dump_s[*]}" | median)
r=$(echo "${restore_s[*]}" | median) p=$(echo "${pgrestore_s[*]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
echo
echo "| $tasks tasks, $photos photos (median of $runs) | size MiB | seconds | bare tool | bare size MiB | bare seconds | time ratio |"
echo "| --- | ---: | ---: | --- | ---: | ---: | ---: |"
echo "| \`greenledger backup\` | $((archive_bytes / 1048576)) | $b | pg_dump -Fc | $((dump_bytes / 1048576)) | $d | $(ratio "$b" "$d") |"
echo "| \`greenledger restore\` | | $r | pg_restore -1 | | $p | $(ratio "$r" "$p") |"
echo
echo "runs: backup ${backup_s[*]}; pg_dump ${dump_s[*]}; restore ${restore_s[*]}; pg_restore ${pgrestore_s[*]}"
