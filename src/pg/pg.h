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
 *   app._users_osc_old       the original, after the swap
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
#include "osc.h"
#include "sql.h"

#define PG_NAMELEN 63 /* NAMEDATALEN - 1 */

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
	PGconn *conn;
	SqlDialect dialect;
	Osc *osc;                  /* going: the engine's settings are in env */
	const EngineEnv *env;
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
	char **watermark;          /* last key copied (text), NULL before the first chunk */
	bool copy_done;
	bool capture_on;           /* the trigger is installed */
	bool lock_held;
	int64_t state_id;          /* this migration's row in osc.migrations */
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

	/* verification (src/pg/pg_verify.c) */
	char **col_types;          /* the shadow's type of each of cols, loaded on first use */
	bool hash_record;          /* rows hashed by hash_record_extended(), not by their text */
	int64_t verified_chunks, verified_batches, recopied;
	bool verify_mismatch;      /* the last failure was a verification mismatch */
} Pg;

/* pg_conn.c */
bool pg_connect(Pg *pg, const char *url, OscErr *e) MUSTCHECK;
void pg_disconnect(Pg *pg);
bool pg_exec(Pg *pg, const char *sql, int nparams, const char *const *params, PGresult **res,
             OscErr *e) MUSTCHECK;
bool pg_exec_sql(Pg *pg, Sql *q, PGresult **res, OscErr *e) MUSTCHECK;
bool pg_command(Pg *pg, const char *sql, OscErr *e) MUSTCHECK;
void pg_rollback(Pg *pg);
bool pg_is_lock_timeout(const OscErr *e);
/* The session's settings: bounded waits, row_security off (every osc
 * session reads and writes every row, or fails), read committed. */
bool pg_session_setup(Pg *pg, OscErr *e) MUSTCHECK;
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
/* every name the swap needs is free (needs the shadow) */
bool pg_names_check(Pg *pg, OscErr *e) MUSTCHECK;

/* pg_rls.c: refuses a role that row-level security would hold to its policies */
bool pg_check_row_security(Pg *pg, OscErr *e) MUSTCHECK;

/* pg_subscription.c: a table a logical replication subscription writes into */
bool pg_check_subscription(Pg *pg, OscErr *e) MUSTCHECK;
/* in the swap: its pg_subscription_rel row moves to the new table */
bool pg_carry_subscription(Pg *pg, unsigned new_oid, OscErr *e) MUSTCHECK;

/* pg_shadow.c */
bool pg_shadow_create(Pg *pg, bool keep, OscErr *e) MUSTCHECK;
bool pg_shadow_finish(Pg *pg, OscErr *e) MUSTCHECK;
/* the SELECT list and the INSERT column list of the copy, over alias src */
void pg_copy_lists(Pg *pg, Sql *insert_cols, Sql *select_exprs);
/* INSERT INTO shadow (...) [OVERRIDING SYSTEM VALUE] SELECT ... FROM ONLY orig src */
void pg_copy_head(Pg *pg, Sql *q);
/* src.k1, src.k2 / (src.k1, src.k2) / the key casts ($n::t1, $n+1::t2) */
void pg_key_list(Pg *pg, Sql *q, const char *alias, bool shadow_names);
void pg_key_tuple(Pg *pg, Sql *q, const char *alias, bool shadow_names);
void pg_param_tuple(Pg *pg, Sql *q, int first, const char *suffix);

/* the serial and identity sequences of the original (needs the column map) */
bool pg_read_sequences(Pg *pg, OscErr *e) MUSTCHECK;

/* pg_state.c */
bool pg_state_create(Pg *pg, const char *fp, OscErr *e) MUSTCHECK; /* in the shadow's transaction; fp: the original's fingerprint */
bool pg_state_exists(Pg *pg, bool *exists, OscErr *e) MUSTCHECK;
bool pg_state_in_place(Pg *pg, const char *strategy, OscErr *e) MUSTCHECK; /* a row for an in-place run */
bool pg_state_fingerprint_new(Pg *pg, unsigned oid, OscErr *e) MUSTCHECK;  /* the table as the run left it */
bool pg_state_resume(Pg *pg, OscErr *e) MUSTCHECK;       /* sets osc->resume */
bool pg_state_record(Pg *pg, const char *phase, const char *outcome, const char *message, OscErr *e) MUSTCHECK;
bool pg_state_checkpoint(Pg *pg, char **watermark, int64_t rows_total, OscErr *e) MUSTCHECK; /* in the chunk's transaction */
bool pg_state_history(Pg *pg, const char *schema, const char *table, bool latest, OscErr *e) MUSTCHECK;
void pg_state_holder(Pg *pg, char *out, size_t outsz);
char *pg_watermark_literal(Pg *pg);

