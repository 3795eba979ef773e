/*
 * my.h — the MySQL/MariaDB adapter's state and internal interface.
 *
 * Design (README, "MySQL/MariaDB"), the same as on PostgreSQL where the
 * server allows: triggers append the changed keys to a log table, the copy
 * reads consistent snapshots (READ COMMITTED, no locking reads) into the
 * shadow, and the replayer merges logged keys from the original.  The
 * application's writes touch only the log, so they never wait on, or
 * deadlock with, the copy; pt-osc's triggers write the shadow inside the
 * application's transaction and do.  A new UNIQUE index is built after the
 * copy and a replayed duplicate fails the merge: both abort, never drop.
 * MariaDB refuses RENAME TABLE under LOCK TABLES, so the swap is gh-ost's:
 * one connection holds LOCK TABLES ... WRITE and drains the log while a
 * second one's RENAME waits behind it; the old table's name exists as a
 * sentry table until the drain is done, so if the first connection dies the
 * RENAME fails instead of swapping an undrained shadow in.
 *
 * Objects, all in the table's database (names begin with the table's: the
 * RENAME must queue on T before the others, see my_swap.c):
 *   T_osc_new   the shadow            T_osc_log   captured keys
 *   T_osc_ins, T_osc_upd, T_osc_del   the triggers on T
 *   T_osc_old   the sentry during the swap, then the original
 *   T_osc_hb    the heartbeat         T_osc_try   an in-place strategy's trial
 * and, for a --revertible migration after its swap (src/my/my_revert.c):
 *   T_osc_rlog  the reverse log       T_osc_rins, T_osc_rupd, T_osc_rdel on T
 *   T_osc_rev   the revert's sentry, then the new-schema table it took out
 * Each carries osc's mark (my_owned.c): a user's object of such a name is
 * refused, never dropped.  Every connection runs in UTC with a strict
 * sql_mode (my_conn.c), and a key travels as text that names exactly its
 * row (my_keys.c).
 */
#ifndef OSC_MY_H
#define OSC_MY_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "history.h"
#include "plan.h"
#include "sql.h"
#include "strategy.h"

#define MY_NAMELEN 64

/* The state table (src/my/my_state.c), in the table's own database; its
 * times as text, in UTC */
#define MY_STATE_TABLE "_osc_migrations"
#define MY_STATE_TS(col) "DATE_FORMAT(" col ", '%%Y-%%m-%%d %%H:%%i:%%s UTC')"

/* One connection (my_conn.c): the engine's EngineSession.  Every osc
 * connection runs in UTC with osc's sql_mode. */
typedef struct MySession {
	MYSQL *conn;
	SqlDialect dialect;
	Log *log;                 /* the statements with -vv */
	const EngineEnv *env;     /* NULL: a monitor probe, a replica's check */
	bool mariadb;             /* MariaDB (SET STATEMENT, fractional max_statement_time) */
	char lock_bound[32];      /* --lock-timeout in seconds, "0.100" */
	int64_t lock_wait_max_us; /* the longest lock request that was not granted */
	bool in_lock;             /* the swap's LOCK TABLES holds the drain: no START TRANSACTION (it would unlock) */
} MySession;

/* A key value (the engine's EngineKey): each column as the SQL literal that
 * names it (my_keys.c), and as the server printed it (the checkpoint's
 * JSON array). */
typedef struct MyKeyVal {
	int n;
	char **lit;
	char **raw;
} MyKeyVal;

/* Keys to merge (the engine's EngineBatch): "(v1, v2), ..." literals, and
 * the log rows they were taken from ("id, id, ..."; "" for stale rows). */
typedef struct MyBatch {
	char *keys;
	char *ids;
	int64_t n;
} MyBatch;

/* The column of a one-column result row: queries of several columns read
 * theirs by an enum beside the query. */
enum { MY_VALUE = 0 };

typedef struct MyCol {
	char *name;   /* in the shadow */
	char *source; /* the original column it is copied from */
} MyCol;

/* How a key column's value travels as text (src/my/my_keys.c). */
typedef enum MyKeyKind {
	MY_KEY_TEXT,   /* numbers, DECIMAL, dates, times: quoted text */
	MY_KEY_HEX,    /* character strings: HEX(), back as _charset X'..' */
	MY_KEY_BYTES,  /* binary strings: HEX(), back as _binary X'..' */
	MY_KEY_NUMBER, /* BIT, ENUM, SET: c + 0, back as a bare integer */
	MY_KEY_DOUBLE, /* FLOAT, DOUBLE: CAST(c AS DOUBLE), back as a double literal */
} MyKeyKind;

typedef struct MyKey {
	char *name;    /* in the original */
	char *shadow;  /* in the shadow */
	MyKeyKind kind;
	char *charset; /* MY_KEY_HEX: the column's character set */
	char *type;    /* the original's COLUMN_TYPE */
} MyKey;

