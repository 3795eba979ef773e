/*
 * my_plan_def.c — `osc plan` on MySQL/MariaDB: the trial table with the
 * ALTER applied, and the table's definition before and after it.
 *
 * MySQL has no transactional DDL, so the plan's shadow is osc's empty
 * trial table T_osc_try (the in-place strategy's probe uses it too): a LIKE
 * copy of the original, altered with the ALTER as the run's shadow gets it
 * (without its DROP FOREIGN KEYs, src/my/my_fkeys_alter.c), dropped again
 * at the end.  A killed plan leaves it empty, and `osc cleanup` drops it.
 *
 * Both definitions come from information_schema (COLUMNS, STATISTICS,
 * CHECK constraints, REFERENTIAL_CONSTRAINTS).  LIKE copies no foreign
 * key and the run adds the table's own after the copy, so the definition
 * after shows the original's that survive (their columns renamed as the
 * ALTER renames them) and those the ALTER adds.  A character set or
 * collation shows where it is not the table's default.
 */
#include "my_plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

/* The shadow column a copied original column goes to (NULL: dropped) */
static const char *copied_to(const My *my, const char *source)
{
	for (int i = 0; i < my->ncols; i++)
		if (strcasecmp(my->cols[i].source, source) == 0)
			return my->cols[i].name;
	return NULL;
}

static const char *copied_from(const My *my, const char *name)
{
	for (int i = 0; i < my->ncols; i++)
		if (strcasecmp(my->cols[i].name, name) == 0)
			return my->cols[i].source;
	return NULL;
}

static const char *v(const char *s)
{
	return s ? s : "";
}

static bool read_columns(My *my, const char *table, PlanDef *d, bool after, OscErr *e)
{
	Sql q;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	enum { C_NAME, C_TYPE, C_NULL, C_DEF, C_EXTRA, C_CS, C_COLL, C_COMMENT, C_GEN, C_TABLE_COLL };
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE, c.COLUMN_DEFAULT, c.EXTRA, c.CHARACTER_SET_NAME,"
	        " c.COLLATION_NAME, c.COLUMN_COMMENT, c.GENERATION_EXPRESSION, t.TABLE_COLLATION"
	        " FROM information_schema.COLUMNS c JOIN information_schema.TABLES t"
	        "   ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME"
	        " WHERE c.TABLE_SCHEMA = %L AND c.TABLE_NAME = %L ORDER BY c.ORDINAL_POSITION",
	        my->db, table);
	bool ok = my_exec_sql(my, &q, &r, e);
	while (ok && (row = mysql_fetch_row(r)) != NULL) {
		char extra[600];
		const char *dflt = v(row[C_DEF]), *x = v(row[C_EXTRA]);
		/* no default and DEFAULT NULL read the same */
		if (strcasecmp(dflt, "NULL") == 0)
			dflt = "";
		if (strstr(x, "GENERATED") && !strstr(x, "DEFAULT_GENERATED"))
			snprintf(extra, sizeof(extra), "AS (%.400s) %s", v(row[C_GEN]), strstr(x, "STORED") ? "STORED" : "VIRTUAL");
		else if (strncasecmp(x, "DEFAULT_GENERATED", 17) == 0)
			snprintf(extra, sizeof(extra), "%s", strchr(x, ' ') ? strchr(x, ' ') + 1 : "");
		else
			snprintf(extra, sizeof(extra), "%s", x);
		const char *coll = v(row[C_COLL]);
		if (strcmp(coll, v(row[C_TABLE_COLL])) == 0)
			coll = "";
		/* a generated column is computed, not copied: it reads as new */
		const char *from = after ? copied_from(my, row[C_NAME]) : NULL;
		plan_def_col(d, row[C_NAME], from, row[C_TYPE], dflt, strcmp(v(row[C_NULL]), "NO") == 0, extra,
		             row[C_CS] != NULL, coll, v(row[C_COMMENT]));
	}
	mysql_free_result(r);
	sql_free(&q);
	return ok;
}

