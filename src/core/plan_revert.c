/*
 * plan_revert.c — what `osc revert` of a migration would do, as `osc plan`
 * says it before the run (see plan.h; the revert itself is
 * src/core/revert.c and docs/ARCHITECTURE.md "The revert").
 *
 * A revert is a migration from the new definition back to the old one:
 * the changes written to the new table after the swap are merged into the
 * original through the inverse column map, row by row by key (each key's
 * row deleted from the original and inserted again from the new table).
 * So everything is read from the two definitions the plan already has
 * (Plan.before, Plan.after, PlanCol.from naming the original column an
 * after-column is copied from), whatever the engine:
 *
 *   - the key: a revert finds each row by it, so the new table must have
 *     the same key over the same columns with the same types; a dropped,
 *     retyped or replaced key has no inverse;
 *   - an original column the new table keeps comes back exactly (renamed
 *     back, or through a cast that cannot fail: an integer or a varchar no
 *     wider than the old one); through any other cast, a value written
 *     after the swap that the old type cannot hold makes the revert refuse,
 *     naming the key; a NOT NULL the ALTER dropped likewise for a NULL;
 *   - a dropped original column is refilled by the old table's own
 *     default: its DEFAULT, NULL, a new identity/AUTO_INCREMENT value, or
 *     its generation expression; one NOT NULL without any has no inverse;
 *   - a column the ALTER adds is left out;
 *   - a UNIQUE key or a CHECK the ALTER drops: a row written after the swap
 *     that it would reject makes the revert refuse.
 *
 * Only what holds for every row is said; what a value written after the
 * swap may cause is said as such ("a value ... that ... cannot hold").
 */
#include "plan.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

static void note(char **v, int *n, const char *fmt, ...) PRINTFLIKE(3, 4);
static void note(char **v, int *n, const char *fmt, ...)
{
	va_list ap;
	if (*n >= PLAN_MAX)
		return;
	va_start(ap, fmt);
	v[(*n)++] = xvasprintf(fmt, ap);
	va_end(ap);
}

static void free_notes(char **v, int *n)
{
	for (int i = 0; i < *n; i++)
		free(v[i]);
	*n = 0;
}

static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* ---- types ----------------------------------------------------------------- */

/* t begins with word w (any case), followed by the end, a space or "(" */
static const char *word_is(const char *t, const char *w)
{
	size_t n = strlen(w);
	if (strncasecmp(t, w, n) != 0 || (t[n] != '\0' && t[n] != ' ' && t[n] != '('))
		return NULL;
	return t + n;
}

/* After a type's name: "(a)" or "(a,b)" into a and b (-1 when absent),
 * then only the words UNSIGNED and ZEROFILL (MySQL; *unsig then).  false:
 * anything else follows (an array, a time zone: not a type read here). */
static bool type_tail(const char *s, long *a, long *b, bool *unsig)
{
	char *end;
	*a = *b = -1;
	*unsig = false;
	if (*s == '(') {
		*a = strtol(s + 1, &end, 10);
		s = end;
		if (*s == ',') {
			*b = strtol(s + 1, &end, 10);
			s = end;
		}
		if (*s++ != ')')
			return false;
	}
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			return true;
		const char *w = word_is(s, "unsigned");
		if (w == NULL)
			w = word_is(s, "zerofill");
		if (w == NULL)
			return false;
		*unsig = true; /* ZEROFILL implies UNSIGNED */
		s = w;
	}
}

/* An integer type: its width in bytes and whether it is unsigned. */
static bool int_type(const char *t, int *bytes, bool *unsig)
{
	static const struct {
		const char *name;
		int bytes;
	} ints[] = {
		{ "tinyint", 1 }, { "smallint", 2 }, { "int2", 2 },   { "mediumint", 3 }, { "integer", 4 },
		{ "int", 4 },     { "int4", 4 },     { "bigint", 8 }, { "int8", 8 },
	};
	long a, b;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		const char *rest = word_is(t, ints[i].name);
		if (rest && type_tail(rest, &a, &b, unsig)) {
			*bytes = ints[i].bytes;
			return true;
		}
	}
	return false;
}

/* A character type by what it holds: rank 1 a varchar of *len characters,
 * 2 text (PostgreSQL: any length; MySQL: 64 KB, which holds any varchar),
 * 3 mediumtext, 4 longtext; 0 for another type. */
