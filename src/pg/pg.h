/*
 * pg.h — the PostgreSQL adapter's state and its internal interface.
 *
 * One connection does everything (introspection, copy, replay, swap) and
 * holds the advisory lock for the run, so copy and replay never overlap and
 * a crash of osc releases the lock with the session.  Every statement goes
 * through PQexecParams: the extended protocol runs exactly one statement, so
 * no text that reaches the server can smuggle a second one.
 *
 * Object layout of a run on "app"."users":
 *   _osc_<hash12>            work schema (hash of schema and table name)
 *     _users_osc_new         the shadow: the original's structure + ALTER
 *     _users_osc_log         captured keys, one row per change
 *     _osc_capture()         the trigger function (SECURITY DEFINER)
 *   app.users                trigger _osc_capture -> the function above
 *   app._users_osc_old       the original, after the swap (_users_osc_old_2 when an
 *                            earlier run's old table has that name: src/pg/pg_old.c)
 * The shadow lives in its own schema so its indexes and constraints can carry
 * the original names from the start (index names are unique per schema); the
 * swap moves it into place with SET SCHEMA and a rename.
 */
#ifndef OSC_PG_H
#define OSC_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "history.h"
#include "sql.h"
#include "strategy.h"

#define PG_NAMELEN 63 /* NAMEDATALEN - 1 */

/* One connection (pg_conn.c): the engine's EngineSession. */
typedef struct PgSession {
	PGconn *conn;
	SqlDialect dialect;
	Log *log;                  /* server warnings; the statements with -vv */
	const EngineEnv *env;      /* the settings pgs_setup applies (NULL: a monitor probe's own) */
	bool in_swap;              /* a swap attempt's transaction holds the drain (see pg_conn.c) */
} PgSession;

/* A key value, its columns as text in key order (the engine's EngineKey). */
typedef struct PgKeyVal {
	int n;
	char **v;
} PgKeyVal;

/* Keys to merge (the engine's EngineBatch): one text[] literal per key
 * column, the keys in the same order in each. */
typedef struct PgBatch {
	int nkeys;
	char **arrays;
	int64_t n;                 /* keys in the arrays (0: nothing to merge) */
} PgBatch;

typedef struct PgKey {
	char *name;        /* column in the original */
	char *shadow_name; /* the same column in the shadow */
	char *type;        /* format_type() in the original, to cast parameters */
} PgKey;

typedef struct PgCol {
	char *name;        /* column in the shadow */
	char *expr;        /* SQL over the original row (alias src) */
} PgCol;

typedef struct PgDeferred {
	char *name;
	char *create_sql;  /* server-generated definition, rebuilt after the copy */
} PgDeferred;

typedef struct PgSeq {
	char *column;      /* column in the new table */
	char *old_seq;     /* qualified, quoted: the original's sequence */
	char *old_schema, *old_name;
	bool identity;     /* identity: the shadow has its own sequence */
} PgSeq;

typedef struct PgIndexName {
	char *name;        /* an index of the original */
	char *old_name;    /* what it is renamed to when the original is retired */
} PgIndexName;

