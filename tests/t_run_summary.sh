#!/usr/bin/env bash
# The run's JSON lines, for log shippers and cron: every line carries the
# run id and the target (engine, host, database, table), and the run ends
# with one `summary` event (outcome, exit code, rows copied, changes
# replayed, lock time, cutover attempts, verification, duration per phase).
# Hooks get the same run id and target, and the phase a failure happened in.
# On PostgreSQL and MariaDB, each under the concurrent mirrored writer:
#  1. a run that succeeds: the summary says done, exit 0, rows and changes,
#     one cutover attempt, verification passed, per-phase durations that add
#     up to no more than the whole; the new table equals the mirror;
#  2. a run that fails (OSC_FAULT=corrupt-shadow:always: verification finds
#     the copy damaged twice): the summary says failed, exit 1, in phase
#     copy, verification failed with 2 mismatches; the --on-failure hook
#     gets OSC_RUN_ID, OSC_HOST, OSC_DBNAME and OSC_FAILED_PHASE; nothing of
#     osc is left and the original equals the mirror.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc
command -v jq >/dev/null || fail "jq is needed to read the JSON lines"
COLS="id, v, n, extra, pad"
ROWS=3000
ALTER="ADD COLUMN c int NOT NULL DEFAULT 7"

# every_line_has FILE: each line is a JSON object naming one run and the target
every_line_has() {
    local f=$1 db=$2 table=$3 n ids
    jq -e . "$f" >/dev/null || fail "$f: not JSON lines"
    n=$(jq -s 'length' "$f")
    [ "$n" -ge 5 ] || fail "only $n JSON lines"
    ids=$(jq -r '.run_id' "$f" | sort -u)
    [ "$(wc -l <<<"$ids")" = 1 ] || fail "more than one run id: $ids"
    [[ $ids =~ ^[0-9a-f]{16}$ ]] || fail "run id '$ids' is not 16 hex digits"
    assert_eq 0 "$(jq -s --arg e "$(e_pick postgresql mysql)" --arg h 127.0.0.1 --arg d "$db" --arg t "$table" \
        '[.[] | select(.engine != $e or .host != $h or .database != $d or .table != $t)] | length' "$f")" \
        "lines without the engine, host, database or table"
    RUN_ID=$ids
}