static void add_index(PlanDef *d, const char *name, bool unique, Sql *def, Sql *cols, bool plain)
{
	plan_def_index(d, name, sql_text(def), plain ? sql_text(cols) : "", unique, strcmp(name, "PRIMARY") == 0);
	sql_reset(def);
	sql_reset(cols);
}

/* An index as text to read (not SQL: the Sqls below only grow strings) */
static bool read_indexes(My *my, const char *table, PlanDef *d, OscErr *e)
{
	Sql q, def, cols;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	char current[MY_NAMELEN * 2 + 1] = "";
	bool unique = false, plain = true;
	enum { I_NAME, I_NON_UNIQUE, I_COL, I_SUB, I_TYPE, I_DESC };
	sql_init(&q, &my->dialect);
	sql_init(&def, &my->dialect);
	sql_init(&cols, &my->dialect);
	sql_add(&q,
	        "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, COALESCE(COLLATION, 'A') = 'D'"
	        " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
	        " ORDER BY INDEX_NAME, SEQ_IN_INDEX",
	        my->db, table);
	bool ok = my_exec_sql(my, &q, &r, e);
	while (ok && (row = mysql_fetch_row(r)) != NULL) {
		if (strcmp(current, row[I_NAME]) != 0) {
			if (current[0]) {
				sql_add(&def, ")");
				add_index(d, current, unique, &def, &cols, plain);
			}
			snprintf(current, sizeof(current), "%s", row[I_NAME]);
			unique = strcmp(v(row[I_NON_UNIQUE]), "0") == 0;
			/* a FULLTEXT or SPATIAL index serves no foreign key */
			plain = strcmp(v(row[I_TYPE]), "BTREE") == 0 || strcmp(v(row[I_TYPE]), "HASH") == 0;
			sql_add(&def, "%s (", v(row[I_TYPE]));
		} else {
			sql_add(&def, ", ");
			sql_add(&cols, ",");
		}
		if (row[I_COL] == NULL) {
			sql_add(&def, "(an expression)");
			plain = false;
		} else {
			sql_add(&def, "%s", row[I_COL]);
			sql_add(&cols, "%s", row[I_COL]);
		}
		if (row[I_SUB])
			sql_add(&def, "(%s)", row[I_SUB]);
		if (strcmp(v(row[I_DESC]), "1") == 0)
			sql_add(&def, " DESC");
	}
	if (ok && current[0]) {
		sql_add(&def, ")");
		add_index(d, current, unique, &def, &cols, plain);
	}
	mysql_free_result(r);
	sql_free(&q);
	sql_free(&def);
	sql_free(&cols);
	return ok;
}

/* CHECK constraints (MariaDB names them per table, MySQL per schema); a
 * server without the views has none to show. */
static void read_checks(My *my, const char *table, PlanDef *d)
{
	for (int form = 0; form < 2; form++) {
		Sql q;
		MYSQL_RES *r = NULL;
		MYSQL_ROW row;
		OscErr e;
		err_clear(&e);
		sql_init(&q, &my->dialect);
		sql_add(&q,
		        "SELECT tc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.TABLE_CONSTRAINTS tc"
		        " JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA"
		        "  AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME%s"
		        " WHERE tc.TABLE_SCHEMA = %L AND tc.TABLE_NAME = %L AND tc.CONSTRAINT_TYPE = 'CHECK'"
		        " ORDER BY tc.CONSTRAINT_NAME",
		        form == 0 ? " AND cc.TABLE_NAME = tc.TABLE_NAME" : "", my->db, table);
		bool ok = my_exec_sql(my, &q, &r, &e);
		while (ok && (row = mysql_fetch_row(r)) != NULL)
			plan_def_cons(d, "CONSTRAINT %s CHECK (%s)", v(row[0]), v(row[1]));
		mysql_free_result(r);
		sql_free(&q);
		if (ok)
			return;
	}
}

