/*
 * proxy_hold.c — the migration's side of `osc proxy`.
 *
 * Without a proxy the swap competes with the application for the table's
 * lock: it waits at most --lock-timeout, backs off and retries, and a busy
 * table can make every attempt fail.  With `--proxy PATH`, right before each
 * swap attempt osc asks the proxy the application connects through to HOLD:
 * every session is kept at the start of its next request once it is idle,
 * so when the proxy answers "drained" no application transaction is open
 * through it and the lock is free.  osc swaps, then RELEASEs, and the held
 * requests go on in their order of arrival, onto the new table.  The
 * application waited for the drain and the swap, and saw no error.
 *
 * What the proxy cannot hold the lock timeout still handles, as without the
 * proxy: sessions that connect to the database directly, and transactions
 * longer than the proxy's drain timeout (it then answers "not-drained" and
 * names them; the swap goes ahead, the log says so).  If osc dies while
 * holding, its admin connection closes and the proxy releases at once; if it
 * hangs, the proxy's --max-hold releases.  The hold never decides whether the
 * swap is correct, only how long the application waits for it.
 */
#include "proxy_hold.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "duration.h"
#include "fault.h"
#include "proxy.h"

#define HOLD_ANSWER_MS 60000 /* the proxy answers within its drain timeout; this bounds a broken one */
#define MINE_MAX 64

/* The server ids of the sessions that come through the proxy ("sessions"). */
static bool proxy_ids(const char *path, const char *engine, uint32_t **ids, int *n, OscErr *e)
{
	int fd;
	char *line = NULL;
	bool ok = false;
	*ids = NULL;
	*n = 0;
	if (!px_client_connect(path, &fd, e))
		return false;
	if ((line = px_client_ask(fd, "sessions", 5000, e)) == NULL)
		goto out;
	size_t el = strlen(engine);
	if (strncmp(line, "ok ", 3) != 0 || strncmp(line + 3, engine, el) != 0 ||
	    (line[3 + el] != ' ' && line[3 + el] != '\0')) {
		err_set(e, OSC_EXIT_INPUT, "the osc proxy on %s is not a %s proxy (it says: %.100s)", path, engine, line);
		goto out;
	}
	int cap = 0;
	for (char *p = line + 3 + el; *p;) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p) {
			p++;
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			uint32_t *grown = realloc(*ids, (size_t)cap * sizeof(**ids));
			if (grown == NULL) {
				err_set(e, OSC_EXIT_FAILED, "out of memory");
				goto out;
			}
			*ids = grown;
		}
		(*ids)[(*n)++] = (uint32_t)v;
		p = end;
	}
	ok = true;
out:
	close(fd);
	free(line);
	if (!ok) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return ok;
}

/* "address:port" of each TCP socket of this process: osc's own sessions
 * (its main connection, the monitor's, the swap's second one) are no
 * application's. */
static int my_sockets(char **out, int max)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || fd == dirfd(d))
			continue;
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char addr[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 8];
		if (getsockname((int)fd, (struct sockaddr *)&ss, &len) != 0)
			continue;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
			snprintf(buf, sizeof(buf), "%s:%d", addr, ntohs(in->sin_port));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
			snprintf(buf, sizeof(buf), "%s:%d", addr, ntohs(in6->sin6_port));
		} else {
			continue;
		}
		out[n] = strdup(buf);
		if (out[n])
			n++;
	}
	closedir(d);
	return n;
}

/* Sessions on the table that bypass the proxy: how many (-1: unknown),
 * described in out. */
static int bypass(Osc *o, char *out, size_t outsz)
{
	OscErr e;
	uint32_t *ids;
	int nids;
	char *mine[MINE_MAX];
	err_clear(&e);
	if (!proxy_ids(o->opt.proxy_socket, o->engine->name, &ids, &nids, &e)) {
		snprintf(out, outsz, "%s", e.msg);
		return -1;
	}
	int nmine = my_sockets(mine, MINE_MAX);
	int n = o->engine->proxy_bypass(o->table, ids, nids, mine, nmine, out, outsz);
	for (int i = 0; i < nmine; i++)
		free(mine[i]);
	free(ids);
	return n;
}

static void warn_bypass(Osc *o)
{
	char what[2048];
	int n = bypass(o, what, sizeof(what));
	if (n < 0)
		log_msg(&o->log, LOG_WARN, "proxy: cannot tell which sessions bypass it: %s", what);
	else if (n > 0)
		log_msg(&o->log, LOG_WARN,
		        "proxy: %d session(s) on %s do not come through the proxy, which cannot hold them: %s; the swap "
		        "waits for them under --lock-timeout, as without the proxy",
		        n, o->opt.table, what);
}

