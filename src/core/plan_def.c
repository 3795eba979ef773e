/*
 * plan_def.c — the table's definition before and after the ALTER, as `osc
 * plan` shows it (see plan.h).
 *
 * The engine reads both definitions (the original, and the shadow's: the
 * original's structure with the ALTER applied) into PlanDefs; here they
 * become lines a DBA reads (a column with its type, NOT NULL, default,
 * extra, collation and comment; each index; each constraint) and a line
 * diff of the two (the longest common subsequence: unchanged lines as they
 * are, removed ones "-", added ones "+", a removal before the addition
 * beside it, so a changed column reads as its old line then its new one).
 *
 * plan_def_check then looks for what the ALTER drops without saying so.
 * MySQL's MODIFY and CHANGE restate the whole column: an attribute they do
 * not repeat is gone (NOT NULL, the default, AUTO_INCREMENT, the comment,
 * the character set).  PostgreSQL's ALTER COLUMN ... TYPE keeps NOT NULL
 * and the default (or refuses), but resets the collation to the new type's
 * default.  A loss is reported when a subcommand that restates the column
 * does not mention the attribute (the word NULL, DEFAULT, COMMENT,
 * COLLATE ...): naming it means the DBA meant it.  Indexes: one that goes
 * with a dropped column, or shrinks to fewer columns, without a DROP that
 * names it; and one that a foreign key needs (the table's own, or another
 * table's that references it) which the ALTER drops.
 */
#include "plan.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

#define DIFF_MAX_LINES 2000

static char *dup0(const char *s)
{
	return xstrdup(s ? s : "");
}

void plan_def_col(PlanDef *d, const char *name, const char *from, const char *type, const char *dflt, bool not_null,
                  const char *extra, bool collatable, const char *collation, const char *comment)
{
	d->cols = xrealloc(d->cols, (size_t)(d->ncols + 1) * sizeof(PlanCol));
	PlanCol *c = &d->cols[d->ncols++];
	c->name = dup0(name);
	c->from = from ? xstrdup(from) : NULL;
	c->type = dup0(type);
	c->dflt = dup0(dflt);
	c->not_null = not_null;
	c->extra = dup0(extra);
	c->collatable = collatable;
	c->collation = dup0(collation);
	c->comment = dup0(comment);
}

void plan_def_index(PlanDef *d, const char *name, const char *def, const char *cols, bool unique, bool primary)
{
	d->idx = xrealloc(d->idx, (size_t)(d->nidx + 1) * sizeof(PlanIndex));
	PlanIndex *x = &d->idx[d->nidx++];
	x->name = dup0(name);
	x->def = dup0(def);
	x->cols = dup0(cols);
	x->unique = unique;
	x->primary = primary;
}

void plan_def_cons(PlanDef *d, const char *fmt, ...)
{
	va_list ap;
	d->cons = xrealloc(d->cons, (size_t)(d->ncons + 1) * sizeof(char *));
	va_start(ap, fmt);
	d->cons[d->ncons++] = xvasprintf(fmt, ap);
	va_end(ap);
}

void plan_def_free(PlanDef *d)
{
	for (int i = 0; i < d->ncols; i++) {
		PlanCol *c = &d->cols[i];
		free(c->name);
		free(c->from);
		free(c->type);
		free(c->dflt);
		free(c->extra);
		free(c->collation);
		free(c->comment);
	}
	for (int i = 0; i < d->nidx; i++) {
		free(d->idx[i].name);
		free(d->idx[i].def);
		free(d->idx[i].cols);
	}
	for (int i = 0; i < d->ncons; i++)
		free(d->cons[i]);
	free(d->cols);
	free(d->idx);
	free(d->cons);
	memset(d, 0, sizeof(*d));
}

void plan_fk(Plan *p, const char *name, const char *what, const char *cols, bool incoming)
{
	if (p->nfks >= PLAN_MAX)
		return;
	PlanFk *f = &p->fks[p->nfks++];
	f->name = dup0(name);
	f->what = dup0(what);
	f->cols = dup0(cols);
	f->incoming = incoming;
}

