#!/usr/bin/env bash
# Installs what osc needs to build, test and demo on Debian 12 (as root).
# Does nothing when every package is already there, so it is cheap to call.
set -euo pipefail
pkgs=(build-essential pkg-config openssl libpq-dev libevent-dev libssl-dev postgresql-15 postgresql-client-15 procps mariadb-server mariadb-client libmariadb-dev)
if [ "${OSC_BENCH:-}" = 1 ]; then
  pkgs+=(postgresql-15-repack time percona-toolkit libdbd-mysql-perl)
  command -v gnuplot >/dev/null || pkgs+=(gnuplot-nox)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root or install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
