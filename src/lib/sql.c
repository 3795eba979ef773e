/*
 * sql.c — the SQL string builder and its conversions (see sql.h).
 *
 * The buffer doubles as it grows; allocation failure aborts (osc's memory is
 * bounded by the size of its statements, never by the table's).
 */
#include "sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void sql_init(Sql *q, const SqlDialect *d)
{
	q->cap = 256;
	q->buf = xmalloc(q->cap);
	q->buf[0] = '\0';
	q->len = 0;
	q->dialect = d;
	q->failed = false;
}

void sql_reset(Sql *q)
{
	q->len = 0;
	q->buf[0] = '\0';
	q->failed = false;
}

void sql_free(Sql *q)
{
	free(q->buf);
	q->buf = NULL;
	q->len = q->cap = 0;
}

static void put(Sql *q, const char *s, size_t n)
{
	if (q->len + n + 1 > q->cap) {
		while (q->len + n + 1 > q->cap)
			q->cap *= 2;
		q->buf = xrealloc(q->buf, q->cap);
	}
	memcpy(q->buf + q->len, s, n);
	q->len += n;
	q->buf[q->len] = '\0';
}

static void put_quoted(Sql *q, char *quoted)
{
	if (quoted == NULL) {
		q->failed = true;
		return;
	}
	put(q, quoted, strlen(quoted));
	free(quoted);
}

void sql_add(Sql *q, const char *fmt, ...)
{
	va_list ap;
	char num[32];

	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		const char *start = p;
		while (*p && *p != '%')
			p++;
		if (p > start)
			put(q, start, (size_t)(p - start));
		if (*p == '\0')
			break;
		p++;
		switch (*p) {
		case 'I':
			put_quoted(q, q->dialect->quote_ident(q->dialect->ctx, va_arg(ap, const char *)));
			break;
		case 'L':
			put_quoted(q, q->dialect->quote_literal(q->dialect->ctx, va_arg(ap, const char *)));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			put(q, s, strlen(s));
			break;
		}
		case 'd':
			snprintf(num, sizeof(num), "%d", va_arg(ap, int));
			put(q, num, strlen(num));
			break;
		case 'u':
			snprintf(num, sizeof(num), "%u", va_arg(ap, unsigned));
			put(q, num, strlen(num));
			break;
		case 'l':
			if (p[1] == 'd') {
				p++;
				snprintf(num, sizeof(num), "%ld", va_arg(ap, long));
				put(q, num, strlen(num));
			}
			break;
		case '%':
			put(q, "%", 1);
			break;
		default:
			/* an unknown conversion is a programming error: make it visible */
			q->failed = true;
			break;
		}
		if (*p == '\0')
			break;
	}
	va_end(ap);
}

const char *sql_text(const Sql *q)
{
	return q->buf ? q->buf : "";
}

char *sql_take(Sql *q)
{
	char *s = q->buf;
	q->buf = NULL;
	q->len = q->cap = 0;
	return s;
}

static char *quote_with(const char *s, char quote)
{
	size_t n = 2;
	for (const char *p = s; *p; p++)
		n += (*p == quote) ? 2 : 1;
	char *out = xmalloc(n + 1), *o = out;
	*o++ = quote;
	for (const char *p = s; *p; p++) {
		if (*p == quote)
			*o++ = quote;
		*o++ = *p;
	}
	*o++ = quote;
	*o = '\0';
	return out;
}

char *sql_quote_ident_std(void *ctx, const char *s)
{
	(void)ctx;
	return quote_with(s, '"');
}

char *sql_quote_literal_std(void *ctx, const char *s)
{
	(void)ctx;
	/* a backslash makes PostgreSQL's E'' form necessary; standard strings
	 * (standard_conforming_strings=on) take it literally, as here */
	return quote_with(s, '\'');
}

const SqlDialect sql_dialect_std = {
	.quote_ident = sql_quote_ident_std,
	.quote_literal = sql_quote_literal_std,
	.ctx = NULL,
};
