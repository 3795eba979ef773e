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
#                            progress records and the terminal's lines; the last line is
#                            the copy's end (chunk NaN), from osc's summary
#   osc_phase LOG PHASE      when osc announced PHASE (JSON phase event or "[PHASE]" line)
#   osc_done LOG             whether osc reached its done phase
#   osc_msg LOG PREFIX       the first message of osc's that starts with PREFIX
#   osc_summary LOG          osc's closing summary event, one JSON object (empty if none)
#   sampler_start FILE SQL CLIENT...   feeds SQL to one CLIENT process every 0.2 s, its
#   sampler_stop FILE        output appended to FILE, until sampler_stop (a stop file, no signal)
#   plot PNG TITLE DIR PEER  the four panels of one osc-vs-peer comparison
#   plot_threads PNG TITLE DIR   osc's copy rate at each --threads
#   threads_section PEER NAME ENG   the engine section's part on --threads and osc's phases
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
      $copying = 1;
    } elsif ($copying && /^([\d.]+) .*"event":"phase"/) {
      ($end, $copying) = ($1, 0);
    } elsif (/"event":"summary"/) {
      $rows = $1 if /"rows_copied":(\d+)/;
      $this = $1 if /"rows_copied_this_run":(\d+)/;
      $copy_ms = $1 if /"phases_ms":\{[^}]*"copy":(\d+)/;
    } elsif (m{^([\d.]+) osc: .*?\b(\d+)/\d+ rows .*?([\d.]+) rows/s.*?chunk (\d+)}) {
      my ($t, $rows, $rps, $chunk) = ($1, $2, $3, $4);
      my $lag = /lag ([\d.]+)(ms|s)\b/ ? ($2 eq "s" ? $1 * 1000 : $1) : -1;
      printf "%.3f %d %.0f %d %s\n", $t - $t0, $rows, $rps, $chunk, $lag;
    }
    # the copy'"'"'s end, from the summary: every row, at the rate of the whole copy phase (a
    # copy shorter than the progress interval has no other point)
    END { printf "%.3f %d %.0f NaN -1\n", $end - $t0, $rows, $this * 1000 / $copy_ms if $end && $copy_ms }' "$2" "$1"
}
osc_phase() {
  awk -v p="\"phase\":\"$2\"" -v t="osc: [$2]" \
    '(index($0, "\"event\":\"phase\"") && index($0, p)) || index($0, t) { print $1; exit }' "$1"
}
osc_done() { [ -n "$(osc_phase "$1" 'done')" ]; }
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
  gnuplot <<GP || echo "bench: gnuplot failed, $png is incomplete" >&2
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
# plot_threads PNG TITLE DIR: osc's copy at each --threads (THREADS), from DIR/thr/WL-MODE-T.rows
# (osc_series) and DIR/runs.tsv: a panel per workload and mode with rows/s over time, one line
# per --threads, and a bar chart of the copy phase's rows/s (rows copied ÷ the copy phase).
plot_threads() {
  local png=$1 title=$2 d=$3 wl mode th nwl=0 h gp="" y i
  command -v gnuplot >/dev/null || { echo "bench: gnuplot not found, no plot" >&2; return 0; }
  local colors=('#1f77b4' '#ff7f0e' '#2ca02c' '#d62728' '#9467bd' '#8c564b' '#e377c2')
  {
    for wl in $WORKLOADS; do
      for mode in idle w; do
        printf '%s, %s' "$wl" "$([ "$mode" = w ] && echo "writer at $RATE/s" || echo idle)"
        for th in $THREADS; do
          awk -F'\t' -v w="$wl" -v m="$mode" -v t="$th" '$1 == "osc" && $2 == w && $3 == m && $4 == t { v = $9 }
            END { printf "\t%s", (v == "" || v == "-") ? "NaN" : v / 1000 }' "$d/runs.tsv"
        done
        echo
      done
    done
  } >"$d/thr/bars.dat"
  for wl in $WORKLOADS; do nwl=$((nwl + 1)); done
  # 70 px for the title on top, 330 per row of time panels, 400 for the bars at the bottom
  h=$((nwl * 330 + 470))
  y=$(awk -v h="$h" 'BEGIN { printf "%.4f", 1 - 70 / h }')
  for wl in $WORKLOADS; do
    y=$(awk -v y="$y" -v h="$h" 'BEGIN { printf "%.4f", y - 330 / h }')
    for mode in idle w; do
      gp+="set origin $([ "$mode" = idle ] && echo 0 || echo 0.5),$y"$'\n'
      gp+="set size 0.5,$(awk -v h="$h" 'BEGIN { printf "%.4f", 330 / h }')"$'\n'
      gp+="set title '$wl workload, $([ "$mode" = w ] && echo "under the writer at $RATE/s" || echo idle)'"$'\n'
      gp+="plot"
      i=0
      for th in $THREADS; do
        [ "$i" -gt 0 ] && gp+=","
        gp+=" '$d/thr/$wl-$mode-$th.rows' using 1:(\$3 > 0 ? \$3 / 1000 : NaN) with linespoints pt 7 ps 0.4 lw 1.5 lc rgb '${colors[i % 7]}' title '--threads $th'"
        i=$((i + 1))
      done
      gp+=$'\n'
    done
  done
  local bars="" labels="" n=0 nt=0
  for th in $THREADS; do nt=$((nt + 1)); done
  for th in $THREADS; do
    [ "$n" -gt 0 ] && bars+=","
    bars+=" '$d/thr/bars.dat' using $((n + 2)):xtic(1) lc rgb '${colors[n % 7]}' title '--threads $th'"
    # each bar's value above it: a cluster of nt bars, each 1/(nt+1) wide, is centred on its row
    labels+=", '$d/thr/bars.dat' using (\$0 + ($n - ($nt - 1) / 2.0) / ($nt + 1)):$((n + 2)):(sprintf('%.0f', column($((n + 2))))) with labels offset 0,0.7 notitle"
    n=$((n + 1))
  done
  for f in $(for wl in $WORKLOADS; do for mode in idle w; do for th in $THREADS; do echo "$d/thr/$wl-$mode-$th.rows"; done; done; done); do
    [ -s "$f" ] || echo "0 NaN NaN NaN -1" >"$f"
  done
  gnuplot <<GP || echo "bench: gnuplot failed, $png is incomplete" >&2
set terminal pngcairo size 1100,$h font ',11' noenhanced
set output '$png'
set multiplot title "$title\n(lines: the rate osc reports, its average since the copy started)"
set grid
set key below horizontal
set lmargin 10
set rmargin 3
set xlabel 'seconds since osc started'
set ylabel "thousand rows/s"
set yrange [0:*]
set xrange [0:*]
$gp
unset title
set xrange [-0.5:$((nwl * 2 - 1)).5]
set origin 0,0
set size 1,$(awk -v h="$h" 'BEGIN { printf "%.4f", 400 / h }')
set title "the copy phase's rate: rows copied ÷ the copy phase's seconds (from osc's summary)"
set xlabel ''
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set datafile separator "\t"
set boxwidth 0.9
set xtics nomirror
set grid noxtics ytics
set yrange [0:$(awk -F'\t' '{ for (i = 2; i <= NF; i++) if ($i != "NaN" && $i + 0 > m) m = $i } END { print (m > 0 ? m * 1.15 : "*") }' "$d/thr/bars.dat")]
plot $bars$labels
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
  echo "| $name | $wall | $xraw | $xpeer | $tput | $p50 | $p99 | $p999 | $mx | $errs | $trig | $swap | $lag | $diff | $rss | ${RUN_LOAD:-} | ${RUN_CPU:-} |" >>"$ROWSMD"
  RUN_LOAD=; RUN_CPU=
}
# the main table's header: PEER names the peer's column
row_header() {
  echo "| run | wall s | ÷ raw | ÷ $1 | writes/s | p50 | p99 | p99.9 | max | errors | stall: trigger | stall: swap | replica lag max ms | rows ≠ mirror | osc peak RSS | load 1m start→end | CPU busy |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
}
summary() { # WORKLOAD TOOL MODE WALL [RSS_KB [THREADS]]
  local f=$OUTDIR/summary.tsv
  [ -f "$f" ] || printf 'tag\tengine\trows\tworkload\ttool\tmode\twall_s\tpeak_rss_kb\tthreads\n' >"$f"
  # lines from before --threads have 8 fields: the header gets the ninth
  head -1 "$f" | grep -q 'threads$' || sed -i '1s/$/\tthreads/' "$f"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$TAG" "$ENGINE" "$ROWS" "$1" "$2" "$3" "$4" "${5:--}" "${6:--}" >>"$f"
}
# verify_cost: one sentence, from this run's summary.tsv lines: osc idle with
# the default --verify checksum against osc idle with --verify none, at the
# same --threads
verify_cost() {
  awk -F'\t' -v t="$TAG" -v e="$ENGINE" '
    $1 == t && $2 == e && $5 == "osc" && $7 ~ /^[0-9.]+$/ { w[$4 "\t" $9 "\t" $6] = $7
      if (!(($4 "\t" $9) in seen)) { seen[$4 "\t" $9] = 1; order[++n] = $4 "\t" $9 } }
    END {
      for (i = 1; i <= n; i++) { k = order[i]; c = w[k "\tidle"]; v = w[k "\tnv"]
        if (c == "" || v == "") continue
        split(k, f, "\t")
        s = s sprintf("%s%s, --threads %s: %.2f s with checksums, %.2f s without, ratio %.2f", s == "" ? "" : "; ", f[1], f[2], c, v, c / v) }
      if (s != "") print "What checksumming costs (osc idle, `--verify checksum` ÷ `--verify none`): " s "." }' \
    "$OUTDIR/summary.tsv"
}

