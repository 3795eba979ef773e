/*
 * admin.c — the proxy's admin socket: a Unix socket that osc (and
 * `osc proxy status|hold`) talk to in lines.
 *
 *   status [json]   the proxy's state (status.c); the connection then closes
 *   sessions        "ok <engine> <server id>...": the backend pids / connection
 *                   ids of the sessions that come through the proxy
 *   hold            turns the hold on; answered "drained ..." or, after the
 *                   drain timeout, "not-drained ...: <busy sessions>"; the
 *                   connection stays open, and closing it releases (dead man)
 *   release         "released held_ms=N requests=N", then the connection closes
 *
 * The socket is made safely: a path that exists must be a socket owned by
 * this user that no live proxy answers on (then it is replaced), its
 * directory must not be writable by others unless sticky, and it is created
 * 0600.  Every connection's peer uid is checked (SO_PEERCRED): only this
 * user (and root) may hold the application.
 */
#include "proxy_int.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xalloc.h"

#define ADMIN_LINE_MAX 1024

static void admin_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	free(arg);
}

static void admin_close(PxAdmin *a)
{
	Proxy *px = a->px;
	if (a->bev == NULL)
		return;
	if (a->holder)
		px_hold_end(a->holder, "closed"); /* the holder went away: release */
	bufferevent_free(a->bev);
	a->bev = NULL;
	if (a->prev)
		a->prev->next = a->next;
	else
		px->admins = a->next;
	if (a->next)
		a->next->prev = a->prev;
	struct timeval now = { 0, 0 };
	if (event_base_once(px->base, -1, EV_TIMEOUT, admin_reap, a, &now) != 0)
		log_msg(&px->log, LOG_WARN, "admin connection: cannot schedule its release (leaked)");
}

static void on_admin_write(struct bufferevent *bev, void *arg)
{
	PxAdmin *a = arg;
	if (a->done && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		admin_close(a);
}

void px_admin_say(PxAdmin *a, bool close, const char *fmt, ...)
{
	va_list ap;
	if (a == NULL || a->bev == NULL)
		return;
	struct evbuffer *out = bufferevent_get_output(a->bev);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\n", 1);
	if (close) {
		a->done = true;
		bufferevent_disable(a->bev, EV_READ);
	}
}

static void cmd_status(PxAdmin *a, const char *args)
{
	struct evbuffer *out = bufferevent_get_output(a->bev);
	if (strcmp(args, "json") == 0)
		px_status_json(a->px, out);
	else
		px_status_text(a->px, out);
	a->done = true;
	bufferevent_disable(a->bev, EV_READ);
}

static void cmd_sessions(PxAdmin *a, const char *args)
{
	(void)args;
	struct evbuffer *out = bufferevent_get_output(a->bev);
	evbuffer_add_printf(out, "ok %s", a->px->up.engine == PX_PG ? "postgresql" : "mysql");
	for (PxSession *s = a->px->sessions; s; s = s->next)
		if (s->server_id)
			evbuffer_add_printf(out, " %u", s->server_id);
	evbuffer_add(out, "\n", 1);
	a->done = true;
	bufferevent_disable(a->bev, EV_READ);
}

static void cmd_hold(PxAdmin *a, const char *args)
{
	(void)args;
	if (a->holder) {
		px_admin_say(a, false, "error this connection holds already");
		return;
	}
	px_hold_begin(a->px, a);
}

static void cmd_release(PxAdmin *a, const char *args)
{
	(void)args;
	Proxy *px = a->px;
	if (a->holder == NULL) {
		px_admin_say(a, true, "error not holding");
		return;
	}
	int requests = 0;
	for (PxSession *s = px->sessions; s; s = s->next)
		requests += s->held;
	long long held = (long long)(px_now_ms() - a->holder->since_ms);
	bool last = px->holders == a->holder && a->holder->next == NULL;
	px_hold_end(a->holder, "release");
	px_admin_say(a, true, "released held_ms=%lld sessions=%d requests=%d%s", held, px->nsessions, requests,
	             last ? "" : " (another holder keeps the sessions)");
}

static const struct {
	const char *name;
	void (*fn)(PxAdmin *a, const char *args);
} commands[] = {
	{ "status", cmd_status },
	{ "sessions", cmd_sessions },
	{ "hold", cmd_hold },
	{ "release", cmd_release },
};

static void on_admin_read(struct bufferevent *bev, void *arg)
{
	PxAdmin *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t n;
	while (!a->done && a->bev && (line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		char *args = line + strcspn(line, " ");
		if (*args)
			*args++ = '\0';
		size_t k = 0;
		for (; k < sizeof(commands) / sizeof(commands[0]); k++)
			if (strcmp(commands[k].name, line) == 0)
				break;
		if (k < sizeof(commands) / sizeof(commands[0]))
			commands[k].fn(a, args);
		else
			px_admin_say(a, true, "error unknown command '%.40s' (status [json], sessions, hold, release)", line);
		free(line);
	}
	if (!a->done && a->bev && evbuffer_get_length(in) > ADMIN_LINE_MAX)
		px_admin_say(a, true, "error line too long");
	if (a->done && a->bev)
		on_admin_write(a->bev, a);
}

static void on_admin_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		admin_close(arg);
}

static void on_admin_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
	(void)l;
	(void)sa;
	(void)len;
	Proxy *px = arg;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 || (cred.uid != geteuid() && cred.uid != 0)) {
		static const char no[] = "error permission denied: not the proxy's user\n";
		log_msg(&px->log, LOG_WARN, "admin socket: refused a connection from uid %ld (pid %ld)",
		        cl == sizeof(cred) ? (long)cred.uid : -1L, cl == sizeof(cred) ? (long)cred.pid : -1L);
		if (write(fd, no, sizeof(no) - 1) < 0) {
			/* nothing to do: the connection is refused either way */
		}
		close(fd);
		return;
	}
	PxAdmin *a = xcalloc(1, sizeof(*a));
	a->px = px;
	a->bev = bufferevent_socket_new(px->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (a->bev == NULL) {
		close(fd);
		free(a);
		return;
	}
	a->next = px->admins;
	if (px->admins)
		px->admins->prev = a;
	px->admins = a;
	bufferevent_setcb(a->bev, on_admin_read, on_admin_write, on_admin_event, a);
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
}

