#!/usr/bin/env bash
# The documentation osc ships, checked against the source (no server needed):
# - `osc CMD --help` (and `osc --help CMD`, `osc help CMD`) print that
#   command's usage and exit 0; `osc proxy --help` too;
# - man/osc.1 reads without a warning (groff -ww, man --warnings, mandoc -T
#   lint when installed) and names every option of osc's and the proxy's
#   option tables, every command, exit code, environment variable osc reads
#   and variable it gives hooks: an option added without documentation fails
#   here;
# - `osc --help` / `osc proxy --help` and the bash completion
#   (completion/osc) name every option too, and the completion offers the
#   commands, the options and the fixed values;
# - every relative link between README.md, docs/*.md and bench/RESULTS.md
#   names a file that exists, and a heading in it.
# no server: lib.sh asks for one's URL, which nothing here uses
OSC_PG_URL=${OSC_PG_URL:-unused}
. "$(dirname "$0")/lib.sh"
need_osc
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MAN=$ROOT/man/osc.1
COMP=$ROOT/completion/osc
[ -f "$MAN" ] || fail "no man page $MAN"
[ -f "$COMP" ] || fail "no bash completion $COMP"
out=$TEST_TMP/out
err=$TEST_TMP/err

# ---- osc CMD --help ------------------------------------------------------------
"$OSC" --help >"$out" 2>"$err" || fail "osc --help: exit $?"
full=$(cat "$out")
grep -q '^usage: osc --table T --alter' "$out" || fail "osc --help: no usage line"
for cmd in plan revert finish cleanup status pause resume cutover abort set history; do
    for form in "$cmd --help" "$cmd -h" "--help $cmd" "help $cmd"; do
        # shellcheck disable=SC2086
        "$OSC" $form >"$out" 2>"$err" || fail "osc $form: exit $?: $(cat "$err")"
        [ -s "$err" ] && fail "osc $form: stderr: $(cat "$err")"
        grep -Eq "^(usage:|      ) osc $cmd " "$out" || fail "osc $form: no 'osc $cmd' usage line: $(head -n 2 "$out")"
        [ "$(cat "$out")" = "$full" ] && fail "osc $form printed the whole of osc --help, not $cmd's usage"
    done
    note "osc $cmd --help: $(head -n 1 "$out")"
done
# a command's usage with the options that command reads
"$OSC" plan --help >"$out" && grep -q -- '--format text|json' "$out" || fail "osc plan --help: no --format"
"$OSC" set --help >"$out" && grep -q 'chunk-time=DUR' "$out" || fail "osc set --help: no chunk-time="
"$OSC" status --help >"$out" && grep -q -- '--socket PATH' "$out" || fail "osc status --help: no --socket"
"$OSC" revert --help >"$out" && grep -q -- '--drop-old-table' "$out" || fail "osc revert --help: no --drop-old-table"
"$OSC" finish --help >"$out" && grep -q -- '--drop-old-table' "$out" || fail "osc finish --help: no --drop-old-table"
# run and help are the whole usage
for form in "run --help" "help" "help run" "-h"; do
    # shellcheck disable=SC2086
    "$OSC" $form >"$out" 2>"$err" || fail "osc $form: exit $?"
    [ "$(cat "$out")" = "$full" ] || fail "osc $form: not the whole usage"
done
rc=0
"$OSC" help no-such-command >"$out" 2>"$err" || rc=$?
[ "$rc" = 2 ] && grep -q "unknown command 'no-such-command'" "$err" || fail "osc help no-such-command: exit $rc: $(cat "$err")"
for form in "proxy --help" "proxy status --help" "proxy hold --help" "help proxy"; do
    # shellcheck disable=SC2086
    "$OSC" $form >"$out" 2>"$err" || fail "osc $form: exit $?"
    grep -q '^usage: osc proxy --listen' "$out" || fail "osc $form: no proxy usage"
done
note "every command's --help: exit 0, its own usage"

