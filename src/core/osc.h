/*
 * osc.h — the one context a run carries, and the engine adapter interface.
 *
 * The pipeline (src/core/migrate.c) is engine-neutral: it decides what happens
 * when (preflight, shadow, capture, copy <-> replay, indexes, cutover,
 * cleanup), sizes chunks, reports progress and handles aborts.  Everything
 * that speaks SQL lives behind Engine, one implementation per database:
 * src/pg_*.c, replicator/pg_*.c and src/pg/pg_swap.c for PostgreSQL.
 */
#ifndef OSC_OSC_H
#define OSC_OSC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "alter.h"
#include "control.h"
#include "err.h"
#include "log.h"
#include "names.h"
#include "options.h"
#include "plan.h"
#include "strategy.h"
#include "summary.h"

typedef struct Osc Osc;

typedef enum SwapResult {
	SWAP_DONE,    /* committed: the table name now resolves to the new table */
	SWAP_RETRY,   /* the lock was not granted in time; nothing changed */
	SWAP_FAILED,  /* a real error; rolled back, nothing changed */
} SwapResult;

/* What preflight found of an earlier run of the same migration. */
typedef enum ResumeKind {
	RESUME_NONE,        /* a new migration */
	RESUME_COPY,        /* continue the copy from its checkpoint */
	RESUME_AFTER_COPY,  /* the copy was done: indexes, catch-up, swap */
	RESUME_SWAPPED,     /* the swap committed: only the cleanup is left */
	RESUME_DONE,        /* this exact migration already finished: nothing to do */
} ResumeKind;

/* The monitor (replicator/lag.c) calls these from its own thread, on
 * connections of its own; they never touch o->db's connection. */
typedef struct EngineMonitor {
	/* Connects: url NULL is the primary; host non-NULL means the primary's
	 * credentials at host:port (a replica the primary told of). */
	void *(*probe_open)(Osc *o, const char *url, const char *host, int port, OscErr *e);
	void (*probe_close)(void *probe);
	/* On the primary: creates the heartbeat table (once the work objects exist). */
	bool (*heartbeat_setup)(Osc *o, void *probe, OscErr *e) MUSTCHECK;
	bool (*heartbeat_write)(Osc *o, void *probe, int64_t beat_ms, OscErr *e) MUSTCHECK;
	/* On a replica: the newest heartbeat there (0: none yet). */
	bool (*heartbeat_read)(Osc *o, void *probe, int64_t *beat_ms, OscErr *e) MUSTCHECK;
	/* On the primary: a --max-load / --critical-load metric; an unknown name
	 * is bad input. */
	bool (*load_read)(Osc *o, void *probe, const char *name, double *value, OscErr *e) MUSTCHECK;
	/* On the primary: the replicas it knows of.  *watch: connect to them and
	 * throttle on them when no --replica is given (MySQL's SHOW SLAVE HOSTS,
	 * named host:port); otherwise they are only shown (PostgreSQL's
	 * pg_stat_replication, with byte and replay lag). */
	bool (*replicas_find)(Osc *o, void *probe, ReplicaState *out, int max, int *n, bool *watch, OscErr *e) MUSTCHECK;
} EngineMonitor;

