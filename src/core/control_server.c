/*
 * control_server.c — the control loop: one libevent event_base on a thread
 * of its own, serving the Unix control socket and the 100 ms tick
 * (control_tick.c).
 *
 * The socket speaks lines: a client connects, sends one command line, reads
 * the answer until the server closes (control_commands.c has the
 * commands).  The loop never waits on a database, so an answer comes at
 * once whatever the worker is doing.
 *
 * Only the user who runs osc may talk to it: the socket is born 0600 in a
 * directory only the user can write (src/lib/localpath.h), and every
 * connection's peer uid is checked (SO_PEERCRED), so neither a client of
 * another user nor a mode set wrong gets an answer.  A socket file at the
 * path is taken over only when nothing answers there (a killed run's).
 */
#include "control_int.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "localpath.h"
#include "metrics.h"
#include "osc.h"
#include "xalloc.h"

/* The answer is written: the connection ends (one command each). */
static void client_done(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

/* The client went away, or 5 s passed without a line. */
static void client_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

/* One command line in, its answer out, then the connection closes. */
static void client_read(struct bufferevent *bev, void *arg)
{
	Osc *o = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > 4096)
			bufferevent_free(bev);
		return;
	}
	char *answer;
	control_dispatch(o, line, &answer);
	evbuffer_add(bufferevent_get_output(bev), answer, strlen(answer));
	free(answer);
	free(line);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, client_done, client_event, o);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *arg)
{
	(void)l;
	(void)sa;
	(void)socklen;
	Osc *o = arg;
	ControlLoop *lp = o->ctl.loop;
	uid_t uid;
	pid_t pid;
	if (!control_peer_uid(fd, &uid, &pid) || uid != geteuid()) {
		/* the socket's mode keeps others out; this holds even if the mode
		 * or the directory were wrong */
		log_msg(&o->log, LOG_WARN, "control socket: refused a connection from uid %u (pid %d): not this run's user",
		        (unsigned)uid, (int)pid);
		close(fd);
		return;
	}
	struct bufferevent *bev = bufferevent_socket_new(lp->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		close(fd);
		return;
	}
	struct timeval tv = { 5, 0 };
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_setcb(bev, client_read, NULL, client_event, o);
	bufferevent_enable(bev, EV_READ);
}

void control_block_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* The control loop's thread: signals are the worker's. */
static void *loop_main(void *arg)
{
	Osc *o = arg;
	control_block_signals();
	event_base_dispatch(o->ctl.loop->base);
	return NULL;
}

/* A socket file left by a killed run answers nothing: remove it.  One that
 * answers belongs to a live osc of this user; anything else at the path
 * (another user's socket, a file, a link) is refused and left alone. */
static bool claim_path(const char *path, OscErr *e)
{
	struct sockaddr_un sa;
	uid_t uid;
	pid_t pid;

	if (!localpath_check_socket(path, e))
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err_set(e, OSC_EXIT_FAILED, "control socket: %s", strerror(errno));
		return false;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		bool mine = control_peer_uid(fd, &uid, &pid) && uid == geteuid();
		close(fd);
		if (mine)
			err_set(e, OSC_EXIT_STOPPED, "control socket %s: another osc answers there (pid %d)", path, (int)pid);
		else
			err_set(e, OSC_EXIT_INPUT,
			        "control socket %s: a process of uid %u answers there, not one of yours: give --socket a path "
			        "in a directory only you can write; nothing was done",
			        path, (unsigned)uid);
		return false;
	}
	close(fd);
	unlink(path);
	return true;
}

/* A local path refused at the start of a resumed run: the unfinished
 * migration is left to be resumed (exit 3) once the path is fixed, not
 * aborted because of a file someone else put in its way. */
static bool refuse_start(Osc *o, OscErr *e)
{
	if (o->resume != RESUME_NONE && e->exit == OSC_EXIT_INPUT)
		e->exit = OSC_EXIT_STOPPED;
	return false;
}

/* The listening socket at c->socket_path, born 0600: only its owner steers
 * the run (no chmod after bind: in a shared directory the path could be a
 * link by then; no other thread runs yet to see the umask).  -1 with e set
 * when it cannot be made. */
static int bind_socket(Control *c, OscErr *e)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err_set(e, OSC_EXIT_FAILED, "control socket: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->socket_path);
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0) {
		err_set(e, OSC_EXIT_INPUT, "control socket %s: %s", c->socket_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

bool control_start(Osc *o, OscErr *e)
{
	Control *c = &o->ctl;
	struct sockaddr_un sa;
	ControlLoop *lp;

	control_state_init(o);
	if (!control_socket_path(o, true, false, c->socket_path, sizeof(c->socket_path), e))
		return refuse_start(o, e);
	if (strlen(c->socket_path) >= sizeof(sa.sun_path)) {
		err_set(e, OSC_EXIT_INPUT, "--socket: the path is too long for a Unix socket");
		return refuse_start(o, e);
	}
	if (!claim_path(c->socket_path, e))
		return refuse_start(o, e);
	/* the postpone flag, made here (no link followed, an existing one only
	 * if it is the user's file): a refusal changes nothing */
	if (o->opt.postpone_cutover && !localpath_create_flag("--postpone-cutover", o->opt.postpone_cutover, e))
		return refuse_start(o, e);
	int fd = bind_socket(c, e);
	if (fd < 0)
		return refuse_start(o, e);

	lp = xcalloc(1, sizeof(*lp));
	c->loop = lp;
	lp->base = event_base_new();
	if (lp->base == NULL)
		goto fail;
	lp->listener = evconnlistener_new(lp->base, on_accept, o, LEV_OPT_CLOSE_ON_FREE, 16, fd);
	if (lp->listener == NULL)
		goto fail;
	fd = -1;
	if (!control_tick_add(o, lp))
		goto fail;
	if (!metrics_start(o, lp, e)) {
		control_stop(o);
		return refuse_start(o, e);
	}
	/* a flag file present at the start counts before the first tick */
	control_read_flag_files(o);
	if (pthread_create(&c->loop_thread, NULL, loop_main, o) != 0)
		goto fail;
	c->started = true;
	log_msg(&o->log, LOG_INFO, "control socket: %s (osc status|pause|resume|cutover|abort|set --table %s)",
	        c->socket_path, o->opt.table);
	return true;
fail:
	if (fd >= 0)
		close(fd);
	err_set(e, OSC_EXIT_FAILED, "control socket %s: cannot start the event loop", c->socket_path);
	control_stop(o);
	return false;
}

void control_stop(Osc *o)
{
	Control *c = &o->ctl;
	ControlLoop *lp = c->loop;

	if (c->started) {
		atomic_store(&c->quit, true);
		pthread_join(c->loop_thread, NULL);
		c->started = false;
	}
	if (lp) {
		metrics_stop(lp);
		if (lp->tick)
			event_free(lp->tick);
		if (lp->listener)
			evconnlistener_free(lp->listener);
		if (lp->base)
			event_base_free(lp->base);
		free(lp);
		c->loop = NULL;
		unlink(c->socket_path);
	}
}
