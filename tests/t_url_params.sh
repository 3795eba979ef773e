#!/usr/bin/env bash
# Unknown URL parameters are refused before anything connects: a MySQL URL
# with ?ssl_mode=REQUIRED (underscore) or ?sslmode=require was taken as a
# plain-text connection; now each parameter osc does not know, a parameter
# given twice or an empty one is bad input (exit 2) that names the ones osc
# knows, for --database and --replica, for a run, a plan and a status.  On
# PostgreSQL libpq's own parser judges (URL and key=value forms) and osc
# adds the list of libpq's parameters; sslmode reaches libpq (required
# against the test primary, which has no TLS: refused, never plain text).
# Every refusal leaves the schema as it was.
. "$(dirname "$0")/lib.sh"
need_osc
need_my
T=t_urlp

# ---- MySQL -------------------------------------------------------------------
my_q "DROP TABLE IF EXISTS $T, _${T}_osc_old, ${T}_osc_old; CREATE TABLE $T (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
      INSERT INTO $T SELECT seq, seq FROM seq_1_to_200;"
my_before=$(my_schema_snapshot)

# refused RC-CHECK WHAT REGEX ARGS...: osc ARGS must exit 2 with REGEX on stderr, schema unchanged
my_refused() {
    local what=$1 re=$2 rc=0
    shift 2
    "$OSC" "$@" --log-format text >"$OSC_OUT" 2>"$OSC_ERR" || rc=$?
    note "$what: exit $rc: $(head -c 400 "$OSC_ERR")"
    [ "$rc" = 2 ] || fail "$what: exit $rc, expected 2 (a URL parameter osc does not know was accepted)"
    grep -Eq -- "$re" "$OSC_ERR" || fail "$what: stderr does not match /$re/"
    assert_eq "$my_before" "$(my_schema_snapshot)" "$what: MariaDB schema"
}
base="mysql://root@127.0.0.1:$OSC_MY_PORT/osctest"
known="ssl-mode.*ssl-ca.*ssl-cert.*ssl-key"
my_refused "ssl_mode with an underscore" "'ssl_mode'.*did you mean ssl-mode.*$known" \
    --strategy copy --table $T --alter "ADD COLUMN c INT" --database "$base?ssl_mode=REQUIRED"
my_refused "PostgreSQL's sslmode on a MySQL URL" "'sslmode'.*did you mean ssl-mode.*$known" \
    --strategy copy --table $T --alter "ADD COLUMN c INT" --database "$base?sslmode=require"
my_refused "an unknown parameter" "'compress'.*$known" \
    --strategy copy --table $T --alter "ADD COLUMN c INT" --database "$base?ssl-mode=PREFERRED&compress=1"
my_refused "ssl-mode twice" "'ssl-mode' is given twice" \
    --strategy copy --table $T --alter "ADD COLUMN c INT" --database "$base?ssl-mode=REQUIRED&ssl-mode=DISABLED"
my_refused "an empty ssl-ca" "'ssl-ca' has no value" \
    --strategy copy --table $T --alter "ADD COLUMN c INT" --database "$base?ssl-ca="
my_refused "osc plan" "'ssl_mode'" plan --table $T --alter "ADD COLUMN c INT" --database "$base?ssl_mode=REQUIRED"
my_refused "osc status" "'ssl_mode'" status --table $T --database "$base?ssl_mode=REQUIRED"
my_refused "--replica" "--replica: unknown parameter 'sslmode'" \
    --strategy copy --table $T --alter "ADD COLUMN c INT" --database "$base" \
    --replica "mysql://root@127.0.0.1:$OSC_MY_REPLICA_PORT/osctest?sslmode=require"
assert_eq 0 "$(my_has_column $T c)" "$T has no column c after the refusals"
# the parameters osc knows still work: PREFERRED against the primary (which speaks TLS)
rc=0
"$OSC" --strategy copy --table $T --alter "ADD COLUMN c INT" --database "$base?ssl-mode=PREFERRED" \
    >"$OSC_OUT" 2>"$OSC_ERR" || rc=$?
[ "$rc" = 0 ] || { tail -n 5 "$OSC_ERR" >&2; fail "ssl-mode=PREFERRED: exit $rc, expected 0"; }
assert_eq 1 "$(my_has_column $T c)" "$T has column c"
my_q "DROP TABLE IF EXISTS $T, _${T}_osc_old, ${T}_osc_old"

# ---- PostgreSQL --------------------------------------------------------------
fixture int $T ${T}_ref 200
before=$(schema_snapshot)
pg_refused() {
    local what=$1 re=$2 rc=0
    shift 2
    "$OSC" "$@" --log-format text >"$OSC_OUT" 2>"$OSC_ERR" || rc=$?
    note "$what: exit $rc: $(head -c 300 "$OSC_ERR")"
    [ "$rc" = 2 ] || fail "$what: exit $rc, expected 2"
    grep -Eq -- "$re" "$OSC_ERR" || fail "$what: stderr does not match /$re/"
    assert_eq "$before" "$(schema_snapshot)" "$what: schema"
}
pg_known="libpq knows .*sslmode.*sslrootcert"
pg_refused "ssl_mode on a PostgreSQL URL" "\"ssl_mode\".*$pg_known" \
    --strategy copy --table $T --alter "ADD COLUMN c int" --database "$OSC_PG_URL?ssl_mode=require"
pg_refused "MySQL's ssl-mode on a PostgreSQL URL" "\"ssl-mode\".*$pg_known" \
    --strategy copy --table $T --alter "ADD COLUMN c int" --database "$OSC_PG_URL?ssl-mode=REQUIRED"
pg_refused "an unknown key=value option" "\"sslmod\".*$pg_known" \
    --strategy copy --table $T --alter "ADD COLUMN c int" \
    --database "host=127.0.0.1 port=$OSC_PG_PORT dbname=osctest user=postgres sslmod=require"
pg_refused "an unknown --replica parameter" "--replica: .*\"ssl_mode\".*$pg_known" \
    --strategy copy --table $T --alter "ADD COLUMN c int" --database "$OSC_PG_URL" \
    --replica "$OSC_PG_REPLICA_URL?ssl_mode=require"
# sslmode reaches libpq: the test primary has no TLS, so require is refused
pg_refused "sslmode=require without TLS on the server" "SSL" \
    --strategy copy --table $T --alter "ADD COLUMN c int" --database "$OSC_PG_URL?sslmode=require"
assert_eq f "$(has_column $T c)" "$T has no column c after the refusals"
psql_q "DROP TABLE $T, ${T}_ref"
echo ok