/* ---- lines and the diff -------------------------------------------------- */

static char *col_line(const PlanCol *c)
{
	char *comment = NULL;
	if (c->comment[0]) {
		/* as SQL writes it: quotes doubled */
		size_t n = strlen(c->comment), k = 0;
		comment = xmalloc(2 * n + 1);
		for (size_t i = 0; i < n; i++) {
			if (c->comment[i] == '\'')
				comment[k++] = '\'';
			comment[k++] = c->comment[i];
		}
		comment[k] = '\0';
	}
	char *s = xasprintf("%s %s%s%s%s%s%s%s%s%s%s", c->name, c->type, c->not_null ? " NOT NULL" : "",
	                    c->dflt[0] ? " DEFAULT " : "", c->dflt, c->extra[0] ? " " : "", c->extra,
	                    c->collation[0] ? " COLLATE " : "", c->collation, comment ? " COMMENT '" : "",
	                    comment ? comment : "");
	if (comment) {
		char *t = xasprintf("%s'", s);
		free(s);
		s = t;
	}
	free(comment);
	return s;
}

char **plan_def_lines(const PlanDef *d, int *n)
{
	char **v = xcalloc((size_t)(d->ncols + d->nidx + d->ncons) + 1, sizeof(char *));
	int k = 0;
	for (int i = 0; i < d->ncols; i++)
		v[k++] = col_line(&d->cols[i]);
	for (int i = 0; i < d->nidx; i++) {
		const PlanIndex *x = &d->idx[i];
		/* MySQL's primary key is named PRIMARY: once is enough */
		bool named = !(x->primary && strcmp(x->name, "PRIMARY") == 0);
		v[k++] = xasprintf("%s%s%s %s", x->primary ? "PRIMARY KEY" : x->unique ? "UNIQUE" : "INDEX", named ? " " : "",
		                   named ? x->name : "", x->def);
	}
	for (int i = 0; i < d->ncons; i++)
		v[k++] = xstrdup(d->cons[i]);
	*n = k;
	return v;
}

static void free_lines(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char *prefixed(const char *pfx, const char *s)
{
	return xasprintf("%s%s", pfx, s);
}

/* What pairs a removed line with an added one: a column's name, an
 * index's name (whether primary, unique or not), a constraint's name. */
static void line_key(const char *s, char *out, size_t outsz)
{
	const char *kind = "column", *name = s;
	if (strncmp(s, "PRIMARY KEY ", 12) == 0)
		kind = "index", name = s + 12;
	else if (strncmp(s, "INDEX ", 6) == 0)
		kind = "index", name = s + 6;
	else if (strncmp(s, "UNIQUE ", 7) == 0)
		kind = "index", name = s + 7;
	else if (strncmp(s, "CONSTRAINT ", 11) == 0)
		kind = "constraint", name = s + 11;
	snprintf(out, outsz, "%s %.*s", kind, (int)strcspn(name, " "), name);
}

/* One gap of the diff: each removed line, followed by the added line of the
 * same column or index when there is one; the other additions after. */
static void gap(char **a, int na, char **b, int nb, char **out, int *k)
{
	bool *used = xcalloc((size_t)nb + 1, sizeof(bool));
	char ka[300], kb[300];
	for (int i = 0; i < na; i++) {
		out[(*k)++] = prefixed("- ", a[i]);
		line_key(a[i], ka, sizeof(ka));
		for (int j = 0; j < nb; j++) {
			if (used[j])
				continue;
			line_key(b[j], kb, sizeof(kb));
			if (strcmp(ka, kb) == 0) {
				out[(*k)++] = prefixed("+ ", b[j]);
				used[j] = true;
				break;
			}
		}
	}
	for (int j = 0; j < nb; j++)
		if (!used[j])
			out[(*k)++] = prefixed("+ ", b[j]);
	free(used);
}

char **plan_def_diff(const Plan *p, int *n)
{
	*n = 0;
	if (!p->have_def)
		return NULL;
	int na, nb;
	char **a = plan_def_lines(&p->before, &na), **b = plan_def_lines(&p->after, &nb);
	char **out = xcalloc((size_t)(na + nb) + 1, sizeof(char *));
	int k = 0;
	if (na > DIFF_MAX_LINES || nb > DIFF_MAX_LINES) {
		/* too long to align: every line of each side */
		for (int i = 0; i < na; i++)
			out[k++] = prefixed("- ", a[i]);
		for (int j = 0; j < nb; j++)
			out[k++] = prefixed("+ ", b[j]);
		goto done;
	}
	/* lcs[i][j]: the common subsequence of a[i..] and b[j..] */
	int w = nb + 1;
	int *lcs = xcalloc((size_t)(na + 1) * (size_t)w, sizeof(int));
	for (int i = na - 1; i >= 0; i--)
		for (int j = nb - 1; j >= 0; j--)
			lcs[i * w + j] = strcmp(a[i], b[j]) == 0 ? lcs[(i + 1) * w + j + 1] + 1
			                 : lcs[(i + 1) * w + j] >= lcs[i * w + j + 1] ? lcs[(i + 1) * w + j]
			                                                               : lcs[i * w + j + 1];
	int i = 0, j = 0;
	while (i < na || j < nb) {
		if (i < na && j < nb && strcmp(a[i], b[j]) == 0) {
			out[k++] = prefixed("  ", a[i]);
			i++;
			j++;
			continue;
		}
		/* a gap: its removals and additions up to the next common line */
		int i0 = i, j0 = j;
		while (i < na || j < nb) {
			if (i < na && j < nb && strcmp(a[i], b[j]) == 0)
				break;
			if (i < na && (j >= nb || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]))
				i++;
			else
				j++;
		}
		gap(a + i0, i - i0, b + j0, j - j0, out, &k);
	}
	free(lcs);
done:
	free_lines(a, na);
	free_lines(b, nb);
	*n = k;
	return out;
}

