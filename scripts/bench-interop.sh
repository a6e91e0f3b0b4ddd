#!/usr/bin/env bash
# Interop and scale benchmarks (BENCHMARKS.md): vector tiles, bbox pages, single task GETs and the
# bulk import at 10k, 100k and 1M synthetic tasks, each beside the bare SQL doing the same work in
# the same run (pgbench -M prepared), and the tiles beside martin when it is installed.
#
#   scripts/bench-interop.sh            # everything (about 15 minutes on 2 cores)
#   SIZES="10000" DURATION=3s scripts/bench-interop.sh   # a quick look
#   SIZES=100000 PARTS=tiles ZOOMS="13 14" scripts/bench-interop.sh   # some of it (see PARTS below)
#
# Needs oha (cargo install oha --locked) and, optionally, martin (cargo install martin@1.14.0
# --locked --no-default-features --features postgres); OHA / MARTIN point at them if not on PATH.
# Its own PostGIS cluster (.pg/bench, durable settings) on GREENLEDGER_BENCH_PGPORT (default 54352);
# the service on 127.0.0.1:${GREENLEDGER_BENCH_PORT:-18352}, martin on the next port, and a second
# service that does not count requests for /metrics (GREENLEDGER_METRICS=false) on the one after:
# rows "..._uncounted" beside the same requests to the first say what counting costs. Tiles are
# measured beside martin in TURNS alternating rounds (default 3), each figure the median of its rounds.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-"10000 100000 1000000"}
DURATION=${DURATION:-8s}
CLIENTS=${CLIENTS:-2}
# Rounds of the service and martin in turns per zoom (the median of each figure is recorded).
TURNS=${TURNS:-3}
# What to measure (all by default): tiles (ZOOMS, default 8-18, each beside martin and the warm
# cache), counted (what counting for /metrics costs), pages (bbox pages, the county's box and the
# numberMatched boxes), fixed (task GET, health, and the bare server beside them), import.
PARTS=${PARTS:-"tiles counted pages fixed import"}
ZOOMS=${ZOOMS:-"8 9 10 11 12 13 14 15 16 17 18"}
part() { [[ " $PARTS " == *" $1 "* ]]; }
PGPORT=${GREENLEDGER_BENCH_PGPORT:-54352}
PORT=${GREENLEDGER_BENCH_PORT:-18352}
MARTIN_PORT=$((PORT + 1))
UNCOUNTED_PORT=$((PORT + 2))
OHA=${OHA:-$(command -v oha || true)}
MARTIN=${MARTIN:-$(command -v martin || true)}
OUT=${OUT:-target/bench-interop}
if [ ! -x "$OHA" ]; then
  echo "bench: installing oha from crates.io into target/bench-tools (about 4 minutes)"
  cargo install oha --locked --quiet --root target/bench-tools
  OHA=target/bench-tools/bin/oha
fi
mkdir -p "$OUT"
# Absolute, as pgbench runs in a directory of its own.
OUT=$(cd "$OUT" && pwd)
pgbin=$(scripts/pg.sh bindir)
psql_bin="$pgbin/psql"
pgbench_bin="$pgbin/pgbench"

echo "bench: building release"
cargo build --release --quiet
gl=target/release/greenledger

scripts/pg.sh wipe bench
base=$(scripts/pg.sh start bench "$PGPORT")
export DATABASE_URL="$base/greenledger"
"$psql_bin" -q "$base/postgres" -c "CREATE DATABASE greenledger"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  scripts/pg.sh stop bench || true
}
trap cleanup EXIT
$gl migrate >/dev/null
# Townships only: the demo county's 12, none of its tasks (the synthetic ledger brings them).
GREENLEDGER_DEMO_PASSWORD=bench-only $gl seed >/dev/null
# The demo's tasks go with everything that hangs on them (history, reports, photos' rows).
"$psql_bin" -q "$DATABASE_URL" -c "SET client_min_messages = warning; ALTER TABLE task_events DISABLE TRIGGER task_events_no_truncate;
  TRUNCATE tasks CASCADE; ALTER TABLE task_events ENABLE TRIGGER task_events_no_truncate;
  SELECT task_cells_rebuild();"
