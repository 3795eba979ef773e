#!/usr/bin/env bash
# make install / make uninstall into a DESTDIR (no server needed): exactly
# the binary, the man page and the bash completion, with their modes, under
# PREFIX (and BINDIR etc. when given); each a copy of its source; the
# installed osc runs, man reads the installed page, bash loads the
# completion; uninstall removes those three files and nothing else, twice in
# a row without an error.
# no server: lib.sh asks for one's URL, which nothing here uses
OSC_PG_URL=${OSC_PG_URL:-unused}
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$ROOT/build/osc" ] || fail "build/osc not built (make)"
D=$TEST_TMP/stage
mk() { make -s -C "$ROOT" "$@" >"$TEST_TMP/make.out" 2>&1 || fail "make $*: $(cat "$TEST_TMP/make.out")"; }

# files_under DIR: "mode path" of every file and link under DIR, sorted
files_under() { (cd "$1" && find . \( -type f -o -type l \) -printf '%m %p\n' | sort); }

# ---- PREFIX=/usr -----------------------------------------------------------------------
mkdir -p "$D/usr/bin"
echo keep >"$D/usr/bin/other-tool"   # someone else's file in the same directory
mk install DESTDIR="$D" PREFIX=/usr
want="644 ./usr/bin/other-tool
644 ./usr/share/bash-completion/completions/osc
644 ./usr/share/man/man1/osc.1
755 ./usr/bin/osc"
assert_eq "$(sort <<<"$want")" "$(files_under "$D")" "installed files (PREFIX=/usr)"
cmp "$D/usr/bin/osc" "$ROOT/build/osc" || fail "installed osc differs from build/osc"
cmp "$D/usr/share/man/man1/osc.1" "$ROOT/man/osc.1" || fail "installed man page differs"
cmp "$D/usr/share/bash-completion/completions/osc" "$ROOT/completion/osc" || fail "installed completion differs"
"$D/usr/bin/osc" --version | grep -q '^osc ' || fail "the installed osc does not run"
MANWIDTH=80 man --warnings -l "$D/usr/share/man/man1/osc.1" >"$TEST_TMP/man.out" 2>"$TEST_TMP/man.err" ||
    fail "man -l of the installed page: exit $?"
[ -s "$TEST_TMP/man.err" ] && fail "man warns: $(head -n 3 "$TEST_TMP/man.err")"
grep -q 'online schema change' "$TEST_TMP/man.out" || fail "the installed man page does not render"
# man finds it by name through MANPATH as it would under /usr/share/man
MANPATH=$D/usr/share/man MANWIDTH=80 man osc 2>/dev/null | grep -q '^OSC(1)' || fail "man osc: not found under MANPATH"
bash --norc --noprofile -c '. "$1" && complete -p osc' _ "$D/usr/share/bash-completion/completions/osc" |
    grep -q -- '-F _osc osc' || fail "the installed completion does not complete osc"
note "make install DESTDIR PREFIX=/usr: $(files_under "$D" | grep -vc other-tool) files, modes and contents right"

# installing again over an installed copy is fine (an upgrade)
mk install DESTDIR="$D" PREFIX=/usr
assert_eq "$(sort <<<"$want")" "$(files_under "$D")" "installed files after a second install"

mk uninstall DESTDIR="$D" PREFIX=/usr
assert_eq "644 ./usr/bin/other-tool" "$(files_under "$D")" "files left after uninstall"
mk uninstall DESTDIR="$D" PREFIX=/usr
assert_eq "644 ./usr/bin/other-tool" "$(files_under "$D")" "files left after a second uninstall"
note "make uninstall: the three files gone, the neighbour kept, twice without an error"

# ---- the default PREFIX, and directories given one by one ----------------------------------
rm -rf "$D"
mk install DESTDIR="$D"
want="644 ./usr/local/share/bash-completion/completions/osc
644 ./usr/local/share/man/man1/osc.1
755 ./usr/local/bin/osc"
assert_eq "$(sort <<<"$want")" "$(files_under "$D")" "installed files (default PREFIX)"
mk uninstall DESTDIR="$D"
assert_eq "" "$(files_under "$D")" "files left after uninstall (default PREFIX)"

rm -rf "$D"
mk install DESTDIR="$D" PREFIX=/opt/osc BINDIR=/opt/osc/sbin BASHCOMPDIR=/etc/bash_completion.d
want="644 ./etc/bash_completion.d/osc
644 ./opt/osc/share/man/man1/osc.1
755 ./opt/osc/sbin/osc"
assert_eq "$(sort <<<"$want")" "$(files_under "$D")" "installed files (PREFIX, BINDIR, BASHCOMPDIR)"
mk uninstall DESTDIR="$D" PREFIX=/opt/osc BINDIR=/opt/osc/sbin BASHCOMPDIR=/etc/bash_completion.d
assert_eq "" "$(files_under "$D")" "files left after uninstall (PREFIX, BINDIR, BASHCOMPDIR)"
note "default PREFIX /usr/local; BINDIR, BASHCOMPDIR honoured"
echo "ok"
