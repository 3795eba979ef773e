#!/usr/bin/env bash
# Running osc unattended (cron):
#  - --log-file FILE: the log is appended there as JSON lines; a successful run
#    prints nothing on stdout or stderr; errors also go to stderr;
#  - hooks --on-success, --on-cutover, --on-failure run through sh -c with
#    OSC_TABLE, OSC_ALTER, OSC_PHASE, OSC_OUTCOME, OSC_EXIT, OSC_REASON,
#    OSC_ROWS_COPIED, OSC_CHANGES_APPLIED, OSC_DURATION_MS; a failing hook is
#    logged and never changes osc's exit status;
#  - osc history [--table T] [--log-format json] lists the runs.
. "$(dirname "$0")/lib.sh"
need_osc
ALTER="ADD COLUMN c int DEFAULT 1"
COLS="id, v, n, extra, pad"
ROWS=20000

# env_of FILE KEY: the value of KEY=... in an env dump
env_of() {
    sed -n "s/^$2=//p" "$1" | head -n 1
}

# ---- --log-file ----
T=t_cron R=t_cron_ref
osc_state_forget $T
fixture int $T $R $ROWS
LOG=$TEST_TMP/cron.log
expect_osc 0 --table $T --alter "$ALTER" --log-file "$LOG"
[ -s "$OSC_OUT" ] && fail "a successful run with --log-file printed on stdout: $(head -n 3 "$OSC_OUT")"
if grep -viE 'error|warning' "$OSC_ERR" | grep -q .; then
    fail "a successful run with --log-file printed on stderr: $(head -n 3 "$OSC_ERR")"
fi
[ -s "$LOG" ] || fail "--log-file $LOG is empty"
lines1=$(json_lines "$LOG") || exit 1
grep -q '"phase":"done"' "$LOG" || fail "the log file has no \"phase\":\"done\" event"
grep '"phase":"done"' "$LOG" | grep -q "migration complete" || fail "the done event does not say 'migration complete'"
note "log file: $lines1 JSON lines"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"
no_osc_leftovers $T
# the same command again: "already done", appended to the same file
head_before=$(head -n "$lines1" "$LOG" | md5sum)
expect_osc 0 --table $T --alter "$ALTER" --log-file "$LOG"
lines2=$(json_lines "$LOG") || exit 1
[ "$lines2" -gt "$lines1" ] || fail "the second run appended nothing to the log file"
assert_eq "$head_before" "$(head -n "$lines1" "$LOG" | md5sum)" "the first run's lines in the log file (append, not truncate)"
tail -n +$((lines1 + 1)) "$LOG" | grep -q "already done" || fail "the second run's log does not say 'already done'"

# ---- hooks on success and at the cutover ----
T=t_cron_h R=t_cron_h_ref
osc_state_forget $T
fixture int $T $R $ROWS
cat >"$TEST_TMP/cutover_hook.sh" <<EOF
env | grep '^OSC_' > "$TEST_TMP/cutover.env"
psql -XAtq -c "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.$T'::regclass AND attname = 'c' AND NOT attisdropped" \
    > "$TEST_TMP/cutover.col" 2>&1
EOF
expect_osc 0 --table $T --alter "$ALTER" --log-format json \
    --on-success "env | grep '^OSC_' > '$TEST_TMP/success.env'" \
    --on-cutover "sh '$TEST_TMP/cutover_hook.sh'"
[ -s "$TEST_TMP/success.env" ] || fail "the --on-success hook did not run"
note "on-success environment:"; grep -E '^OSC_(TABLE|ALTER|PHASE|OUTCOME|EXIT|REASON|ROWS_COPIED|CHANGES_APPLIED|DURATION_MS)=' "$TEST_TMP/success.env" | sed 's/^/#   /'
env_of "$TEST_TMP/success.env" OSC_TABLE | grep -q "$T" || fail "OSC_TABLE does not name $T"
assert_eq "$ALTER" "$(env_of "$TEST_TMP/success.env" OSC_ALTER)" "OSC_ALTER"
assert_eq success "$(env_of "$TEST_TMP/success.env" OSC_OUTCOME)" "OSC_OUTCOME of --on-success"
assert_eq 0 "$(env_of "$TEST_TMP/success.env" OSC_EXIT)" "OSC_EXIT of --on-success"
assert_eq $ROWS "$(env_of "$TEST_TMP/success.env" OSC_ROWS_COPIED)" "OSC_ROWS_COPIED (no writer: every row once)"
grep -qE '^OSC_CHANGES_APPLIED=[0-9]+$' "$TEST_TMP/success.env" || fail "OSC_CHANGES_APPLIED missing or not a number"
grep -qE '^OSC_DURATION_MS=[0-9]+$' "$TEST_TMP/success.env" || fail "OSC_DURATION_MS missing or not a number"
grep -q '^OSC_PHASE=' "$TEST_TMP/success.env" || fail "OSC_PHASE missing"
grep -q '^OSC_REASON=' "$TEST_TMP/success.env" || fail "OSC_REASON missing"
[ -s "$TEST_TMP/cutover.env" ] || fail "the --on-cutover hook did not run"
assert_eq cutover "$(env_of "$TEST_TMP/cutover.env" OSC_OUTCOME)" "OSC_OUTCOME of --on-cutover"
env_of "$TEST_TMP/cutover.env" OSC_TABLE | grep -q "$T" || fail "OSC_TABLE of --on-cutover does not name $T"
assert_eq 1 "$(cat "$TEST_TMP/cutover.col")" "column c visible to the --on-cutover hook (the swap has committed)"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"
no_osc_leftovers $T