/* A user trigger on the table, as information_schema.TRIGGERS describes it:
 * enough to create it again on another table (src/my/my_swap.c moves it to
 * the shadow under the swap's lock) */
typedef struct MyTrigger {
	char *name;
	char *timing;   /* BEFORE | AFTER */
	char *event;    /* INSERT | UPDATE | DELETE */
	char *body;     /* ACTION_STATEMENT */
	char *definer;  /* user@host */
	char *sql_mode; /* the session's sql_mode when it was created */
} MyTrigger;

/* What happens to child tables' foreign keys at the swap
 * (--alter-foreign-keys-method, src/my/my_fkeys.c) */
typedef enum MyFkMethod {
	MY_FK_REFUSE,    /* no option: refuse when children exist */
	MY_FK_NONE,      /* they follow the original to T_osc_old */
	MY_FK_REBUILD,   /* repointed to the shadow under the swap's lock */
	MY_FK_DROP_SWAP, /* the original is dropped under the lock, the shadow renamed in */
	MY_FK_AUTO       /* rebuild_constraints, or drop_swap when the repoints would hold the lock too long */
} MyFkMethod;

/* A child table's foreign key that references the table */
typedef struct MyChildFk {
	char *db, *table, *name;
	char *cols;        /* the child's columns, quoted, comma separated */
	char *refs;        /* the referenced columns as the original names them, quoted */
	char *refs_shadow; /* the same columns as the shadow names them */
	char *rules;       /* ON DELETE ... ON UPDATE ... */
	char **ref_names;  /* the referenced columns, unquoted: original's, then the shadow's names */
	char **ref_shadow_names;
	int ncols;
	int state;         /* during the swap: 0 untouched, 1 dropped, 2 references the shadow */
} MyChildFk;

/* my_owned.c: osc's work objects, told from a user's objects of the same
 * names by osc's mark (see the file's banner) */
typedef enum MyRole { MY_ROLE_SHADOW, MY_ROLE_LOG, MY_ROLE_SENTRY, MY_ROLE_HEARTBEAT } MyRole;
#define MY_NROLES 4
typedef enum MyOwner { MY_ABSENT, MY_OURS, MY_FOREIGN } MyOwner;
/* the first characters of a capture trigger's body */
#define MY_CAPTURE_MARK "BEGIN /* osc capture */"
typedef struct MyObjects {
	MyOwner table[MY_NROLES];  /* by MyRole; the sentry's name is the old table's */
	MyOwner trigger[3];        /* trg_ins, trg_upd, trg_del */
	int capture;               /* osc's capture triggers found */
	bool shadow_unmarked;      /* osc's shadow, its comment already put back by a swap */
} MyObjects;

typedef struct My {
	MySession main;         /* every statement but the swap's RENAME (see the banner) */
	SqlDialect dialect;     /* the main session's quoting */
	const EngineEnv *env;   /* the run's settings (src/core/engine.h) */
	Log *log;

	char *db, *table;
	int64_t rows_estimate;
	MyKey *keys;
	int nkeys;
	char *key_index;        /* PRIMARY or a unique NOT NULL index */
	MyCol *cols;
	int ncols;
	char *deferred;         /* "ADD INDEX ..., ADD UNIQUE ..." rebuilt after the copy, or NULL */
	MyTrigger *user_triggers;
	int nuser_triggers;
	char *fkeys;            /* "ADD CONSTRAINT ... FOREIGN KEY ..." for the shadow, or NULL */
	int nchildren;          /* foreign keys of other tables that reference the table */
	MyFkMethod fk_method;   /* never MY_FK_AUTO after my_fkeys_choose */
	const char *fk_method_plan; /* osc plan: the method it goes on with after a refusal (else NULL) */
	MyChildFk *children;    /* read unless the method is none or refuse */
	char **fk_dropped;      /* the table's foreign keys the ALTER drops */
	int nfk_dropped;
	char *shadow_alter;     /* the ALTER as applied to the shadow (its DROP FOREIGN KEYs removed), or NULL */
	char *plan_refusal;     /* osc plan: why a run's copy would refuse the ALTER (NULL: it would not) */
	char *plan_blocked;     /* osc plan: the lock wait that kept it from building its empty shadow */

	char shadow[MY_NAMELEN + 1], old[MY_NAMELEN + 1], log_table[MY_NAMELEN + 1];
	bool old_fixed;         /* old is the state row's (src/my/my_old.c): never chosen again */
	char trg_ins[MY_NAMELEN + 1], trg_upd[MY_NAMELEN + 1], trg_del[MY_NAMELEN + 1];
	char lock_name[MY_NAMELEN + 1];
	/* the reverse capture of a --revertible migration (src/my/my_revert_capture.c):
	 * T_osc_rlog and T_osc_rins/rupd/rdel.  A revert turns the table around
	 * (my_revert.c): these and log_table/trg_* trade places */
	char rlog[MY_NAMELEN + 1];
	char rtrg_ins[MY_NAMELEN + 1], rtrg_upd[MY_NAMELEN + 1], rtrg_del[MY_NAMELEN + 1];
	bool revertible;        /* this forward migration keeps the original in step after its swap
	                         * (--revertible, or its state row says so) */
	bool reverting;         /* osc revert: T is the "original", the forward run's original the
	                         * "shadow", the reverse log the change log, old the name the swap back
	                         * gives the new-schema table */

	char *shadow_comment;   /* the comment the new table gets at the swap (the shadow carries osc's mark) */
	char *url;              /* for the swap's second connection */
	MyKeyVal *watermark;    /* the resumed run's checkpoint (resume_watermark hands it to the core) */
	bool copy_done;
	bool created;
	int64_t state_id;       /* this migration's row in MY_STATE_TABLE (0: none) */
	char *resume_deferred;  /* the unfinished migration's deferred indexes (its row) */
	MyObjects found;        /* osc's objects as the resume (my_state_swapped) or `osc cleanup`
	                         * (my_leftovers_find) found them */
	bool resumed_swapped;   /* this run resumed after the swap: the child tables were not read */

	/* verification (src/my/my_verify.c) */
	char *verify_orig;      /* the row text of each side, built once */
	char *verify_shadow;
} My;

