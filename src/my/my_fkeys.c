/*
 * my_fkeys.c — MySQL/MariaDB foreign keys: the table's own, and child
 * tables' (--alter-foreign-keys-method, after pt-online-schema-change).
 *
 * CREATE TABLE ... LIKE copies no foreign key, so the table's own are added
 * to the shadow after the copy.  osc's session runs with foreign_key_checks
 * off (src/my/my_engine.c): every row it writes to the shadow came from the
 * original, where the keys held; InnoDB then adds them in place, and the
 * replay's delete-and-reinsert never cascades or trips over a reference
 * from the table to itself.
 * Constraint names are unique per database, so each takes pt-osc's
 * alternate name: a leading underscore added, or removed if it has one.  A
 * foreign key from the table to itself references the shadow.  A `DROP
 * FOREIGN KEY fk` in the ALTER is taken out of the text applied to the
 * empty shadow (which has none to drop) and fk is not added.
 *
 * A child table's foreign key follows its parent through a RENAME: after
 * the swap it would reference T_osc_old.  So osc refuses a table that child
 * tables reference unless --alter-foreign-keys-method says what to do:
 *   none                 pt-osc's meaning: the children keep referencing the
 *                        old table, which is then kept; the DBA repoints them.
 *   rebuild_constraints  under the swap's lock (the children are locked too),
 *                        each child's key is dropped and added again, same
 *                        name, referencing the shadow; the RENAME then carries
 *                        the reference to the new T.  With foreign_key_checks
 *                        off both ALTERs are in place and touch no row
 *                        (ALGORITHM=INPLACE says so: a child ALTER that would
 *                        copy its table fails instead of stalling writers):
 *                        about 35 ms each, for a child of 1k rows or of 1M.
 *   drop_swap            under the lock the original is dropped, and the
 *                        queued RENAME shadow TO T brings the new table in; the
 *                        children's keys, which name T, then reference it.
 *                        Not atomic: between the unlock and the RENAME a child
 *                        write finds no parent (src/my/my_swap.c, README).
 *   auto                 rebuild_constraints, unless its ALTERs (two per child
 *                        key, each estimated as twice the least of three
 *                        timings of a metadata-only ALTER of the shadow) would
 *                        hold the lock longer than
 *                        --chunk-time: then drop_swap.  pt-osc compares the
 *                        children's sizes with its copy rate, because its
 *                        rebuild copies them; osc's does not.
 */
#include "my_fkeys.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool fk_each(My *my, bool children, FkFn fn, void *ctx, OscErr *e)
{
	return my_fk_each_of(my, my->table, children, fn, ctx, e);
}

/* Calls fn for each foreign key of the table (children false) or of the
 * other tables that reference it (children true; parent: the table, or
 * the shadow). */
