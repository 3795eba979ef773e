#!/usr/bin/env bash
# bench/pg.sh — osc on PostgreSQL against the physical limit, in one run.
#
# On one throwaway server (default durability settings), with a table of
# ROWS rows (default 1000000, about 200 bytes each, a secondary index):
#   raw      CREATE TABLE (LIKE ... INCLUDING ALL) + INSERT ... SELECT
#   alter    the blocking ALTER TABLE ... ADD COLUMN ... DEFAULT random() (rewrites)
#   repack   pg_repack of the table, when installed (a rewrite, not an ALTER)
#   osc      osc --alter "ADD COLUMN ..." --strategy copy, idle (default --verify checksum)
#   osc -v0  the same with --verify none: what checksumming each chunk costs, as a ratio
#   osc+w    the same under a fixed-rate writer (inserts, updates incl. keys
#            and NULLs, deletes, mirrored): the writer's latency p50/p99/max
#            over the whole migration, and its longest transaction around
#            the trigger installation and around the swap
# and a writer-only baseline.  The osc+w run also checks the result against
# the writer's mirror row for row.  Writes bench/results/<date>-pg.md.
#   ROWS=200000 RATE=1000 bench/pg.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pgserver.sh
. bench/lib.sh

ROWS=${ROWS:-1000000}
RATE=${RATE:-1000}
PORT=${BENCH_PORT:-55510}
OSC=${OSC:-build/osc}
WRITER=${WRITER:-build/writer}
OUT=bench/results/$(date -u +%Y-%m-%d)-pg.md
DIR=$(mktemp -d /tmp/osc-bench.XXXXXX)
WPID=
cleanup() {
  [ -n "$WPID" ] && kill "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null
  pgserver_stop "$DIR"
  rm -rf "$DIR"
}
trap cleanup EXIT
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
URL="postgres://postgres@127.0.0.1:$PORT/postgres"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

echo "bench: starting PostgreSQL on 127.0.0.1:$PORT in $DIR"
pgserver_start "$DIR" "$PORT"

make_table() { # NAME
  q <<SQL
CREATE TABLE $1 (id int PRIMARY KEY, v text, n int, extra int NOT NULL DEFAULT 0, pad text);
INSERT INTO $1 SELECT i, md5(i::text), CASE WHEN i % 10 = 3 THEN NULL ELSE i % 1000 END, i, repeat('x', 140)
  FROM generate_series(1, $ROWS) i;
CREATE INDEX ${1}_n_idx ON $1 (n);
VACUUM ANALYZE $1;
SQL
}
echo "bench: creating bench ($ROWS rows)"
make_table bench
SIZE=$(q -c "SELECT pg_size_pretty(pg_total_relation_size('bench'))")

echo "bench: raw copy"
t0=$(now)
q -c "CREATE TABLE raw (LIKE bench INCLUDING ALL)" -c "INSERT INTO raw SELECT * FROM bench"
RAW=$(secs "$t0" "$(now)")
q -c "DROP TABLE raw" -c "CHECKPOINT"

echo "bench: blocking ALTER (a rewriting one: volatile default)"
q -c "CREATE TABLE blk AS SELECT * FROM bench" -c "ALTER TABLE blk ADD PRIMARY KEY (id)" -c "CHECKPOINT"
t0=$(now)
q -c "ALTER TABLE blk ADD COLUMN r float8 DEFAULT random()"
BLOCK=$(secs "$t0" "$(now)")
q -c "DROP TABLE blk" -c "CHECKPOINT"

REPACK=n/a
if command -v pg_repack >/dev/null || [ -x "$PGBIN/pg_repack" ]; then
  echo "bench: pg_repack"
  q -c "CREATE EXTENSION pg_repack"
  t0=$(now)
  if PATH=$PGBIN:$PATH pg_repack -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -t bench >"$DIR/repack.log" 2>&1; then
    REPACK=$(secs "$t0" "$(now)")
  else
    REPACK="failed: $(tail -1 "$DIR/repack.log")"
  fi
  q -c "CHECKPOINT"
fi

echo "bench: osc, idle"
TIMECMD=()
[ -x /usr/bin/time ] && TIMECMD=(/usr/bin/time -f '%M' -o "$DIR/rss")
t0=$(now)
"${TIMECMD[@]}" "$OSC" --table bench --alter "ADD COLUMN c int NOT NULL DEFAULT 0" --database "$URL" \
  --strategy copy --log-format json 2>"$DIR/osc-idle.log" || { tail -5 "$DIR/osc-idle.log"; exit 1; }
OSC_IDLE=$(secs "$t0" "$(now)")
RSS=n/a
[ -f "$DIR/rss" ] && RSS="$(( $(tail -1 "$DIR/rss") / 1024 )) MB"
q -c "DROP TABLE _bench_osc_old" -c "CHECKPOINT"

echo "bench: osc, idle, --verify none"
t0=$(now)
"$OSC" --table bench --alter "ADD COLUMN e int NOT NULL DEFAULT 0" --database "$URL" \
  --strategy copy --verify none --log-format json 2>"$DIR/osc-noverify.log" || { tail -5 "$DIR/osc-noverify.log"; exit 1; }
OSC_NOVERIFY=$(secs "$t0" "$(now)")
q -c "DROP TABLE _bench_osc_old" -c "CHECKPOINT"

