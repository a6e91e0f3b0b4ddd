#!/usr/bin/env bash
# `make test`: every test, against a throwaway PostGIS cluster (.pg/test) made for this run.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

scripts/deps.sh test
scripts/build-web.sh

scripts/pg.sh wipe test
export GREENLEDGER_TEST_DB
GREENLEDGER_TEST_DB=$(scripts/pg.sh start test "${GREENLEDGER_TEST_PGPORT:-54330}" fast)
trap 'scripts/pg.sh wipe test' EXIT

echo "test: format and lints"
cargo fmt --all --check
cargo clippy --quiet --workspace --all-targets -- -D warnings

# Builds read the queries' descriptions from .sqlx/ (SQLX_OFFLINE in .cargo/config.toml); this
# proves they still match the migrations, against a database made and migrated for it.
echo "test: the compile-checked queries match the schema (.sqlx/)"
sqlx_db="$GREENLEDGER_TEST_DB/sqlx_check"
"$(scripts/pg.sh bindir)/psql" -q "$GREENLEDGER_TEST_DB/postgres" -c "CREATE DATABASE sqlx_check"
DATABASE_URL=$sqlx_db cargo run --quiet -- migrate
DATABASE_URL=$sqlx_db cargo sqlx prepare --check -- --all-targets

echo "test: unit and integration tests (PostGIS at $GREENLEDGER_TEST_DB)"
cargo test --quiet --workspace

# kill -9 of a backend makes PostgreSQL restart every backend of the cluster, so this one runs
# alone, after the others.
echo "test: creates while a database backend is killed"
cargo test --quiet --test api crash -- --ignored

echo "test: the log lines of a request, read alone"
cargo test --quiet --test api request_id::the_log_lines -- --ignored

echo "test: web/js exports imported and documented"
node scripts/check-js.mjs

echo "test: the API against its OpenAPI description (Schemathesis)"
scripts/api-conformance.sh

echo "test: the map in Chromium (screenshots in test-artifacts/)"
scripts/e2e.sh

echo "test: two instances behind nginx, a PostgreSQL primary and its streaming replica (scripts/cluster-test.sh)"
scripts/cluster-test.sh

# The README's "Going live" on a throwaway Debian 12 root, with the package of this build. It takes
# root (chroot, a network namespace) and Debian's mirror; elsewhere it says so and is left out.
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
  echo "test: going live on a throwaway Debian 12 root (scripts/going-live.sh)"
  deb_dir=$(mktemp -d)
  scripts/package-deb.sh --binary target/debug/greenledger --fast --out "$deb_dir" >/dev/null
  scripts/going-live.sh --deb "$deb_dir"/greenledger_*.deb
  rm -rf "$deb_dir"
else
  echo "test: going live on a throwaway root LEFT OUT: it needs root and iproute2 (run scripts/going-live.sh as root)"
fi

echo "test: all passed in $(( $(date +%s) - start )) s"