bool my_fk_each_of(My *my, const char *parent, bool children, FkFn fn, void *ctx, OscErr *e)
{
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	Sql q;
	bool ok = false;
	FkDef fk;

	memset(&fk, 0, sizeof(fk));
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT rc.CONSTRAINT_SCHEMA, rc.TABLE_NAME, rc.CONSTRAINT_NAME, rc.UNIQUE_CONSTRAINT_SCHEMA,"
	        " rc.REFERENCED_TABLE_NAME, rc.UPDATE_RULE, rc.DELETE_RULE, k.COLUMN_NAME, k.REFERENCED_COLUMN_NAME"
	        " FROM information_schema.REFERENTIAL_CONSTRAINTS rc JOIN information_schema.KEY_COLUMN_USAGE k"
	        "  ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.TABLE_NAME = rc.TABLE_NAME"
	        "  AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME");
	if (children)
		sql_add(&q,
		        " WHERE rc.UNIQUE_CONSTRAINT_SCHEMA = %L AND rc.REFERENCED_TABLE_NAME = %L"
		        " AND NOT (rc.CONSTRAINT_SCHEMA = %L AND rc.TABLE_NAME = %L)",
		        my->db, parent, my->db, parent);
	else
		sql_add(&q, " WHERE rc.CONSTRAINT_SCHEMA = %L AND rc.TABLE_NAME = %L", my->db, parent);
	sql_add(&q, " ORDER BY rc.CONSTRAINT_SCHEMA, rc.TABLE_NAME, rc.CONSTRAINT_NAME, k.ORDINAL_POSITION");
	if (!my_exec_sql(my, &q, &r, e))
		goto out;
	enum { F_DB, F_TABLE, F_NAME, F_REF_DB, F_REF_TABLE, F_UPDATE, F_DELETE, F_COLUMN, F_REF_COLUMN };
	for (;;) {
		row = mysql_fetch_row(r);
		bool same = row && fk.n > 0 && strcmp(row[F_DB], fk.db) == 0 && strcmp(row[F_TABLE], fk.table) == 0 &&
		            strcmp(row[F_NAME], fk.name) == 0;
		if (fk.n > 0 && !same) {
			if (!fn(my, &fk, ctx, e))
				goto out;
			fk.n = 0;
		}
		if (row == NULL)
			break;
		if (fk.n == (int)(sizeof(fk.cols) / sizeof(fk.cols[0]))) {
			err_set(e, OSC_EXIT_INPUT, "foreign key %s has more columns than osc handles", row[F_NAME]);
			goto out;
		}
		fk.db = row[F_DB];
		fk.table = row[F_TABLE];
		fk.name = row[F_NAME];
		fk.ref_db = row[F_REF_DB];
		fk.ref_table = row[F_REF_TABLE];
		fk.upd = row[F_UPDATE];
		fk.del = row[F_DELETE];
		fk.cols[fk.n] = row[F_COLUMN];
		fk.refs[fk.n] = row[F_REF_COLUMN];
		fk.n++;
	}
	ok = true;
out:
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

static MyFkMethod parse_method(const char *s)
{
	if (s == NULL)
		return MY_FK_REFUSE;
	if (strcmp(s, "none") == 0)
		return MY_FK_NONE;
	if (strcmp(s, "rebuild_constraints") == 0)
		return MY_FK_REBUILD;
	if (strcmp(s, "drop_swap") == 0)
		return MY_FK_DROP_SWAP;
	if (strcmp(s, "auto") == 0)
		return MY_FK_AUTO;
	return (MyFkMethod)-1;
}