/* The comment that marks a work table of role */
void my_marker(My *my, MyRole role, char *out, size_t outsz);
const char *my_role_name(MyRole role);
/* The name of the work table of role (buf holds the heartbeat's) */
const char *my_role_table(My *my, MyRole role, char *buf, size_t bufsz);
/* What is there under osc's names.  shadow_fp (NULL or ""): the
 * fingerprint the state row recorded for the complete shadow, which
 * recognises it once the swap has put its comment back. */
bool my_objects_scan(My *my, const char *shadow_fp, MyObjects *out, OscErr *e) MUSTCHECK;
bool my_objects_any(const MyObjects *o, MyOwner who);
/* "table db.x (osc's change log), trigger db.y (...)" for the foreign ones */
void my_objects_foreign(My *my, const MyObjects *o, char *out, size_t outsz);
/* Exit 2 naming every object under osc's names that osc did not make. */
bool my_objects_refuse_foreign(My *my, const MyObjects *o, OscErr *e) MUSTCHECK;
/* Drops the work table of role when it is osc's. */
bool my_drop_if_ours(My *my, MyRole role, OscErr *e) MUSTCHECK;
/* Drops every work table o found to be osc's (the shadow only when asked),
 * appending their roles to done; how many, or -1 on an error. */
int my_drop_ours(My *my, const MyObjects *o, bool shadow, char *done, size_t donesz, OscErr *e);
/* A base table of T's database: -1 absent (or unreadable), 0 empty, 1 with rows */
int my_has_rows(My *my, const char *table);
/* Puts osc's mark of role on table (its comment). */
bool my_mark(My *my, MyRole role, const char *table, OscErr *e) MUSTCHECK;

/* my_conn.c: a session.  mys_connect: the URL's server, or the same
 * credentials and options at another address (host non-NULL); s->env
 * (may be NULL) and s->log set by the caller. */
bool mys_connect(MySession *s, const char *url, const char *host, int port, OscErr *e) MUSTCHECK;
void mys_disconnect(MySession *s);
bool mys_exec(MySession *s, const char *sql, MYSQL_RES **res, OscErr *e) MUSTCHECK;
bool mys_exec_sql(MySession *s, Sql *q, MYSQL_RES **res, OscErr *e) MUSTCHECK;
/* Runs q, a query of one number (a COUNT), into *n (0 without a row). */
bool mys_count(MySession *s, Sql *q, int64_t *n, OscErr *e) MUSTCHECK;
/* The engine's transactions: nothing under the swap's LOCK TABLES */
bool mys_begin(MySession *s, OscErr *e) MUSTCHECK;
bool mys_commit(MySession *s, OscErr *e) MUSTCHECK;
void mys_rollback(MySession *s);
/* The same on the main session (my_connect: the table's database's URL) */
bool my_connect(My *my, const char *url, OscErr *e) MUSTCHECK;
void my_disconnect(My *my);
bool my_exec(My *my, const char *sql, MYSQL_RES **res, OscErr *e) MUSTCHECK;
bool my_exec_sql(My *my, Sql *q, MYSQL_RES **res, OscErr *e) MUSTCHECK;
bool my_count(My *my, Sql *q, int64_t *n, OscErr *e) MUSTCHECK;
/* A lock not granted: ER_LOCK_WAIT_TIMEOUT, or osc's own bound on the
 * wait (max_statement_time, my_exec_lock) */
