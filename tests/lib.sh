# shellcheck shell=bash
# Helpers for osc's integration tests. Each tests/t_*.sh sources this file:
#     . "$(dirname "$0")/lib.sh"
# Needs the environment written by tests/servers.sh (PGHOST, PGPORT, PGUSER,
# PGDATABASE, OSC_PG_URL, OSC_PG_REPLICA_URL); tests/run.sh exports it.
# When run by hand: tests/servers.sh start /tmp/osc-srv && . /tmp/osc-srv/env && tests/t_x.sh
#
# Variables: OSC (default build/osc), WRITER (default build/writer),
#            WRITER_RATE (ops/s, default 1000), WRITER_MAX_MS (default 3000), WRITER_SEED (default random, printed),
#            OSC_STRATEGY (default copy: most tests are about the shadow copy, and an ADD COLUMN would
#            otherwise run in place; the strategy tests set auto).
set -u -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

OSC=${OSC:-build/osc}
WRITER=${WRITER:-build/writer}
WRITER_RATE=${WRITER_RATE:-1000}
OSC_STRATEGY=${OSC_STRATEGY:-copy}
TEST_NAME=$(basename "$0" .sh)
TEST_TMP=$(mktemp -d "/tmp/osc-$TEST_NAME.XXXXXX")
WRITER_PID=
WRITER_STATS=
OSC_RC=
OSC_OUT=$TEST_TMP/osc.out
OSC_ERR=$TEST_TMP/osc.err

: "${OSC_PG_URL:?run through tests/run.sh, or source the env file written by tests/servers.sh}"

_lib_cleanup() {
    if [ -n "$WRITER_PID" ]; then
        kill -TERM "$WRITER_PID" 2>/dev/null
        wait "$WRITER_PID" 2>/dev/null
    fi
    rm -rf "$TEST_TMP"
}
trap _lib_cleanup EXIT
trap 'echo "$TEST_NAME: interrupted" >&2; exit 143' TERM INT

# ---- reporting ---------------------------------------------------------------
fail() {
    echo "FAIL: $TEST_NAME: $*" >&2
    exit 1
}

note() { echo "# $*"; }

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
    [ "$1" == "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

# assert_true "SQL boolean expression" [WHAT]   (evaluated on the primary)
assert_true() {
    local r
    r=$(psql_q "SELECT ($1)::bool") || fail "${2:-$1}: query failed"
    [ "$r" = t ] || fail "${2:-$1}: expected true, got '$r'"
}

# ---- SQL -----------------------------------------------------------------------
# psql_q SQL [psql args...]: run SQL on the primary, unaligned, tuples only
psql_q() {
    local sql=$1
    shift
    psql -XAtq -v ON_ERROR_STOP=1 "$@" -c "$sql"
}

# psql_replica SQL: the same on the replica
psql_replica() {
    psql -XAtq -v ON_ERROR_STOP=1 -d "$OSC_PG_REPLICA_URL" -c "$1"
}

# qi NAME: NAME quoted as an SQL identifier
qi() {
    local s=${1//\"/\"\"}
    printf '"%s"' "$s"
}

# ql TEXT: TEXT quoted as an SQL literal
ql() {
    local s=${1//\'/\'\'}
    printf "'%s'" "$s"
}

# fixture KIND TABLE REF ROWS [SCHEMA]
# Creates TABLE and REF with the layout of KIND (int|composite|text|identity)
# and ROWS identical rows. TABLE also gets a secondary index on n.
fixture() {
    local kind=$1 t=$2 r=$3 rows=$4 schema=${5:-}
    local pfx="" qt qr keydef keyins keysel rest
    if [ -n "$schema" ]; then
        pfx="$(qi "$schema")."
        psql_q "CREATE SCHEMA IF NOT EXISTS $(qi "$schema")" || fail "fixture: create schema"
    fi
    qt="$pfx$(qi "$t")"
    qr="$pfx$(qi "$r")"
    rest="v text, n int, extra int NOT NULL DEFAULT 0, pad text"
    case $kind in
    int)
        keydef="id int PRIMARY KEY"; keyins="id"; keysel="i" ;;
    composite)
        keydef="a int, b int"; keyins="a, b"; keysel="i, i % 7"
        rest="$rest, PRIMARY KEY (a, b)" ;;
    text)
        keydef="k text PRIMARY KEY"; keyins="k"; keysel="'key-' || lpad(i::text, 6, '0')" ;;
    identity)
        keydef="id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"; keyins="id"; keysel="i" ;;
    *) fail "fixture: unknown kind $kind" ;;
    esac
    local refdef=$keydef
    [ "$kind" = identity ] && refdef="id bigint PRIMARY KEY"
    local over=""
    [ "$kind" = identity ] && over="OVERRIDING SYSTEM VALUE"
    local idx
    idx=$(qi "${t}_n_idx")
    psql_q "
        SET client_min_messages = warning;
        DROP TABLE IF EXISTS $qt, $qr, $pfx$(qi "_${t}_osc_old") CASCADE;
        CREATE TABLE $qt ($keydef, $rest);
        CREATE TABLE $qr ($refdef, $rest);
        INSERT INTO $qt ($keyins, v, n, extra, pad) $over
            SELECT $keysel, md5(i::text), CASE WHEN i % 10 = 3 THEN NULL ELSE i % 1000 END,
                   i, repeat('x', 100)
            FROM generate_series(1, $rows) AS i;
        INSERT INTO $qr SELECT * FROM $qt;
        CREATE INDEX $idx ON $qt (n);
    " || fail "fixture: create $kind tables $t/$r"
    if [ "$kind" = identity ]; then
        psql_q "SELECT setval(pg_get_serial_sequence($(ql "$qt"), 'id'), $rows)" >/dev/null \
            || fail "fixture: setval"
    fi
    psql_q "VACUUM ANALYZE $qt" || fail "fixture: vacuum $t"
    psql_q "VACUUM ANALYZE $qr" || fail "fixture: vacuum $r"
}

