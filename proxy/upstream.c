/*
 * upstream.c — the proxy's --upstream URL: which protocol, where, and
 * whether to speak TLS to the server.
 *
 * postgres[ql]://[user@]host[:port][/db][?sslmode=M&sslrootcert=F&sslcert=F&sslkey=F]
 *   sslmode as libpq reads it (disable, allow and prefer try plaintext or
 *   TLS as libpq would, require, verify-ca, verify-full); default prefer.
 *   A host that begins with '/' is a socket directory (host=%2Fvar%2Frun...).
 * mysql|mariadb://[user@]host[:port][/db][?ssl-mode=M&ssl-ca=F&ssl-cert=F&ssl-key=F]
 *   ssl-mode DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY;
 *   default DISABLED, as osc's own connections.
 * The user and the database in the URL are ignored: every client
 * authenticates itself through the proxy.  A password is refused: the
 * proxy has no use for it, and on the command line anyone can read it.  The host is resolved once, at
 * start, so the loop never blocks on DNS.
 */
#include "proxy_int.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "url.h"

const char *px_tls_mode_name(PxTlsMode m)
{
	switch (m) {
	case PX_TLS_OFF: return "off";
	case PX_TLS_PREFER: return "prefer";
	case PX_TLS_REQUIRE: return "require";
	case PX_TLS_VERIFY_CA: return "verify-ca";
	case PX_TLS_VERIFY_FULL: return "verify-full";
	}
	return "?";
}

static bool copy_param(const Url *url, const char *key, char *out, size_t outsz)
{
	const char *v = url_param(url, key);
	if (v == NULL)
		return true;
	if (strlen(v) >= outsz)
		return false;
	snprintf(out, outsz, "%s", v);
	return true;
}

bool px_upstream_parse(const char *s, PxUpstream *u, char *why, size_t whysz)
{
	Url url;
	const char *mode;

	memset(u, 0, sizeof(*u));
	if (s == NULL || !url_parse(s, &url)) {
		snprintf(why, whysz, "expected a postgres:// or mysql:// URL");
		return false;
	}
	if (url.password[0] || url_param(&url, "password")) {
		snprintf(why, whysz,
		         "the URL holds a password, which the proxy does not use (each client authenticates itself) and "
		         "which the process list would show: leave it out");
		return false;
	}
	if (strcmp(url.scheme, "postgres") == 0 || strcmp(url.scheme, "postgresql") == 0) {
		u->engine = PX_PG;
		u->port = url.port ? url.port : 5432;
		u->tls = PX_TLS_PREFER;
		const char *host = url_param(&url, "host");
		snprintf(u->host, sizeof(u->host), "%s", host ? host : (url.host[0] ? url.host : "localhost"));
		if (!copy_param(&url, "sslrootcert", u->ca, sizeof(u->ca)) ||
		    !copy_param(&url, "sslcert", u->cert, sizeof(u->cert)) ||
		    !copy_param(&url, "sslkey", u->key, sizeof(u->key))) {
			snprintf(why, whysz, "a file name in the URL is too long");
			return false;
		}
		mode = url_param(&url, "sslmode");
		if (mode == NULL || strcmp(mode, "prefer") == 0 || strcmp(mode, "allow") == 0)
			u->tls = PX_TLS_PREFER;
		else if (strcmp(mode, "disable") == 0)
			u->tls = PX_TLS_OFF;
		else if (strcmp(mode, "require") == 0)
			u->tls = PX_TLS_REQUIRE;
		else if (strcmp(mode, "verify-ca") == 0)
			u->tls = PX_TLS_VERIFY_CA;
		else if (strcmp(mode, "verify-full") == 0)
			u->tls = PX_TLS_VERIFY_FULL;
		else {
			snprintf(why, whysz, "sslmode=%s: expected disable, allow, prefer, require, verify-ca or verify-full",
			         mode);
			return false;
		}
		if (u->host[0] == '/')
			u->tls = PX_TLS_OFF; /* a Unix socket: PostgreSQL speaks no TLS there */
	} else if (strcmp(url.scheme, "mysql") == 0 || strcmp(url.scheme, "mariadb") == 0) {
		u->engine = PX_MY;
		u->port = url.port ? url.port : 3306;
		snprintf(u->host, sizeof(u->host), "%s", url.host[0] ? url.host : "127.0.0.1");
		if (!copy_param(&url, "ssl-ca", u->ca, sizeof(u->ca)) ||
		    !copy_param(&url, "ssl-cert", u->cert, sizeof(u->cert)) ||
		    !copy_param(&url, "ssl-key", u->key, sizeof(u->key))) {
			snprintf(why, whysz, "a file name in the URL is too long");
			return false;
		}
		mode = url_param(&url, "ssl-mode");
		if (mode == NULL || strcasecmp(mode, "DISABLED") == 0)
			u->tls = PX_TLS_OFF;
		else if (strcasecmp(mode, "PREFERRED") == 0)
			u->tls = PX_TLS_PREFER;
		else if (strcasecmp(mode, "REQUIRED") == 0)
			u->tls = PX_TLS_REQUIRE;
		else if (strcasecmp(mode, "VERIFY_CA") == 0)
			u->tls = PX_TLS_VERIFY_CA;
		else if (strcasecmp(mode, "VERIFY_IDENTITY") == 0)
			u->tls = PX_TLS_VERIFY_FULL;
		else {
			snprintf(why, whysz,
			         "ssl-mode=%s: expected DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY", mode);
			return false;
		}
	} else {
		snprintf(why, whysz, "unknown scheme '%s' (postgres://, postgresql://, mysql://, mariadb://)", url.scheme);
		return false;
	}
	if (u->port <= 0 || u->port > 65535) {
		snprintf(why, whysz, "port %d is out of range", u->port);
		return false;
	}
	if (u->tls >= PX_TLS_VERIFY_CA && u->ca[0] == '\0') {
		snprintf(why, whysz, "TLS mode %s needs the CA file (%s)", px_tls_mode_name(u->tls),
		         u->engine == PX_PG ? "sslrootcert=" : "ssl-ca=");
		return false;
	}
	return true;
}

bool px_upstream_resolve(PxUpstream *u, char *why, size_t whysz)
{
	if (u->host[0] == '/') {
		struct sockaddr_un *sun = (struct sockaddr_un *)&u->addr;
		memset(sun, 0, sizeof(*sun));
		sun->sun_family = AF_UNIX;
		int n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/.s.PGSQL.%d", u->host, u->port);
		if (n < 0 || (size_t)n >= sizeof(sun->sun_path)) {
			snprintf(why, whysz, "socket directory %s: the path is too long", u->host);
			return false;
		}
		u->addrlen = sizeof(*sun);
		return true;
	}
	struct addrinfo hints, *res = NULL;
	char port[16];
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", u->port);
	int rc = getaddrinfo(u->host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(why, whysz, "cannot resolve %s: %s", u->host, gai_strerror(rc));
		return false;
	}
	memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
	u->addrlen = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}
