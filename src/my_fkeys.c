/*
 * my_fkeys.c — MySQL/MariaDB foreign keys: the table's own, and child
 * tables' (--alter-foreign-keys-method, after pt-online-schema-change).
 *
 * CREATE TABLE ... LIKE copies no foreign key, so the table's own are added
 * to the shadow after the copy.  osc's session runs with foreign_key_checks
 * off (src/my_engine.c): every row it writes to the shadow came from the
 * original, where the keys held; InnoDB then adds them in place, and the
 * replay's delete-and-reinsert never cascades or trips over a reference
 * from the table to itself.
 * Constraint names are unique per database, so each takes pt-osc's
 * alternate name: a leading underscore added, or removed if it has one.  A
 * foreign key from the table to itself references the shadow.
 *
 * A child table's foreign key follows its parent through a RENAME: after
 * the swap it would reference T_osc_old.  So osc refuses a table that child
 * tables reference unless --alter-foreign-keys-method says what to do:
 * `none` (pt-osc's meaning: the children keep referencing the old table,
 * which is then kept; the DBA repoints them).  pt-osc's rebuild_constraints,
 * drop_swap and auto are not implemented on MySQL yet and are refused.
 */
#include "my.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Refuses child tables unless the method allows them; counts them. */
bool my_fkeys_check_children(My *my, OscErr *e)
{
	const char *method = my->osc->opt.alter_fk_method;
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false;

	if (method && strcmp(method, "none") != 0) {
		if (strcmp(method, "rebuild_constraints") == 0 || strcmp(method, "drop_swap") == 0 ||
		    strcmp(method, "auto") == 0)
			err_set(e, OSC_EXIT_INPUT,
			        "--alter-foreign-keys-method %s is not implemented on MySQL/MariaDB yet; only none is", method);
		else
			err_set(e, OSC_EXIT_INPUT, "--alter-foreign-keys-method: expected none, got '%s'", method);
		return false;
	}
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT CONCAT(CONSTRAINT_SCHEMA, '.', TABLE_NAME), CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS"
	        " WHERE UNIQUE_CONSTRAINT_SCHEMA = %L AND REFERENCED_TABLE_NAME = %L"
	        " AND NOT (CONSTRAINT_SCHEMA = %L AND TABLE_NAME = %L) ORDER BY 1, 2",
	        my->db, my->table, my->db, my->table);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	my->nchildren = (int)mysql_num_rows(r);
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row && method == NULL) {
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s is referenced by %d foreign key(s) of other tables (first: %s, constraint %s); after the swap "
		        "they would reference %s.%s. Pass --alter-foreign-keys-method none to migrate anyway and repoint "
		        "them yourself (the old table is then kept)",
		        my->db, my->table, my->nchildren, row[0], row[1], my->db, my->old);
		goto out;
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

/* The shadow's name for an original column, or NULL when the ALTER drops it. */
static const char *shadow_column(My *my, const char *col)
{
	for (int i = 0; i < my->ncols; i++)
		if (strcmp(my->cols[i].source, col) == 0)
			return my->cols[i].name;
	return NULL;
}

/* Reads the table's own foreign keys into my->fkeys ("ADD CONSTRAINT ..., ..."). */
bool my_fkeys_read(My *my, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q, add, cols, refs;
	bool ok = false, skip = false;
	char current[MY_NAMELEN + 1] = "";
	const char *ref_db = NULL, *ref_table = NULL, *upd = NULL, *del = NULL;

	sql_init(&q, &my->dialect);
	sql_init(&add, &my->dialect);
	sql_init(&cols, &my->dialect);
	sql_init(&refs, &my->dialect);
	sql_add(&q,
	        "SELECT rc.CONSTRAINT_NAME, rc.UNIQUE_CONSTRAINT_SCHEMA, rc.REFERENCED_TABLE_NAME, rc.UPDATE_RULE,"
	        " rc.DELETE_RULE, k.COLUMN_NAME, k.REFERENCED_COLUMN_NAME"
	        " FROM information_schema.REFERENTIAL_CONSTRAINTS rc JOIN information_schema.KEY_COLUMN_USAGE k"
	        "  ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.TABLE_NAME = rc.TABLE_NAME"
	        "  AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME"
	        " WHERE rc.CONSTRAINT_SCHEMA = %L AND rc.TABLE_NAME = %L ORDER BY rc.CONSTRAINT_NAME, k.ORDINAL_POSITION",
	        my->db, my->table);
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	for (;;) {
		row = mysql_fetch_row(r);
		if (current[0] && (row == NULL || strcmp(row[0], current) != 0)) {
			/* the previous constraint is complete */
			if (skip) {
				log_msg(&my->osc->log, LOG_WARN,
				        "the ALTER drops a column of foreign key %s: the new table does not have it", current);
			} else {
				char alt[MY_NAMELEN + 2];
				if (current[0] == '_')
					snprintf(alt, sizeof(alt), "%s", current + 1);
				else
					snprintf(alt, sizeof(alt), "_%.*s", MY_NAMELEN - 1, current);
				bool self = strcmp(ref_db, my->db) == 0 && strcmp(ref_table, my->table) == 0;
				sql_add(&add, "%sADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %I.%I (%s) ON DELETE %s ON UPDATE %s",
				        add.len ? ", " : "", alt, sql_text(&cols), ref_db, self ? my->shadow : ref_table,
				        sql_text(&refs), del, upd);
			}
			sql_reset(&cols);
			sql_reset(&refs);
			skip = false;
		}
		if (row == NULL)
			break;
		snprintf(current, sizeof(current), "%s", row[0]);
		ref_db = row[1];
		ref_table = row[2];
		upd = row[3];
		del = row[4];
		const char *col = shadow_column(my, row[5]);
		if (col == NULL)
			skip = true;
		else
			sql_add(&cols, "%s%I", cols.len ? ", " : "", col);
		/* a self reference names the shadow's columns */
		const char *refcol = row[6];
		if (strcmp(ref_db, my->db) == 0 && strcmp(ref_table, my->table) == 0 && (refcol = shadow_column(my, row[6])) == NULL) {
			skip = true;
			refcol = row[6];
		}
		sql_add(&refs, "%s%I", refs.len ? ", " : "", refcol);
	}
	if (add.failed || cols.failed || refs.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote a foreign key's names for SQL");
		goto out;
	}
	if (add.len)
		my->fkeys = my_strdup(sql_text(&add));
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	sql_free(&add);
	sql_free(&cols);
	sql_free(&refs);
	return ok;
}

/* Adds the table's own foreign keys to the shadow (after the copy). */
bool my_fkeys_add(My *my, OscErr *e)
{
	if (my->fkeys == NULL)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	log_msg(&my->osc->log, LOG_INFO, "adding the foreign keys: %s", my->fkeys);
	sql_add(&q, "ALTER TABLE %I.%I %s", my->db, my->shadow, my->fkeys);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}
