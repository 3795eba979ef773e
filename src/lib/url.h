/*
 * url.h — splitting a database URL: scheme://user:pass@host:port/db?k=v&k=v
 * (user, password and values percent-decoded).  libpq parses postgres://
 * URLs itself; this is for the MySQL client library, which takes the parts,
 * and for the proxy's --upstream.
 *
 * And finding the secrets in any connection string osc is given (a URL of
 * either engine, or a libpq `key=value` string), so that they can be masked
 * wherever the string is shown and scrubbed from the process's arguments.
 * Finding errs on the side of hiding too much: a string that does not parse
 * still has its password found (its error message must not show it).
 */
#ifndef OSC_URL_H
#define OSC_URL_H

#include <stdbool.h>
#include <stddef.h>

#define URL_MAX_PARAMS 16

typedef struct Url {
	char scheme[32];
	char user[256], password[256], host[256], db[256];
	int port;                /* 0: not given */
	int nparams;
	char key[URL_MAX_PARAMS][64];
	char value[URL_MAX_PARAMS][512];
} Url;

bool url_parse(const char *s, Url *u);
const char *url_param(const Url *u, const char *key);

/* A secret inside a connection string: bytes [off, off+len). */
typedef struct UrlSpan {
	size_t off, len;
	bool pct;     /* percent-encoded (a URL part), else backslash-escaped (libpq key=value) */
} UrlSpan;

#define URL_MAX_SPANS 8

/* The secrets of one connection string, in order: a URL's password
 * (everything between the first ':' after "://" and the last '@') and the
 * value of every query parameter or key=value pair whose key names a
 * password ("pass" or "pwd" in it: password, sslpassword, ...).  Returns
 * how many were found (at most max). */
int url_secret_spans(const char *s, UrlSpan *out, int max);
/* A copy of s with every secret replaced by "***" (malloc'd; the caller
 * frees it).  NULL gives "". */
char *url_masked(const char *s);
/* Overwrites every secret of s in place with 'x' (the same length): how a
 * password given on the command line leaves `ps`. */
void url_scrub(char *s);
/* The decoded value of a span (percent-decoded, or unescaped) into out;
 * false when it does not fit. */
bool url_span_value(const char *s, const UrlSpan *sp, char *out, size_t outsz);
/* In free text (a message), masks the password of every scheme://user:pw@
 * and the value of every password=... (libpq's key=value form, a query
 * parameter) found, in place: for connection strings nobody registered as
 * secret.  The text only gets shorter. */
void url_mask_text(char *text);

#endif
