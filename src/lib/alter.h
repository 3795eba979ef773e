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
 * Identifiers may be quoted "like this" (PostgreSQL) or `like this`
 * (MySQL).  The lexer knows quotes, dollar quotes, comments and
 * parentheses; it does not parse the grammar.
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

/* What one subcommand (the text between top-level commas) asks for, as far as
 * choosing a strategy needs to know (src/core/strategy.c).  ALTER_OTHER is
 * anything the lexer does not recognise: the shadow copy handles it. */
typedef enum AlterKind {
	ALTER_OTHER,
	ALTER_ADD_COLUMN,       /* plain: no constraint clause, no identity/generated */
	ALTER_DROP_COLUMN,
	ALTER_RENAME,           /* RENAME [COLUMN] a TO b, RENAME CONSTRAINT a TO b */
	ALTER_SET_DEFAULT,      /* ALTER [COLUMN] c SET DEFAULT expr / DROP DEFAULT */
	ALTER_DROP_NOT_NULL,
	ALTER_DROP_CONSTRAINT,
	ALTER_SET_NOT_NULL,     /* ALTER [COLUMN] c SET NOT NULL */
	ALTER_ADD_UNIQUE,       /* ADD [CONSTRAINT n] UNIQUE (c, ...) */
	ALTER_ADD_PRIMARY_KEY,  /* ADD [CONSTRAINT n] PRIMARY KEY (c, ...) */
	ALTER_ADD_CHECK,        /* ADD [CONSTRAINT n] CHECK (...) [NOT VALID] */
	ALTER_ADD_FOREIGN_KEY,  /* ADD [CONSTRAINT n] FOREIGN KEY (...) REFERENCES ... [NOT VALID] */
} AlterKind;

#define ALTER_MAX_SUB 32
#define ALTER_MAX_KEYCOLS 8

typedef struct AlterSub {
	AlterKind kind;
	char *text;               /* malloc'd text of the subcommand */
	char column[256];         /* SET/DROP NOT NULL, SET DEFAULT: the column */
	char constraint[256];     /* ADD CONSTRAINT name: the name ("" when none) */
	char cols[ALTER_MAX_KEYCOLS][256]; /* UNIQUE / PRIMARY KEY: the columns */
	int ncols;
	bool not_valid;           /* the text already says NOT VALID */
} AlterSub;

typedef struct AlterSpec {
	char *text;                 /* the spec, trimmed, without a final ';' */
	AlterUsing using[ALTER_MAX_USING];
	int n_using;
	bool renames;               /* RENAME COLUMN / RENAME x TO y */
	/* MySQL: CHANGE [COLUMN] old new ..., RENAME COLUMN old TO new.  (On
	 * PostgreSQL a renamed column keeps its position, which says the same.) */
	AlterRename rename[ALTER_MAX_USING];
	int n_rename;
	AlterSub sub[ALTER_MAX_SUB];  /* every subcommand, in order */
	int n_sub;                    /* more than ALTER_MAX_SUB: too_many is set */
	bool too_many;
	/* The first place MySQL/MariaDB would read differently from this lexer
	 * (an executable comment or optimizer hint, a # comment, "--x", a
	 * backslash before a quote, a dollar quote, a nested comment), for
	 * the MySQL engine to refuse; "" when there is none.  PostgreSQL reads
	 * the text as the lexer does. */
	char mysql_hazard[160];
} AlterSpec;

/* Reads the spec.  Errors (exit 2): empty, more than one statement, an
 * unterminated quote or comment, a subcommand that renames the table or
 * moves it to another schema (the shadow would take the new name).
 * out owns the texts it copies from spec (malloc'd): alter_free releases
 * them; after a failure there is nothing to release. */
bool alter_parse(const char *spec, AlterSpec *out, OscErr *e) MUSTCHECK;
void alter_free(AlterSpec *a);
const char *alter_kind_name(AlterKind k);
/* The USING expression for a column (as the database names it), or NULL. */
const char *alter_using_for(const AlterSpec *a, const char *column);

#endif
