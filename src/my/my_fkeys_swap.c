/*
 * my_fkeys_swap.c — child tables' foreign keys at the swap, by
 * --alter-foreign-keys-method (src/my/my_fkeys.c's banner says what each
 * method does): choosing the method for auto, the locks, repointing the
 * children to the shadow under the swap's lock, and undoing it.
 */
#include "my_fkeys.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- child tables at the swap ------------------------------------------------ */

void my_fkeys_choose(My *my)
{
	if (my->fk_method != MY_FK_AUTO)
		return;
	/* --revertible keeps the original (src/my/my_revert_check.c): never drop_swap */
	if (my->nchildren == 0 || my->revertible) {
		my->fk_method = MY_FK_REBUILD;
		return;
	}
	/* a metadata-only ALTER of the shadow stands in for the children's
	 * in-place ALTERs, which touch more of the dictionary: measured
	 * 2.6-3.1 ms for it and 5.5-6.5 ms for each of theirs (200k-row
	 * child), so one repoint ALTER is counted as two probes */
	Sql q;
	OscErr e;
	MYSQL_RES *r = NULL;
	char *comment = NULL;
	int64_t probe_us = -1;

	err_clear(&e);
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->shadow);
	if (my_exec_sql(my, &q, &r, &e)) {
		MYSQL_ROW row = mysql_fetch_row(r);
		comment = my_strdup(row && row[MY_VALUE] ? row[MY_VALUE] : "");
	}
	mysql_free_result(r);
	sql_reset(&q);
	if (comment) {
		/* the least of three: a busy server only adds to a DDL's cost */
		sql_add(&q, "ALTER TABLE %I.%I COMMENT = %L", my->db, my->shadow, comment);
		for (int i = 0; i < 3; i++) {
			int64_t t0 = now_us();
			if (!my_exec_sql(my, &q, NULL, &e)) {
				probe_us = -1;
				break;
			}
			if (probe_us < 0 || now_us() - t0 < probe_us)
				probe_us = now_us() - t0;
		}
	}
	free(comment);
	sql_free(&q);
	int64_t estimate_ms = probe_us < 0 ? -1 : 2 * 2 * (int64_t)my->nchildren * probe_us / 1000;
	if (estimate_ms >= 0 && estimate_ms <= my->env->chunk_time_ms) {
		my->fk_method = MY_FK_REBUILD;
		log_msg(my->log, LOG_INFO,
		        "--alter-foreign-keys-method auto: rebuild_constraints (%d child key(s), about %ldms under the "
		        "lock, within --chunk-time)",
		        my->nchildren, (long)estimate_ms);
	} else {
		my->fk_method = MY_FK_DROP_SWAP;
		if (estimate_ms < 0)
			log_error(my->log, &e);
		log_msg(my->log, LOG_INFO,
		        "--alter-foreign-keys-method auto: drop_swap (%d child key(s); rebuilding them would hold the lock "
		        "about %ldms, more than --chunk-time %ldms)",
		        my->nchildren, (long)estimate_ms, (long)my->env->chunk_time_ms);
	}
}

/* One child key: the shadow's referenced columns have the original's types
 * and lead one of its indexes. */
