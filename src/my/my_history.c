/*
 * my_history.c — `osc history` and `osc status` on MySQL/MariaDB: the rows
 * of the state table of the table's database (src/my/my_state.c) read
 * into the core's History (src/core/history.h), which prints them.  The
 * old table is the name the row recorded, once the swap happened.
 */
#include "my.h"

#include <stdio.h>

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

bool my_history_read(My *my, bool latest, History *h, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	bool ok = false, has_old = false;
	const char *table = my->env->target->table[0] ? my->env->target->table : NULL;

	if (!database(my, e) || !my_state_exists(my, &h->recorded, e))
		return false;
	if (!h->recorded)
		return true;
	if (!my_state_has_old_table(my, &has_old, e))
		return false;
	/* the columns history.h lists, in its order */
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT id, CONCAT(%L, '.', table_name), alter_spec, " MY_STATE_TS("started_at") ","
	        " IFNULL(" MY_STATE_TS("finished_at") ", ''), outcome, phase, rows_copied, rows_estimate,"
	        " changes_applied, TIMESTAMPDIFF(MICROSECOND, started_at, IFNULL(finished_at, updated_at)) DIV 1000,"
	        " IFNULL(host, ''), IFNULL(pid, 0), runs, IFNULL(message, ''), " MY_STATE_TS("updated_at") ",",
	        my->db);
	if (has_old)
		sql_add(&q, " IF(phase IN ('swapped', 'done') AND old_table IS NOT NULL, CONCAT(%L, '.', old_table), '')",
		        my->db);
	else
		sql_add(&q, " ''");
	sql_add(&q, " FROM %I.%I h WHERE 1 = 1", my->db, MY_STATE_TABLE);
	if (table)
		sql_add(&q, " AND table_name = %L", table);
	if (latest)
		sql_add(&q, " AND id = (SELECT MAX(id) FROM %I.%I h2 WHERE h2.table_name = h.table_name)", my->db,
		        MY_STATE_TABLE);
	sql_add(&q, " ORDER BY id");
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	while ((row = mysql_fetch_row(r)) != NULL) {
		HistoryRow *hr = history_add(h);
		for (int c = 0; c < HIST_NCOLS; c++)
			history_set(hr, c, row[c]);
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}
