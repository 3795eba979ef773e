/*
 * my_replay.c — applying captured changes to the shadow on MySQL/MariaDB,
 * the same merge as on PostgreSQL (src/pg/pg_replay.c): read the oldest
 * N log rows, delete those keys from the shadow, insert their current rows
 * from the original, delete exactly the log rows read, in one transaction.
 * READ COMMITTED: the INSERT ... SELECT reads the original as of its own
 * start, after the log rows were read, without locking it.
 * Keys above the copy's watermark are only consumed: the copy reads them
 * later.  A duplicate under a new unique index fails the merge (1062) and
 * aborts the migration; nothing is dropped.
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool run(My *my, Sql *q, OscErr *e)
{
	bool ok = my_exec_sql(my, q, NULL, e);
	sql_reset(q);
	return ok;
}

/* key IN ((v1, v2), ...) spelled for one or several columns */
static void key_in(My *my, Sql *q, const char *alias, bool shadow, Sql *list)
{
	sql_add(q, "(");
	for (int k = 0; k < my->nkeys; k++) {
		if (k)
			sql_add(q, ", ");
		if (alias)
			sql_add(q, "%I.", alias);
		sql_add(q, "%I", shadow ? my->keys[k].shadow : my->keys[k].name);
	}
	sql_add(q, ") IN (%s)", sql_text(list));
}

/* Replaces the shadow's rows of keys (those up to the watermark while the
 * copy runs) with the original's current rows.  A duplicate under a unique
 * index of the shadow that only a stale row of the shadow causes merges that
 * row's key too (src/my/my_conflict.c): keys grows by those keys, so
 * that the batch's comparison covers them. */
bool my_merge_keys(My *my, Sql *keys, OscErr *e)
{
	Sql q, pred, more;
	bool ok = false;
	sql_init(&q, &my->dialect);
	sql_init(&pred, &my->dialect);
	sql_init(&more, &my->dialect);
	sql_add(&q, "DELETE FROM %I.%I WHERE ", my->db, my->shadow);
	key_in(my, &q, NULL, true, keys);
	if (!my->copy_done) {
		/* the watermark, over the shadow's (maybe renamed) key columns */
		sql_add(&q, " AND ");
		my_key_compare_as(my, &q, NULL, true, "<=", my->watermark);
	}
	if (!run(my, &q, e))
		goto out;
	for (int round = 1;; round++) {
		sql_reset(&pred);
		key_in(my, &pred, "src", false, keys);
		if (!my->copy_done) {
			sql_add(&pred, " AND ");
			my_key_compare(my, &pred, "src", "<=", my->watermark);
		}
		my_copy_select(my, &q, false);
		sql_add(&q, "%s", sql_text(&pred));
		if (pred.failed)
			q.failed = true;
		if (my_exec_sql(my, &q, NULL, e))
			break;
		sql_reset(&q);
		int64_t found = 0;
		if (strcmp(e->sqlstate, "1062") == 0 && round <= MY_CONFLICT_ROUNDS) {
			OscErr ce;
			err_clear(&ce);
			sql_reset(&more);
			if (!my_conflicts(my, sql_text(&pred), &more, &found, &ce))
				log_error(&my->osc->log, &ce);
		}
		if (found == 0) {
			if (strcmp(e->sqlstate, "1062") == 0)
				err_wrap(e, OSC_EXIT_FAILED, "a row written during the migration violates a new unique index: ",
				         "; nothing was changed, no row was dropped");
			my_value_error(e);
			goto out;
		}
		log_msg(&my->osc->log, LOG_INFO,
		        "a duplicate under a unique index of the new table came from %lld row(s) of it not yet brought up "
		        "to date (their change is in the log): merging those keys too",
		        (long long)found);
		sql_add(&q, "DELETE FROM %I.%I WHERE ", my->db, my->shadow);
		key_in(my, &q, NULL, true, &more);
		if (!run(my, &q, e))
			goto out;
		sql_add(keys, ", %s", sql_text(&more));
	}
	ok = true;
out:
	sql_free(&q);
	sql_free(&pred);
	sql_free(&more);
	return ok;
}

