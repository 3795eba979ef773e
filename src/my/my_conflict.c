/*
 * my_conflict.c — duplicates that are not, on MySQL/MariaDB.
 *
 * osc writes the shadow with the original's current rows: a chunk of the
 * copy, or the rows of the keys a replay batch merges.  Under a unique index
 * of the shadow that write can collide with a stale row of the shadow:
 * two rows swap a UNIQUE value in one transaction, and the batch that merges
 * the first row does not hold the second (the batch limit split the
 * transaction's log rows, or it committed between the batch's read of the
 * log and its read of the original).  The application's workload was valid
 * at every commit; the old code aborted the run all the same (1 run in 7).
 *
 * The rule is the core's (replicator/replay.c, for every engine): a
 * duplicate is a real violation only if the original's current rows
 * themselves collide.  Otherwise the colliding row of the shadow is stale,
 * and its change is in the log (it was committed before the write read the
 * original, with its log row, in the same transaction).  This file is
 * MySQL's half of it (the engine's merge_stale): the rows of the shadow that
 * collide, under any of its unique indexes, with the rows being written.
 * The core merges their keys from the original with the write (merging any
 * key from the source of truth is always right) and writes again.  When no
 * row of the shadow outside the write collides, the rows being written
 * collide among themselves: the original holds the duplicate, and the run
 * aborts with the server's message, which names the key.
 *
 * The comparison is over the columns the copy maps (a new column takes its
 * default in every row, a generated one is left out): over-matching only
 * merges a key more, which is harmless; a prefix index compares prefixes.
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* The original's column the copy maps to shadow column col, or NULL. */
static const char *source_of(const My *my, const char *col)
{
	for (int i = 0; i < my->ncols; i++)
		if (strcmp(my->cols[i].name, col) == 0)
			return my->cols[i].source;
	return NULL;
}

/* The key of the shadow's row s, read as my_key_read reads the original's */
static void shadow_key_read(const My *my, Sql *q, int k)
{
	const MyKey *key = &my->keys[k];
	switch (key->kind) {
	case MY_KEY_HEX:
		sql_add(q, "HEX(CONVERT(s.%I USING %s))", key->shadow, key->charset);
		break;
	case MY_KEY_BYTES:
		sql_add(q, "HEX(s.%I)", key->shadow);
		break;
	case MY_KEY_NUMBER:
		sql_add(q, "(s.%I + 0)", key->shadow);
		break;
	case MY_KEY_DOUBLE:
		sql_add(q, "CAST(s.%I AS DOUBLE)", key->shadow);
		break;
	case MY_KEY_TEXT:
		sql_add(q, "s.%I", key->shadow);
		break;
	}
}

/* The columns of a unique index's rows (conflicts' query). */
enum { U_INDEX, U_COLUMN, U_SUB_PART };

/* One unique index: "SELECT key FROM shadow s WHERE (s.a, LEFT(s.b, 10)) IN
 * (SELECT src.a, LEFT(src.b, 10) FROM T src WHERE pred)"; false (nothing
 * added) when none of its columns is mapped. */
static bool index_query(const My *my, Sql *q, MYSQL_ROW *rows, int n, const char *pred)
{
	Sql l, r;
	int used = 0;
	sql_init(&l, &my->dialect);
	sql_init(&r, &my->dialect);
	for (int i = 0; i < n; i++) {
		const char *col = rows[i][U_COLUMN], *part = rows[i][U_SUB_PART], *src = source_of(my, col);
		if (src == NULL)
			continue;
		const char *sep = used++ ? ", " : "";
		if (part) {
			sql_add(&l, "%sLEFT(s.%I, %s)", sep, col, part);
			sql_add(&r, "%sLEFT(src.%I, %s)", sep, src, part);
		} else {
			sql_add(&l, "%ss.%I", sep, col);
			sql_add(&r, "%ssrc.%I", sep, src);
		}
	}
	if (used > 0) {
		if (q->len)
			sql_add(q, " UNION ");
		sql_add(q, "SELECT ");
		for (int k = 0; k < my->nkeys; k++) {
			if (k)
				sql_add(q, ", ");
			shadow_key_read(my, q, k);
		}
		sql_add(q, " FROM %I.%I s WHERE (%s) IN (SELECT %s FROM %I.%I src WHERE %s)", my->db, my->shadow,
		        sql_text(&l), sql_text(&r), my->db, my->table, pred);
		if (l.failed || r.failed)
			q->failed = true;
	}
	sql_free(&l);
	sql_free(&r);
	return used > 0;
}

