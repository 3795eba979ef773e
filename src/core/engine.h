/*
 * engine.h — what the core hands an engine, and (below) the primitives an
 * engine supplies.  docs/ARCHITECTURE.md says how they fit together.
 *
 * An engine never sees Osc, the run's context: it gets an EngineEnv at
 * open, the settings its SQL needs, and every primitive is given what else
 * it needs (a watermark, a counter) by the core, which owns every loop and
 * every decision around the primitives.
 */
#ifndef OSC_ENGINE_H
#define OSC_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "alter.h"
#include "err.h"
#include "log.h"
#include "names.h"
#include "options.h"
#include "retry.h"
#include "throttle.h"

/* The run's settings, as an engine needs them.  Filled by the core before
 * open (src/core/run.c); `osc set` may change the lock timeout and the
 * cutover retries, which the worker takes between its steps
 * (src/core/control_state.c), never during an engine call. */
typedef struct EngineEnv {
	Log *log;
	const RetryPolicy *retry;      /* the engine's own lock-taking statements retry through it */
	const AlterSpec *alter;        /* the ALTER (empty for cleanup, history) */
	const TableName *target;       /* --table, parsed */
	const char *table_arg;         /* --table as given: messages say `osc cleanup --table <it>` */
	const char *url;               /* --database, else OSC_DATABASE_URL; NULL: the client library's defaults */
	bool plan;                     /* osc plan: nothing may change */
	bool drop_old_table;           /* --drop-old-table: after the swap, the old table goes */
	int64_t lock_timeout_ms;       /* --lock-timeout: every lock on the original */
	int64_t statement_timeout_ms;
	int cutover_retries;           /* the plan says how often a lock is tried */
	int64_t chunk_time_ms;         /* the plan's text; MySQL's foreign-key method "auto" */
	VerifyMode verify;
	StrategyChoice strategy;
	bool allow_on_replica;         /* MySQL/MariaDB --allow-on-replica */
	const char *alter_fk_method;   /* MySQL/MariaDB --alter-foreign-keys-method, or NULL */
	const char *const *replicas;   /* --replica URLs */
	int nreplicas;
	const ThrottleLimits *limits;  /* --max-lag, --max-load: the plan's warnings, the privilege check */
} EngineEnv;

/* The engine's own objects, opaque to the core. */
typedef struct EngineTable EngineTable;     /* the table and this run's work objects: names, key, column
                                               map, deferred indexes; read-only once the shadow exists */
typedef struct EngineSession EngineSession; /* one connection */
typedef struct EngineKey EngineKey;         /* one key value: a watermark, a chunk's bound */
typedef struct EngineBatch EngineBatch;     /* keys to merge: taken from the change log, or stale rows */

/* What the core knows of the table. */
typedef struct TableInfo {
	char schema[OSC_NAME_MAX];   /* PostgreSQL: the schema; MySQL: the database */
	char name[OSC_NAME_MAX];
	int64_t rows_estimate;
} TableInfo;

/* Where the copy stands.  Until it is done, only keys at or below the
 * watermark are merged: the copy reads the others later. */
typedef struct CopyPos {
	const EngineKey *watermark;  /* the last key copied; NULL: nothing yet */
	bool done;
} CopyPos;

/* The rows a write that met a duplicate was writing: a key range (lo, hi]
 * of the copy (lo NULL: from the start; hi NULL: no range), a batch of
 * keys, and the keys of stale rows merged with it (each NULL when not). */
typedef struct EngineScope {
	const EngineKey *lo, *hi;
	const EngineBatch *batch;
	const EngineBatch *extra;
} EngineScope;

typedef enum SwapResult {
	SWAP_DONE,    /* committed: the table name now resolves to the new table */
	SWAP_RETRY,   /* the lock was not granted in time; nothing changed */
	SWAP_FAILED,  /* a real error; rolled back, nothing changed */
} SwapResult;

/* The core's drain of the change log, which the engine's swap runs once it
 * holds the table (src/replicator/replay.c): batches until the log is
 * empty, in the swap's transaction or under its lock. */
