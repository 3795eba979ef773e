#!/usr/bin/env bash
# MariaDB, a TIMESTAMP primary key while the server's time zone has daylight
# saving (time_zone = 'Europe/Berlin'): one row per second across the autumn
# fall-back hour (21,600 rows, 2023-10-28 22:00 to 2023-10-29 04:00 UTC), the
# mirrored writer (kind timestamp: its session in UTC) changing rows
# throughout. In Berlin time the repeated hour 02:00-03:00 prints twice, so a
# key read in local time and given back as a literal names the wrong row: the
# old code copied 18,288 of 21,600 rows and exited 0, "verified". osc's
# sessions now work in UTC; the new table must equal the mirror row for row
# (compared by UNIX_TIMESTAMP, which no zone changes).
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_my_tskey R=t_my_tskey_ref
COLS="UNIX_TIMESTAMP(id), v, n, extra, pad"

tz0=$(my_q "SELECT @@GLOBAL.time_zone") || fail "cannot read the global time zone"
restore_tz() { my_q "SET GLOBAL time_zone = $(my_ql "$tz0")" >/dev/null 2>&1; }
trap 'restore_tz; _lib_cleanup' EXIT
[ "$(my_q "SELECT COUNT(*) FROM mysql.time_zone_name WHERE Name = 'Europe/Berlin'")" = 1 ] \
    || fail "the test primary has no time zone Europe/Berlin (tests/servers.sh loads it)"

# the fixture from a UTC session: in Berlin time the repeated hour is ambiguous
my_q "
    SET SESSION time_zone = '+00:00';
    DROP TABLE IF EXISTS $T, $R, ${T}_osc_old;
    CREATE TABLE $T (id TIMESTAMP NOT NULL, v VARCHAR(64), n INT, extra INT NOT NULL DEFAULT 0,
                     pad VARCHAR(200), PRIMARY KEY (id), KEY ${T}_n_idx (n)) ENGINE=InnoDB;
    CREATE TABLE $R (id TIMESTAMP NOT NULL, v VARCHAR(64), n INT, extra INT NOT NULL DEFAULT 0,
                     pad VARCHAR(200), PRIMARY KEY (id)) ENGINE=InnoDB;
    INSERT INTO $T SELECT FROM_UNIXTIME(1698530400 + s.seq), MD5(s.seq), s.seq % 1000, s.seq, REPEAT('x', 100)
        FROM seq_0_to_21599 s;
    INSERT INTO $R SELECT * FROM $T;
" || fail "fixture"
assert_eq 21600 "$(my_q "SELECT COUNT(*) FROM $T")" "rows in $T"
# the same text twice in local time: the hour the old code lost rows in
assert_eq 3600 "$(my_q "SET SESSION time_zone = 'Europe/Berlin';
    SELECT COUNT(*) FROM (SELECT CAST(id AS CHAR) t FROM $T GROUP BY t HAVING COUNT(*) = 2) d")" \
    "Berlin times that name two rows"

my_q "SET GLOBAL time_zone = 'Europe/Berlin'" || fail "cannot set the global time zone"
# 500-row chunks: 44 watermarks, each read and given back as a literal
my_migrate_with_writer timestamp $T $R "ADD COLUMN c INT NOT NULL DEFAULT 7" --chunk-size 500 --chunk-size-max 500
restore_tz
grep -q "verified (checksum)" "$OSC_ERR" || fail "no verification summary"
assert_eq 1 "$(my_has_column $T c)" "$T has column c"
my_tables_equal $T $R "$COLS"
assert_eq 0 "$(my_q "SELECT COUNT(*) FROM $T WHERE c <> 7")" "rows of $T without the new column's default"
my_no_osc_leftovers $T
echo "ok"