# tables_equal T R "col list" : T and R are SQL names (quote them yourself if needed).
# Compares with EXCEPT ALL both ways (duplicates count) and prints up to 5 differing rows.
tables_equal() {
    local t=$1 r=$2 cols=$3 a b
    a=$(psql_q "SELECT count(*) FROM (SELECT $cols FROM $t EXCEPT ALL SELECT $cols FROM $r) d") \
        || fail "tables_equal: query failed"
    b=$(psql_q "SELECT count(*) FROM (SELECT $cols FROM $r EXCEPT ALL SELECT $cols FROM $t) d") \
        || fail "tables_equal: query failed"
    if [ "$a" != 0 ] || [ "$b" != 0 ]; then
        echo "tables_equal: $a row(s) only in $t, $b row(s) only in $r (columns: $cols)" >&2
        echo "  in $t, not in $r:" >&2
        psql -X -v ON_ERROR_STOP=1 -c "SELECT $cols FROM $t EXCEPT ALL SELECT $cols FROM $r ORDER BY 1 LIMIT 5" >&2
        echo "  in $r, not in $t:" >&2
        psql -X -v ON_ERROR_STOP=1 -c "SELECT $cols FROM $r EXCEPT ALL SELECT $cols FROM $t ORDER BY 1 LIMIT 5" >&2
        fail "tables $t and $r differ"
    fi
    note "tables_equal: $t = $r ($(psql_q "SELECT count(*) FROM $t") rows)"
}

# schema_snapshot: one md5 over the structure of all non-system schemas
schema_snapshot() {
    psql_q "
        SELECT md5(coalesce(string_agg(x, E'\n' ORDER BY x), '')) FROM (
            SELECT 'ns ' || n.nspname AS x FROM pg_namespace n
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
              AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
          UNION ALL
            SELECT format('rel %s.%s %s %s %s', n.nspname, c.relname, c.relkind, c.relpersistence,
                          coalesce(c.reloptions::text, ''))
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
              AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
          UNION ALL
            SELECT format('att %s.%s %s %s %s %s %s %s', n.nspname, c.relname, a.attnum, a.attname,
                          format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef, a.attidentity)
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE a.attnum > 0 AND NOT a.attisdropped
              AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
              AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
          UNION ALL
            SELECT format('trg %s.%s %s %s', n.nspname, c.relname, t.tgname, t.tgenabled)
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
          UNION ALL
            SELECT format('fn %s.%s', n.nspname, p.proname)
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        ) s" || fail "schema_snapshot failed"
}