q() { "$psql_bin" -qAt "$DATABASE_URL" -c "$1"; }

# The services measured against martin and the floors keep no tiles (GREENLEDGER_TILE_CACHE_MB=0),
# as martin keeps none here; the tile cache has its own rows and service (tile_cache_rows, below).
GREENLEDGER_ADDR=127.0.0.1:$PORT GREENLEDGER_TILE_CACHE_MB=0 RUST_LOG=warn $gl serve >"$OUT/serve.log" 2>&1 &
pids+=($!)
GREENLEDGER_ADDR=127.0.0.1:$UNCOUNTED_PORT GREENLEDGER_TILE_CACHE_MB=0 GREENLEDGER_METRICS=false RUST_LOG=warn $gl serve >"$OUT/serve-uncounted.log" 2>&1 &
pids+=($!)
# --- tile cache: a service that keeps tiles, on the port after the uncounted one ---------------
CACHED_PORT=$((PORT + 3))
GREENLEDGER_ADDR=127.0.0.1:$CACHED_PORT GREENLEDGER_TILE_CACHE_MB=1024 RUST_LOG=warn $gl serve >"$OUT/serve-cached.log" 2>&1 &
pids+=($!)
# Each zoom's tiles from the service that keeps them, warm: every URL asked once before measuring.
# Rows "tile_cached_zN" beside "tile_zN" (the same URLs, nothing kept) say what keeping tiles saves.
tile_cache_rows() { # size dir zoom
  sed "s#:$PORT/#:$CACHED_PORT/#" "$2/tiles-$3.urls" >"$2/cached-$3.urls"
  warm "$2/cached-$3.urls"
  record "$1" "tile_cached_z$3" $(http "$2/cached-$3.urls") - - -
}
# Asks each distinct URL of a file once, in order, and checks that the last one asked is now kept.
# (oha picks a URL at random for each request, so as many requests as lines leave a quarter of a
# file of 5,000 distinct tiles unasked, and their first build would count as a warm answer.)
warm() { # urls-file
  python3 - "$1" <<'PY'
import http.client, sys, urllib.parse
urls = sorted(set(open(sys.argv[1]).read().split()))
conns = {}
for url in urls + urls[-1:]:
    u = urllib.parse.urlsplit(url)
    conn = conns.setdefault(u.netloc, http.client.HTTPConnection(u.netloc))
    conn.request("GET", u.path)
    res = conn.getresponse()
    res.read()
    if res.status != 200:
        sys.exit(f"bench: warming {url}: {res.status}")
if res.getheader("X-Cache") != "hit":
    sys.exit(f"bench: {urls[-1]} was not kept (X-Cache: {res.getheader('X-Cache')})")
PY
}
# --- end of the tile cache's part ----------------------------------------------------------------
if [ -x "$MARTIN" ]; then
  cat >"$OUT/martin.yaml" <<EOF
listen_addresses: '127.0.0.1:$MARTIN_PORT'
cache_size_mb: 0
postgres:
  connection_string: '$DATABASE_URL'
  auto_publish: false
  tables:
    tasks:
      schema: public
      table: tasks
      srid: 4326
      # Given, not computed by martin at start from the table, which is still empty then.
      bounds: [-180, -85.0511, 180, 85.0511]
      geometry_column: geom
      geometry_type: GEOMETRY
      extent: 4096
      buffer: 64
      clip_geom: true
      properties:
        code: text
        title: text
        category: text
        status: text
        progress: int2
        township_code: text
        supervised: bool
        due_date: date
        visibility: text
EOF
  "$MARTIN" --config "$OUT/martin.yaml" >"$OUT/martin.log" 2>&1 &
  pids+=($!)
fi
for port in $PORT $UNCOUNTED_PORT $CACHED_PORT; do
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.2; done
done

