/*
 * alter.c — a small SQL lexer over the --alter text (see alter.h).
 *
 * Tokens: words (folded to lower case, as PostgreSQL folds unquoted names),
 * quoted identifiers, string literals (also E'' and dollar-quoted), numbers,
 * and single punctuation characters.  Subcommands are the spans between
 * commas at parenthesis depth zero.
 *
 * The lexer reads PostgreSQL's rules.  Where MySQL's differ in a way that
 * changes which text the server executes (an executable comment, a # or
 * "--x" that is or is not a comment, a backslash before a quote, a dollar
 * quote, a nested comment), it notes the first such place in mysql_hazard:
 * the MySQL engine refuses the ALTER then, rather than run a statement
 * whose subcommands osc did not see (a column renamed inside an executable
 * comment, which the copy never mapped).
 */
#include "alter.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

typedef enum TokKind { TK_END, TK_WORD, TK_QIDENT, TK_STRING, TK_OTHER } TokKind;

typedef struct Tok {
	TokKind kind;
	const char *start; /* in the spec */
	size_t len;
	char text[256];    /* word folded / quoted identifier unquoted */
} Tok;

typedef struct Lexer {
	const char *p;
	OscErr *e;
	bool bad;
	char *hazard;      /* AlterSpec.mysql_hazard: the first one found */
	size_t hazardsz;
} Lexer;

/* Notes where MySQL reads the text differently (the first place only). */
static void hazard(Lexer *lx, const char *what)
{
	if (lx->hazard && lx->hazard[0] == '\0')
		snprintf(lx->hazard, lx->hazardsz, "%s", what);
}

static void skip_space(Lexer *lx)
{
	for (;;) {
		while (isspace((unsigned char)*lx->p))
			lx->p++;
		if (lx->p[0] == '-' && lx->p[1] == '-') {
			/* MySQL: a comment only when a space or control character follows */
			if (lx->p[2] != '\0' && !isspace((unsigned char)lx->p[2]) && !iscntrl((unsigned char)lx->p[2]))
				hazard(lx, "\"--\" followed by other than a space (MySQL reads two minus signs there, not a "
				           "comment)");
			while (*lx->p && *lx->p != '\n')
				lx->p++;
		} else if (lx->p[0] == '/' && lx->p[1] == '*') {
			int depth = 0; /* PostgreSQL nests block comments */
			if (lx->p[2] == '!' || (lx->p[2] == 'M' && lx->p[3] == '!'))
				hazard(lx, "an executable comment /*! ... */ (MySQL and MariaDB execute its text)");
			else if (lx->p[2] == '+')
				hazard(lx, "an optimizer hint /*+ ... */ (MySQL reads it as part of the statement)");
			do {
				if (lx->p[0] == '/' && lx->p[1] == '*') {
					if (depth > 0)
						hazard(lx, "a comment inside a comment (MySQL ends a comment at the first */)");
					depth++;
					lx->p += 2;
				} else if (lx->p[0] == '*' && lx->p[1] == '/') {
					depth--;
					lx->p += 2;
				} else if (*lx->p == '\0') {
					err_set(lx->e, OSC_EXIT_INPUT, "--alter: unterminated /* comment");
					lx->bad = true;
					return;
				} else {
					lx->p++;
				}
			} while (depth > 0);
		} else {
			return;
		}
	}
}

/* A dollar-quote tag at p ("$$" or "$tag$"), or 0. */
static size_t dollar_tag(const char *p)
{
	if (*p != '$')
		return 0;
	size_t n = 1;
	while (isalnum((unsigned char)p[n]) || p[n] == '_')
		n++;
	if (p[n] != '$' || (n > 1 && isdigit((unsigned char)p[1])))
		return 0;
	return n + 1;
}

