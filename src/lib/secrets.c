/*
 * secrets.c — registered passwords and masking them (see secrets.h).
 *
 * Masking only ever shortens the text: every registered secret is at least
 * SECRETS_MIN_LEN (> 3) bytes and becomes "***", so it works in place in the
 * caller's buffer, whatever its size.
 */
#include "secrets.h"

#include <stdlib.h>
#include <string.h>

#include "url.h"
#include "xalloc.h"

void secrets_add(Secrets *s, const char *value)
{
	if (value == NULL || strlen(value) < SECRETS_MIN_LEN || s->n >= SECRETS_MAX)
		return;
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->value[i], value) == 0)
			return;
	s->value[s->n++] = xstrdup(value);
}

void secrets_add_conn(Secrets *s, const char *conn)
{
	UrlSpan sp[URL_MAX_SPANS];
	int n = url_secret_spans(conn, sp, URL_MAX_SPANS);
	for (int i = 0; i < n; i++) {
		char *raw = xstrndup(conn + sp[i].off, sp[i].len);
		char *plain = xmalloc(sp[i].len + 1);
		secrets_add(s, raw);
		if (url_span_value(conn, &sp[i], plain, sp[i].len + 1))
			secrets_add(s, plain);
		free(raw);
		free(plain);
	}
}

void secrets_mask(const Secrets *s, char *text)
{
	for (int i = 0; i < s->n; i++) {
		size_t len = strlen(s->value[i]);
		for (char *p = strstr(text, s->value[i]); p; p = strstr(p + 3, s->value[i])) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + len, strlen(p + len) + 1);
		}
	}
	url_mask_text(text);
}

void secrets_free(Secrets *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->value[i]);
	s->n = 0;
}