# --- fixed cost: a bare axum server beside the service ------------------------------------------
# examples/bench_bare.rs: the service's runtime with no middleware, `/json` (a small document) and
# `/sql` (the statement /api/health runs, over a sqlx pool). The service's health and task GETs are
# measured as ratios of these in the same run (rows "..._vs_bare").
BARE_PORT=$((PORT + 10))
cargo build --release --quiet --example bench_bare
target/release/examples/bench_bare --addr "127.0.0.1:$BARE_PORT" >"$OUT/bare.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$BARE_PORT/json" >/dev/null && break; sleep 0.2; done
fixed_cost() { # size dir: bare floors, then health and task GETs beside them
  local size=$1 d=$2 bare_json bare_sql
  for _ in $(seq 100); do echo "http://127.0.0.1:$BARE_PORT/json"; done >"$d/bare-json.urls"
  for _ in $(seq 100); do echo "http://127.0.0.1:$BARE_PORT/sql"; done >"$d/bare-sql.urls"
  bare_json=$(http "$d/bare-json.urls")
  bare_sql=$(http "$d/bare-sql.urls")
  record "$size" bare_json $bare_json - - -
  record "$size" bare_sql $bare_sql - - -
  record "$size" health_vs_bare_sql $(http "$d/health.urls") $bare_sql
  record "$size" task_get_vs_bare_sql $(http "$d/get.urls") $bare_sql
  record "$size" live_vs_bare_json $(http "$d/live.urls") $bare_json
}

# --- measuring -------------------------------------------------------------------------------
results="$OUT/results.tsv"
: >"$results"

# oha over a file of URLs -> "rps p50_ms p99_ms"
http() {
  "$OHA" --no-tui --output-format json -c "$CLIENTS" -z "$DURATION" -H 'Accept-Encoding: identity' \
    --urls-from-file "$1" >"$1.json"
  python3 - "$1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
bad = {k: v for k, v in codes.items() if not k.startswith("2")}
if bad:
    sys.exit(f"non-2xx answers: {bad}")
print(f'{d["summary"]["requestsPerSec"]:.0f} {p["p50"]*1000:.2f} {p["p99"]*1000:.2f}')
PY
}

# Two files of URLs (the service's and martin's) measured in turns, TURNS rounds, the order swapped
# every round: the machine's noise drifts over seconds, and one run each compared whichever had the
# quieter seconds. -> "rps p50_ms p99_ms" for each, the median of its rounds (each figure apart).
http_turns() { # a.urls b.urls
  local r a=() b=()
  for r in $(seq "$TURNS"); do
    if [ $((r % 2)) = 1 ]; then
      a+=("$(http "$1")") && b+=("$(http "$2")")
    else
      b+=("$(http "$2")") && a+=("$(http "$1")")
    fi
  done
  printf '%s\n' "${a[@]}" | medians
  printf '%s\n' "${b[@]}" | medians
}
medians() {
  python3 -c '
import statistics, sys
rows = [line.split() for line in sys.stdin if line.strip()]
cols = [statistics.median(float(r[i]) for r in rows) for i in range(3)]
print(f"{cols[0]:.0f} {cols[1]:.2f} {cols[2]:.2f}")'
}

# pgbench over a script -> "tps p50_ms p99_ms" (from the per-transaction log). The service's
# interactive reads (tiles, pages) run in a read-only transaction with parallel workers off and
# custom plans (src/store/mod.rs, interactive_read); their floors get the same settings through
# PGOPTIONS (second argument "interactive"): pgbench cannot send them with BEGIN in one prepared
# round trip as the service does, so they are set for the floor's whole session instead.
sql() {
  local dir opts=""
  [ "${2:-}" = interactive ] && opts="-c max_parallel_workers_per_gather=0 -c plan_cache_mode=force_custom_plan"
  dir=$(mktemp -d "$OUT/pgbench.XXXX")
  (cd "$dir" && PGOPTIONS="$opts" "$pgbench_bin" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "${DURATION%s}" -l -f "$1" "$DATABASE_URL" >run.txt 2>&1) ||
    { cat "$dir/run.txt"; exit 1; }
  python3 - "$dir" <<'PY'
import glob, sys
lat = []
for f in glob.glob(sys.argv[1] + "/pgbench_log.*"):
    for line in open(f):
        lat.append(int(line.split()[2]) / 1000)
lat.sort()
secs = float(open(sys.argv[1] + "/run.txt").read().split("duration: ")[1].split(" ")[0])
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"{len(lat) / secs:.0f} {pct(0.5):.2f} {pct(0.99):.2f}")
PY
  rm -rf "$dir"
}

