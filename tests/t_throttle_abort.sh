#!/usr/bin/env bash
# Thresholds that abort (PostgreSQL): a replica lagging past --critical-lag
# (sustained for --critical-interval), a panic file and a load at
# --critical-load (sessions running pg_sleep) each abort the run with exit 1;
# the original is untouched (it equals the mirror the writer kept) and osc's
# objects are gone.  A replica that stops answering mid-run fails closed: the
# copy does not advance, the log says which replica and why.  A --replica
# that cannot be read at all is refused in preflight (exit 2), and so is an
# unknown load metric.
# Each run holds its swap with --postpone-cutover, so that it cannot finish
# before the lag, the panic file or the stopped replica takes effect (a 200k
# copy takes about a second on an idle machine), and the copy of case 3 is
# slowed (OSC_FAULT=chunk:25, at least 5 s for its 200 chunks) so that the
# replica stops while it runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
need_osc
T=t_thr_abort R=t_thr_abort_ref
ALTER="ADD COLUMN c int DEFAULT 5"
trap 'r=$?; psql_replica "SELECT pg_wal_replay_resume()" >/dev/null 2>&1; ctl_cleanup $r' EXIT

check_intact() {
    tables_equal $T $R "id, v, n, extra, pad"
    [ "$(has_column $T c)" = f ] || fail "the original has the new column after an abort"
    no_osc_leftovers $T
}

# 1. critical lag, held for 1 s
osc_state_forget $T
fixture int $T $R 200000
start_writer int $T $R
osc_bg "$TEST_TMP/a.out" "$TEST_TMP/a.err" --table $T --alter "$ALTER" --replica "$OSC_PG_REPLICA_URL" \
    --max-lag 500ms --critical-lag 2s --critical-interval 1s --chunk-time 50ms --chunk-size-max 1000 --log-format json \
    --postpone-cutover "$TEST_TMP/hold-a"
wait_status_phase $T copy 30 || fail "the copy did not start"
sleep 0.3
lag0=$(json_num "$(status_json $T)" max_lag_ms)
onset=$(now_ms)
replica_replay pause
osc_bg_wait 60
took=$(( $(now_ms) - onset ))
replica_replay resume
[ "$OSC_BG_RC" = 1 ] || { tail -n 20 "$TEST_TMP/a.err" >&2; fail "critical lag: osc exited $OSC_BG_RC, expected 1"; }
grep -q '"aborting: replica 127.0.0.1:[0-9]* is [0-9.]*s behind (--critical-lag 2.0s), for' "$TEST_TMP/a.err" \
    || { cat "$TEST_TMP/a.err" >&2; fail "no critical-lag message"; }
grep -q 'aborted: the original table is untouched' "$TEST_TMP/a.err" || fail "no abort confirmation"
note "critical lag: aborted $took ms after replay stopped, with $lag0 ms of lag before (--critical-lag 2s + --critical-interval 1s)"
[ "$took" -ge $((3000 - lag0 - 300)) ] || fail "aborted after $took ms, before the lag could be critical for 1 s"
stop_writer
wait_replica_caught_up 60
check_intact

# 2. the panic file
PANIC=$TEST_TMP/panic
start_writer int $T $R
osc_bg "$TEST_TMP/p.out" "$TEST_TMP/p.err" --table $T --alter "$ALTER" --panic-file "$PANIC" \
    --chunk-time 50ms --chunk-size-max 1000 --log-format json --postpone-cutover "$TEST_TMP/hold-p"
wait_status_phase $T copy 30 || fail "the copy did not start"
touch "$PANIC"
osc_bg_wait 30
[ "$OSC_BG_RC" = 1 ] || fail "panic file: osc exited $OSC_BG_RC, expected 1"
grep -q "aborting: the panic file $PANIC exists" "$TEST_TMP/p.err" || { cat "$TEST_TMP/p.err" >&2; fail "no panic message"; }
stop_writer
check_intact

# 3. the replica's server stops in the middle of the run: fail closed, naming
#    it and why; once it is back, the copy goes on
trap 'r=$?; tests/servers.sh pg-replica-start "$OSC_TEST_DIR" >/dev/null 2>&1; ctl_cleanup $r' EXIT
start_writer int $T $R
HOLD=$TEST_TMP/hold-s
OSC_FAULT=chunk:25 osc_bg "$TEST_TMP/s.out" "$TEST_TMP/s.err" --table $T --alter "$ALTER" \
    --replica "$OSC_PG_REPLICA_URL" --max-lag 1s --chunk-time 50ms --chunk-size-max 1000 --log-format json \
    --postpone-cutover "$HOLD"
