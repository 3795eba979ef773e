/*
 * engine.h — what the core hands an engine, and (below) the primitives an
 * engine supplies.  docs/ARCHITECTURE.md says how they fit together.
 *
 * An engine never sees Osc, the run's context (but in plan_fill, osc
 * plan's one slot that still takes it): it gets an EngineEnv at
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
	bool revertible;               /* --revertible: the swap keeps the original in step (docs/ARCHITECTURE.md
	                                * "The revert") and the cleanup keeps it */
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

typedef struct Osc Osc; /* plan_fill still takes the run */
typedef struct Plan Plan;
typedef struct ReplicaState ReplicaState;
typedef struct Strategy Strategy;
typedef struct History History;

/* The original after the swap, as the cleanup finds it
 * (src/core/cleanup.c). */
typedef struct OldTable {
	char name[2 * OSC_NAME_MAX + 2]; /* qualified, for messages: "app._users_osc_old" */
	const char *gone;  /* why it is gone already (MySQL: drop_swap dropped it under the swap's lock), or NULL */
	const char *keep;  /* why --drop-old-table must keep it (other tables' foreign keys reference it), or NULL */
} OldTable;

/* What an abandoned run left, as `osc cleanup` finds it: only what is
 * provably osc's counts (src/core/cleanup.c). */
typedef struct Leftovers {
	bool swapped;          /* its swap had committed (MySQL: killed after the RENAME): only the
	                        * cleanup after a swap is left, the shadow is the table */
	bool capture;          /* osc's capture is on the table */
	bool shadow;           /* osc's shadow exists (an interrupted swap may have left the table's
	                        * own things on it: swap_undo) */
	char old[2 * OSC_NAME_MAX + 2]; /* swapped: the original's name now */
	char foreign[1024];    /* objects under osc's names that osc did not make: left alone */
	const char *none;      /* the engine's words when nothing of osc's is there */
} Leftovers;

/* A --revertible migration after its swap, as `osc revert` and `osc
 * finish` find it (src/core/revert.c). */
typedef struct RevertInfo {
	char old[2 * OSC_NAME_MAX + 2]; /* the original, kept in step: "_osc_1a2b..._users_osc_orig" (MySQL:
	                                 * "app.users_osc_old") */
	char *alter;                    /* the forward migration's --alter (the core frees it) */
	bool swapped;                   /* a revert's swap committed already: only its cleanup is left */
	int64_t backlog;                /* changes to the table since the swap not yet in the original */
} RevertInfo;

/* The monitor (replicator/lag.c) calls these from its own thread, on
 * connections of its own; they only read the table's names, fixed once the
 * preflight found it, and never touch its main session. */