/* Refuses child tables unless the method allows them; counts them. */
bool my_fkeys_check_children(My *my, OscErr *e)
{
	const char *method = my->fk_method_plan ? my->fk_method_plan : my->env->alter_fk_method;
	MYSQL_RES *r = NULL;
	Sql q;
	bool ok = false;

	my->fk_method = parse_method(method);
	if ((int)my->fk_method < 0) {
		err_set(e, OSC_EXIT_INPUT,
		        "--alter-foreign-keys-method: expected auto, rebuild_constraints, drop_swap or none, got '%s'", method);
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
	enum { C_TABLE, C_NAME };
	my->nchildren = (int)mysql_num_rows(r);
	MYSQL_ROW row = mysql_fetch_row(r);
	if (row && my->fk_method == MY_FK_REFUSE) {
		err_set(e, OSC_EXIT_INPUT,
		        "%s.%s is referenced by %d foreign key(s) of other tables (first: %s, constraint %s); after the swap "
		        "they would reference %s.%s. Pass --alter-foreign-keys-method auto (or rebuild_constraints, "
		        "drop_swap: see the README) to repoint them to the new table, or none to keep them on the old one",
		        my->db, my->table, my->nchildren, row[C_TABLE], row[C_NAME], my->db, my->old);
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

static bool is_dropped(My *my, const char *name)
{
	for (int i = 0; i < my->nfk_dropped; i++)
		if (strcasecmp(my->fk_dropped[i], name) == 0)
			return true;
	return false;
}

/* fk_each: one of the table's own keys, as ADD CONSTRAINT for the shadow */
static bool own_fk(My *my, const FkDef *fk, void *ctx, OscErr *e)
{
	Sql *add = ctx, cols, refs;
	bool self = strcmp(fk->ref_db, my->db) == 0 && strcmp(fk->ref_table, my->table) == 0;
	const char *missing = NULL;
	char alt[MY_NAMELEN + 2];

	(void)e;
	if (is_dropped(my, fk->name))
		return true;
	sql_init(&cols, &my->dialect);
	sql_init(&refs, &my->dialect);
	for (int i = 0; i < fk->n; i++) {
		const char *col = shadow_column(my, fk->cols[i]);
		/* a self reference names the shadow's columns */
		const char *ref = self ? shadow_column(my, fk->refs[i]) : fk->refs[i];
		if (col == NULL)
			missing = fk->cols[i];
		else if (ref == NULL)
			missing = fk->refs[i];
		sql_add(&cols, "%s%I", i ? ", " : "", col ? col : "");
		sql_add(&refs, "%s%I", i ? ", " : "", ref ? ref : "");
	}
	if (missing) {
		log_msg(my->log, LOG_WARN,
		        "the ALTER drops column %s of foreign key %s: the new table does not have the key", missing, fk->name);
	} else {
		if (fk->name[0] == '_')
			snprintf(alt, sizeof(alt), "%s", fk->name + 1);
		else
			snprintf(alt, sizeof(alt), "_%.*s", MY_NAMELEN - 1, fk->name);
		sql_add(add, "%sADD CONSTRAINT %I FOREIGN KEY (%s) REFERENCES %I.%I (%s) ON DELETE %s ON UPDATE %s",
		        add->len ? ", " : "", alt, sql_text(&cols), fk->ref_db, self ? my->shadow : fk->ref_table,
		        sql_text(&refs), fk->del, fk->upd);
		if (cols.failed || refs.failed)
			add->failed = true;
	}
	sql_free(&cols);
	sql_free(&refs);
	return true;
}

/* fk_each: a child's key that references the table, kept for the swap */
static bool child_fk(My *my, const FkDef *fk, void *ctx, OscErr *e)
{
	int *n = ctx;
	Sql cols, refs, shadow_refs, rules;
	bool ok = true;

	if (*n >= my->nchildren) /* a child appeared since they were counted */
		return true;
	sql_init(&cols, &my->dialect);
	sql_init(&refs, &my->dialect);
	sql_init(&shadow_refs, &my->dialect);
	sql_init(&rules, &my->dialect);
	for (int i = 0; i < fk->n; i++) {
		const char *ref = shadow_column(my, fk->refs[i]);
		if (ref == NULL) {
			err_set(e, OSC_EXIT_INPUT,
			        "the ALTER drops column %s, which foreign key %s of %s.%s references; drop or change that key "
			        "first",
			        fk->refs[i], fk->name, fk->db, fk->table);
			ok = false;
			goto out;
		}
		sql_add(&cols, "%s%I", i ? ", " : "", fk->cols[i]);
		sql_add(&refs, "%s%I", i ? ", " : "", fk->refs[i]);
		sql_add(&shadow_refs, "%s%I", i ? ", " : "", ref);
	}
	/* the rules are information_schema's keywords (CASCADE, SET NULL, ...) */
	sql_add(&rules, "ON DELETE %s ON UPDATE %s", fk->del, fk->upd);
	if (cols.failed || refs.failed || shadow_refs.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote a foreign key's names for SQL");
		ok = false;
		goto out;
	}
	MyChildFk *c = &my->children[(*n)++];
	c->ncols = fk->n;
	c->ref_names = xcalloc((size_t)fk->n, sizeof(char *));
	c->ref_shadow_names = xcalloc((size_t)fk->n, sizeof(char *));
	for (int i = 0; i < fk->n; i++) {
		c->ref_names[i] = my_strdup(fk->refs[i]);
		c->ref_shadow_names[i] = my_strdup(shadow_column(my, fk->refs[i]));
	}
	c->db = my_strdup(fk->db);
	c->table = my_strdup(fk->table);
	c->name = my_strdup(fk->name);
	c->cols = sql_take(&cols);
	c->refs = sql_take(&refs);
	c->refs_shadow = sql_take(&shadow_refs);
	c->rules = sql_take(&rules);
out:
	sql_free(&cols);
	sql_free(&refs);
	sql_free(&shadow_refs);
	sql_free(&rules);
	return ok;
}

/* Reads the table's own foreign keys into my->fkeys ("ADD CONSTRAINT ...,
 * ...") and, when the swap repoints them, the children's into my->children. */
bool my_fkeys_read(My *my, OscErr *e)
{
	Sql add;
	bool ok = false;

	sql_init(&add, &my->dialect);
	if (!fk_each(my, false, own_fk, &add, e))
		goto out;
	if (add.failed) {
		err_set(e, OSC_EXIT_FAILED, "could not quote a foreign key's names for SQL");
		goto out;
	}
	if (add.len)
		my->fkeys = sql_take(&add);
	if (my->nchildren > 0 && my->fk_method != MY_FK_NONE) {
		int n = 0;
		my->children = xcalloc((size_t)my->nchildren, sizeof(MyChildFk));
		if (!fk_each(my, true, child_fk, &n, e))
			goto out;
		my->nchildren = n;
	}
	ok = true;
out:
	sql_free(&add);
	return ok;
}

/* A revert (src/my/my_revert.c): the child tables' keys that reference T
 * (the new table) go back to the original under the swap's lock, as
 * rebuild_constraints repoints them; the table's own keys stay as they are
 * on both tables. */
bool my_fkeys_read_children(My *my, OscErr *e)
{
	Sql q;
	int64_t n = 0;
	my->fk_method = MY_FK_REBUILD;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE UNIQUE_CONSTRAINT_SCHEMA = %L"
	        " AND REFERENCED_TABLE_NAME = %L AND NOT (CONSTRAINT_SCHEMA = %L AND TABLE_NAME = %L)",
	        my->db, my->table, my->db, my->table);
	bool ok = my_count(my, &q, &n, e);
	sql_free(&q);
	my->nchildren = (int)n;
	if (!ok || n == 0)
		return ok;
	int got = 0;
	my->children = xcalloc((size_t)n, sizeof(MyChildFk));
	ok = fk_each(my, true, child_fk, &got, e);
	my->nchildren = got;
	return ok;
}

/* Adds the table's own foreign keys to the shadow (after the copy). */
bool my_fkeys_add(My *my, OscErr *e)
{
	if (my->fkeys == NULL)
		return true;
	Sql q;
	sql_init(&q, &my->dialect);
	log_msg(my->log, LOG_INFO, "adding the foreign keys: %s", my->fkeys);
	sql_add(&q, "ALTER TABLE %I.%I %s", my->db, my->shadow, my->fkeys);
	bool ok = my_exec_sql(my, &q, NULL, e);
	sql_free(&q);
	return ok;
}

void my_fkeys_free(My *my)
{
	for (int i = 0; i < my->nchildren && my->children; i++) {
		MyChildFk *c = &my->children[i];
		free(c->db);
		free(c->table);
		free(c->name);
		free(c->cols);
		free(c->refs);
		free(c->refs_shadow);
		free(c->rules);
		for (int k = 0; k < c->ncols; k++) {
			free(c->ref_names[k]);
			free(c->ref_shadow_names[k]);
		}
		free(c->ref_names);
		free(c->ref_shadow_names);
	}
	free(my->children);
	for (int i = 0; i < my->nfk_dropped; i++)
		free(my->fk_dropped[i]);
	free(my->fk_dropped);
	free(my->shadow_alter);
	free(my->fkeys);
}
