/*
 * control_client.c — the client side of the control socket: `osc status`,
 * `osc pause|resume|cutover|abort`, `osc set` send one line to a running
 * migration's socket and print its answer.
 *
 * It talks only to a socket held by the same user (the peer's uid is
 * checked before anything is sent) and only in a directory the user owns:
 * a socket or directory planted by someone else is refused with exit 2,
 * never quietly taken for "nothing runs here" (which would send `osc
 * status` to the state table instead).  A run started without
 * XDG_RUNTIME_DIR (from cron) has its socket under $TMPDIR: that directory
 * is tried when the first has none.
 */
#include "control_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "localpath.h"
#include "osc.h"
#include "xalloc.h"

OscExit control_ask(Osc *o, const char *path, const char *command, char **answer, bool *running)
{
	struct sockaddr_un sa;
	uid_t uid;
	pid_t pid;
	size_t len = 0;

	*running = false;
	*answer = NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return OSC_EXIT_FAILED;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return OSC_EXIT_FAILED;
	}
	*running = true;
	if (!control_peer_uid(fd, &uid, &pid) || uid != geteuid()) {
		log_msg(&o->log, LOG_ERROR,
		        "the control socket %s is held by uid %u (pid %d), not by you: osc does not talk to it; nothing was "
		        "sent",
		        path, (unsigned)uid, (int)pid);
		close(fd);
		return OSC_EXIT_INPUT;
	}
	size_t clen = strlen(command);
	if (write(fd, command, clen) != (ssize_t)clen || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "osc: error: control socket %s: %s\n", path, strerror(errno));
		close(fd);
		return OSC_EXIT_FAILED;
	}
	/* the answer, until the server closes (bounded: 5 s of silence) */
	FILE *f = xopen_memstream(answer, &len);
	char buf[8192];
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, f);
	}
	fclose(f);
	close(fd);
	return OSC_EXIT_OK;
}

OscExit control_client(Osc *o, const char *command, bool *running)
{
	char path[108];
	OscErr e;

	*running = false;
	err_clear(&e);
	/* the run's directory: XDG_RUNTIME_DIR's, or the one under $TMPDIR
	 * when the run had none (cron) */
	bool found = control_socket_path(o, false, false, path, sizeof(path), &e);
	struct stat st;
	if (found && o->opt.socket_path == NULL && getenv("XDG_RUNTIME_DIR") && lstat(path, &st) != 0)
		found = control_socket_path(o, false, true, path, sizeof(path), &e);
	if (!found || !localpath_check_socket(path, &e)) {
		/* no answer from a place someone else controls: not even "nothing
		 * runs", which would send status to the state table */
		*running = true;
		log_error(&o->log, &e);
		return OSC_EXIT_INPUT;
	}
	char *buf;
	OscExit rc = control_ask(o, path, command, &buf, running);
	if (buf == NULL)
		return rc;
	bool ok = strncmp(buf, "ok", 2) == 0;
	/* "ok\n" alone before a status body is not worth printing */
	const char *body = strncmp(buf, "ok\n", 3) == 0 ? buf + 3 : buf;
	fputs(body, ok ? stdout : stderr);
	/* osc set refuses only a bad name or value: bad input, nothing changed */
	rc = ok ? OSC_EXIT_OK : OSC_EXIT_FAILED;
	if (!ok && strncmp(command, "set", 3) == 0 && strncmp(buf, "error", 5) == 0)
		rc = OSC_EXIT_INPUT;
	free(buf);
	return rc;
}
