# shellcheck shell=bash
# Sourced by bench/pg.sh and bench/my.sh: timing, latency, logging and plotting helpers.
#
# Every time here is epoch seconds (the writers' latency logs, the stamped
# logs and the lag samples all use the machine's one clock).
#   now                      the time, epoch seconds with nanoseconds
#   secs A B                 B - A, two decimals
#   plus A B                 A + B, three decimals
#   ratio A B                A / B, two decimals ("-" when either is not a positive number)
#   stamp                    filter: each line (and each \r-separated segment, as a
#                            terminal's progress line is rewritten) prefixed with the
#                            epoch time its first byte arrived at; terminal escapes removed
#   at LOG TEXT              the time of the first stamped line of LOG containing TEXT
#   win LOG A N B M          "start end": the time of the Nth line containing A, and of
#                            the first line containing B after the Mth line containing A
#   lat_stats LAT FROM TO    the writer's figures over [FROM, TO]:
#                            "writes ops/s p50 p99 p99.9 max" (ms; "0 - - - - -" when none)
#   lat_max LAT FROM TO      the longest write that overlapped [FROM, TO] (ms, or "-")
#   lag_max LAG FROM TO      the largest replica lag sampled in [FROM, TO] (ms, or "-")
#   series FILE FROM TO T0   the lines of a "time value..." file within [FROM, TO],
#                            time made relative to T0
#   osc_run BASE ARGS...     osc ARGS with its JSON log (progress every 200 ms,
#                            --progress-interval), stamped into BASE.log, peak RSS (KB)
#                            in BASE.rss; returns osc's exit status
#   osc_series LOG T0        osc's progress as "t rows rows/s chunk lag_ms" (t relative to
#                            T0; lag_ms -1 when osc does not report it); reads both JSON
#                            progress records and the terminal's lines
#   osc_phase LOG PHASE      when osc announced PHASE (JSON phase event or "[PHASE]" line)
#   osc_done LOG             whether osc reached its done phase
#   osc_msg LOG PREFIX       the first message of osc's that starts with PREFIX
#   osc_summary LOG          osc's closing summary event, one JSON object (empty if none)
#   sampler_start FILE SQL CLIENT...   feeds SQL to one CLIENT process every 0.2 s, its
#   sampler_stop FILE        output appended to FILE, until sampler_stop (a stop file, no signal)
#   plot PNG TITLE DIR PEER  the four panels of one osc-vs-peer comparison (see plot_gp)
# QUICK=1 shortens the pauses; the results are written by the engine scripts.
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
plus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a + 0 > 0 && a ~ /^[0-9.]+$/) printf "%.2f", a / b; else print "-" }'; }