typedef struct Pg {
	PgSession main;            /* introspection, copy, replay, swap: one session (see the banner) */
	SqlDialect dialect;        /* the main session's quoting */
	const EngineEnv *env;      /* the run's settings (src/core/engine.h) */
	Log *log;

	/* the original */
	unsigned oid;
	char *schema, *table;
	char relpersistence;
	int64_t reltuples, relbytes;
	char *key_index;           /* the unique index the copy walks */
	PgKey *keys;
	int nkeys;
	PgIndexName *indexes;      /* to rename on retirement */
	int nindexes;

	/* derived names */
	char work[PG_NAMELEN + 1];
	char shadow[PG_NAMELEN + 1];
	char log_table[PG_NAMELEN + 1];
	char old[PG_NAMELEN + 1];
	char old_suffix[24];       /* "_osc_old" or "_osc_old_<n>": of the old table and every
	                            * name that steps aside with it (src/pg/pg_old.c) */
	bool old_fixed;            /* the suffix is the state row's (a resume): never chosen again */

	/* the shadow */
	unsigned shadow_oid;
	PgCol *cols;
	int ncols;
	bool overriding;           /* an identity ALWAYS column is copied */
	PgDeferred *deferred;
	int ndeferred;
	char *tmp_key_index;       /* made when the ALTER leaves no index on the key */
	PgSeq *seqs;
	int nseqs;

	/* copy state */
	char **watermark;          /* the resumed run's checkpoint (resume_watermark hands it to the core) */
	bool copy_done;
	bool capture_on;           /* the trigger is installed */
	bool lock_held;
	int64_t state_id;          /* this migration's row in osc.migrations */
	bool resume_no_watermark;  /* the unfinished migration's row has no watermark yet */
	unsigned work_oid;         /* the work schema this run made (or proved its own on resume) */
	unsigned trigger_oids[2];  /* osc's capture triggers on the original (row, TRUNCATE) */
	int ntriggers;
	bool subscribed;           /* a subscription replicates into the table (pg_subscription_rel) */

	/* the original's definition when the shadow was made from it
	 * (src/pg/pg_ddlwatch.c): "kind\x1fname\x1fdefinition" items, sorted */
	char **def_items;
	int ndef_items;
	int64_t def_checked_ms;    /* the last comparison with the live catalog */
	char *plan_refusal;        /* osc plan: why a run would refuse this ALTER (NULL: it would not) */

	/* the revert (src/pg/pg_revert.c): this run is `osc revert`, turned
	 * around (the original is the new table, the shadow the kept original) */
	bool reverse;
	bool revertible;           /* this migration keeps the original in step (--revertible when it began) */
	char rlog[PG_NAMELEN + 1];  /* the reverse log, in the work schema */
	char kept[PG_NAMELEN + 1];  /* the original's name in the work schema while revertible */

	/* verification (src/pg/pg_verify.c) */
	char **col_types;          /* the shadow's type of each of cols, loaded on first use */
	bool hash_record;          /* rows hashed by hash_record_extended(), not by their text */
} Pg;

/* pg_conn.c: a session */
bool pgs_connect(PgSession *s, const char *url, OscErr *e) MUSTCHECK;
void pgs_disconnect(PgSession *s);
/* The session's settings (s->env): bounded waits, row_security off (every
 * osc session reads and writes every row, or fails), read committed. */
bool pgs_setup(PgSession *s, OscErr *e) MUSTCHECK;
bool pgs_exec(PgSession *s, const char *sql, int nparams, const char *const *params, PGresult **res,
              OscErr *e) MUSTCHECK;
bool pgs_exec_sql(PgSession *s, Sql *q, PGresult **res, OscErr *e) MUSTCHECK;
/* q with parameters, no result */
bool pgs_exec_sql_params(PgSession *s, Sql *q, int nparams, const char *const *params, OscErr *e) MUSTCHECK;
bool pgs_command(PgSession *s, const char *sql, OscErr *e) MUSTCHECK;
void pgs_rollback(PgSession *s);
/* The engine's transactions (see the banner of pg_conn.c for in_swap). */
bool pgs_begin(PgSession *s, bool snapshot, OscErr *e) MUSTCHECK;
bool pgs_commit(PgSession *s, OscErr *e) MUSTCHECK;
void pgs_abort(PgSession *s);
/* The same on the main session. */
bool pg_exec(Pg *pg, const char *sql, int nparams, const char *const *params, PGresult **res,
             OscErr *e) MUSTCHECK;
bool pg_exec_sql(Pg *pg, Sql *q, PGresult **res, OscErr *e) MUSTCHECK;
bool pg_command(Pg *pg, const char *sql, OscErr *e) MUSTCHECK;
/* The value in row of a one-column result (a query of one thing: an OID, a
 * count, a name); queries of several columns read theirs by an enum. */
const char *pg_value(const PGresult *r, int row);
void pg_rollback(Pg *pg);
/* A lock not granted (55P03), or a statement cancelled by its timeout
 * (57014), which bounds a lock wait too where osc sets it so. */
