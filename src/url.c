/*
 * url.c — database URL parsing (see url.h).
 */
#include "url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Copies [s, s+n) into out, decoding %XX.  False when it does not fit or a
 * %-escape is malformed. */
static bool decode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return false;
			int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
			if (h < 0 || l < 0)
				return false;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (o + 1 >= outsz)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

bool url_parse(const char *s, Url *u)
{
	memset(u, 0, sizeof(*u));
	const char *sep = strstr(s, "://");
	if (sep == NULL || (size_t)(sep - s) >= sizeof(u->scheme))
		return false;
	memcpy(u->scheme, s, (size_t)(sep - s));
	const char *p = sep + 3;
	const char *end = p + strcspn(p, "/?");
	const char *at = NULL;
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q; /* the last @: a password may hold one, encoded or not */
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon) {
			if (!decode(p, (size_t)(colon - p), u->user, sizeof(u->user)) ||
			    !decode(colon + 1, (size_t)(at - colon - 1), u->password, sizeof(u->password)))
				return false;
		} else if (!decode(p, (size_t)(at - p), u->user, sizeof(u->user))) {
			return false;
		}
		p = at + 1;
	}
	const char *hostend = end;
	if (*p == '[') { /* [::1]:3306 */
		const char *rb = memchr(p, ']', (size_t)(end - p));
		if (rb == NULL)
			return false;
		if (!decode(p + 1, (size_t)(rb - p - 1), u->host, sizeof(u->host)))
			return false;
		p = rb + 1;
		if (p < end && *p != ':')
			return false;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		hostend = colon ? colon : end;
		if (!decode(p, (size_t)(hostend - p), u->host, sizeof(u->host)))
			return false;
		p = hostend;
	}
	if (p < end && *p == ':') {
		char *e;
		long port = strtol(p + 1, &e, 10);
		if (e != end || port <= 0 || port > 65535)
			return false;
		u->port = (int)port;
	}
	p = end;
	if (*p == '/') {
		const char *dbend = p + 1 + strcspn(p + 1, "?");
		if (!decode(p + 1, (size_t)(dbend - p - 1), u->db, sizeof(u->db)))
			return false;
		p = dbend;
	}
	if (*p == '?') {
		p++;
		while (*p) {
			if (u->nparams >= URL_MAX_PARAMS)
				return false;
			const char *amp = p + strcspn(p, "&");
			const char *eq = memchr(p, '=', (size_t)(amp - p));
			if (eq == NULL)
				return false;
			if (!decode(p, (size_t)(eq - p), u->key[u->nparams], sizeof(u->key[0])) ||
			    !decode(eq + 1, (size_t)(amp - eq - 1), u->value[u->nparams], sizeof(u->value[0])))
				return false;
			u->nparams++;
			p = *amp ? amp + 1 : amp;
		}
	}
	return true;
}

const char *url_param(const Url *u, const char *key)
{
	for (int i = 0; i < u->nparams; i++)
		if (strcmp(u->key[i], key) == 0)
			return u->value[i];
	return NULL;
}
