#!/usr/bin/env bash
# bench/revert.sh — what a --revertible migration and `osc revert` cost:
# the forward run with and without --revertible, each under the writer (its
# time, the swap's lock),
# then, after CHANGES changes to the new table (one UPDATE, plus whatever the
# writer does meanwhile), the revert's time and its lock; the mirrored
# writer runs throughout (its latency p50/p99/p99.9/max and errors over the
# whole run, which spans both swaps), and at the end the table is compared
# with the mirror row for row.
#   ROWS=1000000 CHANGES=10000 ENGINES="pg my" bench/revert.sh
# Servers: tests/servers.sh on BENCH_REVERT_PORT (default 55540, and +100
# for MariaDB), in a temporary directory; the results go to
# bench/results/<date>-revert.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
CHANGES=${CHANGES:-10000}
ENGINES=${ENGINES:-pg my}
PORT=${BENCH_REVERT_PORT:-55540}
OUTDIR=${OUTDIR:-bench/results}
TAG=${TAG:-$(date -u +%Y-%m-%d)}
export OSC_TEST_PG_PORT=$PORT OSC_TEST_MY_PORT=$((PORT + 100))
export WRITER_RATE=${WRITER_RATE:-500}
SRV=/tmp/osc-bench-revert.$$
OUT=$OUTDIR/$TAG-revert.md
make -s all >/dev/null
# servers.sh makes the directory, readable by the servers' users
trap 'tests/servers.sh stop "$SRV" >/dev/null 2>&1 || true; rm -rf "$SRV" "$SRV.log"' EXIT
tests/servers.sh start "$SRV" >"$SRV.log" 2>&1 || { cat "$SRV.log" >&2; exit 1; }
. "$SRV/env"
TEST_NAME=bench_revert
. tests/lib.sh
. tests/lib_engine.sh
# after lib.sh, whose own EXIT trap this one calls
bench_revert_exit() {
    _lib_cleanup
    tests/servers.sh stop "$SRV" >/dev/null 2>&1 || true
    rm -rf "$SRV" "$SRV.log"
}
trap bench_revert_exit EXIT

# lock MSGFILE: the swap's lock time osc reported ("table locked for 12.3ms")
# (MySQL/MariaDB: "writes waited at most 12.3ms")
lock_ms() {
    grep -oE '(table locked for|writes waited at most) [0-9.]+ms' "$1" | tail -1 | grep -oE '[0-9.]+' || echo -
}
took() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
log() { echo "bench-revert: $*" >&2; }

{
    echo "# The revert: --revertible and osc revert ($TAG)"
    echo
    echo "$ROWS rows, $CHANGES changes to the new table after the swap (one UPDATE) plus the writer's"
    echo "($WRITER_RATE writes/s throughout: inserts, updates including key changes and NULLs, deletes,"
    echo "mirrored; also during the plain run, on a table of its own), one run each on this machine ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the start)."
    echo
    echo "| engine | forward, plain (s) | its lock (ms) | forward, --revertible (s) | its lock (ms) | changes replayed | revert (s) | its lock (ms) | writer p50/p99/p99.9/max (ms) | writer errors | rows ≠ mirror |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
} >"$OUT.tmp"

run_engine() {
    local T=rev R=rev_ref P=rev_plain P_R=rev_plain_ref alter t0 t1 fwd fwd_plain rev lk_plain lk_fwd lk_rev applied st diff
    alter=$(e_pick "ADD COLUMN c int DEFAULT 1, ALTER COLUMN n TYPE bigint" "ADD COLUMN c int DEFAULT 1, MODIFY n BIGINT")
    log "$ENGINE: $ROWS rows"
    e_fixture $P $P_R "$ROWS"
    e_start_writer $P $P_R
    t0=$(date +%s.%N)
    e_run_osc --table $P --alter "$alter" --log-format text
    t1=$(date +%s.%N)
    e_stop_writer
    [ "$OSC_RC" = 0 ] || { log "the plain run exited $OSC_RC"; return 1; }
    fwd_plain=$(took "$t0" "$t1") lk_plain=$(lock_ms "$OSC_ERR")
    e_q "DROP TABLE $P_R" >/dev/null
    e_q "DROP TABLE $P" >/dev/null
    e_q "DROP TABLE $(e_old_table $P)" >/dev/null
    e_fixture $T $R "$ROWS"
    e_start_writer $T $R
    t0=$(date +%s.%N)
    e_run_osc --table $T --alter "$alter" --revertible --log-format text
    t1=$(date +%s.%N)
    [ "$OSC_RC" = 0 ] || { e_stop_writer; log "the --revertible run exited $OSC_RC"; return 1; }
    fwd=$(took "$t0" "$t1") lk_fwd=$(lock_ms "$OSC_ERR")
    # the changes after the swap: one UPDATE of CHANGES rows, mirrored
    # (one transaction, the table first as the writer's: the mirror stays exact)
    e_q "$(e_pick BEGIN 'START TRANSACTION'); UPDATE $T SET extra = extra + 1 WHERE id <= $CHANGES;
         UPDATE $R SET extra = extra + 1 WHERE id <= $CHANGES; COMMIT" >/dev/null
    t0=$(date +%s.%N)
    e_run_osc revert --table $T --drop-old-table --log-format text
    t1=$(date +%s.%N)
    [ "$OSC_RC" = 0 ] || { e_stop_writer; log "osc revert exited $OSC_RC"; return 1; }
    rev=$(took "$t0" "$t1") lk_rev=$(lock_ms "$OSC_ERR")
    applied=$(grep -o 'with [0-9]* changes made since the swap' "$OSC_ERR" | grep -o '[0-9]*' || echo -)
    sleep 1
    e_stop_writer
    st=$(jq -r '"\(.p50_ms)/\(.p99_ms)/\(.p999_ms)/\(.max_ms)|\(.errors)"' "$WRITER_STATS")
    diff=0
    ( e_tables_equal $T $R "id, v, n, extra, pad" ) >/dev/null 2>&1 || diff=1
    log "$ENGINE: forward plain ${fwd_plain}s (lock ${lk_plain}ms), --revertible ${fwd}s (lock ${lk_fwd}ms), revert ${rev}s (lock ${lk_rev}ms), $applied changes; writer $st; differs: $diff"
    echo "| $ENGINE | $fwd_plain | $lk_plain | $fwd | $lk_fwd | $applied | $rev | $lk_rev | ${st%|*} | ${st#*|} | $([ $diff = 0 ] && echo 0 || echo 'DIFFERS') |" >>"$OUT.tmp"
}

for ENGINE in $ENGINES; do
    run_engine || echo "| $ENGINE | failed: see the console | | | | | | | | | |" >>"$OUT.tmp"
done
mv "$OUT.tmp" "$OUT"
cat "$OUT"