bool pg_is_lock_timeout(const OscErr *e);
/* A lock not granted (55P03) alone: the core's classification. */
bool pg_is_lock_refused(const OscErr *e);
/* unique_violation or exclusion_violation */
bool pg_is_duplicate(const OscErr *e);
/* A statement failed because the connection is gone (terminated, server
 * restart): SQLSTATE 08006 in e. */
bool pg_is_connection_lost(const OscErr *e);
/* Makes sure the connection is up: a lost one is reset (for a few seconds,
 * as long as a fast restart takes), its settings applied again, and the
 * table's advisory lock taken again when this run held it.  Exit 3 when
 * that fails: nothing was decided, a rerun can resume. */
bool pg_reconnect(Pg *pg, OscErr *e) MUSTCHECK;
/* pg_try_advisory_lock on the table's name (the lock that keeps other runs off) */
bool pg_try_table_lock(Pg *pg, bool *got, OscErr *e) MUSTCHECK;
/* a qualified, quoted name: "schema"."name" (malloc'd) */
char *pg_qualified(Pg *pg, const char *schema, const char *name);
char *pg_strdup(const char *s);

/* pg_introspect.c */
bool pg_find_table(Pg *pg, const TableName *t, OscErr *e) MUSTCHECK;
bool pg_find_key(Pg *pg, OscErr *e) MUSTCHECK;
bool pg_lock_table(Pg *pg, OscErr *e) MUSTCHECK;
void pg_derive_names(Pg *pg);
/* refuses dependents the swap cannot re-create (rules, BEGIN ATOMIC functions, ...) */
bool pg_check_dependents(Pg *pg, OscErr *e) MUSTCHECK;
/* after the ALTER on the shadow: refuses one that breaks what the swap re-creates */
bool pg_check_alter(Pg *pg, OscErr *e) MUSTCHECK;

/* pg_names.c: osc's names, and proof (recorded OIDs) of what is osc's */
typedef struct PgOwned {
	unsigned schema_oid;       /* the work schema, recorded as osc's (0: none) */
	bool schema_foreign;       /* a schema under the work schema's name that osc did not make */
	unsigned triggers[2];      /* capture triggers on the table recorded as osc's */
	int ntriggers;
	char foreign_trigger[PG_NAMELEN + 1]; /* one under osc's names that osc did not make */
} PgOwned;
bool pg_owned_find(Pg *pg, PgOwned *out, OscErr *e) MUSTCHECK;
/* a new run: osc's leftovers (exit 2: run cleanup), or a user's object
 * under osc's names (exit 2: osc did not create it) */
bool pg_check_leftovers(Pg *pg, OscErr *e) MUSTCHECK;
/* every name the swap needs is free (needs the shadow); a new run first
 * chooses its old table's suffix (pg_old_choose) */
bool pg_names_check(Pg *pg, OscErr *e) MUSTCHECK;

/* pg_old.c: the old table's name, run after run */
void pg_old_name(const Pg *pg, char *out, size_t outsz, const char *base); /* _<base><suffix> */
void pg_old_set(Pg *pg, const char *suffix); /* the suffix, the old table's and indexes' names */
/* A new run's suffix: the lowest whose names are all free or held by
 * something not osc's (which pg_names_check then refuses); a no-op once
 * the state row's suffix is read (old_fixed). */
bool pg_old_choose(Pg *pg, OscErr *e) MUSTCHECK;

/* pg_rls.c: refuses a role that row-level security would hold to its policies */
bool pg_check_row_security(Pg *pg, OscErr *e) MUSTCHECK;

/* pg_subscription.c: a table a logical replication subscription writes into */
bool pg_check_subscription(Pg *pg, OscErr *e) MUSTCHECK;
/* in the swap: its pg_subscription_rel row moves to the new table */
bool pg_carry_subscription(Pg *pg, unsigned new_oid, OscErr *e) MUSTCHECK;

/* pg_shadow.c */
bool pg_shadow_create(Pg *pg, bool keep, OscErr *e) MUSTCHECK;
/* After the copy: the deferred indexes (what: the one being built), then
 * ANALYZE */
bool pg_index_build(Pg *pg, char *what, size_t whatsz, OscErr *e) MUSTCHECK;
bool pg_shadow_complete(Pg *pg, OscErr *e) MUSTCHECK;
/* the serial and identity sequences of the original (needs the column map) */
bool pg_read_sequences(Pg *pg, OscErr *e) MUSTCHECK;

