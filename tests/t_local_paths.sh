#!/usr/bin/env bash
# No path in a shared directory is trusted.  Another local user (nobody,
# through setpriv) prepares traps in a world-writable directory before and
# during runs of root's osc:
#   - the control socket directory ($TMPDIR/osc-<uid>; TMPDIR is the shared
#     directory here) made by nobody, made a symbolic link, or left writable
#     by others: refused, exit 2, nothing changed, and `osc status` talks to
#     nothing there;
#   - a socket listening on the old predictable /tmp/osc-<hash>.sock: the run
#     no longer goes there (it used to exit 3 "another osc answers there");
#   - a socket of nobody's at a --socket path: the run refuses it (exit 2),
#     `osc status` does not talk to it; and the other way round, an osc run by
#     nobody refuses root's connection (SO_PEERCRED), and root's client
#     refuses nobody's socket;
#   - symbolic links and foreign files at --postpone-cutover and --log-file
#     paths: refused, the link's target neither created nor appended to;
#     foreign --pause-file and --panic-file at the start: refused; a foreign
#     panic file during the run, and the postpone flag turned foreign, are
#     ignored (logged), and the run ends as the user meant, equal to the
#     mirror under the writer.
# A run makes its socket directory 0700.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_control.sh"
need_osc
T=t_lpath R=t_lpath_ref
NOBODY=65534
command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed to act as another user"
command -v socat >/dev/null || fail "socat is needed to play a hostile socket"
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- "$@"; }

# the shared directories: SH like /tmp (sticky), OPEN like a shared spool or
# project directory (everybody may also rename and remove)
chmod 0711 "$TEST_TMP"
SH=$TEST_TMP/shared
mkdir -m 1777 "$SH"
OPEN=$TEST_TMP/open
mkdir -m 0777 "$OPEN"
chmod 0777 "$OPEN"
unset XDG_RUNTIME_DIR
export TMPDIR=$SH
SOCKDIR=$SH/osc-$(id -u)

SOCAT_PIDS=()
OLD_SOCK=
cleanup_paths() {
    local rc=$?
    for p in "${SOCAT_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    [ -n "$OLD_SOCK" ] && rm -f "$OLD_SOCK"
    ctl_cleanup "$rc"
}
trap cleanup_paths EXIT

# impostor PATH: nobody listens on PATH and answers like osc would
impostor() {
    # setpriv execs socat: $! is socat's pid
    setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- \
        socat UNIX-LISTEN:"$1",fork SYSTEM:'echo ok; echo "phase:     impostor answers"' 2>/dev/null &
    SOCAT_PIDS+=($!)
    local i
    for ((i = 0; i < 50; i++)); do [ -S "$1" ] && return 0; sleep 0.1; done
    fail "the impostor did not listen on $1"
}

fixture int $T $R 2000
osc_state_forget $T
before=$(schema_snapshot)

# refused WHAT REGEX ARGS...: run_osc ARGS exits 2 with REGEX on stderr; nothing changed
refused() {
    local what=$1 re=$2
    shift 2
    run_osc "$@" --log-format text
    [ "$OSC_RC" = 2 ] || fail "$what: exit $OSC_RC, expected 2"
    grep -Eq -- "$re" "$OSC_ERR" || fail "$what: stderr does not match /$re/"
    assert_eq "$before" "$(schema_snapshot)" "$what: schema"
    assert_eq 0 "$(osc_state_rows $T)" "$what: state rows of $T"
    note "$what: refused"
}

# ---- the socket directory ---------------------------------------------------------
as_nobody mkdir -m 0777 "$SOCKDIR"
refused "a socket directory made by nobody" "$SOCKDIR.*belongs to uid $NOBODY.*XDG_RUNTIME_DIR" \
    --table $T --alter "ADD COLUMN c int"
rc=0
"$OSC" status --table $T --database "$OSC_PG_URL" --log-format text >"$OSC_OUT" 2>"$OSC_ERR" || rc=$?
[ "$rc" = 2 ] && grep -q "belongs to uid $NOBODY" "$OSC_ERR" || fail "osc status with nobody's socket directory: exit $rc: $(cat "$OSC_ERR")"
as_nobody rmdir "$SOCKDIR"
as_nobody mkdir -m 0700 "$SH/nobodys"
as_nobody ln -s "$SH/nobodys" "$SOCKDIR"
refused "a socket directory that is nobody's link" "$SOCKDIR.*symbolic link" --table $T --alter "ADD COLUMN c int"
as_nobody rm "$SOCKDIR"
ln -s "$TEST_TMP" "$SOCKDIR"
refused "a socket directory that is a link of ours" "$SOCKDIR.*symbolic link" --table $T --alter "ADD COLUMN c int"
rm "$SOCKDIR"
mkdir -m 0777 "$SOCKDIR"
chmod 0777 "$SOCKDIR"
refused "a socket directory writable by all" "$SOCKDIR.*writable by others" --table $T --alter "ADD COLUMN c int"
rmdir "$SOCKDIR"