wait_status_phase $T copy 30 || fail "the copy did not start"
wait_for_text '"throttle released' 10 "$TEST_TMP/s.err" || true
released=$(grep -c '"throttle released after' "$TEST_TMP/s.err")
tests/servers.sh pg-replica-stop "$OSC_TEST_DIR" || fail "cannot stop the replica"
wait_for_text '"throttled: replica 127\.0\.0\.1:[0-9]+ cannot be read: ' 10 "$TEST_TMP/s.err" \
    || { grep -v progress "$TEST_TMP/s.err" >&2; fail "no fail-closed throttle when the replica stopped"; }
at_stop=$(rows_copied $T)
frozen=$(rows_frozen $T 1.5) || fail "the copy went on with the replica down ($frozen)"
note "the copy held at $frozen rows (of 200000) while the replica was down ($at_stop when the throttle began)"
tests/servers.sh pg-replica-start "$OSC_TEST_DIR" || fail "cannot restart the replica"
for ((i = 0; i < 300; i++)); do
    [ "$(grep -c '"throttle released after' "$TEST_TMP/s.err")" -gt "$released" ] && break
    sleep 0.1
done
[ "$(grep -c '"throttle released after' "$TEST_TMP/s.err")" -gt "$released" ] || fail "no release after the replica came back"
rm -f "$HOLD"
osc_bg_wait 120
[ "$OSC_BG_RC" = 0 ] || fail "osc exited $OSC_BG_RC after the replica came back"
sleep 1
stop_writer
psql_q "ALTER TABLE $R $ALTER"
tables_equal $T $R "id, v, n, extra, pad, c"
no_osc_leftovers $T
wait_replica_caught_up 60

# 4. a replica that cannot be read (nothing listens there): refused in
#    preflight, nothing made (it used to pause the run for ever)
DEAD=postgres://postgres@127.0.0.1:1/osctest
snap=$(schema_snapshot)
expect_osc 2 --table $T --alter "ADD COLUMN d int" --replica "$DEAD" --log-format json
grep -q '"--replica 127.0.0.1:1 cannot be read (cannot connect' "$OSC_ERR" || fail "the refusal does not name the replica"
assert_eq "$snap" "$(schema_snapshot)" "the schema after the refusal"
no_osc_leftovers $T

# 5. an unknown load metric: exit 2 before anything is made
expect_osc 2 --table $T --alter "ADD COLUMN d int" --max-load load_average=3
grep -q "load metric 'load_average': PostgreSQL has active_sessions and wal_bytes_per_sec" "$OSC_ERR" \
    || fail "unclear error for an unknown metric"
assert_eq "$snap" "$(schema_snapshot)" "the schema after the refused metric"
no_osc_leftovers $T

# 6. at --critical-load: abort, the original intact
psql_q "DROP TABLE _${T}_osc_old" || fail "drop the table case 3 kept"
SLEEPERS=()
trap 'r=$?; kill "${SLEEPERS[@]}" 2>/dev/null; ctl_cleanup $r' EXIT
osc_bg "$TEST_TMP/c.out" "$TEST_TMP/c.err" --table $T --alter "ADD COLUMN d int" --critical-load active_sessions=4 \
    --chunk-time 50ms --chunk-size-max 1000 --log-format json --postpone-cutover "$TEST_TMP/hold-c"
wait_status_phase $T copy 30 || fail "the copy did not start"
for ((i = 0; i < 6; i++)); do
    psql -XAtq -c "SELECT pg_sleep(3)" >/dev/null 2>&1 &
    SLEEPERS+=($!)
done
osc_bg_wait 30
[ "$OSC_BG_RC" = 1 ] || fail "critical load: osc exited $OSC_BG_RC, expected 1"
grep -q '"aborting: active_sessions is [0-9]* (--critical-load active_sessions=4)' "$TEST_TMP/c.err" \
    || fail "no critical-load message"
tables_equal $T $R "id, v, n, extra, pad, c"
[ "$(has_column $T d)" = f ] || fail "the original changed"
no_osc_leftovers $T
echo "ok"
