#!/usr/bin/env bash
# More than one machine's topology, on this one: a PostgreSQL primary, a streaming replica made
# with `pg_basebackup -R`, two service instances (photos in the database, reads on the replica)
# and Debian's nginx balancing between them. Everything on loopback, state under .pg/cluster*.
#
#   scripts/cluster.sh up              start it all (demo data on first start); prints the URLs
#   scripts/cluster.sh down            stop it all and delete its data
#   scripts/cluster.sh stop-primary    stop the primary PostgreSQL (fast shutdown)
#   scripts/cluster.sh start-primary   start it again
#   scripts/cluster.sh promote         promote the replica (pg_ctl promote)
#   scripts/cluster.sh env             the URLs and ports, as shell variables
#
# Ports from GREENLEDGER_CLUSTER_PORT (default 18460): nginx there, the instances at +1 and +2,
# PostgreSQL at +30 (primary) and +31 (replica). The binary is target/debug/greenledger unless
# GREENLEDGER_BIN names another.
set -euo pipefail
cd "$(dirname "$0")/.."

base=${GREENLEDGER_CLUSTER_PORT:-18460}
balancer=$base a_port=$((base + 1)) b_port=$((base + 2)) pg_primary=$((base + 30)) pg_replica=$((base + 31))
bin=${GREENLEDGER_BIN:-target/debug/greenledger}
state=.pg/cluster
primary_url="postgres://postgres@127.0.0.1:$pg_primary/greenledger"
replica_url="postgres://postgres@127.0.0.1:$pg_replica/greenledger"

print_env() {
  echo "GREENLEDGER_CLUSTER_URL=http://127.0.0.1:$balancer"
  echo "GREENLEDGER_CLUSTER_A=http://127.0.0.1:$a_port"
  echo "GREENLEDGER_CLUSTER_B=http://127.0.0.1:$b_port"
  echo "GREENLEDGER_CLUSTER_PRIMARY=$primary_url"
  echo "GREENLEDGER_CLUSTER_REPLICA=$replica_url"
}

wait_for() {
  local url=$1 what=$2
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "cluster: $what did not answer at $url" >&2
  return 1
}

instance() {
  local name=$1 port=$2
  if [ -f "$state/$name.pid" ] && kill -0 "$(cat "$state/$name.pid")" 2>/dev/null; then return; fi
  mkdir -p "$state/data-$name"
  DATABASE_URL=$primary_url GREENLEDGER_READ_DATABASE_URLS=$replica_url GREENLEDGER_READ_MAX_LAG=2 \
    GREENLEDGER_PHOTO_STORE=database GREENLEDGER_SECRET_KEY_FILE="$PWD/$state/secret.key" \
    GREENLEDGER_DATA_DIR="$state/data-$name" GREENLEDGER_ADDR="127.0.0.1:$port" GREENLEDGER_WEB_DIR=web \
    GREENLEDGER_DB_TIMEOUT=2 RUST_LOG="${RUST_LOG:-greenledger=info}" \
    "$bin" serve >>"$state/$name.log" 2>&1 &
  echo $! >"$state/$name.pid"
  wait_for "http://127.0.0.1:$port/api/health" "instance $name"
}

nginx_up() {
  if [ -f "$state/nginx/nginx.pid" ] && kill -0 "$(cat "$state/nginx/nginx.pid")" 2>/dev/null; then return; fi
  local d
  d="$PWD/$state/nginx"
  mkdir -p "$d"
  local user=
  [ "$(id -u)" = 0 ] && user="user root;"
  cat >"$d/nginx.conf" <<CONF
$user
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  access_log $d/access.log;
  client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
  client_max_body_size 30m;
  # The two instances in turn; one that refuses connections is skipped for 5 s.
  upstream greenledger {
    server 127.0.0.1:$a_port max_fails=1 fail_timeout=5s;
    server 127.0.0.1:$b_port max_fails=1 fail_timeout=5s;
    keepalive 16;
  }
  server {
    listen 127.0.0.1:$balancer;
    location / {
      proxy_pass http://greenledger;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      # Which instance answered, for the tests and for whoever reads a trace.
      add_header X-Upstream \$upstream_addr always;
      proxy_next_upstream error timeout;
    }
  }
}
CONF
  nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" -t -q
  nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log"
  wait_for "http://127.0.0.1:$balancer/api/health" "nginx"
}

up() {
  scripts/deps.sh test >/dev/null
  [ -x "$bin" ] || cargo build --quiet
  scripts/build-web.sh
  mkdir -p "$state"
  local pg
  pg=$(scripts/pg.sh start cluster-primary "$pg_primary")
  local psql
  psql="$(scripts/pg.sh bindir)/psql"
  if [ "$("$psql" "$pg/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = 'greenledger'")" != 1 ]; then
    "$psql" "$pg/postgres" -qc "CREATE DATABASE greenledger"
    DATABASE_URL=$primary_url "$bin" migrate >/dev/null
    DATABASE_URL=$primary_url GREENLEDGER_PHOTO_STORE=database "$bin" seed >"$state/seed.log"
  fi
  scripts/pg.sh replica cluster-replica "$pg_replica" "$pg_primary" >/dev/null
  instance a "$a_port"
  instance b "$b_port"
  nginx_up
  echo "cluster: nginx at http://127.0.0.1:$balancer, instances at :$a_port and :$b_port," \
    "PostgreSQL primary :$pg_primary, replica :$pg_replica (logs in $state/)" >&2
  print_env
}

down() {
  if [ -f "$state/nginx/nginx.pid" ]; then kill "$(cat "$state/nginx/nginx.pid")" 2>/dev/null || true; fi
  for name in a b; do
    if [ -f "$state/$name.pid" ]; then kill "$(cat "$state/$name.pid")" 2>/dev/null || true; fi
  done
  sleep 0.5
  scripts/pg.sh wipe cluster-replica
  scripts/pg.sh wipe cluster-primary
  rm -rf "$state"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  stop-primary) scripts/pg.sh stop cluster-primary ;;
  start-primary) scripts/pg.sh start cluster-primary "$pg_primary" >/dev/null ;;
  promote) scripts/pg.sh promote cluster-replica ;;
  env) print_env ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
