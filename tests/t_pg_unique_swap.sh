#!/usr/bin/env bash
# Rows that trade UNIQUE values in one transaction, replayed in several
# batches (PostgreSQL).  The new table has the original's UNIQUE (u); while
# the cutover waits (indexes built) and osc is paused, one application
# transaction rotates u over 12000 rows (each row takes its neighbour's
# value, through a negative step: the original's constraint is checked row
# by row), so its 24000 log rows fill several replay batches: a batch that
# merges some of those rows meets the others' old values in the new table.
# That duplicate never existed in the original, and the run must not fail
# on it; nor when the same rotation lands just before the swap's lock and
# is drained under it in batches.  (That an original that really violates
# a new UNIQUE constraint still fails, with the key named, is
# t_unique_duplicates'.)  A rotation near the end of the copy leaves the new table
# half merged when its UNIQUE index is built (some rows' old values, some
# rows' new ones): the build must not fail on that either.  The mirrored
# writer runs throughout.
. "$(dirname "$0")/lib.sh"
need_osc
COLS="id, v, n, extra, pad, u"
FLAG=$TEST_TMP/postpone PAUSE=$TEST_TMP/pause

note "--- 1. a valid workload: values rotated in one transaction, replayed in batches"
T=t_pg_uswap R=t_pg_uswap_ref
fixture int $T $R 20000
osc_state_forget $T
psql_q "ALTER TABLE $T ADD COLUMN u int; UPDATE $T SET u = id; ALTER TABLE $T ADD CONSTRAINT t_pg_uswap_u_key UNIQUE (u);
        ALTER TABLE $R ADD COLUMN u int; UPDATE $R SET u = id" || fail "setup"
start_writer int $T $R
sleep 0.3
osc_bg "$TEST_TMP/$T.out" "$TEST_TMP/$T.err" --table $T --alter "ALTER COLUMN n TYPE bigint" \
    --postpone-cutover "$FLAG" --pause-file "$PAUSE" --log-format json
wait_for_text 'cutover postponed' 60 "$TEST_TMP/$T.err" || { stop_writer; fail "the cutover was never postponed"; }
touch "$PAUSE"
sleep 0.5
rotate="UPDATE %s SET u = -u WHERE u BETWEEN 1 AND 12000;
        UPDATE %s SET u = CASE WHEN u = -12000 THEN 1 ELSE 1 - u END WHERE u BETWEEN -12000 AND -1;"
# shellcheck disable=SC2059
psql_q "BEGIN; $(printf "$rotate" $T $T) $(printf "$rotate" $R $R) COMMIT;" || { stop_writer; fail "rotation"; }
note "backlog while paused: $(psql_q "SELECT count(*) FROM $(psql_q "SELECT quote_ident(nspname) FROM pg_namespace WHERE nspname LIKE '\_osc\_%' LIMIT 1")._${T}_osc_log") log rows"
sleep 0.5
rm -f "$PAUSE" "$FLAG"
osc_bg_wait 120
[ "$OSC_BG_RC" = 0 ] || { tail -n 20 "$TEST_TMP/$T.err" >&2; stop_writer; fail "osc exited $OSC_BG_RC on a valid workload, expected 0"; }
grep -q 'merging every pending change at once' "$TEST_TMP/$T.err" \
    || { stop_writer; fail "no batch met the transient duplicate: the test did not test it"; }
sleep 0.5
stop_writer
tables_equal $T $R "$COLS"
assert_true "EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 't_pg_uswap_u_key' AND conrelid = '$T'::regclass)" \
    "the constraint is on the new table"
no_osc_leftovers $T

note "--- 1b. the same rotation just before the swap's lock: drained under it"
T=t_pg_uswapd R=t_pg_uswapd_ref
fixture int $T $R 20000
osc_state_forget $T
psql_q "ALTER TABLE $T ADD COLUMN u int; UPDATE $T SET u = id; ALTER TABLE $T ADD CONSTRAINT t_pg_uswapd_u_key UNIQUE (u);
        ALTER TABLE $R ADD COLUMN u int; UPDATE $R SET u = id" || fail "setup 1b"
start_writer int $T $R
sleep 0.3
# osc waits before its lock until the rotation has committed, however long
# that takes on a loaded machine
OSC_FAULT=swap-before-lock:$TEST_TMP/go osc_bg "$TEST_TMP/$T.out" "$TEST_TMP/$T.err" --table $T --alter "ALTER COLUMN n TYPE bigint" \
    --log-format json