# ---- the man page reads without a warning -----------------------------------------
groff -k -ww -man -Tutf8 "$MAN" >/dev/null 2>"$err" || fail "groff: exit $?"
[ -s "$err" ] && fail "groff -ww warns: $(head -n 5 "$err")"
LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN" >"$out" 2>"$err" || fail "man -l: exit $?"
[ -s "$err" ] && fail "man --warnings -l warns: $(head -n 5 "$err")"
grep -q '^NAME' "$out" && grep -q '^EXIT STATUS' "$out" || fail "man -l: no NAME or EXIT STATUS section"
if command -v mandoc >/dev/null; then
    mandoc -T lint -W warning "$MAN" >"$err" 2>&1 || fail "mandoc -T lint: $(head -n 5 "$err")"
fi
note "man/osc.1: groff -ww and man --warnings are silent"

# ---- every option, documented -------------------------------------------------------
# opts_of FILE TABLE: the long option names of the option table TABLE[] in
# FILE: a `struct option` table ({ "name", ...), or osc's own, whose lines
# start with the name (STRING("name", ...) or { "name", ...)
opts_of() {
    awk -v t="$2" '$0 ~ t"\\[\\] = \\{" { on = 1; next } on && /^\};/ { exit } on' "$1" |
        grep -oE '^[[:space:]]*(\{ |[A-Z_]+\()"[a-z0-9-]+"' | grep -oE '"[a-z0-9-]+"' | tr -d '"'
}
main_opts=$(opts_of "$ROOT/src/core/options_table.c" option_table)
proxy_opts=$(opts_of "$ROOT/proxy/daemon.c" proxy_opts)
[ "$(echo "$main_opts" | wc -l)" -gt 30 ] || fail "could not read osc's option table: $main_opts"
[ "$(echo "$proxy_opts" | wc -l)" -gt 10 ] || fail "could not read the proxy's option table: $proxy_opts"
"$OSC" --help >"$out"
main_help=$(cat "$out")
"$OSC" proxy --help >"$out"
proxy_help=$(cat "$out")
rendered=$(MANWIDTH=200 man -l "$MAN" 2>/dev/null)
missing=()
for o in $main_opts $proxy_opts; do
    roff=${o//-/\\-}
    grep -qF -- "\\-\\-$roff" "$MAN" || missing+=("man:--$o")
    grep -Eq -- "--$o([^a-z0-9-]|$)" <<<"$rendered" || missing+=("rendered man:--$o")
    grep -Eq -- "--$o([^a-z0-9-]|$)" "$COMP" || missing+=("completion:--$o")
done
for o in $main_opts; do
    grep -Eq -- "--$o([^a-z0-9-]|$)" <<<"$main_help" || missing+=("osc --help:--$o")
done
for o in $proxy_opts; do
    grep -Eq -- "--$o([^a-z0-9-]|$)" <<<"$proxy_help" || missing+=("osc proxy --help:--$o")
done
# the commands of options.c's table, and proxy's
cmds=$(awk '/subcommands\[\] = \{/ { on = 1; next } on && /^\};/ { exit } on' "$ROOT/src/core/options.c" |
    grep -oE '\{ "[a-z]+"' | sed 's/{ "//; s/"//')
[ "$(echo "$cmds" | wc -w)" -ge 10 ] || fail "could not read the command table: $cmds"
for c in $cmds proxy; do
    grep -Eq "^ {7}(osc )?$c( |$)" <<<"$rendered" || missing+=("man command:$c")
    grep -Eq "_osc_commands=\"[^\"]*\\b$c\\b" "$COMP" || missing+=("completion command:$c")
done
# exit codes, in EXIT STATUS
exits=$(sed -n '/^EXIT STATUS/,/^[A-Z]/p' <<<"$rendered")
for c in 0 1 2 3; do
    grep -Eq "^ {7}$c( |$)" <<<"$exits" || missing+=("exit code $c")
done
# the environment osc reads, and what hooks get
envs=$(grep -rhoE 'getenv\("[A-Z_]+"\)' "$ROOT/src" "$ROOT/proxy" "$ROOT/cutover" "$ROOT/replicator" |
    sed 's/getenv("//; s/")//' | sort -u)
hookenv=$(grep -hoE '"OSC_[A-Z_]+' "$ROOT/src/core/hooks.c" | tr -d '"' | sort -u)
[ -n "$envs" ] && [ -n "$hookenv" ] || fail "could not read the environment variables"
for v in $envs $hookenv; do
    grep -Eq "(^|[^A-Z_])$v([^A-Z_]|$)" <<<"$rendered" || missing+=("environment:$v")
done
[ ${#missing[@]} -eq 0 ] || fail "not documented: ${missing[*]}"
note "$(echo $main_opts $proxy_opts | wc -w) options, $(echo $cmds | wc -w) commands, 4 exit codes, $(echo $envs $hookenv | wc -w) variables: all in man/osc.1, --help and the completion"

# ---- the completion -------------------------------------------------------------------
# complete WORDS...: what completion/osc offers for the last word
complete_words() {
    bash --norc --noprofile -c '
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _osc
        [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$COMP" "$@"
}
expect_completion() {
    local want=$1 got
    shift
    got=$(complete_words "$@" | tr '\n' ' ')
    [ "$got" = "$want" ] || fail "completion of '$*': got '$got', expected '$want'"
}
bash --norc --noprofile -c '. "$1" && complete -p osc' _ "$COMP" >/dev/null || fail "completion/osc defines no completion for osc"
expect_completion "pause plan proxy ps " osc p
expect_completion "cleanup cutover " osc c
expect_completion "resume revert " osc re
expect_completion "finish " osc help f
expect_completion "--revertible " osc --table t --rev
expect_completion "checksum count none " osc --verify ""
expect_completion "json " osc --log-format j
expect_completion "auto copy " osc plan --table t --strategy ""
expect_completion "text " osc plan --format t
expect_completion "auto drop_swap none rebuild_constraints " osc --alter-foreign-keys-method ""
expect_completion "--chunk-size --chunk-size-max --chunk-time " osc --table t --chunk
expect_completion "chunk-size-max= chunk-time= " osc set --table t chunk
expect_completion "hold status " osc proxy ""
expect_completion "pause plan proxy ps " osc help p
expect_completion "--listen " osc proxy --lis
expect_completion "" osc proxy --tab
# a value is not the command: --table plan, then a command
expect_completion "pause " osc --table plan pau
note "bash completion: commands, options, fixed values"

# ---- links between the documents ------------------------------------------------------------
links=$(cd "$ROOT" && python3 - README.md bench/RESULTS.md docs/*.md <<'PY'
import os, re, sys
def slug(h):  # GitHub's anchor for a heading
    return re.sub(r'[^\w\- ]', '', h.strip().lower()).replace(' ', '-')
anchors, n = {}, 0
for f in sys.argv[1:]:
    fence, a = False, set()
    for line in open(f):
        if line.startswith('```'):
            fence = not fence
        elif not fence and re.match(r'#+ ', line):
            a.add(slug(line.lstrip('#')))
    anchors[os.path.normpath(f)] = a
for f in sys.argv[1:]:
    for m in re.finditer(r'\]\(([^)\s]+)\)', open(f).read()):
        path, _, frag = m.group(1).partition('#')
        if re.match(r'[a-z]+:', path):
            continue
        n += 1
        t = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else os.path.normpath(f)
        if not os.path.exists(t):
            print(f'{f}: {m.group(1)}: no such file')
        elif frag and frag not in anchors.get(t, set()):
            print(f'{f}: {m.group(1)}: no such heading')
print(f'{n} links')
PY
) || fail "link check: python3 failed"
grep -q ': no such' <<<"$links" && fail "broken links: $(grep ': no such' <<<"$links" | tr '\n' ';')"
note "documents: $(tail -n 1 <<<"$links"), all resolve"
echo "ok"
