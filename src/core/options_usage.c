/*
 * options_usage.c — the text of `osc --help`: every command and option of
 * options_table.c, with its default, in the order a user looks for them; and of
 * `osc CMD --help`, the options that command reads (man/osc.1 has it all,
 * tests/t_help.sh checks that both name every option).
 */
#include "options.h"

#include <stdio.h>

#define CONNECT \
	"  --database URL          postgres://user@host:port/db, mysql://user@host:port/db (default:\n" \
	"                          $OSC_DATABASE_URL, then PG* variables); or --database-file FILE\n" \
	"  --config FILE           read `option = value` lines (command line wins)\n"
#define STEER \
	"  --socket PATH           the run's control socket, if it was started with --socket (default:\n" \
	"                          derived from --database's host, port and database and from --table)\n"

void options_usage(void)
{
	fputs(
	    "usage: osc --table T --alter \"SPEC\" [--database URL] [options]   run an online ALTER\n"
	    "       osc plan    --table T --alter \"SPEC\"   validate and print the plan; changes nothing\n"
	    "       osc revert  --table T                  back to the definition before a --revertible run's swap,\n"
	    "                                              with every row written since\n"
	    "       osc finish  --table T [--drop-old-table]  keep the new definition: end the run's revertibility\n"
	    "       osc cleanup --table T                  remove what an abandoned run left\n"
	    "       osc status  [--table T]                live status of a running migration, else the last state\n"
	    "       osc pause | resume | cutover | abort --table T   steer a running migration (its socket)\n"
	    "       osc set --table T name=value...        change limits while it runs: chunk-time, chunk-size-max,\n"
	    "                                              max-lag, critical-lag, critical-interval, max-load,\n"
	    "                                              critical-load, lock-timeout, cutover-retries, max-runtime\n"
	    "       osc ps                                 the migrations running on this host\n"
	    "       osc history [--table T]                past runs\n"
	    "Rerunning an unfinished migration (killed, stopped, window closed) resumes it.\n"
	    "\n"
	    "options:\n"
	    "  --database URL          postgres://user@host:port/db, mysql://user@host:port/db\n"
	    "                          (default: $OSC_DATABASE_URL, then PG* variables); a password given here is\n"
	    "                          overwritten in the process's arguments at start, but keep it out of the\n"
	    "                          command line: PGPASSWORD or ~/.pgpass, MYSQL_PWD or ~/.my.cnf, or:\n"
	    "  --database-file FILE    read the URL from FILE (yours, not readable by others: chmod 600)\n"
	    "  --chunk-time DUR        target time of one copy chunk (default 500ms)\n"
	    "  --chunk-size N          rows in the first chunk (default 1000)\n"
	    "  --chunk-size-max N      upper bound on rows per chunk (default 200000)\n"
	    "  --threads N             chunks copied at once, each on its own connection (default 2)\n"
	    "  --nice-ratio R          sleep R times each chunk's time after it (default 0)\n"
	    "  --lock-timeout DUR      longest wait for any lock on the table (default 100ms)\n"
	    "  --statement-timeout DUR bound on any one statement osc runs (default 60s)\n"
	    "  --cutover-retries N     swap attempts before giving up (default 30)\n"
	    "  --max-runtime DUR       abort when the run takes longer (default: no limit)\n"
	    "  --drop-old-table        drop the original after the swap instead of keeping _T_osc_old\n"
	    "                          (_T_osc_old_<n> when an earlier run's old table has that name)\n"
	    "  --revertible            after the swap, keep the original in step so that osc revert can go back\n"
	    "                          (one log row per write to the table until osc finish; always a copy)\n"
	    "  --alter-foreign-keys-method M  MySQL child tables: rebuild_constraints, drop_swap, auto or none\n"
	    "  --allow-on-replica      MySQL/MariaDB: run although the server is a replica (replication running,\n"
	    "                          or read_only); the ALTER then exists on that server only, and replication\n"
	    "                          breaks if the primary later writes the table (never on a PostgreSQL standby)\n"
	    "  --window HH:MM-HH:MM    copy only inside this local time window (may cross midnight)\n"
	    "  --window-wait           outside the window, wait for it instead of exiting 3\n"
	    "  --log-format text|json  progress and messages as text (terminal) or JSON lines\n"
	    "  --progress-interval DUR how often progress is printed (default 200ms on a terminal, 5s otherwise)\n"
	    "  --log-file FILE         append the log to FILE (errors also go to stderr)\n"
	    "  --on-success CMD        run CMD (sh -c) when done; OSC_* variables describe the run\n"
	    "  --on-failure CMD        run CMD when the run fails (exit 1 or 2)\n"
	    "  --on-cutover CMD        run CMD right after the swap committed\n"
	    "  --replica URL           watch this replica's lag (repeatable; MySQL: default SHOW SLAVE HOSTS)\n"
	    "  --max-lag DUR           pause copy and replay while a replica is further behind (default 1.5s; 0: off)\n"
	    "  --critical-lag DUR      abort when a replica is this far behind (default: off)\n"
	    "  --critical-interval DUR a critical reading must hold this long before osc aborts (default 0)\n"
	    "  --max-load N=V,...      pause while a metric is above V: MySQL any global status variable\n"
	    "                          (Threads_running=25); PostgreSQL active_sessions, wal_bytes_per_sec\n"
	    "  --critical-load N=V,... abort when a metric reaches V\n"
	    "  --heartbeat-interval DUR  how often osc writes its heartbeat row (default 100ms)\n"
	    "  --pause-file FILE       pause while FILE exists\n"
	    "  --panic-file FILE       abort (original intact) when FILE appears\n"
	    "  --postpone-cutover FILE  created at start; the swap waits while it exists (or until osc cutover)\n"
	    "  --socket PATH           the control socket (default: osc-<hash of host, port, database and table>.sock\n"
	    "                          in $XDG_RUNTIME_DIR, else in a private $TMPDIR/osc-<uid> (TMPDIR: /tmp))\n"
	    "  --verify checksum|count|none  compare each chunk and each replayed change between the original\n"
	    "                          and the new table (default checksum); a mismatch is re-copied once, then aborts\n"
	    "  --strategy auto|copy    auto: metadata-only changes and constraints run in place under the lock\n"
	    "                          timeout; copy: always the shadow copy (default auto)\n"
	    "  --format text|json      osc plan's output (default text)\n"
	    "  --fail-on medium|high   osc plan exits 4 when the plan's risk reaches that level\n"
	    "  --metrics HOST:PORT     serve the run's metrics for Prometheus at http://HOST:PORT/metrics\n"
	    "  --proxy PATH            the admin socket of the osc proxy the application connects through: its\n"
	    "                          sessions are held at transaction boundaries for the swap (osc proxy --help)\n"
	    "  --config FILE           read `option = value` lines (command line wins)\n"
	    "  -q, --quiet  -v, --verbose  --version  --help\n"
	    "durations: 250ms, 2s, 5m, 1h.  exit: 0 done, 1 failed (original intact),\n"
	    "2 bad input (nothing changed), 3 stopped (resumable), 4 osc plan --fail-on: the risk is reached\n",
	    stdout);
}

