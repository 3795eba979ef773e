/*
 * my_capture.c — change capture on MySQL/MariaDB: row triggers append the
 * changed key to the log table, as on PostgreSQL (src/pg/pg_capture.c).
 *
 * The application's transaction does one narrow INSERT into a table that
 * nobody else writes and only the replayer reads and deletes, oldest first;
 * it never touches the shadow, so it never waits on the copy.  An UPDATE
 * that changes the key logs both keys.
 *
 * The triggers are installed together under LOCK TABLES T WRITE (its wait
 * bounded by --lock-timeout, retried: my_lock_retry), followed by an instant ALTER that sets T's
 * comment to what it already is.  Why: MariaDB 10.11 (reproduced without
 * osc, see README "MariaDB and prepared statements") can leave an
 * application's server-side prepared statement on T without the tables of a
 * trigger created for its event while T already had other triggers: every
 * later execution of that statement fails with 1146 "Table '..._osc_log'
 * doesn't exist" until T's definition changes.  The lock keeps statements
 * from running between the three CREATE TRIGGERs; the ALTER gives T a new
 * definition version, so each prepared statement is re-prepared at its next
 * execution, which clears the stale state (a FLUSH TABLES does not).
 * Writers wait for the lock: milliseconds, like a single CREATE TRIGGER.
 */
#include "my.h"

#include <stdlib.h>
#include <string.h>

bool my_capture_log(My *my, const MyCapture *c, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false;
	sql_init(&q, &my->dialect);
	/* the log's key columns take the exact types of the captured table's */
	sql_add(&q, "SELECT COLUMN_NAME, COLUMN_TYPE, COALESCE(CHARACTER_SET_NAME, ''), COALESCE(COLLATION_NAME, '')"
	            " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, c->table);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	enum { C_NAME, C_TYPE, C_CHARSET, C_COLLATION };
	Sql cols;
	sql_init(&cols, &my->dialect);
	for (int k = 0; k < my->nkeys; k++) {
		const char *key = c->shadow ? my->keys[k].shadow : my->keys[k].name;
		mysql_data_seek(r, 0);
		MYSQL_ROW row;
		while ((row = mysql_fetch_row(r)) != NULL)
			if (strcmp(row[C_NAME], key) == 0) {
				sql_add(&cols, ", %I %s", row[C_NAME], row[C_TYPE]);
				if (row[C_CHARSET][0])
					sql_add(&cols, " CHARACTER SET %s COLLATE %s", row[C_CHARSET], row[C_COLLATION]);
				sql_add(&cols, " NOT NULL");
			}
	}
	char mark[256];
	my_marker(my, MY_ROLE_LOG, mark, sizeof(mark));
	sql_reset(&q);
	sql_add(&q, "CREATE TABLE %I.%I (_osc_change_id BIGINT AUTO_INCREMENT PRIMARY KEY%s) ENGINE=InnoDB COMMENT = %L",
	        my->db, c->log, sql_text(&cols), mark);
	if (cols.failed)
		q.failed = true;
	sql_free(&cols);
	if (!my_exec_sql(my, &q, NULL, e))
		goto out;
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

bool my_capture_create(My *my, OscErr *e)
{
	MyCapture c;
	my_capture_forward(my, &c);
	return my_capture_log(my, &c, e);
}

/* The three CREATE TRIGGER statements (my_sql.c), under LOCK TABLES T WRITE. */
static bool create_triggers(My *my, OscErr *e)
{
	Sql q[3];
	bool ok = true;
	for (int i = 0; i < 3; i++)
		sql_init(&q[i], &my->dialect);
	my_sql_capture_triggers(my, q);
	for (int i = 0; i < 3 && ok; i++)
		ok = my_exec_sql(my, &q[i], NULL, e);
	for (int i = 0; i < 3; i++)
		sql_free(&q[i]);
	return ok;
}

bool my_capture_install(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false, locked = false;
	char *comment = NULL;
	sql_init(&q, &my->dialect);

	sql_add(&q, "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->table);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	MYSQL_ROW row = mysql_fetch_row(r);
	comment = my_strdup(row && row[MY_VALUE] ? row[MY_VALUE] : "");
	sql_reset(&q);
	sql_add(&q, "LOCK TABLES %I.%I WRITE", my->db, my->table);
	if (!my_lock_retry(my, "capture installation", &q, e))
		goto out;
	locked = true;
	if (!create_triggers(my, e))
		goto out;
	/* the same comment again: a new table definition version, so that every
	 * prepared statement on T is prepared afresh (see the banner) */
	sql_reset(&q);
	sql_add(&q, "ALTER TABLE %I.%I COMMENT = %L, ALGORITHM=INSTANT", my->db, my->table, comment);
	if (!my_exec_sql(my, &q, NULL, e))
		goto out;
	ok = true;
out:
	if (locked) {
		OscErr e2;
		err_clear(&e2);
		if (!my_exec(my, "UNLOCK TABLES", NULL, &e2)) {
			if (ok)
				*e = e2;
			else
				log_error(my->log, &e2);
			ok = false;
		}
	}
	free(comment);
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* Drops osc's capture triggers, and only osc's (src/my/my_owned.c): a
 * trigger of the same name that is not osc's stays.  Each DROP waits for
 * the table's lock at most --lock-timeout, retried. */
bool my_capture_drop(My *my, OscErr *e)
{
	const char *names[3] = { my->trg_ins, my->trg_upd, my->trg_del };
	MyObjects o;
	Sql q;
	if (!my_objects_scan(my, NULL, &o, e))
		return false;
	sql_init(&q, &my->dialect);
	for (int i = 0; i < 3; i++) {
		if (o.trigger[i] != MY_OURS)
			continue;
		sql_reset(&q);
		sql_add(&q, "DROP TRIGGER IF EXISTS %I.%I", my->db, names[i]);
		if (!my_lock_retry(my, "capture removal", &q, e)) {
			sql_free(&q);
			return false;
		}
	}
	sql_free(&q);
	return true;
}
