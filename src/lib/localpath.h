/*
 * localpath.h — the local files osc makes or reads, opened so that another
 * user of the machine cannot steer them.
 *
 * A predictable path in a shared directory (/tmp) can be taken first by
 * someone else: a socket that answers in osc's place, a symbolic link that
 * makes osc create or append to a file of the link's choosing, a flag file
 * that pauses or aborts a run.  So:
 *   - control sockets live in a directory only the user can write:
 *     $XDG_RUNTIME_DIR, else $TMPDIR/osc-<uid> (TMPDIR defaulting to /tmp),
 *     made 0700 and, when it already exists, used only if it is a real
 *     directory (no link) owned by the user and writable by nobody else;
 *   - files osc writes (--log-file, --postpone-cutover) are opened with
 *     O_NOFOLLOW, created 0600 (the flag with O_EXCL), and an existing one
 *     must be a regular file owned by the user;
 *   - a flag file osc reads (--pause-file, --panic-file, the postpone flag)
 *     counts only when it is a regular file owned by the user, and one that
 *     exists at the start but is not is refused.
 * Each refusal is bad input (exit 2) that says what to do.
 */
#ifndef OSC_LOCALPATH_H
#define OSC_LOCALPATH_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* The directory for control sockets into out: $XDG_RUNTIME_DIR when set
 * (unless under_tmpdir), else $TMPDIR/osc-<uid>.  create: make the per-user
 * directory when it is missing (a client only looks).  An unsafe directory
 * is an exit-2 error.  A client looks in both: a run from cron has no
 * XDG_RUNTIME_DIR, the user's login shell has. */
bool localpath_socket_dir(char *out, size_t outsz, bool create, bool under_tmpdir, OscErr *e) MUSTCHECK;

/* A socket path before osc listens on it or talks to it: absent, or a
 * socket owned by the user; anything else is an exit-2 error (osc never
 * removes a file that is not its own socket). */
bool localpath_check_socket(const char *path, OscErr *e) MUSTCHECK;

/* `what` names the option in messages (--pause-file).  An existing path
 * must be a regular file owned by the user; absent is fine. */
bool localpath_check_flag(const char *what, const char *path, OscErr *e) MUSTCHECK;

/* Creates the flag file (O_CREAT | O_EXCL | O_NOFOLLOW, 0600); an existing
 * one is kept if localpath_check_flag accepts it. */
bool localpath_create_flag(const char *what, const char *path, OscErr *e) MUSTCHECK;

/* Does the flag file count?  True for a regular file owned by the user.
 * When path exists but does not count, why (if given) says why; else it is
 * set to "". */
bool localpath_flag_present(const char *path, char *why, size_t whysz);

/* Opens path for appending (created 0600, O_NOFOLLOW); it must be a regular
 * file owned by the user.  Returns the descriptor, or -1 with an exit-2
 * error. */
int localpath_open_append(const char *what, const char *path, OscErr *e);

#endif