/* ---- what the ALTER drops without saying so ------------------------------ */

/* The next word or identifier of s at *pos into out (unquoted); quoted
 * strings are skipped whole.  false at the end. */
static bool next_word(const char *s, size_t *pos, char *out, size_t outsz, bool *quoted_ident)
{
	size_t i = *pos, k = 0;
	for (;;) {
		while (s[i] && !isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '`' && s[i] != '"' &&
		       s[i] != '\'' && (unsigned char)s[i] < 0x80)
			i++;
		if (s[i] != '\'')
			break;
		/* a string literal: not a word */
		for (i++; s[i] && !(s[i] == '\'' && s[i + 1] != '\''); i++)
			if (s[i] == '\'' || s[i] == '\\')
				i++;
		if (s[i])
			i++;
	}
	if (s[i] == '\0')
		return false;
	*quoted_ident = s[i] == '`' || s[i] == '"';
	if (*quoted_ident) {
		char q = s[i++];
		for (; s[i]; i++) {
			if (s[i] == q) {
				if (s[i + 1] != q)
					break;
				i++;
			}
			if (k + 1 < outsz)
				out[k++] = s[i];
		}
		if (s[i])
			i++;
	} else {
		while (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$' || (unsigned char)s[i] >= 0x80) {
			if (k + 1 < outsz)
				out[k++] = s[i];
			i++;
		}
	}
	out[k] = '\0';
	*pos = i;
	return true;
}

static bool has_word(const char *s, const char *w)
{
	char t[256];
	size_t pos = 0;
	bool q;
	while (next_word(s, &pos, t, sizeof(t), &q))
		if (!q && strcasecmp(t, w) == 0)
			return true;
	return false;
}

bool plan_text_names(const char *s, const char *name)
{
	char t[256];
	size_t pos = 0;
	bool q;
	while (next_word(s, &pos, t, sizeof(t), &q))
		if (strcasecmp(t, name) == 0)
			return true;
	return false;
}

/* The column a subcommand restates (MODIFY c, CHANGE c d, ALTER [COLUMN] c
 * [SET DATA] TYPE), into col; false for any other subcommand. */
