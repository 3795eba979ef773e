#!/usr/bin/env bash
# bench/proxy.sh — what osc proxy costs the application, and what it buys.
#
# Its own PostgreSQL and MariaDB (default durability settings), a proxy in
# front of each, in a temporary directory:
#   overhead   pgbench direct and through the proxy: select-only, 8 clients,
#              unthrottled (tps) in the three query modes; then at a fixed
#              rate (latency p50/p99/max): select-only and simple-update.
#              The mirrored writer (build/mywriter) direct and through the
#              proxy: unthrottled (writes/s), and at a fixed rate (p50/p99).
#   swaps      10 migrations in a row on the table the load writes, without
#              and with --proxy: pgbench in its three modes at once (8
#              clients, 100 transactions/s each) on PostgreSQL, the mirrored
#              writer on MariaDB: failed transactions (errors), the longest
#              transaction, the longest one that overlapped a swap, swap
#              attempts, and (MariaDB) rows that differ from the mirror.
#   views      readers at 300/s through a view: swap attempts without and
#              with the proxy.
#   longtx     eight clients in 200-400 ms transactions on the table, one after
#              another: swap attempts without and with the proxy.
# Output: OUTDIR/TAG-proxy.md.  QUICK=1 shortens the runs (5 s instead of 15);
# PARTS="overhead swaps views longtx" (the default) runs only some of them.
#   bench/proxy.sh                       BENCH_PROXY_PORT=55530 (uses +0..+16)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pgserver.sh
. bench/lib.sh

QUICK=${QUICK:-}
PARTS=${PARTS:-overhead swaps views longtx}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
DUR=${DUR:-$([ -n "$QUICK" ] && echo 5 || echo 15)}
BASE=${BENCH_PROXY_PORT:-55530}
PGP=$BASE PGX=$((BASE + 5)) MYP=$((BASE + 10)) MYX=$((BASE + 15))
OSC=${OSC:-build/osc}
MYWRITER=${MYWRITER:-build/mywriter}
OUTDIR=${OUTDIR:-bench/results}
TAG=${TAG:-$(date -u +%Y-%m-%d)}
MYBIN=${MYBIN:-/usr/sbin/mariadbd}
DIR=$(mktemp -d /tmp/osc-bench-proxy.XXXXXX)
chmod 0755 "$DIR"
mkdir -p "$OUTDIR"
OUT=$OUTDIR/$TAG-proxy.md
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  pgserver_stop "$DIR/pg"
  [ -f "$DIR/my.pid" ] && kill "$(cat "$DIR/my.pid")" 2>/dev/null
  if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: logs kept in $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
for t in "$OSC" "$MYWRITER"; do [ -x "$t" ] || { echo "bench: $t not found (make all)" >&2; exit 1; }; done
export PGHOST=127.0.0.1 PGPORT=$PGP PGUSER=postgres PGDATABASE=bench
load=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)

# ---- servers and proxies ------------------------------------------------------
echo "bench: PostgreSQL on $PGP, MariaDB on $MYP, proxies on $PGX and $MYX ($DIR)"
pgserver_start "$DIR/pg" "$PGP"
psql -XAtq -d postgres -c "CREATE DATABASE bench"
mkdir "$DIR/my.tmp"
chown mysql:mysql "$DIR" "$DIR/my.tmp"
mariadb-install-db --no-defaults --user=mysql --auth-root-authentication-method=normal --skip-test-db \
  --datadir="$DIR/my.data" >"$DIR/my.install.log" 2>&1 || { cat "$DIR/my.install.log" >&2; exit 1; }
setsid "$MYBIN" --no-defaults --user=mysql --datadir="$DIR/my.data" --socket="$DIR/my.sock" \
  --pid-file="$DIR/my.pid" --log-error="$DIR/my.err" --tmpdir="$DIR/my.tmp" --port="$MYP" \
  --bind-address=127.0.0.1 --skip-name-resolve --innodb-buffer-pool-size=256M </dev/null >"$DIR/my.out" 2>&1 &
