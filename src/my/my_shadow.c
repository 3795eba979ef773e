/*
 * my_shadow.c — MySQL/MariaDB: the table, its key, the shadow with the
 * ALTER applied, the column map, the deferred indexes, and the copy.
 *
 * MySQL has no transactional DDL: the shadow is created, then altered; a
 * rejected ALTER drops it again before osc reports the server's message.
 * Columns map by name; a CHANGE or RENAME COLUMN in the ALTER maps the old
 * name to the new one (src/lib/alter.c reads them).  Every secondary index is
 * dropped from the shadow and rebuilt after the copy in one online ALTER,
 * so a new UNIQUE index over existing duplicates fails there, loudly.
 */
#include "my.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "names.h"

static bool rows(My *my, Sql *q, MYSQL_RES **res, OscErr *e)
{
	return my_exec_sql(my, q, res, e);
}

/* osc's names on MySQL begin with the table's name (users_osc_new, not
 * _users_osc_new as on PostgreSQL): the server takes a RENAME's metadata
 * locks in name order, and the cut-over needs the RENAME to queue on the
 * table itself first (src/my/my_swap.c). */
static bool derive(My *my, OscErr *e)
{
	names_derive(my->shadow, sizeof(my->shadow), "", my->table, "_osc_new", MY_NAMELEN);
	if (!my->old_fixed)
		names_derive(my->old, sizeof(my->old), "", my->table, "_osc_old", MY_NAMELEN);
	names_derive(my->log_table, sizeof(my->log_table), "", my->table, "_osc_log", MY_NAMELEN);
	names_derive(my->trg_ins, sizeof(my->trg_ins), "", my->table, "_osc_ins", MY_NAMELEN);
	names_derive(my->trg_upd, sizeof(my->trg_upd), "", my->table, "_osc_upd", MY_NAMELEN);
	names_derive(my->trg_del, sizeof(my->trg_del), "", my->table, "_osc_del", MY_NAMELEN);
	/* the reverse capture of a --revertible migration (src/my/my_revert_capture.c) */
	names_derive(my->rlog, sizeof(my->rlog), "", my->table, "_osc_rlog", MY_NAMELEN);
	names_derive(my->rtrg_ins, sizeof(my->rtrg_ins), "", my->table, "_osc_rins", MY_NAMELEN);
	names_derive(my->rtrg_upd, sizeof(my->rtrg_upd), "", my->table, "_osc_rupd", MY_NAMELEN);
	names_derive(my->rtrg_del, sizeof(my->rtrg_del), "", my->table, "_osc_rdel", MY_NAMELEN);
	char both[2 * OSC_NAME_MAX + 2], hash[17];
	snprintf(both, sizeof(both), "%s.%s", my->db, my->table);
	names_hash_hex(hash, 16, both, strlen(both));
	snprintf(my->lock_name, sizeof(my->lock_name), "osc:%s", hash);
	if (strcmp(my->table, my->shadow) >= 0 || strcmp(my->table, my->old) >= 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "the table name %s is too long for osc's cut-over on MySQL (at most %d bytes)", my->table,
		        MY_NAMELEN - 8);
		return false;
	}
	return true;
}