static bool restates(const char *text, char *col, size_t colsz)
{
	char w[256];
	size_t pos = 0;
	bool q;
	if (!next_word(text, &pos, w, sizeof(w), &q) || q)
		return false;
	bool alter = strcasecmp(w, "alter") == 0;
	if (!alter && strcasecmp(w, "modify") != 0 && strcasecmp(w, "change") != 0)
		return false;
	if (!next_word(text, &pos, col, colsz, &q))
		return false;
	if (!q && strcasecmp(col, "column") == 0 && !next_word(text, &pos, col, colsz, &q))
		return false;
	if (!q && strcasecmp(col, "if") == 0) {
		/* IF EXISTS */
		if (!next_word(text, &pos, w, sizeof(w), &q) || !next_word(text, &pos, col, colsz, &q))
			return false;
	}
	if (!alter)
		return true;
	/* ALTER c [SET DATA] TYPE */
	while (next_word(text, &pos, w, sizeof(w), &q) && !q) {
		if (strcasecmp(w, "type") == 0)
			return true;
		if (strcasecmp(w, "set") != 0 && strcasecmp(w, "data") != 0)
			return false;
	}
	return false;
}

/* The first subcommand that restates column c (NULL: none) */
static const char *restating(const AlterSpec *a, const char *c)
{
	char col[256];
	for (int i = 0; i < a->n_sub; i++)
		if (restates(a->sub[i].text, col, sizeof(col)) && strcasecmp(col, c) == 0)
			return a->sub[i].text;
	return NULL;
}

/* Some subcommand about column c says one of the words. */
static bool mentions(const AlterSpec *a, const char *c, const char *const *words)
{
	char col[256];
	for (int i = 0; i < a->n_sub; i++) {
		const AlterSub *s = &a->sub[i];
		bool about = (s->column[0] && strcasecmp(s->column, c) == 0) ||
		             (restates(s->text, col, sizeof(col)) && strcasecmp(col, c) == 0);
		for (int k = 0; about && words[k]; k++)
			if (has_word(s->text, words[k]))
				return true;
	}
	return false;
}

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* The column after the ALTER that before's column name is copied into */
static const PlanCol *after_of(const Plan *p, const char *name)
{
	for (int i = 0; i < p->after.ncols; i++)
		if (p->after.cols[i].from && strcasecmp(p->after.cols[i].from, name) == 0)
			return &p->after.cols[i];
	return NULL;
}

static void check_column(Plan *p, const AlterSpec *a, const PlanCol *b, const PlanCol *c)
{
	static const char *const w_null[] = { "null", NULL };
	static const char *const w_default[] = { "default", NULL };
	static const char *const w_extra[] = { "auto_increment", "identity", "generated", "update", "serial", NULL };
	static const char *const w_comment[] = { "comment", NULL };
	static const char *const w_coll[] = { "collate", "charset", "character", "binary", NULL };
	static const char *const extras[] = { "auto_increment", "identity", "on update", "generated", NULL };
	const char *sub = restating(a, b->name);
	if (sub == NULL)
		return;
	if (b->not_null && !c->not_null && !mentions(a, b->name, w_null))
		plan_warn(p, false,
		          "'%s' drops NOT NULL from column %s: it restates the whole column, and a restatement without "
		          "NOT NULL allows NULL (say NOT NULL to keep it)",
		          sub, b->name);
	if (b->dflt[0] && !c->dflt[0] && !mentions(a, b->name, w_default))
		plan_warn(p, false, "'%s' drops column %s's DEFAULT %s (say DEFAULT again to keep it)", sub, b->name,
		          b->dflt);
	for (int k = 0; extras[k]; k++)
		if (contains_ci(b->extra, extras[k]) && !contains_ci(c->extra, extras[k]) && !mentions(a, b->name, w_extra)) {
			bool key = k < 2; /* inserts that leave it out would fail */
			plan_warn(p, key, "'%s' drops column %s's %s%s", sub, b->name, b->extra,
			          key ? ": inserts that leave the column out would fail or get no value" : "");
			break;
		}
	if (b->comment[0] && !c->comment[0] && !mentions(a, b->name, w_comment))
		plan_warn(p, false, "'%s' drops column %s's comment '%s' (say COMMENT again to keep it)", sub, b->name,
		          b->comment);
	if (b->collation[0] && c->collatable && strcmp(b->collation, c->collation) != 0 && !mentions(a, b->name, w_coll))
		plan_warn(p, false, "'%s' changes column %s's collation from %s to %s (say COLLATE to keep it)", sub, b->name,
		          b->collation, c->collation[0] ? c->collation : "the default");
}

