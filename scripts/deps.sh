#!/usr/bin/env bash
# Installs what the two make targets need and is missing on a fresh Debian machine.
# Each step checks first, so a second run costs nothing.  Usage: scripts/deps.sh [run|test]
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    echo "deps: apt-get update"
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  echo "deps: installing $*"
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pgbin=$(scripts/pg.sh bindir)
[ -x "$pgbin/initdb" ] || apt_install postgresql-15
sharedir=$("$pgbin/pg_config" --sharedir 2>/dev/null || echo /usr/share/postgresql/15)
[ -f "$sharedir/extension/postgis.control" ] || apt_install postgresql-15-postgis-3

if [ "$purpose" = test ]; then
  # GDAL's OGC API reader and Chromium are real clients the tests drive.
  command -v ogrinfo >/dev/null || apt_install gdal-bin
  command -v chromium >/dev/null || apt_install chromium
  # The package and proxy tests: Debian's nginx in front of the service, systemd-analyze on the
  # units, dpkg-deb to build the package.
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt_install nginx
  command -v systemd-analyze >/dev/null || apt_install systemd
  command -v openssl >/dev/null || apt_install openssl
  # "Going live" on a throwaway Debian root: debootstrap makes it, ip gives it its own network.
  if [ "$(id -u)" = 0 ]; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    command -v ip >/dev/null || apt_install iproute2
    command -v curl >/dev/null || apt_install curl
  fi
  # Photos with EXIF (GPS, time, orientation) as a camera app writes them, made by an image library.
  /usr/bin/python3 -c 'import PIL' 2>/dev/null || apt_install python3-pil
  # OWSLib, a Python client of the OGC API that the GIS client tests drive.
  /usr/bin/python3 -c 'import owslib.ogcapi.features' 2>/dev/null || apt_install python3-owslib
  # QGIS's own OGC API reader (its OAPIF provider, in qgis-providers), driven through PyQGIS.
  { /usr/bin/python3 -c 'import qgis.core' 2>/dev/null && [ -f /usr/lib/qgis/plugins/libprovider_wfs.so ]; } ||
    apt_install python3-qgis qgis-providers
  # A real SMTP server the reminder tests send e-mail to.
  /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || apt_install python3-aiosmtpd
  # A Chinese font, so the browser tests' screenshots show the UI's words rather than empty boxes.
  fc-list :lang=zh 2>/dev/null | grep -q . || apt_install fonts-wqy-microhei
  # sqlx-cli checks the committed query descriptions (.sqlx/) against the migrated schema.
  if ! cargo sqlx --version >/dev/null 2>&1; then
    echo "deps: cargo install sqlx-cli"
    cargo install sqlx-cli --version 0.8.6 --locked --no-default-features --features postgres,rustls
  fi
fi

if [ -f web/package-lock.json ]; then
  if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    echo "deps: npm ci (web/)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
