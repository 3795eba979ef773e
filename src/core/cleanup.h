/*
 * cleanup.h — how a run ends, in one order for every engine (cleanup.c).
 */
#ifndef OSC_CLEANUP_H
#define OSC_CLEANUP_H

#include "osc.h"

/* After the swap committed: osc's objects go, the old table with
 * --drop-old-table (it is only said when it cannot). */
bool cleanup_after_swap(Osc *o, OscErr *e) MUSTCHECK;
/* Before a swap: everything osc made goes, the original stays as it was;
 * false (e says what stays) when something could not go. */
bool cleanup_abort(Osc *o, OscErr *e) MUSTCHECK;
/* `osc cleanup`: what an abandoned run left, and only what is osc's. */
bool cleanup_leftovers(Osc *o, OscErr *e) MUSTCHECK;

#endif