/* Does d have an index over cols (comma separated): exactly those and
 * unique when exact, else any whose key begins with them. */
static bool supported(const PlanDef *d, const char *cols, bool exact)
{
	size_t n = strlen(cols);
	if (n == 0)
		return true;
	for (int i = 0; i < d->nidx; i++) {
		const PlanIndex *x = &d->idx[i];
		if (exact ? (x->unique && strcasecmp(x->cols, cols) == 0)
		          : (strncasecmp(x->cols, cols, n) == 0 && (x->cols[n] == '\0' || x->cols[n] == ',')))
			return true;
	}
	return false;
}

/* cols (before's names) as after names them into out; false when one is
 * dropped (its name in gone) */
static bool map_cols(const Plan *p, const char *cols, char *out, size_t outsz, char *gone, size_t gonesz)
{
	char *list = xstrdup(cols), *save = NULL;
	size_t k = 0;
	bool ok = true;
	out[0] = '\0';
	for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		const PlanCol *to = after_of(p, c);
		if (to == NULL) {
			snprintf(gone, gonesz, "%s", c);
			ok = false;
			break;
		}
		int w = snprintf(out + k, outsz - k, "%s%s", k ? "," : "", to->name);
		if (w < 0 || (size_t)w >= outsz - k) {
			ok = false;
			break;
		}
		k += (size_t)w;
	}
	free(list);
	return ok;
}

/* The subcommand that drops column c (NULL: none) */
static const char *dropping(const AlterSpec *a, const char *c)
{
	for (int i = 0; i < a->n_sub; i++)
		if (a->sub[i].kind == ALTER_DROP_COLUMN && strcasecmp(a->sub[i].column, c) == 0)
			return a->sub[i].text;
	return NULL;
}

/* A subcommand with DROP that names the index (or DROP PRIMARY KEY) */
static bool dropped_by_name(const AlterSpec *a, const PlanIndex *x)
{
	for (int i = 0; i < a->n_sub; i++) {
		const char *t = a->sub[i].text;
		if (!has_word(t, "drop"))
			continue;
		if (plan_text_names(t, x->name) || (x->primary && has_word(t, "primary")))
			return true;
	}
	return false;
}

static void check_indexes(Plan *p, const AlterSpec *a)
{
	for (int i = 0; i < p->before.nidx; i++) {
		const PlanIndex *b = &p->before.idx[i];
		const PlanIndex *c = NULL;
		for (int j = 0; j < p->after.nidx && c == NULL; j++)
			if (strcasecmp(p->after.idx[j].name, b->name) == 0)
				c = &p->after.idx[j];
		if (dropped_by_name(a, b))
			continue;
		char *list = xstrdup(b->cols), *save = NULL;
		const char *sub = NULL, *col = NULL;
		for (char *x = strtok_r(list, ",", &save); x && sub == NULL; x = strtok_r(NULL, ",", &save))
			if ((sub = dropping(a, x)) != NULL)
				col = x;
		/* an index over the dropped column alone goes with it, as meant;
		 * one over others too takes their index away */
		if (c == NULL && sub && strchr(b->cols, ','))
			plan_warn(p, false, "%s %s (%s) goes with column %s ('%s') without a DROP that names it",
			          b->unique ? "unique index" : "index", b->name, b->cols, col, sub);
		else if (c == NULL && sub == NULL)
			plan_warn(p, false, "%s %s (%s) is not there after the ALTER, and no DROP names it",
			          b->unique ? "unique index" : "index", b->name, b->cols[0] ? b->cols : b->def);
		else if (c && sub && c->cols[0] && strcasecmp(c->cols, b->cols) != 0)
			plan_warn(p, false, "%s %s shrinks from (%s) to (%s): '%s' takes the column out of it%s",
			          b->unique ? "unique index" : "index", b->name, b->cols, c->cols, sub,
			          b->unique ? ", and the fewer columns must still be unique" : "");
		free(list);
	}
}

