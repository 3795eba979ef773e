/*
 * pg_plan_shadow.c — `osc plan` on PostgreSQL: the shadow's definition as a
 * temporary table, and the table's definition before and after the ALTER.
 *
 * The run makes its shadow in a schema of its own (src/pg/pg_shadow.c);
 * the plan may not, since it changes nothing, so it makes the same thing
 * as a temporary table in its own transaction, which is rolled back:
 *   1. CREATE TEMPORARY TABLE <shadow> (LIKE the original INCLUDING ALL),
 *      its indexes renamed to the original's names as the run does (pairs
 *      in creation order);
 *   2. the ALTER, in a savepoint.  A temporary table cannot hold a foreign
 *      key to a permanent one, and LIKE copies none: when the ALTER fails
 *      and it adds or drops foreign keys, it is tried again without those
 *      subcommands, and the definition after shows them as they would be;
 *   3. both definitions read (columns by position, as the run maps them;
 *      indexes; CHECK constraints; the original's foreign keys, and the
 *      foreign keys that need one of its indexes);
 *   4. the deferred indexes dropped, as the run's copy has them (each one's
 *      columns kept for the trial's sort), and the temporary tables of the
 *      cast check made: the sampled keys, one column per converted column,
 *      the failures.
 * All of it happens before the transaction turns read-only (CREATE is not
 * allowed after), in a savepoint: a step that fails leaves no definition
 * and a note, and the plan goes on without a trial.
 */
#include "pg_plan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

/* What the ALTER did to foreign keys, which the temporary shadow cannot hold */
typedef struct FkEdits {
	char **added;    /* "CONSTRAINT n FOREIGN KEY ..." of the ALTER's ADD FOREIGN KEY */
	int nadded;
	const char *drops[ALTER_MAX_SUB]; /* the ALTER's DROP CONSTRAINT texts taken out */
	int ndrops;
} FkEdits;

typedef struct Pre {
	int attnum;
	char *name;
} Pre;

static char *oid_of(Pg *pg, const char *schema, const char *name, OscErr *e)
{
	PGresult *r = NULL;
	char *qn = pg_qualified(pg, schema, name), *out = NULL;
	const char *p[1] = { qn };
	if (pg_exec(pg, "SELECT $1::regclass::oid", 1, p, &r, e))
		out = xstrdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	free(qn);
	return out;
}

/* Step 1's renames: the temporary shadow's indexes take the original's
 * names (pg_shadow.c's pairing); a pair that does not match leaves LIKE's. */
static bool pair_names(Pg *pg, const char *orig, const char *temp, OscErr *e)
{
	static const char sel[] = "SELECT ic.relname, i.indisunique, i.indisprimary, i.indnatts, ic.relam"
	                          "  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	                          " WHERE i.indrelid = $1::oid ORDER BY i.indexrelid";
	PGresult *a = NULL, *b = NULL;
	Sql q;
	bool ok = false;
	sql_init(&q, &pg->dialect);
	if (!pg_exec(pg, sel, 1, (const char *[]){ orig }, &a, e) || !pg_exec(pg, sel, 1, (const char *[]){ temp }, &b, e))
		goto out;
	ok = true;
	if (PQntuples(a) != PQntuples(b))
		goto out;
	for (int i = 0; i < PQntuples(a); i++) {
		bool same = true;
		for (int c = 1; c < PQnfields(a); c++)
			same = same && strcmp(PQgetvalue(a, i, c), PQgetvalue(b, i, c)) == 0;
		if (!same || strcmp(PQgetvalue(a, i, 0), PQgetvalue(b, i, 0)) == 0)
			continue;
		sql_reset(&q);
		sql_add(&q, "ALTER INDEX pg_temp.%I RENAME TO %I", PQgetvalue(b, i, 0), PQgetvalue(a, i, 0));
		if (!(ok = pg_exec_sql(pg, &q, NULL, e)))
			goto out;
	}
out:
	PQclear(a);
	PQclear(b);
	sql_free(&q);
	return ok;
}