# ---- a socket at the old predictable path, and at a --socket path -----------------
OLD_SOCK=/tmp/osc-$(printf '%s\n%s' "$OSC_PG_URL" $T | sha256sum | cut -c1-16).sock
rm -f "$OLD_SOCK" 2>/dev/null
impostor "$OLD_SOCK"
impostor "$SH/steer.sock"
refused "nobody's socket at --socket" "steer.sock belongs to uid $NOBODY" --table $T --alter "ADD COLUMN c int" \
    --socket "$SH/steer.sock"
rc=0
"$OSC" status --table $T --socket "$SH/steer.sock" --database "$OSC_PG_URL" --log-format text \
    >"$OSC_OUT" 2>"$OSC_ERR" || rc=$?
grep -q impostor "$OSC_OUT" "$OSC_ERR" && fail "osc status talked to nobody's socket: $(cat "$OSC_OUT")"
[ "$rc" = 2 ] || fail "osc status on nobody's socket: exit $rc, expected 2"
ln -s "$SH/steer.sock" "$SH/link.sock"
refused "a link at --socket" "link.sock is a symbolic link" --table $T --alter "ADD COLUMN c int" --socket "$SH/link.sock"

# ---- links and foreign files where osc writes, flags at the start -----------------
echo precious >"$TEST_TMP/victim"
as_nobody ln -s "$TEST_TMP/victim-made" "$OPEN/pp-link"
refused "--postpone-cutover: a planted link" "pp-link is a symbolic link" --table $T --alter "ADD COLUMN c int" \
    --postpone-cutover "$OPEN/pp-link" --max-runtime 20s
[ -e "$TEST_TMP/victim-made" ] && fail "osc created the target of a planted --postpone-cutover link"
as_nobody touch "$OPEN/pp-file"
refused "--postpone-cutover: nobody's file" "pp-file belongs to uid $NOBODY" --table $T --alter "ADD COLUMN c int" \
    --postpone-cutover "$OPEN/pp-file" --max-runtime 20s
as_nobody ln -s "$TEST_TMP/victim" "$OPEN/log-link"
refused "--log-file: a planted link" "log-link is a symbolic link" --table $T --alter "ADD COLUMN c int" \
    --log-file "$OPEN/log-link"
assert_eq precious "$(cat "$TEST_TMP/victim")" "the target of a planted --log-file link"
as_nobody sh -c "umask 0; : >'$OPEN/log-file'"
refused "--log-file: nobody's file" "log-file belongs to uid $NOBODY" --table $T --alter "ADD COLUMN c int" \
    --log-file "$OPEN/log-file"
as_nobody mkfifo "$OPEN/log-fifo"
chown 0 "$OPEN/log-fifo"
refused "--log-file: a FIFO" "log-fifo.*(not a regular file|No such device)" --table $T --alter "ADD COLUMN c int" \
    --log-file "$OPEN/log-fifo"
as_nobody touch "$SH/pause" "$SH/panic"
refused "--pause-file: nobody's file" "pause belongs to uid $NOBODY" --table $T --alter "ADD COLUMN c int" \
    --pause-file "$SH/pause" --max-runtime 5s
refused "--panic-file: nobody's file" "panic belongs to uid $NOBODY" --table $T --alter "ADD COLUMN c int" \
    --panic-file "$SH/panic"
as_nobody rm -f "$SH/pause" "$SH/panic"

# ---- a run, under the writer: foreign flags appear while it runs ------------------
# (the impostor still listens on the old path; the run uses its own directory)
start_writer int $T $R
osc_bg "$TEST_TMP/run.out" "$TEST_TMP/run.err" --table $T --alter "ADD COLUMN c int DEFAULT 5" \
    --panic-file "$SH/panic" --pause-file "$SH/pause" --postpone-cutover "$SH/postpone" --log-format text