record() { # size what rps p50 p99 sql_rps sql_p50 sql_p99
  echo "$*" | tr ' ' '\t' >>"$results"
  printf 'bench: %-8s %-22s http %6s req/s p50 %7s ms p99 %7s ms | sql %6s/s p50 %7s ms p99 %7s ms\n' "$@"
}

tile_floor() { # z xmin xmax ymin ymax -> pgbench script of the service's tile SQL for an anonymous caller
  local z=$1 level=$(($1 - 5)) west north per_metre
  [ "$z" -ge 5 ] || { echo "bench: zooms below 5 are not measured" >&2; exit 1; }
  # The tile's west and north edges in web-mercator metres and tile units per metre, as
  # TileId::mercator_frame computes them.
  read -r west north per_metre <<<"$(python3 -c "
h = 20037508.342789244; side = 2 * h / 2**$z
print(f'(-{h!r}+:x*{side!r})', f'({h!r}-:y*{side!r})', repr(4096 / side))")"
  # One statement without a transaction, as src/store/tiles.rs sends it: a first row with the
  # freshness, the county's date and, below zoom 15 where the tile covers too many tasks, the
  # clusters as ST_AsMVT builds them; otherwise a row per task, as stored when it lies inside the
  # tile's buffer, else clipped by ST_AsMVTGeom, that the service places and encodes. The WHERE keeps parallel workers
  # out of its plans, as there.
  local crowded=false clusters=NULL::bytea
  if [ "$z" -lt 15 ]; then
    crowded="(SELECT coalesce(sum(t.n), 0) FROM task_cells t WHERE t.z = $level AND t.cx BETWEEN :x AND :x AND t.cy BETWEEN :y AND :y AND t.visibility = 'public') > 2500"
    clusters="SELECT ST_AsMVT(m, 'tasks', 4096, 'geom') FROM (SELECT ST_MakePoint(round((sum(t.sx) / sum(t.n) - $west) * $per_metre), round(($north - sum(t.sy) / sum(t.n)) * $per_metre)) AS geom, true AS cluster, t.category, sum(t.n)::int4 AS count, sum(t.planned)::int4 AS planned, sum(t.in_progress)::int4 AS in_progress, sum(t.completed)::int4 AS completed, sum(t.verified)::int4 AS verified, sum(t.cancelled)::int4 AS cancelled, sum(t.supervised)::int4 AS supervised FROM task_cells t WHERE t.z = $z AND t.cx BETWEEN :x0 AND :x1 AND t.cy BETWEEN :y0 AND :y1 AND t.visibility = 'public' GROUP BY t.cx, t.cy, t.category HAVING sum(t.n) > 0) m"
  fi
  cat <<EOF
\set x random($2, $3)
\set y random($4, $5)
\set x0 :x * 32
\set x1 :x * 32 + 31
\set y0 :y * 32
\set y1 :y * 32 + 31
EOF
  echo "WITH c AS MATERIALIZED (SELECT $crowded AS crowded) SELECT NULL::bytea, NULL::uuid, NULL::text, NULL::text, NULL::text, NULL::text, NULL::int2, NULL::text, NULL::bool, NULL::date, NULL::text, extract(epoch FROM (current_date + 1)::timestamptz - now())::float8, CASE WHEN c.crowded THEN ($clusters) END, current_date FROM c WHERE current_schema() IS NOT NULL UNION ALL SELECT CASE WHEN t.geom_3857 @ (SELECT ST_Expand(ST_TileEnvelope($z, :x, :y, margin => 64.0 / 4096), -2.0)) THEN ST_AsEWKB(t.geom_3857) ELSE ST_AsBinary(ST_AsMVTGeom(t.geom_3857, (SELECT ST_TileEnvelope($z, :x, :y)), 4096, 64, true)) END, t.id, t.code, t.title, t.category, t.status, t.progress, t.township_code, t.supervised, t.due_date, t.visibility, NULL::float8, NULL::bytea, NULL::date FROM tasks t WHERE NOT (SELECT crowded FROM c) AND t.geom && ST_Transform(ST_TileEnvelope($z, :x, :y, margin => 64.0 / 4096), 4326) AND t.visibility = 'public';"
}

