/*
 * my_history.c — `osc history` and `osc status` on MySQL/MariaDB: the rows
 * of the state table of the table's database (src/my/my_state.c) read
 * into the core's History (src/core/history.h), which prints them.  The
 * old table is the name the row recorded, once the swap happened.
 */
#include "my.h"

#include <stdio.h>
#include <string.h>

/* The database: --table's, else the URL's. */
static bool database(My *my, OscErr *e)
{
	const TableName *target = my->env->target;
	if (target->schema[0]) {
		my->db = my_strdup(target->schema);
		return true;
	}
	MYSQL_RES *r = NULL;
	if (!my_exec(my, "SELECT DATABASE()", &r, e))
		return false;
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row && row[MY_VALUE])
		my->db = my_strdup(row[MY_VALUE]);
	mysql_free_result(r);
	if (my->db == NULL) {
		err_set(e, OSC_EXIT_INPUT, "no database: name it in --database (mysql://host/db) or as --table db.table");
		return false;
	}
	return true;
}

/* HIST_BACKLOG of a revertible migration: the rows of its reverse log (the
 * changes `osc revert` would replay); none when the log is gone. */
static bool backlog_of(My *my, const char *table, HistoryRow *hr, OscErr *e)
{
	char rlog[MY_NAMELEN + 1], n[32];
	int64_t there = 0, rows = 0;
	names_derive(rlog, sizeof(rlog), "", table, "_osc_rlog", MY_NAMELEN);
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L", my->db,
	        rlog);
	bool ok = my_count(my, &q, &there, e);
	if (ok && there) {
		sql_reset(&q);
		sql_add(&q, "SELECT COUNT(*) FROM %I.%I", my->db, rlog);
		ok = my_count(my, &q, &rows, e);
		snprintf(n, sizeof(n), "%lld", (long long)rows);
		if (ok)
			history_set(hr, HIST_BACKLOG, n);
	}
	sql_free(&q);
	return ok;
}

bool my_history_read(My *my, bool latest, History *h, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	bool ok = false, has_old = false, has_revert = false;
	const char *table = my->env->target->table[0] ? my->env->target->table : NULL;

	if (!database(my, e) || !my_state_exists(my, &h->recorded, e))
		return false;
	if (!h->recorded)
		return true;
	/* an older osc's table may lack columns: read what is there, add nothing */
	if (!my_state_has_old_table(my, &has_old, e) || !my_state_has_column(my, "revert", &has_revert, e))
		return false;
	/* the columns history.h lists, in its order */
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT id, CONCAT(%L, '.', table_name), alter_spec, " MY_STATE_TS("started_at") ","
	        " IFNULL(" MY_STATE_TS("finished_at") ", ''), outcome, phase, rows_copied, rows_estimate,"
	        " changes_applied, TIMESTAMPDIFF(MICROSECOND, started_at, IFNULL(finished_at, updated_at)) DIV 1000,"
	        " IFNULL(host, ''), IFNULL(pid, 0), runs, IFNULL(message, ''), " MY_STATE_TS("updated_at") ",",
	        my->db);
	/* after a revert the table the swap back took out of the name is the
	 * old one; while revertible (a revert running included) the original */
	if (has_revert)
		sql_add(&q,
		        " IF(revert = 'reverted' AND rev_table IS NOT NULL, CONCAT(%L, '.', rev_table),"
		        "  IF((phase IN ('swapped', 'done') OR (outcome = 'done' AND revert IS NOT NULL))"
		        "   AND old_table IS NOT NULL, CONCAT(%L, '.', old_table), '')),"
		        " IF(revert IN ('revertible', 'reverting', 'reverted', 'finished'), revert, ''), '', table_name,"
		        " revert IN ('revertible', 'reverting')",
		        my->db, my->db);
	else if (has_old)
		sql_add(&q,
		        " IF(phase IN ('swapped', 'done') AND old_table IS NOT NULL, CONCAT(%L, '.', old_table), ''), '', '',"
		        " table_name, 0",
		        my->db);
	else
		sql_add(&q, " '', '', '', table_name, 0");
	sql_add(&q, " FROM %I.%I h WHERE 1 = 1", my->db, MY_STATE_TABLE);
	if (table)
		sql_add(&q, " AND table_name = %L", table);
	if (latest)
		sql_add(&q, " AND id = (SELECT MAX(id) FROM %I.%I h2 WHERE h2.table_name = h.table_name)", my->db,
		        MY_STATE_TABLE);
	sql_add(&q, " ORDER BY id");
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	/* after the columns history.h lists: the plain table name, and whether
	 * the row is revertible (its backlog is counted below) */
	enum { X_TABLE = HIST_NCOLS, X_REVERTIBLE };
	while ((row = mysql_fetch_row(r)) != NULL) {
		HistoryRow *hr = history_add(h);
		for (int c = 0; c < HIST_NCOLS; c++)
			history_set(hr, c, row[c]);
		if (row[X_REVERTIBLE] && strcmp(row[X_REVERTIBLE], "1") == 0 && !backlog_of(my, row[X_TABLE], hr, e))
			goto out;
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}