bool my_is_lock_timeout(const OscErr *e);
/* ER_LOCK_WAIT_TIMEOUT alone (my_exec_lock reports its bound so): the
 * core's classification */
bool my_is_lock_refused(const OscErr *e);
/* ER_DUP_ENTRY, ER_DUP_KEYNAME */
bool my_is_duplicate(const OscErr *e);
/* The connection went away (CR_SERVER_GONE_ERROR, CR_SERVER_LOST) */
bool my_is_connection_lost(const OscErr *e);
char *my_strdup(const char *s);
/* Runs a statement that takes a metadata lock on the original under the
 * lock timeout, retried with backoff. */
bool my_ddl_retry(My *my, const char *what, Sql *q, OscErr *e) MUSTCHECK;
/* Runs q, a statement that waits for a metadata lock on the table, with the
 * wait bounded by --lock-timeout (fractions of a second on MariaDB);
 * *waited_us (may be NULL) gets how long it took: when the lock was not
 * granted, that is how long the application's writers queued behind it. */
bool my_exec_lock(MySession *s, Sql *q, int64_t *waited_us, OscErr *e) MUSTCHECK;
/* my_exec_lock, retried with backoff up to --cutover-retries times. */
bool my_lock_retry(My *my, const char *what, Sql *q, OscErr *e) MUSTCHECK;
/* osc's sql_mode from the server's (my_conn.c); false when out is too small */
bool my_sql_mode_for_osc(const char *server, char *out, size_t outsz) MUSTCHECK;

/* my_shadow.c */
/* The table --table names, osc's names for it; then its key */
bool my_find_table(My *my, OscErr *e) MUSTCHECK;
bool my_find_key(My *my, OscErr *e) MUSTCHECK;
/* The shadow with the ALTER applied, its column map, the change log; with
 * keep, the caller records the state row (src/my/my_engine.c). */
bool my_shadow_create(My *my, bool keep, OscErr *e) MUSTCHECK;
/* After the copy: the deferred indexes in one online ALTER */
bool my_index_build(My *my, char *what, size_t whatsz, OscErr *e) MUSTCHECK;
/* the shadow (when asked) and the change log */
bool my_drop_work_tables(My *my, bool shadow, OscErr *e) MUSTCHECK;
/* Resume: what my_shadow_create worked out, again from the table and the
 * shadow that exist; deferred (owned by the caller) is what the first run
 * left to build after the copy, dropped when the shadow already has it. */
bool my_shadow_reopen(My *my, const char *deferred, bool copy_done, OscErr *e) MUSTCHECK;

/* my_sql.c: the statements of the copy, the comparison, the replay and the
 * capture.  Keys are SQL literals (my_keys.c); keys "(v1, v2), ...". */
void my_key_list(const My *my, Sql *q, const char *alias, bool shadow);
/* (k1 > v1) OR (k1 = v1 AND k2 > v2)...; op is ">" or "<=" */
void my_key_compare(const My *my, Sql *q, const char *alias, const char *op, char *const *vals);
/* The same over the shadow's key columns when shadow; alias NULL: unqualified */
void my_key_compare_as(const My *my, Sql *q, const char *alias, bool shadow, const char *op, char *const *vals);
/* (k1, k2) IN (keys) over alias, the shadow's columns when shadow */
void my_key_in(const My *my, Sql *q, const char *alias, bool shadow, const char *keys);
/* "INSERT INTO shadow (cols) SELECT src.sources FROM T src [FORCE INDEX (key)]
 * WHERE ": the copy's and the merge's statement, the condition to follow */
void my_copy_select(const My *my, Sql *q, bool key_order);
/* The chunk's bound after lo (NULL: the start): the key's text, the span's count */
void my_sql_bound(const My *my, Sql *q, char *const *lo, long limit);
void my_sql_copy_range(const My *my, Sql *q, char *const *lo, char *const *hi);
/* The key `limit` rows after lo (no row: fewer are left; then my_sql_bound
 * finds the last one and counts). */
void my_sql_bound_skip(const My *my, Sql *q, char *const *lo, long limit);
/* DELETE FROM the shadow its rows above lo (every row without lo). */
void my_sql_trim(const My *my, Sql *q, char *const *lo);
/* The merge of keys (only those at or below wm; NULL: all) */
void my_sql_merge_delete(const My *my, Sql *q, const char *keys, char *const *wm);
void my_sql_merge_insert(const My *my, Sql *q, const char *keys, char *const *wm);
/* The oldest log rows: the id, then the key as text */
void my_sql_take(const My *my, Sql *q, long limit);
void my_sql_consume(const My *my, Sql *q, const char *ids);
/* What a comparison covers: a range (lo, hi], or keys (those at or below
 * upto, when set); keys in the log are left out unless under the swap's lock */
