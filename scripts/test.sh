#!/usr/bin/env bash
# `make test`: every test, against a throwaway PostGIS cluster (.pg/test) made for this run.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

scripts/deps.sh test

scripts/pg.sh wipe test
export GREENLEDGER_TEST_DB
GREENLEDGER_TEST_DB=$(scripts/pg.sh start test "${GREENLEDGER_TEST_PGPORT:-54330}" fast)
trap 'scripts/pg.sh wipe test' EXIT

echo "test: format and lints"
cargo fmt --check
cargo clippy --quiet --all-targets -- -D warnings

echo "test: unit and integration tests (PostGIS at $GREENLEDGER_TEST_DB)"
cargo test --quiet

echo "test: web/js exports imported and documented"
node scripts/check-js.mjs

echo "test: the map in Chromium (screenshots in test-artifacts/)"
scripts/e2e.sh

echo "test: all passed in $(( $(date +%s) - start )) s"
