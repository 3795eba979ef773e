/*
 * alter_lex.c — a small SQL lexer over the --alter text (alter.c reads its
 * tokens; see alter.h for what osc needs from the text).
 *
 * Tokens: words (folded to lower case, as PostgreSQL folds unquoted names),
 * quoted identifiers, string literals (also E'' and dollar-quoted), numbers,
 * and single punctuation characters.  Comments and white space are skipped.
 *
 * The lexer reads PostgreSQL's rules.  Where MySQL's differ in a way that
 * changes which text the server executes (an executable comment, a # or
 * "--x" that is or is not a comment, a backslash before a quote, a dollar
 * quote, a nested comment), it notes the first such place in the hazard
 * buffer (AlterSpec.mysql_hazard): the MySQL engine refuses the ALTER then,
 * rather than run a statement whose subcommands osc did not see (a column
 * renamed inside an executable comment, which the copy never mapped).
 */
#include "alter_lex.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Notes where MySQL reads the text differently (the first place only). */
static void hazard(AlterLexer *lx, const char *what)
{
	if (lx->hazard && lx->hazard[0] == '\0')
		snprintf(lx->hazard, lx->hazardsz, "%s", what);
}

static void skip_space(AlterLexer *lx)
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

bool alter_lex_next(AlterLexer *lx, AlterTok *t)
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