static int char_rank(const char *t, long *len)
{
	long b;
	bool unsig;
	const char *rest;
	*len = -1;
	if ((rest = word_is(t, "character varying")) != NULL || (rest = word_is(t, "varchar")) != NULL) {
		if (!type_tail(rest, len, &b, &unsig) || unsig || b >= 0)
			return 0;
		return *len >= 0 ? 1 : 2; /* PostgreSQL's varchar without a length is text */
	}
	static const char *const texts[] = { "text", "mediumtext", "longtext" };
	for (int i = 0; i < 3; i++)
		if ((rest = word_is(t, texts[i])) != NULL && *rest == '\0')
			return 2 + i;
	return 0;
}

/* A numeric type: precision and scale (-1 -1: PostgreSQL's unbounded). */
static bool numeric_type(const char *t, long *prec, long *scale, bool *unsig)
{
	const char *rest = word_is(t, "numeric");
	if (rest == NULL)
		rest = word_is(t, "decimal");
	if (rest == NULL || !type_tail(rest, prec, scale, unsig))
		return false;
	if (*prec >= 0 && *scale < 0)
		*scale = 0;
	return true;
}

bool plan_type_fits(const char *from, const char *into)
{
	int fb, ib;
	bool fu, iu;
	long fl, il, fs, is;
	int fr, ir;
	if (strcasecmp(from, into) == 0)
		return true;
	if (int_type(from, &fb, &fu) && int_type(into, &ib, &iu)) {
		if (fu == iu)
			return fb <= ib;
		return fu && fb < ib; /* unsigned into a wider signed one */
	}
	if ((fr = char_rank(from, &fl)) > 0 && (ir = char_rank(into, &il)) > 0)
		return fr == 1 && ir == 1 ? fl <= il : fr <= ir;
	if (numeric_type(from, &fl, &fs, &fu) && numeric_type(into, &il, &is, &iu)) {
		if (fu && !iu)
			fu = false; /* an unsigned value is a signed one */
		if (fu != iu)
			return false;
		if (il < 0)
			return true;
		return fl >= 0 && fs <= is && fl - fs <= il - is;
	}
	return false;
}

/* ---- the definitions ------------------------------------------------------ */

/* The new table's column copied from the original's column name */
static const PlanCol *after_of(const Plan *p, const char *name)
{
	for (int i = 0; i < p->after.ncols; i++)
		if (p->after.cols[i].from && strcasecmp(p->after.cols[i].from, name) == 0)
			return &p->after.cols[i];
	return NULL;
}

static const PlanCol *before_col(const Plan *p, const char *name)
{
	for (int i = 0; i < p->before.ncols; i++)
		if (strcasecmp(p->before.cols[i].name, name) == 0)
			return &p->before.cols[i];
	return NULL;
}

/* Computed by the table itself (PostgreSQL's GENERATED ALWAYS AS (expr)
 * STORED, MySQL's AS (expr) STORED|VIRTUAL; an identity is not). */
static bool generated(const PlanCol *c)
{
	return strncasecmp(c->extra, "AS (", 4) == 0 || contains_ci(c->extra, " AS (");
}

/* The index osc keys the table by: the one p->key names ("name (cols)"),
 * else the primary key. */
static const PlanIndex *key_index(const PlanDef *d, const char *key)
{
	const PlanIndex *primary = NULL;
	for (int i = 0; i < d->nidx; i++) {
		const PlanIndex *x = &d->idx[i];
		size_t n = strlen(x->name);
		if (n && strncmp(key, x->name, n) == 0 && strncmp(key + n, " (", 2) == 0)
			return x;
		if (x->primary)
			primary = x;
	}
	return primary;
}

/* cols (the original's names, comma separated) as the new table names them
 * (malloc'd); NULL when one is not there, its name in gone. */
static char *map_cols(const Plan *p, const char *cols, char *gone, size_t gonesz)
{
	char *list = xstrdup(cols), *save = NULL, *out = xstrdup("");
	for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		const PlanCol *to = after_of(p, c);
		if (to == NULL) {
			snprintf(gone, gonesz, "%s", c);
			free(out);
			out = NULL;
			break;
		}
		char *t = xasprintf("%s%s%s", out, out[0] ? "," : "", to->name);
		free(out);
		out = t;
	}
	free(list);
	return out;
}

/* The character set of a MySQL collation name ("utf8mb4_bin": utf8mb4) */
static void charset_of(const char *coll, char *out, size_t outsz)
{
	snprintf(out, outsz, "%.*s", (int)strcspn(coll, "_"), coll);
}

/* ---- the verdict ---------------------------------------------------------- */

