#!/usr/bin/env bash
# An in-place run (--strategy auto: "direct" on PostgreSQL, ALGORITHM=INSTANT
# on MariaDB) waits before its statement while a replica lags past
# --max-lag, and aborts past --critical-lag, although it copies nothing.  On
# PostgreSQL and MariaDB, one body, under the writer:
#  1. the replica stops applying (WAL replay paused; STOP SLAVE SQL_THREAD):
#     the ALTER waits (PostgreSQL: the lag is the one the primary reports,
#     pg_stat_replication.replay_lag, since no heartbeat is made; MariaDB:
#     "shows no heartbeat yet", osc writes its heartbeat for the wait), then
#     runs once the replica applies again (before, MariaDB's INSTANT path said
#     it waited for the replicas and ran the ALTER at once);
#  2. past --critical-lag: exit 1 before the statement, nothing changed.
# The table equals its mirror with the same ALTER.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
OSC_STRATEGY=auto
ALTER="ADD COLUMN c int"

trap 'r=$?; e_replica_start_quietly; ctl_cleanup $r' EXIT
# replay_lag_over MS: until the PostgreSQL primary reports a replay_lag over MS (10 s at most)
replay_lag_over() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(psql_q "SELECT count(*) FROM pg_stat_replication WHERE replay_lag > interval '$1 milliseconds'")" -ge 1 ] \
            && return 0
        sleep 0.1
    done
    fail "the primary never reported a replay_lag over $1 ms"
}
# replica_stop: the replica stops applying; on PostgreSQL, until the primary sees the lag
replica_stop() {
    e_replica_stop
    [ "$ENGINE" = pg ] && replay_lag_over 1200
    return 0
}

inplace_lag_test() {
    local T=t_inplace_lag_$ENGINE R=t_inplace_lag_${ENGINE}_ref snap
    e_fixture $T $R 20000
    e_wait_replica_caught_up 60
    e_start_writer $T $R

    note "---- 1. over --max-lag: the ALTER waits, then runs once the replica applies again"
    replica_stop
    e_osc_bg "$TEST_TMP/o.out" "$TEST_TMP/o.err" --table $T --alter "$ALTER" --max-lag 1s --log-format json
    wait_for_text "$(e_pick '"throttled: replica [^"]* \(replay_lag as the primary reports it\) is [0-9.]+m?s behind' \
                            '"throttled: replica 127\.0\.0\.1:[0-9]+ shows no heartbeat yet')" 20 "$TEST_TMP/o.err" \
        || { grep -v '"progress"' "$TEST_TMP/o.err" >&2; fail "the in-place run did not wait for the lagging replica"; }
    grep -q "\"strategy: $(e_pick direct instant):" "$TEST_TMP/o.err" || fail "the strategy was not $(e_pick direct instant) (in place)"
    sleep 1.5
    kill -0 "$OSC_BG_PID" 2>/dev/null || { grep -v '"progress"' "$TEST_TMP/o.err" >&2; fail "the in-place run ended while the replica lagged"; }
    assert_eq 0 "$(e_has_column $T c)" "column c while the replica lags"
    e_replica_start
    osc_bg_wait 60
    [ "$OSC_BG_RC" = 0 ] || { grep -v '"progress"' "$TEST_TMP/o.err" >&2; fail "the in-place run exited $OSC_BG_RC"; }
    grep -q '"throttle released after' "$TEST_TMP/o.err" || fail "no release once the replica applied again"
    assert_eq 1 "$(e_has_column $T c)" "column c after the run"
    if [ "$ENGINE" = my ]; then
        grep -q 'migration complete: applied in place (instant)' "$TEST_TMP/o.err" || fail "not applied in place"
        assert_eq 0 "$(my_has_table "${T}_osc_hb")" "the heartbeat table after the run"
    fi
    note "$(grep -oE '"msg":"(throttled|throttle released)[^"]*"' "$TEST_TMP/o.err" | head -n 2 | tr '\n' ' ')"

    note "---- 2. past --critical-lag: exit 1 before the statement, nothing changed"
    replica_stop
    snap=$(e_schema_snapshot)
    e_run_osc --table $T --alter "ADD COLUMN d int" --max-lag 500ms \
        $(e_pick "--critical-lag 1s --critical-interval 200ms" "--critical-lag 1500ms") --log-format json
    e_replica_start
    [ "$OSC_RC" = 1 ] || fail "past --critical-lag the in-place run exited $OSC_RC, expected 1"
    grep -q "$(e_pick 'aborting: .*replay_lag as the primary reports it' \
                      '"aborting: replica 127\.0\.0\.1:[0-9]* is at least [0-9.]*s behind')" "$OSC_ERR" \
        || fail "the abort does not name the lagging replica and its lag"
    assert_eq 0 "$(e_has_column $T d)" "column d after the aborted run"
    assert_eq "$snap" "$(e_schema_snapshot)" "the schema after the aborted in-place run"

    if [ "$ENGINE" = my ]; then
        note "---- 3. the server refuses INSTANT after the wait: the copy keeps watching the lag"
        # the table's own foreign key on pad makes the table refuse INSTANT for
        # MODIFY pad, which an empty trial table takes (see t_strategy); the wait
        # before the ALTER stopped the monitor, and a copy without it saw its
        # last heartbeat age past --max-lag and stayed throttled for ever.  The
        # copy lasts well past --max-lag here (OSC_FAULT=chunk:300, small chunks).
        my_q "DROP TABLE IF EXISTS t_inplace_lag_pads;
              CREATE TABLE t_inplace_lag_pads (p VARCHAR(200) PRIMARY KEY) ENGINE=InnoDB;
              INSERT INTO t_inplace_lag_pads SELECT DISTINCT pad FROM $T WHERE pad IS NOT NULL;
              ALTER TABLE $T ADD CONSTRAINT t_inplace_lag_pad_fk FOREIGN KEY (pad) REFERENCES t_inplace_lag_pads (p)" \
            || fail "the foreign key on pad"
        OSC_FAULT=chunk:300 e_osc_bg "$TEST_TMP/f.out" "$TEST_TMP/f.err" --table $T --alter "MODIFY pad VARCHAR(250)" \
            --max-lag 1s --chunk-size 2000 --chunk-size-max 2000 --log-format json
        osc_bg_wait 60
        [ "$OSC_BG_RC" = 0 ] || { grep -v '"progress"' "$TEST_TMP/f.err" | tail -n 5 >&2; fail "the fallen-back copy exited $OSC_BG_RC"; }
        grep -q "refused ALGORITHM=INSTANT on the table itself" "$TEST_TMP/f.err" || fail "the server did not refuse INSTANT: the case is not tested"
        e_alter_ref $R "MODIFY pad VARCHAR(250)"
    fi

    sleep 0.5
    e_stop_writer
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "id, v, n, extra, pad, c"
    e_no_leftovers $T
    e_wait_replica_caught_up 60
}

for_each_engine inplace_lag_test
echo "ok"
