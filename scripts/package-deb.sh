#!/usr/bin/env bash
# The Debian package: target/greenledger_<version>_<arch>.deb (path printed on the last line).
#
#   scripts/package-deb.sh [--binary PATH] [--version VERSION] [--out DIR] [--fast]
#
# Without --binary it builds the release binary first. --fast compresses with gzip -1 instead of
# xz (for the tests, which build it from the debug binary). The web front end goes in with the npm
# libraries it serves (production dependencies only, from web/package-lock.json); migrations are
# compiled into the binary. Packaging files live in deploy/debian; dpkg-deb builds the archive
# with root as owner, so neither fakeroot nor cargo-deb is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

binary= version= out=target compress=(-Zxz)
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fast) compress=(-Zgzip -z1); shift ;;
    *) sed -n '2,10p' "$0" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ]; then
  cargo build --release --locked --quiet
  binary=target/release/greenledger
fi
[ -x "$binary" ] || { echo "package-deb: no binary at $binary" >&2; exit 1; }
version=${version:-$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)}
arch=$(dpkg --print-architecture)
# The newest glibc symbol the binary uses is the libc6 it needs.
glibc=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/greenledger/web" "$root/etc/greenledger" \
  "$root/lib/systemd/system" "$root/usr/share/doc/greenledger"
install -m 0755 "$binary" "$root/usr/bin/greenledger"
strip --strip-debug "$root/usr/bin/greenledger" 2>/dev/null || true
install -m 0755 deploy/debian/backup-nightly "$root/usr/share/greenledger/backup-nightly"
install -m 0644 deploy/debian/greenledger.service deploy/debian/greenledger-backup.service \
  deploy/debian/greenledger-backup.timer "$root/lib/systemd/system/"
install -m 0640 deploy/debian/greenledger.env "$root/etc/greenledger/greenledger.env"
install -m 0644 README.md "$root/usr/share/doc/greenledger/README.md"
install -m 0644 deploy/nginx/greenledger.conf "$root/usr/share/doc/greenledger/nginx-greenledger.conf"

web=$root/usr/share/greenledger/web
scripts/build-web.sh
# Timestamps kept: the service serves web/dist only when it is newer than web/js.
cp -r --preserve=timestamps web/index.html web/favicon.svg web/sw.js web/manifest.webmanifest web/icons \
  web/js web/css web/dist web/package.json web/package-lock.json "$web/"
find "$web/dist" -name '*.map' -delete
(cd "$web" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
rm -f "$web/node_modules/.package-lock.json"
find "$root" -type d -exec chmod 0755 {} +
find "$web" -type f -exec chmod 0644 {} +

cat > "$root/usr/share/doc/greenledger/copyright" <<'COPYRIGHT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: greenledger

Files: *
License: MIT

Files: usr/share/greenledger/web/node_modules/*
Comment: The web front end's libraries from npm; each folder holds its own licence file.
License: various (BSD-2-Clause, BSD-3-Clause, MIT)
COPYRIGHT

for script in postinst prerm postrm; do install -m 0755 "deploy/debian/$script" "$root/DEBIAN/$script"; done
echo /etc/greenledger/greenledger.env > "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: greenledger
Version: $version
Architecture: $arch
Maintainer: greenledger maintainers <greenledger@localhost>
Installed-Size: $size
Depends: libc6 (>= $glibc), adduser, postgresql-15-postgis-3 | postgresql-16-postgis-3 | postgresql-17-postgis-3, postgresql-client-15 | postgresql-client
Recommends: nginx
Section: web
Priority: optional
Description: environmental remediation ledger on a map
 greenledger keeps a county environmental bureau's remediation tasks (台账) as
 geotagged features in PostGIS: place, responsible unit, deadline, budget and
 progress, rolled up by township, with a web map, reports with photos from the
 townships, exports and an OGC API for GIS clients.
 .
 This package installs the service (greenledger.service, run as the system user
 greenledger), its settings in /etc/greenledger/greenledger.env and a nightly
 backup (greenledger-backup.timer).
CONTROL

mkdir -p "$out"
deb="$out/greenledger_${version}_${arch}.deb"
dpkg-deb --root-owner-group "${compress[@]}" --build "$root" "$deb" >/dev/null
echo "$deb"