bool my_find_table(My *my, OscErr *e)
{
	const TableName *target = my->env->target;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	bool ok = false;

	sql_init(&q, &my->dialect);
	if (target->schema[0]) {
		my->db = my_strdup(target->schema);
	} else {
		if (!my_exec(my, "SELECT DATABASE()", &r, e))
			goto out;
		row = mysql_fetch_row(r);
		if (row == NULL || row[MY_VALUE] == NULL) {
			err_set(e, OSC_EXIT_INPUT, "no database: name it in --database (mysql://host/db) or as --table db.table");
			goto out;
		}
		my->db = my_strdup(row[MY_VALUE]);
		mysql_free_result(r);
		r = NULL;
	}
	my->table = my_strdup(target->table);
	sql_add(&q,
	        "SELECT TABLE_TYPE, ENGINE, COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES"
	        " WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L",
	        my->db, my->table);
	if (!rows(my, &q, &r, e))
		goto out;
	enum { T_TYPE, T_ENGINE, T_ROWS };
	row = mysql_fetch_row(r);
	if (row == NULL) {
		err_set(e, OSC_EXIT_INPUT, "table %s.%s does not exist", my->db, my->table);
		goto out;
	}
	if (strcmp(row[T_TYPE], "VIEW") == 0) {
		err_set(e, OSC_EXIT_INPUT, "%s.%s is a view, not a table; change a view with CREATE OR REPLACE VIEW", my->db,
		        my->table);
		goto out;
	}
	if (strcmp(row[T_TYPE], "BASE TABLE") != 0) {
		err_set(e, OSC_EXIT_INPUT, "%s.%s is not an ordinary table (%s)", my->db, my->table, row[T_TYPE]);
		goto out;
	}
	my->rows_estimate = strtoll(row[T_ROWS], NULL, 10);
	ok = derive(my, e);
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* The key: PRIMARY, else a unique index over NOT NULL columns, no prefixes. */
bool my_find_key(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	bool ok = false;

	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT s.INDEX_NAME, s.COLUMN_NAME, c.DATA_TYPE, COALESCE(c.CHARACTER_SET_NAME, ''), c.COLUMN_TYPE"
	        " FROM information_schema.STATISTICS s"
	        " JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME"
	        "  AND c.COLUMN_NAME = s.COLUMN_NAME"
	        " WHERE s.TABLE_SCHEMA = %L AND s.TABLE_NAME = %L AND s.NON_UNIQUE = 0"
	        "   AND s.INDEX_NAME IN (SELECT s2.INDEX_NAME FROM information_schema.STATISTICS s2"
	        "     JOIN information_schema.COLUMNS c2 ON c2.TABLE_SCHEMA = s2.TABLE_SCHEMA"
	        "      AND c2.TABLE_NAME = s2.TABLE_NAME AND c2.COLUMN_NAME = s2.COLUMN_NAME"
	        "     WHERE s2.TABLE_SCHEMA = s.TABLE_SCHEMA AND s2.TABLE_NAME = s.TABLE_NAME"
	        "     GROUP BY s2.INDEX_NAME HAVING SUM(c2.IS_NULLABLE = 'YES' OR s2.SUB_PART IS NOT NULL) = 0)"
	        " ORDER BY s.INDEX_NAME <> 'PRIMARY', s.INDEX_NAME, s.SEQ_IN_INDEX",
	        my->db, my->table);
	if (!rows(my, &q, &r, e))
		goto out;
	int n = 0;
	my->keys = xcalloc(mysql_num_rows(r) + 1, sizeof(MyKey));
	enum { K_INDEX, K_COLUMN, K_DATA_TYPE, K_CHARSET, K_COLUMN_TYPE };
	while ((row = mysql_fetch_row(r)) != NULL) {
		if (my->key_index == NULL)
			my->key_index = my_strdup(row[K_INDEX]);
		if (strcmp(row[K_INDEX], my->key_index) != 0)
			break;
		MyKey *key = &my->keys[n++];
		key->name = my_strdup(row[K_COLUMN]);
		key->kind = my_key_kind(row[K_DATA_TYPE], row[K_CHARSET]);
		key->charset = my_strdup(row[K_CHARSET]);
		key->type = my_strdup(row[K_COLUMN_TYPE]);
		if (key->kind == MY_KEY_HEX && !my_key_charset_ok(row[K_CHARSET])) {
			err_set(e, OSC_EXIT_INPUT, "%s.%s: key column %s has a character set osc cannot name (%s)", my->db,
			        my->table, row[K_COLUMN], row[K_CHARSET]);
			my->nkeys = n;
			goto out;
		}
	}
	my->nkeys = n;
	if (n == 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s has no primary key and no unique index over NOT NULL columns; osc needs one to copy in "
		        "chunks and to match changed rows",
		        my->db, my->table);
		goto out;
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* Nothing may be in the way of osc's names: an earlier run's objects
 * (osc's mark: `osc cleanup` removes them), or a user's (exit 2, named;
 * osc never touches them).  src/my/my_owned.c tells the two apart. */
static bool check_leftovers(My *my, OscErr *e)
{
	MyObjects o;
	/* (a revertible migration of the table refused this run before, in
	 * my_engine.c's leftovers_check, whatever its strategy) */
	if (my->revertible && !my_rcapture_names_check(my, e))
		return false;
	if (!my_old_choose(my, &o, e))
		return false;
	if (o.table[MY_ROLE_SENTRY] == MY_FOREIGN) {
		/* most often the original an earlier migration kept */
		o.table[MY_ROLE_SENTRY] = MY_ABSENT;
		char others[1024];
		my_objects_foreign(my, &o, others, sizeof(others));
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s exists and is not osc's (no osc run recorded it as its old table): osc needs the name for "
		        "the original after the swap; rename it%s%s; osc touched nothing",
		        my->db, my->old, others[0] ? "; also in the way: " : "", others);
		return false;
	}
	if (!my_objects_refuse_foreign(my, &o, e))
		return false;
	if (my_objects_any(&o, MY_OURS)) {
		err_set(e, OSC_EXIT_INPUT,
		        "an unfinished osc run on %s.%s left its objects (%s, %s, triggers %s...); run `osc cleanup --table "
		        "%s` first",
		        my->db, my->table, my->shadow, my->log_table, my->trg_ins, my->env->table_arg);
		return false;
	}
	return true;
}

/* Drops osc's change log and heartbeat table, and the shadow when asked,
 * each only if it is osc's (src/my/my_owned.c). */
bool my_drop_work_tables(My *my, bool shadow, OscErr *e)
{
	/* before a swap: a --revertible attempt's reverse log too (its triggers
	 * are on the shadow) */
	if (shadow && (!my_rcapture_unswapped_drop(my, e) || !my_drop_if_ours(my, MY_ROLE_SHADOW, e)))
		return false;
	return my_drop_if_ours(my, MY_ROLE_LOG, e) && my_drop_if_ours(my, MY_ROLE_HEARTBEAT, e);
}

static bool is_generated(const char *extra)
{
	return strstr(extra, "GENERATED") != NULL || strstr(extra, "PERSISTENT") != NULL ||
	       strstr(extra, "VIRTUAL") != NULL || strstr(extra, "STORED") != NULL;
}

/* The column map: shadow column <- original column. */
static bool map_columns(My *my, OscErr *e)
{
	const AlterSpec *a = my->env->alter;
	MYSQL_RES *ro = NULL, *rs = NULL;
	MYSQL_ROW row;
	Sql q;
	bool ok = false;
	char **orig = NULL;
	int norig = 0;

	sql_init(&q, &my->dialect);
	enum { C_NAME, C_EXTRA, C_TYPE }; /* both queries' columns */
	sql_add(&q, "SELECT COLUMN_NAME, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
	            " ORDER BY ORDINAL_POSITION",
	        my->db, my->table);
	if (!rows(my, &q, &ro, e))
		goto out;
	orig = xcalloc(mysql_num_rows(ro) + 1, sizeof(char *));
	while ((row = mysql_fetch_row(ro)) != NULL)
		orig[norig++] = row[C_NAME];
	sql_reset(&q);
	sql_add(&q, "SELECT COLUMN_NAME, EXTRA, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L"
	            " AND TABLE_NAME = %L ORDER BY ORDINAL_POSITION",
	        my->db, my->shadow);
	if (!rows(my, &q, &rs, e))
		goto out;
	my->cols = xcalloc(mysql_num_rows(rs) + 1, sizeof(MyCol));
	while ((row = mysql_fetch_row(rs)) != NULL) {
		const char *name = row[C_NAME], *source = NULL;
		if (is_generated(row[C_EXTRA] ? row[C_EXTRA] : ""))
			continue;
		for (int i = 0; i < a->n_rename && !source; i++)
			if (strcasecmp(a->rename[i].to, name) == 0)
				source = a->rename[i].from;
		if (source == NULL) {
			for (int i = 0; i < norig && !source; i++) {
				if (strcasecmp(orig[i], name) != 0)
					continue;
				bool renamed_away = false;
				for (int j = 0; j < a->n_rename; j++)
					if (strcasecmp(a->rename[j].from, orig[i]) == 0 && strcasecmp(a->rename[j].to, orig[i]) != 0)
						renamed_away = true;
				if (!renamed_away)
					source = orig[i];
			}
		}
		if (source == NULL)
			continue; /* a new column: its default */
		/* the source must be a real column of the original (CHANGE of a name it lacks is the ALTER's error) */
		const char *real = NULL;
		for (int i = 0; i < norig; i++)
			if (strcasecmp(orig[i], source) == 0)
				real = orig[i];
		if (real == NULL)
			continue;
		MyCol *c = &my->cols[my->ncols++];
		c->name = my_strdup(name);
		c->source = my_strdup(real);
	}
	for (int k = 0; k < my->nkeys; k++) {
		for (int i = 0; i < my->ncols; i++)
			if (strcasecmp(my->cols[i].source, my->keys[k].name) == 0)
				my->keys[k].shadow = my_strdup(my->cols[i].name);
		if (my->keys[k].shadow == NULL) {
			err_set(e, OSC_EXIT_INPUT, "the ALTER drops key column %s; osc copies and matches rows by %s",
			        my->keys[k].name, my->key_index);
			goto out;
		}
		/* the same literal names a row in both tables: an ENUM's number
		 * or a FLOAT's double means another value in another type */
		MyKeyKind kind = my->keys[k].kind;
		if (kind == MY_KEY_NUMBER || kind == MY_KEY_DOUBLE) {
			mysql_data_seek(rs, 0);
			while ((row = mysql_fetch_row(rs)) != NULL)
				if (strcmp(row[C_NAME], my->keys[k].shadow) == 0 && strcmp(row[C_TYPE], my->keys[k].type) != 0) {
					err_set(e, OSC_EXIT_INPUT,
					        "the ALTER changes the type of key column %s (%s to %s); osc matches rows by %s and "
					        "cannot carry this key's values across that change",
					        my->keys[k].name, my->keys[k].type, row[C_TYPE], my->key_index);
					goto out;
				}
		}
	}
	ok = true;
out:
	free(orig);
	mysql_free_result(ro);
	mysql_free_result(rs);
	sql_free(&q);
	return ok;
}

/* Drops the shadow's secondary indexes, remembering how to rebuild them. */
static bool defer_indexes(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q, add, drop, comment;
	bool ok = false;
	char current[MY_NAMELEN + 1] = "";
	enum { I_NAME, I_NON_UNIQUE, I_COLUMN, I_SUB_PART, I_TYPE, I_COLLATION, I_COMMENT };

	sql_init(&q, &my->dialect);
	sql_init(&add, &my->dialect);
	sql_init(&drop, &my->dialect);
	sql_init(&comment, &my->dialect);
	sql_add(&q,
	        "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, COALESCE(COLLATION, 'A'),"
	        " COALESCE(INDEX_COMMENT, '')"
	        " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L AND INDEX_NAME <> 'PRIMARY'"
	        " ORDER BY INDEX_NAME, SEQ_IN_INDEX",
	        my->db, my->shadow);
	if (!rows(my, &q, &r, e))
		goto out;
	while ((row = mysql_fetch_row(r)) != NULL) {
		/* the copy's own key index stays */
		if (strcmp(my->key_index, "PRIMARY") != 0 && strcmp(row[I_NAME], my->key_index) == 0)
			continue;
		/* FULLTEXT and SPATIAL indexes stay too: built later they need a
		 * lock (FULLTEXT), or come back wrong from information_schema (a
		 * SPATIAL index shows a prefix length it does not accept), and the
		 * copy keeps them up to date as it goes */
		if (strcmp(row[I_TYPE], "FULLTEXT") == 0 || strcmp(row[I_TYPE], "SPATIAL") == 0)
			continue;
		if (strcmp(current, row[I_NAME]) != 0) {
			if (current[0])
				sql_add(&add, ")%s", comment.len ? sql_text(&comment) : "");
			sql_reset(&comment);
			/* an index's comment is part of the table */
			if (row[I_COMMENT][0])
				sql_add(&comment, " COMMENT %L", row[I_COMMENT]);
			snprintf(current, sizeof(current), "%s", row[I_NAME]);
			const char *kind = strcmp(row[I_NON_UNIQUE], "0") == 0 ? "UNIQUE INDEX" : "INDEX";
			sql_add(&add, "%sADD %s %I (", add.len ? ", " : "", kind, row[I_NAME]);
			sql_add(&drop, "%sDROP INDEX %I", drop.len ? ", " : "", row[I_NAME]);
		} else {
			sql_add(&add, ", ");
		}
		sql_add(&add, "%I", row[I_COLUMN]);
		if (row[I_SUB_PART])
			sql_add(&add, "(%s)", row[I_SUB_PART]);
		if (strcmp(row[I_COLLATION], "D") == 0)
			sql_add(&add, " DESC");
	}
	if (current[0]) {
		sql_add(&add, ")%s", comment.len ? sql_text(&comment) : "");
		if (comment.failed)
			add.failed = true;
		sql_reset(&q);
		sql_add(&q, "ALTER TABLE %I.%I %s", my->db, my->shadow, sql_text(&drop));
		if (!my_exec_sql(my, &q, NULL, e))
			goto out;
		if (add.failed)
			goto out;
		my->deferred = my_strdup(sql_text(&add));
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	sql_free(&add);
	sql_free(&drop);
	sql_free(&comment);
	return ok;
}

static bool read_user_triggers(My *my, OscErr *e)
{
	return my_triggers_read(my, my->table, &my->user_triggers, &my->nuser_triggers, e);
}

/* The comment the new table must carry after the swap: the one the ALTER
 * gave the shadow, or else the original's; kept in my->shadow_comment (and
 * the state row) while the shadow carries osc's mark instead. */
static bool shadow_comment(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	Sql q;
	char mark[256];
	bool ok = false;
	my_marker(my, MY_ROLE_SHADOW, mark, sizeof(mark));
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT TABLE_NAME = %L, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L"
	        " AND TABLE_NAME IN (%L, %L) ORDER BY 1",
	        my->shadow, my->db, my->table, my->shadow);
	if (!rows(my, &q, &r, e))
		goto out;
	enum { M_IS_SHADOW, M_COMMENT };
	MYSQL_ROW orig = mysql_fetch_row(r), shadow = orig ? mysql_fetch_row(r) : NULL;
	if (orig == NULL || shadow == NULL || strcmp(orig[M_IS_SHADOW], "0") != 0) {
		err_set(e, OSC_EXIT_FAILED, "internal: cannot read the comments of %s.%s and its new table", my->db,
		        my->table);
		goto out;
	}
	free(my->shadow_comment);
	if (shadow[M_COMMENT] && strcmp(shadow[M_COMMENT], mark) != 0) {
		/* the ALTER set one: the mark again */
		my->shadow_comment = my_strdup(shadow[M_COMMENT]);
		if (!my_mark(my, MY_ROLE_SHADOW, my->shadow, e))
			goto out;
	} else {
		my->shadow_comment = my_strdup(orig[M_COMMENT]);
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* --revertible: the ALTER must have an inverse; osc plan notes a refusal
 * among its findings and goes on, as for the other refusals of a run */
static bool revert_checked(My *my, bool keep, OscErr *e)
{
	if (!my->revertible || my_revert_check(my, e))
		return true;
	if (keep || e->exit != OSC_EXIT_INPUT)
		return false;
	if (my->plan_refusal == NULL)
		my->plan_refusal = my_strdup(e->msg);
	err_clear(e);
	return true;
}

bool my_shadow_create(My *my, bool keep, OscErr *e)
{
	Sql q;
	bool ok = false;

	my->revertible = my->env->revertible;
	if (!check_leftovers(my, e) || !my_fkeys_check_children(my, e))
		return false;
	sql_init(&q, &my->dialect);
	sql_add(&q, "CREATE TABLE %I.%I LIKE %I.%I", my->db, my->shadow, my->db, my->table);
	if (!my_exec_sql(my, &q, NULL, e))
		goto out;
	/* osc's mark at once (src/my/my_owned.c); without it the table it made
	 * a statement ago goes again */
	if (!my_mark(my, MY_ROLE_SHADOW, my->shadow, e)) {
		OscErr e2;
		err_clear(&e2);
		sql_reset(&q);
		sql_add(&q, "DROP TABLE %I.%I", my->db, my->shadow);
		if (!my_exec_sql(my, &q, NULL, &e2))
			log_error(my->log, &e2);
		goto out;
	}
	my->created = true;
	sql_reset(&q);
	if (!my_fkeys_alter(my, e))
		goto out;
	const char *alter = my->shadow_alter ? my->shadow_alter : my->env->alter->text;
	/* an ALTER that only drops foreign keys leaves nothing for the shadow */
	sql_add(&q, "ALTER TABLE %I.%I %s", my->db, my->shadow, alter);
	if (alter[strspn(alter, " \t\r\n")] != '\0' && !my_exec_sql(my, &q, NULL, e)) {
		err_replace(e, my->shadow, my->table);
		err_wrap(e, OSC_EXIT_INPUT, "the database rejected the ALTER: ", "");
		goto out;
	}
	/* the ALTER must leave the shadow where it is */
	{
		MYSQL_RES *r = NULL;
		sql_reset(&q);
		sql_add(&q, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L", my->db,
		        my->shadow);
		if (!rows(my, &q, &r, e))
			goto out;
		bool there = strcmp(mysql_fetch_row(r)[MY_VALUE], "1") == 0;
		mysql_free_result(r);
		if (!there) {
			err_set(e, OSC_EXIT_INPUT, "the ALTER renames the table; do that with RENAME TABLE, which is instant");
			goto out;
		}
	}
	if (!shadow_comment(my, e))
		goto out;
	/* --revertible: the ALTER must have an inverse (src/my/my_revert_check.c),
	 * checked on the shadow as the ALTER left it */
	if (!map_columns(my, e) || !revert_checked(my, keep, e) || !my_fkeys_read(my, e) ||
	    !defer_indexes(my, e) || !my_keyidx_ensure(my, e) || !read_user_triggers(my, e) || !my_capture_create(my, e))
		goto out;
	ok = true;
out:
	if (!ok || !keep) {
		OscErr e2;
		err_clear(&e2);
		if (my->created && !my_drop_work_tables(my, true, &e2))
			log_error(my->log, &e2);
		my->created = false;
	}
	sql_free(&q);
	return ok;
}

/* How many of the shadow's indexes (other than the copy's key) or foreign
 * keys exist: an earlier run of a resumed migration may have built them. */
static bool count_built(My *my, bool fkeys, int64_t *n, OscErr *e)
{
	Sql q;
	sql_init(&q, &my->dialect);
	if (fkeys)
		sql_add(&q,
		        "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %L"
		        " AND TABLE_NAME = %L",
		        my->db, my->shadow);
	else
		sql_add(&q,
		        "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
		        " AND INDEX_NAME NOT IN ('PRIMARY', %L) AND INDEX_TYPE NOT IN ('FULLTEXT', 'SPATIAL')"
		        " AND INDEX_COMMENT <> %L",
		        my->db, my->shadow, my->key_index, MY_KEYIDX_MARK);
	bool ok = my_count(my, &q, n, e);
	sql_free(&q);
	return ok;
}

bool my_shadow_reopen(My *my, const char *deferred, bool copy_done, OscErr *e)
{
	int64_t built = 0;
	/* an interrupted swap may have left children's keys on the shadow:
	 * back to the table (with the column map) before they are counted */
	if (!map_columns(my, e) || !my_fkeys_unpoint(my, e) || !my_fkeys_check_children(my, e) ||
	    !my_fkeys_alter(my, e) || !my_fkeys_read(my, e) || !read_user_triggers(my, e) || !my_keyidx_ensure(my, e))
		return false;
	/* each is one ALTER: built whole or not at all */
	if (deferred && copy_done && !count_built(my, false, &built, e))
		return false;
	if (deferred && built == 0)
		my->deferred = my_strdup(deferred);
	if (copy_done && my->fkeys) {
		if (!count_built(my, true, &built, e))
			return false;
		if (built > 0) {
			free(my->fkeys);
			my->fkeys = NULL;
		}
	}
	return true;
}

/* The deferred indexes in one online ALTER (what: "the new indexes").  A
 * new UNIQUE index may meet a duplicate that is not: a row whose change
 * sits in the log while the other row of a swapped value is already
 * merged.  The core applies the log before the build and judges a
 * duplicate (src/core/indexes.c). */
bool my_index_build(My *my, char *what, size_t whatsz, OscErr *e)
{
	Sql q;
	snprintf(what, whatsz, "the new indexes");
	if (my->deferred == NULL)
		return true;
	sql_init(&q, &my->dialect);
	log_msg(my->log, LOG_INFO, "building the indexes: %s", my->deferred);
	/* the shadow is osc's alone; online all the same, so the index build
	 * holds no lock a replay batch would wait on */
	sql_add(&q, "ALTER TABLE %I.%I %s, ALGORITHM=INPLACE, LOCK=NONE", my->db, my->shadow, my->deferred);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	if (ok) {
		free(my->deferred);
		my->deferred = NULL;
	}
	return ok;
}