SELECT_TASK="SELECT t.id, t.code, t.title, t.description, t.category, t.status, t.progress, t.township_code AS township, (SELECT w.name FROM townships w WHERE w.code = t.township_code) AS township_name, t.township_overridden, t.lead_unit, t.contact_person, t.contact_phone, t.due_date, coalesce(t.due_date < current_date AND t.status IN ('planned', 'in_progress'), false) AS overdue, t.planned_investment::float8 AS planned_investment, t.actual_investment::float8 AS actual_investment, t.target_quantity::float8 AS target_quantity, t.target_unit, t.visibility, t.supervised, t.completed_at, t.verified_at, t.last_report_at, t.created_at, t.updated_at, t.version, t.return_reason, t.cancel_reason, ST_AsGeoJSON(t.geom, 15) AS geometry FROM tasks t"

read -r W S E N <<<"$(q "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(boundary) e FROM townships) b" | tr '|' ' ')"
echo "bench: county $W $S $E $N"

# Random boxes a given fraction of the county's side (seeded, so every run asks the same ones):
# box_urls writes the service's URLs with the query after the bbox, box_sql a pgbench script that
# draws a box into :w :s :e :n and runs the statements given.
box_urls() { # fraction seed query
  python3 - "$1" "$2" "$W" "$S" "$E" "$N" "$PORT" "$3" <<'PY'
import random, sys
f, seed = float(sys.argv[1]), int(sys.argv[2]); w, s, e, n = map(float, sys.argv[3:7]); port, query = sys.argv[7:9]
dx, dy = (e - w) * f, (n - s) * f
random.seed(seed)
for _ in range(5000):
    x, y = random.uniform(w, e - dx), random.uniform(s, n - dy)
    print(f"http://127.0.0.1:{port}/api/tasks?bbox={x:.6f},{y:.6f},{x + dx:.6f},{y + dy:.6f}&{query}")
PY
}
box_sql() { # fraction statement...
  python3 - "$1" "$W" "$S" "$E" "$N" <<'PY'
import sys
f = float(sys.argv[1]); w, s, e, n = map(float, sys.argv[2:6])
dx, dy = (e - w) * f, (n - s) * f
m = lambda v: int(v * 1e6)
print(f"\\set wm random({m(w)}, {max(m(w), m(e - dx))})")
print(f"\\set sm random({m(s)}, {max(m(s), m(n - dy))})")
print("\\set w :wm / 1000000.0")
print("\\set s :sm / 1000000.0")
print(f"\\set e :w + {dx}")
print(f"\\set n :s + {dy}")
PY
  printf '%s\n' "${@:2}"
}
IN_BOX="t.visibility = 'public' AND ST_Intersects(t.geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))"

# --- numberMatched from the cells (src/store/task_count.rs) ----------------------------------------
# `limit=1` over random boxes of 5%, 20% and 50% of the county's side and over its whole box, so the
# answer is almost all numberMatched; the floor beside each is the bare count(*) of the same boxes
# (what the service ran before the cells counted), so the ratio is the new count over the old one.
measure_count() {
  local size=$1 d="$OUT/$1" frac name
  for frac in 0.05 0.2 0.5 1; do
    case $frac in 0.05) name=count_box_5pct ;; 0.2) name=count_box_20pct ;; 0.5) name=count_box_50pct ;; *) name=count_county ;; esac
    box_urls "$frac" 17 "limit=1" >"$d/$name.urls"
    box_sql "$frac" "SELECT count(*) FROM tasks t WHERE true AND $IN_BOX;" >"$d/$name.sql"
    record "$size" "$name" $(http "$d/$name.urls") $(sql "$d/$name.sql" interactive)
  done
}

