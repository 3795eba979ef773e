#!/usr/bin/env bash
# The password osc is given never shows: on each engine a migration runs
# under the mirrored writer as a user with a password (in --database and
# --replica URLs, and in PGPASSWORD / MYSQL_PWD as well), with -vv, and
# nothing it leaves contains the password: its argv as `ps` reads it
# (/proc/PID/cmdline) while it runs (--opt URL and --opt=URL), its log (JSON on PostgreSQL, text on
# MariaDB), `osc status` (text and JSON), `osc history`, the state rows, the
# hooks' environment (which gets OSC_DATABASE with the password masked), the
# control socket's name.  The socket is named after the target alone
# (engine, host, port, database, table), so `osc status` finds the run with
# another spelling of the credentials (no password, PGPASSWORD, key=value).
# Malformed URLs are refused (exit 2) with the password masked in the
# message, text and JSON.  --database-file reads the URL from a file of the
# user's that nobody else may read, and refuses any other.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
need_osc
need_my
T=t_sec R=t_sec_ref
PW='Pw-s3cr3t/at@x'      # a '/' and an '@': written %XX in a URL
ENC='Pw-s3cr3t%2Fat%40x'
CANARY='s3cr3t'          # in both spellings, and nowhere else
OUT=$TEST_TMP/out
mkdir -p "$OUT"

# no_secret WHAT FILE...: none of the files holds the password
no_secret() {
    local what=$1 f
    shift
    for f in "$@"; do
        [ -e "$f" ] || fail "$what: $f was not written"
        if grep -q -F -- "$CANARY" "$f"; then
            grep -n -F -- "$CANARY" "$f" | head -n 3 | cut -c1-300 >&2
            fail "$what: $f shows the password"
        fi
    done
    note "$what: no password in $*"
}

# socket_of ERRFILE: the control socket path the run logged
socket_of() {
    grep -m1 -oE 'control socket: [^ "]+' "$1" | sed 's/.*: //'
}

# expect_socket_name PATH TARGET: PATH is osc-<16 hex of SHA-256(TARGET)>.sock
expect_socket_name() {
    local want
    want=osc-$(printf '%s' "$2" | sha256sum | cut -c1-16).sock
    assert_eq "$want" "$(basename "$1")" "the socket is named after the target"
}

# refused_masked WHAT ARGS...: exit 2 in text and in JSON, no password, and a
# URL the message shows is shown masked
refused_masked() {
    local what=$1 fmt rc
    shift
    for fmt in text json; do
        rc=0
        "$OSC" "$@" --log-format $fmt >"$OUT/bad.out" 2>"$OUT/bad.$fmt" || rc=$?
        note "$what ($fmt): exit $rc: $(head -c 250 "$OUT/bad.$fmt")"
        [ "$rc" = 2 ] || fail "$what ($fmt): exit $rc, expected 2"
        no_secret "$what ($fmt)" "$OUT/bad.out" "$OUT/bad.$fmt"
        if grep -q -F '://' "$OUT/bad.$fmt"; then
            grep -q -F ':***@' "$OUT/bad.$fmt" || fail "$what ($fmt): the URL is not shown masked"
        fi
    done
}

# ---- PostgreSQL: the role osc_pw (tests/servers.sh: scram over TCP) ----------
drop_pg_role() {
    if [ "$(psql_q "SELECT count(*) FROM pg_roles WHERE rolname = 'osc_pw'")" = 1 ]; then
        psql_q "REASSIGN OWNED BY osc_pw TO postgres; DROP OWNED BY osc_pw; DROP ROLE osc_pw" \
            || fail "cannot drop the role osc_pw"
    fi
}
drop_pg_role
psql_q "CREATE ROLE osc_pw LOGIN SUPERUSER PASSWORD $(ql "$PW")" || fail "CREATE ROLE osc_pw"
url="postgres://osc_pw:$ENC@127.0.0.1:$OSC_PG_PORT/osctest"
rurl="postgres://osc_pw:$ENC@127.0.0.1:$OSC_PG_REPLICA_PORT/osctest"
# the role must really need its password (else nothing here would prove much)
if psql -XAtq -d "postgres://osc_pw@127.0.0.1:$OSC_PG_PORT/osctest" -c "SELECT 1" >/dev/null 2>&1 </dev/null; then
    fail "osc_pw logs in without a password: tests/servers.sh's pg_hba.conf should ask for it"
