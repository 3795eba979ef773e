#!/usr/bin/env bash
# Installs everything osc ever needs on Debian 12 (as root), in one step:
# building, testing, the demo and the benchmark alike.  One step, because a
# package installed later (the benchmark's pg_repack) can upgrade
# postgresql-15 under servers that tests or a demo started earlier, and a
# server started before such an upgrade fails to load plpgsql.  Does nothing
# when every package is there, so it is cheap to call; refuses to install
# while a PostgreSQL or MariaDB server of this machine runs.
set -euo pipefail
pkgs=(build-essential pkg-config openssl libpq-dev libevent-dev libssl-dev
      postgresql-15 postgresql-client-15 procps mariadb-server mariadb-client libmariadb-dev
      postgresql-15-repack percona-toolkit libdbd-mysql-perl time gnuplot-nox
      groff-base man-db tmux python3 jq curl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root or install them" >&2
  exit 1
fi
if pgrep -x postgres >/dev/null || pgrep -x mariadbd >/dev/null; then
  echo "install-deps: missing ${missing[*]}, but a PostgreSQL or MariaDB server runs on this machine;" >&2
  echo "install-deps: an upgrade under a running server breaks it: stop the servers and run make deps" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