/* Is the index (its rows) exactly the merge key?  Rows of the write and of
 * the shadow never share a key, so it needs no look. */
static bool is_merge_key(const My *my, MYSQL_ROW *rows, int n)
{
	if (n != my->nkeys)
		return false;
	for (int k = 0; k < n; k++)
		if (strcmp(rows[k][U_COLUMN], my->keys[k].shadow) != 0 || rows[k][U_SUB_PART] != NULL)
			return false;
	return true;
}

/* The keys ("(v1, v2), ..." appended to keys) of the shadow's rows that
 * collide under one of its unique indexes with the original's rows that
 * pred (SQL over alias src) selects; *found: how many. */
static bool conflicts(MySession *ses, const My *my, const char *pred, Sql *keys, int64_t *found, OscErr *e)
{
	MYSQL_RES *r = NULL, *c = NULL;
	MYSQL_ROW row;
	Sql q, look;
	bool ok = false;
	MYSQL_ROW *idx = NULL;
	*found = 0;
	sql_init(&q, &my->dialect);
	sql_init(&look, &my->dialect);
	sql_add(&q,
	        "SELECT INDEX_NAME, COLUMN_NAME, SUB_PART FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %L"
	        " AND TABLE_NAME = %L AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX",
	        my->db, my->shadow);
	if (!mys_exec_sql(ses, &q, &r, e))
		goto out;
	idx = xcalloc(mysql_num_rows(r) + 1, sizeof(MYSQL_ROW));
	int n = 0;
	for (;;) {
		row = mysql_fetch_row(r);
		if (n > 0 && (row == NULL || strcmp(row[U_INDEX], idx[0][U_INDEX]) != 0)) {
			if (!is_merge_key(my, idx, n))
				(void)index_query(my, &look, idx, n, pred);
			n = 0;
		}
		if (row == NULL)
			break;
		idx[n++] = row;
	}
	if (look.len == 0) {
		ok = true;
		goto out;
	}
	if (!mys_exec_sql(ses, &look, &c, e))
		goto out;
	enum { L_KEY0 }; /* the look's columns: the key's */
	while ((row = mysql_fetch_row(c)) != NULL) {
		char **key = my_key_literals(my, row, L_KEY0);
		sql_add(keys, "%s(", keys->len ? ", " : "");
		for (int k = 0; k < my->nkeys; k++)
			sql_add(keys, "%s%s", k ? ", " : "", key[k]);
		sql_add(keys, ")");
		my_free_key(my, key);
		(*found)++;
	}
	ok = true;
out:
	free(idx);
	mysql_free_result(r);
	mysql_free_result(c);
	sql_free(&q);
	sql_free(&look);
	return ok;
}

bool my_stale_keys(MySession *s, My *my, const MyKeyVal *lo, const MyKeyVal *hi, const MyBatch *batch,
                   const MyBatch *extra, const MyKeyVal *wm, bool copy_done, MyBatch **more, int64_t *found,
                   OscErr *e)
{
	Sql pred, keys;
	bool ok = true;

	*more = NULL;
	*found = 0;
	sql_init(&pred, &my->dialect);
	sql_init(&keys, &my->dialect);
	/* the rows the write was writing: the range, the batch's keys (those
	 * it merges), the stale keys merged with it */
	if (hi) {
		sql_add(&pred, "(");
		if (lo) {
			my_key_compare(my, &pred, "src", ">", lo->lit);
			sql_add(&pred, " AND ");
		}
		my_key_compare(my, &pred, "src", "<=", hi->lit);
		sql_add(&pred, ")");
	}
	if (batch && batch->keys[0] && (copy_done || wm)) {
		sql_add(&pred, "%s(", pred.len ? " OR " : "");
		my_key_in(my, &pred, "src", false, batch->keys);
		if (!copy_done) {
			sql_add(&pred, " AND ");
			my_key_compare(my, &pred, "src", "<=", wm->lit);
		}
		sql_add(&pred, ")");
	}
	if (extra && extra->keys[0]) {
		sql_add(&pred, "%s", pred.len ? " OR " : "");
		my_key_in(my, &pred, "src", false, extra->keys);
	}
	if (pred.len > 0)
		ok = conflicts(s, my, sql_text(&pred), &keys, found, e);
	if (ok && *found > 0) {
		MyBatch *b = xcalloc(1, sizeof(MyBatch));
		b->keys = sql_take(&keys);
		b->ids = xstrdup("");
		b->n = *found;
		*more = b;
	}
	sql_free(&pred);
	sql_free(&keys);
	return ok;
}