stamp() {
  perl -MTime::HiRes=time -e '
    $| = 1;
    my ($buf, $t) = ("", 0);
    sub out { my ($l, $at) = @_; $l =~ s/\e\[[0-9;?]*[A-Za-z]//g; printf "%.3f %s\n", $at, $l if $l =~ /\S/; }
    while (sysread(STDIN, my $c, 65536)) {
      my $now = time;
      $t = $now if $buf eq "";
      $buf .= $c;
      while ($buf =~ s/^([^\r\n]*)[\r\n]//) { out($1, $t); $t = $now; }
    }
    out($buf, $t);'
}
at() { awk -v t="$2" 'index($0, t) { print $1; exit }' "$1"; }
win() {
  awk -v a="$2" -v n="$3" -v b="$4" -v m="$5" '
    index($0, a) { k++; if (k == n) s = $1; if (k == m) { f = 1; next } }
    f && index($0, b) { e = $1; exit }
    END { if (s != "" && e != "") print s, e }' "$1"
}

lat_stats() {
  awk -v from="$2" -v to="$3" '{ start = $1 - $2 / 1e6; if (start <= to && $1 >= from) print $2 / 1000 }' "$1" |
    sort -n | awk -v span="$(secs "$2" "$3")" '
      function pct(p,  i) { i = int(NR * p + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; return v[i] }
      { v[NR] = $1 }
      END { if (NR == 0) { print "0 - - - - -"; exit }
        printf "%d %.0f %.1f %.1f %.1f %.1f\n", NR, (span > 0 ? NR / span : 0), pct(0.5), pct(0.99), pct(0.999), v[NR] }'
}
lat_max() { # LAT FROM TO, or LAT "FROM TO"
  local lat=$1 from to
  read -r from to <<<"$2 ${3:-}"
  if [ -z "$from" ] || [ -z "$to" ]; then echo -; return; fi
  set -- "$lat" "$from" "$to"
  awk -v from="$2" -v to="$3" '{ start = $1 - $2 / 1e6; if (start <= to && $1 >= from && $2 > m) m = $2 }
    END { if (m == "") print "-"; else printf "%.1f\n", m / 1000 }' "$1"
}
lag_max() {
  awk -v from="$2" -v to="$3" '$1 >= from && $1 <= to && ($2 > m || m == "") { m = $2 }
    END { if (m == "") print "-"; else printf "%.0f\n", m }' "$1"
}
series() { awk -v from="$2" -v to="$3" -v t0="$4" '$1 >= from && $1 <= to { $1 = sprintf("%.3f", $1 - t0); print }' "$1"; }

osc_run() {
  local base=$1 rc=0
  shift
  # --strategy copy: the bench measures the shadow copy, also where osc would
  # apply a metadata-only ALTER in place
  # --log-format json: the summary event (phases, the copy's breakdown) exists only there
  /usr/bin/time -f %M -o "$base.rss" "$OSC" "$@" --strategy copy --log-format json --progress-interval 200ms \
    </dev/null 2>&1 | stamp >"$base.log" || rc=$?
  [ "$rc" = 0 ] || { echo "bench: osc failed (exit $rc):" >&2; tail -5 "$base.log" >&2; }
  return "$rc"
}
osc_series() {
  # the time of each line is the stamp the bench gave it, as for every other series
  perl -ne '
    BEGIN { $t0 = shift @ARGV }
    if (/^([\d.]+) .*"event":"progress"/) {
      my ($t, $line) = ($1, $_);
      my %f = map { $line =~ /"$_":(-?[\d.]+)/ ? ($_ => $1) : ($_ => -1) } qw(rows_copied rows_per_sec chunk_size lag_ms);
      printf "%.3f %d %.0f %d %s\n", $t - $t0, @f{qw(rows_copied rows_per_sec chunk_size lag_ms)};
    } elsif (/^([\d.]+) .*"event":"phase".*"phase":"copy"/ || /^([\d.]+) osc: \[copy\]/) {
      printf "%.3f 0 NaN NaN -1\n", $1 - $t0;
    } elsif (m{^([\d.]+) osc: .*?\b(\d+)/\d+ rows .*?([\d.]+) rows/s.*?chunk (\d+)}) {
      my ($t, $rows, $rps, $chunk) = ($1, $2, $3, $4);
      my $lag = /lag ([\d.]+)(ms|s)\b/ ? ($2 eq "s" ? $1 * 1000 : $1) : -1;
      printf "%.3f %d %.0f %d %s\n", $t - $t0, $rows, $rps, $chunk, $lag;
    }' "$2" "$1"
}
osc_phase() {
  awk -v p="\"phase\":\"$2\"" -v t="osc: [$2]" \
    '(index($0, "\"event\":\"phase\"") && index($0, p)) || index($0, t) { print $1; exit }' "$1"
}
osc_done() { [ -n "$(osc_phase "$1" done)" ]; }
# the log's lines are "EPOCH TEXT": the text is JSON, or an error osc also wrote to stderr
osc_json() { cut -d' ' -f2- "$1" | jq -R -c 'fromjson? // empty'; }
osc_msg() {
  osc_json "$1" | jq -r --arg p "$2" 'select(.event == "message" and (.msg | startswith($p))) | .msg' | head -1
}
osc_summary() { osc_json "$1" | jq -c 'select(.event == "summary")' | tail -1; }

sampler_start() {
  local file=$1 sql=$2
  shift 2
  rm -f "$file.stop"
  (while [ ! -e "$file.stop" ]; do echo "$sql"; sleep 0.2; done) | stdbuf -oL "$@" >>"$file" 2>"$file.err" &
  echo $! >"$file.pid"
}
sampler_stop() {
  [ -f "$1.pid" ] || return 0
  touch "$1.stop"
  wait "$(cat "$1.pid")" 2>/dev/null || true
  rm -f "$1.pid"
}

# gnuplot arrows: dotted vertical lines where each tool's trigger and swap windows start
marks() {
  local f c
  for f in osc peer; do
    c=$([ "$f" = osc ] && echo '#1f77b4' || echo '#d62728')
    [ -f "$1/$f.marks" ] || continue
    awk -v c="$c" 'NF { printf "set arrow from %s, graph 0 to %s, graph 1 nohead dt 3 lw 1.5 lc rgb \"%s\"\n", $1, $1, c }' "$1/$f.marks"
  done
}
# plot PNG TITLE DIR PEER [PEER_ROWS_LABEL]: DIR holds osc.rows (t rows rows/s chunk lag), peer.rows (t rows),
# {osc,peer}.lag (t ms) and {osc,peer}.lat (t ms), times relative to each tool's start.
# Legends sit below each panel, off the data; every panel shares one x axis (fixed margins);
# replica lag is in seconds, a reading below 0 (a heartbeat read a moment before it was
# written) drawn as 0, and osc's own lag drawn only where osc reported one.
plot() {
  local png=$1 title=$2 d=$3 peer=$4 peerrows=${5:-$4}
  command -v gnuplot >/dev/null || { echo "bench: gnuplot not found, no plot" >&2; return 0; }
  local lagcol=""
  awk '$5 >= 0 { f = 1 } END { exit !f }' "$d/osc.rows" 2>/dev/null &&
    lagcol=", '$d/osc.rows' using 1:(\$5 < 0 ? NaN : \$5 / 1000) with lines lw 1.5 dt 2 lc rgb '#1f77b4' title 'osc (its own reading)'"
  for f in osc.rows peer.rows osc.lag peer.lag osc.lat peer.lat; do
    [ -s "$d/$f" ] || echo "0 0" >"$d/$f"
  done
  local xr
  xr=$(awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 } END { printf "[%.1f:%.1f]", lo, hi }' \
    "$d/osc.lat" "$d/peer.lat")
  gnuplot <<GP
set terminal pngcairo size 1100,1400 font ',11' noenhanced
set output '$png'
set multiplot layout 4,1 title "$title"
set lmargin 12
set rmargin 12
set grid
set key below horizontal
set xrange $xr
set xtics nomirror
set mxtics 2
set xlabel 'seconds since the tool started'
set yrange [0:*]
set ylabel 'rows copied, thousands'
plot '$d/osc.rows' using 1:(\$2 / 1000) with linespoints pt 7 ps 0.5 lw 1.5 lc rgb '#1f77b4' title 'osc', \
     '$d/peer.rows' using 1:(\$2 / 1000) with linespoints pt 7 ps 0.5 lw 1.5 lc rgb '#d62728' title '$peerrows'
set ylabel 'replica lag, s'
set title 'replica lag, sampled by the bench every 200 ms (a reading below 0 is drawn as 0)'
plot '$d/osc.lag' using 1:(\$2 < 0 ? 0 : \$2 / 1000) with lines lw 1.5 lc rgb '#1f77b4' title 'during osc', \
     '$d/peer.lag' using 1:(\$2 < 0 ? 0 : \$2 / 1000) with lines lw 1.5 lc rgb '#d62728' title 'during $peer'$lagcol
set title 'dotted lines: where each tool starts installing its trigger, and starts its swap'
set ylabel 'writer latency, ms (log scale)'
set logscale y
set yrange [*:*]
set format y '%g'
$(marks "$d")
plot '$d/osc.lat' using 1:2 with points pt 7 ps 0.3 lc rgb '#1f77b4' title 'writes during osc', \
     '$d/peer.lat' using 1:2 with points pt 7 ps 0.3 lc rgb '#d62728' title 'writes during $peer'
unset logscale y
unset arrow
unset title
set yrange [0:*]
set ylabel "osc's copy rate, thousand rows/s"
set y2label 'chunk size, thousand rows'
set y2range [0:*]
set y2tics
set ytics nomirror
plot '$d/osc.rows' using 1:(\$3 / 1000) with linespoints pt 7 ps 0.5 lw 1.5 lc rgb '#1f77b4' title "osc's rows/s (its average since the copy started; left axis)", \
     '$d/osc.rows' using 1:(\$4 / 1000) axes x1y2 with steps lw 1.5 lc rgb '#2ca02c' title 'chunk size (right axis)'
unset multiplot
GP
}

# The engine scripts' common parts.  They set ENGINE (pg or my), ROWS, TAG, OUTDIR, DIR,
# WRITER, URL, RATE, PAUSE and ROWSMD (the table's rows, markdown).
#   row NAME WALL XRAW XPEER [WRITER_STATS ERRORS TRIG SWAP LAG DIFF RSS]   one table row
#   summary WORKLOAD TOOL MODE WALL [RSS_KB]   one line of OUTDIR/summary.tsv
#   writer_start NAME / writer_stop            the mirrored writer at RATE/s, logs DIR/NAME.{json,lat}
#   blocking LABEL SQL                         times one statement (the engine's sql SQL) as a row
#   writer_baseline                            the writer alone for 5 pauses at RATE; when it
#                                              sustained less than 90% of RATE, RATE becomes 70% of
#                                              what it sustained and the baseline runs again
#                                              (RATE_NOTE says so); uses the engine's diff_rows
#                                              (RATE_ASKED keeps the rate asked for)
#   plotdata NAME RUN T0 T1 TRIGWIN SWAPWIN    one tool's run (NAME osc or peer) as plot data in
#                                              DIR/plot-CUR_WL: lag, writer latency, rows copied
#                                              (osc's log, or the engine's peer_rows RUN T0 T1),
#                                              and the starts of its trigger and swap windows
#   osc_figures DIR                            osc's copy rate and chunk sizes, one sentence
#   errs JSON / first_err JSON                 the writer's error count / first error
row() { # NAME WALL XRAW XPEER then (optional) WRITER_STATS ERRORS TRIG SWAP LAG DIFF RSS
  local name=$1 wall=$2 xraw=$3 xpeer=$4 ws=${5:-} errs=${6:-} trig=${7:-} swap=${8:-} lag=${9:-} diff=${10:-} rss=${11:-}
  local tput=" " p50=" " p99=" " p999=" " mx=" "
  [ -n "$ws" ] && read -r _ tput p50 p99 p999 mx <<<"$ws"
  echo "| $name | $wall | $xraw | $xpeer | $tput | $p50 | $p99 | $p999 | $mx | $errs | $trig | $swap | $lag | $diff | $rss |" >>"$ROWSMD"
}
summary() {
  [ -f "$OUTDIR/summary.tsv" ] || printf 'tag\tengine\trows\tworkload\ttool\tmode\twall_s\tpeak_rss_kb\n' >"$OUTDIR/summary.tsv"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$TAG" "$ENGINE" "$ROWS" "$1" "$2" "$3" "$4" "${5:--}" >>"$OUTDIR/summary.tsv"
}
# verify_cost: one sentence, from this run's summary.tsv lines: osc idle with
# the default --verify checksum against osc idle with --verify none
verify_cost() {
  awk -F'\t' -v t="$TAG" -v e="$ENGINE" '
    $1 == t && $2 == e && $5 == "osc" && $7 ~ /^[0-9.]+$/ { w[$4 "\t" $6] = $7; if (!($4 in seen)) { seen[$4] = 1; order[++n] = $4 } }
    END {
      for (i = 1; i <= n; i++) { k = order[i]; c = w[k "\tidle"]; v = w[k "\tnv"]
        if (c == "" || v == "") continue
        s = s sprintf("%s%s: %.2f s with checksums, %.2f s without, ratio %.2f", s == "" ? "" : "; ", k, c, v, c / v) }
      if (s != "") print "What checksumming costs (osc idle, `--verify checksum` ÷ `--verify none`): " s "." }' \
    "$OUTDIR/summary.tsv"
}
writer_start() {
  "$WRITER" --db "$URL" --table bench --ref bench_ref --kind int --rate "$RATE" \
    --stats "$DIR/$1.json" --latency-log "$DIR/$1.lat" &
  WPID=$!
  sleep "$PAUSE"
}
writer_stop() {
  sleep 1
  kill "$WPID"
  wait "$WPID" || true
  WPID=
}
errs() { sed -n 's/.*"errors":\([0-9]*\).*/\1/p' "$1"; }
first_err() { sed -n 's/.*"first_error":"\(\([^"\\]\|\\.\)*\)".*/\1/p' "$1"; }
writer_baseline() {
  local attempt t0 t1 ws got d=$((PAUSE * 5))
  RATE_NOTE=
  # shellcheck disable=SC2034
  RATE_ASKED=$RATE
  for attempt in 1 2; do
    echo "bench: writer alone at $RATE/s for ${d}s"
    t0=$(now)
    "$WRITER" --db "$URL" --table bench --ref bench_ref --kind int --rate "$RATE" --duration "$d" \
      --stats "$DIR/base.json" --latency-log "$DIR/base.lat"
    t1=$(now)
    ws=$(lat_stats "$DIR/base.lat" "$t0" "$t1")
    got=$(awk -v n="${ws%% *}" -v d="$d" 'BEGIN { printf "%d", n / d }')
    [ "$attempt" = 2 ] || [ "$got" -ge $((RATE * 9 / 10)) ] && break
    RATE_NOTE="The writer was asked for $RATE writes/s; alone it sustained $got/s on this machine, so it ran at"
    RATE=$((got * 7 / 10))
    RATE_NOTE="$RATE_NOTE $RATE/s (70%)."
  done
  row "writer alone at $RATE/s, $d s" "" "" "" "$ws" "$(errs "$DIR/base.json")" "" "" "$(lag_max "$DIR/lag" "$t0" "$t1")" \
    "$(diff_rows)"
}
plotdata() {
  local d=$DIR/plot-$CUR_WL name=$1 run=$2 t0=$3 t1=$4 w
  mkdir -p "$d"
  series "$DIR/lag" "$(plus "$t0" -2)" "$(plus "$t1" 3)" "$t0" | cut -d' ' -f1,2 >"$d/$name.lag"
  awk -v t0="$t0" '{ printf "%.3f %.3f\n", $1 - t0, $2 / 1000 }' "$DIR/$run.lat" >"$d/$name.lat"
  if [ "$name" = osc ]; then osc_series "$DIR/$run.log" "$t0" >"$d/osc.rows"; else peer_rows "$run" "$t0" "$t1" >"$d/peer.rows"; fi
  : >"$d/$name.marks"
  for w in "$5" "$6"; do
    [ -n "${w%% *}" ] && secs "$t0" "${w%% *}" >>"$d/$name.marks" && echo >>"$d/$name.marks"
  done
  return 0
}
osc_figures() {
  awk '$3 != "NaN" && $4 != "NaN" { if ($3 > r) r = $3; if (lo == "" || $4 < lo) lo = $4; if ($4 > hi) hi = $4
                                    if ($5 >= 0 && $5 > lag) lag = $5; if ($5 >= 0) known = 1; n++ }
    END { if (!n) { print "no progress lines"; exit }
      printf "%d progress lines, copy rate up to %d rows/s, chunks of %d to %d rows, its own replica lag %s", n, r, lo, hi,
        known ? "up to " lag " ms" : "not reported" }' "$1/osc.rows"
}
blocking() {
  local t0 w
  t0=$(now)
  sql "$2"
  w=$(secs "$t0" "$(now)")
  row "blocking: $1" "$w" "$(ratio "$w" "$RAW")" ""
}