# no_osc_leftovers T: no _osc_ schema, no _osc trigger, no _osc function,
# no _T_osc_new / _T_osc_log (the kept _T_osc_old is fine)
no_osc_leftovers() {
    local t=$1 n
    n=$(psql_q "SELECT string_agg(nspname, ', ') FROM pg_namespace WHERE nspname LIKE '\_osc\_%'")
    [ -z "$n" ] || fail "leftover osc schema(s): $n"
    n=$(psql_q "SELECT string_agg(tgrelid::regclass || '.' || tgname, ', ') FROM pg_trigger
                WHERE tgname LIKE '\_osc%'")
    [ -z "$n" ] || fail "leftover osc trigger(s): $n"
    n=$(psql_q "SELECT string_agg(p.oid::regprocedure::text, ', ') FROM pg_proc p WHERE proname LIKE '\_osc%'")
    [ -z "$n" ] || fail "leftover osc function(s): $n"
    n=$(psql_q "SELECT string_agg(oid::regclass::text, ', ') FROM pg_class
                WHERE relname IN ($(ql "_${t}_osc_new"), $(ql "_${t}_osc_log"))")
    [ -z "$n" ] || fail "leftover osc table(s): $n"
    note "no osc leftovers for $t"
}

# ---- the writer --------------------------------------------------------------
# start_writer KIND T R [SECONDS] [SCHEMA]
start_writer() {
    local kind=$1 t=$2 r=$3 secs=${4:-} schema=${5:-}
    local seed=${WRITER_SEED:-$(( (RANDOM << 15) | RANDOM ))}
    [ -x "$WRITER" ] || fail "$WRITER not found (make all builds it)"
    [ -z "$WRITER_PID" ] || fail "start_writer: a writer is already running"
    WRITER_STATS=$TEST_TMP/writer.stats
    rm -f "$WRITER_STATS" "$TEST_TMP/writer.ready"
    local args=(--db "$OSC_PG_URL" --table "$t" --ref "$r" --kind "$kind" --seed "$seed"
                --rate "$WRITER_RATE" --stats "$WRITER_STATS" --ready "$TEST_TMP/writer.ready")
    [ -n "$secs" ] && args+=(--duration "$secs")
    [ -n "$schema" ] && args+=(--schema "$schema")
    note "writer: kind=$kind table=$t ref=$r seed=$seed rate=$WRITER_RATE"
    "$WRITER" "${args[@]}" 2>"$TEST_TMP/writer.err" &
    WRITER_PID=$!
    writer_ready || { cat "$TEST_TMP/writer.err" >&2; WRITER_PID=; fail "writer did not start"; }
}

# writer_ready: until the writer just started is connected and writing (it
# creates its --ready file then), 10 s at most; 1 if it exited or never got there
writer_ready() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ -e "$TEST_TMP/writer.ready" ] && return 0
        kill -0 "$WRITER_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# stop_writer: SIGTERM, wait, print the stats; fails the test on errors or no ops
stop_writer() {
    [ -n "$WRITER_PID" ] || fail "stop_writer: no writer running"
    kill -TERM "$WRITER_PID" 2>/dev/null
    local rc=0
    wait "$WRITER_PID" || rc=$?
    WRITER_PID=
    [ -s "$TEST_TMP/writer.err" ] && cat "$TEST_TMP/writer.err" >&2
    [ "$rc" = 0 ] || fail "writer exited with status $rc"
    [ -s "$WRITER_STATS" ] || fail "writer wrote no stats"
    note "writer stats: $(cat "$WRITER_STATS")"
    local ops errors
    ops=$(writer_stat ops)
    errors=$(writer_stat errors)
    [ "${ops:-0}" -gt 0 ] || fail "writer did no operations"
    [ "$errors" = 0 ] || fail "writer saw $errors error(s); first: $(sed -n 's/.*"first_error":"\(.*\)","seed".*/\1/p' "$WRITER_STATS")"
}

# writer_stat KEY: a numeric field of the last writer's stats
writer_stat() {
    sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" "$WRITER_STATS"
}

# ---- osc -------------------------------------------------------------------------
need_osc() {
    [ -x "$OSC" ] || fail "$OSC: not found (build it with make)"
}

# run_osc ARGS...: runs osc with --database "$OSC_PG_URL" appended; sets OSC_RC,
# stdout in $OSC_OUT, stderr in $OSC_ERR (the tail of both is printed)
run_osc() {
    need_osc
    OSC_RC=0
    local t0=$SECONDS
    "$OSC" "$@" --strategy "$OSC_STRATEGY" --database "$OSC_PG_URL" >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
    note "osc $* -> exit $OSC_RC ($((SECONDS - t0))s)"
    tail -n 15 "$OSC_OUT" | sed 's/^/#   out: /'
    tail -n 15 "$OSC_ERR" | sed 's/^/#   err: /'
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$OSC_ERR"; then
        fail "sanitizer report from osc"
    fi
}

# expect_osc RC ARGS...: run_osc and require exit status RC
expect_osc() {
    local want=$1
    shift
    run_osc "$@"
    [ "$OSC_RC" = "$want" ] || fail "osc $* exited $OSC_RC, expected $want"
}

# migrate_with_writer KIND T R ALTER [osc options...]: the writer runs during the
# whole osc run (start_writer returns once it writes), and 0.5 s after it, so
# the new table takes writes too (500 at the default rate); osc must exit 0
migrate_with_writer() {
    local kind=$1 t=$2 r=$3 alter=$4
    shift 4
    start_writer "$kind" "$t" "$r"
    run_osc --table "$t" --alter "$alter" "$@"
    if [ "$OSC_RC" != 0 ]; then
        stop_writer
        fail "osc exited $OSC_RC, expected 0"
    fi
    sleep 0.5
    stop_writer
    # the application must not notice: no writer transaction stalls for long
    local mx
    mx=$(writer_stat max_ms)
    awk -v m="$mx" -v lim="${WRITER_MAX_MS:-3000}" 'BEGIN { exit !(m + 0 <= lim + 0) }' \
        || fail "a writer transaction took ${mx} ms during the migration (limit ${WRITER_MAX_MS:-3000} ms)"
}

# wait_osc_sessions_gone: after killing osc, wait (max 10 s) until its server
# sessions are gone (the server notices a dead client at its next statement)
wait_osc_sessions_gone() {
    local n
    for _ in $(seq 1 100); do
        n=$(psql_q "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                    AND backend_type = 'client backend' AND pid <> pg_backend_pid()
                    AND application_name NOT IN ('osc_test_writer', 'psql')")
        [ "$n" = 0 ] && return 0
        sleep 0.1
    done
    note "warning: $n other session(s) still open"
}

# wait_replica_caught_up [SECONDS]: replica replay LSN >= primary's current LSN
wait_replica_caught_up() {
    local lsn
    lsn=$(psql_q "SELECT pg_current_wal_lsn()") || fail "cannot read the primary's LSN"
    for _ in $(seq 1 $((${1:-30} * 10))); do
        if [ "$(psql_replica "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '$lsn') >= 0")" = t ]; then
            return 0
        fi
        sleep 0.1
    done
    fail "replica did not replay up to $lsn"
}

# pk_index_of T: name of the index backing T's primary key
pk_index_of() {
    psql_q "SELECT i.indexrelid::regclass::text FROM pg_index i WHERE i.indrelid = $(ql "$1")::regclass AND i.indisprimary"
}

# ---- helpers for the resume, window and cron tests (t_resume*, t_window, t_cron) ----
# Added at the end; nothing above depends on them.

# osc_bg OUT ERR ARGS...: osc in the background, --database "$OSC_PG_URL" appended;
# its pid in OSC_BG_PID
OSC_BG_PID=
OSC_BG_RC=
osc_bg() {
    need_osc
    local out=$1 err=$2
    shift 2
    "$OSC" "$@" --strategy "$OSC_STRATEGY" --database "$OSC_PG_URL" >"$out" 2>"$err" &
    OSC_BG_PID=$! OSC_BG_ERR=$err
    note "osc $* (background, pid $OSC_BG_PID)"
}

# osc_bg_wait [SECONDS]: wait (default 120 s) for the background osc; its exit
# status in OSC_BG_RC.  Fails the test (after a SIGKILL) if it is still running.
osc_bg_wait() {
    local secs=${1:-120} i
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$OSC_BG_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$OSC_BG_PID" 2>/dev/null; then
        kill -KILL "$OSC_BG_PID" 2>/dev/null
        wait "$OSC_BG_PID" 2>/dev/null
        [ -n "${OSC_BG_ERR:-}" ] && grep -v '"event":"progress"' "$OSC_BG_ERR" | tail -n 12 | sed 's/^/#   /' >&2
        fail "osc (pid $OSC_BG_PID) still running after ${secs}s"
    fi
    OSC_BG_RC=0
    wait "$OSC_BG_PID" || OSC_BG_RC=$?
}

# osc_bg_kill SIGNAL: send SIGNAL to the background osc, which must still be
# running, and reap it (OSC_BG_RC); for KILL also waits until its sessions are gone
osc_bg_kill() {
    kill -0 "$OSC_BG_PID" 2>/dev/null || return 1
    kill -"$1" "$OSC_BG_PID"
    if [ "$1" = KILL ] || [ "$1" = 9 ]; then
        OSC_BG_RC=0
        wait "$OSC_BG_PID" 2>/dev/null || OSC_BG_RC=$?
        wait_osc_sessions_gone
    else
        osc_bg_wait 60
    fi
}

# wait_for_text REGEX SECONDS FILE...: 0 as soon as grep -E finds REGEX in one of the files
wait_for_text() {
    local re=$1 secs=$2 i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do
        cat "$@" 2>/dev/null | grep -qE -- "$re" && return 0
        sleep 0.1
    done
    return 1
}

# sleep_ms MS
sleep_ms() {
    sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"
}

# has_column T C [SCHEMA]: prints t or f
has_column() {
    psql_q "SELECT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                           JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = $(ql "${3:-public}") AND c.relname = $(ql "$1")
                             AND a.attname = $(ql "$2") AND a.attnum > 0 AND NOT a.attisdropped)"
}