# Tiles of one zoom, uniformly over the tiles covering the county: the service's URLs and the
# floor's pgbench script.
tile_urls() { # dir zoom
  local d=$1 z=$2 x0 x1 y0 y1
  read -r x0 x1 y0 y1 <<<"$(python3 - "$z" "$W" "$S" "$E" "$N" <<'PY'
import math, sys
z, w, s, e, n = int(sys.argv[1]), *map(float, sys.argv[2:])
t = lambda lon, lat: (int((lon + 180) / 360 * 2**z), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z))
(x0, y1), (x1, y0) = t(w, s), t(e, n)
print(x0, x1, y0, y1)
PY
)"
  python3 - "$z" "$x0" "$x1" "$y0" "$y1" "$PORT" >"$d/tiles-$z.urls" <<'PY'
import random, sys
z, x0, x1, y0, y1, port = map(int, sys.argv[1:])
random.seed(z)
for _ in range(5000):
    print(f"http://127.0.0.1:{port}/tiles/tasks/{z}/{random.randint(x0, x1)}/{random.randint(y0, y1)}.mvt")
PY
  tile_floor "$z" "$x0" "$x1" "$y0" "$y1" >"$d/tiles-$z.sql"
}

measure_tiles() { # size dir
  local size=$1 d=$2 z
  for z in $ZOOMS; do
    tile_urls "$d" "$z"
    if [ -x "$MARTIN" ]; then
      sed "s#:$PORT/tiles/tasks/#:$MARTIN_PORT/tasks/#; s#\.mvt\$##" "$d/tiles-$z.urls" >"$d/martin-$z.urls"
      local floor turns
      floor=$(sql "$d/tiles-$z.sql")
      turns=$(http_turns "$d/tiles-$z.urls" "$d/martin-$z.urls")
      record "$size" "tile_z$z" ${turns%%$'\n'*} $floor
      record "$size" "martin_z$z" ${turns#*$'\n'} $floor
    else
      record "$size" "tile_z$z" $(http "$d/tiles-$z.urls") $(sql "$d/tiles-$z.sql")
    fi
    tile_cache_rows "$size" "$d" "$z"
  done
}

# What counting requests for /metrics costs: the same tiles and health checks from the service
# that does not count, each run between two runs of the one that does.
measure_counted() { # size dir
  local size=$1 d=$2 what name
  for what in tiles-14 tiles-16 health; do
    case $what in
      health) for _ in $(seq 100); do echo "http://127.0.0.1:$PORT/api/health"; done >"$d/health.urls" ;;
      *) tile_urls "$d" "${what#tiles-}" ;;
    esac
    sed "s#:$PORT/#:$UNCOUNTED_PORT/#" "$d/$what.urls" >"$d/$what-uncounted.urls"
    name=${what/tiles-/tile_z}
    record "$size" "${name}_counted" $(http "$d/$what.urls") - - -
    record "$size" "${name}_uncounted" $(http "$d/$what-uncounted.urls") - - -
    record "$size" "${name}_counted" $(http "$d/$what.urls") - - -
  done
}

