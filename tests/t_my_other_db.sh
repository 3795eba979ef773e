#!/usr/bin/env bash
# MariaDB: `--table otherdb.users` while the connection's database is
# osctest. A trigger lives in its table's schema; the old code created its
# capture triggers unqualified, in the session's database, and failed with
# "Trigger in wrong schema (1435)" after creating its shadow and log. Every
# name is now qualified with the table's database: the migration runs under
# the mirrored writer (connected to the other database), the user's trigger
# moves with the table, and osc's objects and state stay in that database.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
DB=osc_other_db T=users R=users_ref
q() { mariadb --no-defaults -h127.0.0.1 -P"$OSC_MY_PORT" -uroot --connect-timeout=5 "$DB" -N -B -e "$1"; }
trap 'my_q "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1; _lib_cleanup' EXIT

my_q "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB" || fail "create $DB"
q "
    CREATE TABLE $T (id INT NOT NULL, v VARCHAR(64), n INT, extra INT NOT NULL DEFAULT 0, pad VARCHAR(200),
                     PRIMARY KEY (id), KEY users_n_idx (n)) ENGINE=InnoDB;
    CREATE TABLE $R (id INT NOT NULL, v VARCHAR(64), n INT, extra INT NOT NULL DEFAULT 0, pad VARCHAR(200),
                     PRIMARY KEY (id)) ENGINE=InnoDB;
    INSERT INTO $T SELECT seq, MD5(seq), seq % 1000, seq, REPEAT('x', 100) FROM seq_1_to_20000;
    INSERT INTO $R SELECT * FROM $T;
    CREATE TABLE ${T}_audit (id INT) ENGINE=InnoDB;
    CREATE TABLE ${R}_audit (id INT) ENGINE=InnoDB;
    CREATE TRIGGER ${T}_ai AFTER INSERT ON $T FOR EACH ROW INSERT INTO ${T}_audit VALUES (NEW.id);
    CREATE TRIGGER ${R}_ai AFTER INSERT ON $R FOR EACH ROW INSERT INTO ${R}_audit VALUES (NEW.id);
" || fail "fixture in $DB"
# the same names in osctest must stay untouched
my_q "DROP TABLE IF EXISTS $T; CREATE TABLE $T (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO $T VALUES (1)" \
    || fail "the osctest table of the same name"

seed=${WRITER_SEED:-$(( (RANDOM << 15) | RANDOM ))}
ensure_mywriter
WRITER_STATS=$TEST_TMP/writer.stats
"$MYWRITER" --db "mysql://root@127.0.0.1:$OSC_MY_PORT/$DB" --table $T --ref $R --kind int --seed "$seed" \
    --rate "$WRITER_RATE" --stats "$WRITER_STATS" 2>"$TEST_TMP/writer.err" &
WRITER_PID=$!
note "mywriter on $DB.$T, seed $seed"
sleep 0.5
run_osc_my --table "$DB.$T" --alter "ADD COLUMN c INT NOT NULL DEFAULT 7"
rc=$OSC_RC
sleep 0.5
stop_mywriter
assert_eq 0 "$rc" "osc's exit status on $DB.$T"
assert_eq 1 "$(q "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$DB' AND TABLE_NAME = '$T'
                  AND COLUMN_NAME = 'c'")" "$DB.$T has column c"
sum="SELECT CONCAT_WS(' ', COUNT(*), SUM(CRC32(CONCAT_WS('#', id, IFNULL(v, '-'), IFNULL(n, '-'), extra, pad))))"
assert_eq "$(q "$sum FROM $R")" "$(q "$sum FROM $T")" "$DB.$T against its mirror"
assert_eq "$(q "SELECT COUNT(*), SUM(id) FROM ${R}_audit")" "$(q "SELECT COUNT(*), SUM(id) FROM ${T}_audit")" \
    "the user's trigger fired once per insert"
assert_eq "$T" "$(q "SELECT EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '$DB'
                     AND TRIGGER_NAME = '${T}_ai'")" "the user's trigger is on the new $T"
assert_eq 0 "$(q "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB'
                  AND TABLE_NAME IN ('${T}_osc_new', '${T}_osc_log', '${T}_osc_hb')")" "osc's work tables in $DB"
assert_eq 0 "$(q "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '$DB' AND TRIGGER_NAME LIKE '%osc%'")" \
    "osc's triggers in $DB"
assert_eq done "$(q "SELECT outcome FROM _osc_migrations WHERE table_name = '$T' ORDER BY id DESC LIMIT 1")" \
    "the state row in $DB"
assert_eq 1 "$(my_q "SELECT COUNT(*) FROM $T")" "osctest.$T is untouched"
assert_eq 0 "$(my_q "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'osctest'
                     AND TRIGGER_NAME LIKE '${T}\\_osc%'")" "osc triggers in osctest"
my_q "DROP TABLE $T"
echo "ok"