typedef struct Engine {
	const char *name;
	/* Connects.  An unreachable database is bad input (exit 2). */
	bool (*open)(Osc *o, OscErr *e) MUSTCHECK;
	void (*close)(Osc *o);
	/* Finds the table and its key; refuses views, keyless tables, leftovers;
	 * with lock, takes the advisory lock that keeps other runs away. */
	bool (*preflight)(Osc *o, bool lock, OscErr *e) MUSTCHECK;
	/* Builds the shadow with the ALTER applied and maps its columns.  With
	 * keep=false (plan), everything is rolled back after the mapping. */
	bool (*shadow_create)(Osc *o, bool keep, OscErr *e) MUSTCHECK;
	/* Installs the capture trigger (short lock timeout, retried). */
	bool (*capture_start)(Osc *o, OscErr *e) MUSTCHECK;
	/* Copies the next chunk of at most `limit` rows in key order. */
	bool (*copy_chunk)(Osc *o, int64_t limit, int64_t *rows, bool *done, OscErr *e) MUSTCHECK;
	/* Applies at most `limit` captured changes; *applied gets how many. */
	bool (*replay)(Osc *o, int64_t limit, int64_t *applied, OscErr *e) MUSTCHECK;
	/* Captured changes not yet applied (an estimate is fine). */
	bool (*backlog)(Osc *o, int64_t *n, OscErr *e) MUSTCHECK;
	/* Builds the secondary indexes deferred past the bulk copy, analyzes. */
	bool (*finish_shadow)(Osc *o, OscErr *e) MUSTCHECK;
	/* One swap attempt: lock, drain, swap, commit. */
	SwapResult (*swap)(Osc *o, OscErr *e);
	/* After a swap: drop osc's work objects (and the old table if asked). */
	bool (*finish)(Osc *o, OscErr *e) MUSTCHECK;
	/* Before a swap: remove everything osc created; the original stays. */
	bool (*abort)(Osc *o, OscErr *e) MUSTCHECK;
	/* `osc cleanup`: remove what an abandoned run left. */
	bool (*cleanup)(Osc *o, OscErr *e) MUSTCHECK;
	/* Picks the strategy (src/core/strategy.h), confirming with the server what
	 * the text suggests; NULL: the engine always uses the shadow copy. */
	bool (*strategy_pick)(Osc *o, Strategy *s, OscErr *e) MUSTCHECK;
	/* Applies the ALTER in place by a strategy other than STRAT_COPY; on
	 * failure, removes what it added (the original as it was).  When the
	 * server refuses the strategy on the table itself before changing
	 * anything, it may turn *s into STRAT_COPY (saying why in s->why) and
	 * return true: the pipeline goes on with the shadow copy. */
	bool (*strategy_run)(Osc *o, Strategy *s, OscErr *e) MUSTCHECK;
	/* `osc plan` (src/core/plan.h): what a run would do, after
	 * shadow_create(keep=false); printed as text or JSON by plan.c. */
	bool (*plan_fill)(Osc *o, Plan *p, OscErr *e) MUSTCHECK;
	/* Row estimate of the original (for progress). */
	int64_t (*estimate)(Osc *o);
	/* Records phase and outcome ("running", "stopped", "failed", "done",
	 * "aborted") in the state table; NULL keeps the old value. */
	bool (*record)(Osc *o, const char *phase, const char *outcome, const char *message, OscErr *e) MUSTCHECK;
	/* `osc history` (all runs) and `osc status` (latest per table). */
	bool (*history)(Osc *o, bool latest, OscErr *e) MUSTCHECK;

	/* The monitor's queries (src/pg/pg_heartbeat.c, my_heartbeat.c). */
	const struct EngineMonitor *monitor;
} Engine;

struct Osc {
	Options opt;
	AlterSpec alter;
	TableName target;
	Log log;
	Progress progress;
	const Engine *engine;
	void *db;                        /* the engine's own state */
	volatile sig_atomic_t *stop;     /* SIGINT/SIGTERM count: 1 stop, 2 abort */
	int64_t started_ms;
	ResumeKind resume;
	int64_t rows_before;             /* copied by earlier runs of this migration */
	Control ctl;                     /* shared with the control loop and the monitor */
	RunSummary summary;              /* run id, target, what the run did (src/core/summary.h) */
};

/* The engines osc has. */
extern const Engine pg_engine;
extern const Engine my_engine;
extern const EngineMonitor pg_monitor;
extern const EngineMonitor my_monitor;

/* Picks the engine for a database URL (NULL: PostgreSQL through libpq's
 * environment).  Unknown schemes are bad input. */
bool engine_for_url(const char *url, const Engine **out, OscErr *e) MUSTCHECK;

/* The pipeline (src/core/migrate.c). */
OscExit migrate_run(Osc *o);
OscExit migrate_plan(Osc *o);
OscExit migrate_cleanup(Osc *o);
OscExit migrate_history(Osc *o, bool latest);

/* Waits `ms`, returning early (false) when a stop was requested. */
bool osc_sleep_ms(Osc *o, int64_t ms);

/* After the swap: what --verify compared (nothing with --verify none). */
void osc_verify_summary(Osc *o, int64_t chunks, int64_t batches, int64_t recopied);

/* May the run go on?  False with an exit-3 error (signal, window closed,
 * or less than need_ms of the window left) or an exit-1 error
 * (--max-runtime); with --window-wait it waits for the window instead. */
bool osc_may_continue(Osc *o, int64_t need_ms, OscErr *e) MUSTCHECK;

#endif
