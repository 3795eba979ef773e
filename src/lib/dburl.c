/*
 * dburl.c — checking a database URL before any connection, and the
 * migration's target without secrets (see dburl.h).
 */
#include "dburl.h"

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "url.h"

/* The parameters the MySQL connection reads (src/my/my_conn.c). */
static const char *const my_known[] = { "ssl-mode", "ssl-ca", "ssl-cert", "ssl-key" };
#define MY_NKNOWN (sizeof(my_known) / sizeof(my_known[0]))
static const char *const my_modes[] = { "DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY" };

static bool is_mysql(const char *url)
{
	return url && (strncmp(url, "mysql://", 8) == 0 || strncmp(url, "mariadb://", 10) == 0);
}

/* Lower case, without '-' and '_': ssl_mode, SSLMODE and ssl-mode meet. */
static void squash(const char *s, char *out, size_t outsz)
{
	size_t o = 0;
	for (; *s && o + 1 < outsz; s++)
		if (*s != '-' && *s != '_')
			out[o++] = (char)tolower((unsigned char)*s);
	out[o] = '\0';
}

/* Hides every secret of url in msg, however short (this text is an error
 * about url itself, so garbling it a little is better than a leak), then
 * any URL's password. */
static void mask_all(char *msg, const char *url)
{
	UrlSpan sp[URL_MAX_SPANS];
	int n = url_secret_spans(url, sp, URL_MAX_SPANS);
	for (int i = 0; i < n; i++) {
		char raw[512], plain[512];
		snprintf(raw, sizeof(raw), "%.*s", (int)sp[i].len, url + sp[i].off);
		const char *forms[2] = { raw, url_span_value(url, &sp[i], plain, sizeof(plain)) ? plain : NULL };
		for (int f = 0; f < 2; f++) {
			size_t len = forms[f] ? strlen(forms[f]) : 0;
			if (len == 0)
				continue;
			for (char *p = strstr(msg, forms[f]); p; p = strstr(p + 1, forms[f]))
				memset(p, '*', len);
		}
	}
	url_mask_text(msg);
}

static bool check_mysql(const char *what, const char *url, OscErr *e)
{
	Url u;
	char *shown = url_masked(url);
	bool ok = false;

	if (!url_parse(url, &u)) {
		err_set(e, OSC_EXIT_INPUT,
		        "%s: cannot read '%s' as mysql://user@host:port/db?ssl-mode=...&ssl-ca=FILE (with a password "
		        "after the user and a colon; @ : / ? & %% in it are written %%XX)",
		        what, shown);
		goto out;
	}
	for (int i = 0; i < u.nparams; i++) {
		size_t k;
		for (k = 0; k < MY_NKNOWN; k++)
			if (strcmp(u.key[i], my_known[k]) == 0)
				break;
		if (k == MY_NKNOWN) {
			char a[64], b[64], hint[96] = "";
			squash(u.key[i], a, sizeof(a));
			for (k = 0; k < MY_NKNOWN; k++) {
				squash(my_known[k], b, sizeof(b));
				if (strcmp(a, b) == 0)
					snprintf(hint, sizeof(hint), " (did you mean %s?)", my_known[k]);
			}
			err_set(e, OSC_EXIT_INPUT,
			        "%s: unknown parameter '%s'%s in the MySQL URL '%s'; osc knows ssl-mode "
			        "(DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY), ssl-ca, ssl-cert and ssl-key, "
			        "e.g. ?ssl-mode=VERIFY_IDENTITY&ssl-ca=/path/ca.pem; nothing was done",
			        what, u.key[i], hint, shown);
			goto out;
		}
		for (int j = 0; j < i; j++)
			if (strcmp(u.key[i], u.key[j]) == 0) {
				err_set(e, OSC_EXIT_INPUT, "%s: '%s' is given twice in the MySQL URL '%s'; give it once", what,
				        u.key[i], shown);
				goto out;
			}
		if (u.value[i][0] == '\0') {
			err_set(e, OSC_EXIT_INPUT, "%s: '%s' has no value in the MySQL URL '%s'", what, u.key[i], shown);
			goto out;
		}
	}
	const char *mode = url_param(&u, "ssl-mode");
	if (mode) {
		size_t m;
		for (m = 0; m < sizeof(my_modes) / sizeof(my_modes[0]); m++)
			if (strcasecmp(mode, my_modes[m]) == 0)
				break;
		if (m == sizeof(my_modes) / sizeof(my_modes[0])) {
			err_set(e, OSC_EXIT_INPUT,
			        "%s: unknown ssl-mode '%s' (DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY)", what,
			        mode);
			goto out;
		}
	}
	ok = true;
out:
	/* the parsed password is not left on the stack longer than needed */
	memset(u.password, 0, sizeof(u.password));
	free(shown);
	return ok;
}

