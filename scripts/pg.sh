#!/usr/bin/env bash
# A private PostgreSQL + PostGIS cluster for this checkout, never the system one.
#
#   scripts/pg.sh start NAME PORT [fast]   start (creating if needed) cluster NAME on 127.0.0.1:PORT,
#                                          print its DATABASE_URL base (no database name)
#   scripts/pg.sh stop NAME                stop it (fast shutdown)
#   scripts/pg.sh wipe NAME                stop it and delete its data
#   scripts/pg.sh replica NAME PORT FROM   start (making it with pg_basebackup -R if needed) a streaming
#                                          replica NAME on PORT of the cluster on port FROM
#   scripts/pg.sh promote NAME             promote a replica to primary (pg_ctl promote)
#   scripts/pg.sh bindir                   print the PostgreSQL 15 binary directory
#
# Data lives in .pg/NAME (git-ignored).  PostgreSQL refuses to run as root, so as root every server
# command runs as the `postgres` user; when that user cannot reach the checkout (a clone under
# /root, say) the data goes to /var/tmp/greenledger-<hash>/NAME instead and .pg/NAME links to it.
# "fast" turns off durability (fsync, full-page writes): for throwaway test clusters only.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bindir() {
  for d in "${PGBIN:-}" /usr/lib/postgresql/15/bin; do
    [ -n "$d" ] && [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  if command -v pg_config >/dev/null; then pg_config --bindir; else echo /usr/lib/postgresql/15/bin; fi
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

datadir() {
  local name=$1
  if [ -L ".pg/$name" ] || [ -d ".pg/$name" ]; then readlink -f ".pg/$name"; return; fi
  mkdir -p .pg
  if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$root/.pg" 2>/dev/null; then
    echo "$root/.pg/$name"
  else
    local hash
    hash=$(printf '%s' "$root" | sha1sum | cut -c1-12)
    echo "/var/tmp/greenledger-$hash/$name"
  fi
}

start() {
  local name=$1 port=$2 mode=${3:-durable} bin dir log
  bin=$(bindir)
  dir=$(datadir "$name")
  log="$dir.log"
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$dir" = "$root/.pg/$name" ] || ln -sfn "$dir" ".pg/$name"
    touch "$log"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir" "$log" "$(dirname "$dir")"; fi
    echo "pg: creating cluster $name in $dir" >&2
    as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    {
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      # No unix socket: its path length limit and directory permissions bite in deep checkouts.
      echo "unix_socket_directories = ''"
      echo "timezone = 'UTC'"
      echo "max_connections = 200"
      echo "shared_buffers = 256MB"
      echo "work_mem = 32MB"
      echo "maintenance_work_mem = 256MB"
      # JIT compiles plans costing more than the queries it speeds up on this workload.
      echo "jit = off"
      if [ "$mode" = fast ]; then
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
      fi
    } | as_pg tee -a "$dir/postgresql.conf" >/dev/null
  fi
  run_cluster "$name" "$dir"
  local actual
  actual=$(sed -n "s/^port = \([0-9]*\)$/\1/p" "$dir/postgresql.conf" | tail -1)
  echo "postgres://postgres@127.0.0.1:${actual:-$port}"
}

replica() {
  local name=$1 port=$2 from=$3 bin dir
  bin=$(bindir)
  dir=$(datadir "$name")
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$dir" = "$root/.pg/$name" ] || ln -sfn "$dir" ".pg/$name"
    touch "$dir.log"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir" "$dir.log"; fi
    chmod 0700 "$dir"
    echo "pg: making replica $name of 127.0.0.1:$from in $dir" >&2
    # -R writes primary_conninfo and standby.signal: the copy starts as a streaming standby.
    as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$from" -U postgres -D "$dir" -R -X stream -c fast
    echo "port = $port" | as_pg tee -a "$dir/postgresql.auto.conf" >/dev/null
  fi
  run_cluster "$name" "$dir"
  echo "postgres://postgres@127.0.0.1:$port"
}

promote() {
  as_pg "$(bindir)/pg_ctl" -D "$(datadir "$1")" -w promote >/dev/null
}

run_cluster() {
  local name=$1 dir=$2
  if ! as_pg "$(bindir)/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    as_pg "$(bindir)/pg_ctl" -D "$dir" -l "$dir.log" -w -t 60 start >/dev/null || {
      echo "pg: cluster $name did not start; its log ($dir.log) ends with:" >&2
      tail -20 "$dir.log" >&2
      exit 1
    }
  fi
}

stop() {
  local dir
  dir=$(datadir "$1")
  [ -f "$dir/postmaster.pid" ] || return 0
  as_pg "$(bindir)/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
}

wipe() {
  local dir
  dir=$(datadir "$1")
  stop "$1"
  rm -rf "$dir" "$dir.log" ".pg/$1"
}

cmd=${1:-}
shift || true
case "$cmd" in
  start) start "$@" ;;
  stop) stop "$@" ;;
  wipe) wipe "$@" ;;
  replica) replica "$@" ;;
  promote) promote "$@" ;;
  bindir) bindir ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
