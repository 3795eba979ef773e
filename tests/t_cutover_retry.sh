#!/usr/bin/env bash
# The swap's lock is not granted, on PostgreSQL and MariaDB (one body).  A
# session holds the table (PostgreSQL: ACCESS SHARE in an open transaction;
# MariaDB: an open transaction that read it, whose metadata lock keeps LOCK
# TABLES out).  The copy is done and the swap postponed (--postpone-cutover)
# before the holder starts; the mirrored writer runs throughout.
#  A. never granted, --lock-timeout 100ms --cutover-retries 3: after three
#     attempts osc gives up at once: exit 1, "not granted in 3 attempts";
#     it backs off between attempts, never after the last one (the old loop
#     slept once more, and said "retrying", before giving up).
#     --lock-timeout bounds what the application waits for osc's lock
#     requests, for real: the writer's longest transaction (a fresh writer,
#     started once the holder holds) stays far below a second.  MariaDB's
#     lock_wait_timeout counts whole seconds: each "100ms" attempt of the old
#     code held the writer for about a second, and its cleanup retried as
#     long; each attempt is now bounded by max_statement_time, and the log
#     says how long writers queued behind each request (about 100ms; on
#     PostgreSQL lock_timeout bounds the wait itself, so osc has nothing to
#     measure and says nothing).
#     The abort cannot drop the capture trigger(s) either (same lock): the
#     original is intact (no new column), equal to the mirror and takes
#     writes; the shadow is gone (PostgreSQL: no table left in the work
#     schema; MariaDB: the change log stays while its three triggers do);
#     the message says `osc cleanup` removes the rest, and with the holder
#     gone it does.
#  B. the holder ends between attempts (after attempt 2 of 100): osc retries
#     and finishes; the new table equals the mirror with the ALTER.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
COLS="id, v, n, extra, pad"

HOLDER=
# release: ends the holder's transaction now (killing the client alone would not)
release() {
    if [ "$ENGINE" = pg ]; then
        psql_q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE application_name = 'osc_test_holder'" >/dev/null
    else
        local id
        id=$(my_q "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%osc_test_holder%' AND ID <> CONNECTION_ID()")
        [ -n "$id" ] && my_q "KILL $id" >/dev/null 2>&1
    fi
    [ -n "$HOLDER" ] && wait "$HOLDER" 2>/dev/null
    HOLDER=
}
# whatever ends the test, nothing of osc's stays behind for the next one
leave_clean() {
    release
    "$OSC" cleanup --table t_retry_pg --database "$OSC_PG_URL" >/dev/null 2>&1
    [ -n "${OSC_MY_URL:-}" ] && "$OSC" cleanup --table t_retry_my --database "$OSC_MY_URL" >/dev/null 2>&1
    _lib_cleanup
}
trap leave_clean EXIT