typedef struct SwapDrain {
	bool (*run)(void *ctx, int64_t *drained, OscErr *e);
	void *ctx;
} SwapDrain;

/* What the core decided of an earlier run of the same migration
 * (src/core/resume.c). */
typedef enum ResumeKind {
	RESUME_NONE,        /* a new migration */
	RESUME_COPY,        /* continue the copy from its checkpoint */
	RESUME_AFTER_COPY,  /* the copy was done: indexes, catch-up, swap */
	RESUME_SWAPPED,     /* the swap committed: only the cleanup is left */
	RESUME_DONE,        /* this exact migration already finished: nothing to do */
} ResumeKind;

/* What the state table says of the table's migrations, as the engine reads
 * it for the core's resume decision. */
typedef enum StateFound {
	STATE_NONE,        /* nothing to continue, and this migration never finished */
	STATE_DONE,        /* this exact migration (ALTER, resulting definition) finished: done_at */
	STATE_UNFINISHED,  /* one is running or stopped: the fields below */
} StateFound;

#define OSC_FP_MAX 65
typedef struct StateRow {
	StateFound found;
	char fingerprint[OSC_FP_MAX];  /* the table's definition now */
	char done_at[64];
	char *alter;                   /* the unfinished migration's --alter (the core frees it) */
	char phase[33];                /* "copy", "index", ..., "cutover", "swapped" */
	char started[64];
	int runs;
	int64_t rows_copied, changes_applied;
	char fp_orig[OSC_FP_MAX];      /* the original's definition when it started */
	char fp_new[OSC_FP_MAX];       /* the new table's, once known ("" before) */
} StateRow;