static void check_key(const Plan *p, PlanRevert *r, const PlanIndex *k)
{
	char gone[256] = "";
	char *mapped = map_cols(p, k->cols, gone, sizeof(gone));
	if (mapped == NULL) {
		note(r->why_not, &r->nwhy_not, "the ALTER drops key column %s: a revert finds each row by the key", gone);
		return;
	}
	char *list = xstrdup(k->cols), *save = NULL;
	for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		const PlanCol *b = before_col(p, c), *a = after_of(p, c);
		if (b && a && strcasecmp(b->type, a->type) != 0)
			note(r->why_not, &r->nwhy_not,
			     "key column %s changes type (%s to %s): a revert finds each row by the key, which must stay as it "
			     "is",
			     b->name, b->type, a->type);
	}
	free(list);
	/* the key the new table would be found by: its primary key, else the
	 * same unique key */
	const PlanIndex *n = NULL;
	for (int i = 0; i < p->after.nidx && n == NULL; i++)
		if (p->after.idx[i].primary)
			n = &p->after.idx[i];
	for (int i = 0; i < p->after.nidx && n == NULL; i++)
		if (p->after.idx[i].unique && strcasecmp(p->after.idx[i].name, k->name) == 0)
			n = &p->after.idx[i];
	if (n == NULL)
		note(r->why_not, &r->nwhy_not, "the new table has no key over (%s): a revert finds each row by the key",
		     mapped);
	else if (strcasecmp(n->cols, mapped) != 0)
		note(r->why_not, &r->nwhy_not,
		     "the ALTER changes the table's key from (%s) to (%s): a revert finds each row by the key", k->cols,
		     n->cols[0] ? n->cols : n->def);
	free(mapped);
}

/* An original column the ALTER drops: the old table's own default refills
 * it in every row written after the swap (the merge inserts the row again). */
static void dropped(PlanRevert *r, const PlanCol *b)
{
	if (generated(b))
		return; /* computed again from the row */
	if (contains_ci(b->extra, "identity") || contains_ci(b->extra, "auto_increment"))
		note(r->loses, &r->nloses,
		     "column %s (dropped): rows inserted or updated after the swap get a new value from its %s", b->name,
		     contains_ci(b->extra, "identity") ? "identity" : "AUTO_INCREMENT");
	else if (b->dflt[0])
		note(r->loses, &r->nloses, "column %s (dropped): rows inserted or updated after the swap get its default, %s",
		     b->name, b->dflt);
	else if (!b->not_null)
		note(r->loses, &r->nloses, "column %s (dropped): rows inserted or updated after the swap get NULL", b->name);
	else
		note(r->why_not, &r->nwhy_not,
		     "the ALTER drops column %s, NOT NULL without a default: the original could not take a row written "
		     "after the swap",
		     b->name);
}

/* An original column the new table keeps as a */
static void kept(const Plan *p, PlanRevert *r, const PlanCol *b, const PlanCol *a)
{
	bool pg = p->engine && strcmp(p->engine, "postgresql") == 0;
	char was[300] = "";
	if (generated(b))
		return; /* computed again from the row */
	if (strcasecmp(a->name, b->name) != 0)
		snprintf(was, sizeof(was), "renamed %s, ", a->name);
	if (!plan_type_fits(a->type, b->type)) {
		note(r->refuses, &r->nrefuses,
		     "column %s (%s%s back to %s): a value written after the swap that %s cannot hold makes osc revert "
		     "refuse, naming the key",
		     b->name, was, a->type, b->type, b->type);
	} else if (!pg && strcasecmp(b->collation, a->collation) != 0) {
		/* MySQL: another character set may not hold every character ("":
		 * the table's, whose character set the definition does not say) */
		char bc[64], ac[64];
		charset_of(b->collation, bc, sizeof(bc));
		charset_of(a->collation, ac, sizeof(ac));
		if (!b->collation[0] || !a->collation[0])
			note(r->refuses, &r->nrefuses,
			     "column %s (%scollation %s back to %s): if the character sets differ, a character written after the "
			     "swap that the old one cannot hold makes osc revert refuse, naming the key",
			     b->name, was, a->collation[0] ? a->collation : "the table's default",
			     b->collation[0] ? b->collation : "the table's default");
		else if (strcasecmp(bc, ac) != 0)
			note(r->refuses, &r->nrefuses,
			     "column %s (%scollation %s back to %s): a character written after the swap that %s cannot hold "
			     "makes osc revert refuse, naming the key",
			     b->name, was, a->collation, b->collation, bc);
	}
	if (b->not_null && !a->not_null)
		note(r->refuses, &r->nrefuses,
		     "column %s (%sNULL allowed, back to NOT NULL): a NULL written after the swap makes osc revert refuse, "
		     "naming the key",
		     b->name, was);
}

/* A unique key of the original that the new table has over the same
 * columns (an expression's or a partial one: by its name). */