/* pg_state.c */
bool pg_state_create(Pg *pg, const char *fp, OscErr *e) MUSTCHECK; /* in the shadow's transaction; fp: the original's fingerprint */
bool pg_state_exists(Pg *pg, bool *exists, OscErr *e) MUSTCHECK;
bool pg_state_in_place(Pg *pg, const char *strategy, OscErr *e) MUSTCHECK; /* a row for an in-place run */
bool pg_state_fingerprint_new(Pg *pg, unsigned oid, OscErr *e) MUSTCHECK;  /* the table as the run left it */
/* pg_finish.c: the SQL of a run's end (src/core/cleanup.c says when):
 * the work schema this run made or proved osc's; after the swap, the
 * foreign keys' validation; before it, a capture that keeps its lock made
 * a no-op; the old table; what an abandoned run left */
bool pg_work_drop(Pg *pg, OscErr *e) MUSTCHECK;
bool pg_swap_settle(Pg *pg, OscErr *e) MUSTCHECK;
bool pg_capture_leave(Pg *pg, OscErr *e) MUSTCHECK;
void pg_old_table(Pg *pg, OldTable *out);
bool pg_old_drop(Pg *pg, OscErr *e) MUSTCHECK;
bool pg_leftovers_find(Pg *pg, Leftovers *lo, OscErr *e) MUSTCHECK;
bool pg_leftovers_drop(Pg *pg, const Leftovers *lo, char *done, size_t donesz, OscErr *e) MUSTCHECK;
/* the resume (src/core/resume.c decides): the row, the objects taken up,
 * this run the runner */
bool pg_state_read(Pg *pg, StateRow *row, OscErr *e) MUSTCHECK;
bool pg_state_attach(Pg *pg, bool copy_done, const char **lost, OscErr *e) MUSTCHECK;
bool pg_state_claim(Pg *pg, OscErr *e) MUSTCHECK;
bool pg_state_record(Pg *pg, const char *phase, const char *outcome, const char *message, int64_t rows_copied,
                     int64_t changes_applied, OscErr *e) MUSTCHECK;
/* `osc cleanup`: the table's unfinished migrations end so */
bool pg_state_close(Pg *pg, const char *outcome, const char *message, OscErr *e) MUSTCHECK;
/* in the chunk's transaction, on its session */
bool pg_state_checkpoint(PgSession *s, Pg *pg, const PgKeyVal *watermark, int64_t rows_total, int64_t applied,
                         OscErr *e) MUSTCHECK;
/* osc history / osc status: the rows of table (NULL: every table), of
 * schema ("": any) */
bool pg_history_read(Pg *pg, const char *schema, const char *table, bool latest, History *h, OscErr *e) MUSTCHECK;
void pg_state_holder(Pg *pg, char *out, size_t outsz);

/* pg_ddlwatch.c: the original's definition, watched for DDL by others */
/* a hash of relation oid's definition (the state row's fingerprints) */
bool pg_fingerprint(Pg *pg, unsigned oid, char *out, size_t outsz, bool in_txn, OscErr *e) MUSTCHECK;
/* reads the original's definition as the shadow is made from it; fp: its hash */
bool pg_ddl_baseline(Pg *pg, bool in_txn, char *fp, size_t fpsz, OscErr *e) MUSTCHECK;
/* compares the live definition with the baseline (at most once a second
 * unless force) and checks osc's triggers; exit 1 naming what changed */
bool pg_ddl_check(Pg *pg, bool force, bool in_txn, OscErr *e) MUSTCHECK;
void pg_ddl_free(Pg *pg);

/* pg_sql.c: the statements of the copy, the comparison and the replay */
#define PG_CAPTURE_NAME "_osc_capture"
#define PG_TRUNCATE_NAME "_osc_truncate"
/* src.k1, src.k2 / (src.k1, src.k2) / the key casts ($n::t1, $n+1::t2) /
 * (SELECT * FROM unnest($first::t1[], ...)): keys passed as arrays */
