#!/usr/bin/env bash
# --metrics HOST:PORT serves /metrics in Prometheus's text format while the
# run goes on (libevent's evhttp, on the control loop), scraped with curl
# during the run.  On PostgreSQL and MariaDB, under the mirrored writer:
#  - held by its pause file: the run's info, phase copy, rows total, the
#    replica's lag, throttled with the pause file as the reason;
#  - the copy done, the swap postponed: rows copied = rows total, replayed
#    changes, postponed, no cutover attempt yet;
#  - after osc cutover the run ends with its endpoint; other paths are 404;
#  - an address that cannot be used (malformed, or a port already taken) is
#    bad input: exit 2, nothing made.
# The result equals the mirror.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
command -v curl >/dev/null || fail "curl is needed to scrape the metrics"
PORT=$((OSC_PG_PORT + 50))
ADDR=127.0.0.1:$PORT
URL=http://$ADDR/metrics

# a failed test: the run stops and what it made is removed
stop_run() {
    local rc=$?
    if [ "$rc" != 0 ] && [ -n "${OSC_BG_PID:-}" ] && kill -0 "$OSC_BG_PID" 2>/dev/null; then
        kill -TERM "$OSC_BG_PID" 2>/dev/null
        wait "$OSC_BG_PID" 2>/dev/null
        e_q "SELECT 1" >/dev/null 2>&1 && "$OSC" cleanup --table "t_met_$ENGINE" --database "$ENG_URL" >/dev/null 2>&1
    fi
    ctl_cleanup "$rc"
}
trap stop_run EXIT

# metric SCRAPE NAME{LABELS}: the value of one series (empty when absent)
metric() { grep -F -- "$2 " "$1" | grep -v '^#' | head -n 1 | awk '{print $NF}'; }

# scrape_until FILE GREP-PATTERN: scrapes into FILE until it matches (30 s)
scrape_until() {
    for _ in $(seq 1 300); do
        curl -sf "$URL" >"$1" 2>/dev/null && grep -qE -- "$2" "$1" && return 0
        kill -0 "$OSC_BG_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$1" >&2
    fail "no scrape matched /$2/"
}

metrics_test() {
    local T=t_met_$ENGINE R=t_met_${ENGINE}_ref PAUSE=$TEST_TMP/pause POSTPONE=$TEST_TMP/postpone S=$TEST_TMP/scrape
    local replica=(--replica "$OSC_PG_REPLICA_URL")
    [ "$ENGINE" = my ] && replica=()
    e_fixture $T $R 3000
    e_start_writer $T $R
    : >"$PAUSE"
    e_osc_bg "$TEST_TMP/o.out" "$TEST_TMP/o.err" --table $T --alter "ADD COLUMN c int DEFAULT 5" --log-format json \
        --pause-file "$PAUSE" --postpone-cutover "$POSTPONE" --metrics "$ADDR" --chunk-size 500 "${replica[@]}"

    scrape_until "$S" '^osc_phase\{phase="copy"\} 1$'
    grep -qE '^osc_throttle_reason\{reason="the pause file .*pause exists"\} 1$' "$S" || fail "no throttle reason"
    grep -q '^# TYPE osc_rows_copied gauge$' "$S" || fail "no TYPE line"
    grep -qE "^osc_info\{run_id=\"[0-9a-f]{16}\",engine=\"$(e_pick postgresql mysql)\",host=\"127.0.0.1\",database=\"osctest\",table=\"$T\"\} 1$" \
        "$S" || fail "no osc_info of the run"
    assert_eq 1 "$(metric "$S" 'osc_phase{phase="copy"}')" "osc_phase copy"
    assert_eq 0 "$(metric "$S" 'osc_phase{phase="cutover"}')" "osc_phase cutover"
    assert_eq 1 "$(metric "$S" osc_throttled)" "osc_throttled"
    [ "$(metric "$S" osc_rows_total)" -ge 2000 ] || fail "osc_rows_total: $(metric "$S" osc_rows_total)"
    grep -qE "^osc_replica_lag_seconds\{replica=\"127.0.0.1:$ENG_REPLICA_PORT\"\} ([0-9.e+-]+|NaN)$" "$S" \
        || fail "no lag of the replica"
    grep -q 'osc_cutover_attempts_total 0' "$S" || fail "cutover attempts before the swap"
    grep -q '^osc_verify_mismatches_total 0$' "$S" || fail "verify mismatches"
    assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/")" "another path"

    rm -f "$PAUSE"
    scrape_until "$S" '^osc_postponed 1$'
    assert_eq "$(metric "$S" osc_rows_total)" "$(metric "$S" osc_rows_copied)" "rows copied, the copy done"
    assert_eq 0 "$(metric "$S" osc_throttled)" "osc_throttled after the pause"
    [ "$(metric "$S" osc_changes_replayed_total)" -gt 0 ] || fail "no replayed changes under the writer"
    awk '$1 == "osc_throttled_seconds_total" && $2 > 0 { ok = 1 } END { exit !ok }' "$S" || fail "no throttled time"
    ctl cutover --table $T >/dev/null || fail "osc cutover"
    osc_bg_wait 120
    assert_eq 0 "$OSC_BG_RC" "exit status of the run"
    curl -sf "$URL" >/dev/null 2>&1 && fail "the endpoint outlived the run"
    e_stop_writer
    e_alter_ref $R "ADD COLUMN c int DEFAULT 5"
    e_tables_equal $T $R "id, v, n, extra, pad, c"
    e_no_leftovers $T

    # bad addresses: nothing made (without the old table, which alone
    # would stop a second run)
    e_q "DROP TABLE $(e_old_table $T)" >/dev/null || fail "drop the old table"
    local before
    before=$(e_schema_snapshot)
    e_expect_osc 2 --table $T --alter "ADD COLUMN d int" --metrics nonsense
    grep -q -- "--metrics: expected HOST:PORT" "$OSC_ERR" || fail "a malformed address not explained"
    python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); open(sys.argv[2], "w").close(); time.sleep(30)' \
        "$PORT" "$TEST_TMP/taken" &
    local holder=$!
    for _ in $(seq 1 100); do [ -e "$TEST_TMP/taken" ] && break; sleep 0.05; done
    [ -e "$TEST_TMP/taken" ] || fail "could not take port $PORT"
    e_expect_osc 2 --table $T --alter "ADD COLUMN d int" --metrics "$ADDR"
    kill $holder 2>/dev/null
    wait $holder 2>/dev/null
    grep -q -- "--metrics $ADDR: cannot listen there" "$OSC_ERR" || fail "a taken port not explained"
    assert_eq "$before" "$(e_schema_snapshot)" "the schema after refused runs"
    e_no_leftovers $T
    rm -f "$POSTPONE" "$TEST_TMP/taken"
}

for_each_engine metrics_test
echo ok