fi
wait_replica_caught_up

osc_state_forget $T
fixture int $T $R 3000
start_writer int $T $R
# the replica twice: as a URL (in the --opt=value form) and as a libpq key=value string
PGPASSWORD=$PW "$OSC" --strategy copy --table $T --alter "ADD COLUMN c int DEFAULT 5" --database "$url" \
    --replica="$rurl" --replica "host=127.0.0.1 port=$OSC_PG_REPLICA_PORT dbname=osctest user=osc_pw password=$PW" -vv --log-format json --log-file "$OUT/pg.jsonl" --postpone-cutover "$TEST_TMP/pg.pp" \
    --on-cutover "env >$OUT/pg-cutover.env" --on-success "env >$OUT/pg-success.env" \
    >"$OUT/pg.out" 2>"$OUT/pg.err" &
OSC_BG_PID=$!
wait_for_text 'cutover postponed' 60 "$OUT/pg.jsonl" || { cat "$OUT/pg.err" >&2; fail "the PostgreSQL run did not reach its postponed cutover"; }
tr '\0' ' ' </proc/$OSC_BG_PID/cmdline >"$OUT/pg.cmdline"
note "argv while it runs: $(cat "$OUT/pg.cmdline")"
grep -q -F "osc_pw:" "$OUT/pg.cmdline" || fail "cmdline: the URL is not there at all"
ps -ef >"$OUT/pg.ps"
no_secret "argv of the running osc" "$OUT/pg.cmdline" "$OUT/pg.ps"

"$OSC" status --table $T --database "$url" --log-format text >"$OUT/pg-status.txt" 2>&1 || fail "osc status (text) failed"
grep -q '^phase: *cutover' "$OUT/pg-status.txt" || fail "osc status did not reach the run: $(cat "$OUT/pg-status.txt")"
[ "$(grep -c '^replica:' "$OUT/pg-status.txt")" = 2 ] || fail "osc status does not show the two replicas: $(cat "$OUT/pg-status.txt")"
# the same target, the password through PGPASSWORD, the table schema-qualified
PGPASSWORD=$PW "$OSC" status --table public.$T --database "postgres://osc_pw@127.0.0.1:$OSC_PG_PORT/osctest" \
    >"$OUT/pg-status.json" 2>&1 || fail "osc status (PGPASSWORD) failed"
grep -q '"phase":"cutover"' "$OUT/pg-status.json" || fail "a status without the password in the URL missed the run"
# libpq's key=value form, another user: the same target
"$OSC" status --table $T --database "host=127.0.0.1 port=$OSC_PG_PORT dbname=osctest user=postgres" \
    >"$OUT/pg-status2.json" 2>&1 || fail "osc status (key=value) failed"
grep -q '"phase":"cutover"' "$OUT/pg-status2.json" || fail "a status in key=value form missed the run"
ctl_out=$(CTL_URL=$url ctl set --table $T chunk-time=300ms) || fail "osc set: $ctl_out"
sock=$(socket_of "$OUT/pg.jsonl")
[ -S "$sock" ] || fail "no socket at '$sock'"
expect_socket_name "$sock" "$(printf 'postgresql\n127.0.0.1\n%s\nosctest\npublic\n%s' "$OSC_PG_PORT" $T)"
ls -la "$(dirname "$sock")" >"$OUT/pg-sockdir.txt"
printf '%s\n' "$sock" >>"$OUT/pg-sockdir.txt"
rm -f "$TEST_TMP/pg.pp"
osc_bg_wait 60
stop_writer
[ "$OSC_BG_RC" = 0 ] || { tail -n 5 "$OUT/pg.err" >&2; fail "the PostgreSQL run exited $OSC_BG_RC"; }
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 5" || fail "ALTER of the reference table"
tables_equal $T $R "id, v, n, extra, pad, c"
grep -q '"msg":"sql: ' "$OUT/pg.jsonl" || fail "-vv printed no SQL"
"$OSC" history --table $T --database "$url" >"$OUT/pg-history.txt" 2>&1 || fail "osc history failed"
grep -q "ADD COLUMN c int DEFAULT 5" "$OUT/pg-history.txt" || fail "osc history does not show the run"
psql_q "SELECT string_agg(m::text, E'\n') FROM osc.migrations m" >"$OUT/pg-state.txt" || fail "reading osc.migrations"
psql_q "SELECT string_agg(h::text, E'\n') FROM pg_stat_activity h" >"$OUT/pg-activity.txt"
no_secret "PostgreSQL run" "$OUT"/pg.jsonl "$OUT"/pg.err "$OUT"/pg.out "$OUT"/pg-status* "$OUT"/pg-history.txt \
    "$OUT"/pg-state.txt "$OUT"/pg-sockdir.txt "$OUT"/pg-cutover.env "$OUT"/pg-success.env
