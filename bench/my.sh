#!/usr/bin/env bash
# bench/my.sh — osc on MariaDB against the physical limit and pt-online-schema-change, in one run.
#
# One throwaway primary (default durability settings: binlog on, ROW format,
# flush at every commit) with a replica, and a table of ROWS rows (default
# 1000000; QUICK=1: 100000), about 200 bytes each, with a secondary index.
# Two workloads, each run by osc and by pt-online-schema-change:
#   type   MODIFY n BIGINT             (rewrites every row and both indexes)
#   add    ADD COLUMN ... INT NOT NULL DEFAULT 0
# Runs, each timed on its own:
#   raw      CREATE TABLE ... LIKE + INSERT ... SELECT, the secondary index added after
#   alter    the blocking ALTER TABLE of each workload, ALGORITHM=COPY
#   pt-osc, osc   each workload idle and under the writer; osc once per --threads
#                 value of BENCH_THREADS (default "1 2")
#   osc, --verify none   idle, against osc idle with the default --verify checksum:
#                 what checksumming costs, as a ratio (at --threads 2, osc's default;
#                 the last value when 2 is not listed)
# Every osc run's phases and the copy's breakdown (bound, insert, compare,
# checkpoint, commit) come from osc's summary event; every run's row carries the
# machine's load average and how busy its cores were.
# The writer (build/mywriter) runs at RATE transactions/s (inserts, updates
# incl. keys and NULLs, deletes; each one mirrored into bench_ref); after each
# run under it, bench is compared with the mirror row for row.  Replica lag is
# a heartbeat: the bench writes NOW(6) on the primary and reads its age on the
# replica, both every 200 ms (so it is exact to 200 ms).
# Output: OUTDIR/TAG-my.md (a section; bench/run.sh puts the sections
# together from SECTIONS, a directory of its own), OUTDIR/TAG-my-{type,add,threads}.png, and a line
# per run in OUTDIR/summary.tsv.   ROWS=200000 RATE=500 bench/my.sh   (BENCH_KEEP=1 keeps the logs)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ENGINE=my
QUICK=${QUICK:-}
ROWS=${ROWS:-$([ -n "$QUICK" ] && echo 100000 || echo 1000000)}
RATE=${RATE:-500}
PORT=${BENCH_MY_PORT:-55520}
RPORT=$((PORT + 1))
OSC=${OSC:-build/osc}
WRITER=${WRITER:-build/mywriter}
MYBIN=${MYBIN:-/usr/sbin/mariadbd}
PTOSC=${PTOSC:-pt-online-schema-change}
OUTDIR=${OUTDIR:-bench/results}
TAG=${TAG:-$(date -u +%Y-%m-%d)}
WORKLOADS=${WORKLOADS:-type add}
PAUSE=$([ -n "$QUICK" ] && echo 1 || echo 2)
DB=benchdb
DIR=$(mktemp -d /tmp/osc-bench-my.XXXXXX)
mkdir -p "$OUTDIR"
WPID=
myserver_stop() { # NAME (primary or replica)
  local pid
  pid=$(cat "$DIR/$1.pid" 2>/dev/null) || return 0
  [ -n "$pid" ] || return 0
  timeout 30 mariadb-admin --no-defaults --socket="$DIR/$1.sock" -uroot shutdown >/dev/null 2>&1 || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  [ -n "$WPID" ] && kill "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null
  sampler_stop "$DIR/lag"
  sampler_stop "$DIR/heartbeat"
  myserver_stop replica
  myserver_stop primary
  if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: logs kept in $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
URL="mysql://root@127.0.0.1:$PORT/$DB"
CLI=(mariadb --no-defaults -h127.0.0.1 -uroot -N -B)
cli() { "${CLI[@]}" "$@"; }
q() { cli -P"$PORT" "$DB" "$@"; }
sql() { q -e "$1"; }
rq() { cli -P"$RPORT" "$@"; }

[ -x "$MYBIN" ] || { echo "bench: $MYBIN not found (apt-get install mariadb-server mariadb-client)" >&2; exit 1; }
command -v "$PTOSC" >/dev/null || { echo "bench: $PTOSC not found (apt-get install percona-toolkit)" >&2; exit 1; }
chmod 0755 "$DIR"
myserver_start() { # NAME PORT SERVER_ID BUFFER_POOL
  mkdir "$DIR/$1.tmp"
  chown mysql:mysql "$DIR" "$DIR/$1.tmp"
  mariadb-install-db --no-defaults --user=mysql --auth-root-authentication-method=normal \
    --skip-test-db --datadir="$DIR/$1.data" >"$DIR/$1.install.log" 2>&1 || { cat "$DIR/$1.install.log" >&2; exit 1; }
  setsid "$MYBIN" --no-defaults --user=mysql --datadir="$DIR/$1.data" --socket="$DIR/$1.sock" \
    --pid-file="$DIR/$1.pid" --log-error="$DIR/$1.err" --tmpdir="$DIR/$1.tmp" \
    --port="$2" --bind-address=127.0.0.1 --skip-name-resolve \
    --log-bin=mysql-bin --binlog-format=ROW --server-id="$3" --innodb-buffer-pool-size="$4" \
    --report-host=127.0.0.1 --report-port="$2" </dev/null >"$DIR/$1.out" 2>&1 &
  for i in $(seq 1 300); do
    mariadb-admin --no-defaults -h127.0.0.1 -P"$2" -uroot --connect-timeout=1 ping >/dev/null 2>&1 && return 0
    [ "$i" = 300 ] && { tail -20 "$DIR/$1.err" >&2; exit 1; }
    sleep 0.1
  done
}
echo "bench: starting MariaDB on 127.0.0.1:$PORT and a replica on $RPORT in $DIR"
myserver_start primary "$PORT" 1 512M
myserver_start replica "$RPORT" 2 256M
rq -e "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$PORT, MASTER_USER='root',
       MASTER_USE_GTID=slave_pos; START SLAVE"
cli -P"$PORT" -e "CREATE DATABASE $DB; CREATE DATABASE bench_heartbeat;
                  CREATE TABLE bench_heartbeat.hb (id INT PRIMARY KEY, ts DATETIME(6) NOT NULL);
                  INSERT INTO bench_heartbeat.hb VALUES (1, NOW(6))"
caught_up() { # waits until the replica has applied everything the primary has logged
  local pos
  pos=$(cli -P"$PORT" -e "SELECT @@GLOBAL.gtid_binlog_pos")
  [ "$(rq -e "SELECT MASTER_GTID_WAIT('$pos', 120)")" = 0 ] || echo "bench: the replica did not catch up" >&2
}
caught_up
sampler_start "$DIR/heartbeat" "UPDATE bench_heartbeat.hb SET ts = NOW(6) WHERE id = 1;" \
  "${CLI[@]}" -n -P"$PORT"
# "epoch lag_ms": the age of the newest heartbeat the replica has applied
sampler_start "$DIR/lag" "SELECT UNIX_TIMESTAMP(NOW(6)), (UNIX_TIMESTAMP(NOW(6)) - UNIX_TIMESTAMP(ts)) * 1000
  FROM bench_heartbeat.hb WHERE id = 1;" "${CLI[@]}" -n -P"$RPORT"

echo "bench: creating bench ($ROWS rows)"
q <<SQL
CREATE TABLE bench (id INT PRIMARY KEY, v VARCHAR(64), n INT, extra INT NOT NULL DEFAULT 0, pad VARCHAR(200)) ENGINE=InnoDB;
INSERT INTO bench SELECT seq, md5(seq), CASE WHEN seq % 10 = 3 THEN NULL ELSE seq % 1000 END, seq, repeat('x', 140)
  FROM seq_1_to_$ROWS;
ALTER TABLE bench ADD INDEX bench_n_idx (n);
ANALYZE TABLE bench;
CREATE TABLE bench_ref LIKE bench;
SQL
SIZE=$(q -e "SELECT CONCAT(ROUND((data_length + index_length) / 1048576), ' MB') FROM information_schema.TABLES
  WHERE table_schema = '$DB' AND table_name = 'bench'")
COLS="id, v, n, extra, pad"
caught_up

ROWSMD=$DIR/rows.md
: >"$ROWSMD"

echo "bench: raw copy (the secondary index added after the copy)"
q -e "CREATE TABLE raw LIKE bench; ALTER TABLE raw DROP INDEX bench_n_idx"
machine_start
t0=$(now)
q -e "INSERT INTO raw SELECT * FROM bench; ALTER TABLE raw ADD INDEX (n)"
RAW=$(secs "$t0" "$(now)")
machine_end
q -e "DROP TABLE raw"
row "raw copy: CREATE TABLE LIKE + INSERT ... SELECT + index" "$RAW" 1.00 ""
summary - raw idle "$RAW"
caught_up

echo "bench: blocking ALTERs, ALGORITHM=COPY (on a copy)"
q -e "CREATE TABLE blk LIKE bench; INSERT INTO blk SELECT * FROM bench"
caught_up
blocking "MODIFY n BIGINT, ALGORITHM=COPY" "ALTER TABLE blk MODIFY n BIGINT, ALGORITHM=COPY"
caught_up
blocking "ADD COLUMN c INT NOT NULL DEFAULT 0, ALGORITHM=COPY" \
  "ALTER TABLE blk ADD COLUMN c INT NOT NULL DEFAULT 0, ALGORITHM=COPY"
q -e "DROP TABLE blk"
caught_up

# the column back to INT for the next type change (outside any timed window), leftovers dropped
reset_table() {
  local t
  [ "$(q -e "SELECT DATA_TYPE FROM information_schema.COLUMNS
             WHERE table_schema = '$DB' AND table_name = 'bench' AND column_name = 'n'")" = int ] ||
    q -e "ALTER TABLE bench MODIFY n INT"
  for t in $(q -e "SELECT table_name FROM information_schema.TABLES
                   WHERE table_schema = '$DB' AND table_name NOT IN ('bench', 'bench_ref')"); do
    q -e "DROP TABLE \`$t\`"
  done
  q -e "ANALYZE TABLE bench" >/dev/null
  caught_up
}
resync_ref() {
  q -e "TRUNCATE bench_ref; INSERT INTO bench_ref SELECT $COLS FROM bench; ANALYZE TABLE bench_ref" >/dev/null
  caught_up
}
# rows of bench (its original columns) without an identical row in the mirror, and the reverse
diff_rows() {
  local on="" c
  for c in ${COLS//,/}; do on+="${on:+ AND }a.$c <=> b.$c"; done
  q -e "SELECT COUNT(*) FROM (
          SELECT a.id FROM bench a LEFT JOIN bench_ref b ON $on WHERE b.id IS NULL
          UNION ALL SELECT b.id FROM bench_ref b LEFT JOIN bench a ON $on WHERE a.id IS NULL) d"
}
# the peer's rows copied over time, "t rows", from pt-osc's progress lines
# ("Copying `db`.`bench`:  45% 00:10 remain", every second)
peer_rows() { # RUN T0 T1
  awk -v t0="$2" -v n="$ROWS" '
    /Copying approximately/ { printf "%.3f 0\n", $1 - t0 }
    /Copying `/ && match($0, /[0-9]+% /) { printf "%.3f %d\n", $1 - t0, n * substr($0, RSTART, RLENGTH - 2) / 100 }
    /Copied rows OK/ { printf "%.3f %d\n", $1 - t0, n }' "$DIR/$1.log"
}

# pt-osc, its stdout and stderr stamped.  Its trigger installation: "Creating triggers..." to
# "Created triggers OK."; its swap: "Swapping tables..." to "Dropped triggers OK." (it drops
# the triggers after the RENAME)
# shellcheck disable=SC2054
PT_ARGS=(--execute --no-drop-old-table --recursion-method=none --no-check-alter --no-version-check --progress=time,1)
declare -A PEER SWAPMSG
run_tool() { # TOOL (osc or pt) WORKLOAD MODE (idle, nv or w) [THREADS (osc)]
  local tool=$1 wl=$2 mode=$3 th=${4:-} run=$1-$2-$3${4:+-$4} spec t0 t1 wall ws="" e="" e1="" trig="" swap="" diff="" rss="" rc=0 xpeer
  if [ "$wl" = type ]; then spec="MODIFY n BIGINT"; else spec="ADD COLUMN c_${tool}_$mode${th:+_$th} INT NOT NULL DEFAULT 0"; fi
  reset_table
  [ "$mode" = w ] && { resync_ref; writer_start "$run"; }
  local verify=()
  # nv: osc idle with --verify none, against idle's default --verify checksum: what checksumming costs
  [ "$mode" = nv ] && verify=(--verify none)
  machine_start
  t0=$(now)
  if [ "$tool" = osc ]; then
    osc_run "$DIR/$run" --table bench --alter "$spec" --database "$URL" --threads "$th" "${verify[@]}" || rc=$?
  else
    "$PTOSC" --alter "$spec" "D=$DB,t=bench,h=127.0.0.1,P=$PORT,u=root" "${PT_ARGS[@]}" 2>&1 | stamp >"$DIR/$run.log" ||
      rc=$?
    [ "$rc" = 0 ] || { echo "bench: pt-online-schema-change failed:" >&2; tail -5 "$DIR/$run.log" >&2; }
  fi
  t1=$(now)
  machine_end
  wall=$(secs "$t0" "$t1")
  [ "$rc" = 0 ] || wall="failed ($rc)"
  if [ "$tool" = osc ]; then
    rss=$(tail -1 "$DIR/$run.rss" 2>/dev/null || echo)
    osc_series "$DIR/$run.log" "$t0" >"$DIR/thr/$wl-$mode-$th.rows"
    trig="$(osc_phase "$DIR/$run.log" capture) $(osc_phase "$DIR/$run.log" copy)"
    swap="$(osc_phase "$DIR/$run.log" cutover) $(osc_phase "$DIR/$run.log" cleanup)"
  else
    trig=$(win "$DIR/$run.log" "Creating triggers" 1 "Created triggers OK" 1)
    swap=$(win "$DIR/$run.log" "Swapping tables" 1 "Dropped triggers OK" 1)
  fi
  if [ "$mode" = w ]; then
    writer_stop
    ws=$(lat_stats "$DIR/$run.lat" "$t0" "$t1")
    e=$(errs "$DIR/$run.json"); e1=$(first_err "$DIR/$run.json")
    [ -n "$e1" ] && FIRSTERR+=("$tool, $wl${th:+, --threads $th}: $e errors, the first: $e1")
    # the comparison plot: the peer, and osc at MAIN_T
    if [ "$tool" = pt ] || [ "$th" = "$MAIN_T" ]; then
      plotdata "$([ "$tool" = osc ] && echo osc || echo peer)" "$run" "$t0" "$t1" "$trig" "$swap"
      [ "$tool" = osc ] &&
        SWAPMSG[$wl]="$(osc_msg "$DIR/$run.log" swapped:); $(osc_figures "$DIR/plot-$wl")"
    fi
    trig=$(lat_max "$DIR/$run.lat" "$trig")
    swap=$(lat_max "$DIR/$run.lat" "$swap")
    diff=$(diff_rows)
  else
    trig=""; swap=""
  fi
  if [ "$tool" = pt ]; then PEER[$wl-$mode]=$wall; xpeer=1.00; else xpeer=$(ratio "$wall" "${PEER[$wl-${mode/nv/idle}]:-}"); fi
  local label
  case $tool-$mode in
  *-w) label="writer at $RATE/s" ;; osc-nv) label="idle, --verify none" ;; osc-idle) label="idle (--verify checksum)" ;; *) label=idle ;;
  esac
  if [ "$tool" = osc ]; then
    phase_row "$wl, $label" "$DIR/$run.log"
    runs_add osc "$wl" "$mode" "$th" "$wall" "$DIR/$run.log"
  else
    runs_add peer "$wl" "$mode" - "$wall"
  fi
  row "$([ "$tool" = osc ] && echo osc || echo pt-osc) $spec, $label${th:+, --threads $th}" \
    "$wall" "$(ratio "$wall" "$RAW")" "$xpeer" "$ws" "$e" "$trig" "$swap" "$(lag_max "$DIR/lag" "$t0" "$t1")" "$diff" \
    "${rss:+$((rss / 1024)) MB}"
  summary "$wl" "$tool" "$mode" "$wall" "$rss" "$th"
}

bench_threads
mkdir -p "$DIR/thr"
: >"$DIR/runs.tsv"
: >"$DIR/phases.md"
resync_ref
writer_baseline

FIRSTERR=()
for wl in $WORKLOADS; do
  CUR_WL=$wl
  for mode in idle nv w; do
    if [ "$mode" != nv ]; then echo "bench: pt $wl, $mode"; run_tool pt "$wl" "$mode"; fi
    for th in $([ "$mode" = nv ] && echo "$MAIN_T" || echo "$THREADS"); do
      echo "bench: osc $wl, $mode, --threads $th"
      run_tool osc "$wl" "$mode" "$th"
    done
  done
  plot "$OUTDIR/$TAG-my-$wl.png" "MariaDB, $ROWS rows, $wl workload, writer at $RATE/s: osc (--threads $MAIN_T) and pt-online-schema-change" \
    "$DIR/plot-$wl" pt-online-schema-change
done
plot_threads "$OUTDIR/$TAG-my-threads.png" "MariaDB, $ROWS rows: osc's copy by --threads ($(nproc) cores)" "$DIR"

OUT=${SECTIONS:-$OUTDIR}/$TAG-my.md
{
  echo "## MariaDB — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$ROWS rows ($SIZE with indexes), one secondary index; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end;"
  echo "MariaDB $(q -e 'SELECT VERSION()'), default durability settings (binlog ROW, flush at every commit), one replica;"
  echo "$("$PTOSC" --version). Reproduce: \`ROWS=$ROWS RATE=${RATE_ASKED:-$RATE} BENCH_THREADS=\"$THREADS\"${QUICK:+ QUICK=1} bench/my.sh\`."
  echo
  [ -n "$RATE_NOTE" ] && echo "$RATE_NOTE"
  echo "Writer columns: its writes during the tool's run (each a transaction on bench and its mirror),"
  echo "in ms. \"stall\" columns: the longest write that overlapped the trigger installation / the swap"
  echo "(\"-\": no write overlapped it)."
  echo "Replica lag: the age of the newest heartbeat applied on the replica (exact to 200 ms)."
  echo "\"load 1m\": the machine's 1-minute load average at the run's start and end; \"CPU busy\": the"
  echo "share of all $(nproc) cores busy over the run (every process of the machine, from /proc/stat)."
  echo
  row_header pt-osc
  cat "$ROWSMD"
  echo
  for e in "${FIRSTERR[@]}"; do echo "Writer errors under $e."; done
  verify_cost
  for wl in $WORKLOADS; do
    echo "osc under the writer, $wl, --threads $MAIN_T: ${SWAPMSG[$wl]:-none}."
  done
  echo
  threads_section pt-osc MariaDB my
  echo
  for wl in $WORKLOADS; do
    echo "![MariaDB $wl workload]($TAG-my-$wl.png)"
  done
} >"$OUT"
cat "$OUT"
echo "bench: wrote $OUT"
