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
#include "osc.h"
#include "sql.h"

#define MY_NAMELEN 64

/* The state table (src/my/my_state.c), in the table's own database */
#define MY_STATE_TABLE "_osc_migrations"

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

typedef struct My {
	MYSQL *conn;
	SqlDialect dialect;
	Osc *osc;               /* going: the engine's settings are in env */
	const EngineEnv *env;
	Log *log;
	bool mariadb;           /* MariaDB (SET STATEMENT, fractional max_statement_time) */
	char lock_bound[32];    /* --lock-timeout in seconds, "0.100" */
	int64_t lock_wait_max_us; /* the longest lock request that was not granted */

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
	char trg_ins[MY_NAMELEN + 1], trg_upd[MY_NAMELEN + 1], trg_del[MY_NAMELEN + 1];
	char lock_name[MY_NAMELEN + 1];

	char *shadow_comment;   /* the comment the new table gets at the swap (the shadow carries osc's mark) */
	char *url;              /* for the swap's second connection */
	char **watermark;       /* last key copied, as SQL literals */
	bool copy_done;
	bool created;
	bool in_lock;           /* under LOCK TABLES: no START TRANSACTION (it would unlock) */
	int64_t state_id;       /* this migration's row in MY_STATE_TABLE (0: none) */

	/* verification (src/my/my_verify.c) */
	char *verify_orig;      /* the row text of each side, built once */
	char *verify_shadow;
	int64_t verified_chunks, verified_batches, recopied;
} My;

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

/* my_conn.c */
bool my_connect(My *my, const char *url, OscErr *e) MUSTCHECK;
/* The same credentials and options at another address (host non-NULL). */
bool my_connect_at(My *my, const char *url, const char *host, int port, OscErr *e) MUSTCHECK;
void my_disconnect(My *my);
bool my_exec(My *my, const char *sql, MYSQL_RES **res, OscErr *e) MUSTCHECK;
bool my_exec_sql(My *my, Sql *q, MYSQL_RES **res, OscErr *e) MUSTCHECK;
bool my_is_lock_timeout(const OscErr *e);
/* Runs q, a query of one number (a COUNT), into *n (0 without a row). */
bool my_count(My *my, Sql *q, int64_t *n, OscErr *e) MUSTCHECK;
char *my_strdup(const char *s);
/* Runs a statement that takes a metadata lock on the original under the
 * lock timeout, retried with backoff. */
bool my_ddl_retry(My *my, const char *what, Sql *q, OscErr *e) MUSTCHECK;
/* Runs q, a statement that waits for a metadata lock on the table, with the
 * wait bounded by --lock-timeout (fractions of a second on MariaDB);
 * *waited_us (may be NULL) gets how long it took: when the lock was not
 * granted, that is how long the application's writers queued behind it. */
bool my_exec_lock(My *my, Sql *q, int64_t *waited_us, OscErr *e) MUSTCHECK;
/* my_exec_lock, retried with backoff up to --cutover-retries times. */
bool my_lock_retry(My *my, const char *what, Sql *q, OscErr *e) MUSTCHECK;
/* osc's sql_mode from the server's (my_conn.c); false when out is too small */
bool my_sql_mode_for_osc(const char *server, char *out, size_t outsz) MUSTCHECK;

/* my_shadow.c */
bool my_find_table(My *my, OscErr *e) MUSTCHECK;
bool my_shadow_create(My *my, bool keep, OscErr *e) MUSTCHECK;
bool my_shadow_finish(My *my, OscErr *e) MUSTCHECK;
/* the shadow (when asked) and the change log */
bool my_drop_work_tables(My *my, bool shadow, OscErr *e) MUSTCHECK;
bool my_copy_chunk(My *my, int64_t limit, int64_t *rows, bool *done, OscErr *e) MUSTCHECK;
/* Resume: what my_shadow_create worked out, again from the table and the
 * shadow that exist; deferred (owned by the caller) is what the first run
 * left to build after the copy, dropped when the shadow already has it. */
bool my_shadow_reopen(My *my, const char *deferred, bool copy_done, OscErr *e) MUSTCHECK;
/* "INSERT INTO shadow (cols) SELECT src.sources FROM T src [FORCE INDEX (key)]
 * WHERE ": the copy's and the merge's statement, the condition to follow */
void my_copy_select(My *my, Sql *q, bool key_order);
/* A copy or merge that strict mode stopped: says so around the server's message */
void my_value_error(OscErr *e);
void my_key_list(My *my, Sql *q, const char *alias, bool shadow);