grep -q "^OSC_DATABASE=postgres://osc_pw:\*\*\*@127.0.0.1:$OSC_PG_PORT/osctest$" "$OUT/pg-success.env" \
    || fail "the hook's OSC_DATABASE is not the masked URL: $(grep OSC_DATABASE "$OUT/pg-success.env")"
grep -q '^PGPASSWORD=' "$OUT/pg-success.env" && fail "the hook inherited PGPASSWORD"

# malformed URLs: the message masks the password (libpq quotes the whole URL here)
refused_masked "PostgreSQL URL with an unclosed [" --table $T --alter "ADD COLUMN d int" \
    --database "postgres://osc_pw:$ENC@[::1/osctest"
refused_masked "PostgreSQL URL with a bad port" --table $T --alter "ADD COLUMN d int" \
    --database "postgres://osc_pw:$ENC@127.0.0.1:notaport/osctest"
refused_masked "a bad %-escape in the password" --table $T --alter "ADD COLUMN d int" \
    --database "postgres://osc_pw:$ENC%zz@127.0.0.1:$OSC_PG_PORT/osctest"
refused_masked "an unknown scheme" --table $T --alter "ADD COLUMN d int" \
    --database "postgress://osc_pw:$ENC@127.0.0.1:$OSC_PG_PORT/osctest"
refused_masked "a URL where a word belongs" --table $T --alter "ADD COLUMN d int" "$url"
assert_eq f "$(has_column $T d)" "no column d after the refusals"

# --database-file: a file of the user's that nobody else can read
psql_q "DROP TABLE _${T}_osc_old" || fail "drop _${T}_osc_old"
dbf=$TEST_TMP/dbfile
printf '# the test primary\n%s\n' "$url" >"$dbf"
chmod 600 "$dbf"
"$OSC" plan --table $T --alter "ADD COLUMN d int" --database-file "$dbf" >"$OUT/plan.out" 2>"$OUT/plan.err" \
    || fail "osc plan --database-file: $(cat "$OUT/plan.err")"
no_secret "osc plan --database-file" "$OUT/plan.out" "$OUT/plan.err"
chmod 640 "$dbf"
rc=0
"$OSC" plan --table $T --alter "ADD COLUMN d int" --database-file "$dbf" >/dev/null 2>"$OUT/dbf.err" || rc=$?
[ "$rc" = 2 ] && grep -q "chmod 600" "$OUT/dbf.err" || fail "a group-readable --database-file: exit $rc: $(cat "$OUT/dbf.err")"
chmod 600 "$dbf"
chown nobody "$dbf"
rc=0
"$OSC" plan --table $T --alter "ADD COLUMN d int" --database-file "$dbf" >/dev/null 2>"$OUT/dbf.err" || rc=$?
[ "$rc" = 2 ] && grep -q "not to you" "$OUT/dbf.err" || fail "another user's --database-file: exit $rc: $(cat "$OUT/dbf.err")"
rm -f "$dbf"
psql_q "DROP TABLE $T, $R" || fail "drop the PostgreSQL tables"
drop_pg_role

# ---- MariaDB: a user with a password -----------------------------------------
my_q "DROP USER IF EXISTS osc_pw; CREATE USER osc_pw IDENTIFIED BY $(my_ql "$PW"); GRANT ALL PRIVILEGES ON *.* TO osc_pw" \
    || fail "CREATE USER osc_pw"
