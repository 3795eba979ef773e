#!/usr/bin/env bash
# osc ps lists the migrations running on this host, whatever URL spelling
# started them: two runs at once (PostgreSQL, started with a key=value
# string and its socket under XDG_RUNTIME_DIR; MariaDB, started without
# XDG_RUNTIME_DIR as from cron, its socket under $TMPDIR/osc-<uid>), both
# paused with osc pause so that they are there when listed.  osc ps shows
# each with its pid, table, phase, progress, state and socket, as text and
# as JSON lines; once both are done it says nothing runs, and osc status
# says so before the last stored state.  The PostgreSQL table is written by
# the mirrored writer all along and ends equal to its mirror.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
need_my
command -v jq >/dev/null || fail "jq is needed to read osc ps's JSON lines"
T1=t_ps_pg R1=t_ps_pg_ref T2=t_ps_my R2=t_ps_my_ref
ALTER="ADD COLUMN c int DEFAULT 5"
# private socket directories: other runs of this user on the host stay out
export TMPDIR=$TEST_TMP/tmp
XDG=$TEST_TMP/xdg
mkdir -m 700 "$TMPDIR" "$XDG"
PG_KV="host=127.0.0.1 port=$OSC_PG_PORT dbname=osctest user=postgres"
P1=$TEST_TMP/pause1 P2=$TEST_TMP/pause2
PID1= PID2=

eng_use my
e_fixture $T2 $R2 3000
eng_use pg
e_fixture $T1 $R1 3000
start_writer int $T1 $R1
: >"$P1"
: >"$P2"
XDG_RUNTIME_DIR=$XDG "$OSC" --table $T1 --alter "$ALTER" --database "$PG_KV" --strategy copy --pause-file "$P1" \
    --log-format json >"$TEST_TMP/o1.out" 2>"$TEST_TMP/o1.err" &
PID1=$!
env -u XDG_RUNTIME_DIR "$OSC" --table $T2 --alter "$ALTER" --database "$OSC_MY_URL" --strategy copy \
    --pause-file "$P2" --log-format json >"$TEST_TMP/o2.out" 2>"$TEST_TMP/o2.err" &
PID2=$!
# a failed test: the runs stop, and what they made is removed for the next test
kill_runs() {
    local rc=$?
    if [ -n "$PID1$PID2" ]; then
        for p in $PID1 $PID2; do kill -TERM "$p" 2>/dev/null; done
        for p in $PID1 $PID2; do wait "$p" 2>/dev/null; done
        "$OSC" cleanup --table $T1 --database "$OSC_PG_URL" >/dev/null 2>&1
        "$OSC" cleanup --table $T2 --database "$OSC_MY_URL" >/dev/null 2>&1
    fi
    ctl_cleanup "$rc"
}
trap kill_runs EXIT

# st T URL [env...]: the run's status (JSON)
st() {
    local t=$1 url=$2
    shift 2
    env "$@" "$OSC" status --table "$t" --database "$url" --log-format json 2>/dev/null
}
for _ in $(seq 1 300); do
    st $T1 "$OSC_PG_URL" XDG_RUNTIME_DIR=$XDG | grep -q '"throttle_reason":"the pause file' &&
        st $T2 "$OSC_MY_URL" -u XDG_RUNTIME_DIR | grep -q '"throttle_reason":"the pause file' && break
    sleep 0.1
done
st $T2 "$OSC_MY_URL" -u XDG_RUNTIME_DIR | grep -q '"throttle_reason":"the pause file' || fail "run 2 is not held"
# the pause control, through other spellings of the same targets
XDG_RUNTIME_DIR=$XDG "$OSC" pause --table $T1 --database "$OSC_PG_URL" | grep -q "^ok: paused" || { grep -v progress "$TEST_TMP/o1.err" | tail -5; fail "pause 1"; }
env -u XDG_RUNTIME_DIR "$OSC" pause --table osctest.$T2 --database "mariadb://root@127.0.0.1:$OSC_MY_PORT/osctest" \
    | grep -q '^ok: paused' || fail "pause 2"
rm -f "$P1" "$P2"