typedef struct EngineMonitor {
	/* Connects: url NULL is the primary (env->url); host non-NULL means the
	 * primary's credentials at host:port (a replica the primary told of). */
	void *(*probe_open)(const EngineEnv *env, const char *url, const char *host, int port, OscErr *e);
	void (*probe_close)(void *probe);
	/* On the primary: creates the heartbeat table (once the work objects exist). */
	bool (*heartbeat_setup)(EngineTable *t, void *probe, OscErr *e) MUSTCHECK;
	bool (*heartbeat_write)(EngineTable *t, void *probe, int64_t beat_ms, OscErr *e) MUSTCHECK;
	/* On a replica: the newest heartbeat there (0: none yet). */
	bool (*heartbeat_read)(EngineTable *t, void *probe, int64_t *beat_ms, OscErr *e) MUSTCHECK;
	/* On the primary: a --max-load / --critical-load metric; an unknown name
	 * is bad input. */
	bool (*load_read)(void *probe, const char *name, double *value, OscErr *e) MUSTCHECK;
	/* On the primary: the replicas it knows of.  *watch: connect to them and
	 * throttle on them when no --replica is given (MySQL's SHOW SLAVE HOSTS,
	 * named host:port); otherwise they are only shown (PostgreSQL's
	 * pg_stat_replication, with byte and replay lag). */
	bool (*replicas_find)(void *probe, ReplicaState *out, int max, int *n, bool *watch, OscErr *e) MUSTCHECK;
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
	/* A resumed copy's preflight checks, which a new migration's
	 * shadow_create makes (NULL: none). */
	bool (*preflight_resumed)(EngineTable *t, ResumeKind r, OscErr *e) MUSTCHECK;

	/* ---- preflight (src/core/preflight.c says in which order) ----
	 * Finds the table --table names and derives osc's names for it; refuses
	 * (exit 2) what osc does not migrate: a view, a partitioned, temporary
	 * or inheriting table, osc's own state table.  MySQL first finishes a
	 * drop_swap interrupted before its RENAME (unless env->plan).  Fills
	 * info. */
	bool (*table_find)(EngineTable *t, TableInfo *info, OscErr *e) MUSTCHECK;
	/* Refuses (exit 2) a server osc must not write to: a standby, a
	 * replica (MySQL: unless --allow-on-replica).  `osc cleanup` asks only
	 * this. */
	bool (*target_primary)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* target_primary, and refuses (exit 2) a --replica that is not this
	 * primary's and a role that lacks a privilege the run needs (the
	 * message holds the GRANT statements). */
	bool (*target_check)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* The key the copy walks: the primary key, else a unique index over
	 * NOT NULL columns (exit 2 without one). */
	bool (*key_find)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* Refuses (exit 2) what depends on the table that the swap cannot
	 * carry.  NULL: nothing is refused. */
	bool (*dependents_check)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* The advisory lock that keeps other runs off the table, held by the
	 * main session until close (exit 3 naming the holder). */
	bool (*table_lock)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* A new migration (and osc plan): refuses (exit 2) osc's leftovers
	 * (`osc cleanup` first) and a user's objects under osc's names.
	 * NULL: shadow_create refuses them. */
	bool (*leftovers_check)(EngineTable *t, OscErr *e) MUSTCHECK;

	/* ---- the shadow and the capture ----
	 * Builds the shadow with the ALTER applied, maps its columns, makes the
	 * change log, and records the migration's state row; when it fails,
	 * nothing of it stays.  keep false (osc plan): nothing stays, and a
	 * refusal a run would make is noted for the plan instead. */
	bool (*shadow_create)(EngineTable *t, bool keep, OscErr *e) MUSTCHECK;
	/* Installs the capture on the original (each attempt under
	 * --lock-timeout, retried through env->retry); its state row knows it. */
	bool (*capture_install)(EngineTable *t, OscErr *e) MUSTCHECK;

	/* ---- the ALTER in place (src/core/inplace.c) ----
	 * Picks the strategy (src/core/strategy.h), confirming with the server
	 * what the text suggests.  NULL: always the shadow copy. */
	bool (*strategy_pick)(EngineTable *t, Strategy *s, OscErr *e) MUSTCHECK;
	/* A state row for the in-place run (phase "in-place", no shadow). */
	bool (*state_in_place)(EngineTable *t, const char *strategy, OscErr *e) MUSTCHECK;
	/* Applies the ALTER in place by s (not STRAT_COPY); when it fails,
	 * what it added is gone and the original is as it was.  When the
	 * server refuses the strategy on the table itself before changing
	 * anything, it may turn *s into STRAT_COPY (why in s->why) and return
	 * true: the core goes on with the shadow copy. */
	bool (*in_place)(EngineTable *t, Strategy *s, OscErr *e) MUSTCHECK;
	/* in_place fell back to the copy: its state row goes (the copy records
	 * its own).  NULL: in_place never falls back. */
	bool (*state_forget)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* Records the definition the table's name resolves to now as what the
	 * migration made: a rerun of the same command is then "already done". */
	bool (*state_result)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* While an in-place run waits for its replicas, the monitor writes its
	 * heartbeat: the table's name must be free first (exit 2 naming it),
	 * and it goes again after the wait.  NULL: the primary reports its
	 * replicas' lag (control_gate_reported_lag), no heartbeat is written. */
	bool (*heartbeat_free)(EngineTable *t, OscErr *e) MUSTCHECK;
	bool (*heartbeat_drop)(EngineTable *t, OscErr *e) MUSTCHECK;

	/* ---- the state row, history ----
	 * Records phase and outcome ("running", "stopped", "failed", "done",
	 * "aborted"; NULL keeps the old value), the message, and the counters
	 * in the migration's state row (none yet: nothing). */
	bool (*state_record)(EngineTable *t, const char *phase, const char *outcome, const char *message,
	                     int64_t rows_copied, int64_t changes_applied, OscErr *e) MUSTCHECK;
	/* `osc history` (every row) and `osc status` (latest: the newest row of
	 * each table): the state rows of env->target's table (no table: of
	 * every table of the database), oldest first, into h
	 * (src/core/history.h), which the core prints. */
	bool (*history_read)(EngineTable *t, bool latest, History *h, OscErr *e) MUSTCHECK;

	/* ---- the end of a run (src/core/cleanup.c says in which order) ----
	 * The main session is usable and in no transaction (PostgreSQL
	 * reconnects a lost one); false when it cannot be. */
	bool (*session_ready)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* After the swap committed: what it leaves to do outside its lock
	 * (PostgreSQL validates the foreign keys it re-created NOT VALID, whose
	 * list is a work object).  NULL: nothing. */
	bool (*swap_settle)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* Removes osc's capture from the table (the lock retried through
	 * env->retry); nothing to do once it is gone. */
	bool (*capture_remove)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* Before a swap, when capture_remove failed (e says why): removes what
	 * it can while the capture, still installed, keeps the table working
	 * (PostgreSQL, when a lock was not granted: the trigger made a no-op,
	 * the shadow and the log dropped; MySQL: the shadow dropped, the log
	 * kept for the triggers), and says in e what stays for `osc cleanup`.
	 * Always false. */
	bool (*capture_leave)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* Puts back on the original what an interrupted swap attempt moved to
	 * the shadow (MySQL: the table's own triggers, child tables' foreign
	 * keys).  NULL: a swap attempt leaves nothing. */
	bool (*swap_undo)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* Drops osc's work objects: the change log, the heartbeat, and the
	 * shadow when asked (after the swap the shadow is the table). */
	bool (*work_drop)(EngineTable *t, bool shadow, OscErr *e) MUSTCHECK;
	/* After the swap: the original's name now, and whether it is gone or
	 * must stay (in doubt, it stays). */
	void (*old_table)(EngineTable *t, OldTable *out);
	/* --drop-old-table: drops it. */
	bool (*old_drop)(EngineTable *t, OscErr *e) MUSTCHECK;
	/* `osc cleanup`, under the table's lock: what an abandoned run left
	 * (the names its state row recorded). */
	bool (*leftovers_find)(EngineTable *t, Leftovers *lo, OscErr *e) MUSTCHECK;
	/* Drops the work objects leftovers_find found (the shadow unless the
	 * swap had committed); done gets what went ("the change log, the
	 * shadow"), "" when nothing did. */
	bool (*leftovers_drop)(EngineTable *t, const Leftovers *lo, char *done, size_t donesz, OscErr *e) MUSTCHECK;
	/* Ends the table's unfinished migrations in the state table with
	 * outcome ("aborted", or "done": its swap had committed) and message. */
	bool (*state_close)(EngineTable *t, const char *outcome, const char *message, OscErr *e) MUSTCHECK;

	/* ---- the revert (src/core/revert.c; docs/ARCHITECTURE.md "The revert") ----
	 * With env->revertible, the forward run's swap also installs, in its
	 * transaction or under its lock, a capture on the new table into a
	 * reverse log (every write after the swap is logged), and leaves the
	 * original without what the swap carried to the new table (its own
	 * triggers and policies; foreign keys are dropped as always); the
	 * cleanup after it keeps the original, the reverse capture and its log,
	 * and the state row says "revertible".  shadow_create refuses (exit 2)
	 * an ALTER without an inverse: an original column the new table cannot
	 * give back a value for (dropped, NOT NULL without a default), a type
	 * with no cast back, a changed key.
	 *
	 * Under the table's lock: finds the table's revertible migration (exit
	 * 2 when there is none, when the table's or the original's definition
	 * changed since the swap, or the reverse capture is gone) and fills ri.
	 * Unless finish, t is turned around for the revert: the original is
	 * the table, the shadow the forward run's original (its column map the
	 * inverse: an added column left out, a dropped one its default or NULL,
	 * a renamed one back, a retyped one cast back), the change log the
	 * reverse log, the copy done, the swap and the cleanup after it those of
	 * a migration from the new schema back to the old one (what the swap
	 * takes out of the table's name keeps the old table's suffix and
	 * --drop-old-table drops it).  A revert whose swap committed (ri->swapped)
	 * leaves only that cleanup, then state_record's "reverted".  In a revert,
	 * state_record writes the forward migration's row: its phase, message
	 * and revert state, never its outcome or counters. */
	bool (*revert_attach)(EngineTable *t, bool finish, RevertInfo *ri, OscErr *e) MUSTCHECK;
	/* `osc finish`: drops the reverse capture and its log (and the
	 * original with drop_old); the state row says "finished". */
	bool (*revert_finish)(EngineTable *t, bool drop_old, OscErr *e) MUSTCHECK;
	/* A value the target table cannot hold: a cast out of range, a NOT
	 * NULL or CHECK violation (a revert names the key and refuses). */
	bool (*is_data_error)(const OscErr *e);

	/* ---- the proxy (cutover/proxy_hold.c) ----
	 * The sessions on the table (PostgreSQL: holding a lock on it or whose
	 * last query names it; MySQL: connected to its database, since an idle
	 * MySQL session does not show which tables it uses) whose server id is
	 * not among the proxy's (ids) and that are not osc's own (mine:
	 * "address:port" of this process's sockets): how many, up to a few
	 * described in out; -1 when the query failed (why in out). */
	int (*proxy_bypass)(EngineTable *t, const uint32_t *ids, int nids, char *const *mine, int nmine, char *out,
	                    size_t outsz);

	/* `osc plan` (src/core/plan.h): what a run would do, after
	 * shadow_create(keep=false); printed as text or JSON by plan.c. */
	bool (*plan_fill)(Osc *o, Plan *p, OscErr *e) MUSTCHECK;

	/* The monitor's queries (src/pg/pg_heartbeat.c, my_heartbeat.c). */
	const struct EngineMonitor *monitor;
} Engine;

/* The engines osc has. */
extern const Engine pg_engine;
extern const Engine my_engine;
extern const EngineMonitor pg_monitor;
extern const EngineMonitor my_monitor;

#endif
