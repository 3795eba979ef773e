/*
 * xalloc.h — the one allocation wrapper.
 *
 * osc's memory is small and bounded (rows stream through the server, never
 * through osc), so running out of it means the machine is in trouble, not
 * that a migration step failed: these abort() instead of returning NULL,
 * and no caller checks for NULL.  Every result is the caller's to free().
 */
#ifndef OSC_XALLOC_H
#define OSC_XALLOC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* NULL stays NULL */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new string */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* open_memstream: a FILE writing into *buf, which is the caller's to free()
 * after fclose() */
FILE *xopen_memstream(char **buf, size_t *len);

#endif
