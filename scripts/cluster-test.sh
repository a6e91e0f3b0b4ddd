#!/usr/bin/env bash
# `make test-cluster`: the tests of the scale-out over a real topology (scripts/cluster.sh): two
# service instances behind Debian's nginx, a PostgreSQL primary and a streaming replica. The API
# tests of tests/api/cluster.rs (across instances; then the primary stopped, restarted, and the
# replica promoted), and the public and township browser tests through the balancer.
# Uses GREENLEDGER_CLUSTER_PORT (default 18460) and the ports after it; takes the cluster down
# at the end, passed or not.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet
scripts/cluster.sh down >/dev/null 2>&1 || true
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
eval "$(scripts/cluster.sh up | sed 's/^/export /')"

echo "cluster-test: the browser tests through the balancer ($GREENLEDGER_CLUSTER_URL)"
GREENLEDGER_E2E_URL=$GREENLEDGER_CLUSTER_URL node --test --test-concurrency=1 \
  tests/e2e/public.test.mjs tests/e2e/township.test.mjs

echo "cluster-test: the API across instances, then without the primary, then on a promoted replica"
cargo test --quiet --test api cluster:: -- --ignored --test-threads=1
