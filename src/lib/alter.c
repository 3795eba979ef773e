/*
 * alter.c — what osc reads out of the --alter text (see alter.h): the
 * statement split into subcommands, the spans between commas at
 * parenthesis depth zero, each sorted into an AlterKind, with its USING
 * expressions and column renames.  The tokens come from alter_lex.c,
 * which also notes where MySQL would read the text differently.
 */
#include "alter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alter_lex.h"
#include "xalloc.h"

/* A parenthesised list of plain column names at toks[i] ("(a, \"B\")"):
 * copies them into sub; false when it is anything else. */
static bool name_list(AlterSub *sub, const AlterTok *toks, size_t i, size_t to, size_t *after)
{
	if (i >= to || !tok_is_punct(&toks[i], '('))
		return false;
	i++;
	for (;;) {
		if (i >= to || !tok_is_name(&toks[i]) || sub->ncols == ALTER_MAX_KEYCOLS)
			return false;
		memcpy(sub->cols[sub->ncols++], toks[i].text, sizeof(sub->cols[0]));
		i++;
		if (i < to && tok_is_punct(&toks[i], ')')) {
			*after = i + 1;
			return true;
		}
		if (i >= to || !tok_is_punct(&toks[i], ','))
			return false;
		i++;
	}
}

static bool has_word(const AlterTok *toks, size_t from, size_t to, const char *w)
{
	for (size_t i = from; i < to; i++)
		if (tok_is_word(&toks[i], w))
			return true;
	return false;
}

/* Sorts one subcommand into an AlterKind (see alter.h).  Conservative: a
 * form it does not know well is ALTER_OTHER, which the shadow copy handles. */
static void classify(AlterSub *sub, const AlterTok *toks, size_t from, size_t to)
{
	size_t i = from, n = to - from;
	sub->kind = ALTER_OTHER;
	if (n >= 2 && tok_is_word(&toks[i], "rename")) {
		/* RENAME TO t renames the table: the shadow copy refuses that */
		if (tok_is_word(&toks[i + 1], "to"))
			return;
		sub->kind = ALTER_RENAME;
		/* RENAME [COLUMN] a TO b: the column (plan warns about views) */
		size_t j = i + 1;
		if (j < to && tok_is_word(&toks[j], "column"))
			j++;
		if (j + 1 < to && tok_is_name(&toks[j]) && tok_is_word(&toks[j + 1], "to") && !tok_is_word(&toks[i + 1], "constraint"))
			memcpy(sub->column, toks[j].text, sizeof(sub->column));
		return;
	}
	if (n >= 2 && tok_is_word(&toks[i], "drop")) {
		i++;
		if (tok_is_word(&toks[i], "constraint")) {
			sub->kind = ALTER_DROP_CONSTRAINT;
			return;
		}
		if (tok_is_word(&toks[i], "column"))
			i++;
		if (i < to && tok_is_word(&toks[i], "if") && i + 2 < to)
			i += 2; /* IF EXISTS */
		if (i < to && tok_is_name(&toks[i])) {
			sub->kind = ALTER_DROP_COLUMN;
			memcpy(sub->column, toks[i].text, sizeof(sub->column));
		}
		return;
	}
	if (n >= 4 && tok_is_word(&toks[i], "alter")) {
		i++;
		if (tok_is_word(&toks[i], "column"))
			i++;
		if (i + 1 >= to || !tok_is_name(&toks[i]))
			return;
		memcpy(sub->column, toks[i].text, sizeof(sub->column));
		i++;
		if (i + 1 < to && tok_is_word(&toks[i], "set") && tok_is_word(&toks[i + 1], "default"))
			sub->kind = ALTER_SET_DEFAULT;
		else if (i + 2 == to && tok_is_word(&toks[i], "drop") && tok_is_word(&toks[i + 1], "default"))
			sub->kind = ALTER_SET_DEFAULT;
		else if (i + 3 == to && tok_is_word(&toks[i], "set") && tok_is_word(&toks[i + 1], "not") &&
		         tok_is_word(&toks[i + 2], "null"))
			sub->kind = ALTER_SET_NOT_NULL;
		else if (i + 3 == to && tok_is_word(&toks[i], "drop") && tok_is_word(&toks[i + 1], "not") &&
		         tok_is_word(&toks[i + 2], "null"))
			sub->kind = ALTER_DROP_NOT_NULL;
		return;
	}
	if (n < 2 || !tok_is_word(&toks[i], "add"))
		return;
	i++;
	if (tok_is_word(&toks[i], "constraint")) {
		if (i + 2 >= to || !tok_is_name(&toks[i + 1]))
			return;
		memcpy(sub->constraint, toks[i + 1].text, sizeof(sub->constraint));
		i += 2;
	}
	size_t after = 0;
	if (tok_is_word(&toks[i], "unique") || (tok_is_word(&toks[i], "primary") && i + 1 < to && tok_is_word(&toks[i + 1], "key"))) {
		bool pk = tok_is_word(&toks[i], "primary");
		i += pk ? 2 : 1;
		/* only the plain form: no INCLUDE, WITH, USING INDEX, DEFERRABLE, NULLS ... */
		if (name_list(sub, toks, i, to, &after) && after == to)
			sub->kind = pk ? ALTER_ADD_PRIMARY_KEY : ALTER_ADD_UNIQUE;
		return;
	}
	if (tok_is_word(&toks[i], "check")) {
		if (!has_word(toks, i, to, "inherit")) {
			sub->kind = ALTER_ADD_CHECK;
			sub->not_valid = to - i >= 2 && tok_is_word(&toks[to - 2], "not") && tok_is_word(&toks[to - 1], "valid");
		}
		return;
	}
	if (tok_is_word(&toks[i], "foreign")) {
		sub->kind = ALTER_ADD_FOREIGN_KEY;
		sub->not_valid = to - i >= 2 && tok_is_word(&toks[to - 2], "not") && tok_is_word(&toks[to - 1], "valid");
		return;
	}
	if (sub->constraint[0] || tok_is_word(&toks[i], "exclude"))
		return;
	/* ADD [COLUMN] [IF NOT EXISTS] c type ...: plain unless it carries a
	 * constraint or fills itself (identity, generated, serial) */
	static const char *const heavy[] = { "primary", "unique", "references", "check", "constraint", "generated",
		                             "serial", "bigserial", "smallserial", "serial4", "serial8", "serial2",
		                             "exclude" };
	for (size_t k = 0; k < sizeof(heavy) / sizeof(heavy[0]); k++)
		if (has_word(toks, i, to, heavy[k]))
			return;
	sub->kind = ALTER_ADD_COLUMN;
}