typedef struct MyScope {
	char *const *lo, *const *hi;
	const char *keys;
	char *const *upto;
	bool in_lock;
} MyScope;
/* SELECT count and checksum of both sides (my->verify_orig and
 * verify_shadow: the row texts my_verify.c builds) */
void my_sql_check(const My *my, Sql *q, bool checksum, const MyScope *sc);
/* OSC_FAULT=corrupt-shadow: one row of (lo, hi], no key in the log, loses col */
void my_sql_damage(const My *my, Sql *q, const char *col, char *const *lo, char *const *hi);
/* A capture: triggers named trg[] on table append the changed key to log.
 * The forward one is on T, keyed by the original's key columns; the
 * reverse one (a --revertible swap puts it on the shadow, which then
 * becomes T) by the shadow's (shadow: keys[k].shadow). */
typedef struct MyCapture {
	const char *table, *log;
	const char *trg[3]; /* insert, update, delete */
	bool shadow;
} MyCapture;
void my_capture_forward(const My *my, MyCapture *c);
void my_capture_reverse(const My *my, MyCapture *c);
/* The three CREATE TRIGGER statements of capture c */
void my_sql_capture(const My *my, const MyCapture *c, Sql q[3]);
/* ... of the forward capture */
void my_sql_capture_triggers(const My *my, Sql q[3]);

/* my_copy.c: the copy's primitives (src/core/copy.c drives them), and the
 * key values that travel between them */
bool my_chunk_bound(MySession *s, My *my, const MyKeyVal *lo, int64_t limit, MyKeyVal **hi, int64_t *spanned,
                    OscErr *e) MUSTCHECK;
bool my_copy_range(MySession *s, My *my, const MyKeyVal *lo, const MyKeyVal *hi, int64_t *rows, OscErr *e) MUSTCHECK;
bool my_shadow_trim(MySession *s, My *my, const MyKeyVal *above, int64_t *rows, OscErr *e) MUSTCHECK;
/* A copy or merge that strict mode stopped: says so around the server's message */
void my_value_error(OscErr *e);
/* A key value from a result row of my_key_read's reads (from column first) */
MyKeyVal *my_key_value(const My *my, MYSQL_ROW row, int first);
void my_key_value_free(MyKeyVal *k);
void my_key_value_describe(const MyKeyVal *k, char *out, size_t outsz);
void my_batch_free(MyBatch *b);
void my_batch_join(MyBatch *into, MyBatch *more);

/* my_keys.c: a key column's kind from information_schema's DATA_TYPE and
 * CHARACTER_SET_NAME; the expression that reads key column k (of the
 * original, or of the log: alias NULL); a key as SQL literals from a result
 * row of those reads; a character set name safe to paste (a plain word) */
MyKeyKind my_key_kind(const char *data_type, const char *charset);
/* my_conn.c: an identifier as MySQL quotes it, `a``b` (no connection
 * needed; literals go through the connection's escaping) */
char *my_quote_ident(void *ctx, const char *s);
void my_key_read(const My *my, Sql *q, const char *alias, int k);
char **my_key_literals(const My *my, MYSQL_ROW row, int first);
void my_free_key(const My *my, char **key);
bool my_key_charset_ok(const char *charset);

/* my_verify.c: comparisons of the shadow with the original (--verify) */
typedef enum MyCmp {
	MY_CMP_SKIP,    /* no exact mapping: the column is left out of the checksum */
	MY_CMP_DIRECT,  /* the original's value prints as the shadow's */
	MY_CMP_CAST,    /* CAST(original AS <as>) prints as the shadow's */
	MY_CMP_CONVERT  /* CONVERT(original USING <as>) */
} MyCmp;
/* A column as information_schema.COLUMNS describes it (-1: no such number) */
typedef struct MyColType {
	const char *data_type, *column_type, *charset;
	int precision, scale, dt_precision;
} MyColType;
/* How the original column o is compared with the shadow's s; as gets the
 * type or character set of a CAST or CONVERT. */
MyCmp my_verify_cmp(const MyColType *o, const MyColType *s, char *as, size_t assz);
/* The shadow's (lo, hi] against the original's, right after the chunk's
 * INSERT (keys in the log are compared when they are merged). */
bool my_check_range(MySession *s, My *my, const MyKeyVal *lo, const MyKeyVal *hi, bool *same, char *why,
                    size_t whysz, OscErr *e) MUSTCHECK;
/* A merged batch's keys (those at or below wm; NULL: all), after its log
 * rows were deleted. */
bool my_check_batch(MySession *s, My *my, const MyBatch *b, const MyKeyVal *wm, bool *same, char *why, size_t whysz,
                    OscErr *e) MUSTCHECK;
/* OSC_FAULT=corrupt-shadow */
bool my_damage_range(MySession *s, My *my, const MyKeyVal *lo, const MyKeyVal *hi, OscErr *e) MUSTCHECK;
void my_verify_free(My *my);