/* The foreign keys of table, or (incoming) those that reference it:
 * name, its columns, the referenced db, table and columns, the rules */
static MYSQL_RES *fk_rows(My *my, const char *table, bool incoming, OscErr *e)
{
	Sql q;
	MYSQL_RES *r = NULL;
	sql_init(&q, &my->dialect);
	sql_add(&q,
	        "SELECT rc.CONSTRAINT_NAME, GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ','),"
	        " rc.UNIQUE_CONSTRAINT_SCHEMA, rc.REFERENCED_TABLE_NAME,"
	        " GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ','),"
	        " rc.DELETE_RULE, rc.UPDATE_RULE, rc.CONSTRAINT_SCHEMA, rc.TABLE_NAME"
	        " FROM information_schema.REFERENTIAL_CONSTRAINTS rc JOIN information_schema.KEY_COLUMN_USAGE k"
	        "   ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME"
	        "  AND k.TABLE_NAME = rc.TABLE_NAME");
	if (incoming)
		sql_add(&q,
		        " WHERE rc.UNIQUE_CONSTRAINT_SCHEMA = %L AND rc.REFERENCED_TABLE_NAME = %L"
		        " AND NOT (rc.CONSTRAINT_SCHEMA = %L AND rc.TABLE_NAME = %L)",
		        my->db, table, my->db, table);
	else
		sql_add(&q, " WHERE rc.CONSTRAINT_SCHEMA = %L AND rc.TABLE_NAME = %L", my->db, table);
	sql_add(&q, " GROUP BY rc.CONSTRAINT_SCHEMA, rc.TABLE_NAME, rc.CONSTRAINT_NAME, rc.UNIQUE_CONSTRAINT_SCHEMA,"
	            " rc.REFERENCED_TABLE_NAME, rc.DELETE_RULE, rc.UPDATE_RULE ORDER BY rc.CONSTRAINT_NAME");
	if (!my_exec_sql(my, &q, &r, e))
		r = NULL;
	sql_free(&q);
	return r;
}

static void fk_line(PlanDef *d, MYSQL_ROW row, const char *cols)
{
	plan_def_cons(d, "CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s.%s (%s) ON DELETE %s ON UPDATE %s", v(row[0]), cols,
	              v(row[2]), v(row[3]), v(row[4]), v(row[5]), v(row[6]));
}