/* libpq's keywords, comma-separated, without its debug-only ones. */
static void pg_keywords(char *out, size_t outsz)
{
	PQconninfoOption *opts = PQconndefaults();
	size_t o = 0;
	out[0] = '\0';
	for (PQconninfoOption *p = opts; p && p->keyword && o < outsz; p++) {
		if (p->dispchar && strchr(p->dispchar, 'D'))
			continue;
		o += (size_t)snprintf(out + o, outsz - o, "%s%s", o ? ", " : "", p->keyword);
	}
	PQconninfoFree(opts);
}

static bool check_pg(const char *what, const char *url, OscErr *e)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &err);
	if (opts) {
		PQconninfoFree(opts);
		return true;
	}
	char msg[1024];
	snprintf(msg, sizeof(msg), "%s", err ? err : "out of memory");
	PQfreemem(err);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	mask_all(msg, url);
	char *shown = url_masked(url);
	if (strstr(msg, "parameter") || strstr(msg, "option")) {
		char known[1200];
		pg_keywords(known, sizeof(known));
		err_set(e, OSC_EXIT_INPUT,
		        "%s: %s in '%s'; libpq knows %s (TLS: sslmode=require|verify-ca|verify-full, "
		        "sslrootcert=FILE); nothing was done",
		        what, msg, shown, known);
	} else if (strstr(msg, "://")) {
		err_set(e, OSC_EXIT_INPUT, "%s: %s; nothing was done", what, msg); /* libpq quoted it (masked above) */
	} else {
		err_set(e, OSC_EXIT_INPUT, "%s: %s in '%s'; nothing was done", what, msg, shown);
	}
	free(shown);
	return false;
}

bool dburl_check(const char *what, const char *url, OscErr *e)
{
	if (url == NULL || *url == '\0')
		return true;
	return is_mysql(url) ? check_mysql(what, url, e) : check_pg(what, url, e);
}

/* The first non-empty of a, b, c. */
static const char *first(const char *a, const char *b, const char *c)
{
	if (a && *a)
		return a;
	if (b && *b)
		return b;
	return c ? c : "";
}

void dburl_target(const char *url, const TableName *t, char *out, size_t outsz)
{
	const char *table = t ? t->table : "";
	if (is_mysql(url)) {
		Url u;
		if (!url_parse(url, &u))
			memset(&u, 0, sizeof(u));
		/* the client library's defaults: localhost (its socket), 3306 */
		snprintf(out, outsz, "mysql\n%s\n%d\n%s\n\n%s", u.host[0] ? u.host : "localhost", u.port ? u.port : 3306,
		         t && t->schema[0] ? t->schema : u.db, table);
		memset(u.password, 0, sizeof(u.password));
		return;
	}
	/* libpq's order: the string, then PG* variables, then its defaults
	 * (the local socket, 5432, a database named after the user) */
	const char *host = NULL, *hostaddr = NULL, *port = NULL, *db = NULL, *user = NULL, *service = NULL;
	PQconninfoOption *opts = url && *url ? PQconninfoParse(url, NULL) : NULL;
	for (PQconninfoOption *p = opts; p && p->keyword; p++) {
		if (p->val == NULL)
			continue;
		if (strcmp(p->keyword, "host") == 0)
			host = p->val;
		else if (strcmp(p->keyword, "hostaddr") == 0)
			hostaddr = p->val;
		else if (strcmp(p->keyword, "port") == 0)
			port = p->val;
		else if (strcmp(p->keyword, "dbname") == 0)
			db = p->val;
		else if (strcmp(p->keyword, "user") == 0)
			user = p->val;
		else if (strcmp(p->keyword, "service") == 0)
			service = p->val;
	}
	char osuser[256] = "";
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &pwp) == 0 && pwp)
		snprintf(osuser, sizeof(osuser), "%s", pw.pw_name);
	user = first(user, getenv("PGUSER"), osuser);
	host = first(host, hostaddr, first(getenv("PGHOST"), getenv("PGHOSTADDR"), ""));
	snprintf(out, outsz, "postgresql\n%s%s%s\n%s\n%s\n%s\n%s", first(service, getenv("PGSERVICE"), ""),
	         first(service, getenv("PGSERVICE"), "")[0] ? "/" : "", host, first(port, getenv("PGPORT"), "5432"),
	         first(db, getenv("PGDATABASE"), user), t && t->schema[0] ? t->schema : "public", table);
	PQconninfoFree(opts);
}
