# shellcheck shell=bash
# Sourced by bench/pg.sh and bench/my.sh: timing and latency helpers.
#   now                      the time, epoch seconds with nanoseconds
#   secs A B                 B - A, two decimals
#   ratio A B                A / B, two decimals ("-" when either is not a positive number)
#   iso2epoch TS             an ISO-8601 time as epoch seconds
#   phase_ts LOG PHASE       when osc entered PHASE (epoch), from its JSON log
#   lat_window LAT FROM TO   writer latency stats (ms) of the writes that overlap
#                            [FROM, TO]: "p50 p99 max count" ("- - - 0" when none);
#                            the log has each write's end time and duration (us)
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
iso2epoch() { date -d "$1" +%s.%N; }
phase_ts() { iso2epoch "$(grep -m1 "\"phase\":\"$2\"" "$1" | sed 's/.*"ts":"\([^"]*\)".*/\1/')"; }
lat_window() {
  awk -v from="$2" -v to="$3" '{ start = $1 - $2 / 1e6; if (start <= to && $1 >= from) print $2 / 1000 }' "$1" |
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "- - - 0"; exit }
      i50 = int(NR * 0.50); i99 = int(NR * 0.99); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1;
      printf "%.1f %.1f %.1f %d\n", v[i50], v[i99], v[NR], NR }'
}
