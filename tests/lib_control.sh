# shellcheck shell=bash
# Helpers for the throttle and live-control tests (t_throttle*, t_control*).
# Source after lib.sh.  CTL_URL is the database the commands name (default:
# the PostgreSQL primary).

CTL_URL=${CTL_URL:-$OSC_PG_URL}

# ctl COMMAND ARGS...: osc COMMAND ARGS --database CTL_URL; stdout only
ctl() {
    local cmd=$1
    shift
    "$OSC" "$cmd" "$@" --database "$CTL_URL"
}

# status_json T: the running migration's status as one JSON line
status_json() {
    "$OSC" status --table "$1" --database "$CTL_URL" --log-format json
}

# json_num JSON KEY: a numeric field of a one-line JSON object (first match)
json_num() {
    grep -oE "\"$2\":-?[0-9.]+" <<<"$1" | head -n 1 | cut -d: -f2
}

# json_ts_ms FILE REGEX: epoch milliseconds of the first JSON log line matching REGEX
json_ts_ms() {
    local ts
    ts=$(grep -E -- "$2" "$1" | head -n 1 | sed -n 's/^{"ts":"\([^"]*\)".*/\1/p')
    [ -n "$ts" ] || return 1
    date -d "$ts" +%s%3N
}

now_ms() { date +%s%3N; }

# rows_copied T: rows_copied from the status (empty when nothing answers)
rows_copied() {
    json_num "$(status_json "$1")" rows_copied
}

# wait_status_phase T PHASE SECONDS: until the status names PHASE
wait_status_phase() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        status_json "$1" 2>/dev/null | grep -q "\"phase\":\"$2\"" && return 0
        sleep 0.1
    done
    return 1
}

# rows_frozen T SECONDS: the status's rows_copied does not move for SECONDS
# (after one short settle for the chunk in flight); prints the count
rows_frozen() {
    local a b
    sleep 0.5
    a=$(rows_copied "$1")
    sleep "$2"
    b=$(rows_copied "$1")
    [ -n "$a" ] && [ "$a" = "$b" ] || { echo "moved: $a -> $b"; return 1; }
    echo "$a"
}

# osc_bg_url URL OUT ERR ARGS...: like osc_bg, against URL
osc_bg_url() {
    local url=$1 out=$2 err=$3
    shift 3
    "$OSC" "$@" --strategy "$OSC_STRATEGY" --database "$url" >"$out" 2>"$err" &
    OSC_BG_PID=$!
    note "osc $* --database $url (background, pid $OSC_BG_PID)"
}

# replica_replay pause|resume: PostgreSQL replica WAL replay
replica_replay() {
    psql_replica "SELECT pg_wal_replay_$1()" >/dev/null || fail "pg_wal_replay_$1 failed"
}

# ctl_cleanup: kill a background osc a failed test left running (it would
# hold the table for the next test), then lib.sh's cleanup
ctl_cleanup() {
    local rc=${1:-$?}
    if [ "$rc" != 0 ]; then
        for f in "$TEST_TMP"/*.err; do
            [ -s "$f" ] || continue
            echo "# --- $f (last messages, progress lines left out) ---" >&2
            grep -v '"event":"progress"' "$f" | tail -n 12 | cut -c1-300 >&2
        done
    fi
    if [ -n "${OSC_BG_PID:-}" ] && kill -0 "$OSC_BG_PID" 2>/dev/null; then
        kill -KILL "$OSC_BG_PID" 2>/dev/null
        wait "$OSC_BG_PID" 2>/dev/null
    fi
    _lib_cleanup
}
trap ctl_cleanup EXIT
