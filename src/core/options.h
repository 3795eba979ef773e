/*
 * options.h — the command line and --config file (README.md "Commands and
 * options" is the contract users and tests rely on).
 */
#ifndef OSC_OPTIONS_H
#define OSC_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "throttle.h"
#include "window.h"

typedef enum OscCommand {
	CMD_RUN,
	CMD_PLAN,
	CMD_CLEANUP,
	CMD_HISTORY,
	CMD_STATUS,
	CMD_PAUSE,    /* control a running migration over its socket */
	CMD_RESUME,
	CMD_CUTOVER,
	CMD_ABORT,
	CMD_SET,
	CMD_PS,       /* the runs of this host, found by their sockets (src/core/ps.c) */
	CMD_REVERT,   /* back to the schema before a --revertible run's swap (src/core/revert.c) */
	CMD_FINISH,   /* ends a --revertible run's revertibility */
	CMD_HELP,
	CMD_VERSION,
} OscCommand;

/* A plan's risk class (src/core/plan.h), in order. */
typedef enum PlanRisk { PLAN_RISK_LOW = 1, PLAN_RISK_MEDIUM = 2, PLAN_RISK_HIGH = 3 } PlanRisk;

typedef enum LogFormat { LOG_AUTO, LOG_TEXT, LOG_JSON } LogFormat;

/* --verify: what is compared between the original and the shadow (README.md "Verification") */
typedef enum VerifyMode { VERIFY_CHECKSUM, VERIFY_COUNT, VERIFY_NONE } VerifyMode;

/* --strategy: auto picks the least-locking way (src/core/strategy.h); copy forces the shadow copy */
typedef enum StrategyChoice { STRATEGY_AUTO, STRATEGY_COPY } StrategyChoice;

typedef struct Options {
	OscCommand command;
	OscCommand help_for;      /* CMD_HELP: whose usage (CMD_RUN: all of it) */
	const char *table;
	const char *alter;
	const char *database;     /* URL (a copy: argv's is scrubbed), or read from
	                             --database-file; NULL: OSC_DATABASE_URL, then libpq's PG* */
	int64_t chunk_time_ms;    /* target time per chunk */
	int64_t chunk_size;       /* initial rows per chunk */
	int64_t chunk_size_max;
	int threads;              /* --threads: chunk copies at once (src/core/copy_wave.c) */
	int64_t nice_permille;    /* --nice-ratio x 1000: sleep that share of each chunk's time */
	int64_t lock_timeout_ms;  /* every lock osc takes on the original */
	int64_t statement_timeout_ms;
	int cutover_retries;
	int64_t max_runtime_ms;   /* 0: none */
	bool drop_old_table;
	bool revertible;          /* --revertible: the original is kept in step after the swap (osc revert) */
	bool allow_on_replica;    /* --allow-on-replica: MySQL/MariaDB, run on a replica anyway (never a PostgreSQL standby) */
	const char *alter_fk_method; /* --alter-foreign-keys-method; NULL: refuse when child tables exist */
	Window window;            /* copy only inside it */
	bool window_wait;         /* outside the window: wait, not exit 3 */
	const char *log_file;     /* append the log here instead of stderr */
	const char *on_success, *on_failure, *on_cutover; /* hook commands */
	/* throttling (src/core/throttle.h) and live control (src/core/control.h) */
	const char *replicas[THROTTLE_MAX_REPLICAS]; /* --replica URL, repeatable */
	int nreplicas;
	ThrottleLimits limits;    /* --max-lag, --critical-lag, --critical-interval, --max-load, --critical-load */
	int64_t heartbeat_interval_ms;
	int64_t progress_interval_ms; /* 0: 200ms on a terminal, 5s otherwise */
	const char *pause_file, *panic_file;
	const char *postpone_cutover; /* flag file: the swap waits while it exists */
	const char *socket_path;  /* NULL: derived from the database and the table */
	const char *proxy_socket; /* --proxy: the osc proxy's admin socket (cutover/proxy_hold.c) */
	char **set_args;          /* osc set: name=value words (in argv) */
	int nset_args;
	LogFormat log_format;
	VerifyMode verify;
	StrategyChoice strategy;
	bool plan_json;           /* osc plan --format json */
	int plan_fail_on;         /* osc plan --fail-on: a PlanRisk, 0 none */
	const char *metrics_addr; /* --metrics HOST:PORT (src/core/metrics.c); NULL: none */
	int verbosity;            /* -1 quiet, 0 normal, 1+ verbose */
	char *owned[64];          /* strings read from --config, --database-file and
	                             copies of URLs, freed at exit */
	int n_owned;
	char *scrub[THROTTLE_MAX_REPLICAS + 8]; /* argv's URLs, passwords overwritten once parsed */
	int nscrub;
} Options;

/* --threads: two by default, what a small server spares (docs/how-it-works.md, "The parallel copy") */
#define OSC_THREADS_DEFAULT 2
#define OSC_THREADS_MAX 16

void options_defaults(Options *o);
/* --nice-ratio and `osc set nice-ratio=`: a decimal from 0 to 100, kept in
 * thousandths; bad input is exit 2. */
bool nice_ratio_parse(const char *v, int64_t *permille, OscErr *e) MUSTCHECK;
/* Parses argv (and --config files it names).  Errors are exit-2 errors.
 * Before it returns, the passwords of the URLs given on the command line
 * (--database, --replica) are overwritten in argv, so that `ps` no longer
 * shows them; Options holds copies.  Strings from argv are borrowed (argv
 * outlives o); those read from files, and the copies, are o's
 * (Options.owned): options_free releases them. */
bool options_parse(Options *o, int argc, char **argv, OscErr *e) MUSTCHECK;
void options_free(Options *o);
void options_usage(void);
/* `osc CMD --help`: that command's usage (CMD_RUN, CMD_HELP: options_usage) */
void options_usage_for(OscCommand cmd);
/* What osc calls an option of gh-ost, pt-osc, pg-osc or pg_repack (word:
 * with or without its dashes and =value); NULL when osc has no hint. */
const char *options_hint(const char *word);

#endif