/* A subcommand that renames the table or moves it (RENAME TO|AS t, MySQL's
 * RENAME t, PostgreSQL's SET SCHEMA s): why, or NULL.  The shadow would
 * take the new name and be left behind, so it is refused before anything
 * is made; a plain ALTER does it instantly anyway. */
static const char *moves_table(const AlterTok *toks, size_t from, size_t to)
{
	size_t n = to - from;
	if (n >= 2 && tok_is_word(&toks[from], "rename") &&
	    (tok_is_word(&toks[from + 1], "to") || tok_is_word(&toks[from + 1], "as") || (n == 2 && tok_is_name(&toks[from + 1]))))
		return "renames the table";
	if (n >= 2 && tok_is_word(&toks[from], "set") && tok_is_word(&toks[from + 1], "schema"))
		return "moves the table to another schema (SET SCHEMA)";
	return NULL;
}

/* One subcommand, tokens [from, to): records ALTER [COLUMN] c [SET DATA] TYPE
 * ... USING expr, and notices renames. */
static void scan_subcommand(AlterSpec *a, const AlterTok *toks, size_t from, size_t to)
{
	size_t i = from;
	if (to - from >= 1 && tok_is_word(&toks[i], "rename"))
		a->renames = true;
	/* CHANGE [COLUMN] old new ... / RENAME COLUMN old TO new */
	size_t j = from + 1;
	if (to - from >= 3 && tok_is_word(&toks[from], "change")) {
		if (tok_is_word(&toks[j], "column"))
			j++;
		if (j + 1 < to && tok_is_name(&toks[j]) && tok_is_name(&toks[j + 1]) && a->n_rename < ALTER_MAX_USING) {
			AlterRename *r = &a->rename[a->n_rename++];
			memcpy(r->from, toks[j].text, sizeof(r->from));
			memcpy(r->to, toks[j + 1].text, sizeof(r->to));
		}
		return;
	}
	if (to - from >= 5 && tok_is_word(&toks[from], "rename") && tok_is_word(&toks[j], "column") && tok_is_name(&toks[j + 1]) &&
	    tok_is_word(&toks[j + 2], "to") && tok_is_name(&toks[j + 3]) && a->n_rename < ALTER_MAX_USING) {
		AlterRename *r = &a->rename[a->n_rename++];
		memcpy(r->from, toks[j + 1].text, sizeof(r->from));
		memcpy(r->to, toks[j + 3].text, sizeof(r->to));
		return;
	}
	if (to - from < 4 || !tok_is_word(&toks[i], "alter"))
		return;
	i++;
	if (tok_is_word(&toks[i], "column"))
		i++;
	if (i >= to || !tok_is_name(&toks[i]))
		return;
	const AlterTok *col = &toks[i++];
	if (i < to && tok_is_word(&toks[i], "set"))
		i++;
	if (i < to && tok_is_word(&toks[i], "data"))
		i++;
	if (i >= to || !tok_is_word(&toks[i], "type"))
		return;
	int depth = 0;
	for (; i < to; i++) {
		if (tok_is_punct(&toks[i], '('))
			depth++;
		else if (tok_is_punct(&toks[i], ')'))
			depth--;
		else if (depth == 0 && tok_is_word(&toks[i], "using") && i + 1 < to) {
			if (a->n_using >= ALTER_MAX_USING)
				return;
			AlterUsing *u = &a->using[a->n_using++];
			memcpy(u->column, col->text, sizeof(u->column));
			const char *s = toks[i + 1].start;
			const char *end = toks[to - 1].start + toks[to - 1].len;
			u->expr = xstrndup(s, (size_t)(end - s));
			return;
		}
	}
}

