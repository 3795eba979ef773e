# shellcheck shell=bash
# Helpers for the tests of what osc refuses before it starts (t_refuse_*,
# t_privileges, t_alter_hidden).  Source after lib.sh.

# osc_with URL WANT ARGS...: osc --log-format text ARGS --strategy $OSC_STRATEGY
# --database URL (the option given last wins), for 120 s at most (then exit
# 124); stdout in OSC_OUT, stderr in OSC_ERR; the exit status must be WANT
osc_with() {
    local url=$1 want=$2 cmd=()
    shift 2
    need_osc
    OSC_RC=0
    # a command word (plan, cleanup ...) comes first
    case ${1:-} in -*) ;; *) cmd=("$1"); shift ;; esac
    # bounded: an osc that waits for ever (the bugs these tests catch) fails
    timeout -k 5 "${OSC_WITH_TIMEOUT:-120}" "$OSC" "${cmd[@]}" --log-format text "$@" --strategy "$OSC_STRATEGY" --database "$url" \
        >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
    note "osc ${cmd[*]} $* --database $url -> exit $OSC_RC"
    grep -v '^osc: .*rows/s' "$OSC_ERR" | tail -n 8 | cut -c1-400 | sed 's/^/#   err: /'
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$OSC_ERR"; then
        fail "sanitizer report from osc"
    fi
    [ "$OSC_RC" = "$want" ] || fail "osc $* --database $url exited $OSC_RC, expected $want"
}

# said REGEX [WHAT]: osc's stderr matches REGEX (grep -E)
said() {
    grep -qE -- "$1" "$OSC_ERR" || { cat "$OSC_ERR" >&2; fail "${2:-osc did not say /$1/}"; }
}

# pg_untouched T SNAP ROWS: the schema is SNAP, T has ROWS state rows, and
# no osc object exists
pg_untouched() {
    assert_eq "$2" "$(schema_snapshot)" "the schema after the refusal"
    assert_eq "$3" "$(osc_state_rows "$1")" "state rows of $1 after the refusal"
    no_osc_leftovers "$1"
}

# my_state_count T: state rows of T in osctest (0 without a state table)
my_state_count() {
    if [ "$(my_has_table _osc_migrations)" = 0 ]; then
        echo 0
        return 0
    fi
    my_q "SELECT COUNT(*) FROM osctest._osc_migrations WHERE table_name = $(my_ql "$1")"
}

# my_untouched T SNAP ROWS: the MariaDB schema is SNAP, T has ROWS state rows,
# and no osc object exists
my_untouched() {
    assert_eq "$2" "$(my_schema_snapshot)" "the schema after the refusal"
    assert_eq "$3" "$(my_state_count "$1")" "state rows of $1 after the refusal"
    my_no_osc_leftovers "$1"
}

# my_replica_shape DB: tables, columns and triggers of DB on the MariaDB replica, as one md5
my_replica_shape() {
    my_replica_q "SELECT MD5(CONCAT_WS('|',
        (SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$1'),
        (SELECT GROUP_CONCAT(CONCAT(TABLE_NAME, '.', COLUMN_NAME, ' ', COLUMN_TYPE) ORDER BY TABLE_NAME, ORDINAL_POSITION)
           FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$1'),
        (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '$1')))"
}