# hold T: an open transaction on T that keeps the swap's lock out; returns
# once the server shows it
hold() {
    if [ "$ENGINE" = pg ]; then
        PGAPPNAME=osc_test_holder psql -X -q -c "BEGIN" -c "LOCK TABLE $1 IN ACCESS SHARE MODE" \
            -c "SELECT pg_sleep(120)" -c "COMMIT" >/dev/null 2>&1 &
    else
        my_q "START TRANSACTION; SELECT COUNT(*) FROM $1 WHERE id = 1; SELECT SLEEP(120) AS osc_test_holder; COMMIT" \
            >/dev/null 2>&1 &
    fi
    HOLDER=$!
    local i
    for ((i = 0; i < 100; i++)); do
        if [ "$ENGINE" = pg ]; then
            [ "$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'osc_test_holder'
                         AND query LIKE '%pg_sleep%'")" -ge 1 ] && return 0
        else
            [ -n "$(my_q "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(120)%' AND ID <> CONNECTION_ID()")" ] && return 0
        fi
        sleep 0.1
    done
    fail "the lock holder did not start"
}

# postponed T ERR ARGS...: osc in the background with the swap postponed;
# returns once the copy is done and the swap waits for the flag
postponed() {
    local t=$1 err=$2
    shift 2
    touch "$TEST_TMP/flag"
    e_osc_bg "$TEST_TMP/osc.out" "$err" --table "$t" --alter "$ALTER" --postpone-cutover "$TEST_TMP/flag" \
        --lock-timeout 100ms "$@"
    wait_for_text "cutover postponed" 60 "$err" \
        || { tail -n 20 "$err" >&2; e_stop_writer; fail "osc did not reach the postponed cutover"; }
}

cutover_retry_test() {
    local T=t_retry_$ENGINE R=t_retry_${ENGINE}_ref err=$TEST_TMP/$ENGINE.a.err
    ALTER=$(e_pick "ADD COLUMN c int DEFAULT 1" "ADD COLUMN c INT DEFAULT 1")
    e_fixture $T $R 5000

    note "--- A. never granted: three attempts, then osc gives up"
    e_start_writer $T $R
    postponed $T "$err" --cutover-retries 3 --log-format text
    hold $T
    # the writer's figures from here on: a fresh writer
    e_stop_writer
    e_start_writer $T $R
    rm -f "$TEST_TMP/flag"
    osc_bg_wait 120
    e_stop_writer
    grep -vE "progress|copy " "$err" | tail -n 25 | sed 's/^/#   osc: /'
    assert_eq 1 "$OSC_BG_RC" "osc's exit status when the swap's lock is never granted"
    grep -q "cutover: the lock on the table was not granted in 3 attempts" "$err" \
        || fail "the failure does not say how many attempts were made"
    grep -q "cutover attempt 1/3: lock not granted.*retrying in" "$err" || fail "no backoff after the first attempt"
    grep -q "cutover attempt 2/3: lock not granted.*retrying in" "$err" || fail "no backoff after the second attempt"
    if grep -q "cutover attempt 3/3" "$err"; then
        fail "osc backed off after its last attempt: $(grep "cutover attempt 3/3" "$err")"
    fi
    local mx waits w
    mx=$(writer_stat max_ms)
    note "the writer's longest transaction while osc tried: ${mx} ms"
    awk -v m="$mx" 'BEGIN { exit !(m + 0 < 600) }' || fail "a writer transaction took ${mx} ms (--lock-timeout 100ms)"
    if [ "$ENGINE" = my ]; then
        waits=$(grep -oE "writers queued behind the request for [0-9.]+ms" "$err" | grep -oE "[0-9.]+ms")
        note "writers queued behind each failed request: $(echo $waits)"
        [ "$(echo "$waits" | wc -w)" -ge 3 ] || fail "the log does not say how long writers queued behind each request"
        for w in $waits; do
            awk -v w="${w%ms}" 'BEGIN { exit !(w + 0 < 400) }' || fail "a lock request held writers for $w (--lock-timeout 100ms)"
        done
    fi
    grep -q "osc cleanup" "$err" || fail "the abort does not point at osc cleanup"
    assert_eq 0 "$(e_has_column $T c)" "$T is the original: no column c"
    e_tables_equal $T $R "$COLS"
    if [ "$ENGINE" = pg ]; then
        assert_eq 0 "$(psql_q "SELECT count(*) FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
                               WHERE n.nspname LIKE '\_osc\_%' AND c.relkind = 'r'")" "osc tables left after the abort"
    else
        assert_eq 0 "$(my_has_table ${T}_osc_new)" "the shadow after the abort"
        assert_eq 1 "$(my_has_table ${T}_osc_log)" "the change log stays while its triggers do"
        assert_eq 3 "$(e_capture_triggers $T)" "the capture triggers the abort could not drop"
    fi
    e_q "$(e_pick "BEGIN; INSERT INTO $T (id, v) VALUES (900000001, 'x'); INSERT INTO $R (id, v) VALUES (900000001, 'x'); COMMIT" \
                  "START TRANSACTION; INSERT INTO $T (id, v) VALUES (900000001, 'x'); INSERT INTO $R (id, v) VALUES (900000001, 'x'); COMMIT")" \
        >/dev/null || fail "$T does not take writes after the abort"
    release
    e_expect_osc 0 cleanup --table $T
    e_no_leftovers $T
    e_tables_equal $T $R "$COLS"

    note "--- B. the holder ends between attempts: osc retries and finishes"
    err=$TEST_TMP/$ENGINE.b.err
    e_start_writer $T $R
    postponed $T "$err" --cutover-retries 100 --log-format json
    hold $T
    rm -f "$TEST_TMP/flag"
    wait_for_text "cutover attempt 2/100" 60 "$err" || { e_stop_writer; fail "osc did not retry the swap"; }
    release
    osc_bg_wait 120
    tail -n 5 "$err" | sed 's/^/#   /'
    [ "$OSC_BG_RC" = 0 ] || { e_stop_writer; fail "osc exited $OSC_BG_RC after the lock was released"; }
    sleep 0.3
    e_stop_writer
    e_alter_ref $R "$ALTER"
    assert_eq 1 "$(e_has_column $T c)" "$T has column c"
    e_tables_equal $T $R "$COLS, c"
    e_no_leftovers $T
}
for_each_engine cutover_retry_test
echo ok
