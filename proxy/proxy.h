/*
 * proxy.h — `osc proxy`, the daemon the application connects to instead of
 * the database, and the two ways into it from the rest of osc.
 *
 * The daemon (proxy/daemon.c and the files beside it) forwards each client
 * connection to one upstream connection of its own, follows every session's
 * transaction state from the server's replies, and on HOLD keeps each session
 * at the start of its next request once it is idle, so that a swap finds no
 * application transaction open on the table.  proxy_int.h describes the
 * inside; this header is what main.c (the subcommand) and the cutover
 * (cutover/proxy_hold.c: HOLD before the swap, RELEASE after) use.
 */
#ifndef OSC_PROXY_H
#define OSC_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* `osc proxy ...` (argv[0] is "proxy"): the daemon, or one of its client
 * commands (status, hold).  Returns the process exit code. */
int proxy_main(int argc, char **argv);

/* Client side of the admin socket (proxy/client.c). */

/* Connects to the admin socket at path: the fd in *fd.  A path that answers
 * nothing is an exit-2 error (bad input). */
bool px_client_connect(const char *path, int *fd, OscErr *e) MUSTCHECK;
/* Sends one command line and returns the answer's first line (without its
 * newline; the caller frees it), waiting at most timeout_ms.  NULL (exit 1)
 * when the proxy closed or did not answer in time. */
char *px_client_ask(int fd, const char *cmd, int timeout_ms, OscErr *e) MUSTCHECK;

#endif
