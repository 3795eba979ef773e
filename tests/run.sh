#!/usr/bin/env bash
# Runs osc's tests: starts throwaway servers (tests/servers.sh) in a temp dir,
# runs every tests/t_*.sh (or the ones named as arguments), then build/unit,
# stops the servers, and ends with exactly one line "N passed, N failed".
# Each result line gives the test's seconds; before the last line come the
# slowest tests and where the time went (servers, tests, sanitizer pass).
# Builds nothing: `make test` builds build/osc, build/writer, build/unit and
# the sanitizer build build-san/ first.
#
# Environment:
#   OSC_TEST_TIMEOUT   seconds per test script (default 300)
#   OSC_TEST_PG_PORT   primary port (default 55432; the replica uses +1)
#   OSC_TEST_ENGINES   the engines the tests that run on both use (default
#                      "pg my"; see tests/lib_engine.sh)
#   OSC_SAN            sanitizer pass: the tests in SAN_TESTS below run a second
#                      time with OSC=build-san/osc (AddressSanitizer+UBSan build).
#                        unset/auto: when build-san/osc exists (make test builds it)
#                        1: always (a missing build-san/osc is a failure)
#                        0: never
#   OSC_TEST_KEEP=1    keep the server directory (its logs) after the run
# Exit status 1 when anything failed.
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 1

# The sanitizer pass: a subset that covers option parsing and errors, quoting,
# the whole copy/replay/cutover pipeline under load, kill + resume and cleanup
# on both engines, osc plan, the chunk checksums (with a damaged row) and
# the masking of passwords (t_secrets).
# NAME:ENGINE runs one engine of a test that runs both (OSC_TEST_ENGINES):
# t_kill is left out (t_resume_kill kills mid-copy on both engines, and
# t_old_tables kills and runs osc cleanup on both);
# t_resume_refuse and t_overlap_sigterm run their MariaDB half (the state
# table's refusals, cleanup and history; SIGTERM and resume under the writer);
# t_verify runs the half that was in this pass before its two scripts became one.
# osc proxy: t_proxy_faults (holds, the dead-man switch, the admin socket) and
# t_proxy_tls (TLS on both legs, both protocols' handshakes, a held writer)
# The operator's views: the run's summary event (t_run_summary), the metrics
# endpoint (t_metrics), osc set reading a new load metric (t_set), osc ps
# asking two runs (t_ps); the proxy's metrics (t_proxy_metrics); the plan's
# cast check where values fail, row by row (t_plan_cast).  The parallel
# copy: worker threads and sessions, a wave killed, a worker lost, pause
# (t_parallel_copy).
SAN_TESTS="t_bad_input t_hostile_names t_add_column_default t_resume_kill t_resume_swap t_carry_objects t_carry_resume t_unique_duplicates t_control t_plan t_verify:pg t_resume_refuse:my t_overlap_sigterm:my t_secrets t_my_unique_swap t_pg_unique_swap t_connection:pg t_privileges t_proxy_faults t_proxy_tls t_run_summary:pg t_metrics:pg t_set:pg t_ps t_old_tables t_proxy_metrics t_plan_cast t_parallel_copy t_revert"

TIMEOUT=${OSC_TEST_TIMEOUT:-300}
pass=0
failed=0
failed_names=()
times=()   # "SECONDS LABEL" of every test run, for the slowest list

TMP=$(mktemp -d /tmp/osc-test.XXXXXX) || exit 1
chmod 0755 "$TMP"
SRV=$TMP/servers

