#!/usr/bin/env bash
# bench/pg.sh — osc on PostgreSQL against the physical limit and pg_repack, in one run.
#
# One throwaway primary (default durability settings) with a streaming
# replica, and a table of ROWS rows (default 1000000; QUICK=1: 100000), about
# 200 bytes each, with a secondary index.  Two workloads:
#   type   ALTER COLUMN n TYPE bigint   (rewrites every row and both indexes)
#   add    ADD COLUMN ... int NOT NULL DEFAULT 0
# Runs, each timed on its own:
#   raw      CREATE TABLE (LIKE ...) + INSERT ... SELECT + the indexes
#   alter    the blocking ALTER TABLE of each workload (and a rewriting ADD COLUMN
#            with a volatile default, since a constant default is metadata only)
#   pg_repack -t   idle and under the writer (a rewrite that applies no ALTER:
#            the nearest PostgreSQL peer, used as the peer of both workloads)
#   osc      each workload idle and under the writer, once per --threads value of
#            BENCH_THREADS (default "1 2"), and idle with --verify none at --threads 2
#            (osc's default; the last value when 2 is not listed)
# Every osc run's phases and the copy's breakdown (bound, insert, compare,
# checkpoint, commit) come from osc's summary event; every run's row carries the
# machine's load average and how busy its cores were.
# The writer (build/writer) runs at RATE transactions/s (inserts, updates
# incl. keys and NULLs, deletes; each one mirrored into bench_ref); after each
# run under it, bench is compared with the mirror row for row.  A sampler
# reads the replica's replay lag every 200 ms all along.
# Output: OUTDIR/TAG-pg.md (a section; bench/run.sh puts the sections
# together from SECTIONS, a directory of its own), OUTDIR/TAG-pg-{type,add,threads}.png, and a line per
# run in OUTDIR/summary.tsv.   ROWS=200000 RATE=1000 bench/pg.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pgserver.sh
. bench/lib.sh

