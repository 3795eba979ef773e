#!/usr/bin/env bash
# Names the swap needs (PostgreSQL), checked before the copy, never found
# taken after it:
#   1. a table `_T` beside `T`: the new table's array type would be `_T`;
#   2. two 63-byte table names that share 62 bytes (their array types share
#      a name once cut to 63 bytes);
# both migrate (exit 0, under the mirrored writer): the new table is
# renamed in its final schema, where PostgreSQL picks a free array name.
#   3. an index name `_T_pkey_osc_old` left by an earlier migration whose
#      old table was renamed: osc's (by the OID its state row recorded), so
#      the run keeps its original as `_T_osc_old_2`, every index with that
#      suffix; a table under the new table's passing name `_T_osc_new`:
#      refused at preflight (exit 2, naming the name, nothing changed).
. "$(dirname "$0")/lib.sh"
need_osc
ALTER="ALTER COLUMN n TYPE bigint"
COLS="id, v, n, extra, pad"

note "--- 1. a table _T beside T"
T=t_pg_acct R=t_pg_acct_ref
fixture int $T $R 20000
osc_state_forget $T
psql_q "DROP TABLE IF EXISTS _$T; CREATE TABLE _$T (x int); INSERT INTO _$T VALUES (42)" || fail "_$T"
migrate_with_writer int $T $R "$ALTER"
tables_equal $T $R "$COLS"
assert_eq 42 "$(psql_q "SELECT x FROM _$T")" "the table _$T"
no_osc_leftovers $T

note "--- 2. two 63-byte names that share 62 bytes"
BASE=t_pg_long_$(printf 'x%.0s' $(seq 1 52))
A=${BASE}a B=${BASE}b R=t_pg_long_ref
[ ${#A} = 63 ] || fail "the long name has ${#A} bytes"
psql_q "DO \$\$DECLARE r record; BEGIN
          FOR r IN SELECT c.oid::regclass AS t FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
                      AND (c.relname LIKE 't\_pg\_long%' OR c.relname LIKE '\_t\_pg\_long%') LOOP
            EXECUTE 'DROP TABLE ' || r.t || ' CASCADE';
          END LOOP; END\$\$" || fail "drop the long tables"
psql_q "SET client_min_messages = warning;
        CREATE TABLE \"$B\" (id int PRIMARY KEY, v text, n int, extra int NOT NULL DEFAULT 0, pad text);
        CREATE TABLE \"$A\" (id int PRIMARY KEY, v text, n int, extra int NOT NULL DEFAULT 0, pad text);
        CREATE TABLE $R (id int PRIMARY KEY, v text, n int, extra int NOT NULL DEFAULT 0, pad text);
        INSERT INTO \"$A\" SELECT i, md5(i::text), i % 1000, i, 'p' FROM generate_series(1, 20000) i;
        INSERT INTO $R SELECT * FROM \"$A\"" || fail "the long tables"
psql_q "SELECT string_agg(typname, ', ') FROM pg_type WHERE typname LIKE '\_t\_pg\_long%'" | sed 's/^/# array types: /'
osc_state_forget "$A"
migrate_with_writer int "$A" $R "$ALTER"
tables_equal "\"$A\"" $R "$COLS"
psql_q "SELECT count(*) FROM \"$B\"" >/dev/null || fail "the other long table"

note "--- 3. names taken by what an earlier migration left, and by a user's table"
T=t_pg_users R=t_pg_users_ref
fixture int $T $R 5000
osc_state_forget $T
psql_q "DROP TABLE IF EXISTS ${T}_2025, _${T}_osc_old_2" || fail "drop"
expect_osc 0 --table $T --alter "$ALTER"
psql_q "ALTER TABLE _${T}_osc_old RENAME TO ${T}_2025" || fail "rename the old table"
assert_eq "_${T}_pkey_osc_old" "$(psql_q "SELECT indexrelid::regclass FROM pg_index WHERE indrelid = '${T}_2025'::regclass AND indisprimary")" \
    "the renamed old table's primary key index"
expect_osc 0 --table $T --alter "ALTER COLUMN extra TYPE bigint"
assert_eq "_${T}_n_idx_osc_old_2,_${T}_pkey_osc_old_2" \
    "$(psql_q "SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY indexrelid::regclass::text) FROM pg_index
               WHERE indrelid = '_${T}_osc_old_2'::regclass")" "the second old table's indexes"
assert_eq 1 "$(psql_q "SELECT count(*) FROM pg_index WHERE indrelid = '${T}_2025'::regclass AND indisprimary
                       AND indexrelid = '_${T}_pkey_osc_old'::regclass")" "the renamed old table's index, untouched"
no_osc_leftovers $T
psql_q "DROP TABLE _${T}_osc_old_2; ALTER INDEX _${T}_pkey_osc_old RENAME TO ${T}_2025_pkey;
        ALTER INDEX _${T}_n_idx_osc_old RENAME TO ${T}_2025_n_idx" || fail "rename the old indexes"
psql_q "CREATE TABLE _${T}_osc_new (x int)" || fail "_${T}_osc_new"
before=$(schema_snapshot)
expect_osc 2 --table $T --alter "ALTER COLUMN n TYPE int"
grep -q "_${T}_osc_new" "$OSC_ERR" || fail "the refusal does not name _${T}_osc_new"
assert_eq "$before" "$(schema_snapshot)" "schema after the second refusal"
psql_q "DROP TABLE _${T}_osc_new" || fail "drop _${T}_osc_new"
expect_osc 0 --table $T --alter "ALTER COLUMN n TYPE int"
no_osc_leftovers $T
echo ok
