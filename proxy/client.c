/*
 * client.c — the client side of the proxy's admin socket: what osc's
 * cutover (cutover/proxy_hold.c) and `osc proxy status|hold` use.  Plain
 * blocking sockets with poll() bounds: every wait has a limit.
 */
#include "proxy.h"
#include "proxy_int.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "xalloc.h"

bool px_client_connect(const char *path, int *fd, OscErr *e)
{
	struct sockaddr_un sa;
	*fd = -1;
	if (path == NULL || strlen(path) >= sizeof(sa.sun_path)) {
		err_set(e, OSC_EXIT_INPUT, "--proxy: the admin socket path is missing or too long");
		return false;
	}
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		err_set(e, OSC_EXIT_FAILED, "proxy admin socket: %s", strerror(errno));
		return false;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		err_set(e, OSC_EXIT_INPUT, "no osc proxy answers on %s: %s", path, strerror(errno));
		close(s);
		return false;
	}
	*fd = s;
	return true;
}

#define ANSWER_MAX (64 * 1024 * 1024) /* "sessions" of a proxy with a million clients */

/* Reads one line (without its newline) within timeout_ms into a malloc'd
 * string.  Peeks before it reads, so that it never takes bytes past the
 * newline: what follows belongs to the next answer. */
static char *read_line(int fd, int timeout_ms, OscErr *e)
{
	size_t got = 0, cap = 4096;
	char *out = xmalloc(cap);
	int64_t deadline = px_now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - px_now_ms();
		struct pollfd p = { fd, POLLIN, 0 };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			err_set(e, OSC_EXIT_FAILED, "the proxy did not answer within %dms", timeout_ms);
			goto fail;
		}
		if (cap - got < 2048) {
			if (cap >= ANSWER_MAX) {
				err_set(e, OSC_EXIT_FAILED, "the proxy's answer is too long");
				goto fail;
			}
			out = xrealloc(out, cap * 2);
			cap *= 2;
		}
		ssize_t n = recv(fd, out + got, cap - got - 1, MSG_PEEK);
		if (n <= 0) {
			err_set(e, OSC_EXIT_FAILED, "the proxy closed the admin connection%s%s", n < 0 ? ": " : "",
			        n < 0 ? strerror(errno) : "");
			goto fail;
		}
		char *nl = memchr(out + got, '\n', (size_t)n);
		size_t take = nl ? (size_t)(nl - (out + got)) + 1 : (size_t)n;
		if (recv(fd, out + got, take, 0) != (ssize_t)take) {
			err_set(e, OSC_EXIT_FAILED, "the proxy's admin connection: %s", strerror(errno));
			goto fail;
		}
		got += take;
		if (nl) {
			out[got - 1] = '\0';
			return out;
		}
	}
fail:
	free(out);
	return NULL;
}

static bool send_line(int fd, const char *cmd, OscErr *e)
{
	size_t len = strlen(cmd);
	if (send(fd, cmd, len, MSG_NOSIGNAL) != (ssize_t)len || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		err_set(e, OSC_EXIT_FAILED, "the proxy's admin socket: %s", strerror(errno));
		return false;
	}
	return true;
}

char *px_client_ask(int fd, const char *cmd, int timeout_ms, OscErr *e)
{
	return send_line(fd, cmd, e) ? read_line(fd, timeout_ms, e) : NULL;
}

int px_client_status(const char *path, bool json)
{
	OscErr e;
	int fd;
	char buf[8192];
	err_clear(&e);
	if (!px_client_connect(path, &fd, &e)) {
		fprintf(stderr, "osc: error: %s\n", e.msg);
		return OSC_EXIT_INPUT;
	}
	if (!send_line(fd, json ? "status json" : "status", &e)) {
		fprintf(stderr, "osc: error: %s\n", e.msg);
		close(fd);
		return OSC_EXIT_FAILED;
	}
	bool any = false;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		any = true;
	}
	close(fd);
	if (!any) {
		fprintf(stderr, "osc: error: the proxy on %s gave no status\n", path);
		return OSC_EXIT_FAILED;
	}
	return OSC_EXIT_OK;
}

static volatile sig_atomic_t hold_stop;

static void on_hold_signal(int sig)
{
	(void)sig;
	hold_stop = 1;
}

int px_client_hold(const char *path, int64_t for_ms)
{
	OscErr e;
	int fd;
	char *line;
	err_clear(&e);
	if (!px_client_connect(path, &fd, &e)) {
		fprintf(stderr, "osc: error: %s\n", e.msg);
		return OSC_EXIT_INPUT;
	}
	if ((line = px_client_ask(fd, "hold", 120000, &e)) == NULL) {
		fprintf(stderr, "osc: error: %s\n", e.msg);
		close(fd);
		return OSC_EXIT_FAILED;
	}
	printf("%s\n", line);
	fflush(stdout);
	bool refused = strncmp(line, "error", 5) == 0;
	free(line);
	if (refused) {
		close(fd);
		return OSC_EXIT_FAILED;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hold_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* held until --for runs out, or (without it) until stdin closes or a
	 * signal comes; the proxy releases by itself after its --max-hold */
	int64_t until = for_ms > 0 ? px_now_ms() + for_ms : 0;
	while (!hold_stop) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { 0, POLLIN, 0 } };
		int wait = 100;
		if (until) {
			int64_t left = until - px_now_ms();
			if (left <= 0)
				break;
			wait = left < 100 ? (int)left : 100;
		}
		int r = poll(p, until ? 1 : 2, wait);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (p[0].revents & (POLLIN | POLLHUP))) {
			/* the proxy spoke first: it released by itself (max hold) */
			if ((line = read_line(fd, 1000, &e)) != NULL)
				printf("%s\n", line);
			free(line);
			close(fd);
			return OSC_EXIT_OK;
		}
		if (!until && r > 0 && (p[1].revents & (POLLIN | POLLHUP))) {
			char c[256];
			if (read(0, c, sizeof(c)) <= 0)
				break;
		}
	}
	if ((line = px_client_ask(fd, "release", 10000, &e)) == NULL) {
		fprintf(stderr, "osc: error: %s\n", e.msg);
		close(fd);
		return OSC_EXIT_FAILED;
	}
	printf("%s\n", line);
	free(line);
	close(fd);
	return OSC_EXIT_OK;
}