/* A subcommand with DROP that names it */
static bool named_in_drop(const AlterSpec *a, const char *name)
{
	for (int i = 0; i < a->n_sub; i++)
		if (has_word(a->sub[i].text, "drop") && plan_text_names(a->sub[i].text, name))
			return true;
	return false;
}

static void check_fks(Plan *p, const AlterSpec *a)
{
	bool pg = strcmp(p->engine, "postgresql") == 0;
	for (int i = 0; i < p->nfks; i++) {
		const PlanFk *f = &p->fks[i];
		char mapped[600], gone[256] = "";
		if (!map_cols(p, f->cols, mapped, sizeof(mapped), gone, sizeof(gone))) {
			if (f->incoming)
				plan_warn(p, true, "%s references column %s, which the ALTER drops: the swap could not carry it",
				          f->what, gone);
			else if (!named_in_drop(a, f->name))
				plan_warn(p, !pg, "%s goes with column %s, which the ALTER drops%s", f->what, gone,
				          pg ? " without a DROP CONSTRAINT that names it"
				             : ": osc adds the table's foreign keys after the copy, and this one would fail there");
			continue;
		}
		if (!supported(&p->before, f->cols, f->incoming) || supported(&p->after, mapped, f->incoming))
			continue;
		if (f->incoming)
			plan_warn(p, true,
			          "%s needs a unique key over (%s), and the ALTER drops it: the swap could not carry the "
			          "foreign key to the new table",
			          f->what, mapped);
		else if (pg)
			plan_warn(p, false,
			          "%s loses its index over (%s): each delete or key update on the table it references would "
			          "scan this table",
			          f->what, mapped);
		else if (p->strategy.kind == STRAT_COPY)
			plan_warn(p, false,
			          "%s needs an index over (%s), and the ALTER drops it: a plain ALTER TABLE refuses that "
			          "(Cannot drop index needed in a foreign key constraint); the server adds one back when osc "
			          "adds the key after the copy",
			          f->what, mapped);
		else
			plan_warn(p, true,
			          "%s needs an index over (%s), and the ALTER drops it: the server refuses that in place "
			          "(Cannot drop index needed in a foreign key constraint), so the run would fail",
			          f->what, mapped);
	}
}

void plan_def_check(Plan *p, const AlterSpec *a)
{
	if (!p->have_def)
		return;
	for (int i = 0; i < p->before.ncols; i++) {
		const PlanCol *b = &p->before.cols[i], *c = after_of(p, b->name);
		if (c)
			check_column(p, a, b, c);
	}
	check_indexes(p, a);
	check_fks(p, a);
}

void plan_cast(Plan *p, const char *column, bool fail, int64_t rows, const char *example, const char *detail)
{
	if (p->ncasts >= PLAN_MAX)
		return;
	PlanCast *c = &p->casts[p->ncasts++];
	c->column = dup0(column);
	c->fail = fail;
	c->rows = rows;
	c->example = dup0(example);
	c->detail = dup0(detail);
	if (column && column[0])
		plan_warn(p, fail, "column %s: %lld of %lld sampled rows would %s (%s), e.g. %s%s", column, (long long)rows,
		          (long long)p->cast_rows, fail ? "fail" : "change", c->detail, c->example,
		          fail ? ": the run would stop at the first chunk holding one" : "");
	else
		plan_warn(p, fail, "%lld of %lld sampled rows would fail the new definition (%s), e.g. %s%s", (long long)rows,
		          (long long)p->cast_rows, c->detail, c->example,
		          fail ? ": the run would stop at the first chunk holding one" : "");
}