/* The merged keys compared with the original (src/my/my_verify.c), after the
 * batch deleted its log rows; a difference merges them once more, a second
 * one fails. */
static bool verify(My *my, Sql *keys, OscErr *e)
{
	for (int attempt = 1;; attempt++) {
		bool same;
		char why[256];
		if (!my_verify_keys(my, sql_text(keys), &same, why, sizeof(why), e))
			return false;
		if (same)
			return true;
		if (attempt == 2) {
			err_set(e, OSC_EXIT_FAILED,
			        "verification: the rows merged from the change log differ from the original twice (%s); stopped "
			        "before the swap",
			        why);
			return false;
		}
		my->recopied++;
		summary_verify_mismatch(my->osc);
		log_msg(&my->osc->log, LOG_WARN,
		        "verification: the rows just merged from the change log differ from the original (%s); merging them "
		        "again",
		        why);
		if (!my_merge_keys(my, keys, e))
			return false;
	}
}

bool my_replay(My *my, int64_t limit, int64_t *applied, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q, keys, ids;
	bool ok = false, began = false;
	*applied = 0;
	sql_init(&q, &my->dialect);
	sql_init(&keys, &my->dialect);
	sql_init(&ids, &my->dialect);

	if (!my->in_lock) {
		if (!my_exec(my, "START TRANSACTION", NULL, e))
			goto out;
		began = true;
	}
	sql_add(&q, "SELECT _osc_change_id");
	for (int k = 0; k < my->nkeys; k++) {
		sql_add(&q, ", ");
		my_key_read(my, &q, NULL, k);
	}
	sql_add(&q, " FROM %I.%I ORDER BY _osc_change_id LIMIT %ld", my->db, my->log, (long)limit);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	sql_reset(&q);
	MYSQL_ROW row;
	int64_t n = 0;
	while ((row = mysql_fetch_row(r)) != NULL) {
		sql_add(&ids, "%s%s", n ? ", " : "", row[0]);
		char **key = my_key_literals(my, row, 1);
		sql_add(&keys, "%s(", n ? ", " : "");
		for (int k = 0; k < my->nkeys; k++)
			sql_add(&keys, "%s%s", k ? ", " : "", key[k]);
		sql_add(&keys, ")");
		my_free_key(my, key);
		n++;
	}
	mysql_free_result(r);
	r = NULL;
	if (n == 0) {
		ok = !began || my_exec(my, "COMMIT", NULL, e);
		began = began && !ok;
		goto out;
	}
	/* keys the copy has not reached are only consumed */
	bool merge_keys = my->copy_done || my->watermark != NULL;
	if (merge_keys && !my_merge_keys(my, &keys, e))
		goto out;
	sql_add(&q, "DELETE FROM %I.%I WHERE _osc_change_id IN (%s)", my->db, my->log, sql_text(&ids));
	if (!run(my, &q, e) || (merge_keys && !verify(my, &keys, e)) || (began && !my_exec(my, "COMMIT", NULL, e)))
		goto out;
	began = false;
	*applied = n;
	ok = true;
out:
	if (began) {
		OscErr e2;
		if (!my_exec(my, "ROLLBACK", NULL, &e2))
			log_error(&my->osc->log, &e2);
	}
	mysql_free_result(r);
	sql_free(&q);
	sql_free(&keys);
	sql_free(&ids);
	return ok;
}

bool my_backlog(My *my, int64_t *n, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT COUNT(*) FROM (SELECT 1 FROM %I.%I LIMIT 1000000) b", my->db, my->log);
	bool ok = my_exec_sql(my, &q, &r, e);
	if (ok) {
		MYSQL_ROW row = mysql_fetch_row(r);
		*n = row && row[0] ? strtoll(row[0], NULL, 10) : 0;
	}
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}
