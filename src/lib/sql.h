/*
 * sql.h — the one place SQL text is built.
 *
 * An Sql is a growable string.  sql_add() takes a small printf-like format
 * whose conversions are chosen for SQL, after sqlite's %w/%Q and postgres'
 * fmtId(): %I is an identifier, quoted by the engine's dialect (PostgreSQL:
 * PQescapeIdentifier; MySQL: backtick doubling), %L a literal value escaped by
 * the client library, %s raw text that is already SQL (a fragment built by
 * another sql_add call, a keyword, a server-generated definition), %d/%ld/%u
 * integers.  A name never goes through %s.
 */
#ifndef OSC_SQL_H
#define OSC_SQL_H

#include <stdbool.h>
#include <stddef.h>

/* How an engine quotes.  Both return malloc'd strings the caller frees, or
 * NULL when the client library refuses the input (invalid encoding). */
typedef struct SqlDialect {
	char *(*quote_ident)(void *ctx, const char *s);
	char *(*quote_literal)(void *ctx, const char *s);
	void *ctx;
} SqlDialect;

typedef struct Sql {
	char *buf;
	size_t len, cap;
	const SqlDialect *dialect;
	bool failed; /* a quote helper refused its input; the text is unusable */
} Sql;

/* q owns its buffer (malloc'd): sql_free releases it.  d is borrowed and
 * must outlive q. */
void sql_init(Sql *q, const SqlDialect *d);
void sql_reset(Sql *q);
void sql_free(Sql *q);
void sql_add(Sql *q, const char *fmt, ...);
/* The built text; never NULL. Owned by q. */
const char *sql_text(const Sql *q);
/* Transfers the text to the caller (who frees it); q is then empty and
 * needs sql_init before reuse (sql_free is harmless). */
char *sql_take(Sql *q);

/* Quoting as PostgreSQL and the SQL standard define it, without a connection:
 * "a""b" and 'it''s'.  Used by unit tests and as the dialect where no
 * connection is needed (plan output for an engine not yet connected). */
/* Both return a malloc'd string the caller frees. */
char *sql_quote_ident_std(void *ctx, const char *s);
char *sql_quote_literal_std(void *ctx, const char *s);
extern const SqlDialect sql_dialect_std;

#endif
