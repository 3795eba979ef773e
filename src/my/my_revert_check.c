/*
 * my_revert_check.c — does the ALTER of a --revertible run have an inverse
 * on MySQL/MariaDB?  Asked on the shadow right after the ALTER made it and
 * the column map was read (src/my/my_shadow.c), before a row is copied:
 * a refusal is exit 2 with nothing left behind.
 *
 * A revert maps the new table's columns back by name through the forward
 * map (src/my/my_revert.c): an added column is left out, a renamed one goes
 * back to its old name, a retyped one is assigned back to the old type under
 * osc's strict sql_mode (a value out of its range fails, naming the row),
 * and a dropped one is left out of the INSERT, so that it takes its
 * default or NULL.  What that cannot do is refused here:
 *   - a dropped column that is NOT NULL without a default (not generated,
 *     not AUTO_INCREMENT): the revert would have no value to give it;
 *   - a column whose type has no way back: a spatial type to another one
 *     or to a non-spatial type, or the other way (the server converts
 *     every other pair, or fails on the value, which a revert reports);
 *   - a changed key: the reverse capture logs the new table's key and the
 *     revert finds the original's rows by it, so the key columns keep
 *     their type, character set and collation, and the new table keeps a
 *     unique index over them;
 *   - child tables' foreign keys handled by --alter-foreign-keys-method
 *     none or drop_swap: the revert repoints them back (as
 *     rebuild_constraints does), which needs them on the new table and the
 *     original kept (auto chooses rebuild_constraints for a --revertible
 *     run: src/my/my_fkeys_swap.c).
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The columns of one table, as this file compares them. */
enum { C_NAME, C_NULLABLE, C_NO_DEFAULT, C_EXTRA, C_DATA_TYPE, C_COLUMN_TYPE, C_CHARSET, C_COLLATION };

static bool columns(My *my, const char *table, MYSQL_RES **r, OscErr *e)
{
	Sql q;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COLUMN_NAME, IS_NULLABLE = 'YES', COLUMN_DEFAULT IS NULL, EXTRA, DATA_TYPE, COLUMN_TYPE,"
	        " IFNULL(CHARACTER_SET_NAME, ''), IFNULL(COLLATION_NAME, '')"
	        " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L ORDER BY ORDINAL_POSITION",
	        my->db, table);
	bool ok = my_exec_sql(my, &q, r, e);
	sql_free(&q);
	return ok;
}

static MYSQL_ROW find(MYSQL_RES *r, const char *name)
{
	MYSQL_ROW row;
	mysql_data_seek(r, 0);
	while ((row = mysql_fetch_row(r)) != NULL)
		if (strcmp(row[C_NAME], name) == 0)
			return row;
	return NULL;
}

static bool generated(const char *extra)
{
	return extra && (strstr(extra, "GENERATED") || strstr(extra, "PERSISTENT") || strstr(extra, "VIRTUAL") ||
	                 strstr(extra, "STORED"));
}

static bool spatial(const char *t)
{
	static const char *const s[] = { "geometry",        "point",        "linestring",         "polygon", "multipoint",
		                             "multilinestring", "multipolygon", "geometrycollection", NULL };
	for (const char *const *p = s; *p; p++)
		if (strcmp(t, *p) == 0)
			return true;
	return false;
}

/* The new table's column that original column o comes back from: the one
 * the copy fills from o, else a generated column of o's name (the copy
 * does not fill those, and a revert can read them); NULL: none. */
static const char *back_from(My *my, MYSQL_RES *shadow, const char *o)
{
	for (int i = 0; i < my->ncols; i++)
		if (strcmp(my->cols[i].source, o) == 0)
			return my->cols[i].name;
	MYSQL_ROW row;
	mysql_data_seek(shadow, 0);
	while ((row = mysql_fetch_row(shadow)) != NULL)
		if (strcasecmp(row[C_NAME], o) == 0 && generated(row[C_EXTRA]))
			return row[C_NAME];
	return NULL;
}

bool my_unique_index_over(My *my, const char *table, char *const *cols, int n, char *index, size_t indexsz,
                          OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	index[0] = '\0';
	sql_init(&q, &my->dialect);
	/* whole columns, NOT NULL: what the copy's key may be (my_find_key) */
	sql_add(&q,
	        "SELECT s.INDEX_NAME, s.COLUMN_NAME, s.SUB_PART IS NULL AND c.IS_NULLABLE = 'NO'"
	        " FROM information_schema.STATISTICS s JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA"
	        "  AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME"
	        " WHERE s.TABLE_SCHEMA = %L AND s.TABLE_NAME = %L AND s.NON_UNIQUE = 0"
	        " ORDER BY s.INDEX_NAME <> 'PRIMARY', s.INDEX_NAME, s.SEQ_IN_INDEX",
	        my->db, table);
	bool ok = my_exec_sql(my, &q, &r, e);
	sql_free(&q);
	if (!ok)
		return false;
	enum { I_NAME, I_COLUMN, I_WHOLE };
	char current[MY_NAMELEN + 1] = "";
	int seen = 0;
	bool fits = false;
	for (;;) {
		row = mysql_fetch_row(r);
		if (current[0] && (row == NULL || strcmp(row[I_NAME], current) != 0)) {
			if (fits && seen == n) {
				snprintf(index, indexsz, "%s", current);
				break;
			}
			current[0] = '\0';
		}
		if (row == NULL)
			break;
		if (current[0] == '\0') {
			snprintf(current, sizeof(current), "%s", row[I_NAME]);
			seen = 0;
			fits = true;
		}
		fits = fits && seen < n && strcmp(row[I_COLUMN], cols[seen]) == 0 && strcmp(row[I_WHOLE], "1") == 0;
		seen++;
	}
	mysql_free_result(r);
	return true;
}

