#!/usr/bin/env bash
# bench/my.sh — osc on MariaDB against the physical limit and pt-online-schema-change, in one run.
#
# On one throwaway server (default durability settings: binlog on, ROW format,
# flush at every commit), with a table of ROWS rows (default 1000000, about
# 200 bytes each, a secondary index):
#   raw      CREATE TABLE ... LIKE + INSERT ... SELECT
#   alter    the blocking ALTER TABLE ... ADD COLUMN ..., ALGORITHM=COPY
#   osc      osc --alter "ADD COLUMN ...", idle
#   pt-osc   pt-online-schema-change --alter "ADD COLUMN ...", idle
#   osc+w    osc under a fixed-rate writer (inserts, updates incl. keys and
#            NULLs, deletes, mirrored): the writer's latency p50/p99/max over
#            the whole migration, and its longest transaction around the
#            trigger installation and around the swap
#   pt-osc+w the same for pt-online-schema-change (its trigger and swap
#            windows are read from its stdout, timestamped as it prints)
# and a writer-only baseline.  Both runs under the writer check the result
# against the writer's mirror row for row.  Writes bench/results/<date>-my.md.
#   ROWS=200000 RATE=500 bench/my.sh      (BENCH_KEEP=1 keeps the logs in /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROWS=${ROWS:-1000000}
RATE=${RATE:-500}
PORT=${BENCH_MY_PORT:-55520}
OSC=${OSC:-build/osc}
WRITER=${WRITER:-build/mywriter}
MYBIN=${MYBIN:-/usr/sbin/mariadbd}
PTOSC=${PTOSC:-pt-online-schema-change}
DB=benchdb
OUT=bench/results/$(date -u +%Y-%m-%d)-my.md
DIR=$(mktemp -d /tmp/osc-bench-my.XXXXXX)
WPID=
myserver_stop() {
  local pid
  pid=$(cat "$DIR/mysqld.pid" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  timeout 30 mariadb-admin --no-defaults --socket="$DIR/mysqld.sock" -uroot shutdown >/dev/null 2>&1 || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  [ -n "$WPID" ] && kill "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null
  myserver_stop
  if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: logs kept in $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
URL="mysql://root@127.0.0.1:$PORT/$DB"
q() { mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uroot -N -B "$DB" "$@"; }

echo "bench: starting MariaDB on 127.0.0.1:$PORT in $DIR"
[ -x "$MYBIN" ] || { echo "bench: $MYBIN not found (apt-get install mariadb-server mariadb-client)" >&2; exit 1; }
command -v "$PTOSC" >/dev/null || { echo "bench: $PTOSC not found (apt-get install percona-toolkit)" >&2; exit 1; }
chmod 0755 "$DIR"
mkdir "$DIR/tmp"
chown mysql:mysql "$DIR" "$DIR/tmp"
mariadb-install-db --no-defaults --user=mysql --auth-root-authentication-method=normal \
  --skip-test-db --datadir="$DIR/data" >"$DIR/install-db.log" 2>&1 || { cat "$DIR/install-db.log" >&2; exit 1; }
setsid "$MYBIN" --no-defaults --user=mysql --datadir="$DIR/data" --socket="$DIR/mysqld.sock" \
  --pid-file="$DIR/mysqld.pid" --log-error="$DIR/error.log" --tmpdir="$DIR/tmp" \
  --port="$PORT" --bind-address=127.0.0.1 --skip-name-resolve \
  --log-bin=mysql-bin --binlog-format=ROW --server-id=1 --innodb-buffer-pool-size=512M \
  </dev/null >"$DIR/mariadbd.out" 2>&1 &
for i in $(seq 1 300); do
  mariadb-admin --no-defaults -h127.0.0.1 -P"$PORT" -uroot --connect-timeout=1 ping >/dev/null 2>&1 && break
  [ "$i" = 300 ] && { tail -20 "$DIR/error.log" >&2; exit 1; }
  sleep 0.1
done
mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uroot -e "CREATE DATABASE $DB"

echo "bench: creating bench ($ROWS rows)"
q <<SQL
CREATE TABLE bench (id INT PRIMARY KEY, v VARCHAR(64), n INT, extra INT NOT NULL DEFAULT 0, pad VARCHAR(200)) ENGINE=InnoDB;
INSERT INTO bench SELECT seq, md5(seq), CASE WHEN seq % 10 = 3 THEN NULL ELSE seq % 1000 END, seq, repeat('x', 140)
  FROM seq_1_to_$ROWS;
ALTER TABLE bench ADD INDEX bench_n_idx (n);
ANALYZE TABLE bench;
SQL
SIZE=$(q -e "SELECT CONCAT(ROUND((data_length + index_length) / 1048576), ' MB') FROM information_schema.TABLES
  WHERE table_schema = '$DB' AND table_name = 'bench'")

echo "bench: raw copy"
t0=$(now)
q -e "CREATE TABLE raw LIKE bench; INSERT INTO raw SELECT * FROM bench"
RAW=$(secs "$t0" "$(now)")
q -e "DROP TABLE raw"

echo "bench: blocking ALTER (ALGORITHM=COPY)"
q -e "CREATE TABLE blk LIKE bench; INSERT INTO blk SELECT * FROM bench"
t0=$(now)
q -e "ALTER TABLE blk ADD COLUMN c INT NOT NULL DEFAULT 0, ALGORITHM=COPY"
BLOCK=$(secs "$t0" "$(now)")
q -e "DROP TABLE blk"

# the table osc kept the original as (from its log; _bench_osc_old when it does not say)
osc_old() {
  local t
  t=$(sed -n 's/.*"msg":"the original is kept as [^" ]*\.\([^". ]*\) .*/\1/p' "$1" | head -1)
  echo "${t:-_bench_osc_old}"
}

echo "bench: osc, idle"
TIMECMD=()
[ -x /usr/bin/time ] && TIMECMD=(/usr/bin/time -f '%M' -o "$DIR/rss")
t0=$(now)
"${TIMECMD[@]}" "$OSC" --table bench --alter "ADD COLUMN c INT NOT NULL DEFAULT 0" --database "$URL" \
  --log-format json 2>"$DIR/osc-idle.log" || { tail -5 "$DIR/osc-idle.log"; exit 1; }
OSC_IDLE=$(secs "$t0" "$(now)")
RSS=n/a
[ -f "$DIR/rss" ] && RSS="$(( $(tail -1 "$DIR/rss") / 1024 )) MB"
q -e "DROP TABLE \`$(osc_old "$DIR/osc-idle.log")\`"

# pt-osc with each stdout line prefixed by the epoch time it was printed at
PT_ARGS=(--execute --no-drop-old-table --recursion-method=none --no-check-alter --no-version-check)
ptosc() { # ALTER LOG
  local rc=0
  "$PTOSC" --alter "$1" "D=$DB,t=bench,h=127.0.0.1,P=$PORT,u=root" "${PT_ARGS[@]}" 2>"$2.err" |
    while IFS= read -r line; do printf '%s %s\n' "$(now)" "$line"; done >"$2" || rc=$?
  [ "$rc" = 0 ] || { tail -5 "$2" "$2.err"; return 1; }
}
# the epoch time of pt-osc's first stdout line containing TEXT
pt_ts() { awk -v t="$2" 'index($0, t) { print $1; exit }' "$1"; }

echo "bench: pt-online-schema-change, idle"
t0=$(now)
ptosc "ADD COLUMN d INT NOT NULL DEFAULT 0" "$DIR/pt-idle.log" || exit 1
PT_IDLE=$(secs "$t0" "$(now)")
q -e "DROP TABLE _bench_old"

# rows of bench without an identical row in bench_ref, plus the reverse (NULL-safe, every
# column), and the ids of up to 10 of them: "COUNT [ID,...]"
diff_rows() {
  local on
  on=$(q -e "SELECT GROUP_CONCAT(CONCAT('a.\`', column_name, '\` <=> b.\`', column_name, '\`') SEPARATOR ' AND ')
    FROM information_schema.COLUMNS WHERE table_schema = '$DB' AND table_name = 'bench'")
  q -e "SELECT COUNT(*), IFNULL(SUBSTRING_INDEX(GROUP_CONCAT(DISTINCT id ORDER BY id), ',', 10), '') FROM (
          SELECT a.id FROM bench a LEFT JOIN bench_ref b ON $on WHERE b.id IS NULL
          UNION ALL SELECT b.id FROM bench_ref b LEFT JOIN bench a ON $on WHERE a.id IS NULL) d"
}
# a mirror equal to bench again (so that each tool's differences are its own)
resync_ref() {
  q -e "DROP TABLE IF EXISTS bench_ref; CREATE TABLE bench_ref LIKE bench; INSERT INTO bench_ref SELECT * FROM bench;
        ANALYZE TABLE bench_ref" >/dev/null
}
errs() { sed -n 's/.*"errors":\([0-9]*\).*/\1/p' "$1"; }
first_err() { sed -n 's/.*"first_error":"\(.*\)","seed".*/\1/p' "$1"; }

echo "bench: a mirror for the writer"
resync_ref

echo "bench: writer alone at $RATE/s for 10s"
"$WRITER" --db "$URL" --table bench --ref bench_ref --kind int --rate "$RATE" --duration 10 \
  --stats "$DIR/base.json" --latency-log "$DIR/base.lat"
read -r B50 B99 BMAX BN < <(lat_window "$DIR/base.lat" 0 9999999999)
BERRS=$(errs "$DIR/base.json")

echo "bench: osc under the writer"
"$WRITER" --db "$URL" --table bench --ref bench_ref --kind int --rate "$RATE" \
  --stats "$DIR/w.json" --latency-log "$DIR/w.lat" &
WPID=$!
sleep 2
t0=$(now)
"$OSC" --table bench --alter "ADD COLUMN e INT NOT NULL DEFAULT 0" --database "$URL" --log-format json \
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
ERRS=$(errs "$DIR/w.json"); ERR1=$(first_err "$DIR/w.json")
SWAPMSG=$(grep -m1 '"msg":"swapped' "$DIR/osc-w.log" | sed 's/.*"msg":"\([^"]*\)".*/\1/')
q -e "ALTER TABLE bench_ref ADD COLUMN e INT NOT NULL DEFAULT 0"
read -r DIFF DIFFIDS < <(diff_rows)
q -e "DROP TABLE \`$(osc_old "$DIR/osc-w.log")\`"
resync_ref

echo "bench: pt-online-schema-change under the writer"
"$WRITER" --db "$URL" --table bench --ref bench_ref --kind int --rate "$RATE" \
  --stats "$DIR/pw.json" --latency-log "$DIR/pw.lat" &
WPID=$!
sleep 2
t0=$(now)
PT_FAIL=
ptosc "ADD COLUMN f INT NOT NULL DEFAULT 0" "$DIR/pt-w.log" || PT_FAIL=1
t1=$(now)
PT_W=$(secs "$t0" "$t1")
sleep 1
kill "$WPID"; wait "$WPID" || true; WPID=
[ -z "$PT_FAIL" ] || PT_W="failed: $(tail -1 "$DIR/pt-w.log.err")"
read -r P50 P99 PMAX PN < <(lat_window "$DIR/pw.lat" "$t0" "$t1")
# trigger creation: from "Creating triggers..." to "Created triggers OK."; the swap: from
# "Swapping tables..." to "Dropped triggers OK." (pt-osc drops its triggers after the RENAME)
window_max() { # LOG FROM_TEXT TO_TEXT
  local a b
  a=$(pt_ts "$1" "$2"); b=$(pt_ts "$1" "$3")
  if [ -n "$a" ] && [ -n "$b" ]; then lat_window "$DIR/pw.lat" "$a" "$b" | cut -d' ' -f3; else echo n/a; fi
}
PTRIG=$(window_max "$DIR/pt-w.log" "Creating triggers" "Created triggers OK")
PSWAP=$(window_max "$DIR/pt-w.log" "Swapping tables" "Dropped triggers OK")
PERRS=$(errs "$DIR/pw.json"); PERR1=$(first_err "$DIR/pw.json")
q -e "ALTER TABLE bench_ref ADD COLUMN f INT NOT NULL DEFAULT 0"
read -r PDIFF PDIFFIDS < <(diff_rows)

mkdir -p bench/results
{
  echo "# osc on MariaDB — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$ROWS rows ($SIZE with indexes), one secondary index; $(nproc) cores; MariaDB $(q -e 'SELECT VERSION()'),"
  echo "$("$PTOSC" --version), default durability settings (binlog ROW, flush and sync at every commit)."
  echo "Reproduce: \`ROWS=$ROWS RATE=$RATE bench/my.sh\`."
  echo
  echo "| run | wall s | ratio to raw copy | ratio to pt-osc |"
  echo "|---|---|---|---|"
  echo "| raw: CREATE TABLE LIKE + INSERT ... SELECT | $RAW | 1.00 | |"
  echo "| blocking ALTER TABLE ... ADD COLUMN, ALGORITHM=COPY | $BLOCK | $(ratio "$BLOCK" "$RAW") | |"
  echo "| pt-online-schema-change ADD COLUMN, idle | $PT_IDLE | $(ratio "$PT_IDLE" "$RAW") | 1.00 |"
  echo "| pt-online-schema-change ADD COLUMN, writer at $RATE/s | $PT_W | $(ratio "$PT_W" "$RAW") | 1.00 |"
  echo "| osc ADD COLUMN, idle | $OSC_IDLE | $(ratio "$OSC_IDLE" "$RAW") | $(ratio "$OSC_IDLE" "$PT_IDLE") |"
  echo "| osc ADD COLUMN, writer at $RATE/s | $OSC_W | $(ratio "$OSC_W" "$RAW") | $(ratio "$OSC_W" "$PT_W") |"
  echo
  echo "Writer latency (ms; each write is one transaction on the table and its mirror):"
  echo
  echo "| window | writes | p50 | p99 | max |"
  echo "|---|---|---|---|---|"
  echo "| writer alone, 10 s | $BN | $B50 | $B99 | $BMAX |"
  echo "| during the whole osc run | $WN | $W50 | $W99 | $WMAX |"
  echo "| osc trigger installation (capture phase) | | | | $TRIG |"
  echo "| osc swap (cutover phase) | | | | $SWAP |"
  echo "| during the whole pt-osc run | $PN | $P50 | $P99 | $PMAX |"
  echo "| pt-osc trigger creation (Creating triggers .. Created triggers OK) | | | | $PTRIG |"
  echo "| pt-osc swap (Swapping tables .. Dropped triggers OK) | | | | $PSWAP |"
  echo
  echo "Writer errors: alone $BERRS; during the osc run $ERRS${ERR1:+ (first: $ERR1)};"
  echo "during the pt-osc run $PERRS${PERR1:+ (first: $PERR1)}."
  echo "Rows differing from the writer's mirror after the swap (the mirror is re-copied before each tool's run):"
  echo "osc $DIFF${DIFFIDS:+ (ids $DIFFIDS)}, pt-osc $PDIFF${PDIFFIDS:+ (ids $PDIFFIDS)}."
  echo "osc peak RSS: $RSS. osc's own account of the swap: $SWAPMSG."
} | tee "$OUT"
echo "bench: wrote $OUT"
