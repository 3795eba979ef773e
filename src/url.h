/*
 * url.h — splitting a database URL: scheme://user:pass@host:port/db?k=v&k=v
 * (user, password and values percent-decoded).  libpq parses postgres://
 * URLs itself; this is for the MySQL client library, which takes the parts.
 */
#ifndef OSC_URL_H
#define OSC_URL_H

#include <stdbool.h>

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

#endif