static bool shadow_takes(My *my, const MyChildFk *c, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false;
	sql_init(&q, &my->dialect);
	sql_add(&q, "SELECT (SELECT COUNT(*) FROM information_schema.COLUMNS o JOIN information_schema.COLUMNS s"
	            "  ON s.TABLE_SCHEMA = o.TABLE_SCHEMA AND s.TABLE_NAME = %L"
	            "  AND o.COLUMN_TYPE = s.COLUMN_TYPE AND o.COLLATION_NAME <=> s.COLLATION_NAME"
	            " WHERE o.TABLE_SCHEMA = %L AND o.TABLE_NAME = %L AND (",
	        my->shadow, my->db, my->table);
	for (int i = 0; i < c->ncols; i++)
		sql_add(&q, "%s(o.COLUMN_NAME = %L AND s.COLUMN_NAME = %L)", i ? " OR " : "", c->ref_names[i],
		        c->ref_shadow_names[i]);
	sql_add(&q, ")), (SELECT COUNT(*) FROM (SELECT INDEX_NAME FROM information_schema.STATISTICS"
	            " WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L GROUP BY INDEX_NAME HAVING SUM(",
	        my->db, my->shadow);
	for (int i = 0; i < c->ncols; i++)
		sql_add(&q, "%s(SEQ_IN_INDEX = %d AND COLUMN_NAME = %L)", i ? " + " : "", i + 1, c->ref_shadow_names[i]);
	sql_add(&q, ") = %d) x)", c->ncols);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	enum { S_COLUMNS_SAME, S_INDEXES };
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row == NULL || row[S_COLUMNS_SAME] == NULL || atoi(row[S_COLUMNS_SAME]) != c->ncols) {
		err_set(e, OSC_EXIT_FAILED,
		        "drop_swap: the ALTER changes a column that foreign key %s of %s.%s references; the RENAME after the "
		        "DROP would fail and leave %s.%s missing. Nothing was changed; use rebuild_constraints",
		        c->name, c->db, c->table, my->db, my->table);
	} else if (row[S_INDEXES] == NULL || atoi(row[S_INDEXES]) < 1) {
		err_set(e, OSC_EXIT_FAILED,
		        "drop_swap: no index of the new table begins with the columns foreign key %s of %s.%s references; "
		        "the RENAME after the DROP would fail and leave %s.%s missing. Nothing was changed",
		        c->name, c->db, c->table, my->db, my->table);
	} else {
		ok = true;
	}
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

bool my_fkeys_check_drop_swap(My *my, OscErr *e)
{
	for (int i = 0; my->children && i < my->nchildren; i++)
		if (!shadow_takes(my, &my->children[i], e))
			return false;
	return true;
}

void my_fkeys_lock_list(My *my, Sql *q)
{
	if (my->children == NULL || (my->fk_method != MY_FK_REBUILD && my->fk_method != MY_FK_DROP_SWAP))
		return;
	for (int i = 0; i < my->nchildren; i++) {
		const MyChildFk *c = &my->children[i];
		bool seen = false;
		for (int j = 0; j < i && !seen; j++)
			seen = strcmp(my->children[j].db, c->db) == 0 && strcmp(my->children[j].table, c->table) == 0;
		if (!seen)
			sql_add(q, ", %I.%I WRITE", c->db, c->table);
	}
}

/* ALTER TABLE child ADD CONSTRAINT ... REFERENCES db.parent, in place */
static void add_sql(My *my, const MyChildFk *c, const char *parent, const char *refs, Sql *q)
{
	sql_add(q, "ALTER TABLE %I.%I ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %I.%I (%s) %s, ALGORITHM=INPLACE", c->db,
	        c->table, c->name, c->cols, my->db, parent, refs, c->rules);
}

bool my_fkeys_repoint(My *my, OscErr *e)
{
	if (my->children == NULL || my->fk_method != MY_FK_REBUILD)
		return true;
	Sql q;
	bool ok = true;
	int64_t t0 = now_us();
	sql_init(&q, &my->dialect);
	for (int i = 0; ok && i < my->nchildren; i++) {
		MyChildFk *c = &my->children[i];
		sql_add(&q, "ALTER TABLE %I.%I DROP FOREIGN KEY %I, ALGORITHM=INPLACE", c->db, c->table, c->name);
		ok = my_exec_sql(my, &q, NULL, e);
		sql_reset(&q);
		if (!ok)
			break;
		c->state = 1;
		add_sql(my, c, my->shadow, c->refs_shadow, &q);
		ok = my_exec_sql(my, &q, NULL, e);
		sql_reset(&q);
		if (ok)
			c->state = 2;
		else
			err_wrap(e, OSC_EXIT_FAILED, "cutover: cannot repoint a child's foreign key to the new table: ", "");
	}
	sql_free(&q);
	if (ok)
		log_msg(my->log, LOG_DEBUG, "repointed %d child foreign key(s) to the new table in %.1fms",
		        my->nchildren, (double)(now_us() - t0) / 1000.0);
	return ok;
}