summary_test() {
    local T=t_sum_$ENGINE R=t_sum_${ENGINE}_ref s
    local HOOK="env | grep -E '^OSC_(RUN_ID|HOST|PORT|DBNAME|ENGINE|FAILED_PHASE|PHASE|OUTCOME)=' >$TEST_TMP/hook-$ENGINE.env"

    note "---- 1. a run that succeeds"
    e_fixture $T $R $ROWS
    e_migrate_with_writer int $T $R "$ALTER" --chunk-size 500 --log-format json --on-success "$HOOK"
    every_line_has "$OSC_ERR" osctest $T
    assert_eq 1 "$(jq -s '[.[] | select(.event == "summary")] | length' "$OSC_ERR")" "summary events"
    assert_eq summary "$(tail -n 1 "$OSC_ERR" | jq -r .event)" "the last line's event"
    s=$(tail -n 1 "$OSC_ERR")
    assert_eq done "$(jq -r .outcome <<<"$s")" "outcome"
    assert_eq 0 "$(jq -r .exit_code <<<"$s")" "exit_code"
    assert_eq true "$(jq '.rows_copied >= 3000' <<<"$s")" "rows_copied >= 3000: $s"
    assert_eq true "$(jq '.changes_replayed > 0' <<<"$s")" "changes replayed under the writer: $s"
    assert_eq 1 "$(jq -r .cutover_attempts <<<"$s")" "cutover_attempts"
    assert_eq true "$(jq '.lock_ms >= 0 and .lock_ms < 10000' <<<"$s")" "lock_ms: $s"
    assert_eq passed "$(jq -r .verification.result <<<"$s")" "verification.result"
    assert_eq 0 "$(jq -r .verification.mismatches <<<"$s")" "verification.mismatches"
    for p in preflight shadow capture copy index catch-up cutover cleanup; do
        assert_eq number "$(jq -r --arg p $p '.phases_ms[$p] | type' <<<"$s")" "phases_ms.$p"
    done
    assert_eq true "$(jq '([.phases_ms[]] | add) <= .duration_ms + 5' <<<"$s")" "phases add up to at most the whole: $s"
    # where the copy's time went: every chunk counted (the checksums say how many)
    assert_eq 2 "$(jq -r .copy.threads <<<"$s")" "copy.threads (the default)"
    assert_eq true "$(jq '.copy.chunks == .verification.chunks and .copy.chunks > 1' <<<"$s")" "copy.chunks: $s"
    for p in bound insert compare checkpoint commit; do
        assert_eq true "$(jq --arg p ${p}_ms '.copy[$p] >= 0' <<<"$s")" "copy.${p}_ms"
    done
    assert_eq true "$(jq '.copy.insert_ms + .copy.compare_ms > 0' <<<"$s")" "copy time measured: $s"
    assert_eq null "$(jq -r .failed_phase <<<"$s")" "no failed phase on success"
    grep -q "^OSC_RUN_ID=$RUN_ID\$" "$TEST_TMP/hook-$ENGINE.env" || fail "the hook's OSC_RUN_ID is not the log's"
    grep -q '^OSC_HOST=127.0.0.1$' "$TEST_TMP/hook-$ENGINE.env" || fail "the hook has no OSC_HOST"
    grep -q '^OSC_DBNAME=osctest$' "$TEST_TMP/hook-$ENGINE.env" || fail "the hook has no OSC_DBNAME"
    grep -q '^OSC_FAILED_PHASE=$' "$TEST_TMP/hook-$ENGINE.env" || fail "a failed phase on success"
    e_alter_ref $R "$ALTER"
    e_tables_equal $T $R "$COLS, c"
    e_no_leftovers $T

    note "---- 2. a run that fails in verification"
    e_fixture $T $R $ROWS
    e_start_writer $T $R
    sleep 0.5
    OSC_FAULT=corrupt-shadow:always e_run_osc --table $T --alter "$ALTER" --chunk-size 500 --log-format json \
        --on-failure "$HOOK"
    local rc=$OSC_RC
    sleep 0.5
    e_stop_writer
    assert_eq 1 "$rc" "exit status of the damaged run"
    every_line_has "$OSC_ERR" osctest $T
    s=$(tail -n 1 "$OSC_ERR")
    assert_eq summary "$(jq -r .event <<<"$s")" "the last line's event"
    assert_eq failed "$(jq -r .outcome <<<"$s")" "outcome"
    assert_eq 1 "$(jq -r .exit_code <<<"$s")" "exit_code"
    assert_eq copy "$(jq -r .failed_phase <<<"$s")" "failed_phase"
    assert_eq failed "$(jq -r .verification.result <<<"$s")" "verification.result"
    assert_eq 2 "$(jq -r .verification.mismatches <<<"$s")" "verification.mismatches"
    assert_eq 0 "$(jq -r .cutover_attempts <<<"$s")" "cutover_attempts"
    jq -r .error <<<"$s" | grep -q '^verification: the copy of keys' || fail "the summary's error: $s"
    grep -q "^OSC_RUN_ID=$RUN_ID\$" "$TEST_TMP/hook-$ENGINE.env" || fail "the failure hook's OSC_RUN_ID is not the log's"
    grep -q '^OSC_FAILED_PHASE=copy$' "$TEST_TMP/hook-$ENGINE.env" || fail "the failure hook's OSC_FAILED_PHASE"
    grep -q "^OSC_ENGINE=$(e_pick postgresql mysql)\$" "$TEST_TMP/hook-$ENGINE.env" || fail "the hook's OSC_ENGINE"
    e_tables_equal $T $R "$COLS"
    e_no_leftovers $T
}

for_each_engine summary_test
echo ok
