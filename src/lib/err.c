/*
 * err.c — filling an OscErr.  Messages are truncated, never overflowed.
 */
#include "err.h"

#include <stdio.h>
#include <string.h>

void err_clear(OscErr *e)
{
	memset(e, 0, sizeof(*e));
}

void err_set(OscErr *e, OscExit code, const char *fmt, ...)
{
	va_list ap;

	e->exit = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	/* one line for the operator: the database's messages end in newlines */
	size_t n = strlen(e->msg);
	while (n > 0 && (e->msg[n - 1] == '\n' || e->msg[n - 1] == ' '))
		e->msg[--n] = '\0';
}

void err_wrap(OscErr *e, OscExit code, const char *before, const char *after)
{
	char msg[sizeof(e->msg)];
	snprintf(msg, sizeof(msg), "%s", e->msg);
	err_set(e, code, "%s%s%s", before, msg, after);
}

void err_replace(OscErr *e, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);
	char *at, *p = e->msg;
	if (fl == 0 || tl > fl)
		return;
	while ((at = strstr(p, from)) != NULL) {
		memcpy(at, to, tl);
		memmove(at + tl, at + fl, strlen(at + fl) + 1);
		p = at + tl;
	}
}

void err_detail(OscErr *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
}
