/*
 * my.h — the MySQL/MariaDB adapter's state and internal interface.
 *
 * Design (README, "MySQL/MariaDB"): pt-online-schema-change's shape, made
 * loss-free.  Triggers on the original apply every change to the shadow
 * directly, in the application's transaction; the copy reads chunks with
 * LOCK IN SHARE MODE and skips keys a trigger already wrote; one atomic
 * RENAME TABLE swaps.  MariaDB refuses RENAME under LOCK TABLES, so a key
 * log would need gh-ost's two-connection cut-over; direct triggers need no
 * drain at the swap at all.  Where pt-osc loses rows (REPLACE and INSERT
 * IGNORE over a new UNIQUE key), osc builds new UNIQUE indexes after the
 * copy, so the build itself fails on existing duplicates, and the triggers
 * use DELETE + INSERT with a handler that records a duplicate in a table
 * osc watches, so duplicates written meanwhile abort the migration.
 *
 * Objects, all in the table's database:
 *   _T_osc_new   the shadow          _T_osc_dup   duplicates the triggers met
 *   _T_osc_ins, _T_osc_upd, _T_osc_del   the triggers on T
 *   _T_osc_old   the original, after the swap
 */
#ifndef OSC_MY_H
#define OSC_MY_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#include "osc.h"
#include "sql.h"

#define MY_NAMELEN 64

typedef struct MyCol {
	char *name;   /* in the shadow */
	char *source; /* the original column it is copied from */
} MyCol;

typedef struct MyKey {
	char *name;   /* in the original */
	char *shadow; /* in the shadow */
	bool binary;  /* compared as bytes: carried as hex */
} MyKey;

typedef struct MyTrigger {
	char *name;
	char *sql;    /* SHOW CREATE TRIGGER's statement, to re-create it on the new table */
} MyTrigger;

typedef struct My {
	MYSQL *conn;
	SqlDialect dialect;
	Osc *osc;

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

	char shadow[MY_NAMELEN + 1], old[MY_NAMELEN + 1], dup[MY_NAMELEN + 1];
	char trg_ins[MY_NAMELEN + 1], trg_upd[MY_NAMELEN + 1], trg_del[MY_NAMELEN + 1];
	char lock_name[MY_NAMELEN + 1];

	char **watermark;       /* last key copied, as SQL literals */
	bool copy_done;
	bool created;
} My;

/* my_conn.c */
bool my_connect(My *my, const char *url, OscErr *e) MUSTCHECK;
void my_disconnect(My *my);
bool my_exec(My *my, const char *sql, MYSQL_RES **res, OscErr *e) MUSTCHECK;
bool my_exec_sql(My *my, Sql *q, MYSQL_RES **res, OscErr *e) MUSTCHECK;
bool my_is_lock_timeout(const OscErr *e);
char *my_strdup(const char *s);
/* Runs a statement that takes a metadata lock on the original under the
 * lock timeout, retried with backoff. */
bool my_ddl_retry(My *my, const char *what, Sql *q, OscErr *e) MUSTCHECK;

/* my_shadow.c */
bool my_find_table(My *my, OscErr *e) MUSTCHECK;
bool my_shadow_create(My *my, bool keep, OscErr *e) MUSTCHECK;
bool my_shadow_finish(My *my, OscErr *e) MUSTCHECK;
bool my_copy_chunk(My *my, int64_t limit, int64_t *rows, bool *done, OscErr *e) MUSTCHECK;
void my_key_list(My *my, Sql *q, const char *alias, bool shadow);

/* replicator/my_capture.c */
bool my_capture_install(My *my, OscErr *e) MUSTCHECK;
bool my_capture_drop(My *my, const char *table, OscErr *e) MUSTCHECK;
bool my_check_duplicates(My *my, OscErr *e) MUSTCHECK;

/* cutover/my_swap.c */
SwapResult my_swap(My *my, OscErr *e);

#endif
