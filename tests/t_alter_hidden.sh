#!/usr/bin/env bash
# An --alter that renames the table (RENAME TO, RENAME AS, MySQL's RENAME t,
# PostgreSQL's SET SCHEMA, also inside MySQL's /*! ... */) is refused before
# anything is made: it used to leave the renamed, empty shadow behind as a
# new table on MariaDB.  On MariaDB, text the server would execute but osc's
# reading of the ALTER skips (an executable comment, an optimizer hint, a #
# or "--x" comment, a backslash before a quote, a dollar quote) is refused
# (exit 2, nothing changed): `ADD COLUMN x INT /*!, CHANGE COLUMN v v2 ... */`
# renamed a column the copy never mapped, and v2 ended NULL with exit 0.
# The same ALTER written plainly renames v with its values.  On PostgreSQL
# a /*! ... */ is a plain comment, read as the server reads it: the run
# goes on under the writer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_target.sh"
need_osc
need_my
OSC_STRATEGY=copy

# ---- MariaDB --------------------------------------------------------------------------
T=t_hidden R=t_hidden_ref
my_fixture int $T $R 3000
my_q "DROP TABLE IF EXISTS t_hidden_other, other_db_t" >/dev/null
snap=$(my_schema_snapshot)
rows=$(my_state_count $T)
refuse_my() {
    osc_with "$OSC_MY_URL" 2 --table $T --alter "$1"
    said "$2"
    my_untouched $T "$snap" "$rows"
}
# the table renamed: refused before the shadow exists
refuse_my "RENAME TO t_hidden_other" "--alter renames the table \('RENAME TO t_hidden_other'\)"
refuse_my "ADD COLUMN x INT, RENAME AS t_hidden_other" "--alter renames the table"
refuse_my "ADD COLUMN x INT, RENAME t_hidden_other" "--alter renames the table"
refuse_my "ADD COLUMN x INT /*!, RENAME TO t_hidden_other */" "--alter holds an executable comment"
OSC_STRATEGY=auto refuse_my "RENAME TO t_hidden_other" "--alter renames the table"
assert_eq 0 "$(my_has_table t_hidden_other)" "a table named t_hidden_other"
# what the server would execute and osc's reading would not see
refuse_my "ADD COLUMN x INT /*!, CHANGE COLUMN v v2 VARCHAR(64) */" \
    "--alter holds an executable comment /\*! \.\.\. \*/ \(MySQL and MariaDB execute its text\)"
refuse_my "ADD COLUMN x INT /*!100000 , CHANGE COLUMN v v2 VARCHAR(64) */" "--alter holds an executable comment"
refuse_my "ADD COLUMN x INT /*M!100000 , CHANGE COLUMN v v2 VARCHAR(64) */" "--alter holds an executable comment"
refuse_my "ADD COLUMN x INT /*+ NO_RANGE_OPTIMIZATION(t) */" "--alter holds an optimizer hint"
refuse_my "ADD COLUMN x INT DEFAULT 5 --1, CHANGE COLUMN v v2 VARCHAR(64)" "--alter holds .{1,2}--.{1,2} followed by other than a space"
refuse_my $'ADD COLUMN x INT # , CHANGE COLUMN v v2 VARCHAR(64)\n' "--alter holds a # "
refuse_my "ADD COLUMN x VARCHAR(99) DEFAULT 'a\\', CHANGE COLUMN v v2 VARCHAR(64), ADD COLUMN y INT DEFAULT '" \
    "holds a backslash before a quote"
refuse_my 'ADD COLUMN $a$ INT, CHANGE COLUMN v v2 VARCHAR(64), DROP COLUMN $a$' "--alter holds a dollar-quoted string"
osc_with "$OSC_MY_URL" 2 plan --table $T --alter "ADD COLUMN x INT /*!, CHANGE COLUMN v v2 VARCHAR(64) */"
said "executable comment"
assert_eq 1 "$(my_has_column $T v)" "column v after the refusals"

# the same ALTER written plainly: v is renamed with its values
osc_with "$OSC_MY_URL" 0 --table $T --alter "ADD COLUMN x INT, CHANGE COLUMN v v2 VARCHAR(64)"
assert_eq 3000 "$(my_q "SELECT COUNT(*) FROM $T t JOIN $R r USING (id) WHERE t.v2 <=> r.v AND t.x IS NULL")" \
    "rows whose v2 holds the old v"
my_no_osc_leftovers $T
my_q "DROP TABLE ${T}_osc_old" >/dev/null

# ---- PostgreSQL -------------------------------------------------------------------------
T=t_hidden_pg R=t_hidden_pg_ref
osc_state_forget $T
fixture int $T $R 20000
psql_q "SET client_min_messages = warning; DROP TABLE IF EXISTS t_hidden_other; DROP SCHEMA IF EXISTS hidden_elsewhere;
        CREATE SCHEMA hidden_elsewhere" || fail "setup"
snap=$(schema_snapshot)
rows=$(osc_state_rows $T)
for alter in "RENAME TO t_hidden_other" "ADD COLUMN x int, RENAME TO t_hidden_other" "SET SCHEMA hidden_elsewhere"; do
    osc_with "$OSC_PG_URL" 2 --table $T --alter "$alter"
    said "--alter (renames the table|moves the table to another schema)"
    pg_untouched $T "$snap" "$rows"
done
# a /*! ... */ is a comment on PostgreSQL: only ADD COLUMN c runs
migrate_with_writer int $T $R "ADD COLUMN c int DEFAULT 5 /*!, RENAME TO t_hidden_other */"
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 5"
tables_equal $T $R "id, v, n, extra, pad, c"
assert_eq "" "$(psql_q "SELECT to_regclass('t_hidden_other')")" "a table named t_hidden_other"
no_osc_leftovers $T
echo "ok"