static bool next(Lexer *lx, Tok *t)
{
	skip_space(lx);
	memset(t, 0, sizeof(*t));
	t->start = lx->p;
	if (lx->bad)
		return false;
	const char *p = lx->p;
	if (*p == '\0') {
		t->kind = TK_END;
		return true;
	}
	size_t tag;
	if (*p == '"' || *p == '`') {
		char quote = *p;
		size_t n = 0, backslashes = 0;
		p++;
		for (;;) {
			if (*p == '\0') {
				err_set(lx->e, OSC_EXIT_INPUT, "--alter: unterminated quoted identifier");
				lx->bad = true;
				return false;
			}
			/* MySQL: "..." is a string, where \" does not end it */
			if (*p == quote && quote == '"' && backslashes % 2 == 1)
				hazard(lx, "a backslash before a quote in \"...\" (MySQL reads a string there, and \\\" "
				           "does not end it)");
			backslashes = *p == '\\' ? backslashes + 1 : 0;
			if (*p == quote) {
				if (p[1] != quote)
					break;
				p++;
			}
			if (n + 1 < sizeof(t->text))
				t->text[n++] = *p;
			p++;
		}
		p++;
		t->kind = TK_QIDENT;
	} else if (*p == '\'' || ((*p == 'E' || *p == 'e') && p[1] == '\'')) {
		bool esc = (*p != '\'');
		size_t backslashes = 0;
		p += esc ? 2 : 1;
		for (;;) {
			if (*p == '\0') {
				err_set(lx->e, OSC_EXIT_INPUT, "--alter: unterminated string literal");
				lx->bad = true;
				return false;
			}
			if (esc && *p == '\\' && p[1] != '\0') {
				p += 2;
				continue;
			}
			/* MySQL: \' inside '...' is a quote, not the end */
			if (*p == '\'' && backslashes % 2 == 1)
				hazard(lx, "a backslash before a quote in '...' (MySQL reads \\' as a quote inside the string)");
			backslashes = *p == '\\' ? backslashes + 1 : 0;
			if (*p == '\'') {
				if (p[1] != '\'')
					break;
				p++;
			}
			p++;
		}
		p++;
		t->kind = TK_STRING;
	} else if ((tag = dollar_tag(p)) > 0) {
		hazard(lx, "a dollar-quoted string (MySQL has none: $ is part of a name there)");
		const char *end = NULL;
		for (const char *q = p + tag; *q; q++)
			if (strncmp(q, p, tag) == 0) {
				end = q;
				break;
			}
		if (end == NULL) {
			err_set(lx->e, OSC_EXIT_INPUT, "--alter: unterminated dollar-quoted string");
			lx->bad = true;
			return false;
		}
		p = end + tag;
		t->kind = TK_STRING;
	} else if (isalpha((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80) {
		size_t n = 0;
		while (isalnum((unsigned char)*p) || *p == '_' || *p == '$' || (unsigned char)*p >= 0x80) {
			if (n + 1 < sizeof(t->text))
				t->text[n++] = (char)tolower((unsigned char)*p);
			p++;
		}
		t->kind = TK_WORD;
	} else if (isdigit((unsigned char)*p)) {
		while (isalnum((unsigned char)*p) || *p == '.')
			p++;
		t->kind = TK_OTHER;
	} else {
		if (*p == '#')
			hazard(lx, "a # (MySQL reads the rest of the line as a comment)");
		t->text[0] = *p++;
		t->kind = TK_OTHER;
	}
	t->len = (size_t)(p - t->start);
	lx->p = p;
	return true;
}

static bool is_word(const Tok *t, const char *w)
{
	return t->kind == TK_WORD && strcmp(t->text, w) == 0;
}

static bool is_punct(const Tok *t, char c)
{
	return t->kind == TK_OTHER && t->len == 1 && t->start[0] == c;
}

static bool is_name(const Tok *t)
{
	return t->kind == TK_WORD || t->kind == TK_QIDENT;
}

/* A parenthesised list of plain column names at toks[i] ("(a, \"B\")"):
 * copies them into sub; false when it is anything else. */
static bool name_list(AlterSub *sub, const Tok *toks, size_t i, size_t to, size_t *after)
{
	if (i >= to || !is_punct(&toks[i], '('))
		return false;
	i++;
	for (;;) {
		if (i >= to || !is_name(&toks[i]) || sub->ncols == ALTER_MAX_KEYCOLS)
			return false;
		memcpy(sub->cols[sub->ncols++], toks[i].text, sizeof(sub->cols[0]));
		i++;
		if (i < to && is_punct(&toks[i], ')')) {
			*after = i + 1;
			return true;
		}
		if (i >= to || !is_punct(&toks[i], ','))
			return false;
		i++;
	}
}

static bool has_word(const Tok *toks, size_t from, size_t to, const char *w)
{
	for (size_t i = from; i < to; i++)
		if (is_word(&toks[i], w))
			return true;
	return false;
}

/* Sorts one subcommand into an AlterKind (see alter.h).  Conservative: a
 * form it does not know well is ALTER_OTHER, which the shadow copy handles. */
static void classify(AlterSub *sub, const Tok *toks, size_t from, size_t to)
{
	size_t i = from, n = to - from;
	sub->kind = ALTER_OTHER;
	if (n >= 2 && is_word(&toks[i], "rename")) {
		/* RENAME TO t renames the table: the shadow copy refuses that */
		if (is_word(&toks[i + 1], "to"))
			return;
		sub->kind = ALTER_RENAME;
		/* RENAME [COLUMN] a TO b: the column (plan warns about views) */
		size_t j = i + 1;
		if (j < to && is_word(&toks[j], "column"))
			j++;
		if (j + 1 < to && is_name(&toks[j]) && is_word(&toks[j + 1], "to") && !is_word(&toks[i + 1], "constraint"))
			memcpy(sub->column, toks[j].text, sizeof(sub->column));
		return;
	}
	if (n >= 2 && is_word(&toks[i], "drop")) {
		i++;
		if (is_word(&toks[i], "constraint")) {
			sub->kind = ALTER_DROP_CONSTRAINT;
			return;
		}
		if (is_word(&toks[i], "column"))
			i++;
		if (i < to && is_word(&toks[i], "if") && i + 2 < to)
			i += 2; /* IF EXISTS */
		if (i < to && is_name(&toks[i])) {
			sub->kind = ALTER_DROP_COLUMN;
			memcpy(sub->column, toks[i].text, sizeof(sub->column));
		}
		return;
	}
	if (n >= 4 && is_word(&toks[i], "alter")) {
		i++;
		if (is_word(&toks[i], "column"))
			i++;
		if (i + 1 >= to || !is_name(&toks[i]))
			return;
		memcpy(sub->column, toks[i].text, sizeof(sub->column));
		i++;
		if (i + 1 < to && is_word(&toks[i], "set") && is_word(&toks[i + 1], "default"))
			sub->kind = ALTER_SET_DEFAULT;
		else if (i + 2 == to && is_word(&toks[i], "drop") && is_word(&toks[i + 1], "default"))
			sub->kind = ALTER_SET_DEFAULT;
		else if (i + 3 == to && is_word(&toks[i], "set") && is_word(&toks[i + 1], "not") &&
		         is_word(&toks[i + 2], "null"))
			sub->kind = ALTER_SET_NOT_NULL;
		else if (i + 3 == to && is_word(&toks[i], "drop") && is_word(&toks[i + 1], "not") &&
		         is_word(&toks[i + 2], "null"))
			sub->kind = ALTER_DROP_NOT_NULL;
		return;
	}
	if (n < 2 || !is_word(&toks[i], "add"))
		return;
	i++;
	if (is_word(&toks[i], "constraint")) {
		if (i + 2 >= to || !is_name(&toks[i + 1]))
			return;
		memcpy(sub->constraint, toks[i + 1].text, sizeof(sub->constraint));
		i += 2;
	}
	size_t after = 0;
	if (is_word(&toks[i], "unique") || (is_word(&toks[i], "primary") && i + 1 < to && is_word(&toks[i + 1], "key"))) {
		bool pk = is_word(&toks[i], "primary");
		i += pk ? 2 : 1;
		/* only the plain form: no INCLUDE, WITH, USING INDEX, DEFERRABLE, NULLS ... */
		if (name_list(sub, toks, i, to, &after) && after == to)
			sub->kind = pk ? ALTER_ADD_PRIMARY_KEY : ALTER_ADD_UNIQUE;
		return;
	}
	if (is_word(&toks[i], "check")) {
		if (!has_word(toks, i, to, "inherit")) {
			sub->kind = ALTER_ADD_CHECK;
			sub->not_valid = to - i >= 2 && is_word(&toks[to - 2], "not") && is_word(&toks[to - 1], "valid");
		}
		return;
	}
	if (is_word(&toks[i], "foreign")) {
		sub->kind = ALTER_ADD_FOREIGN_KEY;
		sub->not_valid = to - i >= 2 && is_word(&toks[to - 2], "not") && is_word(&toks[to - 1], "valid");
		return;
	}
	if (sub->constraint[0] || is_word(&toks[i], "exclude"))
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
static const char *moves_table(const Tok *toks, size_t from, size_t to)
{
	size_t n = to - from;
	if (n >= 2 && is_word(&toks[from], "rename") &&
	    (is_word(&toks[from + 1], "to") || is_word(&toks[from + 1], "as") || (n == 2 && is_name(&toks[from + 1]))))
		return "renames the table";
	if (n >= 2 && is_word(&toks[from], "set") && is_word(&toks[from + 1], "schema"))
		return "moves the table to another schema (SET SCHEMA)";
	return NULL;
}

/* One subcommand, tokens [from, to): records ALTER [COLUMN] c [SET DATA] TYPE
 * ... USING expr, and notices renames. */
static void scan_subcommand(AlterSpec *a, const Tok *toks, size_t from, size_t to)
{
	size_t i = from;
	if (to - from >= 1 && is_word(&toks[i], "rename"))
		a->renames = true;
	/* CHANGE [COLUMN] old new ... / RENAME COLUMN old TO new */
	size_t j = from + 1;
	if (to - from >= 3 && is_word(&toks[from], "change")) {
		if (is_word(&toks[j], "column"))
			j++;
		if (j + 1 < to && is_name(&toks[j]) && is_name(&toks[j + 1]) && a->n_rename < ALTER_MAX_USING) {
			AlterRename *r = &a->rename[a->n_rename++];
			memcpy(r->from, toks[j].text, sizeof(r->from));
			memcpy(r->to, toks[j + 1].text, sizeof(r->to));
		}
		return;
	}
	if (to - from >= 5 && is_word(&toks[from], "rename") && is_word(&toks[j], "column") && is_name(&toks[j + 1]) &&
	    is_word(&toks[j + 2], "to") && is_name(&toks[j + 3]) && a->n_rename < ALTER_MAX_USING) {
		AlterRename *r = &a->rename[a->n_rename++];
		memcpy(r->from, toks[j + 1].text, sizeof(r->from));
		memcpy(r->to, toks[j + 3].text, sizeof(r->to));
		return;
	}
	if (to - from < 4 || !is_word(&toks[i], "alter"))
		return;
	i++;
	if (is_word(&toks[i], "column"))
		i++;
	if (i >= to || !is_name(&toks[i]))
		return;
	const Tok *col = &toks[i++];
	if (i < to && is_word(&toks[i], "set"))
		i++;
	if (i < to && is_word(&toks[i], "data"))
		i++;
	if (i >= to || !is_word(&toks[i], "type"))
		return;
	int depth = 0;
	for (; i < to; i++) {
		if (is_punct(&toks[i], '('))
			depth++;
		else if (is_punct(&toks[i], ')'))
			depth--;
		else if (depth == 0 && is_word(&toks[i], "using") && i + 1 < to) {
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
	Lexer lx = { .p = spec ? spec : "", .e = e, .bad = false };
	Tok *toks = NULL;
	size_t n = 0, cap = 0;
	bool ok = false;
	const char *last_end = lx.p;

	memset(out, 0, sizeof(*out));
	lx.hazard = out->mysql_hazard;
	lx.hazardsz = sizeof(out->mysql_hazard);
	for (;;) {
		Tok t;
		if (!next(&lx, &t))
			goto done;
		if (t.kind == TK_END)
			break;
		if (is_punct(&t, ';')) {
			/* a trailing semicolon is harmless; anything after it is not */
			Tok rest;
			if (!next(&lx, &rest))
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
	if (is_word(&toks[0], "alter") && n > 1 && is_word(&toks[1], "table")) {
		err_set(e, OSC_EXIT_INPUT,
		        "--alter takes what follows ALTER TABLE <name>, e.g. --alter \"ADD COLUMN c int\"");
		goto done;
	}
	const char *first = toks[0].start;
	out->text = xstrndup(first, (size_t)(last_end - first));
	int depth = 0;
	size_t from = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && is_punct(&toks[i], '('))
			depth++;
		else if (i < n && is_punct(&toks[i], ')'))
			depth--;
		if (i == n || (depth == 0 && is_punct(&toks[i], ','))) {
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
