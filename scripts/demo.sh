#!/usr/bin/env bash
# make demo: one online ALTER on a throwaway local PostgreSQL, under write load.
#
# Starts a PostgreSQL 15 in a temporary directory (port ${DEMO_PORT:-55490},
# 127.0.0.1 only, default durability settings), creates a `users` table of
# ${DEMO_ROWS:-1000000} rows and a mirror `users_ref`, starts a writer that
# inserts, updates (keys too, and to NULL) and deletes in both tables in one
# transaction each, runs `osc --table users --alter "ALTER COLUMN n TYPE bigint"`
# (a type change: PostgreSQL would rewrite the table under an exclusive lock,
# so osc copies it online) with its progress on screen, and then proves that
# no row was lost: users equals users_ref with the same ALTER applied, row for
# row.  Everything is removed at the end.  DEMO_ALTER picks another ALTER; one
# the database applies in place (a catalog-only ADD COLUMN) is said to be so.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/pgserver.sh
PORT=${DEMO_PORT:-55490}
ROWS=${DEMO_ROWS:-1000000}
RATE=${DEMO_RATE:-500}
ALTER=${DEMO_ALTER:-"ALTER COLUMN n TYPE bigint"}
[ "$(id -u)" = 0 ] || { echo "demo: run as root (the server runs as user postgres)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/osc-demo.XXXXXX)
WRITER_PID=
cleanup() {
  [ -n "$WRITER_PID" ] && kill "$WRITER_PID" 2>/dev/null && wait "$WRITER_PID" 2>/dev/null
  pgserver_stop "$DIR"
  rm -rf "$DIR"
}
trap cleanup EXIT

# bold headings on a terminal only: no escape codes in a log or a pipe
if [ -t 1 ]; then
  step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  step() { printf '\n== %s\n' "$*"; }
fi

step "starting a throwaway PostgreSQL on 127.0.0.1:$PORT"
pgserver_start "$DIR" "$PORT"
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
URL="postgres://postgres@127.0.0.1:$PORT/postgres"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

step "creating users ($ROWS rows) and its mirror users_ref"
psql <<SQL
CREATE TABLE users (id int PRIMARY KEY, v text, n int, extra int NOT NULL DEFAULT 0, pad text);
INSERT INTO users SELECT i, md5(i::text), CASE WHEN i % 10 = 3 THEN NULL ELSE i % 1000 END, i, repeat('x', 100)
  FROM generate_series(1, $ROWS) i;
CREATE INDEX users_n_idx ON users (n);
CREATE TABLE users_ref (LIKE users INCLUDING ALL);
INSERT INTO users_ref SELECT * FROM users;
VACUUM ANALYZE users;
VACUUM ANALYZE users_ref;
SQL
psql -c '\dt+ users'

step "starting the application: $RATE writes/s (inserts, updates, key changes, NULLs, deletes)"
build/writer --db "$URL" --table users --ref users_ref --kind int --rate "$RATE" --stats "$DIR/writer.json" &
WRITER_PID=$!
sleep 1

step "osc --table users --alter \"$ALTER\""
# text on a terminal (one progress line rewritten in place); elsewhere a
# progress line every second instead of the default 5 s
progress=()
[ -t 2 ] || progress=(--progress-interval 1s)
build/osc --table users --alter "$ALTER" --database "$URL" --log-format text "${progress[@]}"
sleep 1

step "stopping the application"
kill "$WRITER_PID"; wait "$WRITER_PID" || true; WRITER_PID=
echo "writer: $(cat "$DIR/writer.json")"

step "the result"
psql -c '\d users'
psql -c "ALTER TABLE users_ref $ALTER"
psql -At <<'SQL'
SELECT format('users: %s rows; rows only in users: %s; rows only in the mirror: %s',
  (SELECT count(*) FROM users),
  (SELECT count(*) FROM (TABLE users EXCEPT ALL TABLE users_ref) a),
  (SELECT count(*) FROM (TABLE users_ref EXCEPT ALL TABLE users) b));
SQL
echo
# say only what is true: an ALTER applied in place keeps no old table.  The
# name is looked up, not assumed: it is whatever the run chose (_users_osc_old,
# or one with the run's stamp in it)
old=$(psql -At -c "SELECT string_agg(quote_ident(relname), ', ') FROM pg_class
  WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND relname LIKE '%users%osc%old%'")
if [ -n "$old" ]; then
  echo "The original is kept as $old (--drop-old-table drops it); the server and its data are removed now."
else
  echo "No old table was kept (the ALTER was applied in place, without a copy); the server and its data are removed now."
fi
