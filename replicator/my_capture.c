/*
 * my_capture.c — change capture on MySQL/MariaDB: row triggers append the
 * changed key to the log table, as on PostgreSQL (replicator/pg_capture.c).
 *
 * The application's transaction does one narrow INSERT into a table that
 * nobody else writes and only the replayer reads and deletes, oldest first;
 * it never touches the shadow, so it never waits on the copy.  An UPDATE
 * that changes the key logs both keys.  Installing a trigger takes a brief
 * metadata lock on the table: under lock_wait_timeout, retried.
 */
#include "my.h"

#include <stdlib.h>
#include <string.h>

bool my_capture_create(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false;
	sql_init(&q, &my->dialect);
	/* the log's key columns take the original's exact types */
	sql_add(&q, "SELECT COLUMN_NAME, COLUMN_TYPE, COALESCE(CHARACTER_SET_NAME, ''), COALESCE(COLLATION_NAME, '')"
	            " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->table);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	Sql cols;
	sql_init(&cols, &my->dialect);
	for (int k = 0; k < my->nkeys; k++) {
		mysql_data_seek(r, 0);
		MYSQL_ROW row;
		while ((row = mysql_fetch_row(r)) != NULL)
			if (strcmp(row[0], my->keys[k].name) == 0) {
				sql_add(&cols, ", %I %s", row[0], row[1]);
				if (row[2][0])
					sql_add(&cols, " CHARACTER SET %s COLLATE %s", row[2], row[3]);
				sql_add(&cols, " NOT NULL");
			}
	}
	sql_reset(&q);
	sql_add(&q, "CREATE TABLE %I.%I (_osc_change_id BIGINT AUTO_INCREMENT PRIMARY KEY%s) ENGINE=InnoDB", my->db,
	        my->log, sql_text(&cols));
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

static void log_insert(My *my, Sql *q, const char *row)
{
	sql_add(q, "INSERT INTO %I.%I (", my->db, my->log);
	for (int k = 0; k < my->nkeys; k++)
		sql_add(q, "%s%I", k ? ", " : "", my->keys[k].name);
	sql_add(q, ") VALUES (");
	for (int k = 0; k < my->nkeys; k++)
		sql_add(q, "%s%s.%I", k ? ", " : "", row, my->keys[k].name);
	sql_add(q, ")");
}

bool my_capture_install(My *my, OscErr *e)
{
	Sql q;
	bool ok = false;
	sql_init(&q, &my->dialect);

	sql_add(&q, "CREATE TRIGGER %I AFTER INSERT ON %I.%I FOR EACH ROW ", my->trg_ins, my->db, my->table);
	log_insert(my, &q, "NEW");
	if (!my_ddl_retry(my, "installing the insert trigger", &q, e))
		goto out;
	sql_reset(&q);
	sql_add(&q, "CREATE TRIGGER %I AFTER UPDATE ON %I.%I FOR EACH ROW BEGIN ", my->trg_upd, my->db, my->table);
	log_insert(my, &q, "NEW");
	sql_add(&q, "; IF NOT (");
	for (int k = 0; k < my->nkeys; k++)
		sql_add(&q, "%sOLD.%I <=> NEW.%I", k ? " AND " : "", my->keys[k].name, my->keys[k].name);
	sql_add(&q, ") THEN ");
	log_insert(my, &q, "OLD");
	sql_add(&q, "; END IF; END");
	if (!my_ddl_retry(my, "installing the update trigger", &q, e))
		goto out;
	sql_reset(&q);
	sql_add(&q, "CREATE TRIGGER %I AFTER DELETE ON %I.%I FOR EACH ROW ", my->trg_del, my->db, my->table);
	log_insert(my, &q, "OLD");
	if (!my_ddl_retry(my, "installing the delete trigger", &q, e))
		goto out;
	ok = true;
out:
	sql_free(&q);
	return ok;
}

bool my_capture_drop(My *my, OscErr *e)
{
	const char *names[3] = { my->trg_ins, my->trg_upd, my->trg_del };
	Sql q;
	sql_init(&q, &my->dialect);
	for (int i = 0; i < 3; i++) {
		sql_reset(&q);
		sql_add(&q, "DROP TRIGGER IF EXISTS %I.%I", my->db, names[i]);
		if (!my_ddl_retry(my, "dropping a capture trigger", &q, e)) {
			sql_free(&q);
			return false;
		}
	}
	sql_free(&q);
	return true;
}