measure_pages() { # size dir
  local size=$1 d=$2 frac
  # bbox pages of 1,000 features: boxes sized to hold about 1,500 tasks at this size.
  frac=$(python3 -c "print(min(1.0, (1500 / $size) ** 0.5))")
  box_urls "$frac" 7 "limit=1000" >"$d/bbox.urls"
  box_sql "$frac" "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;" \
    "$SELECT_TASK WHERE true AND $IN_BOX ORDER BY t.code LIMIT 1000 OFFSET 0;" \
    "SELECT count(*) FROM tasks t WHERE true AND $IN_BOX;" "COMMIT;" >"$d/bbox.sql"
  # (The service skips the count when a page is not full, as it then knows the number; the floor
  # always counts. Boxes near the county's corners can hold fewer than 1,000 tasks.)
  record "$size" "bbox_page_1000" $(http "$d/bbox.urls") $(sql "$d/bbox.sql" interactive)
  # The map's question at county zoom: the whole county's box, one feature, and numberMatched.
  for _ in $(seq 100); do echo "http://127.0.0.1:$PORT/api/tasks?bbox=$W,$S,$E,$N&limit=1"; done >"$d/county.urls"
  cat >"$d/county.sql" <<EOF
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
$SELECT_TASK WHERE true AND t.visibility = 'public' AND ST_Intersects(t.geom, ST_MakeEnvelope($W, $S, $E, $N, 4326)) ORDER BY t.code LIMIT 1 OFFSET 0;
SELECT count(*) FROM tasks t WHERE true AND t.visibility = 'public' AND ST_Intersects(t.geom, ST_MakeEnvelope($W, $S, $E, $N, 4326));
COMMIT;
EOF
  record "$size" "county_count_limit1" $(http "$d/county.urls") $(sql "$d/county.sql" interactive)
  measure_count "$size"
}

measure_fixed() { # size dir
  local size=$1 d=$2
  # Single task GETs over 2,000 random public tasks.
  q "DROP TABLE IF EXISTS bench_ids; CREATE TABLE bench_ids AS SELECT row_number() OVER () AS n, id FROM (SELECT id FROM tasks WHERE visibility = 'public' ORDER BY random() LIMIT 2000) r; ALTER TABLE bench_ids ADD PRIMARY KEY (n);" >/dev/null
  q "SELECT id FROM bench_ids" | sed "s#^#http://127.0.0.1:$PORT/api/tasks/#" >"$d/get.urls"
  printf '\\set n random(1, 2000)\n%s WHERE t.id = (SELECT id FROM bench_ids WHERE n = :n) AND t.visibility = '"'public'"';\n' "$SELECT_TASK" >"$d/get.sql"
  record "$size" "task_get" $(http "$d/get.urls") $(sql "$d/get.sql")
  # The fixed cost of any answer: /api/health runs one trivial statement.
  for _ in $(seq 100); do echo "http://127.0.0.1:$PORT/api/health"; done >"$d/health.urls"
  echo "SELECT postgis_lib_version();" >"$d/health.sql"
  record "$size" "health" $(http "$d/health.urls") $(sql "$d/health.sql")
  for _ in $(seq 100); do echo "http://127.0.0.1:$PORT/api/health/live"; done >"$d/live.urls"
  fixed_cost "$size" "$d"
}

measure() {
  local size=$1 d="$OUT/$1" what
  mkdir -p "$d"
  q "ANALYZE tasks; ANALYZE task_cells;" >/dev/null
  echo "bench: $size tasks; load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg)"
  for what in tiles counted pages fixed; do
    if part "$what"; then "measure_$what" "$size" "$d"; fi
  done
}

have=0
for size in $SIZES; do
  echo "bench: synth $((size - have)) tasks (to $size)"
  $gl synth --tasks $((size - have)) --seed 0.42 2>/dev/null | tail -1
  have=$size
  measure "$size"
done

# --- bulk import of 100,000 features, beside the same inserts as bare SQL ------------------------
measure_import() {
echo "bench: import of 100,000 features"
"$psql_bin" -q "$base/postgres" -c "CREATE DATABASE import_app" -c "CREATE DATABASE import_sql"
for db in import_app import_sql; do
  DATABASE_URL="$base/$db" $gl migrate >/dev/null
  DATABASE_URL="$base/$db" GREENLEDGER_DEMO_PASSWORD=bench-only $gl seed >/dev/null
  "$psql_bin" -qAt "$base/$db" -c "SET client_min_messages = warning; ALTER TABLE task_events DISABLE TRIGGER task_events_no_truncate; TRUNCATE tasks CASCADE;
    ALTER TABLE task_events ENABLE TRIGGER task_events_no_truncate; DELETE FROM task_code_counters; SELECT task_cells_rebuild();" >/dev/null
done
file="$OUT/import-100k.geojson"
# Features exported from the synthetic ledger: its mix of points, river stretches and areas.
q "COPY (SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object('type', 'Feature',
     'geometry', ST_AsGeoJSON(geom, 7)::json, 'properties', json_build_object('title', title, 'category', category,
     'status', CASE WHEN status = 'planned' THEN 'planned' ELSE 'in_progress' END, 'lead_unit', lead_unit,
     'due_date', due_date, 'planned_investment', planned_investment, 'visibility', visibility)))) FROM
     (SELECT * FROM tasks ORDER BY id LIMIT 100000) t) TO STDOUT" >"$file"