bool proxy_hold_check(Osc *o, OscErr *e)
{
	uint32_t *ids;
	int n;
	if (o->opt.proxy_socket == NULL)
		return true;
	if (!proxy_ids(o->opt.proxy_socket, o->engine->name, &ids, &n, e)) {
		/* bad input for a new run; a resumed one keeps what it has and
		 * stops, to go on when the proxy is back */
		if (o->resume == RESUME_NONE)
			err_wrap(e, OSC_EXIT_INPUT, "--proxy: ", "");
		else
			err_wrap(e, OSC_EXIT_STOPPED, "--proxy: ", "; stopped: rerun once the proxy answers");
		return false;
	}
	free(ids);
	log_msg(&o->log, LOG_INFO, "proxy: %s answers (%d session(s) through it); the swap will hold them",
	        o->opt.proxy_socket, n);
	warn_bypass(o);
	return true;
}

void proxy_hold_begin(Osc *o, ProxyHold *h)
{
	OscErr e;
	char *line;
	h->fd = -1;
	h->since_ms = now_ms();
	if (o->opt.proxy_socket == NULL)
		return;
	err_clear(&e);
	if (!px_client_connect(o->opt.proxy_socket, &h->fd, &e)) {
		log_msg(&o->log, LOG_WARN, "proxy: cannot hold the application (%s): swapping without the hold", e.msg);
		return;
	}
	if ((line = px_client_ask(h->fd, "hold", HOLD_ANSWER_MS, &e)) == NULL) {
		log_msg(&o->log, LOG_WARN, "proxy: the hold failed (%s): swapping without it", e.msg);
		close(h->fd);
		h->fd = -1;
		return;
	}
	char took[32];
	duration_format(took, sizeof(took), now_ms() - h->since_ms);
	int sessions = 0;
	if (strncmp(line, "drained", 7) == 0) {
		if (sscanf(line, "drained sessions=%d", &sessions) != 1)
			sessions = -1;
		log_msg(&o->log, LOG_INFO, "proxy: the application is held: its %d session(s) idle after %s; swapping",
		        sessions, took);
	} else if (strncmp(line, "not-drained", 11) == 0) {
		log_msg(&o->log, LOG_WARN,
		        "proxy: not drained after %s, falling back to the lock timeout for what is still busy (the others "
		        "stay held): %s",
		        took, line + 12);
		warn_bypass(o);
	} else {
		log_msg(&o->log, LOG_WARN, "proxy: unexpected answer to hold (%s): swapping without it", line);
		free(line);
		close(h->fd);
		h->fd = -1;
		return;
	}
	free(line);
	fault_point(o, "proxy-held");
}

void proxy_hold_end(Osc *o, ProxyHold *h)
{
	OscErr e;
	char *line;
	if (h->fd < 0)
		return;
	err_clear(&e);
	if ((line = px_client_ask(h->fd, "release", 10000, &e)) != NULL) {
		long long held;
		int sessions, requests;
		if (strncmp(line, "released max-hold", 17) == 0)
			log_msg(&o->log, LOG_WARN, "proxy: the proxy had released by itself (its --max-hold): %s", line);
		else if (sscanf(line, "released held_ms=%lld sessions=%d requests=%d", &held, &sessions, &requests) == 3)
			log_msg(&o->log, LOG_INFO, "proxy: released the application after %lldms (%d request(s) had waited)",
			        held, requests);
		else
			log_msg(&o->log, LOG_WARN, "proxy: unexpected answer to release: %s", line);
		free(line);
	} else {
		/* closing the connection releases too */
		log_msg(&o->log, LOG_WARN, "proxy: release: %s (the proxy releases when the connection closes)", e.msg);
	}
	close(h->fd);
	h->fd = -1;
}

void proxy_hold_plan(Osc *o, Plan *p)
{
	char what[2048];
	if (o->opt.proxy_socket == NULL)
		return;
	int n = bypass(o, what, sizeof(what));
	if (n < 0)
		plan_warn(p, true, "--proxy %s: %s: the swap would not be held", o->opt.proxy_socket, what);
	else if (n > 0)
		plan_warn(p, false,
		          "%d session(s) on %s do not come through the proxy %s, which cannot hold them for the swap: %s",
		          n, o->opt.table, o->opt.proxy_socket, what);
}