void pg_key_list(const Pg *pg, Sql *q, const char *alias, bool shadow_names);
void pg_key_tuple(const Pg *pg, Sql *q, const char *alias, bool shadow_names);
void pg_param_tuple(const Pg *pg, Sql *q, int first, const char *suffix);
void pg_unnest_keys(const Pg *pg, Sql *q, int first);
/* INSERT INTO shadow (...) [OVERRIDING SYSTEM VALUE] SELECT ... FROM ONLY orig src */
void pg_copy_head(const Pg *pg, Sql *q);
/* osc plan's sampled read: the copy's expressions over the first rows in key order */
void pg_sql_sample(const Pg *pg, Sql *q, const char *rows);
/* The chunk's bound: the key `$n` rows after ($1..) in key order, and the
 * span's row count (has_lo false: from the start) */
void pg_sql_bound(const Pg *pg, Sql *q, bool has_lo);
/* The chunk's copy of (lo, hi]: parameters lo's columns, then hi's */
void pg_sql_copy_range(const Pg *pg, Sql *q, bool has_lo);
/* The key `$n + 1` rows after $1.. (no row: fewer are left; then
 * pg_sql_bound finds the last one and counts). */
void pg_sql_bound_skip(const Pg *pg, Sql *q, bool has_lo);
/* DELETE FROM the shadow its rows above $1.. (every row without lo). */
void pg_sql_trim(const Pg *pg, Sql *q, bool has_lo);
/* The comparison of both sides, over the range (lo, hi] or the keys passed
 * as arrays (pg_verify.c fills col_types and hash_record first) */
void pg_sql_check(const Pg *pg, Sql *q, bool checksum, bool by_keys, bool has_lo);
/* OSC_FAULT=corrupt-shadow: one row of (lo, hi] of the shadow loses col */
void pg_sql_damage(const Pg *pg, Sql *q, const char *col, bool has_lo);
/* A batch taken from the log: which keys it merges */
typedef enum PgTakeKeys {
	PG_TAKE_NONE, /* nothing copied yet: every key is the copy's */
	PG_TAKE_UPTO, /* those at or below the watermark ($2..) */
	PG_TAKE_ALL,  /* the copy is done */
} PgTakeKeys;
void pg_sql_take(const Pg *pg, Sql *q, PgTakeKeys keys);
/* The result columns of pg_sql_take: taken, nkeys, one array per key
 * column (TAKE_KEY0 + k), truncated last (TAKE_KEY0 + nkeys) */
enum { PG_TAKE_TAKEN, PG_TAKE_NKEYS, PG_TAKE_KEY0 };
/* The merge of the keys passed as arrays: their rows out of the shadow,
 * their current rows in */
void pg_sql_merge_delete(const Pg *pg, Sql *q);
void pg_sql_merge_insert(const Pg *pg, Sql *q);
/* Every key pending in the log out of the shadow */
void pg_sql_unmerge_pending(const Pg *pg, Sql *q);
/* The capture: the log table `log`, the row trigger function's body, a
 * trigger function, the four statements that install both triggers (ENABLE
 * ALWAYS).  reverse: a --revertible run's reverse log (src/pg/pg_revert_keep.c),
 * keyed by the key's columns as the new table names them, made again when
 * it exists (a resumed run) */
void pg_sql_capture_log(const Pg *pg, Sql *q, const char *log, bool reverse);
void pg_sql_capture_body(const Pg *pg, Sql *body, const char *log, bool reverse);
void pg_sql_capture_function(const Pg *pg, Sql *q, const char *name, const char *body, bool replace);
/* ...on schema.table, calling the work schema's fn and fn_truncate */
void pg_sql_capture_triggers(const Pg *pg, Sql q[4], const char *schema, const char *table, const char *fn,
                             const char *fn_truncate);

/* pg_copy.c: the copy's primitives (src/core/copy.c drives them) */
bool pg_chunk_bound(PgSession *s, Pg *pg, const PgKeyVal *lo, int64_t limit, PgKeyVal **hi, int64_t *spanned,
                    OscErr *e) MUSTCHECK;