cleanup() {
    tests/servers.sh stop "$SRV" >/dev/null 2>&1
    [ "${OSC_TEST_KEEP:-0}" = 1 ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok - $1"; }
not_ok() {
    failed=$((failed + 1))
    failed_names+=("${1%% (*}")
    echo "not ok - $1"
    if [ -n "${2:-}" ] && [ -f "$2" ]; then
        tail -n 30 "$2" | sed 's/^/#   /'
    fi
}

# ---- servers -------------------------------------------------------------------
t_start=$SECONDS
if ! tests/servers.sh start "$SRV" >"$TMP/servers.log" 2>&1; then
    not_ok "servers start" "$TMP/servers.log"
    echo "$pass passed, $failed failed"
    exit 1
fi
# shellcheck disable=SC1091
. "$SRV/env"
echo "# servers: PostgreSQL primary $OSC_PG_URL, replica $OSC_PG_REPLICA_URL ($((SECONDS - t_start))s to start)"
t_servers=$((SECONDS - t_start))

# ---- which tests ---------------------------------------------------------------
tests=()
if [ $# -gt 0 ]; then
    for a in "$@"; do
        a=$(basename "$a" .sh)
        [ -f "tests/$a.sh" ] || { not_ok "$a (no such test: tests/$a.sh)"; continue; }
        tests+=("$a")
    done
else
    for f in tests/t_*.sh; do
        [ -f "$f" ] && tests+=("$(basename "$f" .sh)")
    done
fi

# run_one LABEL NAME [env assignments...]
run_one() {
    local label=$1 name=$2
    shift 2
    local safe=${label//[:\/ ]/_}
    local log=$TMP/$safe.log t0=$SECONDS rc=0
    env "$@" timeout -k 10 "$TIMEOUT" bash "tests/$name.sh" >"$log" 2>&1 || rc=$?
    local dt=$((SECONDS - t0))
    times+=("$dt $label")
    if [ "$rc" = 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
        ok "$label (${dt}s)"
    else
        [ "$rc" = 124 ] && echo "# $label: timed out after ${TIMEOUT}s" >>"$log"
        not_ok "$label (${dt}s, exit $rc)" "$log"
    fi
}

t0_tests=$SECONDS
for t in "${tests[@]}"; do
    run_one "$t" "$t"
done
t_tests=$((SECONDS - t0_tests))

# ---- sanitizer pass ------------------------------------------------------------
t0_san=$SECONDS
san=${OSC_SAN:-auto}
if [ "$san" = auto ]; then
    if [ -x build-san/osc ]; then san=1; else san=0; echo "# sanitizer pass skipped: no build-san/osc"; fi
fi
if [ "$san" = 1 ]; then
    if [ ! -x build-san/osc ]; then
        not_ok "sanitizer pass (build-san/osc not found; make SANITIZER=address,undefined)"
    else
        for t in $SAN_TESTS; do
            name=${t%%:*} engines=()
            [ "$name" != "$t" ] && engines=(OSC_TEST_ENGINES="${t#*:}")
            # only the ones selected for this run
            case " ${tests[*]} " in *" $name "*) ;; *) continue ;; esac
            run_one "san:$t" "$name" OSC=build-san/osc "${engines[@]}" \
                ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}" \
                UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}"
        done
    fi
fi

t_san=$((SECONDS - t0_san))

# ---- unit tests ----------------------------------------------------------------
# build/unit (and build-san/unit, the sanitizer build) print their own
# "N passed, N failed" line; their counts are added.
for unit in build/unit build-san/unit; do
    if [ ! -x "$unit" ]; then
        echo "# $unit not found: not run"
        continue
    fi
    label=${unit%%/*}
    rc=0
    "$unit" >"$TMP/$label-unit.log" 2>&1 || rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$TMP/$label-unit.log" | tail -n 1)
    if [ -n "$line" ]; then
        up=${line%% passed*}
        uf=${line#*passed, }
        uf=${uf%% failed*}
        pass=$((pass + up))
        failed=$((failed + uf))
        if [ "$uf" != 0 ] || [ "$rc" != 0 ] || grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/$label-unit.log"; then
            [ "$uf" = 0 ] && failed=$((failed + 1))
            failed_names+=("$unit")
            echo "not ok - $unit: $line (exit $rc)"
            tail -n 30 "$TMP/$label-unit.log" | sed 's/^/#   /'
        else
            echo "ok - $unit: $line"
        fi
    else
        not_ok "$unit (exit $rc, no summary line)" "$TMP/$label-unit.log"
    fi
done

if [ ${#times[@]} -gt 0 ]; then
    echo "# slowest:"
    printf '%s\n' "${times[@]}" | sort -rn | head -n 15 | awk '{ printf "#   %4ds  %s\n", $1, $2 }'
fi
echo "# time: servers ${t_servers}s, tests ${t_tests}s, sanitizer pass ${t_san}s, all ${SECONDS}s"
[ ${#failed_names[@]} -gt 0 ] && echo "# failed: ${failed_names[*]}"
[ "${OSC_TEST_KEEP:-0}" = 1 ] && echo "# kept the logs and servers' data in $TMP"
echo "$pass passed, $failed failed"
[ "$failed" = 0 ]