bool alter_parse(const char *spec, AlterSpec *out, OscErr *e)
{
	AlterLexer lx = { .p = spec ? spec : "", .e = e, .bad = false };
	AlterTok *toks = NULL;
	size_t n = 0, cap = 0;
	bool ok = false;
	const char *last_end = lx.p;

	memset(out, 0, sizeof(*out));
	lx.hazard = out->mysql_hazard;
	lx.hazardsz = sizeof(out->mysql_hazard);
	for (;;) {
		AlterTok t;
		if (!alter_lex_next(&lx, &t))
			goto done;
		if (t.kind == TK_END)
			break;
		if (tok_is_punct(&t, ';')) {
			/* a trailing semicolon is harmless; anything after it is not */
			AlterTok rest;
			if (!alter_lex_next(&lx, &rest))
				goto done;
			if (rest.kind != TK_END) {
				err_set(e, OSC_EXIT_INPUT,
				        "--alter holds more than one statement (text after ';'); give one ALTER TABLE specification");
				goto done;
			}
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			toks = xrealloc(toks, cap * sizeof(*toks));
		}
		toks[n++] = t;
		last_end = t.start + t.len;
	}
	if (n == 0) {
		err_set(e, OSC_EXIT_INPUT, "--alter is empty; give an ALTER TABLE specification such as \"ADD COLUMN c int\"");
		goto done;
	}
	if (tok_is_word(&toks[0], "alter") && n > 1 && tok_is_word(&toks[1], "table")) {
		err_set(e, OSC_EXIT_INPUT,
		        "--alter takes what follows ALTER TABLE <name>, e.g. --alter \"ADD COLUMN c int\"");
		goto done;
	}
	const char *first = toks[0].start;
	out->text = xstrndup(first, (size_t)(last_end - first));
	int depth = 0;
	size_t from = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && tok_is_punct(&toks[i], '('))
			depth++;
		else if (i < n && tok_is_punct(&toks[i], ')'))
			depth--;
		if (i == n || (depth == 0 && tok_is_punct(&toks[i], ','))) {
			const char *moves = i > from ? moves_table(toks, from, i) : NULL;
			if (moves) {
				const char *end = toks[i - 1].start + toks[i - 1].len;
				err_set(e, OSC_EXIT_INPUT,
				        "--alter %s ('%.*s'); do that with a plain ALTER TABLE (MySQL: RENAME TABLE), which is "
				        "instant, not with osc",
				        moves, (int)(end - toks[from].start > 200 ? 200 : end - toks[from].start), toks[from].start);
				goto done;
			}
			if (i > from) {
				scan_subcommand(out, toks, from, i);
				if (out->n_sub == ALTER_MAX_SUB) {
					out->too_many = true;
				} else {
					AlterSub *sub = &out->sub[out->n_sub++];
					const char *end = toks[i - 1].start + toks[i - 1].len;
					sub->text = xstrndup(toks[from].start, (size_t)(end - toks[from].start));
					classify(sub, toks, from, i);
				}
			}
			from = i + 1;
		}
	}
	ok = true;
done:
	free(toks);
	if (!ok && out->mysql_hazard[0]) {
		/* the unterminated quote may be MySQL's reading of the text */
		size_t len = strlen(e->msg);
		snprintf(e->msg + len, sizeof(e->msg) - len, " (on MySQL/MariaDB the text holds %s)", out->mysql_hazard);
	}
	if (!ok)
		alter_free(out);
	return ok;
}

void alter_free(AlterSpec *a)
{
	free(a->text);
	for (int i = 0; i < a->n_using; i++)
		free(a->using[i].expr);
	for (int i = 0; i < a->n_sub; i++)
		free(a->sub[i].text);
	memset(a, 0, sizeof(*a));
}

const char *alter_kind_name(AlterKind k)
{
	switch (k) {
	case ALTER_ADD_COLUMN: return "add column";
	case ALTER_DROP_COLUMN: return "drop column";
	case ALTER_RENAME: return "rename";
	case ALTER_SET_DEFAULT: return "set/drop default";
	case ALTER_DROP_NOT_NULL: return "drop not null";
	case ALTER_DROP_CONSTRAINT: return "drop constraint";
	case ALTER_SET_NOT_NULL: return "set not null";
	case ALTER_ADD_UNIQUE: return "add unique";
	case ALTER_ADD_PRIMARY_KEY: return "add primary key";
	case ALTER_ADD_CHECK: return "add check";
	case ALTER_ADD_FOREIGN_KEY: return "add foreign key";
	case ALTER_OTHER: break;
	}
	return "other";
}

const char *alter_using_for(const AlterSpec *a, const char *column)
{
	for (int i = 0; i < a->n_using; i++)
		if (strcmp(a->using[i].column, column) == 0)
			return a->using[i].expr;
	return NULL;
}