/* The directory that will hold the socket: others must not be able to
 * replace what is in it (writable by others only with the sticky bit). */
static bool safe_dir(const char *path, OscErr *e)
{
	char buf[108];
	struct stat st;
	snprintf(buf, sizeof(buf), "%s", path);
	const char *dir = dirname(buf);
	if (lstat(dir, &st) != 0) {
		err_set(e, OSC_EXIT_INPUT, "--admin-socket %s: directory %s: %s", path, dir, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		err_set(e, OSC_EXIT_INPUT, "--admin-socket %s: %s is not a directory (a link is not followed)", path, dir);
		return false;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		err_set(e, OSC_EXIT_INPUT, "--admin-socket %s: directory %s is writable by others and not sticky", path,
		        dir);
		return false;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		err_set(e, OSC_EXIT_INPUT, "--admin-socket %s: directory %s belongs to uid %ld", path, dir,
		        (long)st.st_uid);
		return false;
	}
	return true;
}

/* A path that exists must be a stale socket of this user's. */
static bool claim(const char *path, OscErr *e)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return true;
		err_set(e, OSC_EXIT_INPUT, "--admin-socket %s: %s", path, strerror(errno));
		return false;
	}
	if (!S_ISSOCK(st.st_mode)) {
		err_set(e, OSC_EXIT_INPUT, "--admin-socket %s exists and is not a socket: refusing to replace it", path);
		return false;
	}
	if (st.st_uid != geteuid()) {
		err_set(e, OSC_EXIT_INPUT, "--admin-socket %s is a socket of uid %ld, not ours: refusing to replace it", path,
		        (long)st.st_uid);
		return false;
	}
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err_set(e, OSC_EXIT_FAILED, "admin socket: %s", strerror(errno));
		return false;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		err_set(e, OSC_EXIT_INPUT, "--admin-socket %s: another proxy answers there", path);
		return false;
	}
	close(fd);
	if (unlink(path) != 0 && errno != ENOENT) {
		err_set(e, OSC_EXIT_INPUT, "--admin-socket %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

bool px_admin_listen(Proxy *px, const char *path, OscErr *e)
{
	struct sockaddr_un sa;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		err_set(e, OSC_EXIT_INPUT, "--admin-socket: the path is too long for a Unix socket");
		return false;
	}
	if (!safe_dir(path, e) || !claim(path, e))
		return false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err_set(e, OSC_EXIT_FAILED, "admin socket: %s", strerror(errno));
		return false;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	mode_t old = umask(0177); /* born 0600: no moment when others may connect */
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || chmod(path, 0600) != 0) {
		err_set(e, OSC_EXIT_INPUT, "--admin-socket %s: %s", path, strerror(errno));
		close(fd);
		return false;
	}
	px->admin_listener = evconnlistener_new(px->base, on_admin_accept, px, LEV_OPT_CLOSE_ON_FREE, 16, fd);
	if (px->admin_listener == NULL) {
		err_set(e, OSC_EXIT_FAILED, "--admin-socket %s: cannot listen", path);
		close(fd);
		unlink(path);
		return false;
	}
	snprintf(px->admin_path, sizeof(px->admin_path), "%s", path);
	return true;
}

void px_admin_free_all(Proxy *px)
{
	while (px->admins)
		admin_close(px->admins);
	if (px->admin_listener) {
		evconnlistener_free(px->admin_listener);
		px->admin_listener = NULL;
		unlink(px->admin_path);
	}
}
