#!/usr/bin/env bash
# Installs the Debian packages a node needs. Idempotent: does nothing when they are all present.
set -euo pipefail
# Core: GDAL, PostGIS, MapServer 8, nginx (production front), docker-compose (validates docker/).
CORE=(postgresql postgresql-15-postgis-3 gdal-bin libgdal-dev mapserver-bin cgi-mapserver
      spawn-fcgi nginx-light docker-compose fonts-dejavu-core
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)  # pango: WeasyPrint writes the passport PDFs
# Test clients: PyQGIS (system python) and headless Chromium; large, so without recommends.
EXTRA=()
if [ "${GEOPORTAL_WITH_QGIS:-1}" = "1" ]; then EXTRA+=(python3-qgis qgis-providers); fi
if [ "${GEOPORTAL_WITH_CHROMIUM:-1}" = "1" ]; then EXTRA+=(chromium chromium-driver poppler-utils); fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
updated=0
install() {  # install() RECOMMENDS PKG... : installs the packages that are missing
  local rec=$1; shift
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "installing Debian packages: ${missing[*]}"
  if [ $updated = 0 ]; then $SUDO apt-get update -qq; updated=1; fi
  local opt=(); [ "$rec" = yes ] || opt=(--no-install-recommends)
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${opt[@]}" "${missing[@]}" >/dev/null
}
install yes "${CORE[@]}"
[ ${#EXTRA[@]} -eq 0 ] || install no "${EXTRA[@]}"