static bool unique_kept(const Plan *p, const PlanIndex *u)
{
	char gone[256];
	char *mapped = u->cols[0] ? map_cols(p, u->cols, gone, sizeof(gone)) : NULL;
	bool found = false;
	for (int i = 0; i < p->after.nidx && !found; i++) {
		const PlanIndex *x = &p->after.idx[i];
		if (x->unique && (mapped ? strcasecmp(x->cols, mapped) == 0
		                         : u->cols[0] == '\0' && strcasecmp(x->name, u->name) == 0))
			found = true;
	}
	free(mapped);
	return found;
}

/* "CONSTRAINT name CHECK ...": its name into out; false for another constraint */
static bool check_name(const char *con, char *out, size_t outsz)
{
	if (strncmp(con, "CONSTRAINT ", 11) != 0)
		return false;
	const char *name = con + 11;
	size_t n = strcspn(name, " ");
	if (strncmp(name + n, " CHECK ", 7) != 0)
		return false;
	snprintf(out, outsz, "%.*s", (int)n, name);
	return true;
}

static void constraints(const Plan *p, PlanRevert *r, const PlanIndex *key)
{
	for (int i = 0; i < p->before.nidx; i++) {
		const PlanIndex *u = &p->before.idx[i];
		if (u->unique && u != key && !unique_kept(p, u))
			note(r->refuses, &r->nrefuses,
			     "unique key %s (%s), which the new table does not have: rows written after the swap that collide "
			     "under it make osc revert refuse",
			     u->name, u->cols[0] ? u->cols : u->def);
	}
	for (int i = 0; i < p->before.ncons; i++) {
		char name[300], other[300];
		bool found = false;
		if (!check_name(p->before.cons[i], name, sizeof(name)))
			continue;
		for (int j = 0; j < p->after.ncons && !found; j++)
			found = check_name(p->after.cons[j], other, sizeof(other)) && strcmp(name, other) == 0;
		if (!found)
			note(r->refuses, &r->nrefuses,
			     "CHECK constraint %s, which the new table does not have: a row written after the swap that "
			     "violates it makes osc revert refuse, naming the key",
			     name);
	}
}

static void revert_free(PlanRevert *r)
{
	free_notes(r->why_not, &r->nwhy_not);
	free_notes(r->loses, &r->nloses);
	free_notes(r->refuses, &r->nrefuses);
	memset(r, 0, sizeof(*r));
}

void plan_revert(Plan *p)
{
	PlanRevert *r = &p->revert;
	revert_free(r);
	if (!p->have_def) {
		if (p->revertible)
			plan_warn(p, false,
			          "--revertible: without the new table's definition (%s) the plan cannot say whether the ALTER "
			          "has an inverse; the run checks it before it changes anything",
			          p->def_note[0] ? p->def_note : "not read");
		return;
	}
	r->known = true;
	const PlanIndex *key = key_index(&p->before, p->key);
	if (key && key->cols[0])
		check_key(p, r, key);
	for (int i = 0; i < p->before.ncols; i++) {
		const PlanCol *b = &p->before.cols[i], *a = after_of(p, b->name);
		bool in_key = false;
		if (key && key->cols[0]) {
			char *list = xstrdup(key->cols), *save = NULL;
			for (char *c = strtok_r(list, ",", &save); c && !in_key; c = strtok_r(NULL, ",", &save))
				in_key = strcasecmp(c, b->name) == 0;
			free(list);
		}
		if (in_key)
			continue; /* check_key said it */
		if (a == NULL)
			dropped(r, b);
		else
			kept(p, r, b, a);
	}
	for (int i = 0; i < p->after.ncols; i++) {
		const PlanCol *a = &p->after.cols[i], *b = before_col(p, a->name);
		/* MySQL reads a generated column as new: the old one is computed again */
		if (a->from == NULL && !(generated(a) && b && generated(b)))
			note(r->loses, &r->nloses, "column %s (added): its values are left out", a->name);
	}
	constraints(p, r, key);
	r->possible = r->nwhy_not == 0;
	/* the engine may have said it already, in the run's own words (its
	 * check on the shadow refuses the same ALTER: a plan notes that) */
	bool said = false;
	for (int i = 0; i < p->nwarnings && !said; i++)
		said = p->warn_high[i] && strstr(p->warnings[i], "--revertible") != NULL;
	if (p->revertible && !r->possible && !said) {
		char *why = xstrdup("");
		for (int i = 0; i < r->nwhy_not; i++) {
			char *t = xasprintf("%s%s%s", why, i ? "; " : "", r->why_not[i]);
			free(why);
			why = t;
		}
		plan_warn(p, true, "--revertible: a run refuses this ALTER, which has no inverse: %s", why);
		free(why);
	}
}