void my_fkeys_restore(My *my)
{
	if (my->children == NULL)
		return;
	Sql q;
	sql_init(&q, &my->dialect);
	for (int i = 0; i < my->nchildren; i++) {
		MyChildFk *c = &my->children[i];
		OscErr e;
		err_clear(&e);
		bool ok = true;
		if (c->state == 2) {
			sql_add(&q, "ALTER TABLE %I.%I DROP FOREIGN KEY %I, ALGORITHM=INPLACE", c->db, c->table, c->name);
			ok = my_exec_sql(my, &q, NULL, &e);
			sql_reset(&q);
			if (ok)
				c->state = 1;
		}
		if (ok && c->state == 1) {
			add_sql(my, c, my->table, c->refs, &q);
			ok = my_exec_sql(my, &q, NULL, &e);
			sql_reset(&q);
			if (ok)
				c->state = 0;
		}
		if (!ok) {
			log_error(my->log, &e);
			if (c->state == 2)
				sql_add(&q, "ALTER TABLE %I.%I DROP FOREIGN KEY %I; ", c->db, c->table, c->name);
			add_sql(my, c, my->table, c->refs, &q);
			log_msg(my->log, LOG_WARN, "could not put foreign key %s of %s.%s back; restore it with: %s",
			        c->name, c->db, c->table, sql_text(&q));
			sql_reset(&q);
		}
	}
	sql_free(&q);
}

/* my_fk_each_of: a child's key left referencing the shadow goes back to T
 * (the shadow's column names mapped back to the original's when known) */
static bool unpoint(My *my, const FkDef *fk, void *ctx, OscErr *e)
{
	Sql q, cols, refs;
	int *n = ctx;
	bool ok = false;
	sql_init(&q, &my->dialect);
	sql_init(&cols, &my->dialect);
	sql_init(&refs, &my->dialect);
	for (int i = 0; i < fk->n; i++) {
		const char *ref = fk->refs[i];
		for (int k = 0; k < my->ncols; k++)
			if (strcmp(my->cols[k].name, ref) == 0)
				ref = my->cols[k].source;
		sql_add(&cols, "%s%I", i ? ", " : "", fk->cols[i]);
		sql_add(&refs, "%s%I", i ? ", " : "", ref);
	}
	log_msg(my->log, LOG_WARN, "foreign key %s of %s.%s references %s (a swap was interrupted): back to %s",
	        fk->name, fk->db, fk->table, my->shadow, my->table);
	sql_add(&q, "ALTER TABLE %I.%I DROP FOREIGN KEY %I", fk->db, fk->table, fk->name);
	if (!my_exec_sql(my, &q, NULL, e))
		goto out;
	sql_reset(&q);
	sql_add(&q, "ALTER TABLE %I.%I ADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %I.%I (%s) ON DELETE %s ON UPDATE %s",
	        fk->db, fk->table, fk->name, sql_text(&cols), my->db, my->table, sql_text(&refs), fk->del, fk->upd);
	if (!my_exec_sql(my, &q, NULL, e)) {
		log_msg(my->log, LOG_ERROR, "%s.%s has lost foreign key %s; add it back with: %s", fk->db, fk->table,
		        fk->name, sql_text(&q));
		goto out;
	}
	(*n)++;
	ok = true;
out:
	sql_free(&q);
	sql_free(&cols);
	sql_free(&refs);
	return ok;
}

bool my_fkeys_unpoint(My *my, OscErr *e)
{
	int n = 0;
	return my_fk_each_of(my, my->shadow, true, unpoint, &n, e);
}