for i in $(seq 1 300); do
  mariadb-admin --no-defaults -h127.0.0.1 -P"$MYP" -uroot --connect-timeout=1 ping >/dev/null 2>&1 && break
  [ "$i" = 300 ] && { tail -20 "$DIR/my.err" >&2; exit 1; }
  sleep 0.1
done
my() { mariadb --no-defaults -h127.0.0.1 -P"$MYP" -uroot -N -B "$@"; }
my -e "CREATE DATABASE bench"
# the admin sockets in a directory of this user's own ($DIR belongs to mysql)
mkdir -m 0700 "$DIR/sock"
proxy() { # NAME PORT UPSTREAM [OPTION...]
  local name=$1 port=$2 up=$3
  shift 3
  "$OSC" proxy --listen "127.0.0.1:$port" --upstream "$up" --admin-socket "$DIR/sock/$name.sock" --log-format text \
    "$@" >"$DIR/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do "$OSC" proxy status --admin-socket "$DIR/sock/$name.sock" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "bench: proxy $name did not start" >&2
  exit 1
}
proxy pgx "$PGX" "postgres://127.0.0.1:$PGP" --drain-timeout 2s # longtx's transactions last up to 400 ms
proxy myx "$MYX" "mysql://127.0.0.1:$MYP"

# pgbench's -l log as "end_epoch latency_us" (bench/lib.sh's lat_* read that)
pgb_lat() { cat "$1".log.* | awk '{ printf "%d.%06d %d\n", $5, $6, $3 }'; }
# pgb NAME PORT ARGS...: one pgbench run (its summary in NAME.out, its log as NAME.lat)
pgb() {
  local name=$1 port=$2
  shift 2
  pgbench -h 127.0.0.1 -p "$port" -U postgres -n -l --log-prefix="$DIR/$name.log" "$@" bench >"$DIR/$name.out" 2>&1 || true
  pgb_lat "$DIR/$name" >"$DIR/$name.lat"
}
tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$1" | cut -d. -f1; }
failed() { sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$1"; }
aborted() { grep -c "aborted in command" "$1" || true; }
pct() { # LAT: "p50 p99 max" in ms
  awk '{ print $2 / 1000 }' "$1" | sort -n | awk '
    function q(p,  i) { i = int(NR * p + 0.999999); if (i < 1) i = 1; return v[i] }
    { v[NR] = $1 } END { if (!NR) { print "- - -"; exit } printf "%.2f %.2f %.1f\n", q(0.5), q(0.99), v[NR] }'
}

{
  echo "# osc proxy — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "\`${QUICK:+QUICK=1 }bench/proxy.sh\` at commit $(git rev-parse --short HEAD 2>/dev/null || echo ?);"
  echo "$(nproc) cores, load average $load at the start; PostgreSQL $(psql -XAtc 'SHOW server_version'),"
  echo "MariaDB $(my -e 'SELECT VERSION()'), default durability settings, each run ${DUR} s."
  echo
} >"$OUT"

# ---- overhead: PostgreSQL ----------------------------------------------------
if part overhead; then
echo "bench: pgbench -S direct and through the proxy"
pgbench -i -s 10 -q -n bench >"$DIR/init.log" 2>&1
psql -XAtq -c "VACUUM ANALYZE"
{
  echo "## What the proxy costs"
  echo
  echo "pgbench (scale 10) on the same server, direct and through \`osc proxy\` (one upstream connection per"
  echo "client, nothing pooled), runs interleaved. Unthrottled: transactions/s; at a fixed rate: latency in ms."
  echo
  echo "| workload | direct tps | proxy tps | proxy ÷ direct |"
  echo "|---|---|---|---|"
} >>"$OUT"
for mode in simple extended prepared; do
  pgb "d-$mode" "$PGP" -S -c 8 -j 2 -T "$DUR" -M "$mode"
  pgb "x-$mode" "$PGX" -S -c 8 -j 2 -T "$DUR" -M "$mode"
  echo "| select-only -M $mode, 8 clients | $(tps "$DIR/d-$mode.out") | $(tps "$DIR/x-$mode.out") | $(ratio "$(tps "$DIR/x-$mode.out")" "$(tps "$DIR/d-$mode.out")") |" >>"$OUT"
done
{
  echo
  echo "| workload | direct p50 | p99 | max | proxy p50 | p99 | max | added p50 | added p99 |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >>"$OUT"
for w in "select-only 2000/s:-S -R 2000" "simple-update 500/s:-N -R 500"; do
  name=${w%%:*}
  read -r -a args <<<"${w#*:}"
  pgb d-rate "$PGP" "${args[@]}" -c 8 -j 2 -T "$DUR" -M prepared
  pgb x-rate "$PGX" "${args[@]}" -c 8 -j 2 -T "$DUR" -M prepared
  read -r d50 d99 dmx <<<"$(pct "$DIR/d-rate.lat")"
  read -r x50 x99 xmx <<<"$(pct "$DIR/x-rate.lat")"
  echo "| $name -M prepared, 8 clients | $d50 | $d99 | $dmx | $x50 | $x99 | $xmx | $(awk -v a="$d50" -v b="$x50" 'BEGIN { printf "%.2f", b - a }') | $(awk -v a="$d99" -v b="$x99" 'BEGIN { printf "%.2f", b - a }') |" >>"$OUT"
  rm -f "$DIR"/d-rate.* "$DIR"/x-rate.* # the next workload's runs take the same names
done

fi

# ---- overhead: MariaDB ----------------------------------------------------------
echo "bench: the mirrored writer direct and through the proxy"
my bench -e "CREATE TABLE w (id INT NOT NULL PRIMARY KEY, v VARCHAR(64), n INT, extra INT NOT NULL DEFAULT 0,
  pad VARCHAR(200), KEY w_n_idx (n)) ENGINE=InnoDB;
  CREATE TABLE w_ref LIKE w; ALTER TABLE w_ref DROP INDEX w_n_idx;
  INSERT INTO w SELECT seq, MD5(seq), seq % 1000, seq, REPEAT('x', 100) FROM seq_1_to_100000;
  INSERT INTO w_ref SELECT * FROM w"
mw() { # NAME PORT RATE
  "$MYWRITER" --db "mysql://root@127.0.0.1:$2/bench" --table w --ref w_ref --kind int --rate "$3" \
    --duration "$DUR" --stats "$DIR/$1.json" --latency-log "$DIR/$1.lat" 2>"$DIR/$1.err" || true
}
rate_of() { awk -v d="$DUR" 'END { printf "%d", NR / d }' "$1"; }
if part overhead; then
mw d-max "$MYP" 100000
mw x-max "$MYX" 100000
mw d-500 "$MYP" 500
mw x-500 "$MYX" 500
read -r d50 d99 dmx <<<"$(pct "$DIR/d-500.lat")"
read -r x50 x99 xmx <<<"$(pct "$DIR/x-500.lat")"
{
  echo
  echo "MariaDB: the mirrored writer (one connection; each write a transaction of two prepared statements"
  echo "on the table and its mirror), direct and through the proxy."
  echo
  echo "| workload | direct | proxy | proxy ÷ direct |"
  echo "|---|---|---|---|"
  echo "| writes/s, unthrottled | $(rate_of "$DIR/d-max.lat") | $(rate_of "$DIR/x-max.lat") | $(ratio "$(rate_of "$DIR/x-max.lat")" "$(rate_of "$DIR/d-max.lat")") |"
  echo "| p50 / p99 / max ms at 500 writes/s | $d50 / $d99 / $dmx | $x50 / $x99 / $xmx | |"
  echo
} >>"$OUT"
fi

# ---- held swaps against unheld ones ---------------------------------------------
# swaps SETUP: 10 migrations under the load; with --proxy when SETUP is proxy
if part swaps; then
echo "bench: 10 migrations under pgbench, without and with the proxy"
pgbench -i -s 1 -q -n bench >>"$DIR/init.log" 2>&1
psql -XAtq -c "VACUUM ANALYZE pgbench_accounts"
{
  echo "## Ten swaps in a row, with and without the hold"
  echo
  echo "PostgreSQL: pgbench_accounts (100,000 rows) migrated 10 times in a row (\`ADD COLUMN ... NOT NULL"
  echo "DEFAULT\`, \`--strategy copy --drop-old-table\`) while pgbench runs simple-update in its three query"
  echo "modes at once, 8 clients and 100 transactions/s each. MariaDB: a 100,000-row table migrated 10"
  echo "times under the mirrored writer at 500 writes/s. Direct: the load connects to the server and"
  echo "osc runs without \`--proxy\`; proxy: the load connects through \`osc proxy\`, osc holds it for each"
  echo "swap. Latencies in ms; \"at a swap\": the longest transaction that overlapped a swap (from"
  echo "osc's cutover phase to its cleanup)."
  echo
  echo "| engine | setup | transactions | failed | longest | longest at a swap | longest hold | swap attempts | rows ≠ mirror |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >>"$OUT"
pg_swaps() {
  local setup=$1 port=$PGP extra=() i=0 t0 t1 n=0 f=0 m mx=0 sw=0 holds=0 att=0 h
  [ "$setup" = proxy ] && { port=$PGX; extra=(--proxy "$DIR/sock/pgx.sock"); }
  local off=$([ "$setup" = proxy ] && echo 100 || echo 200)
  t0=$(now)
  "$OSC" --database "postgres://postgres@127.0.0.1:$PGP/bench" --table pgbench_accounts \
    --alter "ADD COLUMN w$off int NOT NULL DEFAULT 0" --drop-old-table --strategy copy >/dev/null 2>&1
  local secs=$(( ( $(date +%s) - ${t0%.*} + 1 ) * 10 * 2 + 5 )) pb=()
  for mode in simple extended prepared; do
    pgbench -h 127.0.0.1 -p "$port" -U postgres -n -c 8 -j 2 -R 100 -T "$secs" -M "$mode" -b simple-update \
      -l --log-prefix="$DIR/s-$setup-$mode.log" bench >"$DIR/s-$setup-$mode.out" 2>&1 &
    pb+=($!)
  done
  sleep 1
  t0=$(now)
  : >"$DIR/s-$setup.windows"
  for i in $(seq 1 10); do
    osc_run "$DIR/s-$setup-$i" --database "postgres://postgres@127.0.0.1:$PGP/bench" --table pgbench_accounts \
      --alter "ADD COLUMN c$((off + i)) int NOT NULL DEFAULT $i" --drop-old-table "${extra[@]}" || true
    echo "$(osc_phase "$DIR/s-$setup-$i.log" cutover) $(osc_phase "$DIR/s-$setup-$i.log" cleanup)" >>"$DIR/s-$setup.windows"
    att=$((att + 1 + $(grep -c "cutover attempt" "$DIR/s-$setup-$i.log" || true)))
    h=$(grep -oE 'released the application after [0-9]+ms' "$DIR/s-$setup-$i.log" | grep -oE '[0-9]+' || echo 0)
    [ "${h:-0}" -gt "$holds" ] && holds=$h
  done
  t1=$(now)
  wait "${pb[@]}" || true
  for mode in simple extended prepared; do
    n=$((n + $(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$DIR/s-$setup-$mode.out")))
    f=$((f + $(failed "$DIR/s-$setup-$mode.out") + $(aborted "$DIR/s-$setup-$mode.out")))
  done
  cat "$DIR"/s-"$setup"-*.log.* | awk '{ printf "%d.%06d %d\n", $5, $6, $3 }' >"$DIR/s-$setup.lat"
  mx=$(lat_max "$DIR/s-$setup.lat" "$t0" "$t1")
  while read -r a b; do
    m=$(lat_max "$DIR/s-$setup.lat" "$a" "$b")
    sw=$(awk -v x="$sw" -v y="$m" 'BEGIN { print (y != "-" && y + 0 > x + 0) ? y : x }')
  done <"$DIR/s-$setup.windows"
  echo "| PostgreSQL | $setup | $n | $f | $mx | $sw | $([ "$setup" = proxy ] && echo "$holds" || echo -) | $att (10 swaps) | |" >>"$OUT"
  PG_SWAPS_LAST="$setup: $f failed of $n, longest $mx ms, at a swap $sw ms, longest hold $holds ms, $att attempts"
}
pg_swaps direct
echo "bench: PostgreSQL direct: $PG_SWAPS_LAST"
pg_swaps proxy
echo "bench: PostgreSQL proxy: $PG_SWAPS_LAST"

my_swaps() {
  local setup=$1 port=$MYP extra=() t0 t1 sw=0 holds=0 att=0 h m diff
  [ "$setup" = proxy ] && { port=$MYX; extra=(--proxy "$DIR/sock/myx.sock"); }
  local off=$([ "$setup" = proxy ] && echo 100 || echo 200)
  "$MYWRITER" --db "mysql://root@127.0.0.1:$port/bench" --table w --ref w_ref --kind int --rate 500 \
    --stats "$DIR/m-$setup.json" --latency-log "$DIR/m-$setup.lat" 2>"$DIR/m-$setup.err" &
  local wpid=$!
  sleep 1
  t0=$(now)
  : >"$DIR/m-$setup.windows"
  for i in $(seq 1 10); do
    osc_run "$DIR/m-$setup-$i" --database "mysql://root@127.0.0.1:$MYP/bench" --table w \
      --alter "ADD COLUMN c$((off + i)) INT NOT NULL DEFAULT $i" --drop-old-table "${extra[@]}" || true
    echo "$(osc_phase "$DIR/m-$setup-$i.log" cutover) $(osc_phase "$DIR/m-$setup-$i.log" cleanup)" >>"$DIR/m-$setup.windows"
    att=$((att + 1 + $(grep -c "cutover attempt" "$DIR/m-$setup-$i.log" || true)))
    h=$(grep -oE 'released the application after [0-9]+ms' "$DIR/m-$setup-$i.log" | grep -oE '[0-9]+' || echo 0)
    [ "${h:-0}" -gt "$holds" ] && holds=$h
  done
  t1=$(now)
  sleep 1
  kill "$wpid"
  wait "$wpid" || true
  while read -r a b; do
    m=$(lat_max "$DIR/m-$setup.lat" "$a" "$b")
    sw=$(awk -v x="$sw" -v y="$m" 'BEGIN { print (y != "-" && y + 0 > x + 0) ? y : x }')
  done <"$DIR/m-$setup.windows"
  local cols="id, v, n, extra, pad"
  diff=$(my bench -e "SELECT (SELECT COUNT(*) FROM (SELECT $cols FROM w EXCEPT ALL SELECT $cols FROM w_ref) a)
                           + (SELECT COUNT(*) FROM (SELECT $cols FROM w_ref EXCEPT ALL SELECT $cols FROM w) b)")
  echo "| MariaDB | $setup | $(awk 'END { print NR }' "$DIR/m-$setup.lat") | $(errs "$DIR/m-$setup.json") | $(lat_max "$DIR/m-$setup.lat" "$t0" "$t1") | $sw | $([ "$setup" = proxy ] && echo "$holds" || echo -) | $att (10 swaps) | $diff |" >>"$OUT"
}
echo "bench: 10 migrations under the mirrored writer, without and with the proxy"
my_swaps direct
my_swaps proxy
fi

# ---- readers through a view --------------------------------------------------------
if part views; then
echo "bench: readers through a view"
psql -XAtq -c "DROP TABLE IF EXISTS vr CASCADE" -c "CREATE TABLE vr (id int PRIMARY KEY, v text, n int)" \
  -c "INSERT INTO vr SELECT i, md5(i::text), i FROM generate_series(1, 100000) i" \
  -c "CREATE VIEW vr_v AS SELECT id, v, n FROM vr" -c "VACUUM ANALYZE vr"
printf '\\set a random(1, 99900)\nSELECT count(*), sum(n) FROM vr_v WHERE id BETWEEN :a AND :a + 100;\n' >"$DIR/reader.sql"
pgbench -h 127.0.0.1 -p "$PGX" -U postgres -n -c 4 -j 1 -R 300 -T 120 -f "$DIR/reader.sql" bench >"$DIR/readers.out" 2>&1 &
rpid=$!
sleep 1
views=()
for setup in direct proxy; do
  extra=()
  [ "$setup" = proxy ] && extra=(--proxy "$DIR/sock/pgx.sock")
  rc=0
  osc_run "$DIR/v-$setup" --database "postgres://postgres@127.0.0.1:$PGP/bench" --table vr \
    --alter "ADD COLUMN c_$setup int" --drop-old-table --cutover-retries 10 "${extra[@]}" || rc=$?
  a=$(grep -c "cutover attempt" "$DIR/v-$setup.log" || true)
  if [ "$rc" = 0 ]; then views+=("$setup: swapped at attempt $((a + 1))"); else views+=("$setup: failed all $a attempts (exit $rc)"); fi
done
kill "$rpid" 2>/dev/null || true
wait "$rpid" 2>/dev/null || true
{
  echo
  echo "Readers at 300 SELECTs/s through a view over a 100,000-row table (through the proxy),"
  echo "\`--cutover-retries 10\`: ${views[0]}; ${views[1]}."
} >>"$OUT"
fi
# ---- transactions longer than the lock timeout ------------------------------------
if part longtx; then
echo "bench: transactions longer than the lock timeout"
psql -XAtq -c "DROP TABLE IF EXISTS lx CASCADE" -c "CREATE TABLE lx (id int PRIMARY KEY, v text, n int)" \
  -c "INSERT INTO lx SELECT i, md5(i::text), i FROM generate_series(1, 100000) i" -c "VACUUM ANALYZE lx"
printf '\\set id random(1, 100000)\n\\set ms random(200, 400)\nBEGIN;\nUPDATE lx SET n = n WHERE id = :id;\nSELECT pg_sleep(:ms / 1000.0);\nEND;\n' \
  >"$DIR/long.sql"
longs=()
for setup in direct proxy; do
  extra=()
  [ "$setup" = proxy ] && extra=(--proxy "$DIR/sock/pgx.sock")
  rm -f "$DIR/postpone"
  "$OSC" --database "postgres://postgres@127.0.0.1:$PGP/bench" --table lx --alter "ADD COLUMN c_$setup int" \
    --drop-old-table --cutover-retries 10 --strategy copy --log-format text --postpone-cutover "$DIR/postpone" \
    "${extra[@]}" >"$DIR/l-$setup.log" 2>&1 &
  opid=$!
  for _ in $(seq 1 600); do grep -q "cutover postponed" "$DIR/l-$setup.log" && break; sleep 0.1; done
  pgbench -h 127.0.0.1 -p "$PGX" -U postgres -n -c 8 -j 2 -T 120 -f "$DIR/long.sql" bench >"$DIR/long-$setup.out" 2>&1 &
  lpid=$!
  sleep 1
  rm -f "$DIR/postpone"
  rc=0
  wait "$opid" || rc=$?
  kill "$lpid" 2>/dev/null || true
  wait "$lpid" 2>/dev/null || true
  a=$(grep -c "cutover attempt" "$DIR/l-$setup.log" || true)
  h=$(grep -oE 'released the application after [0-9]+ms' "$DIR/l-$setup.log" | tail -n 1 | grep -oE '[0-9]+' || true)
  if [ "$rc" = 0 ]; then
    longs+=("$setup: swapped at attempt $((a + 1))${h:+, the application held ${h} ms}")
  else
    longs+=("$setup: failed all $a attempts (exit $rc)")
    "$OSC" --database "postgres://postgres@127.0.0.1:$PGP/bench" --table lx cleanup >/dev/null 2>&1 || true
  fi
done
{
  echo
  echo "Eight clients (through the proxy) in 200-400 ms transactions that write a 100,000-row table, one"
  echo "after another, \`--cutover-retries 10\`: ${longs[0]}; ${longs[1]}."
} >>"$OUT"
fi
{
  echo
  echo "$(( $(date +%s) - started )) s in all; load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
} >>"$OUT"
echo "bench: wrote $OUT"
cat "$OUT"
