#!/usr/bin/env bash
# What users of gh-ost, pt-online-schema-change, pg-osc and pg_repack type out
# of habit (src/core/options_hints.c), on PostgreSQL and MariaDB: each is
# refused with exit 2 and a message naming osc's equivalent, and nothing
# changed (schema snapshot, the table equals its mirror, nothing of osc left).
# The ALTER would copy the table, so a run that went ahead would show.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_engine.sh"
need_osc

hints_test() {
    local T=t_hints_$ENGINE R=t_hints_${ENGINE}_ref before
    local ALTER
    ALTER=$(e_pick "ALTER COLUMN n TYPE bigint" "MODIFY n BIGINT")
    e_fixture $T $R 200
    before=$(e_schema_snapshot)

    # hint WANT_REGEX ARGS...: osc with ARGS among a real run's options
    hint() {
        local want=$1
        shift
        e_run_osc --table $T --alter "$ALTER" "$@"
        [ "$OSC_RC" = 2 ] || fail "$*: exit $OSC_RC, expected 2"
        grep -q -- "$want" "$OSC_ERR" || fail "$*: stderr does not name '$want': $(head -c 300 "$OSC_ERR")"
        assert_eq "$before" "$(e_schema_snapshot)" "$*: schema snapshot"
        note "$*: $(head -n 1 "$OSC_ERR")"
    }

    # gh-ost and pt-osc: a run is the real thing unless told otherwise
    hint "osc plan" --execute
    hint "osc plan" -execute                 # gh-ost's Go flags take one dash
    hint "osc plan" --dry-run
    # replicas, flag files, load
    hint "in osc: --max-lag DUR" --max-lag-millis=1500
    hint "in osc: --max-lag DUR" --max-lag-millis 1500
    hint "in osc: --replica URL" --throttle-control-replicas=r1:3306,r2:3306
    hint "in osc: --postpone-cutover FILE" --postpone-cut-over-flag-file=/tmp/osc-hint-postpone
    hint "in osc: --panic-file FILE" --panic-flag-file /tmp/osc-hint-panic
    hint "in osc: --pause-file FILE" --throttle-flag-file=/tmp/osc-hint-pause
    hint "in osc: --critical-interval DUR" --critical-load-interval-millis=500
    hint "in osc: --lock-timeout DUR" --cut-over-lock-timeout-seconds=3
    hint "in osc: --drop-old-table" --ok-to-drop-table
    hint "in osc: --allow-on-replica" --test-on-replica
    hint "maps a column the ALTER renames" --approve-renamed-columns
    hint "triggers, not from the binary log" --assume-rbr
    # --critical-load and --max-load as pt-osc writes them
    hint "NAME=VALUE, e.g. Threads_running=25, not NAME:VALUE" --critical-load Threads_running:50
    hint "needs the threshold: NAME=VALUE" --critical-load Threads_running
    hint "NAME=VALUE, e.g. Threads_running=25, not NAME:VALUE" --max-load Threads_running:25
    # --chunk-size: pt-osc takes 1k; osc's is the first chunk only
    hint "no k/M/G suffix.*--chunk-time" --chunk-size 10k
    # connecting, pg-osc and pg_repack
    hint "in osc: --database URL" --host db1 --port 5432
    hint "in osc: --database URL" -u root
    hint "in osc: --table schema.table" --schema public
    hint "in osc: --alter" --alter-statement "ADD COLUMN z int"
    hint "in osc: --lock-timeout DUR" --wait-time-for-lock=10
    hint "osc never kills sessions" --kill-backends
    # after the subcommand too
    OSC_RC=0
    "$OSC" plan --table $T --alter "$ALTER" --execute --database "$ENG_URL" >"$OSC_OUT" 2>"$OSC_ERR" || OSC_RC=$?
    [ "$OSC_RC" = 2 ] && grep -q "osc plan" "$OSC_ERR" || fail "osc plan --execute: exit $OSC_RC: $(cat "$OSC_ERR")"

    # a value that looks like one of them is a value, not the culprit: the
    # message names the unknown option that is one
    hint "unknown option --no-such-option (see" --on-success --execute --no-such-option
    grep -q "in osc:" "$OSC_ERR" && fail "a hook command --execute was taken for an option: $(cat "$OSC_ERR")"

    # a --config file: its unknown key gets the hint too; gh-ost's --conf is
    # a prefix of --config, and a file named so is read, not skipped
    local cfg
    cfg=$(mktemp /tmp/osc-hints.XXXXXX)
    printf 'max-lag-millis = 1500\n' >"$cfg"
    hint "max-lag-millis'; in osc: --max-lag DUR" --config "$cfg"
    hint "max-lag-millis'; in osc: --max-lag DUR" --conf "$cfg"
    hint "max-lag-millis'; in osc: --max-lag DUR" --conf="$cfg"
    rm -f "$cfg"

    e_tables_equal $T $R "*"
    e_no_leftovers $T
}

for_each_engine hints_test
echo "ok"
