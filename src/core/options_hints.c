/*
 * options_hints.c — what osc calls the options that users of gh-ost,
 * pt-online-schema-change, pg-osc and pg_repack type out of habit.
 *
 * osc has none of these options; an unknown option is already an exit-2
 * error that changes nothing, and this table only makes its message name
 * osc's equivalent (or say there is none) instead of a bare "unknown".
 * Names are matched whole, without leading dashes and without "=value"
 * (gh-ost's Go flags take one dash: -execute is matched as well as --execute);
 * getopt_long accepts unambiguous prefixes of osc's own options, so a name
 * here must not be a prefix of one (t_hints.sh runs each of them).
 */
#include "options.h"

#include <string.h>

typedef struct OptionHint {
	const char *name; /* as the other tool spells it, without dashes */
	const char *hint; /* what to type instead */
} OptionHint;

static const OptionHint hints[] = {
	/* gh-ost and pt-osc: a run is the real thing unless told otherwise */
	{ "execute", "osc runs the ALTER by default (no --execute needed); `osc plan` is the dry run" },
	{ "dry-run", "`osc plan --table T --alter SPEC` is the dry run: it validates and changes nothing" },
	{ "noop", "`osc plan --table T --alter SPEC` is the dry run: it validates and changes nothing" },
	{ "print", "-v (--verbose) logs each step; `osc plan` prints what a run would do" },
	/* replicas and lag */
	{ "max-lag-millis", "--max-lag DUR (e.g. --max-lag 1500ms)" },
	{ "throttle-control-replicas", "--replica URL, once per replica (e.g. --replica mysql://user@host:3306/db)" },
	{ "check-slave-lag", "--replica URL, once per replica whose lag --max-lag bounds" },
	{ "check-replica-lag", "--replica URL, once per replica whose lag --max-lag bounds" },
	{ "recursion-method", "--replica URL, once per replica (MySQL default: SHOW SLAVE HOSTS)" },
	{ "replication-lag-query", "--replica URL and --max-lag DUR" },
	{ "test-on-replica", "--allow-on-replica (MySQL/MariaDB: run the ALTER on that replica alone)" },
	{ "migrate-on-replica", "--allow-on-replica (MySQL/MariaDB: run the ALTER on that replica alone)" },
	{ "allow-on-master", "nothing: osc runs on the primary by default" },
	/* flag files */
	{ "postpone-cut-over-flag-file", "--postpone-cutover FILE (and `osc cutover --table T` to go on)" },
	{ "panic-flag-file", "--panic-file FILE" },
	{ "throttle-flag-file", "--pause-file FILE (or `osc pause --table T`)" },
	{ "throttle-additional-flag-file", "--pause-file FILE (or `osc pause --table T`)" },
	{ "serve-socket-file", "--socket PATH (osc status|pause|resume|cutover|abort|set talk to it)" },
	{ "serve-tcp-port", "--socket PATH: osc is steered over a local socket only" },
	/* load */
	{ "critical-load-interval-millis", "--critical-interval DUR (e.g. --critical-interval 500ms)" },
	{ "critical-load-hibernate-seconds", "none: osc aborts at the critical load (original intact) and resumes when run again" },
	{ "throttle-query", "--max-load NAME=VALUE or --pause-file FILE" },
	{ "throttle-http", "--pause-file FILE, or `osc pause|resume --table T`" },
	{ "sleep", "--chunk-time DUR, --max-load NAME=VALUE or --max-lag DUR" },
	/* chunks and the swap */
	{ "chunk-size-limit", "--chunk-size-max N" },
	{ "dml-batch-size", "none: osc replays changes in batches sized by itself" },
	{ "cut-over-lock-timeout-seconds", "--lock-timeout DUR (e.g. --lock-timeout 3s)" },
	{ "cut-over", "none: osc's swap is atomic on both engines (--postpone-cutover FILE to choose when)" },
	{ "default-retries", "--cutover-retries N" },
	{ "tries", "--cutover-retries N" },
	{ "ok-to-drop-table", "--drop-old-table" },
	{ "no-drop-old-table", "nothing: osc keeps the original by default (--drop-old-table drops it)" },
	{ "no-swap-tables", "--postpone-cutover FILE (the copy stays in sync until you run `osc cutover`)" },
	{ "initially-drop-ghost-table", "`osc cleanup --table T` removes what an abandoned run left" },
	{ "initially-drop-old-table", "drop the old table with SQL, or --drop-old-table at the run before" },
	{ "approve-renamed-columns", "nothing: osc maps a column the ALTER renames (RENAME COLUMN, CHANGE) itself" },
	{ "skip-renamed-columns", "nothing: osc maps a column the ALTER renames (RENAME COLUMN, CHANGE) itself" },
	{ "allow-nullable-unique-key", "none: osc needs a primary key, or a unique key over NOT NULL columns" },
	{ "assume-rbr", "nothing: osc captures changes with triggers, not from the binary log" },
	{ "switch-to-rbr", "nothing: osc captures changes with triggers, not from the binary log" },
	{ "hooks-path", "--on-success CMD, --on-failure CMD and --on-cutover CMD" },
	{ "config-file", "--config FILE (`option = value` lines)" },
	/* connecting: one URL */
	{ "host", "--database URL (postgres://user@host:port/db or mysql://user@host:port/db)" },
	{ "port", "--database URL (postgres://user@host:port/db or mysql://user@host:port/db)" },
	{ "user", "--database URL (postgres://user@host:port/db or mysql://user@host:port/db)" },
	{ "username", "--database URL (postgres://user@host:port/db or mysql://user@host:port/db)" },
	{ "password", "--database URL without the password, and PGPASSWORD, ~/.pgpass, MYSQL_PWD or ~/.my.cnf" },
	{ "dbname", "--database URL (postgres://user@host:port/db)" },
	{ "schema", "--table schema.table" },
	{ "t", "--table T" },
	{ "a", "--alter \"SPEC\"" },
	{ "d", "--database URL" },
	{ "D", "--database URL (mysql://user@host:port/db)" },
	{ "u", "--database URL (postgres://user@host:port/db or mysql://user@host:port/db)" },
	{ "p", "--database URL without the password, and PGPASSWORD, ~/.pgpass, MYSQL_PWD or ~/.my.cnf" },
	{ "P", "--database URL (postgres://user@host:port/db or mysql://user@host:port/db)" },
	{ "defaults-file", "--database-file FILE, or MySQL's ~/.my.cnf for the password" },
	/* pg-osc and pg_repack */
	{ "alter-statement", "--alter \"SPEC\" (what follows ALTER TABLE T)" },
	{ "wait-time-for-lock", "--lock-timeout DUR (osc retries the swap --cutover-retries times)" },
	{ "wait-timeout", "--lock-timeout DUR (osc retries the swap --cutover-retries times)" },
	{ "kill-backends", "none: osc never kills sessions; it retries its short locks (--lock-timeout, --cutover-retries)" },
	{ "no-kill-backend", "nothing: osc never kills sessions" },
	{ "pull-batch-count", "none: osc replays changes in batches sized by itself" },
	{ "delta-count", "none: osc replays changes in batches sized by itself" },
	{ "copy-statement", "none: osc copies every column (a type change takes USING in --alter)" },
	{ "no-superuser-check", "nothing: osc needs no superuser (README.md, Privileges)" },
	{ "jobs", "none: osc copies one table with one connection" },
	{ NULL, NULL },
};

const char *options_hint(const char *arg)
{
	if (arg == NULL)
		return NULL;
	for (int i = 0; i < 2 && *arg == '-'; i++)
		arg++;
	size_t n = strcspn(arg, "=");
	for (const OptionHint *h = hints; h->name; h++)
		if (strlen(h->name) == n && strncmp(h->name, arg, n) == 0)
			return h->hint;
	return NULL;
}
