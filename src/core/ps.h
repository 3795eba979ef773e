/*
 * ps.h — `osc ps`: the migrations running on this host, found by their
 * control sockets, whichever URL spelling started them.
 *
 * A run's socket is named after a hash of its target, so the socket
 * directories (XDG_RUNTIME_DIR's, and $TMPDIR/osc-<uid> where runs from
 * cron put theirs) are scanned for osc-*.sock, and each socket is asked
 * the `ps` command: the run answers one line about itself (its pid, target,
 * phase, progress, state and socket) from what it holds in memory, never
 * waiting for a database.  A socket nothing answers on (a run killed with
 * SIGKILL) is skipped; a socket of another user is never spoken to.  A run
 * started with --socket somewhere else is not found.
 */
#ifndef OSC_PS_H
#define OSC_PS_H

#include <stdbool.h>
#include <stdio.h>

#include "err.h"

typedef struct Osc Osc;

/* The server's side (the control socket's `ps` command, mu held): one
 * line, tab-separated text (control characters shown as '?') or one JSON
 * object. */
void ps_answer(Osc *o, FILE *f, bool json);

/* `osc ps`: prints the runs (text, or JSON lines with --log-format json or
 * when stdout is not a terminal); none is not an error. */
OscExit ps_main(Osc *o);

/* How many runs answer on this host's sockets (for `osc status`). */
int ps_count(Osc *o);

#endif
