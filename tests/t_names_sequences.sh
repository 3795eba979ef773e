#!/usr/bin/env bash
# After the swap the new table carries the original names: indexes, PK,
# UNIQUE, CHECK and NOT NULL constraints, and the serial sequence, which the
# new table now owns (so dropping the old table cannot take it away).  The
# ALTER can name an existing constraint (here: drop the UNIQUE one, which
# only works because the shadow's constraints have the original names).
. "$(dirname "$0")/lib.sh"
need_osc
T=t_names
psql_q "SET client_min_messages = warning; DROP TABLE IF EXISTS $T, _${T}_osc_old CASCADE;
    CREATE TABLE $T (id serial PRIMARY KEY, email text CONSTRAINT t_names_email_key UNIQUE,
                     code text NOT NULL, qty int CONSTRAINT t_names_qty_check CHECK (qty >= 0));
    CREATE UNIQUE INDEX t_names_code_uidx ON $T (code);
    CREATE INDEX t_names_lower_email_idx ON $T (lower(email)) WHERE email IS NOT NULL;
    INSERT INTO $T (email, code, qty) SELECT 'u' || i || '@x', 'c' || i, i % 50 FROM generate_series(1, 20000) i;
    SELECT setval('t_names_id_seq', 25000);" >/dev/null
indexes_before=$(psql_q "SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY indexrelid::regclass::text) FROM pg_index
                         WHERE indrelid = '$T'::regclass AND indexrelid::regclass::text <> 't_names_email_key'")
expect_osc 0 --table $T --alter "DROP CONSTRAINT t_names_email_key, ADD COLUMN note text"
indexes_after=$(psql_q "SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY indexrelid::regclass::text) FROM pg_index
                        WHERE indrelid = '$T'::regclass")
assert_eq "$indexes_before" "$indexes_after" "index names"
assert_true "NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '$T'::regclass AND conname = 't_names_email_key')" \
    "the dropped UNIQUE constraint is gone"
assert_eq "t_names_pkey,t_names_qty_check" \
    "$(psql_q "SELECT string_agg(conname, ',' ORDER BY conname) FROM pg_constraint WHERE conrelid = '$T'::regclass")" \
    "constraint names"
assert_true "(SELECT indisvalid FROM pg_index WHERE indexrelid = 't_names_lower_email_idx'::regclass)" \
    "the partial expression index is valid"
assert_eq "public.t_names_id_seq" "$(psql_q "SELECT pg_get_serial_sequence('$T', 'id')")" "the serial sequence"
psql_q "DROP TABLE _${T}_osc_old" || fail "the old table cannot be dropped without CASCADE"
assert_eq 25001 "$(psql_q "INSERT INTO $T (email, code, qty) VALUES ('new@x', 'cnew', 1) RETURNING id")" \
    "the next id continues the sequence"
assert_true "(SELECT count(*) = 20001 FROM $T)" "row count"
expect_osc 0 --table $T --alter "ADD COLUMN note2 text" --drop-old-table
assert_true "to_regclass('_${T}_osc_old') IS NULL" "--drop-old-table dropped the old table"
assert_eq 25002 "$(psql_q "INSERT INTO $T (email, code, qty) VALUES ('new2@x', 'cnew2', 1) RETURNING id")" \
    "the sequence survives --drop-old-table"
no_osc_leftovers $T
echo ok