ENGINE=pg
QUICK=${QUICK:-}
ROWS=${ROWS:-$([ -n "$QUICK" ] && echo 100000 || echo 1000000)}
RATE=${RATE:-1000}
PORT=${BENCH_PORT:-55510}
RPORT=$((PORT + 1))
OSC=${OSC:-build/osc}
WRITER=${WRITER:-build/writer}
OUTDIR=${OUTDIR:-bench/results}
TAG=${TAG:-$(date -u +%Y-%m-%d)}
WORKLOADS=${WORKLOADS:-type add}
PAUSE=$([ -n "$QUICK" ] && echo 1 || echo 2)
DIR=$(mktemp -d /tmp/osc-bench-pg.XXXXXX)
mkdir -p "$OUTDIR"
WPID=
cleanup() {
  [ -n "$WPID" ] && kill "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null
  sampler_stop "$DIR/lag"
  [ -d "$DIR/replica" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DIR/replica/data" -m immediate -w stop >/dev/null 2>&1
  pgserver_stop "$DIR"
  if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: logs kept in $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
URL="postgres://postgres@127.0.0.1:$PORT/postgres"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
sql() { q -c "$1"; }
REPACK=$(command -v pg_repack || echo "$PGBIN/pg_repack")
[ -x "$REPACK" ] || { echo "bench: pg_repack not found (apt-get install postgresql-15-repack)" >&2; exit 1; }

echo "bench: starting PostgreSQL on 127.0.0.1:$PORT and a streaming replica on $RPORT in $DIR"
pgserver_start "$DIR" "$PORT"
mkdir "$DIR/replica"
chown postgres "$DIR/replica"
runuser -u postgres -- "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U postgres -D "$DIR/replica/data" \
  -R -X stream -C -S bench_replica -c fast >"$DIR/basebackup.log" 2>&1 || { cat "$DIR/basebackup.log" >&2; exit 1; }
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DIR/replica/data" -l "$DIR/replica.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$RPORT -c unix_socket_directories=$DIR/replica" \
  start >/dev/null || { tail -20 "$DIR/replica.log" >&2; exit 1; }
# "epoch lag_ms lag_bytes": replay_lag is NULL once the replica has caught up and WAL stops
sampler_start "$DIR/lag" "SELECT extract(epoch FROM clock_timestamp()),
  COALESCE(max(extract(epoch FROM replay_lag) * 1000), 0),
  COALESCE(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0) FROM pg_stat_replication;" \
  psql -X -q -At -F ' '
caught_up() { # waits until the replica has replayed everything the primary has written
  local lsn
  lsn=$(q -c "SELECT pg_current_wal_lsn()")
  for _ in $(seq 1 600); do
    [ "$(psql -X -At -p "$RPORT" -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && return 0
    sleep 0.2
  done
  echo "bench: the replica did not catch up" >&2
}

echo "bench: creating bench ($ROWS rows)"
q <<SQL
CREATE TABLE bench (id int PRIMARY KEY, v text, n int, extra int NOT NULL DEFAULT 0, pad text);
INSERT INTO bench SELECT i, md5(i::text), CASE WHEN i % 10 = 3 THEN NULL ELSE i % 1000 END, i, repeat('x', 140)
  FROM generate_series(1, $ROWS) i;
CREATE INDEX bench_n_idx ON bench (n);
VACUUM ANALYZE bench;
CREATE TABLE bench_ref (LIKE bench INCLUDING ALL);
CREATE EXTENSION pg_repack;
SQL
SIZE=$(q -c "SELECT pg_size_pretty(pg_total_relation_size('bench'))")
COLS="id, v, n, extra, pad"
settle() { q -c "CHECKPOINT"; caught_up; }
settle

ROWSMD=$DIR/rows.md
: >"$ROWSMD"

echo "bench: raw copy (copy, then the primary key and the index)"
machine_start
t0=$(now)
q -c "CREATE TABLE raw (LIKE bench INCLUDING DEFAULTS)" -c "INSERT INTO raw SELECT * FROM bench" \
  -c "ALTER TABLE raw ADD PRIMARY KEY (id)" -c "CREATE INDEX ON raw (n)"
RAW=$(secs "$t0" "$(now)")
machine_end
q -c "DROP TABLE raw"
row "raw copy: CREATE TABLE (LIKE) + INSERT ... SELECT + indexes" "$RAW" 1.00 ""
summary - raw idle "$RAW"

echo "bench: blocking ALTERs (on a copy)"
q -c "CREATE TABLE blk AS SELECT * FROM bench" -c "ALTER TABLE blk ADD PRIMARY KEY (id)" -c "CREATE INDEX ON blk (n)"
settle
blocking "ALTER COLUMN n TYPE bigint" "ALTER TABLE blk ALTER COLUMN n TYPE bigint"
settle
blocking "ADD COLUMN c int NOT NULL DEFAULT 0 (metadata only)" "ALTER TABLE blk ADD COLUMN c int NOT NULL DEFAULT 0"
blocking "ADD COLUMN r float8 DEFAULT random() (rewrites)" "ALTER TABLE blk ADD COLUMN r float8 DEFAULT random()"
q -c "DROP TABLE blk"
settle

# the table back to int for the next type change (outside any timed window), leftovers dropped
reset_table() {
  local t
  [ "$(q -c "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'bench'::regclass AND attname = 'n'")" = integer ] ||
    q -c "ALTER TABLE bench ALTER COLUMN n TYPE int"
  for t in $(q -c "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace
                   AND relname NOT IN ('bench', 'bench_ref')"); do
    q -c "DROP TABLE \"$t\""
  done
  q -c "VACUUM ANALYZE bench"
  settle
}
resync_ref() { q -c "TRUNCATE bench_ref" -c "INSERT INTO bench_ref SELECT $COLS FROM bench" -c "VACUUM ANALYZE bench_ref"; settle; }
# rows of bench (its original columns) not in the mirror, and the reverse
diff_rows() {
  q -c "SELECT (SELECT count(*) FROM (SELECT $COLS FROM bench EXCEPT ALL SELECT $COLS FROM bench_ref) a)
             + (SELECT count(*) FROM (SELECT $COLS FROM bench_ref EXCEPT ALL SELECT $COLS FROM bench) b)"
}
# the peer's rows copied over time, "t rows": pg_repack says nothing while it copies, so
# its start and its end only
peer_rows() { printf '0 0\n%s %s\n' "$(secs "$2" "$3")" "$ROWS"; }

# pg_repack, with each query it sends echoed and stamped.  It takes the table's ACCESS
# EXCLUSIVE lock three times: to create its trigger (until the COMMIT), for the final
# apply and repack_swap, and for repack_drop; the swap window spans the last two.
XLOCK="IN ACCESS EXCLUSIVE MODE"
PEER_IDLE=; PEER_W=
repack_run() { # RUN
  local rc=0
  PATH=$PGBIN:$PATH "$REPACK" -e -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -t bench 2>&1 | stamp >"$DIR/$1.log" ||
    rc=$?
  [ "$rc" = 0 ] || { echo "bench: pg_repack failed:" >&2; tail -5 "$DIR/$1.log" >&2; }
  return "$rc"
}
run_peer() { # MODE (idle or w)
  local mode=$1 run=repack-$1 t0 t1 wall ws="" e="" trig="" swap="" diff=""
  reset_table
  [ "$mode" = w ] && { resync_ref; writer_start "$run"; }
  machine_start
  t0=$(now)
  repack_run "$run" || true
  t1=$(now)
  machine_end
  wall=$(secs "$t0" "$t1")
  [ -s "$DIR/$run.log" ] && ! grep -q 'ERROR' "$DIR/$run.log" || wall="failed"
  if [ "$mode" = w ]; then
    writer_stop
    ws=$(lat_stats "$DIR/$run.lat" "$t0" "$t1")
    e=$(errs "$DIR/$run.json")
    [ -n "$(first_err "$DIR/$run.json")" ] && FIRSTERR+=("pg_repack: $e errors, the first: $(first_err "$DIR/$run.json")")
    trig=$(win "$DIR/$run.log" "$XLOCK" 1 COMMIT 1)
    swap=$(win "$DIR/$run.log" "$XLOCK" 2 COMMIT 3)
    plotdata peer "$run" "$t0" "$t1" "$trig" "$swap"
    trig=$(lat_max "$DIR/$run.lat" "$trig")
    swap=$(lat_max "$DIR/$run.lat" "$swap")
    diff=$(diff_rows)
    PEER_W=$wall
  else
    PEER_IDLE=$wall
  fi
  runs_add peer - "$mode" - "$wall"
  row "pg_repack -t bench, $([ "$mode" = w ] && echo "writer at $RATE/s" || echo idle)" "$wall" \
    "$(ratio "$wall" "$RAW")" 1.00 "$ws" "$e" "$trig" "$swap" "$(lag_max "$DIR/lag" "$t0" "$t1")" "$diff"
  summary - pg_repack "$mode" "$wall"
}
run_osc() { # WORKLOAD MODE THREADS
  local wl=$1 mode=$2 th=$3 run=osc-$1-$2-$3 spec t0 t1 wall ws="" e="" trig="" swap="" diff="" rss peer
  spec=$([ "$wl" = type ] && echo "ALTER COLUMN n TYPE bigint" || echo "ADD COLUMN c_${mode}_$th int NOT NULL DEFAULT 0")
  reset_table
  [ "$mode" = w ] && { resync_ref; writer_start "$run"; }
  local verify=()
  # nv: idle with --verify none, against idle's default --verify checksum: what checksumming costs
  [ "$mode" = nv ] && verify=(--verify none)
  machine_start
  t0=$(now)
  osc_run "$DIR/$run" --table bench --alter "$spec" --database "$URL" --threads "$th" "${verify[@]}" || true
  t1=$(now)
  machine_end
  wall=$(secs "$t0" "$t1")
  osc_done "$DIR/$run.log" || wall=failed
  rss=$(tail -1 "$DIR/$run.rss" 2>/dev/null || echo)
  osc_series "$DIR/$run.log" "$t0" >"$DIR/thr/$wl-$mode-$th.rows"
  if [ "$mode" = w ]; then
    writer_stop
    ws=$(lat_stats "$DIR/$run.lat" "$t0" "$t1")
    e=$(errs "$DIR/$run.json")
    [ -n "$(first_err "$DIR/$run.json")" ] && FIRSTERR+=("osc, $wl, --threads $th: $e errors, the first: $(first_err "$DIR/$run.json")")
    trig="$(osc_phase "$DIR/$run.log" capture) $(osc_phase "$DIR/$run.log" copy)"
    swap="$(osc_phase "$DIR/$run.log" cutover) $(osc_phase "$DIR/$run.log" cleanup)"
    if [ "$th" = "$MAIN_T" ]; then
      plotdata osc "$run" "$t0" "$t1" "$trig" "$swap"
      SWAPMSG[$wl]="$(osc_msg "$DIR/$run.log" swapped:); $(osc_figures "$DIR/plot-$wl")"
    fi
    trig=$(lat_max "$DIR/$run.lat" "$trig")
    swap=$(lat_max "$DIR/$run.lat" "$swap")
    diff=$(diff_rows)
    peer=$PEER_W
  else
    peer=$PEER_IDLE
  fi
  local label
  case $mode in w) label="writer at $RATE/s" ;; nv) label="idle, --verify none" ;; *) label="idle (--verify checksum)" ;; esac
  phase_row "$wl, $label" "$DIR/$run.log"
  runs_add osc "$wl" "$mode" "$th" "$wall" "$DIR/$run.log"
  row "osc $spec, $label, --threads $th" "$wall" "$(ratio "$wall" "$RAW")" \
    "$(ratio "$wall" "$peer")" "$ws" "$e" "$trig" "$swap" "$(lag_max "$DIR/lag" "$t0" "$t1")" "$diff" \
    "${rss:+$((rss / 1024)) MB}"
  summary "$wl" osc "$mode" "$wall" "$rss" "$th"
}

bench_threads
mkdir -p "$DIR/thr"
: >"$DIR/runs.tsv"
: >"$DIR/phases.md"
resync_ref
writer_baseline

declare -A SWAPMSG
FIRSTERR=()
for wl in $WORKLOADS; do
  CUR_WL=$wl
  if [ -z "$PEER_IDLE" ]; then
    echo "bench: pg_repack, idle"; run_peer idle
    echo "bench: pg_repack under the writer"; run_peer w
  else # the same pg_repack runs are this workload's peer: its plot data again
    mkdir -p "$DIR/plot-$wl"
    cp "$DIR/plot-$PEER_WL"/peer.* "$DIR/plot-$wl/"
  fi
  PEER_WL=${PEER_WL:-$wl}
  for th in $THREADS; do echo "bench: osc $wl, idle, --threads $th"; run_osc "$wl" idle "$th"; done
  echo "bench: osc $wl, idle, --verify none, --threads $MAIN_T"; run_osc "$wl" nv "$MAIN_T"
  for th in $THREADS; do echo "bench: osc $wl under the writer, --threads $th"; run_osc "$wl" w "$th"; done
  plot "$OUTDIR/$TAG-pg-$wl.png" "PostgreSQL, $ROWS rows, $wl workload, writer at $RATE/s: osc (--threads $MAIN_T) and pg_repack" \
    "$DIR/plot-$wl" pg_repack "pg_repack (its start and end only: it reports no progress)"
done
plot_threads "$OUTDIR/$TAG-pg-threads.png" "PostgreSQL, $ROWS rows: osc's copy by --threads ($(nproc) cores)" "$DIR"

OUT=${SECTIONS:-$OUTDIR}/$TAG-pg.md
{
  echo "## PostgreSQL — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$ROWS rows ($SIZE with indexes), one secondary index; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end;"
  echo "PostgreSQL $(q -c 'SHOW server_version'), default durability settings, one streaming replica;"
  echo "$("$REPACK" --version). Reproduce: \`ROWS=$ROWS RATE=${RATE_ASKED:-$RATE} BENCH_THREADS=\"$THREADS\"${QUICK:+ QUICK=1} bench/pg.sh\`."
  echo
  [ -n "$RATE_NOTE" ] && echo "$RATE_NOTE"
  echo "Writer columns: its writes during the tool's run (each a transaction on bench and its mirror),"
  echo "in ms. \"stall\" columns: the longest write that overlapped the trigger installation / the swap"
  echo "(\"-\": no write overlapped it)."
  echo "pg_repack applies no ALTER (it only rewrites the table): it is the peer of both workloads."
  echo
  echo "\"load 1m\": the machine's 1-minute load average at the run's start and end; \"CPU busy\": the"
  echo "share of all $(nproc) cores busy over the run (every process of the machine, from /proc/stat)."
  echo
  row_header pg_repack
  cat "$ROWSMD"
  echo
  for e in "${FIRSTERR[@]}"; do echo "Writer errors under $e."; done
  verify_cost
  for wl in $WORKLOADS; do
    echo "osc under the writer, $wl, --threads $MAIN_T: ${SWAPMSG[$wl]:-none}."
  done
  echo
  threads_section pg_repack PostgreSQL pg
  echo
  for wl in $WORKLOADS; do
    echo "![PostgreSQL $wl workload]($TAG-pg-$wl.png)"
  done
} >"$OUT"
cat "$OUT"
echo "bench: wrote $OUT"
