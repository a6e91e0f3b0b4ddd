#!/usr/bin/env bash
# `make run`: the service with the demo county on a private PostGIS cluster (.pg/run), or on
# $DATABASE_URL when that is set (then nothing is created). Ctrl-C stops the service, lets
# in-flight requests finish, then stops the private cluster.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh run
scripts/build-web.sh

if [ -z "${DATABASE_URL:-}" ]; then
  base=$(scripts/pg.sh start run "${GREENLEDGER_PGPORT:-54329}")
  trap 'scripts/pg.sh stop run' EXIT
  psql="$(scripts/pg.sh bindir)/psql"
  [ -x "$psql" ] || psql=psql
  if [ "$("$psql" "$base/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = 'greenledger'")" != 1 ]; then
    "$psql" "$base/postgres" -qc "CREATE DATABASE greenledger"
  fi
  export DATABASE_URL="$base/greenledger"
  echo "run: private PostGIS at $DATABASE_URL"
fi

cargo build --release --quiet
target/release/greenledger migrate
target/release/greenledger seed
echo "run: serving on http://${GREENLEDGER_ADDR:-127.0.0.1:8080} (Ctrl-C to stop)"
target/release/greenledger serve
