#!/usr/bin/env bash
# bench/run.sh — what `make bench` runs: bench/pg.sh then bench/my.sh, their
# sections put together in one file, bench/results/TAG.md, with the plots
# beside it and, once runs of more than one size are recorded in
# bench/results/summary.tsv, a scaling table (wall time per million rows and
# osc's peak RSS by table size).
#   TAG is the UTC date, then "-quick" (QUICK=1) or "-rowsN" (a ROWS other than
#   the default); a second run on the same day and size replaces the first.
#   QUICK=1        100000 rows, shorter pauses: under 5 minutes on 2 cores
#   ROWS=N         table size (default 1000000)
#   ENGINES="pg"   only some engines (default "pg my")
#   WORKLOADS=type only some workloads (default "type add")
#   BENCH_THREADS="1 2 4"   osc's --threads values, each run idle and under the writer
#                  (default "1 2")
#   BENCH_PORT, BENCH_MY_PORT   the servers' ports (default 55510 and 55520; each
#                  also uses the next port for its replica)
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=${QUICK:-}
ROWS=${ROWS:-}
ENGINES=${ENGINES:-pg my}
OUTDIR=${OUTDIR:-bench/results}
suffix=
if [ -n "$QUICK" ]; then suffix=-quick; elif [ -n "$ROWS" ] && [ "$ROWS" != 1000000 ]; then suffix=-rows$ROWS; fi
TAG=$(date -u +%Y-%m-%d)$suffix
SECTIONS=$(mktemp -d /tmp/osc-bench-sections.XXXXXX)
trap 'rm -rf "$SECTIONS"' EXIT
export QUICK ROWS OUTDIR TAG SECTIONS
mkdir -p "$OUTDIR"
# this tag's earlier lines go: the run below replaces them
if [ -f "$OUTDIR/summary.tsv" ]; then
  awk -F'\t' -v t="$TAG" '$1 != t' "$OUTDIR/summary.tsv" >"$OUTDIR/summary.tsv.new"
  mv "$OUTDIR/summary.tsv.new" "$OUTDIR/summary.tsv"
fi

started=$(date +%s)
load=$(cut -d' ' -f1-3 /proc/loadavg)
for e in $ENGINES; do
  echo "bench: === $e ==="
  "bench/$e.sh"
done
took=$(( $(date +%s) - started ))

# the scaling table: for each engine and workload, the latest run of each size,
# osc at --threads 2 (its default) where that size has such a run, else the line
# of a run from before --threads (one copy session)
scaling() {
  awk -F'\t' '
    NR > 1 && $5 == "osc" && $6 == "idle" && $7 ~ /^[0-9.]+$/ {
      th = NF < 9 || $9 == "" || $9 == "-" ? "-" : $9
      if (th != "-" && th != 2) next
      k = $2 "\t" $4 "\t" $3
      if (th == "-" && thr[k] == 2) next
      osc[k] = $7; rss[k] = $8; tag[k] = $1; thr[k] = th }
    NR > 1 && $5 == "raw" && $7 ~ /^[0-9.]+$/ { raw[$1 "\t" $2] = $7 }
    END {
      for (k in osc) { split(k, f, "\t"); n[f[1] "\t" f[2]]++ }
      for (k in osc) { split(k, f, "\t"); if (n[f[1] "\t" f[2]] < 2) continue
        r = raw[tag[k] "\t" f[1]]
        printf "%s\t%s\t%d\t%s\t%s\t%.2f\t%s\t%s\t%s\n", f[1], f[2], f[3], thr[k] == "-" ? "1 (before --threads)" : thr[k],
          osc[k], osc[k] * 1e6 / f[3],
          r == "" ? "-" : r, r == "" ? "-" : sprintf("%.2f", osc[k] / r), rss[k] == "-" ? "-" : int(rss[k] / 1024) " MB" } }' \
    "$OUTDIR/summary.tsv" | sort -t$'\t' -k1,1 -k2,2 -k3,3n |
    awk -F'\t' '{ printf "| %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", $1 == "pg" ? "PostgreSQL" : "MariaDB", $2, $3, $4, $5, $6, $7, $8, $9 }'
}

OUT=$OUTDIR/$TAG.md
{
  echo "# osc benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "\`${QUICK:+QUICK=1 }${ROWS:+ROWS=$ROWS }${WORKLOADS:+WORKLOADS=\"$WORKLOADS\" }$([ "$ENGINES" != "pg my" ] && echo "ENGINES=\"$ENGINES\" ")${BENCH_THREADS:+BENCH_THREADS=\"$BENCH_THREADS\" }make bench\`, $took s in all;"
  echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME");"
  echo "load average $load when it started${BENCH_NOTE:+. $BENCH_NOTE}."
  echo "Each engine's figures come from one run on one server, so compare ratios within an engine."
  echo
  for e in $ENGINES; do
    cat "$SECTIONS/$TAG-$e.md"
    echo
  done
  s=$(scaling)
  if [ -n "$s" ]; then
    echo "## Scaling (osc idle, the latest run of each size; from summary.tsv)"
    echo
    echo "| engine | workload | rows | --threads | osc wall s | s per million rows | raw copy s | ÷ raw | osc peak RSS |"
    echo "|---|---|---|---|---|---|---|---|---|"
    echo "$s"
  fi
} >"$OUT"
echo "bench: wrote $OUT ($took s)"
