/*
 * alter.h — what osc reads out of the --alter text before the database does.
 *
 * The database is the judge of an ALTER: osc applies it to the empty shadow
 * and reports the database's own message.  Two things need the text itself:
 * refusing a second statement smuggled after a semicolon (checked here, and
 * again by the server's extended protocol, which runs one statement only),
 * and finding `ALTER COLUMN c TYPE t USING expr`, because the copy must pass
 * each row through the same expression, and MySQL's column renames
 * (CHANGE old new, RENAME COLUMN old TO new), which map old to new.
 * Identifiers may be quoted "like this" (PostgreSQL) or `like this` (MySQL).  The lexer knows quotes, dollar
 * quotes, comments and parentheses; it does not parse the grammar.
 */
#ifndef OSC_ALTER_H
#define OSC_ALTER_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define ALTER_MAX_USING 64

typedef struct AlterUsing {
	char column[256]; /* the column as the database names it (folded) */
	char *expr;       /* malloc'd text of the USING expression */
} AlterUsing;

typedef struct AlterRename {
	char from[256], to[256];
} AlterRename;

typedef struct AlterSpec {
	char *text;                 /* the spec, trimmed, without a final ';' */
	AlterUsing using[ALTER_MAX_USING];
	int n_using;
	bool renames;               /* RENAME COLUMN / RENAME x TO y */
	/* MySQL: CHANGE [COLUMN] old new ..., RENAME COLUMN old TO new.  (On
	 * PostgreSQL a renamed column keeps its position, which says the same.) */
	AlterRename rename[ALTER_MAX_USING];
	int n_rename;
} AlterSpec;

/* Reads the spec.  Errors (exit 2): empty, more than one statement, an
 * unterminated quote or comment. */
bool alter_parse(const char *spec, AlterSpec *out, OscErr *e) MUSTCHECK;
void alter_free(AlterSpec *a);
/* The USING expression for a column (as the database names it), or NULL. */
const char *alter_using_for(const AlterSpec *a, const char *column);

#endif