static bool dropped_fk(const My *my, const char *name)
{
	for (int i = 0; i < my->nfk_dropped; i++)
		if (strcasecmp(my->fk_dropped[i], name) == 0)
			return true;
	return false;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool foreign_keys(My *my, Plan *p, const char *trial, OscErr *e)
{
	MYSQL_ROW row;
	MYSQL_RES *r = fk_rows(my, my->table, false, e);
	if (r == NULL)
		return false;
	while ((row = mysql_fetch_row(r)) != NULL) {
		char what[300], mapped[1200] = "";
		fk_line(&p->before, row, v(row[1]));
		snprintf(what, sizeof(what), "foreign key %s", v(row[0]));
		plan_fk(p, row[0], what, v(row[1]), false);
		if (dropped_fk(my, row[0]))
			continue;
		/* its columns as the new table names them; gone with a column */
		char *list = xstrdup(v(row[1])), *save = NULL;
		bool whole = true;
		size_t n = 0;
		for (char *c = strtok_r(list, ",", &save); c && whole; c = strtok_r(NULL, ",", &save)) {
			const char *to = copied_to(my, c);
			whole = to != NULL;
			if (to && n < sizeof(mapped))
				n += (size_t)snprintf(mapped + n, sizeof(mapped) - n, "%s%s", n ? "," : "", to);
		}
		free(list);
		if (whole)
			fk_line(&p->after, row, mapped);
	}
	mysql_free_result(r);
	/* the ALTER's own, on the trial table */
	if ((r = fk_rows(my, trial, false, e)) == NULL)
		return false;
	while ((row = mysql_fetch_row(r)) != NULL)
		fk_line(&p->after, row, v(row[1]));
	mysql_free_result(r);
	if (p->before.ncons > 1)
		qsort(p->before.cons, (size_t)p->before.ncons, sizeof(char *), by_text);
	if (p->after.ncons > 1)
		qsort(p->after.cons, (size_t)p->after.ncons, sizeof(char *), by_text);
	if ((r = fk_rows(my, my->table, true, e)) == NULL)
		return false;
	while ((row = mysql_fetch_row(r)) != NULL) {
		char what[600];
		snprintf(what, sizeof(what), "foreign key %s from %s.%s", v(row[0]), v(row[7]), v(row[8]));
		plan_fk(p, row[0], what, v(row[4]), true);
	}
	mysql_free_result(r);
	return true;
}

static const PlanCol *before_col(const Plan *p, const char *name)
{
	for (int i = 0; i < p->before.ncols; i++)
		if (strcasecmp(p->before.cols[i].name, name) == 0)
			return &p->before.cols[i];
	return NULL;
}

static void candidates(Plan *p, MyPlanTrial *t)
{
	t->cand = xcalloc((size_t)p->after.ncols + 1, sizeof(MyPlanCand));
	for (int i = 0; i < p->after.ncols; i++) {
		const PlanCol *c = &p->after.cols[i];
		const PlanCol *b = c->from ? before_col(p, c->from) : NULL;
		if (b == NULL)
			continue;
		if (strcmp(b->type, c->type) == 0 && b->collatable == c->collatable &&
		    strcmp(b->collation, c->collation) == 0 && (b->not_null || !c->not_null))
			continue;
		MyPlanCand *x = &t->cand[t->ncand++];
		x->name = xstrdup(c->name);
		x->from = xstrdup(b->name);
		x->type = xstrdup(c->type);
		x->old_type = xstrdup(b->type);
		x->text = b->collatable || c->collatable;
		size_t n = strlen(b->name);
		for (int k = 0; k < p->before.nidx && !x->indexed; k++) {
			const char *ic = p->before.idx[k].cols;
			x->indexed = strncasecmp(ic, b->name, n) == 0 && (ic[n] == '\0' || ic[n] == ',');
		}
	}
}

void my_plan_trial_build(My *my, Plan *p, MyPlanTrial *t)
{
	OscErr e;
	Sql q;
	const char *no;
	memset(t, 0, sizeof(*t));
	err_clear(&e);
	if (my->plan_blocked) {
		snprintf(p->def_note, sizeof(p->def_note), "the table's metadata lock was not granted");
		return;
	}
	if ((no = my_trial_refused(my->env->alter)) != NULL) {
		snprintf(p->def_note, sizeof(p->def_note), "%s", no);
		return;
	}
	if (!my_trial_create(my, t->name, sizeof(t->name), &e)) {
		if (strcmp(e.sqlstate, "1050") == 0) /* ER_TABLE_EXISTS_ERROR */
			snprintf(p->def_note, sizeof(p->def_note),
			         "osc's trial table %s.%s is there already (a plan or run that was killed left it): `osc cleanup "
			         "--table %s` drops it",
			         my->db, t->name, my->table);
		else
			snprintf(p->def_note, sizeof(p->def_note), "could not make osc's trial table: %.300s", e.msg);
		t->name[0] = '\0';
		return;
	}
	const char *alter = my->shadow_alter ? my->shadow_alter : my->env->alter->text;
	sql_init(&q, &my->dialect);
	sql_add(&q, "ALTER TABLE %I.%I %s", my->db, t->name, alter);
	if (alter[strspn(alter, " \t\r\n")] != '\0' && !my_exec_sql(my, &q, NULL, &e)) {
		err_replace(&e, t->name, my->table);
		snprintf(p->def_note, sizeof(p->def_note), "the ALTER could not be applied to osc's trial table: %.300s",
		         e.msg);
		goto out;
	}
	if (!read_columns(my, my->table, &p->before, false, &e) || !read_columns(my, t->name, &p->after, true, &e) ||
	    !read_indexes(my, my->table, &p->before, &e) || !read_indexes(my, t->name, &p->after, &e)) {
		snprintf(p->def_note, sizeof(p->def_note), "could not read the definitions: %.300s", e.msg);
		goto out;
	}
	read_checks(my, my->table, &p->before);
	read_checks(my, t->name, &p->after);
	if (!foreign_keys(my, p, t->name, &e)) {
		snprintf(p->def_note, sizeof(p->def_note), "could not read the foreign keys: %.300s", e.msg);
		goto out;
	}
	candidates(p, t);
	t->built = true;
	p->have_def = true;
out:
	if (!t->built) {
		plan_def_free(&p->before);
		plan_def_free(&p->after);
	}
	sql_free(&q);
}

void my_plan_defer(My *my, MyPlanTrial *t)
{
	Sql q;
	OscErr e;
	MYSQL_RES *r = NULL;
	MYSQL_ROW row;
	char **sorts = NULL;
	int nsorts = 0;
	if (!t->built)
		return;
	err_clear(&e);
	sql_init(&q, &my->dialect);
	/* as the run's shadow has it (src/my/my_shadow.c): the key's index,
	 * FULLTEXT and SPATIAL ones stay */
	sql_add(&q,
	        "SELECT INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR '\\n')"
	        " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %L AND TABLE_NAME = %L"
	        " AND INDEX_NAME NOT IN ('PRIMARY', %L) AND INDEX_TYPE NOT IN ('FULLTEXT', 'SPATIAL')"
	        " GROUP BY INDEX_NAME ORDER BY INDEX_NAME",
	        my->db, t->name, my->key_index);
	if (!my_exec_sql(my, &q, &r, &e))
		goto out;
	sql_reset(&q);
	sql_add(&q, "ALTER TABLE %I.%I ", my->db, t->name);
	int ndrop = 0;
	sorts = xcalloc(mysql_num_rows(r) + 1, sizeof(char *));
	while ((row = mysql_fetch_row(r)) != NULL) {
		Sql cols;
		sql_init(&cols, &my->dialect);
		char *list = xstrdup(v(row[1])), *save = NULL;
		for (char *c = strtok_r(list, "\n", &save); c; c = strtok_r(NULL, "\n", &save))
			sql_add(&cols, "%s%I", cols.len ? ", " : "", c);
		free(list);
		sorts[nsorts++] = sql_take(&cols);
		sql_add(&q, "%sDROP INDEX %I", ndrop++ ? ", " : "", row[0]);
	}
	/* an index a foreign key of the ALTER needs cannot go: the trial then
	 * keeps them all, and its copy is slower than the run's */
	if (ndrop > 0 && my_exec_sql(my, &q, NULL, &e)) {
		t->sorts = sorts;
		t->nsorts = nsorts;
		sorts = NULL;
		nsorts = 0;
	}
out:
	for (int i = 0; i < nsorts; i++)
		free(sorts[i]);
	free(sorts);
	mysql_free_result(r);
	sql_free(&q);
}

void my_plan_trial_drop(My *my, Plan *p, MyPlanTrial *t)
{
	OscErr e;
	err_clear(&e);
	if (t->name[0] && !my_trial_drop(my, &e))
		plan_warn(p, true, "%s", e.msg);
	for (int i = 0; i < t->ncand; i++) {
		free(t->cand[i].name);
		free(t->cand[i].from);
		free(t->cand[i].type);
		free(t->cand[i].old_type);
	}
	free(t->cand);
	for (int i = 0; i < t->nsorts; i++)
		free(t->sorts[i]);
	free(t->sorts);
	memset(t, 0, sizeof(*t));
}