wait_for_text 'cutover postponed' 60 "$TEST_TMP/run.err" || { stop_writer; fail "the run did not reach its postponed cutover"; }
assert_eq "700 root" "$(stat -c '%a %U' "$SOCKDIR")" "mode and owner of the socket directory the run made"
as_nobody touch "$SH/panic"
as_nobody ln -s "$SH/postpone" "$SH/pause"
wait_for_text "ignoring --panic-file $SH/panic" 10 "$TEST_TMP/run.err" || { stop_writer; fail "no word of the foreign panic file"; }
wait_for_text "ignoring --pause-file $SH/pause: it is a symbolic link" 10 "$TEST_TMP/run.err" \
    || { stop_writer; fail "no word of the linked pause file"; }
out=$(status_json $T) || fail "osc status: $out"
grep -q '"throttled":false' <<<"$out" || fail "a foreign flag file throttles the run: $out"
# a run from cron has no XDG_RUNTIME_DIR, the user's shell has: status finds it
mkdir -m 0700 "$TEST_TMP/xdg"
out=$(XDG_RUNTIME_DIR=$TEST_TMP/xdg status_json $T) || fail "osc status with XDG_RUNTIME_DIR: $out"
grep -q '"phase":"cutover"' <<<"$out" || fail "osc status with XDG_RUNTIME_DIR set missed the run: $out"
rc=0
XDG_RUNTIME_DIR=$SH "$OSC" status --table $T --database "$OSC_PG_URL" >"$OSC_OUT" 2>"$OSC_ERR" || rc=$?
[ "$rc" = 2 ] && grep -q "XDG_RUNTIME_DIR.*writable by others" "$OSC_ERR" \
    || fail "an XDG_RUNTIME_DIR open to all: exit $rc: $(cat "$OSC_ERR")"
# the postpone flag becomes somebody else's: it no longer holds the swap
chown $NOBODY "$SH/postpone"
osc_bg_wait 60
stop_writer
[ "$OSC_BG_RC" = 0 ] || { tail -n 8 "$TEST_TMP/run.err" >&2; fail "the run exited $OSC_BG_RC, expected 0"; }
psql_q "ALTER TABLE $R ADD COLUMN c int DEFAULT 5"
tables_equal $T $R "id, v, n, extra, pad, c"
no_osc_leftovers $T

# ---- both ends check the other's uid: an osc run by nobody ---------------------------
psql_q "DROP TABLE _${T}_osc_old"
osc_state_forget $T
note "an osc run by nobody, steered by root"
cp "$OSC" "$SH/osc-bin"
chmod 0755 "$SH/osc-bin"
as_nobody mkdir -m 0700 "$SH/nobody-home"
HOME=$SH/nobody-home as_nobody "$SH/osc-bin" --strategy "$OSC_STRATEGY" --database "$OSC_PG_URL" --table $T \
    --alter "ADD COLUMN d int" --socket "$SH/n.sock" --postpone-cutover "$SH/n.pp" --log-format text \
    >"$TEST_TMP/n.out" 2>"$TEST_TMP/n.err" &
OSC_BG_PID=$!
wait_for_text 'cutover postponed' 60 "$TEST_TMP/n.err" || fail "nobody's run did not reach its postponed cutover"
# root passes the socket's mode, not the server's check
reply=$(echo status | socat -t 2 - UNIX-CONNECT:"$SH/n.sock" 2>&1) || true
grep -q phase <<<"$reply" && fail "nobody's osc answered root: $reply"
wait_for_text "refused a connection from uid 0" 10 "$TEST_TMP/n.err" || fail "nobody's osc did not say it refused root"
rc=0
"$OSC" status --table $T --socket "$SH/n.sock" --database "$OSC_PG_URL" --log-format text \
    >"$OSC_OUT" 2>"$OSC_ERR" || rc=$?
[ "$rc" = 2 ] && grep -q "belongs to uid $NOBODY" "$OSC_ERR" || fail "root's osc status on nobody's socket: exit $rc: $(cat "$OSC_ERR")"
rm -f "$SH/n.pp"
osc_bg_wait 60
[ "$OSC_BG_RC" = 0 ] || { tail -n 5 "$TEST_TMP/n.err" >&2; fail "nobody's run exited $OSC_BG_RC"; }
assert_eq t "$(has_column $T d)" "nobody's run added d"
psql_q "DROP TABLE $T, $R, _${T}_osc_old"
echo ok
