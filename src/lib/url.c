/*
 * url.c — database URL parsing, and the secrets in a connection string (see
 * url.h).
 */
#include "url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

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

/* ------------------------------------------------------------ secrets */

/* A key that names a password: password, sslpassword, pass, pwd, ...
 * (a key that only looks like one, such as passfile, is masked too: hiding
 * a path costs nothing). */
static bool secret_key(const char *k, size_t n)
{
	for (size_t i = 0; i + 3 <= n; i++) {
		if (strncasecmp(k + i, "pwd", 3) == 0)
			return true;
		if (i + 4 <= n && strncasecmp(k + i, "pass", 4) == 0)
			return true;
	}
	return false;
}

static void add_span(UrlSpan *out, int max, int *n, size_t off, size_t len, bool pct)
{
	if (len == 0 || *n >= max)
		return;
	out[*n].off = off;
	out[*n].len = len;
	out[*n].pct = pct;
	(*n)++;
}

int url_secret_spans(const char *s, UrlSpan *out, int max)
{
	int n = 0;
	if (s == NULL)
		return 0;
	const char *sep = strstr(s, "://");
	if (sep) {
		/* the last '@' ends the user part: a password may hold '@', '/',
		 * '?' or ':' unencoded, and a string that does not parse still
		 * has its password hidden (an '@' further on hides too much, which
		 * is the safe way to be wrong) */
		const char *auth = sep + 3;
		const char *at = strrchr(auth, '@');
		const char *q;
		if (at) {
			const char *colon = memchr(auth, ':', (size_t)(at - auth));
			if (colon)
				add_span(out, max, &n, (size_t)(colon + 1 - s), (size_t)(at - colon - 1), true);
			q = strchr(at + 1, '?');
		} else {
			q = strchr(auth, '?');
		}
		for (const char *p = q ? q + 1 : ""; *p;) {
			const char *amp = p + strcspn(p, "&");
			const char *eq = memchr(p, '=', (size_t)(amp - p));
			if (eq && secret_key(p, (size_t)(eq - p)))
				add_span(out, max, &n, (size_t)(eq + 1 - s), (size_t)(amp - eq - 1), true);
			p = *amp ? amp + 1 : amp;
		}
		return n;
	}
	/* libpq's key = value [key = value ...]; a value is bare up to white
	 * space, or in single quotes; a backslash escapes in both */
	const char *p = s;
	while (*p) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		const char *k = p;
		while (*p && !isspace((unsigned char)*p) && *p != '=')
			p++;
		size_t klen = (size_t)(p - k);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=')
			continue; /* malformed: libpq says so, naming the key alone */
		p++;
		while (isspace((unsigned char)*p))
			p++;
		const char *v = p;
		if (*p == '\'') {
			v = ++p;
			while (*p && *p != '\'') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
		} else {
			while (*p && !isspace((unsigned char)*p)) {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
		}
		if (secret_key(k, klen))
			add_span(out, max, &n, (size_t)(v - s), (size_t)(p - v), false);
		if (*p == '\'')
			p++;
	}
	return n;
}

char *url_masked(const char *s)
{
	UrlSpan sp[URL_MAX_SPANS];
	if (s == NULL)
		s = "";
	int n = url_secret_spans(s, sp, URL_MAX_SPANS);
	char *out = xmalloc(strlen(s) + 3 * (size_t)n + 1);
	size_t o = 0, at = 0;
	for (int i = 0; i < n; i++) {
		memcpy(out + o, s + at, sp[i].off - at);
		o += sp[i].off - at;
		memcpy(out + o, "***", 3);
		o += 3;
		at = sp[i].off + sp[i].len;
	}
	strcpy(out + o, s + at);
	return out;
}

void url_scrub(char *s)
{
	UrlSpan sp[URL_MAX_SPANS];
	int n = url_secret_spans(s, sp, URL_MAX_SPANS);
	for (int i = 0; i < n; i++)
		memset(s + sp[i].off, 'x', sp[i].len);
}

bool url_span_value(const char *s, const UrlSpan *sp, char *out, size_t outsz)
{
	if (sp->pct)
		return decode(s + sp->off, sp->len, out, outsz);
	size_t o = 0;
	for (size_t i = 0; i < sp->len; i++) {
		char c = s[sp->off + i];
		if (c == '\\' && i + 1 < sp->len)
			c = s[sp->off + ++i];
		if (o + 1 >= outsz)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

/* Replaces [p, p+len) of text by "***" (or '*'s when shorter than that). */
static void mask_range(char *p, size_t len)
{
	if (len >= 3) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + len, strlen(p + len) + 1);
	} else {
		memset(p, '*', len);
	}
}

void url_mask_text(char *text)
{
	/* scheme://user:password@: the token ends at white space or a quote */
	for (char *sep = strstr(text, "://"); sep; sep = strstr(sep + 3, "://")) {
		char *start = sep + 3;
		size_t tok = strcspn(start, " \t\r\n'\"`<>");
		char *at = NULL, *colon = NULL;
		for (char *p = start; p < start + tok; p++)
			if (*p == '@')
				at = p;
		if (at)
			colon = memchr(start, ':', (size_t)(at - start));
		if (colon == NULL || at == colon + 1)
			continue;
		mask_range(colon + 1, (size_t)(at - colon - 1));
	}
	/* password=value, sslpassword = 'value': libpq's key=value strings
	 * and URL query parameters quoted in a message */
	for (char *k = strstr(text, "password"); k; k = strstr(k + 1, "password")) {
		char *p = k + 8;
		while (*p == ' ')
			p++;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ')
			p++;
		char *v = p;
		if (*p == '\'') {
			v = ++p;
			while (*p && *p != '\'') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
		} else {
			while (*p && !strchr(" \t\r\n'\"`<>),;&", *p)) {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
		}
		if (p > v && strncmp(v, "***", 3) != 0)
			mask_range(v, (size_t)(p - v));
	}
}