# text
XDG_RUNTIME_DIR=$XDG "$OSC" ps --log-format text >"$TEST_TMP/ps.txt" || fail "osc ps failed"
cat "$TEST_TMP/ps.txt"
head -n 1 "$TEST_TMP/ps.txt" | grep -qE '^PID +PHASE +PROGRESS +STATE +TARGET +SOCKET$' || fail "no header"
assert_eq 3 "$(wc -l <"$TEST_TMP/ps.txt")" "lines of osc ps (a header and two runs)"
grep -qE "^$PID1 +copy +[0-9]+/[0-9]+ \([0-9.]+%\) +paused \(osc pause\) +postgresql 127.0.0.1:$OSC_PG_PORT/osctest $T1  $XDG/osc-[0-9a-f]+\.sock$" \
    "$TEST_TMP/ps.txt" || fail "osc ps does not show run 1 as expected"
grep -qE "^$PID2 +[a-z-]+ +[0-9]+/[0-9]+ \([0-9.]+%\) +paused \(osc pause\) +mysql 127.0.0.1:$OSC_MY_PORT/osctest $T2  $TMPDIR/osc-$(id -u)/osc-[0-9a-f]+\.sock$" \
    "$TEST_TMP/ps.txt" || fail "osc ps does not show run 2 as expected"

# JSON lines
XDG_RUNTIME_DIR=$XDG "$OSC" ps --log-format json >"$TEST_TMP/ps.json" || fail "osc ps (json) failed"
assert_eq 2 "$(jq -s length "$TEST_TMP/ps.json")" "JSON lines of osc ps"
assert_eq "$PID1|postgresql|osctest|copy|paused (osc pause)|true" \
    "$(jq -r --arg t $T1 'select(.table == $t) | [.pid, .engine, .database, .phase, .state, (.socket | test("^'"$XDG"'/osc-"))] | join("|")' "$TEST_TMP/ps.json")" \
    "run 1 in osc ps's JSON"
assert_eq "$PID2|mysql|true" \
    "$(jq -r --arg t $T2 'select(.table == $t) | [.pid, .engine, (.rows_estimate > 0)] | join("|")' "$TEST_TMP/ps.json")" \
    "run 2 in osc ps's JSON"
# without XDG_RUNTIME_DIR, only $TMPDIR/osc-<uid> is looked in
env -u XDG_RUNTIME_DIR "$OSC" ps --log-format json >"$TEST_TMP/ps2.json"
assert_eq "$T2" "$(jq -r .table "$TEST_TMP/ps2.json")" "osc ps without XDG_RUNTIME_DIR"

XDG_RUNTIME_DIR=$XDG "$OSC" resume --table $T1 --database "$PG_KV" >/dev/null || fail "resume 1"
env -u XDG_RUNTIME_DIR "$OSC" resume --table $T2 --database "$OSC_MY_URL" >/dev/null || fail "resume 2"
rc1=0 rc2=0
wait $PID1 || rc1=$?
wait $PID2 || rc2=$?
PID1= PID2=
assert_eq 0 "$rc1" "exit status of run 1"
assert_eq 0 "$rc2" "exit status of run 2"

XDG_RUNTIME_DIR=$XDG "$OSC" ps --log-format text >"$TEST_TMP/ps.txt"
assert_eq "no osc migration is running on this host" "$(tail -n 1 "$TEST_TMP/ps.txt")" "osc ps with nothing running"
XDG_RUNTIME_DIR=$XDG "$OSC" status --table $T1 --database "$OSC_PG_URL" --log-format text >"$TEST_TMP/s.out" 2>"$TEST_TMP/s.err" \
    || fail "osc status with nothing running failed"
grep -q "^osc: no migration of $T1 is running on this host; its last recorded state:$" "$TEST_TMP/s.err" \
    || fail "osc status does not say nothing runs: $(cat "$TEST_TMP/s.err")"
grep -q 'done' "$TEST_TMP/s.out" || fail "osc status does not show the last state: $(cat "$TEST_TMP/s.out")"

stop_writer
psql_q "ALTER TABLE $R1 $ALTER"
tables_equal $T1 $R1 "id, v, n, extra, pad, c"
no_osc_leftovers $T1
eng_use my
e_alter_ref $R2 "$ALTER"
e_tables_equal $T2 $R2 "id, v, n, extra, pad, c"
e_no_leftovers $T2
echo ok