static bool read_pre(Pg *pg, const char *temp, Pre **pre, int *npre, OscErr *e)
{
	PGresult *r = NULL;
	if (!pg_exec(pg,
	             "SELECT attnum, attname FROM pg_catalog.pg_attribute"
	             " WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
	             1, (const char *[]){ temp }, &r, e))
		return false;
	*npre = PQntuples(r);
	*pre = xcalloc((size_t)*npre + 1, sizeof(Pre));
	for (int i = 0; i < *npre; i++) {
		(*pre)[i].attnum = atoi(PQgetvalue(r, i, 0));
		(*pre)[i].name = xstrdup(PQgetvalue(r, i, 1));
	}
	PQclear(r);
	return true;
}

/* The original's foreign keys: name, definition, its columns (comma separated) */
static const char fk_sql[] =
    "SELECT quote_ident(c.conname), pg_catalog.pg_get_constraintdef(c.oid, true),"
    "       (SELECT string_agg(a.attname, ',' ORDER BY k.o) FROM unnest(c.conkey) WITH ORDINALITY k(n, o)"
    "          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n),"
    "       c.conname"
    "  FROM pg_catalog.pg_constraint c WHERE c.conrelid = $1::oid AND c.contype = 'f' ORDER BY c.conname";

/* An ADD FOREIGN KEY, or a DROP CONSTRAINT of one of the original's
 * foreign keys (fks: fk_sql's result) */
static bool fk_sub(const AlterSub *sub, PGresult *fks)
{
	if (sub->kind == ALTER_ADD_FOREIGN_KEY)
		return true;
	if (sub->kind != ALTER_DROP_CONSTRAINT)
		return false;
	for (int i = 0; fks && i < PQntuples(fks); i++)
		if (plan_text_names(sub->text, PQgetvalue(fks, i, 3)))
			return true;
	return false;
}

/* Step 2.  false only when the transaction itself failed (e); *applied
 * false with p->def_note when the ALTER could not be tried. */
static bool apply_alter(Pg *pg, Plan *p, const PgPlanShadow *s, PGresult *fks, FkEdits *fe, bool *applied, OscErr *e)
{
	const AlterSpec *a = pg->env->alter;
	Sql q, kept;
	OscErr ae;
	bool ok = false;
	*applied = false;
	err_clear(&ae);
	sql_init(&q, &pg->dialect);
	sql_init(&kept, &pg->dialect);
	for (int pass = 0; pass < 2; pass++) {
		const char *text = a->text;
		if (pass == 1) {
			int nfk = 0;
			for (int i = 0; i < a->n_sub; i++) {
				const AlterSub *sub = &a->sub[i];
				if (!fk_sub(sub, fks)) {
					sql_add(&kept, "%s%s", kept.len ? ", " : "", sub->text);
					continue;
				}
				nfk++;
				if (sub->kind == ALTER_DROP_CONSTRAINT) {
					fe->drops[fe->ndrops++] = sub->text;
					continue;
				}
				/* ADD [CONSTRAINT n] FOREIGN KEY ...: as the definition reads it */
				const char *t = sub->text + strspn(sub->text, " \t\r\n");
				if (strncasecmp(t, "add", 3) == 0)
					t += 3 + strspn(t + 3, " \t\r\n");
				fe->added = xrealloc(fe->added, (size_t)(fe->nadded + 1) * sizeof(char *));
				fe->added[fe->nadded++] = xstrdup(t);
			}
			if (nfk == 0 || a->too_many)
				break;
			text = sql_text(&kept);
			if (*text == '\0') {
				*applied = true;
				break;
			}
		}
		if (!pg_command(pg, "SAVEPOINT osc_plan_alter", e))
			goto out;
		sql_reset(&q);
		sql_add(&q, "ALTER TABLE pg_temp.%I %s", s->name, text);
		err_clear(&ae);
		if (pg_exec_sql(pg, &q, NULL, &ae)) {
			*applied = true;
			if (!pg_command(pg, "RELEASE SAVEPOINT osc_plan_alter", e))
				goto out;
			break;
		}
		if (!pg_command(pg, "ROLLBACK TO SAVEPOINT osc_plan_alter", e))
			goto out;
	}
	if (!*applied) {
		char *m = pg_plan_untemp(pg, ae.msg);
		snprintf(p->def_note, sizeof(p->def_note), "the ALTER could not be applied to a temporary copy: %.300s", m);
		free(m);
	}
	ok = true;
out:
	sql_free(&q);
	sql_free(&kept);
	return ok;
}

static const char *pre_name(const Pre *pre, int npre, int attnum)
{
	for (int i = 0; i < npre; i++)
		if (pre[i].attnum == attnum)
			return pre[i].name;
	return NULL;
}