# osc_state T FIELD [SCHEMA]: FIELD (an SQL expression over osc.migrations) of
# the latest state row of T; empty when there is none (or no state table yet)
osc_state() {
    local t=$1 f=$2 s=${3:-public}
    [ "$(psql_q "SELECT to_regclass('osc.migrations') IS NOT NULL")" = t ] || return 0
    psql_q "SELECT $f FROM osc.migrations WHERE schema_name = $(ql "$s") AND table_name = $(ql "$t")
            ORDER BY id DESC LIMIT 1"
}

# osc_state_rows T [SCHEMA]: number of state rows of T (0 without a state table)
osc_state_rows() {
    local t=$1 s=${2:-public}
    if [ "$(psql_q "SELECT to_regclass('osc.migrations') IS NOT NULL")" != t ]; then
        echo 0
        return 0
    fi
    psql_q "SELECT count(*) FROM osc.migrations WHERE schema_name = $(ql "$s") AND table_name = $(ql "$t")"
}

# osc_state_forget T [SCHEMA]: delete T's state rows, so that a test run twice
# against the same server starts afresh (a new fixture is a new table)
osc_state_forget() {
    local t=$1 s=${2:-public}
    [ "$(psql_q "SELECT to_regclass('osc.migrations') IS NOT NULL")" = t ] || return 0
    psql_q "DELETE FROM osc.migrations WHERE schema_name = $(ql "$s") AND table_name = $(ql "$t")" \
        || fail "cannot reset the state rows of $t"
}

# osc_work_schemas: number of osc work schemas (_osc_...)
osc_work_schemas() {
    psql_q "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '\_osc\_%'"
}

# osc_triggers T [SCHEMA]: number of osc capture triggers on T
osc_triggers() {
    psql_q "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $(ql "${2:-public}") AND c.relname = $(ql "$1") AND t.tgname LIKE '\_osc%'"
}

# done_counts FILE...: parses the final "migration complete: N rows copied
# (M in this run), K changes replayed" into DONE_TOTAL, DONE_RUN, DONE_CHANGES
DONE_TOTAL= DONE_RUN= DONE_CHANGES=
done_counts() {
    local line
    line=$(cat "$@" 2>/dev/null | grep -oE 'migration complete: [0-9]+ rows copied \([0-9]+ in this run\), [0-9]+ changes replayed' | tail -n 1)
    [ -n "$line" ] || return 1
    DONE_TOTAL=$(sed -E 's/^migration complete: ([0-9]+) .*/\1/' <<<"$line")
    DONE_RUN=$(sed -E 's/.*\(([0-9]+) in this run\).*/\1/' <<<"$line")
    DONE_CHANGES=$(sed -E 's/.*, ([0-9]+) changes replayed$/\1/' <<<"$line")
}