bool pg_copy_range(PgSession *s, Pg *pg, const PgKeyVal *lo, const PgKeyVal *hi, int64_t *rows, OscErr *e) MUSTCHECK;
bool pg_shadow_trim(PgSession *s, Pg *pg, const PgKeyVal *above, int64_t *rows, OscErr *e) MUSTCHECK;
/* keys: a value's free and its text for messages; a value from its columns' text */
PgKeyVal *pg_key_new(int n, const char *const *v);
void pg_key_free(PgKeyVal *k);
void pg_key_describe(const PgKeyVal *k, char *out, size_t outsz);
void pg_batch_free(PgBatch *b);
void pg_batch_join(PgBatch *into, PgBatch *more);

/* src/pg/pg_capture.c */
bool pg_capture_create(Pg *pg, OscErr *e) MUSTCHECK;   /* log + function, in the shadow txn */
/* the log `log` and the functions fn, fn_truncate; reverse: a --revertible run's reverse log */
bool pg_capture_make(Pg *pg, const char *log, const char *fn, const char *fn_truncate, bool reverse,
                     OscErr *e) MUSTCHECK;
bool pg_capture_install(Pg *pg, OscErr *e) MUSTCHECK;  /* the triggers (ALWAYS), with retries; OIDs in the state row */
/* drops the triggers in pg->trigger_oids (this run's, or proved osc's) */
bool pg_capture_drop(Pg *pg, OscErr *e) MUSTCHECK;
/* Turns the trigger into a no-op and drops the shadow and log, without any
 * lock on the original: the abort path when the trigger cannot be dropped. */
bool pg_capture_disarm(Pg *pg, OscErr *e) MUSTCHECK;

/* pg_verify.c: comparisons inside the transaction that wrote the rows */
/* The shadow's (lo, hi] against the original's (lo NULL: from the start). */
bool pg_check_range(PgSession *s, Pg *pg, const PgKeyVal *lo, const PgKeyVal *hi, bool *same, char *why,
                    size_t whysz, OscErr *e) MUSTCHECK;
/* The rows of a batch's keys. */
bool pg_check_batch(PgSession *s, Pg *pg, const PgBatch *b, bool *same, char *why, size_t whysz,
                    OscErr *e) MUSTCHECK;
/* OSC_FAULT=corrupt-shadow */
bool pg_damage_range(PgSession *s, Pg *pg, const PgKeyVal *lo, const PgKeyVal *hi, OscErr *e) MUSTCHECK;
void pg_verify_free(Pg *pg);

/* pg_strategy.c: the ALTER in place, without the shadow copy */
struct Strategy;
bool pg_strategy_pick(Pg *pg, struct Strategy *s, OscErr *e) MUSTCHECK;
bool pg_strategy_run(Pg *pg, const struct Strategy *s, OscErr *e) MUSTCHECK;
struct Plan;
/* the statements pg_strategy_run would send, for osc plan */
void pg_strategy_describe(Pg *pg, const struct Strategy *s, struct Plan *p);

/* pg_plan.c: osc plan (after pg_shadow_create(keep=false)) */
bool pg_plan_fill(Pg *pg, struct Plan *p, OscErr *e) MUSTCHECK;

/* src/pg/pg_replay.c: the replay's primitives (replicator/replay.c drives them) */
bool pg_log_take(PgSession *s, Pg *pg, const PgKeyVal *wm, bool copy_done, int64_t limit, PgBatch **b,
                 int64_t *taken, OscErr *e) MUSTCHECK;
bool pg_merge(PgSession *s, Pg *pg, const PgBatch *b, OscErr *e) MUSTCHECK;
bool pg_backlog(PgSession *s, Pg *pg, int64_t *n, OscErr *e) MUSTCHECK;
/* Merges every pending change in one snapshot, the log consumed (after a
 * duplicate: the shadow then equals the original); inside a swap, in its
 * transaction */
bool pg_merge_pending(PgSession *s, Pg *pg, int64_t *consumed, OscErr *e) MUSTCHECK;

/* src/pg/pg_carry.c: what the rename does not carry (views, foreign keys,
 * grants, policies, triggers, publications, ...).  Statements are saved in
 * the swap before the rename and run after the new table took the name. */
