/*
 * localpath.c — private directories, and files opened without following
 * links (see localpath.h).
 *
 * Checks look at the object itself (lstat, or fstat of what was opened with
 * O_NOFOLLOW), never at what a link points to.  The per-user directory is
 * made with mkdir, which fails if anything exists at the name (O_EXCL's
 * guarantee for directories), and then checked, so that one made by
 * someone else in between is seen.
 */
#include "localpath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What is wrong with st for a file the user must own, or NULL. */
static const char *not_ours(const struct stat *st, char *buf, size_t bufsz)
{
	if (S_ISLNK(st->st_mode))
		return "is a symbolic link";
	if (st->st_uid != geteuid()) {
		snprintf(buf, bufsz, "belongs to uid %u, not to you (uid %u)", (unsigned)st->st_uid, (unsigned)geteuid());
		return buf;
	}
	return NULL;
}

static bool private_dir(const char *dir, const char *how_named, OscErr *e)
{
	struct stat st;
	char buf[96];
	const char *why = NULL;

	if (lstat(dir, &st) != 0) {
		err_set(e, OSC_EXIT_INPUT, "the socket directory %s%s: %s", dir, how_named, strerror(errno));
		return false;
	}
	why = not_ours(&st, buf, sizeof(buf));
	if (why == NULL && !S_ISDIR(st.st_mode))
		why = "is not a directory";
	if (why == NULL && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(buf, sizeof(buf), "is writable by others (mode %04o)", (unsigned)(st.st_mode & 07777));
		why = buf;
	}
	if (why == NULL)
		return true;
	err_set(e, OSC_EXIT_INPUT,
	        "the socket directory %s%s %s: another local user could put a socket there in osc's place, so osc "
	        "will not use it; remove it (or fix it), set XDG_RUNTIME_DIR to a directory only you can write, or "
	        "give --socket PATH in one; nothing was done",
	        dir, how_named, why);
	return false;
}

bool localpath_socket_dir(char *out, size_t outsz, bool create, bool under_tmpdir, OscErr *e)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (!under_tmpdir && xdg && xdg[0] == '/') {
		snprintf(out, outsz, "%s", xdg);
		return private_dir(out, " (XDG_RUNTIME_DIR)", e);
	}
	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	if ((size_t)snprintf(out, outsz, "%s/osc-%u", tmp, (unsigned)geteuid()) >= outsz) {
		err_set(e, OSC_EXIT_INPUT, "TMPDIR=%s is too long for a socket path: give --socket PATH", tmp);
		return false;
	}
	if (create) {
		if (mkdir(out, 0700) != 0 && errno != EEXIST) {
			err_set(e, OSC_EXIT_INPUT, "cannot make the socket directory %s: %s", out, strerror(errno));
			return false;
		}
	} else {
		struct stat st;
		if (lstat(out, &st) != 0 && errno == ENOENT)
			return true; /* no run made it: nothing answers there */
	}
	return private_dir(out, "", e);
}

bool localpath_check_socket(const char *path, OscErr *e)
{
	struct stat st;
	char buf[96];
	const char *why;

	if (lstat(path, &st) != 0)
		return true;
	why = not_ours(&st, buf, sizeof(buf));
	if (why == NULL && !S_ISSOCK(st.st_mode))
		why = "is not a socket";
	if (why == NULL)
		return true;
	err_set(e, OSC_EXIT_INPUT,
	        "the control socket path %s %s: osc neither removes it nor talks to it; give --socket a path in a "
	        "directory only you can write; nothing was done",
	        path, why);
	return false;
}

bool localpath_check_flag(const char *what, const char *path, OscErr *e)
{
	struct stat st;
	char buf[96];
	const char *why;

	if (path == NULL || lstat(path, &st) != 0)
		return true;
	why = not_ours(&st, buf, sizeof(buf));
	if (why == NULL && !S_ISREG(st.st_mode))
		why = "is not a regular file";
	if (why == NULL)
		return true;
	err_set(e, OSC_EXIT_INPUT,
	        "%s %s %s: osc only trusts a regular file of yours there (someone else may have planted it); remove it "
	        "or choose a path in a directory only you can write; nothing was done",
	        what, path, why);
	return false;
}

bool localpath_create_flag(const char *what, const char *path, OscErr *e)
{
	/* twice at most: an existing file accepted by the check but gone
	 * before the access below is made afresh, once */
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd >= 0) {
			close(fd);
			return true;
		}
		/* EEXIST; ELOOP for a link (some kernels say EACCES for a link
		 * with O_CREAT): what is there decides */
		int err = errno;
		struct stat st;
		if (lstat(path, &st) != 0) {
			errno = err;
			if (err == EEXIST)
				continue; /* gone in between */
			break;
		}
		if (!localpath_check_flag(what, path, e))
			return false;
		if (access(path, F_OK) == 0)
			return true;
	}
	err_set(e, OSC_EXIT_INPUT, "%s %s: %s", what, path, strerror(errno));
	return false;
}

bool localpath_flag_present(const char *path, char *why, size_t whysz)
{
	struct stat st;
	char buf[96];
	const char *bad;

	if (why)
		why[0] = '\0';
	if (path == NULL || lstat(path, &st) != 0)
		return false;
	bad = not_ours(&st, buf, sizeof(buf));
	if (bad == NULL && !S_ISREG(st.st_mode))
		bad = "is not a regular file";
	if (bad == NULL)
		return true;
	if (why)
		snprintf(why, whysz, "%s", bad);
	return false;
}

int localpath_open_append(const char *what, const char *path, OscErr *e)
{
	struct stat st;
	char buf[96];
	const char *why = NULL;
	/* O_NONBLOCK: a FIFO planted at the path must not hang the run */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0) {
		int err = errno;
		/* a link gives ELOOP, or EACCES on some kernels with O_CREAT */
		if (err == ELOOP || (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)))
			err_set(e, OSC_EXIT_INPUT,
			        "%s %s is a symbolic link: osc does not follow links for files it writes (someone else may "
			        "have planted it); give the real path",
			        what, path);
		else
			err_set(e, OSC_EXIT_INPUT, "%s %s: %s", what, path, strerror(err));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		err_set(e, OSC_EXIT_INPUT, "%s %s: %s", what, path, strerror(errno));
		goto fail;
	}
	why = not_ours(&st, buf, sizeof(buf));
	if (why == NULL && !S_ISREG(st.st_mode))
		why = "is not a regular file";
	if (why == NULL) {
		/* a regular file: writes block as usual */
		if (fcntl(fd, F_SETFL, O_APPEND) != 0) {
			err_set(e, OSC_EXIT_INPUT, "%s %s: %s", what, path, strerror(errno));
			goto fail;
		}
		return fd;
	}
	err_set(e, OSC_EXIT_INPUT,
	        "%s %s %s: osc only appends to a regular file of yours (someone else may have planted it); remove "
	        "it or choose a path in a directory only you can write",
	        what, path, why);
fail:
	close(fd);
	return -1;
}
