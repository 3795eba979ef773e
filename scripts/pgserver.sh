# shellcheck shell=bash
# Sourced by scripts/demo.sh and bench/*.sh: one throwaway PostgreSQL 15 with
# the server's default durability settings (the tests' fsync=off servers are
# tests/servers.sh).  As root; the server runs as user postgres.
#   pgserver_start DIR PORT     initdb + start on 127.0.0.1:PORT, sockets in DIR
#   pgserver_stop DIR
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

pgserver_start() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  chmod 0755 "$dir"
  chown postgres "$dir"
  runuser -u postgres -- "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir ${PGSERVER_OPTS:-}" \
    start >/dev/null || { tail -20 "$dir/server.log" >&2; return 1; }
}

pgserver_stop() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
}