/* Columns, indexes and CHECK constraints of relation oid into d (pre: the
 * positions before the ALTER, for after's "from"; NULL for before). */
static bool read_def(Pg *pg, const char *oid, PlanDef *d, const Pre *pre, int npre, OscErr *e)
{
	PGresult *r = NULL;
	bool ok = false;
	const char *p[1] = { oid };
	enum { C_NUM, C_NAME, C_TYPE, C_NOTNULL, C_DEF, C_IDENT, C_GEN, C_COLL, C_COLLATABLE, C_COMMENT };
	if (!pg_exec(pg,
	             "SELECT a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,"
	             "       coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid, true), ''), a.attidentity, a.attgenerated,"
	             "       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation"
	             "            THEN quote_ident(co.collname) ELSE '' END,"
	             "       t.typcollation <> 0, coalesce(pg_catalog.col_description(a.attrelid, a.attnum), '')"
	             "  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
	             "  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
	             "  LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation"
	             " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
	             1, p, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		char extra[400] = "";
		const char *def = PQgetvalue(r, i, C_DEF), *ident = PQgetvalue(r, i, C_IDENT);
		if (ident[0] == 'a' || ident[0] == 'd')
			snprintf(extra, sizeof(extra), "GENERATED %s AS IDENTITY", ident[0] == 'a' ? "ALWAYS" : "BY DEFAULT");
		if (PQgetvalue(r, i, C_GEN)[0] == 's') {
			snprintf(extra, sizeof(extra), "GENERATED ALWAYS AS (%.300s) STORED", def);
			def = "";
		}
		plan_def_col(d, PQgetvalue(r, i, C_NAME), pre ? pre_name(pre, npre, atoi(PQgetvalue(r, i, C_NUM))) : NULL,
		             PQgetvalue(r, i, C_TYPE), def, PQgetvalue(r, i, C_NOTNULL)[0] == 't', extra,
		             PQgetvalue(r, i, C_COLLATABLE)[0] == 't', PQgetvalue(r, i, C_COLL), PQgetvalue(r, i, C_COMMENT));
	}
	PQclear(r);
	r = NULL;
	/* an index reads as its method and key (an expression's text, a
	 * predicate); its columns only when they are plain and it is whole */
	if (!pg_exec(pg,
	             "SELECT ic.relname, i.indisunique, i.indisprimary,"
	             "       am.amname || ' (' || (SELECT string_agg(pg_catalog.pg_get_indexdef(i.indexrelid, k, true), ', '"
	             "                                        ORDER BY k) FROM generate_series(1, i.indnkeyatts) k) || ')'"
	             "       || CASE WHEN i.indpred IS NULL THEN ''"
	             "               ELSE ' WHERE ' || pg_catalog.pg_get_expr(i.indpred, i.indrelid, true) END,"
	             "       CASE WHEN i.indpred IS NOT NULL OR i.indexprs IS NOT NULL THEN '' ELSE"
	             "         (SELECT string_agg(a.attname, ',' ORDER BY k.o) FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)"
	             "            JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n"
	             "           WHERE k.o <= i.indnkeyatts) END"
	             "  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	             "  JOIN pg_catalog.pg_am am ON am.oid = ic.relam"
	             " WHERE i.indrelid = $1::oid ORDER BY ic.relname",
	             1, p, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++)
		plan_def_index(d, PQgetvalue(r, i, 0), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
		               PQgetvalue(r, i, 1)[0] == 't', PQgetvalue(r, i, 2)[0] == 't');
	PQclear(r);
	r = NULL;
	if (!pg_exec(pg,
	             "SELECT quote_ident(conname), pg_catalog.pg_get_constraintdef(oid, true) FROM pg_catalog.pg_constraint"
	             " WHERE conrelid = $1::oid AND contype = 'c' ORDER BY conname",
	             1, p, &r, e))
		goto out;
	for (int i = 0; i < PQntuples(r); i++)
		plan_def_cons(d, "CONSTRAINT %s %s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	ok = true;
out:
	PQclear(r);
	return ok;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The foreign keys: the original's own into both definitions (after: not
 * those the ALTER drops, nor those whose columns it drops; the ALTER's new
 * ones), and every foreign key that needs one of its indexes into p->fks. */
static bool foreign_keys(Pg *pg, Plan *p, const char *orig, PGresult *own, const FkEdits *fe, OscErr *e)
{
	PGresult *r = NULL;
	for (int i = 0; i < PQntuples(own); i++) {
		const char *name = PQgetvalue(own, i, 3), *cols = PQgetvalue(own, i, 2);
		plan_def_cons(&p->before, "CONSTRAINT %s %s", PQgetvalue(own, i, 0), PQgetvalue(own, i, 1));
		char what[300];
		snprintf(what, sizeof(what), "foreign key %s", name);
		plan_fk(p, name, what, cols, false);
		bool dropped = false;
		for (int k = 0; k < fe->ndrops && !dropped; k++)
			dropped = plan_text_names(fe->drops[k], name);
		/* every column still there */
		char *list = xstrdup(cols), *save = NULL;
		for (char *c = strtok_r(list, ",", &save); c && !dropped; c = strtok_r(NULL, ",", &save)) {
			bool found = false;
			for (int k = 0; k < p->after.ncols && !found; k++)
				found = p->after.cols[k].from && strcmp(p->after.cols[k].from, c) == 0;
			dropped = !found;
		}
		free(list);
		if (!dropped)
			plan_def_cons(&p->after, "CONSTRAINT %s %s", PQgetvalue(own, i, 0), PQgetvalue(own, i, 1));
	}
	for (int i = 0; i < fe->nadded; i++)
		plan_def_cons(&p->after, "%s", fe->added[i]);
	if (p->before.ncons > 1)
		qsort(p->before.cons, (size_t)p->before.ncons, sizeof(char *), by_text);
	if (p->after.ncons > 1)
		qsort(p->after.cons, (size_t)p->after.ncons, sizeof(char *), by_text);
	/* other tables' keys that reference it: a unique key over those columns */
	if (!pg_exec(pg,
	             "SELECT c.conname, c.conrelid::regclass::text,"
	             "       (SELECT string_agg(a.attname, ',' ORDER BY k.o) FROM unnest(c.confkey) WITH ORDINALITY k(n, o)"
	             "          JOIN pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n)"
	             "  FROM pg_catalog.pg_constraint c WHERE c.confrelid = $1::oid AND c.contype = 'f'"
	             "   AND c.conrelid <> c.confrelid ORDER BY c.conname",
	             1, (const char *[]){ orig }, &r, e))
		return false;
	for (int i = 0; i < PQntuples(r); i++) {
		char what[600];
		snprintf(what, sizeof(what), "foreign key %s from %s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
		plan_fk(p, PQgetvalue(r, i, 0), what, PQgetvalue(r, i, 2), true);
	}
	PQclear(r);
	return true;
}

/* Step 4: the run's copy has one index over the key; the others are built
 * after it (their columns kept for the trial's sorts). */
static bool defer(Pg *pg, PgPlanShadow *s, const char *temp, OscErr *e)
{
	PGresult *r = NULL;
	Sql q;
	bool ok = false;
	char attnums[512];
	size_t n = 0;
	sql_init(&q, &pg->dialect);
	/* the key's positions in the shadow, as an int2[] literal */
	if (!pg_exec(pg,
	             "SELECT attnum, attname FROM pg_catalog.pg_attribute"
	             " WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped",
	             1, (const char *[]){ temp }, &r, e))
		goto out;
	n += (size_t)snprintf(attnums + n, sizeof(attnums) - n, "{");
	for (int k = 0; k < pg->nkeys; k++) {
		const char *name = pg->keys[k].shadow_name ? pg->keys[k].shadow_name : pg->keys[k].name;
		const char *num = "0";
		for (int i = 0; i < PQntuples(r); i++)
			if (strcmp(PQgetvalue(r, i, 1), name) == 0)
				num = PQgetvalue(r, i, 0);
		if (n < sizeof(attnums))
			n += (size_t)snprintf(attnums + n, sizeof(attnums) - n, "%s%s", k ? "," : "", num);
	}
	if (n < sizeof(attnums))
		snprintf(attnums + n, sizeof(attnums) - n, "}");
	PQclear(r);
	r = NULL;
	const char *p[2] = { temp, attnums };
	if (!pg_exec(pg,
	             "SELECT ic.relname, con.conname,"
	             "       i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = cardinality($2::int2[])"
	             "       AND (SELECT array_agg(k ORDER BY o) FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(k, o)"
	             "             WHERE o <= i.indnkeyatts) = $2::int2[],"
	             "       CASE WHEN i.indexprs IS NOT NULL THEN NULL ELSE"
	             "         (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.o)"
	             "            FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)"
	             "            JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n"
	             "           WHERE k.o <= i.indnkeyatts) END"
	             "  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
	             "  LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = i.indexrelid"
	             "        AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')"
	             " WHERE i.indrelid = $1::oid ORDER BY i.indisprimary DESC, i.indisunique DESC, i.indexrelid",
	             2, p, &r, e))
		goto out;
	int keep = -1;
	for (int i = 0; i < PQntuples(r) && keep < 0; i++)
		if (PQgetvalue(r, i, 2)[0] == 't')
			keep = i;
	s->sorts = xcalloc((size_t)PQntuples(r) + 1, sizeof(char *));
	for (int i = 0; i < PQntuples(r); i++) {
		if (i == keep)
			continue;
		sql_reset(&q);
		if (!PQgetisnull(r, i, 1))
			sql_add(&q, "ALTER TABLE pg_temp.%I DROP CONSTRAINT %I", s->name, PQgetvalue(r, i, 1));
		else
			sql_add(&q, "DROP INDEX pg_temp.%I", PQgetvalue(r, i, 0));
		if (!pg_exec_sql(pg, &q, NULL, e))
			goto out;
		if (!PQgetisnull(r, i, 3))
			s->sorts[s->nsorts++] = xstrdup(PQgetvalue(r, i, 3));
	}
	ok = true;
out:
	PQclear(r);
	sql_free(&q);
	return ok;
}

static const PgCol *copy_col(const Pg *pg, const char *name)
{
	for (int i = 0; i < pg->ncols; i++)
		if (strcmp(pg->cols[i].name, name) == 0)
			return &pg->cols[i];
	return NULL;
}

/* The columns the ALTER converts, from the two definitions. */
static void candidates(Pg *pg, const Plan *p, PgPlanShadow *s)
{
	s->cand = xcalloc((size_t)p->after.ncols + 1, sizeof(PgPlanCand));
	for (int i = 0; i < p->after.ncols; i++) {
		const PlanCol *c = &p->after.cols[i], *b = NULL;
		const PgCol *pc = copy_col(pg, c->name);
		if (c->from == NULL || pc == NULL)
			continue;
		for (int k = 0; k < p->before.ncols && b == NULL; k++)
			if (strcmp(p->before.cols[k].name, c->from) == 0)
				b = &p->before.cols[k];
		const char *using = alter_using_for(pg->env->alter, c->from);
		if (b == NULL || (using == NULL && strcmp(b->type, c->type) == 0))
			continue;
		PgPlanCand *x = &s->cand[s->ncand++];
		x->name = xstrdup(c->name);
		x->from = xstrdup(c->from);
		x->expr = xstrdup(pc->expr);
		x->type = xstrdup(c->type);
		x->old_type = xstrdup(b->type);
		x->plain = using == NULL;
		/* a btree index over the whole table that begins with it */
		size_t n = strlen(c->from);
		for (int k = 0; k < p->before.nidx && !x->indexed; k++) {
			const PlanIndex *ix = &p->before.idx[k];
			x->indexed = strncmp(ix->def, "btree ", 6) == 0 && strncmp(ix->cols, c->from, n) == 0 &&
			             (ix->cols[n] == '\0' || ix->cols[n] == ',');
		}
	}
}

/* The cast check's tables: the sampled keys (n, k1, k2 ...), the converted
 * columns one by one (n, c1, c2 ...), the failures. */
static bool check_tables(Pg *pg, const PgPlanShadow *s, OscErr *e)
{
	Sql q;
	bool ok;
	sql_init(&q, &pg->dialect);
	sql_add(&q, "CREATE TEMPORARY TABLE _osc_plan_sample (n int PRIMARY KEY");
	for (int k = 0; k < pg->nkeys; k++)
		sql_add(&q, ", k%d %s", k + 1, pg->keys[k].type); /* format_type(): server-made SQL */
	sql_add(&q, ")");
	ok = pg_exec_sql(pg, &q, NULL, e);
	if (ok && s->ncand > 0) {
		sql_reset(&q);
		sql_add(&q, "CREATE TEMPORARY TABLE _osc_plan_cast (n int");
		for (int i = 0; i < s->ncand; i++)
			sql_add(&q, ", c%d %s", i + 1, s->cand[i].type);
		sql_add(&q, ")");
		ok = pg_exec_sql(pg, &q, NULL, e);
	}
	if (ok)
		ok = pg_command(pg, "CREATE TEMPORARY TABLE _osc_plan_fail (n int, col int, msg text)", e);
	sql_free(&q);
	return ok;
}

static bool build(Pg *pg, Plan *p, PgPlanShadow *s, bool *applied, OscErr *e)
{
	Sql q;
	PGresult *fks = NULL;
	Pre *pre = NULL;
	int npre = 0;
	FkEdits fe;
	char orig[16], *temp = NULL;
	bool ok = false;

	memset(&fe, 0, sizeof(fe));
	snprintf(orig, sizeof(orig), "%u", pg->oid);
	sql_init(&q, &pg->dialect);
	snprintf(s->name, sizeof(s->name), "%s", pg->shadow);
	sql_add(&q, "CREATE TEMPORARY TABLE %I (LIKE %I.%I INCLUDING ALL)", s->name, pg->schema, pg->table);
	if (!pg_exec_sql(pg, &q, NULL, e) || (temp = oid_of(pg, "pg_temp", s->name, e)) == NULL ||
	    !pair_names(pg, orig, temp, e) || !read_pre(pg, temp, &pre, &npre, e) ||
	    !pg_exec(pg, fk_sql, 1, (const char *[]){ orig }, &fks, e) || !apply_alter(pg, p, s, fks, &fe, applied, e))
		goto out;
	ok = true;
	if (!*applied)
		goto out;
	ok = read_def(pg, orig, &p->before, NULL, 0, e) && read_def(pg, temp, &p->after, pre, npre, e) &&
	     foreign_keys(pg, p, orig, fks, &fe, e);
	if (ok) {
		candidates(pg, p, s);
		ok = defer(pg, s, temp, e) && check_tables(pg, s, e);
	}
out:
	PQclear(fks);
	for (int i = 0; i < npre; i++)
		free(pre[i].name);
	free(pre);
	for (int i = 0; i < fe.nadded; i++)
		free(fe.added[i]);
	free(fe.added);
	free(temp);
	sql_free(&q);
	return ok;
}

void pg_plan_shadow_build(Pg *pg, Plan *p, PgPlanShadow *s)
{
	OscErr e;
	bool applied = false;
	memset(s, 0, sizeof(*s));
	err_clear(&e);
	if (!pg_command(pg, "SAVEPOINT osc_plan_shadow", &e)) {
		snprintf(p->def_note, sizeof(p->def_note), "%.300s", e.msg);
		return;
	}
	if (build(pg, p, s, &applied, &e) && applied) {
		OscErr e2;
		err_clear(&e2);
		if (pg_command(pg, "RELEASE SAVEPOINT osc_plan_shadow", &e2)) {
			s->built = true;
			p->have_def = true;
			return;
		}
		e = e2;
	}
	/* no definition, no trial: what was made goes */
	if (p->def_note[0] == '\0') {
		char *m = pg_plan_untemp(pg, e.msg);
		snprintf(p->def_note, sizeof(p->def_note), "could not make the shadow's definition: %.300s", m);
		free(m);
	}
	OscErr e3;
	err_clear(&e3);
	if (!pg_command(pg, "ROLLBACK TO SAVEPOINT osc_plan_shadow", &e3))
		log_error(pg->log, &e3);
	plan_def_free(&p->before);
	plan_def_free(&p->after);
	pg_plan_shadow_free(s);
	memset(s, 0, sizeof(*s));
}

void pg_plan_shadow_free(PgPlanShadow *s)
{
	for (int i = 0; i < s->ncand; i++) {
		free(s->cand[i].name);
		free(s->cand[i].from);
		free(s->cand[i].expr);
		free(s->cand[i].type);
		free(s->cand[i].old_type);
	}
	free(s->cand);
	for (int i = 0; i < s->nsorts; i++)
		free(s->sorts[i]);
	free(s->sorts);
	s->cand = NULL;
	s->sorts = NULL;
	s->ncand = s->nsorts = 0;
}