/* pg_ddlwatch.c: the original's definition, watched for DDL by others */
/* a hash of relation oid's definition (the state row's fingerprints) */
bool pg_fingerprint(Pg *pg, unsigned oid, char *out, size_t outsz, bool in_txn, OscErr *e) MUSTCHECK;
/* reads the original's definition as the shadow is made from it; fp: its hash */
bool pg_ddl_baseline(Pg *pg, bool in_txn, char *fp, size_t fpsz, OscErr *e) MUSTCHECK;
/* compares the live definition with the baseline (at most once a second
 * unless force) and checks osc's triggers; exit 1 naming what changed */
bool pg_ddl_check(Pg *pg, bool force, bool in_txn, OscErr *e) MUSTCHECK;
void pg_ddl_free(Pg *pg);

/* pg_copy.c */
bool pg_copy_chunk(Pg *pg, int64_t limit, int64_t *rows, bool *done, OscErr *e) MUSTCHECK;

/* src/pg/pg_capture.c */
bool pg_capture_create(Pg *pg, OscErr *e) MUSTCHECK;   /* log + function, in the shadow txn */
bool pg_capture_install(Pg *pg, OscErr *e) MUSTCHECK;  /* the triggers (ALWAYS), with retries; OIDs in the state row */
/* drops the triggers in pg->trigger_oids (this run's, or proved osc's) */
bool pg_capture_drop(Pg *pg, OscErr *e) MUSTCHECK;
/* Turns the trigger into a no-op and drops the shadow and log, without any
 * lock on the original: the abort path when the trigger cannot be dropped. */
bool pg_capture_disarm(Pg *pg, OscErr *e) MUSTCHECK;

/* pg_verify.c: comparisons inside the transaction that wrote the rows */
/* "BEGIN" or, when verifying, "BEGIN ISOLATION LEVEL REPEATABLE READ" */
const char *pg_verify_begin(Pg *pg);
/* The shadow's (lo, hi] against the original's (lo NULL: from the start).
 * attempt counts from 1 (the fault injection needs it). */
bool pg_verify_chunk(Pg *pg, char **lo, char **hi, int attempt, bool *same, char *why, size_t whysz,
                     OscErr *e) MUSTCHECK;
/* The rows of the keys in arrays (one text array per key column). */
bool pg_verify_keys(Pg *pg, char **arrays, bool *same, char *why, size_t whysz, OscErr *e) MUSTCHECK;
void pg_verify_range_text(Pg *pg, char **lo, char **hi, char *out, size_t outsz);
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

/* src/pg/pg_replay.c */
/* (SELECT * FROM unnest($first::t1[], ...)): the keys passed as arrays */
void pg_unnest_keys(Pg *pg, Sql *q, int first);
bool pg_replay(Pg *pg, int64_t limit, int64_t *applied, OscErr *e) MUSTCHECK;
/* one batch; in_txn: inside the caller's transaction (the swap) */
bool pg_replay_batch(Pg *pg, int64_t limit, int64_t *applied, bool in_txn, OscErr *e) MUSTCHECK;
bool pg_backlog(Pg *pg, int64_t *n, OscErr *e) MUSTCHECK;
/* merges every pending change in one snapshot (after a duplicate in a batch) */
bool pg_replay_all(Pg *pg, int64_t *applied, bool in_txn, OscErr *e) MUSTCHECK;

/* src/pg/pg_carry.c: what the rename does not carry (views, foreign keys,
 * grants, policies, triggers, publications, ...).  Statements are saved in
 * the swap before the rename and run after the new table took the name. */
typedef struct PgCarry {
	char **pre, **post;        /* malloc'd SQL texts */
	int npre, npost;
} PgCarry;
/* the column map as a CTE "colmap(old_attnum, old_name, new_name, retyped)";
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

/* src/pg/pg_swap.c */
SwapResult pg_swap(Pg *pg, OscErr *e);

#endif