/* `osc CMD --help`.  The text of each command's options repeats the
 * wording of options_usage() above, so one grep finds both. */
void options_usage_for(OscCommand cmd)
{
	const char *text = NULL;
	switch (cmd) {
	case CMD_PLAN:
		text = "usage: osc plan --table T --alter \"SPEC\" [--database URL] [options]\n"
		       "Validates the ALTER against the live table and prints what a run would do (strategy, locks,\n"
		       "estimated time, warnings, whether and how a revert could go back); changes nothing.  Exit 0; 2 when the run would be refused as bad input;\n"
		       "4 with --fail-on when the risk reaches that level.\n"
		       "\n"
		       "options:\n" CONNECT
		       "  --format text|json      the plan's output (default text)\n"
		       "  --fail-on medium|high   exit 4 when the plan's risk reaches that level (CI and cron gates)\n"
		       "  --strategy auto|copy    plan for in place when possible (auto, default) or always a copy\n"
		       "  --revertible            plan a --revertible run (a high warning when the ALTER has no inverse)\n"
		       "  --chunk-time DUR  --lock-timeout DUR  --cutover-retries N  --verify checksum|count|none\n"
		       "  --max-lag DUR  --max-load N=V,...  --alter-foreign-keys-method M  --allow-on-replica\n"
		       "                          as for the run: the plan shows their effect\n"
		       "  -q, -v, --help\n";
		break;
	case CMD_REVERT:
		text = "usage: osc revert --table T [--database URL] [options]\n"
		       "Goes back to the definition T had before the swap of its --revertible migration, with every row\n"
		       "the application wrote since: those changes are replayed into the original (kept in step since\n"
		       "the swap) and verified as in a run, then the original is swapped back in under the same short\n"
		       "lock with retries.  A value written since that the old definition cannot hold (out of the old\n"
		       "type's range, a NULL for NOT NULL) is refused with its key named: exit 2, and T keeps its new\n"
		       "definition, still revertible, as after any failure before the swap back.  Rerun after a stop\n"
		       "or a kill to go on.\n"
		       "\n"
		       "options:\n" CONNECT
		       "  --drop-old-table        drop the table with the new definition that the swap back takes out of T\n"
		       "  --lock-timeout DUR  --cutover-retries N  --statement-timeout DUR  --proxy PATH\n"
		       "  --replica URL  --max-lag DUR  --critical-lag DUR  --socket PATH  --log-format text|json\n"
		       "  --log-file FILE  --on-success CMD  --on-failure CMD  --on-cutover CMD\n"
		       "                          as for the run\n"
		       "  -q, -v, --help\n";
		break;
	case CMD_FINISH:
		text = "usage: osc finish --table T [--drop-old-table] [--database URL]\n"
		       "Ends the revertibility of T's --revertible migration: T keeps its new definition, the capture on\n"
		       "it and its reverse log are dropped, and the original is kept (dropped with --drop-old-table).\n"
		       "After it, osc revert is no longer possible.\n"
		       "\n"
		       "options:\n" CONNECT
		       "  --drop-old-table        drop the original too\n"
		       "  --lock-timeout DUR      longest wait for the lock that removing the capture takes (default 100ms)\n"
		       "  --cutover-retries N     attempts at that lock (default 30)\n"
		       "  -q, -v, --help\n";
		break;
	case CMD_CLEANUP:
		text = "usage: osc cleanup --table T [--database URL]\n"
		       "Gives up an unfinished migration of T: removes its trigger, shadow table, change log and\n"
		       "state, leaving the original as it is.  A rerun of the migration then starts over.\n"
		       "\n"
		       "options:\n" CONNECT
		       "  --lock-timeout DUR      longest wait for the lock that removing the trigger takes (default 100ms)\n"
		       "  --cutover-retries N     attempts at that lock (default 30)\n"
		       "  -q, -v, --help\n";
		break;
	case CMD_STATUS:
		text = "usage: osc status [--table T] [--database URL] [--log-format text|json]\n"
		       "Live status of the migration of T running on this host (asked over its socket); when none\n"
		       "answers, the last state recorded in the database.  JSON when stdout is not a terminal.\n"
		       "\n"
		       "options:\n" CONNECT STEER
		       "  --log-format text|json  text or one JSON object (default: text on a terminal)\n"
		       "  -q, -v, --help\n";
		break;
	case CMD_PAUSE:
	case CMD_RESUME:
	case CMD_CUTOVER:
	case CMD_ABORT:
		text = "usage: osc pause   --table T [--database URL]   pause copy and replay (changes keep being captured)\n"
		       "       osc resume  --table T [--database URL]   go on after osc pause\n"
		       "       osc cutover --table T [--database URL]   let a swap postponed by --postpone-cutover go ahead\n"
		       "       osc abort   --table T [--database URL]   abort the run: original intact, osc's objects removed\n"
		       "Steer the migration of T running on this host over its control socket.  Exit 1 when no run\n"
		       "answers.\n"
		       "\n"
		       "options:\n" CONNECT STEER
		       "  -q, -v, --help\n";
		break;
	case CMD_SET:
		text = "usage: osc set --table T [--database URL] name=value...\n"
		       "Changes the limits of the migration of T running on this host, all or nothing:\n"
		       "  chunk-time=DUR  chunk-size-max=N  nice-ratio=R  max-lag=DUR  critical-lag=DUR  critical-interval=DUR\n"
		       "  max-load=NAME=V,...  critical-load=NAME=V,...  lock-timeout=DUR  cutover-retries=N  max-runtime=DUR\n"
		       "A bad name or value is exit 2 and nothing of the request is applied.\n"
		       "e.g. osc set --table users chunk-time=200ms max-lag=3s\n"
		       "\n"
		       "options:\n" CONNECT STEER
		       "  -q, -v, --help\n";
		break;
	case CMD_PS:
		text = "usage: osc ps [--log-format text|json]\n"
		       "The migrations running on this host, found by their control sockets in $XDG_RUNTIME_DIR and\n"
		       "$TMPDIR/osc-<uid>, whatever URL started them: pid, phase, progress, state, target, socket.\n"
		       "Runs started with --socket elsewhere are not listed.\n"
		       "\n"
		       "options:\n"
		       "  --log-format text|json  a table, or one JSON object per run (default: text)\n"
		       "  -q, -v, --help\n";
		break;
	case CMD_HISTORY:
		text = "usage: osc history [--table T] [--database URL]\n"
		       "Every migration recorded in this database (of T only, with --table): its ALTER, outcome,\n"
		       "phase, rows and times; for a --revertible one, where its revert stands.\n"
		       "\n"
		       "options:\n" CONNECT
		       "  -q, -v, --help\n";
		break;
	default: options_usage(); return;
	}
	fputs(text, stdout);
}