# The machine around one timed run: every process's load, not only the bench's
# (others may share the machine).
#   machine_start                  notes the 1-minute load average and the CPU ticks
#   machine_end                    RUN_LOAD "start→end" and RUN_CPU, the share of all
#                                  cores busy over the run (/proc/stat), for the next row
cpu_ticks() { awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6; exit }' /proc/stat; }
machine_start() { M_LOAD=$(cut -d' ' -f1 /proc/loadavg); M_TICKS=$(cpu_ticks); }
machine_end() {
  local b0 t0 b1 t1
  read -r b0 t0 <<<"$M_TICKS"
  read -r b1 t1 <<<"$(cpu_ticks)"
  RUN_LOAD="$M_LOAD→$(cut -d' ' -f1 /proc/loadavg)"
  RUN_CPU=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN { if (t > 0) printf "%.0f%%", 100 * b / t; else print "-" }')
}

# --threads: BENCH_THREADS (default "1 2") are the values osc runs with, idle and
# under the writer; MAIN_T, osc's default 2 when listed (else the last), is the run
# that is plotted against the peer and that runs once more with --verify none.
bench_threads() {
  local t
  THREADS=${BENCH_THREADS:-1 2}
  MAIN_T=
  for t in $THREADS; do
    [[ "$t" =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_THREADS: \"$t\" is not a positive number" >&2; exit 2; }
    [ "$t" = 2 ] && MAIN_T=2
  done
  [ -n "$MAIN_T" ] || MAIN_T=${THREADS##* }
}

# Each timed run of osc or the peer, one line of DIR/runs.tsv:
#   tool wl mode threads wall load cpu copy_s copy_rows/s bound insert compare checkpoint commit
# (seconds; "-" where the tool does not say).  osc's figures come from its summary event.
#   runs_add TOOL WL MODE THREADS WALL [OSC_LOG]
#   phase_row LABEL OSC_LOG        one row of the per-phase table (DIR/phases.md)
#   phase_header                   that table's header
#   threads_table PEER             osc at each --threads against the raw copy and the peer
#   copy_shares                    where the copy's session time went, per --threads
osc_numbers() { # LOG: the summary's figures, tab-separated (ms), or nothing
  osc_summary "$1" | jq -r '[.copy.threads, .duration_ms,
      (.phases_ms | .preflight, .shadow, .capture, .copy, .index, ."catch-up", .cutover, .cleanup, .done),
      (.copy | .chunks, .bound_ms, .insert_ms, .compare_ms, .checkpoint_ms, .commit_ms),
      .rows_copied_this_run] | map(. // 0) | @tsv'
}
runs_add() {
  local tool=$1 wl=$2 mode=$3 t=$4 wall=$5 log=${6:-} n=""
  [ -n "$log" ] && n=$(osc_numbers "$log")
  if [ -n "$n" ]; then
    # fields of n: 1 threads 2 total 3-11 phases 12 chunks 13-17 bound..commit 18 rows
    awk -F'\t' -v pre="$tool\t$wl\t$mode\t$t\t$wall\t${RUN_LOAD:--}\t${RUN_CPU:--}" '{
      c = $6 / 1000
      printf "%s\t%.2f\t%s", pre, c, (c > 0 ? sprintf("%.0f", $18 / c) : "-")
      for (i = 13; i <= 17; i++) printf "\t%.2f", $i / 1000
      printf "\n" }' <<<"$n" >>"$DIR/runs.tsv"
  else
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t-\t-\t-\t-\t-\t-\t-\n' "$tool" "$wl" "$mode" "$t" "$wall" "${RUN_LOAD:--}" "${RUN_CPU:--}" \
      >>"$DIR/runs.tsv"
  fi
}
phase_header() {
  echo "| osc run | threads | load 1m | CPU busy | total s | preflight | shadow | capture | copy | index | catch-up | swap | cleanup | copy rows/s | chunks | bound | insert | compare | checkpoint | commit | sessions busy |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
}
phase_row() {
  local n
  n=$(osc_numbers "$2")
  if [ -z "$n" ]; then
    echo "| $1 | no summary event in osc's log |" >>"$DIR/phases.md"
    return 0
  fi
  awk -F'\t' -v l="$1" -v ld="${RUN_LOAD:--}" -v cpu="${RUN_CPU:--}" '
    function s(ms) { return sprintf("%.2f", ms / 1000) }
    { c = $6; work = $13 + $14 + $15 + $16 + $17
      printf "| %s | %d | %s | %s | %s", l, $1, ld, cpu, s($2)
      for (i = 3; i <= 9; i++) printf " | %s", s($i)
      printf " | %s | %s | %d", s($10 + $11), (c > 0 ? sprintf("%.0f", $18 * 1000 / c) : "-"), $12
      for (i = 13; i <= 17; i++) printf " | %s", s($i)
      printf " | %s |\n", (c > 0 ? sprintf("%.2f", work / c) : "-") }' <<<"$n" >>"$DIR/phases.md"
  # and on the console, as the run ends
  awk -F'\t' '{ printf "bench:   osc %.2f s: preflight %.2f, shadow %.2f, capture %.2f, copy %.2f (%d chunks; bound %.2f, insert %.2f, compare %.2f, checkpoint %.2f, commit %.2f), index %.2f, catch-up %.2f, swap %.2f, cleanup %.2f\n",
    $2 / 1000, $3 / 1000, $4 / 1000, $5 / 1000, $6 / 1000, $12, $13 / 1000, $14 / 1000, $15 / 1000, $16 / 1000, $17 / 1000,
    $7 / 1000, $8 / 1000, $9 / 1000, ($10 + $11) / 1000 }' <<<"$n"
}
threads_table() {
  echo "| workload | --threads | idle s | ÷ raw | ÷ $1 | ÷ 1 thread | load 1m, CPU | under the writer s | ÷ raw | ÷ $1 | ÷ 1 thread | load 1m, CPU | copy rows/s idle / writer |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  awk -F'\t' -v raw="$RAW" '
    function r(a, b) { return (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) ? sprintf("%.2f", a / b) : "-" }
    $1 != "osc" { peer[$2 "\t" $3] = $5; next }
    $3 == "nv" { next }
    { k = $2 "\t" $4; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
      wall[k "\t" $3] = $5; ml[k "\t" $3] = $6 ", " $7; rps[k "\t" $3] = $9
      if ($4 == 1) one[$2 "\t" $3] = $5 }
    END {
      for (i = 1; i <= n; i++) { k = order[i]; split(k, f, "\t"); line = "| " f[1] " | " f[2]
        for (m = 1; m <= 2; m++) { mode = m == 1 ? "idle" : "w"; w = wall[k "\t" mode]
          p = (f[1] "\t" mode) in peer ? peer[f[1] "\t" mode] : peer["-\t" mode]
          line = line sprintf(" | %s | %s | %s | %s | %s", w == "" ? "-" : w, r(w, raw), r(w, p), r(w, one[f[1] "\t" mode]),
                              ml[k "\t" mode] == "" ? "-" : ml[k "\t" mode]) }
        printf "%s | %s / %s |\n", line, rps[k "\tidle"] == "" ? "-" : rps[k "\tidle"], rps[k "\tw"] == "" ? "-" : rps[k "\tw"] } }' \
    "$DIR/runs.tsv"
}
copy_shares() {
  awk -F'\t' '
    $1 == "osc" && $10 != "-" { t = $4; if (!(t in seen)) { seen[t] = 1; order[++n] = t }
      for (i = 10; i <= 14; i++) { v[t, i] += $i; sum[t] += $i }; copy[t] += $8; runs[t]++ }
    END {
      split("bound insert compare checkpoint commit", name, " ")
      for (j = 1; j <= n; j++) { t = order[j]; if (sum[t] <= 0) continue
        s = "" # the steps, largest first
        for (i = 10; i <= 14; i++) { best = 0
          for (x = 10; x <= 14; x++) if (!((t, x) in used) && (best == 0 || v[t, x] > v[t, best])) best = x
          used[t, best] = 1
          s = s sprintf("%s%s %.0f%%", s == "" ? "" : ", ", name[best - 9], 100 * v[t, best] / sum[t]) }
        printf "--threads %s (%d runs): %s; on average %.2f sessions were in one of these steps during the copy phase.\n", t, runs[t], s, sum[t] / copy[t] } }' \
    "$DIR/runs.tsv"
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
    machine_start
    t0=$(now)
    "$WRITER" --db "$URL" --table bench --ref bench_ref --kind int --rate "$RATE" --duration "$d" \
      --stats "$DIR/base.json" --latency-log "$DIR/base.lat"
    t1=$(now)
    machine_end
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
  machine_start
  t0=$(now)
  sql "$2"
  w=$(secs "$t0" "$(now)")
  machine_end
  row "blocking: $1" "$w" "$(ratio "$w" "$RAW")" ""
}

threads_section() { # PEER ENGINE_NAME ENG
  echo "### osc by \`--threads\`, and where its time went"
  echo
  echo "osc ran with \`--threads\` ${THREADS// /, }, idle and under the writer, in this same run as the raw"
  echo "copy and $1 above (on $(nproc) cores): the ratios compare runs of one server a few minutes apart."
  echo
  threads_table "$1"
  echo
  echo "Where the copy's time went, summed over its chunks and sessions (osc's summary event:"
  echo "the bound query, the INSERT ... SELECT, the comparison of both sides, the checkpoint, the commit):"
  echo
  copy_shares | sed 's/^/- /'
  echo
  echo "osc's phases, one row per osc run, in seconds, from its summary event (\"swap\": the cutover;"
  echo "\"cleanup\" includes the last step after it). \"copy rows/s\": the rows copied ÷ the copy phase."
  echo "bound ... commit: the copy's steps summed over every chunk and session, so with several"
  echo "sessions they add up to more than the copy phase; \"sessions busy\" is their sum ÷ the copy phase."
  echo
  phase_header
  cat "$DIR/phases.md"
  echo
  echo "![$2, osc's copy rate by --threads]($TAG-$3-threads.png)"
}
