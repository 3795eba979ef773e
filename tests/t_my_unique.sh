#!/usr/bin/env bash
# MariaDB: a new UNIQUE key over duplicate data must fail with the duplicate
# named, never drop a row: exit 1, the original untouched and equal to the
# mirror, nothing of osc left.
#  (a) the duplicates exist before the run;
#  (b) the duplicates are written (into T and R, in one transaction) while osc
#      copies in small chunks: one duplicates a row the copy has passed, one a
#      row it has not reached yet.
. "$(dirname "$0")/lib.sh"
need_osc
need_my

# ---- (a) existing duplicates --------------------------------------------------
T=t_my_uniq R=t_my_uniq_ref
my_fixture int $T $R 20000
# the fixture has extra = id: rows 77 and 500 now share extra = 77
my_q "UPDATE $T SET extra = 77 WHERE id = 500; UPDATE $R SET extra = 77 WHERE id = 500" \
    || fail "setup (a)"
run_osc_my --table $T --alter "ADD UNIQUE KEY uq_extra (extra)"
[ "$OSC_RC" = 1 ] || fail "(a) osc exited $OSC_RC, expected 1"
grep -q '77' "$OSC_ERR" || fail "(a) the message does not name the duplicate value 77"
grep -Eq 'uq_extra|Duplicate entry' "$OSC_ERR" || fail "(a) the message names neither the key uq_extra nor 'Duplicate entry'"
assert_eq 0 "$(my_has_index $T uq_extra)" "(a) no index uq_extra on $T"
assert_eq 2 "$(my_q "SELECT COUNT(*) FROM $T WHERE extra = 77")" "(a) both duplicate rows are still there"
my_tables_equal $T $R "*"
my_no_osc_leftovers $T

# ---- (b) duplicates written during the copy -------------------------------------
T=t_my_uniq2 R=t_my_uniq2_ref
my_fixture int $T $R 100000
v_early=$(my_q "SELECT v FROM $T WHERE id = 10")
v_late=$(my_q "SELECT v FROM $T WHERE id = 99990")
osc_err=$TEST_TMP/osc_b.err
osc_out=$TEST_TMP/osc_b.out
"$OSC" --strategy copy --table $T --alter "ADD UNIQUE KEY uq_v (v)" --chunk-size 100 --chunk-size-max 100 \
    --database "$OSC_MY_URL" >"$osc_out" 2>"$osc_err" &
osc_pid=$!
note "(b) osc running (pid $osc_pid); waiting for the copy to start"
# the shadow is T_osc_new on MySQL (_T_osc_new is accepted here too,
# so that this wait does not hide the real failure)
started=0 shadow=
for _ in $(seq 1 500); do
    kill -0 $osc_pid 2>/dev/null || break
    [ -n "$shadow" ] || shadow=$(my_q "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'osctest'
                                       AND TABLE_NAME IN ('_${T}_osc_new', '${T}_osc_new') LIMIT 1")
    if [ -n "$shadow" ] && [ "$(my_q "SELECT COUNT(*) >= 100 FROM \`$shadow\`" 2>/dev/null)" = 1 ]; then
        started=1
        break
    fi
    sleep 0.02
done
if [ "$started" != 1 ]; then
    kill -KILL $osc_pid 2>/dev/null; rc=0; wait $osc_pid || rc=$?
    tail -n 20 "$osc_err" >&2
    fail "(b) osc (exit $rc) never showed a copy in progress (_${T}_osc_new with 100 rows)"
fi
# the application writes the duplicates: these must succeed
my_q "START TRANSACTION;
      INSERT INTO $T (id, v, n) VALUES (900000001, '$v_early', 1);
      INSERT INTO $R (id, v, n) VALUES (900000001, '$v_early', 1);
      COMMIT" || fail "(b) the application's INSERT of a duplicate v (of a copied row) failed while osc ran"
my_q "START TRANSACTION;
      INSERT INTO $T (id, v, n) VALUES (900000002, '$v_late', 2);
      INSERT INTO $R (id, v, n) VALUES (900000002, '$v_late', 2);
      COMMIT" || fail "(b) the application's INSERT of a duplicate v (of a row not yet copied) failed while osc ran"
note "(b) inserted duplicates of v=$v_early and v=$v_late"
kill -0 $osc_pid 2>/dev/null || note "(b) warning: osc had already exited when the duplicates were written"
rc=0
for _ in $(seq 1 600); do kill -0 $osc_pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $osc_pid 2>/dev/null; then
    kill -KILL $osc_pid
    wait $osc_pid 2>/dev/null
    fail "(b) osc still running after 60 s"
fi
wait $osc_pid || rc=$?
note "(b) osc exited $rc"
tail -n 15 "$osc_err" | sed 's/^/#   err: /'
grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$osc_err" && fail "(b) sanitizer report from osc"
[ "$rc" = 1 ] || fail "(b) osc exited $rc, expected 1"
grep -Eq "$v_early|$v_late" "$osc_err" || fail "(b) the message does not name the duplicate value ($v_early or $v_late)"
assert_eq 0 "$(my_has_index $T uq_v)" "(b) no index uq_v on $T"
assert_eq 2 "$(my_q "SELECT COUNT(*) FROM $T WHERE v = '$v_early'")" "(b) both rows with v=$v_early"
assert_eq 2 "$(my_q "SELECT COUNT(*) FROM $T WHERE v = '$v_late'")" "(b) both rows with v=$v_late"
my_tables_equal $T $R "*"
my_no_osc_leftovers $T
echo "ok"