echo "bench: osc, --strategy auto (ADD COLUMN ... DEFAULT 0 is metadata only)"
t0=$(now)
"$OSC" --table bench --alter "ADD COLUMN f int NOT NULL DEFAULT 0" --database "$URL" \
  --log-format json 2>"$DIR/osc-auto.log" || { tail -5 "$DIR/osc-auto.log"; exit 1; }
OSC_AUTO=$(secs "$t0" "$(now)")

echo "bench: a mirror for the writer"
q -c "ALTER TABLE bench DROP COLUMN f"
q -c "CREATE TABLE bench_ref (LIKE bench INCLUDING ALL)" -c "INSERT INTO bench_ref SELECT * FROM bench" \
  -c "VACUUM ANALYZE bench_ref" -c "CHECKPOINT"

echo "bench: writer alone at $RATE/s for 10s"
"$WRITER" --db "$URL" --table bench --ref bench_ref --kind int --rate "$RATE" --duration 10 \
  --stats "$DIR/base.json" --latency-log "$DIR/base.lat"
read -r B50 B99 BMAX BN < <(lat_window "$DIR/base.lat" 0 9999999999)

echo "bench: osc under the writer"
"$WRITER" --db "$URL" --table bench --ref bench_ref --kind int --rate "$RATE" \
  --stats "$DIR/w.json" --latency-log "$DIR/w.lat" &
WPID=$!
sleep 2
t0=$(now)
"$OSC" --table bench --alter "ADD COLUMN d int NOT NULL DEFAULT 0" --database "$URL" --strategy copy --log-format json \
  2>"$DIR/osc-w.log" || { tail -5 "$DIR/osc-w.log"; exit 1; }
t1=$(now)
OSC_W=$(secs "$t0" "$t1")
sleep 1
kill "$WPID"; wait "$WPID" || true; WPID=
read -r W50 W99 WMAX WN < <(lat_window "$DIR/w.lat" "$t0" "$t1")
cap=$(phase_ts "$DIR/osc-w.log" capture); cp=$(phase_ts "$DIR/osc-w.log" copy)
cut=$(phase_ts "$DIR/osc-w.log" cutover); cln=$(phase_ts "$DIR/osc-w.log" cleanup)
read -r _ _ TRIG _ < <(lat_window "$DIR/w.lat" "$cap" "$cp")
read -r _ _ SWAP _ < <(lat_window "$DIR/w.lat" "$cut" "$cln")
ERRS=$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' "$DIR/w.json")
SWAPMSG=$(grep -m1 '"msg":"swapped' "$DIR/osc-w.log" | sed 's/.*"msg":"\([^"]*\)".*/\1/')
q -c "ALTER TABLE bench_ref ADD COLUMN d int NOT NULL DEFAULT 0"
DIFF=$(q -c "SELECT (SELECT count(*) FROM (TABLE bench EXCEPT ALL TABLE bench_ref) a) + (SELECT count(*) FROM (TABLE bench_ref EXCEPT ALL TABLE bench) b)")

mkdir -p bench/results
{
  echo "# osc on PostgreSQL — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$ROWS rows ($SIZE with indexes), one secondary index; $(nproc) cores; PostgreSQL $(q -c 'SHOW server_version'),"
  echo "default durability settings. Reproduce: \`ROWS=$ROWS RATE=$RATE bench/pg.sh\`."
  echo
  echo "| run | wall s | ratio to raw copy |"
  echo "|---|---|---|"
  echo "| raw: CREATE TABLE (LIKE INCLUDING ALL) + INSERT ... SELECT | $RAW | 1.00 |"
  echo "| blocking ALTER TABLE ... ADD COLUMN ... DEFAULT random() | $BLOCK | $(ratio "$BLOCK" "$RAW") |"
  echo "| pg_repack -t (rewrite only, no ALTER) | $REPACK | $(ratio "$REPACK" "$RAW") |"
  echo "| osc ADD COLUMN, idle (--strategy copy, --verify checksum) | $OSC_IDLE | $(ratio "$OSC_IDLE" "$RAW") |"
  echo "| osc ADD COLUMN, idle, --verify none | $OSC_NOVERIFY | $(ratio "$OSC_NOVERIFY" "$RAW") |"
  echo "| osc ADD COLUMN, --strategy auto (metadata only) | $OSC_AUTO | $(ratio "$OSC_AUTO" "$RAW") |"
  echo "| osc ADD COLUMN, writer at $RATE/s | $OSC_W | $(ratio "$OSC_W" "$RAW") |"
  echo
  echo "Writer latency (ms; each write is one transaction on the table and its mirror):"
  echo
  echo "| window | writes | p50 | p99 | max |"
  echo "|---|---|---|---|---|"
  echo "| writer alone, 10 s | $BN | $B50 | $B99 | $BMAX |"
  echo "| during the whole osc run | $WN | $W50 | $W99 | $WMAX |"
  echo "| trigger installation (capture phase) | | | | $TRIG |"
  echo "| swap (cutover phase) | | | | $SWAP |"
  echo
  echo "Checksumming every chunk and every merged batch costs $(ratio "$OSC_IDLE" "$OSC_NOVERIFY")x the run with --verify none."
  echo
  echo "Writer errors during the osc run: $ERRS. Rows differing from the writer's mirror after the swap: $DIFF."
  echo "osc peak RSS: $RSS. osc's own account of the swap: $SWAPMSG."
} | tee "$OUT"
echo "bench: wrote $OUT"
