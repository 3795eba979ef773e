#!/usr/bin/env bash
# What osc says and records when its connection goes (PostgreSQL), and a key
# type the copy cannot compare.
#   1. pg_terminate_backend of osc's sessions in the middle of the copy:
#      osc stops, resumable (exit 3, "rerun ... to resume"), the state row
#      says "stopped", the capture stays; the rerun resumes and finishes;
#   2. a fast restart of the primary in the middle of the copy: the same
#      (osc history shows the run as stopped or interrupted, never running);
#   3. ALTER COLUMN id TYPE text on an integer key: refused at preflight
#      (exit 2, nothing changed), not in the middle of the copy.
# The mirrored writer runs across each interruption (stopped around the
# restart, which would break its own connection) and the rerun ends with
# the new table equal to the mirror.
. "$(dirname "$0")/lib.sh"
need_osc
ALTER="ALTER COLUMN n TYPE bigint"
COLS="id, v, n, extra, pad"

# start_copy T: osc in the background, a copy of a few seconds; returns
# once it has copied some rows
start_copy() {
    local t=$1
    OSC_FAULT=chunk:40 osc_bg "$TEST_TMP/$t.out" "$TEST_TMP/$t.err" --table "$t" --alter "$ALTER" \
        --chunk-size 1000 --chunk-size-max 1000 --log-format json
    for _ in $(seq 1 200); do
        [ "$(osc_state "$t" rows_copied)" -ge 6000 ] 2>/dev/null && break
        sleep 0.05
    done
    [ "$(osc_state "$t" phase)" = copy ] || { stop_writer; fail "the copy was not under way"; }
}

# stopped_resumable T: osc exited 3 saying a rerun resumes; the capture is there
stopped_resumable() {
    local t=$1
    osc_bg_wait 60
    tail -n 4 "$TEST_TMP/$t.err" | sed 's/^/#   /'
    [ "$OSC_BG_RC" = 3 ] || { stop_writer; fail "osc exited $OSC_BG_RC after losing its connection, expected 3"; }
    grep -q 'rerun the same command to resume' "$TEST_TMP/$t.err" || { stop_writer; fail "osc does not say a rerun resumes"; }
    grep -q 'run `osc cleanup' "$TEST_TMP/$t.err" && grep -q 'could not remove' "$TEST_TMP/$t.err" \
        && { stop_writer; fail "osc says to clean up although a rerun resumes"; }
    assert_eq 2 "$(osc_triggers "$t")" "capture triggers kept"
}

# rerun T R: the same command again resumes and finishes; equal to the mirror
rerun() {
    local t=$1 r=$2
    run_osc --table "$t" --alter "$ALTER" --log-format json
    [ "$OSC_RC" = 0 ] || { stop_writer; fail "the rerun exited $OSC_RC, expected 0"; }
    grep -q 'resuming the migration' "$OSC_ERR" || { stop_writer; fail "the rerun did not resume"; }
    sleep 0.3
    stop_writer
    tables_equal "$t" "$r" "$COLS"
    assert_eq done "$(osc_state "$t" outcome)" "state after the rerun"
    no_osc_leftovers "$t"
}

note "--- 1. osc's sessions terminated"
T=t_pg_term R=t_pg_term_ref
fixture int $T $R 30000
osc_state_forget $T
start_writer int $T $R
sleep 0.3
start_copy $T
n=$(psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE application_name IN ('osc', 'osc monitor') AND pid <> pg_backend_pid()")
note "terminated $n osc session(s)"
stopped_resumable $T
assert_eq stopped "$(osc_state $T outcome)" "state row after the termination"
rerun $T $R

note "--- 2. a fast restart of the primary"
T=t_pg_restart R=t_pg_restart_ref
fixture int $T $R 30000
osc_state_forget $T
start_writer int $T $R
sleep 0.3
start_copy $T
stop_writer
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$OSC_TEST_DIR/pg-primary" -m fast -w -t 60 restart \
    -l "$OSC_TEST_DIR/pg-primary.log" >/dev/null || fail "restart of the primary"
for _ in $(seq 1 100); do psql_q "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
stopped_resumable $T
wait_replica_caught_up 60   # the tests after this one expect a streaming replica
run_osc history --table $T
grep -qE '"outcome":"(stopped|interrupted)"|outcome (stopped|interrupted)' "$OSC_OUT" || fail "osc history does not show the run as stopped or interrupted"
start_writer int $T $R
sleep 0.3
rerun $T $R

note "--- 3. a key type the copy cannot compare"
T=t_pg_keytext R=t_pg_keytext_ref
fixture int $T $R 2000
osc_state_forget $T
before=$(schema_snapshot)
expect_osc 2 --table $T --alter "ALTER COLUMN id TYPE text"
grep -q 'changes key column id from integer to text' "$OSC_ERR" || fail "the refusal does not name the key column and types"
assert_eq "$before" "$(schema_snapshot)" "schema after the refusal"
assert_eq 0 "$(osc_state_rows $T)" "state rows"
no_osc_leftovers $T
expect_osc 0 --table $T --alter "ALTER COLUMN id TYPE bigint"
tables_equal $T $R "$COLS"
echo ok
