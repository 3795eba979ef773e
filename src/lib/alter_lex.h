/*
 * alter_lex.h — the lexer under alter.c: the --alter text as tokens, read
 * by PostgreSQL's rules, with the first place MySQL would read differently
 * noted (see alter_lex.c).  Only alter.c uses it.
 */
#ifndef OSC_ALTER_LEX_H
#define OSC_ALTER_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "err.h"

typedef enum AlterTokKind { TK_END, TK_WORD, TK_QIDENT, TK_STRING, TK_OTHER } AlterTokKind;

typedef struct AlterTok {
	AlterTokKind kind;
	const char *start; /* in the spec */
	size_t len;
	char text[256];    /* word folded / quoted identifier unquoted */
} AlterTok;

typedef struct AlterLexer {
	const char *p;
	OscErr *e;
	bool bad;
	char *hazard;      /* AlterSpec.mysql_hazard: the first one found */
	size_t hazardsz;
} AlterLexer;

/* The next token of lx into t (TK_END at the end of the text).  false
 * after an unterminated quote or comment: the error is in lx->e. */
bool alter_lex_next(AlterLexer *lx, AlterTok *t);

static inline bool tok_is_word(const AlterTok *t, const char *w)
{
	return t->kind == TK_WORD && strcmp(t->text, w) == 0;
}

static inline bool tok_is_punct(const AlterTok *t, char c)
{
	return t->kind == TK_OTHER && t->len == 1 && t->start[0] == c;
}

static inline bool tok_is_name(const AlterTok *t)
{
	return t->kind == TK_WORD || t->kind == TK_QIDENT;
}

#endif