/* my_fingerprint.c: a hash of the table's definition (64 hex digits) */
bool my_fingerprint(My *my, const char *table, char *out, size_t outsz, OscErr *e) MUSTCHECK;
/* my_state.c: MY_STATE_TABLE (checkpoints, resume, history) */
bool my_state_create(My *my, OscErr *e) MUSTCHECK;
bool my_state_in_place(My *my, const char *strategy, OscErr *e) MUSTCHECK;
bool my_state_forget(My *my, OscErr *e) MUSTCHECK;
bool my_state_fingerprint_new(My *my, const char *table, OscErr *e) MUSTCHECK;
bool my_state_record(My *my, const char *phase, const char *outcome, const char *message, int64_t rows_copied,
                     int64_t changes_applied, OscErr *e) MUSTCHECK;
bool my_state_record_phase(My *my, const char *phase, OscErr *e) MUSTCHECK;
/* In the chunk's transaction, on its session. */
bool my_state_checkpoint(MySession *s, My *my, const MyKeyVal *wm, int64_t rows_total, int64_t applied,
                         OscErr *e) MUSTCHECK;
bool my_state_close(My *my, const char *outcome, const char *message, OscErr *e) MUSTCHECK;
/* The unfinished migration's new-table fingerprint (cutover phase only,
 * else ""), and its old table's name into my->old (src/my/my_old.c). */
bool my_state_shadow_fp(My *my, char *out, size_t outsz, OscErr *e) MUSTCHECK;
/* Does a state row of the table whose swap happened name `name` as its
 * old table?  (Rows of an older osc, without the name, used T_osc_old.) */
bool my_state_old_kept(My *my, const char *name, bool *yes, OscErr *e) MUSTCHECK;

/* my_old.c: the old table's name, run after run */
bool my_old_set(My *my, int n);  /* candidate n into my->old; false: no such name fits */
bool my_old_use(My *my, const char *name, OscErr *e) MUSTCHECK; /* the state row's name */
/* A new run's old name: the lowest not held by an earlier run's old table;
 * o is the scan of osc's names with it (the caller refuses what is foreign). */
bool my_old_choose(My *my, MyObjects *o, OscErr *e) MUSTCHECK;
/* my_finish.c: the SQL of a run's end (src/core/cleanup.c says when):
 * the old table after the swap; before it, what goes while the capture
 * keeps its lock; an interrupted swap attempt undone; what an abandoned
 * run left.  my_find_table_finishing: my_find_table, after completing an
 * interrupted drop_swap if that is why the table is missing */
void my_old_table(My *my, OldTable *out);
bool my_old_drop(My *my, OscErr *e) MUSTCHECK;
bool my_capture_leave(My *my, OscErr *e) MUSTCHECK;
bool my_swap_undo(My *my, OscErr *e) MUSTCHECK;
bool my_leftovers_find(My *my, Leftovers *lo, OscErr *e) MUSTCHECK;
bool my_leftovers_drop(My *my, const Leftovers *lo, char *done, size_t donesz, OscErr *e) MUSTCHECK;
bool my_find_table_finishing(My *my, OscErr *e) MUSTCHECK;
/* my_conn.c: the run's advisory lock on the table (GET_LOCK, held by the
 * session); exit 3 naming the holder when another run has it */
bool my_take_lock(My *my, OscErr *e) MUSTCHECK;
/* the resume (src/core/resume.c decides): the row, whether the swap
 * happened, the objects taken up, this run the runner */
bool my_state_read(My *my, StateRow *row, OscErr *e) MUSTCHECK;
bool my_state_swapped(My *my, const StateRow *row, bool *swapped, char *detail, size_t detailsz,
                      OscErr *e) MUSTCHECK;
bool my_state_attach(My *my, bool copy_done, const char **lost, OscErr *e) MUSTCHECK;
bool my_state_claim(My *my, const char *phase, OscErr *e) MUSTCHECK;
/* Is there a state table; has it the old table's column (an older osc's
 * has not; readers that must change nothing ask instead of adding it) */
bool my_state_exists(My *my, bool *exists, OscErr *e) MUSTCHECK;
bool my_state_has_old_table(My *my, bool *has, OscErr *e) MUSTCHECK;
/* my_history.c: osc history / osc status, of env->target's table (none:
 * every table) in its database, else the URL's */
bool my_history_read(My *my, bool latest, History *h, OscErr *e) MUSTCHECK;

/* my_fkeys.c */
bool my_fkeys_check_children(My *my, OscErr *e) MUSTCHECK;
bool my_fkeys_read(My *my, OscErr *e) MUSTCHECK;
bool my_fkeys_add(My *my, OscErr *e) MUSTCHECK;
/* The ALTER without its DROP FOREIGN KEY clauses (the empty shadow has no
 * foreign key to drop; the dropped ones are not added): sets shadow_alter
 * and fk_dropped.  Before the shadow is altered. */
