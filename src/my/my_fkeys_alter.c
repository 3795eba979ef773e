/*
 * my_fkeys_alter.c — a `DROP FOREIGN KEY fk` in the ALTER: taken out of the
 * text applied to the empty shadow (which has no foreign key to drop), and
 * fk is not added to it (src/my/my_fkeys.c's banner).
 */
#include "my_fkeys.h"
#include "xalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- DROP FOREIGN KEY in the ALTER ---------------------------------------- */

/* A token of the ALTER text: [start, end), and for a word or a quoted
 * identifier its unquoted text. */
typedef struct Tok {
	size_t start, end;
	char word[MY_NAMELEN * 2 + 1];
	bool ident;  /* a word or `quoted` identifier */
	char punct;  /* ',', '(', ')', or 0 */
} Tok;

/* The next token at or after *pos; false at the end. */
static bool next_tok(const char *s, size_t *pos, Tok *t)
{
	size_t i = *pos;
	for (;;) {
		while (s[i] && isspace((unsigned char)s[i]))
			i++;
		if (s[i] == '#' || (s[i] == '-' && s[i + 1] == '-' && (s[i + 2] == '\0' || isspace((unsigned char)s[i + 2])))) {
			while (s[i] && s[i] != '\n')
				i++;
		} else if (s[i] == '/' && s[i + 1] == '*') {
			const char *end = strstr(s + i + 2, "*/");
			i = end ? (size_t)(end - s) + 2 : strlen(s);
		} else {
			break;
		}
	}
	if (s[i] == '\0')
		return false;
	memset(t, 0, sizeof(*t));
	t->start = i;
	if (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$' || (unsigned char)s[i] >= 0x80) {
		size_t n = 0;
		while (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '$' || (unsigned char)s[i] >= 0x80) {
			if (n < sizeof(t->word) - 1)
				t->word[n++] = s[i];
			i++;
		}
		t->ident = true;
	} else if (s[i] == '`' || s[i] == '\'' || s[i] == '"') {
		char quote = s[i++];
		size_t n = 0;
		while (s[i]) {
			if (s[i] == '\\' && quote != '`' && s[i + 1]) {
				i += 2;
				continue;
			}
			if (s[i] == quote) {
				if (s[i + 1] != quote)
					break;
				i++; /* doubled */
			}
			if (n < sizeof(t->word) - 1)
				t->word[n++] = s[i];
			i++;
		}
		if (s[i])
			i++;
		t->ident = quote == '`';
	} else {
		t->punct = s[i] == ',' || s[i] == '(' || s[i] == ')' ? s[i] : 0;
		i++;
	}
	t->end = i;
	*pos = i;
	return true;
}

static bool is_kw(const Tok *t, const char *kw)
{
	return t->ident && strcasecmp(t->word, kw) == 0;
}

/* my_fk_each_of: collects the table's own foreign keys' names */
static bool fk_name(My *my, const FkDef *fk, void *ctx, OscErr *e)
{
	Sql *names = ctx;
	(void)my;
	(void)e;
	sql_add(names, "%s%s", names->len ? "\n" : "", fk->name);
	return true;
}

/* Is name (case-insensitive) one of the newline-separated names? */
static bool in_names(const char *names, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = names; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len == n && strncasecmp(p, name, n) == 0)
			return true;
		p += len + (nl ? 1 : 0);
	}
	return false;
}

bool my_fkeys_alter(My *my, OscErr *e)
{
	const char *s = my->env->alter->text;
	Sql names;
	bool ok = false;
	size_t pos = 0, copied = 0, last_comma = (size_t)-1, len = 0;
	char *out = xmalloc(strlen(s) + 1); /* the text without the clauses: never longer */
	int depth = 0;
	bool clause_start = true;
	Tok t;

	sql_init(&names, &my->dialect);
	if (!my_fk_each_of(my, my->table, false, fk_name, &names, e))
		goto out;
	while (next_tok(s, &pos, &t)) {
		if (t.punct == '(')
			depth++;
		else if (t.punct == ')')
			depth--;
		if (depth == 0 && t.punct == ',') {
			last_comma = t.start;
			clause_start = true;
			continue;
		}
		bool at_start = clause_start;
		clause_start = false;
		if (depth != 0 || !at_start || !is_kw(&t, "DROP"))
			continue;
		/* DROP FOREIGN KEY [IF EXISTS] name | DROP CONSTRAINT [IF EXISTS] name */
		size_t p = pos, drop_start = t.start;
		Tok a, b, c;
		bool fk = false, if_exists = false;
		if (!next_tok(s, &p, &a))
			break;
		if (is_kw(&a, "FOREIGN")) {
			if (!next_tok(s, &p, &b) || !is_kw(&b, "KEY"))
				continue;
			fk = true;
		} else if (!is_kw(&a, "CONSTRAINT")) {
			continue;
		}
		if (!next_tok(s, &p, &c))
			break;
		if (is_kw(&c, "IF")) {
			Tok x;
			if (!next_tok(s, &p, &x) || !is_kw(&x, "EXISTS") || !next_tok(s, &p, &c))
				continue;
			if_exists = true;
		}
		if (!c.ident)
			continue;
		bool known = in_names(sql_text(&names), c.word);
		if (!known && !fk)
			continue; /* DROP CONSTRAINT of a CHECK or UNIQUE constraint: the shadow has it */
		if (!known && !if_exists) {
			err_set(e, OSC_EXIT_INPUT, "the ALTER drops foreign key %s, which %s.%s does not have", c.word, my->db,
			        my->table);
			goto out;
		}
		if (known) {
			my->fk_dropped = xrealloc(my->fk_dropped, (size_t)(my->nfk_dropped + 1) * sizeof(char *));
			my->fk_dropped[my->nfk_dropped++] = my_strdup(c.word);
		}
		/* the clause goes, with the comma before it (or after it, when it is first) */
		size_t from = last_comma != (size_t)-1 && last_comma >= copied ? last_comma : drop_start, to = c.end;
		if (from == drop_start) {
			size_t q = p;
			Tok comma;
			if (next_tok(s, &q, &comma) && comma.punct == ',') {
				to = comma.end;
				p = q;
				clause_start = true;
			}
		}
		memcpy(out + len, s + copied, from - copied);
		len += from - copied;
		copied = to;
		pos = p;
		last_comma = (size_t)-1;
	}
	if (my->nfk_dropped > 0) {
		strcpy(out + len, s + copied);
		my->shadow_alter = out;
		out = NULL;
		log_msg(my->log, LOG_DEBUG, "the ALTER on the shadow, without its DROP FOREIGN KEY: %s",
		        my->shadow_alter);
	}
	ok = true;
out:
	sql_free(&names);
	free(out);
	return ok;
}