typedef struct PgCarry {
	char **pre, **post;        /* malloc'd SQL texts */
	int npre, npost;
} PgCarry;
/* The relations whose rules read relation `rel` (an SQL expression of
 * type oid: "$1::oid", "m.oid"): views and materialized views, and tables
 * with rules, as a FROM item with columns view_oid and rule_oid, one row
 * per rule.  The one place osc finds what reads a table through a query
 * (the swap re-creates them, preflight refuses what it cannot). */
#define PG_VIEWS_OVER(rel) \
	"(SELECT DISTINCT rw.ev_class AS view_oid, rw.oid AS rule_oid" \
	"   FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid" \
	"  WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass" \
	"    AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass" \
	"    AND d.refobjid = " rel " AND rw.ev_class <> " rel ")"

/* pg_carry_rel.c: the column map as a CTE "colmap(old_attnum, old_name, new_name, retyped)";
 * $1 the original's oid, $2 the shadow's */
extern const char pg_colmap_cte[];
bool pg_carry_lock(Pg *pg, OscErr *e) MUSTCHECK;
/* the views and materialized views over the table, before the table's lock */
bool pg_carry_lock_views(Pg *pg, OscErr *e) MUSTCHECK;
/* reads the definitions and runs the "pre" statements (drops) */
bool pg_carry_read(Pg *pg, PgCarry *c, OscErr *e) MUSTCHECK;
bool pg_carry_apply(Pg *pg, PgCarry *c, OscErr *e) MUSTCHECK;
void pg_carry_free(PgCarry *c);
/* after the commit: VALIDATE the foreign keys re-created NOT VALID;
 * *all_valid is false when one failed (reported in the log) */
bool pg_carry_validate(Pg *pg, bool *all_valid, OscErr *e) MUSTCHECK;

/* src/pg/pg_revert_keep.c: a --revertible run keeps the original in step */
#define PG_RCAPTURE_NAME "_osc_rcapture"
#define PG_RTRUNCATE_NAME "_osc_rtruncate"
/* --revertible: refuses (exit 2) an ALTER without an inverse (the shadow exists) */
bool pg_revert_check(Pg *pg, OscErr *e) MUSTCHECK;
/* The reverse log and its trigger functions (again when they exist), before the catch-up */
bool pg_revert_log_create(Pg *pg, OscErr *e) MUSTCHECK;
/* In the swap, after the drain: the reverse capture on the shadow */
bool pg_revert_capture_on(Pg *pg, OscErr *e) MUSTCHECK;
/* In the swap, after the new table took the name: the original, renamed
 * _T_osc_old, loses its own triggers and policies (carried to the new
 * table), moves into the work schema as pg->kept, its indexes, identity
 * sequences and statistics back under their own names there */
bool pg_revert_keep(Pg *pg, OscErr *e) MUSTCHECK;
/* After a --revertible swap: the forward log, capture functions and heartbeat go, the rest stays */
bool pg_revert_work_trim(Pg *pg, OscErr *e) MUSTCHECK;
/* src/pg/pg_revert.c: osc revert, osc finish */
bool pg_revert_attach(Pg *pg, bool finish, RevertInfo *ri, OscErr *e) MUSTCHECK;
bool pg_revert_finish(Pg *pg, bool drop_old, OscErr *e) MUSTCHECK;
/* A revert's state_record: on the forward migration's row, its revert column */
bool pg_revert_record(Pg *pg, const char *phase, const char *outcome, const char *message, OscErr *e) MUSTCHECK;
/* A revertible migration of the table (exit 2 telling to revert or finish it first). */
bool pg_revert_refuse_new(Pg *pg, OscErr *e) MUSTCHECK;
/* A value the old table cannot hold: class 22, NOT NULL, CHECK */
bool pg_is_data_error(const OscErr *e);

/* src/pg/pg_swap.c: one attempt; the core's drain runs under its lock */
SwapResult pg_swap(Pg *pg, const SwapDrain *drain, OscErr *e);

/* src/pg/pg_proxy.c: the sessions on the table that bypass the proxy (the
 * engine's proxy_bypass) */
int pg_proxy_bypass(Pg *pg, const uint32_t *ids, int nids, char *const *mine, int nmine, char *out, size_t outsz);

#endif