bool my_fkeys_alter(My *my, OscErr *e) MUSTCHECK;
/* Resolves auto (before the swap's lock) */
void my_fkeys_choose(My *my);
/* drop_swap, before the lock: the shadow can take the children's keys as
 * the original did (or the RENAME after the DROP would fail) */
bool my_fkeys_check_drop_swap(My *my, OscErr *e) MUSTCHECK;
/* ", db.child WRITE" for each child table the swap must lock */
void my_fkeys_lock_list(My *my, Sql *q);
/* Under the swap's lock: each child's foreign key references the shadow */
bool my_fkeys_repoint(My *my, OscErr *e) MUSTCHECK;
/* Under the swap's lock, after a failure: back to the original */
void my_fkeys_restore(My *my);
/* Abort and cleanup, before the shadow is dropped: child keys that an
 * interrupted swap left referencing it go back to the table */
bool my_fkeys_unpoint(My *my, OscErr *e) MUSTCHECK;
void my_fkeys_free(My *my);

/* src/my/my_capture.c */
bool my_capture_create(My *my, OscErr *e) MUSTCHECK;   /* the log table */
/* capture c's log table, its key columns typed as c->table's */
bool my_capture_log(My *my, const MyCapture *c, OscErr *e) MUSTCHECK;
bool my_capture_install(My *my, OscErr *e) MUSTCHECK;  /* the triggers */
bool my_capture_drop(My *my, OscErr *e) MUSTCHECK;

/* src/my/my_owned.c: the heartbeat table's name */
void my_heartbeat_name(My *my, char *out, size_t outsz);

/* src/my/my_replay.c: the replay's primitives (replicator/replay.c drives
 * them).  wm NULL with copy_done false: nothing copied yet, nothing merged */
bool my_log_take(MySession *s, My *my, int64_t limit, MyBatch **b, int64_t *taken, OscErr *e) MUSTCHECK;
/* b's keys and extra's (may be NULL) merged together */
bool my_merge(MySession *s, My *my, const MyBatch *b, const MyBatch *extra, const MyKeyVal *wm, bool copy_done,
              OscErr *e) MUSTCHECK;
bool my_log_consume(MySession *s, My *my, const MyBatch *b, OscErr *e) MUSTCHECK;
bool my_backlog(MySession *s, My *my, int64_t *n, OscErr *e) MUSTCHECK;

/* src/my/my_conflict.c: the keys of the shadow's rows that collide under
 * one of its unique indexes with the original's rows that the scope's
 * range, batch and extra keys select (the engine's merge_stale) */
bool my_stale_keys(MySession *s, My *my, const MyKeyVal *lo, const MyKeyVal *hi, const MyBatch *batch,
                   const MyBatch *extra, const MyKeyVal *wm, bool copy_done, MyBatch **more, int64_t *found,
                   OscErr *e) MUSTCHECK;

/* my_strategy.c: the ALTER in place (INSTANT, NOCOPY) or the shadow copy;
 * the heartbeat table of an in-place run's wait for its replicas: free
 * (exit 2 naming it when it exists), dropped after */
bool my_strategy_pick(My *my, Strategy *s, OscErr *e) MUSTCHECK;
bool my_strategy_run(My *my, Strategy *s, OscErr *e) MUSTCHECK;
bool my_heartbeat_free(My *my, OscErr *e) MUSTCHECK;
bool my_heartbeat_drop(My *my, OscErr *e) MUSTCHECK;
/* the statement my_strategy_run would send, for osc plan */
void my_strategy_describe(My *my, const Strategy *s, Plan *p);
/* The empty trial table T_osc_try, a LIKE copy of the table (its name in
 * name); dropped by my_trial_drop, also by cleanup (a killed run may leave
 * it).  my_trial_refused: why an ALTER must not be tried on it, or NULL. */
bool my_trial_create(My *my, char *name, size_t namesz, OscErr *e) MUSTCHECK;
bool my_trial_drop(My *my, OscErr *e) MUSTCHECK;
const char *my_trial_refused(const AlterSpec *a);
/* "host:port, from --replica" for a --replica URL: never its password */
void my_replica_label(const char *url, char *out, size_t outsz);

/* my_plan.c: osc plan (after my_shadow_create with keep=false) */
bool my_plan_fill(My *my, Plan *p, OscErr *e) MUSTCHECK;

/* my_triggers.c: the user's triggers.  my_triggers_read: those on table
 * (osc's capture triggers' names, both ways, excluded), in the order they fire;
 * my_trigger_create: t on table under the sql_mode t was made with;
 * my_trigger_move: DROP, then CREATE on `to` (*dropped once it is off its
 * table); my_triggers_home: any on the shadow (an interrupted swap) back to
 * the table */