# ---- a failing run with a failing --on-failure hook ----
T=t_cron_u R=t_cron_u_ref
osc_state_forget $T
fixture int $T $R $ROWS
psql_q "UPDATE $T SET extra = 77 WHERE id = 500; UPDATE $R SET extra = 77 WHERE id = 500"
LOGU=$TEST_TMP/cron_u.log
run_osc --table $T --alter "ADD CONSTRAINT t_cron_u_extra_key UNIQUE (extra)" --log-file "$LOGU" \
    --on-failure "env | grep '^OSC_' > '$TEST_TMP/failure.env'; exit 7"
[ "$OSC_RC" = 1 ] || fail "the failing run with a failing hook exited $OSC_RC, expected 1"
grep -q 'is duplicated' "$OSC_ERR" || fail "the error is not on stderr (with --log-file)"
grep -q 'is duplicated' "$LOGU" || fail "the error is not in the log file"
cat "$OSC_ERR" "$LOGU" | grep -i 'hook' | grep -qiE 'fail|[^0-9]7([^0-9]|$)' \
    || fail "the log does not say that the --on-failure hook failed (exit 7)"
[ -s "$TEST_TMP/failure.env" ] || fail "the --on-failure hook did not run"
assert_eq failure "$(env_of "$TEST_TMP/failure.env" OSC_OUTCOME)" "OSC_OUTCOME of --on-failure"
assert_eq 1 "$(env_of "$TEST_TMP/failure.env" OSC_EXIT)" "OSC_EXIT of --on-failure"
[ -n "$(env_of "$TEST_TMP/failure.env" OSC_REASON)" ] || fail "OSC_REASON of --on-failure is empty"
tables_equal $T $R "$COLS"
no_osc_leftovers $T

# bad input (exit 2) runs --on-failure too
rm -f "$TEST_TMP/failure.env"
expect_osc 2 --table $T --alter "ADD COLUMN" --on-failure "env | grep '^OSC_' > '$TEST_TMP/failure.env'"
[ -s "$TEST_TMP/failure.env" ] || fail "--on-failure did not run on bad input (exit 2)"
assert_eq 2 "$(env_of "$TEST_TMP/failure.env" OSC_EXIT)" "OSC_EXIT of --on-failure on bad input"

# ---- a failing --on-success hook does not change the exit status ----
T=t_cron_x R=t_cron_x_ref
osc_state_forget $T
fixture int $T $R $ROWS
expect_osc 0 --table $T --alter "$ALTER" --log-format json --on-success 'exit 9'
cat "$OSC_OUT" "$OSC_ERR" | grep -i 'hook' | grep -qiE 'fail|[^0-9]9([^0-9]|$)' \
    || fail "the log does not say that the --on-success hook failed (exit 9)"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 1"
tables_equal $T $R "$COLS, c"

# ---- osc history ----
expect_osc 0 history --table t_cron
grep -q 't_cron' "$OSC_OUT" || fail "osc history --table t_cron does not list t_cron (on stdout)"
grep -q 'done' "$OSC_OUT" || fail "osc history --table t_cron shows no finished run"
grep -qE 't_cron_(h|u|x)' "$OSC_OUT" && fail "osc history --table t_cron lists other tables"
grep -qF "$ALTER" "$OSC_OUT" || fail "osc history does not show the ALTER"
expect_osc 0 history --table t_cron --log-format json
n=$(json_lines "$OSC_OUT") || exit 1
[ "$n" -ge 1 ] || fail "osc history --log-format json printed nothing"
grep -q '"outcome"' "$OSC_OUT" || fail "osc history --log-format json has no \"outcome\""
for k in id table alter started_at finished_at outcome rows_copied duration_ms phase; do
    assert_eq "$n" "$(grep -c "\"$k\":" "$OSC_OUT")" "lines of osc history --log-format json with the key \"$k\""
done
assert_eq t "$(psql_q "SELECT bool_or(l::json ->> 'outcome' = 'done' AND (l::json ->> 'rows_copied')::bigint = $ROWS)
                      FROM regexp_split_to_table($(ql "$(cat "$OSC_OUT")"), E'\n') AS l WHERE l <> ''")" \
    "a history entry with outcome done and rows_copied $ROWS"
expect_osc 0 history
for t in t_cron t_cron_h t_cron_u t_cron_x; do
    grep -q "$t" "$OSC_OUT" || fail "osc history does not list $t"
done
grep 't_cron_u' "$OSC_OUT" | grep -q 'failed' || fail "osc history does not show the failed run of t_cron_u"
echo ok