static bool refuse(My *my, OscErr *e, const char *why)
{
	err_set(e, OSC_EXIT_INPUT, "--revertible: %s; run without --revertible, or change the ALTER (%s.%s untouched)", why,
	        my->db, my->table);
	return false;
}

bool my_revert_check(My *my, OscErr *e)
{
	MYSQL_RES *ro = NULL, *rs = NULL;
	MYSQL_ROW o, s;
	char why[1024];
	bool ok = false;

	/* osc plan's stand-in method (my_engine.c) is not the user's choice */
	if (my->nchildren > 0 && my->fk_method_plan == NULL &&
	    (my->fk_method == MY_FK_NONE || my->fk_method == MY_FK_DROP_SWAP)) {
		snprintf(why, sizeof(why),
		         "other tables' foreign keys reference %s, and --alter-foreign-keys-method %s %s; a revert repoints "
		         "them back as rebuild_constraints does (use that, or auto)",
		         my->table, my->fk_method == MY_FK_NONE ? "none" : "drop_swap",
		         my->fk_method == MY_FK_NONE ? "leaves them on the original" : "drops the original");
		return refuse(my, e, why);
	}
	if (!columns(my, my->table, &ro, e) || !columns(my, my->shadow, &rs, e))
		goto out;
	while ((o = mysql_fetch_row(ro)) != NULL) {
		if (generated(o[C_EXTRA]))
			continue; /* the server computes it again */
		const char *from = back_from(my, rs, o[C_NAME]);
		if (from == NULL) {
			if (strcmp(o[C_NULLABLE], "0") == 0 && strcmp(o[C_NO_DEFAULT], "1") == 0 &&
			    strstr(o[C_EXTRA] ? o[C_EXTRA] : "", "auto_increment") == NULL) {
				snprintf(why, sizeof(why),
				         "the ALTER drops column %.64s, which is NOT NULL without a default: a revert could not give "
				         "the original a value for it (give it a DEFAULT first)",
				         o[C_NAME]);
				refuse(my, e, why);
				goto out;
			}
			continue;
		}
		s = find(rs, from);
		if (s && spatial(o[C_DATA_TYPE]) != spatial(s[C_DATA_TYPE])) {
			snprintf(why, sizeof(why), "the ALTER changes column %.64s from %.64s to %.64s, which has no way back",
			         o[C_NAME], o[C_COLUMN_TYPE], s[C_COLUMN_TYPE]);
			refuse(my, e, why);
			goto out;
		}
	}
	char *names[64];
	if (my->nkeys > (int)(sizeof(names) / sizeof(names[0]))) {
		refuse(my, e, "the table's key has more columns than a revert handles");
		goto out;
	}
	for (int k = 0; k < my->nkeys; k++) {
		o = find(ro, my->keys[k].name);
		s = find(rs, my->keys[k].shadow);
		if (o && s &&
		    (strcmp(o[C_COLUMN_TYPE], s[C_COLUMN_TYPE]) != 0 || strcmp(o[C_CHARSET], s[C_CHARSET]) != 0 ||
		     strcmp(o[C_COLLATION], s[C_COLLATION]) != 0)) {
			snprintf(why, sizeof(why),
			         "the ALTER changes key column %.64s (%.64s %.32s to %.64s %.32s): the reverse capture logs the "
			         "new table's key, and a revert finds the original's rows by it",
			         my->keys[k].name, o[C_COLUMN_TYPE], o[C_COLLATION], s[C_COLUMN_TYPE], s[C_COLLATION]);
			refuse(my, e, why);
			goto out;
		}
		names[k] = my->keys[k].shadow;
	}
	char index[MY_NAMELEN + 1];
	if (!my_unique_index_over(my, my->shadow, names, my->nkeys, index, sizeof(index), e))
		goto out;
	if (index[0] == '\0') {
		snprintf(why, sizeof(why),
		         "the new table has no unique index over %s's key (%s) any more: a revert finds the original's rows "
		         "by it",
		         my->table, my->key_index);
		refuse(my, e, why);
		goto out;
	}
	ok = true;
out:
	mysql_free_result(ro);
	mysql_free_result(rs);
	return ok;
}