wait_for_text 'waiting at swap-before-lock' 60 "$TEST_TMP/$T.err" || { stop_writer; fail "the swap never started"; }
# shellcheck disable=SC2059
psql_q "BEGIN; $(printf "$rotate" $T $T) $(printf "$rotate" $R $R) COMMIT;" || { stop_writer; fail "rotation 1b"; }
touch "$TEST_TMP/go"
osc_bg_wait 120
[ "$OSC_BG_RC" = 0 ] || { tail -n 20 "$TEST_TMP/$T.err" >&2; stop_writer; fail "osc exited $OSC_BG_RC on a valid workload, expected 0"; }
grep -q 'the drain met a duplicate' "$TEST_TMP/$T.err" \
    || { grep -E 'swapped|duplicate|attempt' "$TEST_TMP/$T.err" | tail -n 5 >&2; stop_writer; fail "the drain met no transient duplicate: the test did not test it"; }
sleep 0.5
stop_writer
tables_equal $T $R "$COLS"
no_osc_leftovers $T

note "--- 2. a rotation that commits as the copy ends: the UNIQUE index is built over a half-merged table"
T=t_pg_uswap2 R=t_pg_uswap2_ref
fixture int $T $R 20000
osc_state_forget $T
psql_q "ALTER TABLE $T ADD COLUMN u int; UPDATE $T SET u = id; ALTER TABLE $T ADD CONSTRAINT t_pg_uswap2_u_key UNIQUE (u);
        ALTER TABLE $R ADD COLUMN u int; UPDATE $R SET u = id" || fail "setup 2"
# the rotation's transaction does its work first and commits on cue
mkfifo "$TEST_TMP/rot"
psql -XAtq -v ON_ERROR_STOP=1 -f "$TEST_TMP/rot" >"$TEST_TMP/rot.out" 2>&1 &
ROT=$!
start_writer int $T $R
sleep 0.3
OSC_FAULT=chunk:150 osc_bg "$TEST_TMP/$T.out" "$TEST_TMP/$T.err" --table $T --alter "ALTER COLUMN n TYPE bigint" \
    --chunk-size 1000 --chunk-size-max 1000 --log-format json
# opened after the writer and osc started, so that they do not hold it open
exec 7>"$TEST_TMP/rot"
trap 'exec 7>&-; _lib_cleanup' EXIT
# uncommitted, the rotation's rows and log rows are invisible to the copy: it
# may run while the copy goes on (once the capture is in place)
wait_for_text '"phase":"copy"' 60 "$TEST_TMP/$T.err" || { stop_writer; fail "the copy did not start"; }
rotate15="UPDATE %s SET u = -u WHERE u BETWEEN 1 AND 15000;
          UPDATE %s SET u = CASE WHEN u = -15000 THEN 1 ELSE 1 - u END WHERE u BETWEEN -15000 AND -1;"
# shellcheck disable=SC2059
printf "BEGIN; $rotate15 $rotate15 SELECT 'rotated';\n" $T $T $R $R >&7
wait_for_text rotated 30 "$TEST_TMP/rot.out" || { stop_writer; fail "the rotation did not run"; }
for _ in $(seq 1 300); do
    [ "$(osc_state $T rows_copied)" -ge 18000 ] 2>/dev/null && break
    sleep 0.02
done
[ "$(osc_state $T phase)" = copy ] || { stop_writer; fail "the copy ended before the rotation committed"; }
# 30000 log rows at once, a chunk or two before the end: the replays between
# them merge only part before the index is built
echo "COMMIT;" >&7
exec 7>&-
wait $ROT || { cat "$TEST_TMP/rot.out" >&2; stop_writer; fail "the rotation failed"; }
osc_bg_wait 120
[ "$OSC_BG_RC" = 0 ] || { tail -n 20 "$TEST_TMP/$T.err" >&2; stop_writer; fail "osc exited $OSC_BG_RC on a valid workload, expected 0"; }
grep -q 'index t_pg_uswap2_u_key met a duplicate' "$TEST_TMP/$T.err" \
    || { grep -E 'phase|duplicate' "$TEST_TMP/$T.err" | tail -n 8 >&2; stop_writer; fail "the index build met no transient duplicate: the test did not test it"; }
sleep 0.5
stop_writer
tables_equal $T $R "$COLS"
no_osc_leftovers $T

echo ok
