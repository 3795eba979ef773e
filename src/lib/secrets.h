/*
 * secrets.h — the passwords osc was given, and masking them out of any text
 * it prints.
 *
 * The connection strings (--database, --database-file, OSC_DATABASE_URL,
 * --replica) are registered once, before any thread starts; every log line,
 * status answer and error osc prints then goes through secrets_mask, which
 * replaces each registered password (as written, and decoded) by "***" and
 * masks user:password@ in any URL the text holds.  The first line of
 * defence is that osc prints URLs through url_masked (src/lib/url.h); this one
 * catches what a client library echoes of a string it could not parse.
 */
#ifndef OSC_SECRETS_H
#define OSC_SECRETS_H

#include <stddef.h>

#define SECRETS_MAX 32
/* Shorter passwords are not searched for in free text: masking every "ab"
 * would garble the log.  URLs are masked whatever the password's length. */
#define SECRETS_MIN_LEN 4

typedef struct Secrets {
	char *value[SECRETS_MAX]; /* owned */
	int n;
} Secrets;

/* Registers one secret (copied; too short or already known: ignored). */
void secrets_add(Secrets *s, const char *value);
/* Registers the secrets of a connection string (NULL: none). */
void secrets_add_conn(Secrets *s, const char *conn);
/* Masks every registered secret and every URL's password in text, in
 * place (the text only gets shorter). */
void secrets_mask(const Secrets *s, char *text);
void secrets_free(Secrets *s);

#endif