start=$(date +%s.%N)
DATABASE_URL="$base/import_app" $gl import "$file" 2>"$OUT/import.log" | tail -1
app_s=$(python3 -c "import time; print(f'{time.time() - $start:.2f}')")
# The floor: the same rows, parsed by PostgreSQL beforehand, inserted set-based with the same
# township join, code counters and created events, through the same triggers and indexes.
"$psql_bin" -qAt "$base/import_sql" -c "CREATE TABLE staging AS SELECT (row_number() OVER ())::int AS i, f FROM jsonb_array_elements(pg_read_file('$file')::jsonb -> 'features') f"
sql_s=$("$psql_bin" -qAt -v ON_ERROR_STOP=1 "$base/import_sql" <<'EOF' | awk '/^Time:/ {s += $2} END {printf "%.2f", s / 1000}'
\timing on
BEGIN;
SET LOCAL greenledger.bulk_assigned = 'on';
CREATE TEMP TABLE g AS SELECT i, f, ST_GeomFromGeoJSON(f -> 'geometry') AS geom FROM staging;
CREATE TEMP TABLE tw AS SELECT g.i, CASE WHEN cardinality(c.codes) = 1 OR GeometryType(g.geom) = 'POINT' THEN c.codes[1] ELSE township_for(g.geom) END AS township
  FROM g JOIN (SELECT g.i, array_agg(t.code ORDER BY t.code) AS codes FROM g JOIN townships t ON ST_Intersects(t.boundary, g.geom) WHERE ST_IsValid(g.geom) GROUP BY g.i) c USING (i);
WITH ins AS (
  INSERT INTO tasks (code, geom, title, category, status, progress, lead_unit, due_date, planned_investment, visibility, township_code)
  SELECT c.prefix || '-2026-' || lpad((row_number() OVER w)::text, greatest(4, length((row_number() OVER w)::text)), '0'),
         g.geom, g.f -> 'properties' ->> 'title', g.f -> 'properties' ->> 'category', g.f -> 'properties' ->> 'status',
         CASE WHEN g.f -> 'properties' ->> 'status' IN ('completed', 'verified') THEN 100 ELSE 0 END,
         g.f -> 'properties' ->> 'lead_unit', (g.f -> 'properties' ->> 'due_date')::date,
         (g.f -> 'properties' ->> 'planned_investment')::numeric, g.f -> 'properties' ->> 'visibility', tw.township
  FROM g JOIN tw USING (i) JOIN categories c ON c.code = g.f -> 'properties' ->> 'category'
  WINDOW w AS (PARTITION BY g.f -> 'properties' ->> 'category' ORDER BY g.i)
  RETURNING id, status, category)
INSERT INTO task_events (task_id, kind, status_after, changes) SELECT id, 'created', status, jsonb_build_object('category', category) FROM ins;
INSERT INTO task_code_counters (category, year, last) SELECT category, 2026, count(*) FROM tasks GROUP BY category;
COMMIT;
EOF
)
echo "bench: import of 100000 features: greenledger import ${app_s} s, bare SQL ${sql_s} s"
printf 'import\t100000\t%s\t%s\n' "$app_s" "$sql_s" >>"$results"

}

if part import; then measure_import; fi

echo
echo "bench: results in $results"
python3 scripts/bench-interop-table.py "$results"
