#!/usr/bin/env bash
# README's "Going live", step by step, on a throwaway Debian 12 root: the package installed for real
# by apt, PostgreSQL started, the county's own boundaries (a GBK Shapefile in a CGCS2000
# Gauss-Krüger zone, written by ogr2ogr) and Excel ledger (CSV in GBK) loaded, the first
# administrator's temporary password changed, HTTPS through Debian's nginx, a backup, a restore into
# an empty database answering the same, and an upgrade in place that keeps data and settings.
#
#   scripts/going-live.sh [--deb FILE] [--keep]
#
# Needs root (debootstrap, chroot, a network namespace) and Debian's package mirror for the root's
# own packages. Without --deb it builds the package (scripts/package-deb.sh, a release build).
# Services run inside their own network namespace, so its 5432, 8080 and 443 are the root's alone.
# The base system is kept in GREENLEDGER_GOLIVE_CACHE (default /var/tmp/greenledger-golive-base) and
# copied for each run; --keep leaves the run's root for a look. Prints each step with its time.
set -euo pipefail
cd "$(dirname "$0")/.."

deb= keep=
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) deb=$(realpath "$2"); shift 2 ;;
    --keep) keep=1; shift ;;
    *) sed -n '2,14p' "$0" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "going-live: needs root (debootstrap, chroot, ip netns)" >&2; exit 2; }
for tool in debootstrap ogr2ogr curl ip; do
  command -v "$tool" >/dev/null || { echo "going-live: needs $tool (apt-get install debootstrap gdal-bin curl iproute2)" >&2; exit 2; }
done
if [ -z "$deb" ]; then
  deb=$(realpath "$(scripts/package-deb.sh | tail -1)")
fi

base=${GREENLEDGER_GOLIVE_CACHE:-/var/tmp/greenledger-golive-base}
if [ ! -x "$base/usr/bin/apt-get" ]; then
  echo "going-live: a minimal Debian 12 into $base (once)"
  rm -rf "$base.partial"
  debootstrap --variant=minbase bookworm "$base.partial" http://deb.debian.org/debian >/dev/null
  mv "$base.partial" "$base"
fi