/* my_keys.c: a key column's kind from information_schema's DATA_TYPE and
 * CHARACTER_SET_NAME; the expression that reads key column k (of the
 * original, or of the log: alias NULL); a key as SQL literals from a result
 * row of those reads; a character set name safe to paste (a plain word) */
MyKeyKind my_key_kind(const char *data_type, const char *charset);
void my_key_read(My *my, Sql *q, const char *alias, int k);
char **my_key_literals(My *my, MYSQL_ROW row, int first);
void my_free_key(My *my, char **key);
bool my_key_charset_ok(const char *charset);
/* (k1 > v1) OR (k1 = v1 AND k2 > v2)...; op is ">" or "<=" */
void my_key_compare(My *my, Sql *q, const char *alias, const char *op, char **vals);
/* The same over the shadow's key columns when shadow; alias NULL: unqualified */
void my_key_compare_as(My *my, Sql *q, const char *alias, bool shadow, const char *op, char **vals);

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
/* Runs a chunk's INSERT (rows in *nrows) and compares the range
 * (watermark, hi] with the original; a difference copies the range again,
 * a second one fails naming it. */
bool my_verify_copy(My *my, Sql *insert, char **hi, int64_t *nrows, OscErr *e) MUSTCHECK;
/* Compares a merged replay batch, keys "(v1, v2), ..." (those up to the
 * watermark until the copy is done), after its log rows were deleted. */
bool my_verify_keys(My *my, const char *keys, bool *same, char *why, size_t whysz, OscErr *e) MUSTCHECK;
void my_verify_free(My *my);

/* my_state.c: MY_STATE_TABLE (checkpoints, resume, history) */
bool my_fingerprint(My *my, const char *table, char *out, size_t outsz, OscErr *e) MUSTCHECK;
bool my_state_create(My *my, OscErr *e) MUSTCHECK;
bool my_state_in_place(My *my, const char *strategy, OscErr *e) MUSTCHECK;
bool my_state_forget(My *my, OscErr *e) MUSTCHECK;
bool my_state_fingerprint_new(My *my, const char *table, OscErr *e) MUSTCHECK;
bool my_state_record(My *my, const char *phase, const char *outcome, const char *message, OscErr *e) MUSTCHECK;
/* In the chunk's transaction; wm is a JSON_ARRAY(...) of the key's values. */
bool my_state_checkpoint(My *my, const char *wm, int64_t rows_total, OscErr *e) MUSTCHECK;
bool my_state_abandon(My *my, OscErr *e) MUSTCHECK;
bool my_state_close(My *my, const char *outcome, const char *message, OscErr *e) MUSTCHECK;
bool my_state_shadow_fp(My *my, char *out, size_t outsz, OscErr *e) MUSTCHECK;
/* Sets osc->resume (and the adapter's state when resuming), or refuses. */
bool my_state_resume(My *my, OscErr *e) MUSTCHECK;
bool my_state_history(My *my, const char *table, bool latest, OscErr *e) MUSTCHECK;

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
bool my_capture_install(My *my, OscErr *e) MUSTCHECK;  /* the triggers */
bool my_capture_drop(My *my, OscErr *e) MUSTCHECK;

/* src/my/my_heartbeat.c: the heartbeat table's name */
void my_heartbeat_name(My *my, char *out, size_t outsz);

/* src/my/my_replay.c; my_merge_keys: the shadow's rows of keys "(v1,
 * v2), ..." replaced by the original's (up to the watermark while copying),
 * duplicates from stale rows resolved (keys grows by their keys) */
bool my_replay(My *my, int64_t limit, int64_t *applied, OscErr *e) MUSTCHECK;
bool my_merge_keys(My *my, Sql *keys, OscErr *e) MUSTCHECK;

/* src/my/my_conflict.c: the keys ("(v1, v2), ..." appended to keys) of
 * the shadow's rows that collide under one of its unique indexes with the
 * original's rows that pred (SQL over alias src) selects; *found: how many */
#define MY_CONFLICT_ROUNDS 20
bool my_conflicts(My *my, const char *pred, Sql *keys, int64_t *found, OscErr *e) MUSTCHECK;
bool my_backlog(My *my, int64_t *n, OscErr *e) MUSTCHECK;

/* my_strategy.c: the ALTER in place (INSTANT, NOCOPY) or the shadow copy */
bool my_strategy_pick(My *my, Strategy *s, OscErr *e) MUSTCHECK;
bool my_strategy_run(My *my, Strategy *s, OscErr *e) MUSTCHECK;
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
 * (osc's capture triggers' names excluded), in the order they fire;
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

/* src/my/my_swap.c */
SwapResult my_swap(My *my, OscErr *e);

#endif
