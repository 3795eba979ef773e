#!/usr/bin/env bash
# Readers through a view during the swap (PostgreSQL).  The swap re-creates
# the views over the table; a reader through a view holds the view's lock
# and then waits for the table's.  If the swap locked the table first and
# the view afterwards, every attempt would meet such a reader head-on and
# time out.  osc locks the views first: with 300 SELECTs a second through
# the view (pgbench) and the mirrored writer on the table, the swap
# succeeds, no reader fails, and the view reads the new table.
. "$(dirname "$0")/lib.sh"
need_osc
T=t_pg_viewr R=t_pg_viewr_ref V=t_pg_viewr_v
FLAG=$TEST_TMP/postpone
PGBENCH=${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}
fixture int $T $R 20000
osc_state_forget $T
psql_q "CREATE VIEW $V AS SELECT id, v, extra FROM $T WHERE extra >= 0" || fail "view"
printf '\\set id random(1, 20000)\nSELECT count(*) FROM %s WHERE id = :id;\n' $V >"$TEST_TMP/read.sql"

start_writer int $T $R
sleep 0.3
osc_bg "$TEST_TMP/osc.out" "$TEST_TMP/osc.err" --table $T --alter "ALTER COLUMN n TYPE bigint" \
    --postpone-cutover "$FLAG" --cutover-retries 10 --log-format json
wait_for_text 'cutover postponed' 60 "$TEST_TMP/osc.err" || { stop_writer; fail "the cutover was never postponed"; }
"$PGBENCH" -n -c 2 -R 300 -T 8 -f "$TEST_TMP/read.sql" >"$TEST_TMP/pgbench.out" 2>"$TEST_TMP/pgbench.err" &
BENCH=$!
sleep 1.5
rm -f "$FLAG"
osc_bg_wait 120
# the swap must have happened while the readers were still reading
readers_on=yes
kill -0 $BENCH 2>/dev/null || readers_on=no
wait $BENCH || { cat "$TEST_TMP/pgbench.err" >&2; stop_writer; fail "pgbench failed"; }
sleep 0.3
stop_writer
grep -E 'cutover attempt|swapped' "$TEST_TMP/osc.err" | sed 's/^/#   /'
[ "$OSC_BG_RC" = 0 ] || { tail -n 10 "$TEST_TMP/osc.err" >&2; fail "osc exited $OSC_BG_RC, expected 0"; }
[ $readers_on = yes ] || fail "the swap succeeded only after the readers had stopped"
sed 's/^/#   pgbench: /' "$TEST_TMP/pgbench.out" | grep -E 'processed|failed|tps|latency average'
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$TEST_TMP/pgbench.out")
assert_eq 0 "${failed:-missing}" "readers that failed"
done_tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$TEST_TMP/pgbench.out")
[ "${done_tx:-0}" -ge 1500 ] || fail "the readers did only ${done_tx:-0} SELECTs in 8 s (300/s wanted)"
tables_equal $T $R "id, v, n, extra, pad"
assert_true "EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                      WHERE r.ev_class = '$V'::regclass AND d.refobjid = '$T'::regclass)" "the view reads the new table"
assert_eq "$(psql_q "SELECT count(*) FROM $T WHERE extra >= 0")" "$(psql_q "SELECT count(*) FROM $V")" "rows through the view"
no_osc_leftovers $T
echo ok
