#!/usr/bin/env bash
# Every JSON text osc prints parses, whatever the text inside it: quotes,
# backslashes and control characters reach the log's JSON lines (the table
# name, the ALTER), `osc status` as JSON (the table name, a throttle reason
# naming a pause file), `osc plan --format json` (the ALTER in the SQL),
# `osc history` as JSON (state-row columns a person or another tool wrote:
# phase, outcome, host, message) and `osc proxy status --format json` (the
# upstream's socket directory).  Each output is parsed with python3's json
# module, line by line, strict UTF-8.  The migration itself still equals its
# mirror.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
need_osc
command -v python3 >/dev/null || fail "python3 is needed to parse the JSON"

# text with a quote, a backslash, a tab, a newline and a control character
BAD=$'q"uote \\back\tslash\nnl\x01ctl\x1b[0m'
T='j"s\on' R='j"s\on_ref'
QT=$(qi "$T")
ALTER="ADD COLUMN note text DEFAULT $(ql "$BAD")"
PAUSE="$TEST_TMP/pa\"u\\se"$'\t'"file"

# parse_json FILE WHAT [MIN]: every non-empty line of FILE is one JSON
# object (at least MIN of them, default 1); prints the count
parse_json() {
    local n
    n=$(python3 -c '
import json, sys
n = 0
for raw in sys.stdin.buffer:
    line = raw.decode("utf-8")  # strict: JSON is UTF-8
    if line.strip():
        if not isinstance(json.loads(line), dict):
            sys.exit("not an object: " + line)
        n += 1
print(n)' <"$1") || { cut -c1-400 "$1" | head -n 20 >&2; fail "$2: not valid JSON"; }
    [ "$n" -ge "${3:-1}" ] || fail "$2: $n JSON line(s), expected at least ${3:-1}"
    echo "$n"
}

# json_field FILE KEY: KEY of the first JSON line of FILE that has it (decoded)
json_field() {
    python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    if line.strip():
        o = json.loads(line)
        if sys.argv[2] in o:
            print(o[sys.argv[2]], end="")
            break' "$1" "$2"
}

osc_state_forget "$T"
fixture int "$T" "$R" 2000

# ---- osc plan --format json: the ALTER's literal in the SQL ----
expect_osc 0 plan --table "$QT" --alter "$ALTER" --format json
parse_json "$OSC_OUT" "osc plan --format json" >/dev/null
assert_eq "public.$T" "$(json_field "$OSC_OUT" table)" "the plan's table"
python3 -c 'import json, sys; p = json.load(open(sys.argv[1])); sys.exit(not any(sys.argv[2] in q for q in p["sql"]))' \
    "$OSC_OUT" "$(ql "$BAD")" || fail "the plan's SQL does not hold the ALTER's literal as it was given"

# ---- the run: log lines and the status while paused on a hostile path ----
: >"$PAUSE"
osc_bg "$TEST_TMP/o.out" "$TEST_TMP/o.err" --table "$QT" --alter "$ALTER" --pause-file "$PAUSE" --log-format json
st=
for _ in $(seq 1 300); do
    st=$(status_json "$QT" 2>/dev/null) && grep -q '"throttled":true' <<<"$st" && break
    kill -0 "$OSC_BG_PID" 2>/dev/null || break
    sleep 0.1
done
printf '%s\n' "$st" >"$TEST_TMP/status.json"
grep -q '"throttled":true' "$TEST_TMP/status.json" || { cat "$TEST_TMP/o.err" >&2; fail "no paused status: $st"; }
parse_json "$TEST_TMP/status.json" "osc status (json)" >/dev/null
assert_eq "$QT" "$(json_field "$TEST_TMP/status.json" table)" "the status's table"
reason=$(json_field "$TEST_TMP/status.json" throttle_reason)
assert_eq "the pause file $PAUSE exists" "$reason" "the status's throttle reason"
rm -f "$PAUSE"
osc_bg_wait 120
assert_eq 0 "$OSC_BG_RC" "exit status of the run"
n=$(parse_json "$TEST_TMP/o.err" "the run's JSON log" 3)
note "$n JSON log lines parsed"
grep -q '"table":' "$TEST_TMP/o.err" || fail "the log lines name no table"
psql_q "ALTER TABLE $(qi "$R") ADD COLUMN note text DEFAULT $(ql "$BAD")"
tables_equal "$QT" "$(qi "$R")" "id, v, n, extra, pad, note"
assert_eq 2000 "$(psql_q "SELECT count(*) FROM $QT WHERE note = $(ql "$BAD")")" "rows with the new column's default"

# ---- osc history as JSON, with state-row columns someone else wrote ----
psql_q "UPDATE osc.migrations SET phase = $(ql "$BAD"), outcome = $(ql "o$BAD"), host = $(ql "h$BAD"),
               message = $(ql "m$BAD")
        WHERE schema_name = 'public' AND table_name = $(ql "$T")" >/dev/null || fail "cannot write the state row"
expect_osc 0 history --table "$QT" --log-format json
parse_json "$OSC_OUT" "osc history (json)" >/dev/null
assert_eq "$BAD" "$(json_field "$OSC_OUT" phase)" "the history's phase"
assert_eq "o$BAD" "$(json_field "$OSC_OUT" outcome)" "the history's outcome"
assert_eq "h$BAD" "$(json_field "$OSC_OUT" host)" "the history's host"
expect_osc 0 history --log-format json
parse_json "$OSC_OUT" "osc history of every table (json)" >/dev/null
expect_osc 0 status --table "$QT" --log-format json
parse_json "$OSC_OUT" "osc status with nothing running (json)" >/dev/null
osc_state_forget "$T"

# ---- osc proxy status --format json: the upstream's socket directory ----
. "$(dirname "$0")/lib_proxy.sh"
PORT=$PROXY_BASE_PORT
proxy_start px PORT "postgres:///postgres?host=/tmp/no%22such%5Cdir%09x"
proxy_status px json >"$TEST_TMP/proxy.json" || fail "osc proxy status --format json failed"
parse_json "$TEST_TMP/proxy.json" "osc proxy status --format json" >/dev/null
up=$(json_field "$TEST_TMP/proxy.json" upstream)
assert_eq "postgres:///tmp/no\"such\\dir"$'\t'"x:5432" "$up" "the proxy's upstream"
proxy_stop px
echo ok
