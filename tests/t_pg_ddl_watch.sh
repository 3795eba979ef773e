#!/usr/bin/env bash
# DDL by another session while osc runs (PostgreSQL).  The new table is
# built from the original's definition at the start; a column added (with its
# data), an index or a CHECK constraint created, a column widened mid-run
# would be silently undone by the swap.  osc compares the definition during
# the copy and again under the swap's lock, and stops: exit 1 naming what
# changed, the original intact (with the other session's change) and equal
# to the mirror, nothing of osc left.  The same when someone disables osc's
# capture trigger.  The mirrored writer runs throughout.
. "$(dirname "$0")/lib.sh"
need_osc
ALTER="ALTER COLUMN n TYPE bigint"
COLS="id, v, n, extra, pad, amount"

# setup T R: the fixture with a numeric(10,2) column in both tables
setup() {
    fixture int "$1" "$2" 10000
    psql_q "ALTER TABLE $1 ADD COLUMN amount numeric(10,2) DEFAULT 1.25;
            ALTER TABLE $2 ADD COLUMN amount numeric(10,2) DEFAULT 1.25" || fail "setup $1"
    osc_state_forget "$1"
}

# expect_stop T R REGEX: osc (in the background) exits 1 with REGEX in its
# error; the original equals the mirror; no leftovers
expect_stop() {
    local t=$1 r=$2 re=$3
    osc_bg_wait 120
    [ "$OSC_BG_RC" = 1 ] || { tail -n 20 "$TEST_TMP/$t.err" >&2; stop_writer; fail "osc on $t exited $OSC_BG_RC, expected 1"; }
    grep -qE -- "$re" "$TEST_TMP/$t.err" || { tail -n 5 "$TEST_TMP/$t.err" >&2; stop_writer; fail "the message does not say: $re"; }
    grep -q 'original table is untouched' "$TEST_TMP/$t.err" || { stop_writer; fail "osc did not remove its objects"; }
    sleep 0.3
    stop_writer
    tables_equal "$t" "$r" "$COLS"
    no_osc_leftovers "$t"
    note "stopped as it should: $(grep '"level":"error"' "$TEST_TMP/$t.err" | head -n 1 | sed 's/.*"msg":"\([^"]*\).*/\1/')"
}

# mid_copy NAME SQL REGEX: SQL (on table T, named $T in it) runs once the
# copy is under way
mid_copy() {
    local name=$1 sql=$2 re=$3
    note "--- $name, in the middle of the copy"
    T=t_pg_ddl_$name R=t_pg_ddl_${name}_ref
    setup $T $R
    start_writer int $T $R
    sleep 0.3
    OSC_FAULT=chunk:100 osc_bg "$TEST_TMP/$T.out" "$TEST_TMP/$T.err" --table $T --alter "$ALTER" \
        --chunk-size 500 --chunk-size-max 500 --log-format json
    for _ in $(seq 1 200); do
        [ "$(osc_state $T rows_copied)" -ge 2000 ] 2>/dev/null && break
        sleep 0.05
    done
    [ "$(osc_state $T phase)" = copy ] || { stop_writer; fail "the copy was not under way"; }
    psql_q "${sql//\$T/$T}" || { stop_writer; fail "$name: the DDL failed"; }
    expect_stop $T $R "$re"
}

mid_copy column "ALTER TABLE \$T ADD COLUMN c int DEFAULT 5" 'column c added \(integer default 5'
assert_eq t "$(has_column t_pg_ddl_column c)" "the added column is still on the original"
mid_copy index "CREATE INDEX t_pg_ddl_index_v_idx ON \$T (v)" 'index t_pg_ddl_index_v_idx added'
mid_copy check "ALTER TABLE \$T ADD CONSTRAINT extra_positive CHECK (extra >= 0)" 'constraint extra_positive added \(CHECK'
mid_copy widen "ALTER TABLE \$T ALTER COLUMN amount TYPE numeric(12,4)" \
    'column amount changed: numeric\(10,2\).* -> numeric\(12,4\)'
mid_copy trigger "ALTER TABLE \$T DISABLE TRIGGER ALL" "capture trigger _osc_[a-z]+ was disabled"

note "--- an index created just before the swap takes its lock"
T=t_pg_ddl_swap R=t_pg_ddl_swap_ref
setup $T $R
start_writer int $T $R
sleep 0.3
# osc waits before its lock until the index exists, however slow the machine
OSC_FAULT=swap-before-lock:$TEST_TMP/go osc_bg "$TEST_TMP/$T.out" "$TEST_TMP/$T.err" --table $T --alter "$ALTER" --log-format json
wait_for_text 'waiting at swap-before-lock' 60 "$TEST_TMP/$T.err" || { stop_writer; fail "the swap never started"; }
psql_q "CREATE INDEX t_pg_ddl_swap_v_idx ON $T (v)" || { stop_writer; fail "create index"; }
touch "$TEST_TMP/go"
expect_stop $T $R 'index t_pg_ddl_swap_v_idx added'
echo ok