typedef struct Osc Osc; /* the phases below still take the run */
typedef struct Plan Plan;
typedef struct ReplicaState ReplicaState;
typedef struct Strategy Strategy;

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

	/* ---- sessions ----
	 * Connects the main session.  An unreachable database is bad input
	 * (exit 2).  *t and *s are set even when it fails (close frees them). */
	bool (*open)(const EngineEnv *env, EngineTable **t, EngineSession **main, OscErr *e) MUSTCHECK;
	/* Another session with the main one's settings (no advisory lock). */
	bool (*session_open)(EngineTable *t, EngineSession **s, OscErr *e) MUSTCHECK;
	void (*session_close)(EngineSession *s);
	/* Closes the main session and frees the table. */
	void (*close)(EngineTable *t);

	/* ---- errors ---- */
	/* A statement failed because a lock was not granted in time (the
	 * statement was rolled back; trying again is safe). */
	bool (*is_lock_timeout)(const OscErr *e);
	/* A write into the shadow met a row under one of its unique keys. */
	bool (*is_duplicate_key)(const OscErr *e);
	/* The session's connection is gone (terminated, the server restarted). */
	bool (*is_connection_lost)(const OscErr *e);

	/* ---- transactions ----
	 * snapshot: the statements see one snapshot (PostgreSQL REPEATABLE
	 * READ; MySQL keeps READ COMMITTED, whose reads take no locks).  In a
	 * swap attempt's drain, begin and commit do nothing (the swap's own
	 * transaction, or its table lock, holds the drain) and rollback undoes
	 * the drain so far. */
	bool (*txn_begin)(EngineSession *s, bool snapshot, OscErr *e) MUSTCHECK;
	bool (*txn_commit)(EngineSession *s, OscErr *e) MUSTCHECK;
	void (*txn_rollback)(EngineSession *s);

	/* ---- the copy (src/core/copy.c) ----
	 * The key after which `limit` rows in key order end after lo (NULL:
	 * the start), and how many rows that span covers (fewer than limit:
	 * the last chunk); *hi NULL when no row is left. */
	bool (*chunk_bound)(EngineSession *s, EngineTable *t, const EngineKey *lo, int64_t limit, EngineKey **hi,
	                    int64_t *spanned, OscErr *e) MUSTCHECK;
	/* INSERT INTO shadow SELECT the rows (lo, hi] of the original, transformed. */
	bool (*copy_range)(EngineSession *s, EngineTable *t, const EngineKey *lo, const EngineKey *hi, int64_t *rows,
	                   OscErr *e) MUSTCHECK;
	/* The shadow's rows (lo, hi] against the original's (--verify: count
	 * and, with checksum, a hash of every compared column); why: a
	 * sentence when they differ. */
	bool (*check_range)(EngineSession *s, EngineTable *t, const EngineKey *lo, const EngineKey *hi, bool *same,
	                    char *why, size_t whysz, OscErr *e) MUSTCHECK;
	/* Tests (OSC_FAULT=corrupt-shadow): loses a value in one row of (lo, hi]
	 * of the shadow. */
	bool (*damage_range)(EngineSession *s, EngineTable *t, const EngineKey *lo, const EngineKey *hi,
	                     OscErr *e) MUSTCHECK;
	/* Deletes the shadow's rows above `above` (every row when NULL), in
	 * its own statement: a parallel copy's chunks that committed above the
	 * checkpoint, before they are copied again (src/core/copy_wave.c). */
	bool (*shadow_trim)(EngineSession *s, EngineTable *t, const EngineKey *above, int64_t *rows,
	                    OscErr *e) MUSTCHECK;
	/* A key in messages: "(1, 'a')". */
	void (*key_describe)(const EngineKey *k, char *out, size_t outsz);
	void (*key_free)(EngineKey *k);

	/* ---- the replay (src/replicator/replay.c) ----
	 * Takes up to limit rows of the change log, oldest first: *b the keys
	 * to merge (those at or below the watermark while copying; NULL when
	 * none), *taken how many log rows.  They are consumed when the
	 * transaction commits, after log_consume.  A TRUNCATE of the original
	 * that the log shows empties the shadow here. */
	bool (*log_take)(EngineSession *s, EngineTable *t, CopyPos pos, int64_t limit, EngineBatch **b, int64_t *taken,
	                 OscErr *e) MUSTCHECK;
	/* Replaces the shadow's rows of the batch's keys and extra's (the keys
	 * of stale rows, merge_stale; NULL: none) with the original's current
	 * rows: every one of those rows out first, then theirs in (only keys at
	 * or below the watermark while copying). */
	bool (*merge)(EngineSession *s, EngineTable *t, const EngineBatch *b, const EngineBatch *extra, CopyPos pos,
	              OscErr *e) MUSTCHECK;
	/* Deletes the log rows the batch took (NULL: log_take did). */
	bool (*log_consume)(EngineSession *s, EngineTable *t, const EngineBatch *b, OscErr *e) MUSTCHECK;
	/* The shadow's rows of the batch's keys against the original's. */
	bool (*check_batch)(EngineSession *s, EngineTable *t, const EngineBatch *b, CopyPos pos, bool *same, char *why,
	                    size_t whysz, OscErr *e) MUSTCHECK;
	/* A write met a duplicate: the shadow rows that may be stale and cause
	 * it.  PostgreSQL merges every pending change at once (one snapshot:
	 * the shadow then equals the original) and returns no batch; MySQL
	 * returns the keys of the shadow rows that collide, under one of its
	 * unique keys, with the rows the scope writes, for the core to merge
	 * with the write.  *found 0: nothing could be stale, the duplicate is
	 * the original's own.  *consumed: log rows consumed on the way.  Runs
	 * outside a transaction (the core rolled the write back). */
	bool (*merge_stale)(EngineSession *s, EngineTable *t, const EngineScope *scope, CopyPos pos, EngineBatch **more,
	                    int64_t *found, int64_t *consumed, OscErr *e) MUSTCHECK;
	/* Adds more's keys to into (more is freed). */
	void (*batch_join)(EngineBatch *into, EngineBatch *more);
	void (*batch_free)(EngineBatch *b);
	/* Captured changes not yet applied (an estimate is fine). */
	bool (*backlog)(EngineSession *s, EngineTable *t, int64_t *n, OscErr *e) MUSTCHECK;
	/* Has another session changed the original's definition since the
	 * shadow was made from it, or osc's capture?  Exit 1 naming the
	 * change.  At most once a second unless force.  NULL: not watched. */
	bool (*definition_check)(EngineSession *s, EngineTable *t, bool force, OscErr *e) MUSTCHECK;
	/* Writes the watermark and the counters into the state row, in the
	 * chunk's transaction. */
	bool (*state_checkpoint)(EngineSession *s, EngineTable *t, const EngineKey *watermark, int64_t rows_copied,
	                         int64_t changes_applied, OscErr *e) MUSTCHECK;

	/* ---- after the copy (src/core/indexes.c) ----
	 * Builds what is still deferred of the shadow's indexes and
	 * constraints; what names what it was building ("index users_email_key"),
	 * for messages.  A duplicate (is_duplicate_key) is the core's to judge. */
	bool (*index_build)(EngineSession *s, EngineTable *t, char *what, size_t whatsz, OscErr *e) MUSTCHECK;
	/* The indexes are built: the shadow's last touches (statistics, foreign
	 * keys, what the state row records of the complete shadow). */
	bool (*shadow_complete)(EngineSession *s, EngineTable *t, OscErr *e) MUSTCHECK;

	/* ---- the swap (cutover/cutover.c retries it) ----
	 * One attempt: lock, the core's drain, swap, commit; nothing changed
	 * unless SWAP_DONE. */
	SwapResult (*swap)(EngineSession *s, EngineTable *t, const SwapDrain *drain, OscErr *e);

	/* ---- resume (src/core/resume.c decides) ----
	 * Under the run's lock on the table: the state row of the table's
	 * latest unfinished migration, or whether this one (env->alter) is done
	 * already.  An in-place run left "running" was killed: it is marked
	 * failed here (its ALTER committed or not; nothing to resume). */
	bool (*state_read)(EngineTable *t, StateRow *row, OscErr *e) MUSTCHECK;
	/* Has the unfinished migration's swap committed?  detail: what shows it,
	 * for the log.  May refuse (exit 2) objects osc did not make. */
	bool (*state_swapped)(EngineTable *t, const StateRow *row, bool *swapped, char *detail, size_t detailsz,
	                      OscErr *e) MUSTCHECK;
	/* Takes up the unfinished migration's shadow, capture and plan as its
	 * first run made them.  *lost: what is gone ("shadow table"; NULL when
	 * everything is there): changes may have gone uncaptured. */
	bool (*state_attach)(EngineTable *t, const StateRow *row, bool copy_done, const char **lost,
	                     OscErr *e) MUSTCHECK;
	/* This run is the migration's runner now (outcome running, one run
	 * more), in phase. */
	bool (*state_claim)(EngineTable *t, const char *phase, OscErr *e) MUSTCHECK;
	/* The row is not this run's (a refused rerun): nothing it records
	 * touches the row. */
	void (*state_release)(EngineTable *t);
	/* A resumed copy's watermark (NULL: nothing copied). */
	EngineKey *(*resume_watermark)(EngineTable *t);
	/* The preflight's checks that depend on the decision (NULL: none). */
	bool (*preflight_resumed)(EngineTable *t, ResumeKind r, OscErr *e) MUSTCHECK;

	/* ---- still whole phases (becoming primitives) ---- */
	/* Finds the table and its key; refuses views, keyless tables, leftovers;
	 * with lock, takes the advisory lock that keeps other runs away (then the
	 * core decides the resume, and preflight_resumed finishes). */
	bool (*preflight)(Osc *o, bool lock, OscErr *e) MUSTCHECK;
	/* Builds the shadow with the ALTER applied and maps its columns.  With
	 * keep=false (plan), everything is rolled back after the mapping. */
	bool (*shadow_create)(Osc *o, bool keep, OscErr *e) MUSTCHECK;
	/* Installs the capture trigger (short lock timeout, retried). */
	bool (*capture_start)(Osc *o, OscErr *e) MUSTCHECK;
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

/* The engines osc has. */
extern const Engine pg_engine;
extern const Engine my_engine;
extern const EngineMonitor pg_monitor;
extern const EngineMonitor my_monitor;

#endif