bool my_triggers_read(My *my, const char *table, MyTrigger **out, int *n, OscErr *e) MUSTCHECK;
void my_triggers_free(MyTrigger *list, int n);
void my_trigger_sql(My *my, const MyTrigger *t, const char *table, Sql *q);
bool my_trigger_create(My *my, const MyTrigger *t, const char *table, OscErr *e) MUSTCHECK;
bool my_trigger_move(My *my, const MyTrigger *t, const char *to, bool *dropped, OscErr *e) MUSTCHECK;
bool my_triggers_home(My *my, OscErr *e) MUSTCHECK;

/* my_keyidx.c: an index on the shadow over the merge key while it is
 * osc's (marked by its comment); ensure adds it when no index begins with
 * the key, drop removes it (under the swap's lock) */
#define MY_KEYIDX_MARK "osc: the key osc merges by; dropped at the swap"
bool my_keyidx_ensure(My *my, OscErr *e) MUSTCHECK;
bool my_keyidx_drop(My *my, bool *dropped, OscErr *e) MUSTCHECK;
/* After the deferred indexes: osc's goes at once when one of them begins
 * with the key (outside the swap's lock) */
bool my_keyidx_settle(My *my, OscErr *e) MUSTCHECK;

/* src/my/my_swap.c: one attempt; the core's drain runs under its lock */
SwapResult my_swap(My *my, const SwapDrain *drain, OscErr *e);

/* src/my/my_proxy.c: the sessions that bypass the proxy (the engine's
 * proxy_bypass) */
int my_proxy_bypass(My *my, const uint32_t *ids, int nids, char *const *mine, int nmine, char *out, size_t outsz);

/* ---- the revert (src/core/revert.c drives it; src/core/engine.h, revert_attach) ----
 * my_revert_check.c: with --revertible, the ALTER must have an inverse
 * (after the column map, before anything is copied): exit 2 naming what a
 * revert could not give back */
bool my_revert_check(My *my, OscErr *e) MUSTCHECK;
/* The unique index of table over exactly cols (whole columns, NOT NULL),
 * PRIMARY first, into index ("" when there is none) */
bool my_unique_index_over(My *my, const char *table, char *const *cols, int n, char *index, size_t indexsz,
                          OscErr *e) MUSTCHECK;
/* my_revert_capture.c: the reverse capture.  At the forward swap: the
 * reverse log (before the lock), the triggers on the shadow (under it);
 * gone again when the attempt does not swap, and from a migration that
 * never swapped (resume, abort, osc cleanup) */
bool my_rcapture_log(My *my, OscErr *e) MUSTCHECK;
bool my_rcapture_triggers(My *my, OscErr *e) MUSTCHECK;
bool my_rcapture_unswapped_drop(My *my, OscErr *e) MUSTCHECK;
/* A --revertible run, before it creates anything: exit 2 when a table or
 * trigger of the reverse capture's names is not osc's */
bool my_rcapture_names_check(My *my, OscErr *e) MUSTCHECK;
/* Trades the forward capture's names for the reverse one's (a revert's
 * view of the table) */
void my_rcapture_turn_names(My *my);
/* Table name of T's database: absent, osc's work table of role (its mark),
 * or anything else */
bool my_table_owner(My *my, const char *name, MyRole role, MyOwner *who, OscErr *e) MUSTCHECK;
/* my_revert_state.c: the state row's side of it.  The columns (revert,
 * column_map, fingerprint_old, rev_table: my_state.c adds them); the
 * forward swap committed: 'revertible'; exit 2 when the table has a
 * revertible migration (a new one, osc cleanup); a revert's state_record */
bool my_state_has_column(My *my, const char *column, bool *has, OscErr *e) MUSTCHECK;
bool my_revert_armed(My *my, OscErr *e) MUSTCHECK;
bool my_revert_refuse_new(My *my, const char *what, OscErr *e) MUSTCHECK;
bool my_revert_record(My *my, const char *phase, const char *outcome, const char *message, OscErr *e) MUSTCHECK;
/* The column map as the state row keeps it: JSON [[new, source], ...] */
void my_revert_map_json(const My *my, Sql *q);
/* my_revert.c: the engine's revert_attach and revert_finish */
bool my_revert_attach(My *my, bool finish, RevertInfo *ri, OscErr *e) MUSTCHECK;
bool my_revert_finish(My *my, bool drop_old, OscErr *e) MUSTCHECK;
/* my_revert_data.c: a value the target cannot hold (the engine's
 * is_data_error); in a revert's merge that failed so, the batch's keys
 * one by one find the row, which e then names */
bool my_is_data_error(const OscErr *e);
void my_revert_name_row(MySession *s, My *my, const char *keys, OscErr *e);
/* my_fkeys.c: a revert's child tables, repointed at its swap as
 * rebuild_constraints does */
bool my_fkeys_read_children(My *my, OscErr *e) MUSTCHECK;

#endif