# json_lines FILE: every non-empty line of FILE must be a JSON object (parsed by
# the server, so no jq is needed); prints the number of lines
json_lines() {
    local all objects
    all=$(grep -c . "$1")
    objects=$(psql_q "SELECT count(*) FROM regexp_split_to_table($(ql "$(cat "$1")"), E'\n') AS l
                      WHERE l <> '' AND json_typeof(l::json) = 'object'") || fail "$1: a line is not JSON"
    [ "$all" = "$objects" ] || fail "$1: $((all - objects)) of its $all lines are not JSON objects"
    echo "$all"
}

# hhmmss EPOCH: EPOCH as local HH:MM:SS (what --window reads)
hhmmss() {
    date -d "@$1" +%H:%M:%S
}

# away_from_midnight: if local midnight is less than 2 minutes away, sleep past it
away_from_midnight() {
    local now left
    now=$(date +%s)
    left=$((86400 - (10#$(date -d "@$now" +%H) * 3600 + 10#$(date -d "@$now" +%M) * 60 + 10#$(date -d "@$now" +%S))))
    if [ "$left" -lt 120 ]; then
        note "midnight in ${left}s: waiting until it has passed"
        sleep $((left + 2))
    fi
}

# ---- MariaDB helpers (t_my_*.sh) ---------------------------------------------
# Added at the end; nothing above depends on them. They need OSC_MY_PORT,
# OSC_MY_URL, OSC_MY_REPLICA_PORT (written by tests/servers.sh). The writer for
# MariaDB is build/mywriter (tests/writer/my.c; MYWRITER overrides it). It shares
# WRITER_PID / WRITER_STATS with the PostgreSQL writer, so stop_writer and
# writer_stat work for both; stop_mywriter is the same as stop_writer.
MYWRITER=${MYWRITER:-build/mywriter}

need_my() {
    [ -n "${OSC_MY_URL:-}" ] && [ -n "${OSC_MY_PORT:-}" ] \
        || fail "OSC_MY_URL/OSC_MY_PORT not set (tests/servers.sh start writes them to DIR/env)"
}

# my_q SQL [mariadb args...]: run SQL on the MariaDB primary in osctest; tab-separated, no headers
my_q() {
    local sql=$1
    shift
    mariadb --no-defaults -h127.0.0.1 -P"$OSC_MY_PORT" -uroot --connect-timeout=5 "$@" osctest -N -B -e "$sql"
}

# my_replica_q SQL: the same on the MariaDB replica
my_replica_q() {
    mariadb --no-defaults -h127.0.0.1 -P"$OSC_MY_REPLICA_PORT" -uroot --connect-timeout=5 osctest -N -B -e "$1"
}

# my_qi NAME: NAME quoted as a MySQL identifier (backticks, doubled inside)
my_qi() {
    local s=${1//\`/\`\`}
    printf '`%s`' "$s"
}

# my_ql TEXT: TEXT as an SQL string literal (quotes and backslashes escaped)
my_ql() {
    local s=${1//\\/\\\\}
    s=${s//\'/\'\'}
    printf "'%s'" "$s"
}

# my_assert_true "SQL boolean expression" [WHAT]   (evaluated on the MariaDB primary)
my_assert_true() {
    local r
    r=$(my_q "SELECT IF(($1), 't', 'f')") || fail "${2:-$1}: query failed"
    [ "$r" = t ] || fail "${2:-$1}: expected true, got '$r'"
}

# my_fixture KIND T R ROWS
# Creates T and R (InnoDB) with the layout of KIND (int|composite|varchar|binary16)
# and ROWS identical rows: v = md5(i), n = i % 1000 (NULL when i % 10 = 3),
# extra = i, pad = repeat('x', 100). T also gets the index T_n_idx on n.
# Drops T, R and _T_osc_old (also T_osc_old, and osc's work tables and
# state rows of T an interrupted run of the test may have left) first.
my_fixture() {
    local kind=$1 t=$2 r=$3 rows=$4
    local qt qr keydef keysel pk
    need_my
    qt=$(my_qi "$t")
    qr=$(my_qi "$r")
    case $kind in
    int)       keydef="id INT NOT NULL";                 pk="PRIMARY KEY (id)";   keysel="s.seq" ;;
    composite) keydef="a INT NOT NULL, b INT NOT NULL";  pk="PRIMARY KEY (a, b)"; keysel="s.seq, s.seq % 7" ;;
    varchar)   keydef="k VARCHAR(40) NOT NULL";          pk="PRIMARY KEY (k)";    keysel="CONCAT('key-', LPAD(s.seq, 6, '0'))" ;;
    binary16)  keydef="id BINARY(16) NOT NULL";          pk="PRIMARY KEY (id)";   keysel="UNHEX(MD5(s.seq))" ;;
    *) fail "my_fixture: unknown kind $kind" ;;
    esac
    local rest="v VARCHAR(64), n INT, extra INT NOT NULL DEFAULT 0, pad VARCHAR(200)"
    if [ "$(my_has_table _osc_migrations)" = 1 ]; then
        my_q "DELETE FROM _osc_migrations WHERE table_name = $(my_ql "$t")" || fail "my_fixture: state rows of $t"
    fi
    my_q "
        DROP TABLE IF EXISTS $qt, $qr, $(my_qi "_${t}_osc_old"), $(my_qi "${t}_osc_old"),
            $(my_qi "${t}_osc_new"), $(my_qi "${t}_osc_log"), $(my_qi "${t}_osc_hb");
        CREATE TABLE $qt ($keydef, $rest, $pk, KEY $(my_qi "${t}_n_idx") (n)) ENGINE=InnoDB;
        CREATE TABLE $qr ($keydef, $rest, $pk) ENGINE=InnoDB;
        INSERT INTO $qt
            SELECT $keysel, MD5(s.seq), IF(s.seq % 10 = 3, NULL, s.seq % 1000), s.seq, REPEAT('x', 100)
            FROM seq_1_to_${rows} AS s;
        INSERT INTO $qr SELECT * FROM $qt;
        ANALYZE TABLE $qt, $qr;
    " >/dev/null || fail "my_fixture: create $kind tables $t/$r"
    local n
    n=$(my_q "SELECT (SELECT COUNT(*) FROM $qt) = $rows AND (SELECT COUNT(*) FROM $qr) = $rows")
    [ "$n" = 1 ] || fail "my_fixture: $t/$r do not have $rows rows"
}

# ensure_mywriter: builds build/mywriter from tests/writer/ (my.c and the
# common driver) when it is missing or older than its sources (a test run by
# hand after editing the writer)
ensure_mywriter() {
    local f stale=0
    if [ "$MYWRITER" = build/mywriter ]; then
        [ -x build/mywriter ] || stale=1
        for f in tests/writer/my.c tests/writer/common.c tests/writer/writer.h; do
            [ "$f" -nt build/mywriter ] && stale=1
        done
    fi
    if [ "$stale" = 1 ]; then
        mkdir -p build
        # shellcheck disable=SC2046
        cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror $(pkg-config --cflags libmariadb) \
            tests/writer/my.c tests/writer/common.c -o build/mywriter.tmp.$$ $(pkg-config --libs libmariadb) -lm \
            && mv -f build/mywriter.tmp.$$ build/mywriter \
            || { rm -f build/mywriter.tmp.$$; fail "cannot build build/mywriter"; }
        note "built build/mywriter"
    fi
    [ -x "$MYWRITER" ] || fail "$MYWRITER not found"
}

# start_mywriter KIND T R [SECONDS]: the mirrored writer on the MariaDB primary
start_mywriter() {
    local kind=$1 t=$2 r=$3 secs=${4:-}
    local seed=${WRITER_SEED:-$(( (RANDOM << 15) | RANDOM ))}
    need_my
    ensure_mywriter
    [ -z "$WRITER_PID" ] || fail "start_mywriter: a writer is already running"
    WRITER_STATS=$TEST_TMP/writer.stats
    rm -f "$WRITER_STATS" "$TEST_TMP/writer.ready"
    local args=(--db "$OSC_MY_URL" --table "$t" --ref "$r" --kind "$kind" --seed "$seed"
                --rate "$WRITER_RATE" --stats "$WRITER_STATS" --ready "$TEST_TMP/writer.ready")
    [ -n "$secs" ] && args+=(--duration "$secs")
    note "mywriter: kind=$kind table=$t ref=$r seed=$seed rate=$WRITER_RATE"
    "$MYWRITER" "${args[@]}" 2>"$TEST_TMP/writer.err" &
    WRITER_PID=$!
    writer_ready || { cat "$TEST_TMP/writer.err" >&2; WRITER_PID=; fail "mywriter did not start"; }
}

# stop_mywriter: SIGTERM, wait, print the stats; fails the test on any
# writer error (a 1146 on osc's change log included: osc's trigger
# installation avoids MariaDB's stale prepared statements, see
# src/my/my_capture.c) or when the writer did nothing
stop_mywriter() {
    if [ -n "$WRITER_PID" ]; then
        kill -TERM "$WRITER_PID" 2>/dev/null
        local rc=0
        wait "$WRITER_PID" || rc=$?
        WRITER_PID=
        [ -s "$TEST_TMP/writer.err" ] && cat "$TEST_TMP/writer.err" >&2
        [ "$rc" = 0 ] || fail "mywriter exited with status $rc"
    fi
    [ -s "$WRITER_STATS" ] || fail "mywriter wrote no stats"
    note "writer stats: $(cat "$WRITER_STATS")"
    local ops errors
    ops=$(writer_stat ops)
    errors=$(writer_stat errors)
    [ "${ops:-0}" -gt 0 ] || fail "mywriter did no operations"
    [ "$errors" = 0 ] || fail "mywriter saw $errors error(s); first: $(sed -n 's/.*"first_error":"\(.*\)","stale_errors".*/\1/p' "$WRITER_STATS")"
}

# my_tables_equal T R "col list": row for row, duplicates counted, NULLs equal.
# Compares the row count and a 128-bit multiset checksum of every row
# (sum of MD5(JSON_ARRAY(cols)), exact DECIMAL sums) of both tables, read in
# one statement: about 1.3 s per 100000 rows. On a difference prints up to 5
# rows of each side that the other lacks (EXCEPT ALL, slower), and fails.
# T and R are plain names (quoted here), in the database DB (default
# osctest); the columns are SQL as written, or "*".
my_tables_equal() {
    local t=$1 r=$2 cols=$3 db=${4:-osctest} qt qr a b
    qt=$(my_qi "$db").$(my_qi "$t")
    qr=$(my_qi "$db").$(my_qi "$r")
    if [ "$cols" = "*" ]; then
        cols=$(my_q "SELECT GROUP_CONCAT(CONCAT('\`', REPLACE(COLUMN_NAME, '\`', '\`\`'), '\`')
                                        ORDER BY ORDINAL_POSITION SEPARATOR ', ')
                     FROM information_schema.COLUMNS
                     WHERE TABLE_SCHEMA = $(my_ql "$db") AND TABLE_NAME = $(my_ql "$t")") \
            || fail "my_tables_equal: cannot list the columns of $t"
        [ -n "$cols" ] && [ "$cols" != NULL ] || fail "my_tables_equal: no table $t"
    fi
    local sum="SELECT CONCAT_WS(' ', COUNT(*), COALESCE(SUM(CAST(CONV(SUBSTR(h, 1, 16), 16, 10) AS UNSIGNED)), 0),
                                  COALESCE(SUM(CAST(CONV(SUBSTR(h, 17, 16), 16, 10) AS UNSIGNED)), 0))
               FROM (SELECT MD5(JSON_ARRAY($cols)) AS h FROM"
    # one statement, one read view: equal even while a writer changes both
    # tables in its transactions
    a=$(my_q "SELECT ($sum $qt) x), ($sum $qr) x)") || fail "my_tables_equal: checksums of $t and $r failed"
    b=${a#*$'\t'}
    a=${a%%$'\t'*}
    if [ "$a" != "$b" ]; then
        echo "my_tables_equal: $t and $r differ (rows and checksums: $a / $b; columns: $cols)" >&2
        echo "  in $t, not in $r:" >&2
        my_q "SELECT $cols FROM $qt EXCEPT ALL SELECT $cols FROM $qr ORDER BY 1 LIMIT 5" >&2
        echo "  in $r, not in $t:" >&2
        my_q "SELECT $cols FROM $qr EXCEPT ALL SELECT $cols FROM $qt ORDER BY 1 LIMIT 5" >&2
        fail "tables $t and $r differ"
    fi
    note "my_tables_equal: $t = $r (${a%% *} rows)"
}

# my_schema_snapshot: one md5 over the structure of every non-system database
# (SCHEMATA, TABLES, COLUMNS, STATISTICS, TRIGGERS, ROUTINES)
my_schema_snapshot() {
    my_q "
        SET SESSION group_concat_max_len = 1073741824;
        SELECT MD5(COALESCE(GROUP_CONCAT(x ORDER BY x SEPARATOR '\n'), '')) FROM (
            SELECT CONCAT_WS(' ', 'db', QUOTE(SCHEMA_NAME)) AS x FROM information_schema.SCHEMATA
            WHERE SCHEMA_NAME NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
          UNION ALL
            SELECT CONCAT_WS(' ', 'tbl', QUOTE(TABLE_SCHEMA), QUOTE(TABLE_NAME), QUOTE(TABLE_TYPE),
                             QUOTE(ENGINE), QUOTE(TABLE_COLLATION), QUOTE(CREATE_OPTIONS))
            FROM information_schema.TABLES
            WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
          UNION ALL
            SELECT CONCAT_WS(' ', 'col', QUOTE(TABLE_SCHEMA), QUOTE(TABLE_NAME), ORDINAL_POSITION,
                             QUOTE(COLUMN_NAME), QUOTE(COLUMN_TYPE), QUOTE(IS_NULLABLE),
                             QUOTE(COLUMN_DEFAULT), QUOTE(EXTRA), QUOTE(COLLATION_NAME))
            FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
          UNION ALL
            SELECT CONCAT_WS(' ', 'idx', QUOTE(TABLE_SCHEMA), QUOTE(TABLE_NAME), QUOTE(INDEX_NAME),
                             NON_UNIQUE, SEQ_IN_INDEX, QUOTE(COLUMN_NAME), QUOTE(SUB_PART), QUOTE(INDEX_TYPE))
            FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
          UNION ALL
            SELECT CONCAT_WS(' ', 'trg', QUOTE(TRIGGER_SCHEMA), QUOTE(TRIGGER_NAME), QUOTE(EVENT_OBJECT_TABLE),
                             QUOTE(ACTION_TIMING), QUOTE(EVENT_MANIPULATION), QUOTE(ACTION_STATEMENT))
            FROM information_schema.TRIGGERS
            WHERE TRIGGER_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
          UNION ALL
            SELECT CONCAT_WS(' ', 'fn', QUOTE(ROUTINE_SCHEMA), QUOTE(ROUTINE_NAME), QUOTE(ROUTINE_TYPE))
            FROM information_schema.ROUTINES
            WHERE ROUTINE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
        ) s" || fail "my_schema_snapshot failed"
}

# my_no_osc_leftovers T [DB]: no _T_osc_new / _T_osc_log / _T_osc_dup table in DB
# (default osctest), no trigger whose name starts with _T_osc (the kept
# _T_osc_old is fine). The same names without the leading underscore
# (T_osc_new ...) count as leftovers too.
my_no_osc_leftovers() {
    local t=$1 db=${2:-osctest} n names="" p
    for p in "_${t}" "${t}"; do
        names+="${names:+, }$(my_ql "${p}_osc_new"), $(my_ql "${p}_osc_log"), $(my_ql "${p}_osc_dup"), $(my_ql "${p}_osc_hb")"
    done
    n=$(my_q "SELECT GROUP_CONCAT(TABLE_NAME SEPARATOR ', ') FROM information_schema.TABLES
              WHERE TABLE_SCHEMA = $(my_ql "$db") AND TABLE_NAME IN ($names)")
    [ "$n" = NULL ] || [ -z "$n" ] || fail "leftover osc table(s): $n"
    n=$(my_q "SELECT GROUP_CONCAT(CONCAT(EVENT_OBJECT_TABLE, '.', TRIGGER_NAME) SEPARATOR ', ')
              FROM information_schema.TRIGGERS
              WHERE TRIGGER_SCHEMA = $(my_ql "$db")
                AND (LEFT(TRIGGER_NAME, $((${#t} + 5))) = $(my_ql "_${t}_osc")
                     OR LEFT(TRIGGER_NAME, $((${#t} + 4))) = $(my_ql "${t}_osc"))")
    [ "$n" = NULL ] || [ -z "$n" ] || fail "leftover osc trigger(s): $n"
    note "no osc leftovers for $t"
}

# my_has_column T C: prints 1 or 0
my_has_column() {
    my_q "SELECT COUNT(*) FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = $(my_ql "$1") AND COLUMN_NAME = $(my_ql "$2")"
}

# my_has_index T I: prints 1 or 0
my_has_index() {
    my_q "SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS
          WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = $(my_ql "$1") AND INDEX_NAME = $(my_ql "$2")"
}

# my_has_table T: prints 1 or 0 (base tables and views)
my_has_table() {
    my_q "SELECT COUNT(*) FROM information_schema.TABLES
          WHERE TABLE_SCHEMA = 'osctest' AND TABLE_NAME = $(my_ql "$1")"
}

# my_sessions: number of client sessions on the primary other than this one
# (replication threads and daemons excluded)
my_sessions() {
    my_q "SELECT COUNT(*) FROM information_schema.PROCESSLIST
          WHERE ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Slave_IO', 'Slave_SQL')
            AND USER NOT IN ('system user', 'event_scheduler')"
}

# my_wait_sessions_at_most N [SECONDS]: wait (default 10 s) until at most N other sessions remain
my_wait_sessions_at_most() {
    local want=$1 secs=${2:-10} n i
    for ((i = 0; i < secs * 10; i++)); do
        n=$(my_sessions)
        [ "$n" -le "$want" ] && return 0
        sleep 0.1
    done
    note "warning: $n other session(s) still open (expected at most $want)"
    my_q "SELECT ID, USER, COMMAND, TIME, STATE, LEFT(INFO, 80) FROM information_schema.PROCESSLIST
          WHERE ID <> CONNECTION_ID()" | sed 's/^/#   /'
}

# my_wait_replica_caught_up [SECONDS]: the replica has applied the primary's @@gtid_binlog_pos
my_wait_replica_caught_up() {
    local pos r
    pos=$(my_q "SELECT @@GLOBAL.gtid_binlog_pos") || fail "cannot read the primary's gtid_binlog_pos"
    r=$(my_replica_q "SELECT MASTER_GTID_WAIT($(my_ql "$pos"), ${1:-30})") || fail "MASTER_GTID_WAIT failed"
    [ "$r" = 0 ] || fail "the replica did not reach GTID position $pos in ${1:-30}s"
    note "replica caught up to $pos"
}

# run_osc_my ARGS...: runs osc with --database "$OSC_MY_URL" appended; sets OSC_RC,
# stdout in $OSC_OUT, stderr in $OSC_ERR (the tail of both is printed)
run_osc_my() {
    need_osc
    need_my
    OSC_RC=0
    local t0=$SECONDS
    "$OSC" "$@" --strategy "$OSC_STRATEGY" --database "$OSC_MY_URL" >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
    note "osc $* --database $OSC_MY_URL -> exit $OSC_RC ($((SECONDS - t0))s)"
    tail -n 15 "$OSC_OUT" | sed 's/^/#   out: /'
    tail -n 15 "$OSC_ERR" | sed 's/^/#   err: /'
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$OSC_ERR"; then
        fail "sanitizer report from osc"
    fi
}

# expect_osc_my RC ARGS...: run_osc_my and require exit status RC
expect_osc_my() {
    local want=$1
    shift
    run_osc_my "$@"
    [ "$OSC_RC" = "$want" ] || fail "osc $* exited $OSC_RC, expected $want"
}

# my_migrate_with_writer KIND T R ALTER [osc options...]: mywriter runs during the
# whole osc run (start_mywriter returns once it writes), and 0.5 s after it,
# so the new table takes writes too; osc must exit 0, the writer must see no
# error, and no writer transaction may take longer than WRITER_MAX_MS
# (default 3000)
my_migrate_with_writer() {
    local kind=$1 t=$2 r=$3 alter=$4
    shift 4
    start_mywriter "$kind" "$t" "$r"
    run_osc_my --table "$t" --alter "$alter" "$@"
    if [ "$OSC_RC" != 0 ]; then
        stop_mywriter
        fail "osc exited $OSC_RC, expected 0"
    fi
    sleep 0.5
    stop_mywriter
    local mx
    mx=$(writer_stat max_ms)
    awk -v m="$mx" -v lim="${WRITER_MAX_MS:-3000}" 'BEGIN { exit !(m + 0 <= lim + 0) }' \
        || fail "a writer transaction took ${mx} ms during the migration (limit ${WRITER_MAX_MS:-3000} ms)"
}

# osc_bg_my OUT ERR ARGS...: osc in the background against MariaDB (--database
# "$OSC_MY_URL" appended); its pid in OSC_BG_PID (osc_bg_wait and osc_bg_kill work)
osc_bg_my() {
    need_osc
    need_my
    local out=$1 err=$2
    shift 2
    "$OSC" "$@" --strategy "$OSC_STRATEGY" --database "$OSC_MY_URL" >"$out" 2>"$err" &
    OSC_BG_PID=$!
    note "osc $* (background, pid $OSC_BG_PID)"
}