my_wait_replica_caught_up   # the replica osc finds is reached with the same user
murl="mysql://osc_pw:$ENC@127.0.0.1:$OSC_MY_PORT/osctest"
my_fixture int $T $R 3000
start_mywriter int $T $R
MYSQL_PWD=$PW "$OSC" --strategy copy --table $T --alter "ADD COLUMN c INT DEFAULT 5" --database "$murl" \
    -vv --log-format text --postpone-cutover "$TEST_TMP/my.pp" \
    --on-cutover "env >$OUT/my-cutover.env" --on-success "env >$OUT/my-success.env" \
    >"$OUT/my.out" 2>"$OUT/my.err" &
OSC_BG_PID=$!
wait_for_text 'cutover postponed' 60 "$OUT/my.err" || { tail -n 20 "$OUT/my.err" >&2; fail "the MariaDB run did not reach its postponed cutover"; }
tr '\0' ' ' </proc/$OSC_BG_PID/cmdline >"$OUT/my.cmdline"
ps -ef >"$OUT/my.ps"
no_secret "argv of the running osc" "$OUT/my.cmdline" "$OUT/my.ps"
"$OSC" status --table $T --database "$murl" --log-format text >"$OUT/my-status.txt" 2>&1 || fail "osc status (text) failed"
grep -q '^phase: *cutover' "$OUT/my-status.txt" || fail "osc status did not reach the run: $(cat "$OUT/my-status.txt")"
# no password, another user, the database in --table: the same target
"$OSC" status --table osctest.$T --database "mysql://root@127.0.0.1:$OSC_MY_PORT" \
    >"$OUT/my-status.json" 2>&1 || fail "osc status (another user) failed"
grep -q '"phase":"cutover"' "$OUT/my-status.json" || fail "a status with other credentials missed the run"
sock=$(socket_of "$OUT/my.err")
expect_socket_name "$sock" "$(printf 'mysql\n127.0.0.1\n%s\nosctest\n\n%s' "$OSC_MY_PORT" $T)"
printf '%s\n' "$sock" >"$OUT/my-sockdir.txt"
rm -f "$TEST_TMP/my.pp"
osc_bg_wait 60
stop_mywriter
[ "$OSC_BG_RC" = 0 ] || { tail -n 5 "$OUT/my.err" >&2; fail "the MariaDB run exited $OSC_BG_RC"; }
my_q "ALTER TABLE $R ADD COLUMN c INT DEFAULT 5" || fail "ALTER of the reference table"
my_tables_equal $T $R "id, v, n, extra, pad, c"
grep -q 'sql: ' "$OUT/my.err" || fail "-vv printed no SQL"
"$OSC" history --table $T --database "$murl" >"$OUT/my-history.txt" 2>&1 || fail "osc history failed"
my_q "SELECT * FROM _osc_migrations" >"$OUT/my-state.txt" || fail "reading _osc_migrations"
no_secret "MariaDB run" "$OUT"/my.err "$OUT"/my.out "$OUT"/my-status* "$OUT"/my-history.txt "$OUT"/my-state.txt \
    "$OUT"/my-sockdir.txt "$OUT"/my-cutover.env "$OUT"/my-success.env
grep -q "^OSC_DATABASE=mysql://osc_pw:\*\*\*@127.0.0.1:$OSC_MY_PORT/osctest$" "$OUT/my-success.env" \
    || fail "the hook's OSC_DATABASE is not the masked URL"
grep -q '^MYSQL_PWD=' "$OUT/my-success.env" && fail "the hook inherited MYSQL_PWD"

refused_masked "MySQL URL with a bad port" --table $T --alter "ADD COLUMN d INT" \
    --database "mysql://osc_pw:$ENC@127.0.0.1:notaport/osctest"
refused_masked "MySQL URL with an unknown parameter" --table $T --alter "ADD COLUMN d INT" \
    --database "$murl?ssl_mode=REQUIRED"
assert_eq 0 "$(my_has_column $T d)" "no column d after the refusals"
# everything this test kept, once more
no_secret "every file" $(find "$OUT" -type f)
my_q "DROP TABLE IF EXISTS $T, $R, _${T}_osc_old, ${T}_osc_old; DROP USER osc_pw"
echo ok