root=$(mktemp -d /var/tmp/greenledger-golive.XXXXXX)
ns=greenledger-golive-$$
files=$(mktemp -d)
cleanup() {
  set +e
  for pidfile in "$root"/run/golive-*.pid; do [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; done
  in_ns 'pg_ctlcluster 15 main stop -m fast; nginx -s stop' >/dev/null 2>&1
  sleep 1
  umount -R "$root/dev" "$root/proc" 2>/dev/null
  ip netns delete "$ns" 2>/dev/null
  rm -rf "$files"
  if [ -n "$keep" ]; then echo "going-live: the root is kept at $root"; else rm -rf "$root"; fi
}
trap cleanup EXIT

cp -a "$base/." "$root/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# As in any chroot: packages must not start services here (the steps start them in the namespace).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
ip netns add "$ns"
ip -n "$ns" link set lo up

run_env=(/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
# A command as root on the server, with the network (package downloads).
on_server() { chroot "$root" "${run_env[@]}" bash -euo pipefail -c "$1"; }
# A command as root on the server inside its own loopback network (the services' world).
in_ns() { ip netns exec "$ns" chroot "$root" "${run_env[@]}" bash -euo pipefail -c "$1"; }
# The same with the service's settings loaded, as systemd's EnvironmentFile= does.
with_settings() { in_ns "set -a; . /etc/greenledger/greenledger.env; set +a; $1"; }
api() { ip netns exec "$ns" curl -sS --max-time 30 "$@"; }

n=0
step() {
  n=$((n + 1))
  local title=$1 start end
  shift
  printf '\n== %s. %s\n' "$n" "$title"
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  awk -v n="$n" -v t="$title" -v s="$start" -v e="$end" 'BEGIN { printf "-- %s. %s: %.1f s\n", n, t, e - s }'
}
fail() { echo "going-live: FAILED: $*" >&2; exit 1; }

# The service as its unit starts it: the user, the settings, the folder, the umask.
start_service() {
  local name=$1 settings=$2
  ip netns exec "$ns" chroot "$root" "${run_env[@]}" runuser -u greenledger -- sh -c \
    "set -a; . $settings; set +a; cd /var/lib/greenledger; umask 0027; exec /usr/bin/greenledger serve" \
    >"$root/var/log/greenledger-$name.log" 2>&1 &
  echo $! >"$root/run/golive-$name.pid"
  local addr
  addr=$(sed -n 's/^GREENLEDGER_ADDR=//p' "$root$settings")
  for _ in $(seq 1 150); do
    api -o /dev/null "http://$addr/api/health" 2>/dev/null && return 0
    kill -0 "$(cat "$root/run/golive-$name.pid")" 2>/dev/null || { tail -20 "$root/var/log/greenledger-$name.log"; fail "the service ($name) stopped"; }
    sleep 0.2
  done
  tail -20 "$root/var/log/greenledger-$name.log"
  fail "the service ($name) did not answer /api/health in 30 s"
}
stop_service() {
  local pidfile=$root/run/golive-$1.pid
  kill "$(cat "$pidfile")"
  while kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 0.2; done
  rm -f "$pidfile"
}

# The county's own files, as its GIS office and its clerks would hand them over.
ogr2ogr -f 'ESRI Shapefile' -t_srs EPSG:4549 -lco ENCODING=GBK "$files/乡镇界线.shp" data/townships.geojson
rm -f "$files/乡镇界线.cpg" # as many counties' files come: no .cpg, names in GBK
(cd "$files" && python3 -c 'import sys, zipfile; z = zipfile.ZipFile("townships.zip", "w"); [z.write(f) for f in sys.argv[1:]]' 乡镇界线.*)
ogr2ogr -f CSV "$files/points.csv" data/townships.geojson -dialect sqlite \
  -sql 'SELECT name, ST_X(ST_PointOnSurface(geometry)) AS lon, ST_Y(ST_PointOnSurface(geometry)) AS lat FROM townships'
python3 - "$files" <<'EOF'
import csv, sys
folder = sys.argv[1]
points = list(csv.DictReader(open(f"{folder}/points.csv", encoding="utf-8")))
families = ["watershed", "chemical", "energy", "village"]
with open(f"{folder}/台账.csv", "w", encoding="gbk", newline="") as out:
    w = csv.writer(out)
    w.writerow(["任务名称", "类别", "乡镇", "牵头单位", "完成时限", "经度", "纬度", "进度"])
    for i, p in enumerate(points):
        w.writerow([f"{p['name']}整治项目{i + 1}", families[i % 4], p["name"], "生态环境分局",
                    f"2027年{i % 12 + 1}月28日", p["lon"], p["lat"], f"{i * 7 % 100}%"])
EOF
cp "$deb" "$files/townships.zip" "$files/台账.csv" "$root/root/"
debname=$(basename "$deb")
ledger_rows=$(($(wc -l <"$files/points.csv") - 1))

step "PostgreSQL and PostGIS (apt-get install postgresql-15-postgis-3)" \
  on_server 'apt-get update -qq && apt-get install -y -qq postgresql-15-postgis-3 >/dev/null'
step "start the database cluster 15/main" in_ns 'pg_ctlcluster 15 main start && pg_lsclusters'

step "the package (apt-get install ./$debname)" on_server "apt-get install -y -qq ./root/$debname >/dev/null
  dpkg -s greenledger | grep -E '^(Status|Version)'
  getent passwd greenledger; stat -c '%a %U:%G %n' /etc/greenledger/greenledger.env /var/lib/greenledger /var/backups/greenledger
  test -x /usr/bin/greenledger && test -f /usr/share/greenledger/web/index.html
  test -L /etc/systemd/system/multi-user.target.wants/greenledger.service
  test -L /etc/systemd/system/timers.target.wants/greenledger-backup.timer"

password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
step "the database and its role" in_ns "runuser -u postgres -- psql -q -c \"CREATE ROLE greenledger LOGIN PASSWORD '$password'\"
  runuser -u postgres -- createdb -O greenledger greenledger
  runuser -u postgres -- psql -q -d greenledger -c 'CREATE EXTENSION postgis'"

step "settings (/etc/greenledger/greenledger.env: DATABASE_URL)" on_server \
  "sed -i 's|^DATABASE_URL=.*|DATABASE_URL=postgres://greenledger:$password@127.0.0.1:5432/greenledger|' /etc/greenledger/greenledger.env
  grep -c '^DATABASE_URL=postgres://greenledger:$password@' /etc/greenledger/greenledger.env"

step "start the service (as greenledger.service runs it)" start_service main /etc/greenledger/greenledger.env
api http://127.0.0.1:8080/api/health
echo
key_mode=$(in_ns 'stat -c "%a %U" /var/lib/greenledger/secret.key')
[ "$key_mode" = "600 greenledger" ] || fail "the secret key file is '$key_mode', not 600 greenledger"
echo "going-live: the service made its secret key (/var/lib/greenledger/secret.key, $key_mode)"
[ "$(api http://127.0.0.1:8080/api/export/tasks.geojson | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["features"]))')" = 0 ] \
  || fail "a production start must hold no tasks"

admin_out=$files/admin.txt
first_admin() {
  with_settings 'greenledger admin create --username xinxike --display-name 信息科' >"$admin_out"
  cat "$admin_out"
}
step "the first administrator (greenledger admin create)" first_admin
temporary=$(sed -n 's/^ *temporary password: //p' "$admin_out" | head -1)
[ -n "$temporary" ] || fail "admin create printed no temporary password"

step "the county's township boundaries: check (greenledger townships import townships.zip)" \
  with_settings 'greenledger townships import /root/townships.zip'
step "the county's township boundaries: apply (--apply)" \
  with_settings 'greenledger townships import /root/townships.zip --apply'
step "the ledger: check (greenledger import ledger 台账.csv --dry-run)" \
  with_settings 'greenledger import ledger /root/台账.csv --dry-run'
step "the ledger: load" with_settings 'greenledger import ledger /root/台账.csv'
officers() {
  with_settings 'greenledger accounts create-township-officers' >"$files/officers.txt"
  head -2 "$files/officers.txt"
  echo "... ($(grep -c 'temporary password' "$files/officers.txt") officers)"
}
step "one officer per township (greenledger accounts create-township-officers)" officers

tasks=$(api http://127.0.0.1:8080/api/export/tasks.geojson | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["features"]))')
[ "$tasks" = "$ledger_rows" ] || fail "the map shows $tasks tasks, the ledger had $ledger_rows rows"
echo "going-live: the public map shows the ledger's $tasks tasks"

first_login() {
  local jar=$files/cookies code
  code=$(api -c "$jar" -o "$files/login.json" -w '%{http_code}' -H 'Content-Type: application/json' -H 'Origin: http://127.0.0.1:8080' \
    -d "{\"username\":\"xinxike\",\"password\":\"$temporary\"}" http://127.0.0.1:8080/api/session)
  [ "$code" = 200 ] || fail "first login answered $code: $(cat "$files/login.json")"
  code=$(api -b "$jar" -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/users)
  [ "$code" = 403 ] || fail "an account with a temporary password listed accounts ($code)"
  code=$(api -b "$jar" -c "$jar" -o "$files/changed.json" -w '%{http_code}' -H 'Content-Type: application/json' -H 'Origin: http://127.0.0.1:8080' \
    -d "{\"current_password\":\"$temporary\",\"new_password\":\"清源县生态环境分局 2026 信息科\"}" http://127.0.0.1:8080/api/me/password)
  [ "$code" = 200 ] || [ "$code" = 204 ] || fail "changing the temporary password answered $code: $(cat "$files/changed.json")"
  code=$(api -c "$jar" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Origin: http://127.0.0.1:8080' \
    -d '{"username":"xinxike","password":"清源县生态环境分局 2026 信息科"}' http://127.0.0.1:8080/api/session)
  [ "$code" = 200 ] || fail "login with the new password answered $code"
  code=$(api -b "$jar" -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/api/users)
  [ "$code" = 200 ] || fail "the administrator could not list accounts after choosing a password ($code)"
  echo "going-live: temporary password refused for work (403), changed, then accounts listed (200)"
}
step "first login: the temporary password must be changed" first_login

https() {
  on_server 'apt-get install -y -qq nginx openssl >/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=ledger.example.gov.cn \
      -keyout /etc/ssl/private/greenledger.key -out /etc/ssl/certs/greenledger.pem 2>/dev/null
    cp /usr/share/doc/greenledger/nginx-greenledger.conf /etc/nginx/sites-available/greenledger
    ln -s ../sites-available/greenledger /etc/nginx/sites-enabled/ && rm /etc/nginx/sites-enabled/default'
  in_ns 'nginx -t 2>&1 && nginx'
  local head=$files/https.txt
  api -k -D "$head" -o /dev/null --resolve ledger.example.gov.cn:443:127.0.0.1 -H 'Content-Type: application/json' \
    -H 'Origin: https://ledger.example.gov.cn' -d '{"username":"xinxike","password":"清源县生态环境分局 2026 信息科"}' \
    https://ledger.example.gov.cn/api/session
  grep -i '^strict-transport-security:' "$head" || fail "no HSTS over https"
  grep -i '^set-cookie:.*; *secure' "$head" || fail "the session cookie is not Secure behind https"
  api -D - -o /dev/null --resolve ledger.example.gov.cn:80:127.0.0.1 http://ledger.example.gov.cn/ | grep -iE '^(HTTP|location)'
}
step "HTTPS (nginx with the packaged configuration, a self-signed certificate)" https

backup=
take_backup() {
  with_settings 'runuser -u greenledger -- /usr/share/greenledger/backup-nightly'
  backup=$(in_ns 'ls -1 /var/backups/greenledger/greenledger-*Z.tar | tail -1')
  in_ns "ls -l $backup; tar -tf $backup | head -5"
}
step "a backup (what greenledger-backup.service runs)" take_backup

answers() { # the answers a restore must give back the same
  local base=$1
  for path in /api/tasks /api/rollups/townships /api/townships /api/export/tasks.csv /api/export/tasks.geojson; do
    api "$base$path" | sha256sum | cut -c1-16
  done
}
restore() {
  stop_service main
  in_ns "runuser -u postgres -- createdb -O greenledger greenledger_restored
    runuser -u postgres -- psql -q -d greenledger_restored -c 'CREATE EXTENSION postgis'"
  on_server "sed -e 's|/greenledger\$|/greenledger_restored|' -e 's|^GREENLEDGER_ADDR=.*|GREENLEDGER_ADDR=127.0.0.1:8081|' \
      -e 's|^GREENLEDGER_DATA_DIR=.*|GREENLEDGER_DATA_DIR=/var/lib/greenledger-restored|' \
      /etc/greenledger/greenledger.env >/etc/greenledger/restored.env
    install -d -o greenledger -g greenledger -m 0750 /var/lib/greenledger-restored
    install -m 0600 -o greenledger -g greenledger /var/lib/greenledger/secret.key /var/lib/greenledger-restored/secret.key
    chown root:greenledger /etc/greenledger/restored.env; chmod 0640 /etc/greenledger/restored.env"
  in_ns "set -a; . /etc/greenledger/restored.env; set +a; runuser -u greenledger --preserve-environment -- greenledger restore --from $backup"
  start_service main /etc/greenledger/greenledger.env
  start_service restored /etc/greenledger/restored.env
  local before after
  before=$(answers http://127.0.0.1:8080)
  after=$(answers http://127.0.0.1:8081)
  echo "original: $before" | tr '\n' ' '; echo
  echo "restored: $after" | tr '\n' ' '; echo
  [ "$before" = "$after" ] || fail "the restored ledger answers differently"
  stop_service restored
}
step "restore into an empty database; both answer the same (tasks, rollups, townships, exports)" restore

upgrade() {
  local before after
  before=$(answers http://127.0.0.1:8080)
  stop_service main
  on_server "dpkg-deb -R /root/$debname /root/next
    sed -i 's/^Version: \\(.*\\)/Version: \\1+upgrade1/' /root/next/DEBIAN/control
    dpkg-deb -b -Zgzip -z1 /root/next /root/next.deb >/dev/null
    apt-get install -y -qq /root/next.deb >/dev/null
    dpkg -s greenledger | grep '^Version'
    grep -c '^DATABASE_URL=postgres://greenledger:$password@' /etc/greenledger/greenledger.env"
  start_service main /etc/greenledger/greenledger.env
  after=$(answers http://127.0.0.1:8080)
  [ "$before" = "$after" ] || fail "the ledger answers differently after the upgrade"
  echo "going-live: upgraded in place, settings and ledger kept"
}
step "upgrade in place (the next version of the package)" upgrade

echo
echo "going-live: every step passed"
