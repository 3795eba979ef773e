/*
 * control_socket.c — where a run's control socket is, and who is at the
 * other end of it; the server (control_server.c) and the client
 * (control_client.c) both need them.
 *
 * The path is --socket, or osc-<hash>.sock in the user's private socket
 * directory (src/lib/localpath.h), the hash taken over what names the
 * migration (engine, host, port, database, table: src/lib/dburl.h), never
 * over who connects or a password, so that `osc status` run later, with
 * other credentials, finds the same socket.
 */
#include "control_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dburl.h"
#include "localpath.h"
#include "names.h"
#include "osc.h"

bool control_socket_path(Osc *o, bool create, bool under_tmpdir, char *out, size_t outsz, OscErr *e)
{
	char hash[17], dir[256], target[2048];
	const char *url = o->opt.database ? o->opt.database : getenv("OSC_DATABASE_URL");

	if (o->opt.socket_path) {
		if ((size_t)snprintf(out, outsz, "%s", o->opt.socket_path) >= outsz) {
			err_set(e, OSC_EXIT_INPUT, "--socket: the path is too long for a Unix socket");
			return false;
		}
		return true;
	}
	if (!localpath_socket_dir(dir, sizeof(dir), create, under_tmpdir, e))
		return false;
	/* what the migration is, without who connects or with which password */
	dburl_target(url, &o->target, target, sizeof(target));
	names_hash_hex(hash, 16, target, strlen(target));
	if ((size_t)snprintf(out, outsz, "%s/osc-%s.sock", dir, hash) >= outsz) {
		err_set(e, OSC_EXIT_INPUT, "the socket directory %s is too long for a socket path: give --socket PATH", dir);
		return false;
	}
	return true;
}

bool control_peer_uid(int fd, uid_t *uid, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	*uid = (uid_t)-1; /* nobody's: a failed read never looks like a match */
	*pid = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
		return false;
	*uid = cred.uid;
	*pid = cred.pid;
	return true;
}
