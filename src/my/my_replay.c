/*
 * my_replay.c — the replay's primitives on MySQL/MariaDB
 * (replicator/replay.c runs the batches), the same merge as on PostgreSQL:
 * read the oldest N log rows, delete those keys from the shadow, insert
 * their current rows from the original, delete exactly the log rows read,
 * in one transaction.  READ COMMITTED: the INSERT ... SELECT reads the
 * original as of its own start, after the log rows were read, without
 * locking it.  The log rows go after the merge, not before: under the
 * swap's LOCK TABLES each statement commits by itself, and a kill between
 * the two then leaves the keys in the log for the rerun.  Keys above the
 * copy's watermark are only consumed: the copy reads them later.
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

bool my_log_take(MySession *s, My *my, int64_t limit, MyBatch **b, int64_t *taken, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q, keys, ids;
	MYSQL_ROW row;
	int64_t n = 0;

	*b = NULL;
	*taken = 0;
	sql_init(&q, &my->dialect);
	sql_init(&keys, &my->dialect);
	sql_init(&ids, &my->dialect);
	my_sql_take(my, &q, (long)limit);
	bool ok = mys_exec_sql(s, &q, &r, e);
	while (ok && (row = mysql_fetch_row(r)) != NULL) {
		sql_add(&ids, "%s%s", n ? ", " : "", row[0]);
		char **key = my_key_literals(my, row, 1);
		sql_add(&keys, "%s(", n ? ", " : "");
		for (int k = 0; k < my->nkeys; k++)
			sql_add(&keys, "%s%s", k ? ", " : "", key[k]);
		sql_add(&keys, ")");
		my_free_key(my, key);
		n++;
	}
	if (ok && n > 0) {
		MyBatch *nb = xcalloc(1, sizeof(MyBatch));
		nb->keys = sql_take(&keys);
		nb->ids = sql_take(&ids);
		nb->n = n;
		*b = nb;
		*taken = n;
	}
	mysql_free_result(r);
	sql_free(&q);
	sql_free(&keys);
	sql_free(&ids);
	return ok;
}

bool my_merge(MySession *s, My *my, const MyBatch *b, const MyBatch *extra, const MyKeyVal *wm, bool copy_done,
              OscErr *e)
{
	Sql q;
	bool ok;

	/* keys the copy has not reached are only consumed */
	if (!copy_done && wm == NULL)
		return true;
	char *keys = extra && extra->keys[0] ? xasprintf("%s, %s", b->keys, extra->keys) : xstrdup(b->keys);
	char *const *upto = copy_done ? NULL : wm->lit;
	sql_init(&q, &my->dialect);
	my_sql_merge_delete(my, &q, keys, upto);
	ok = mys_exec_sql(s, &q, NULL, e);
	if (ok) {
		sql_reset(&q);
		my_sql_merge_insert(my, &q, keys, upto);
		ok = mys_exec_sql(s, &q, NULL, e);
		/* a revert names the row that cannot go back (my_revert_data.c) */
		if (!ok && my->reverting)
			my_revert_name_row(s, my, keys, e);
		else if (!ok)
			my_value_error(e);
	}
	sql_free(&q);
	free(keys);
	return ok;
}

bool my_log_consume(MySession *s, My *my, const MyBatch *b, OscErr *e)
{
	if (b->ids[0] == '\0')
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	my_sql_consume(my, &q, b->ids);
	bool ok = mys_exec_sql(s, &q, NULL, e);
	sql_free(&q);
	return ok;
}

bool my_backlog(MySession *s, My *my, int64_t *n, OscErr *e)
{
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT COUNT(*) FROM (SELECT 1 FROM %I.%I LIMIT 1000000) b", my->db, my->log_table);
	bool ok = mys_count(s, &q, n, e);
	sql_free(&q);
	return ok;
}
