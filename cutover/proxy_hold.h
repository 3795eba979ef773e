/*
 * proxy_hold.h — the migration's side of `osc proxy` (--proxy PATH): hold
 * the application's sessions for the swap, release them after it, and say
 * which sessions on the table the proxy cannot hold.
 */
#ifndef OSC_PROXY_HOLD_H
#define OSC_PROXY_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "osc.h"

typedef struct ProxyHold {
	int fd;            /* the admin connection that holds; -1: none */
	int64_t since_ms;
} ProxyHold;

/* At the start of a run, before anything is created: the proxy answers and
 * speaks this database's protocol (else exit 2, nothing changed); warns
 * about sessions on the table that do not come through it.  Without
 * --proxy, true at once. */
bool proxy_hold_check(Osc *o, OscErr *e) MUSTCHECK;

/* Right before a swap attempt: HOLD, and wait until the proxy says every
 * session is idle and held, or names the ones that are not (the swap then
 * goes ahead under its lock timeout, as without the proxy, and the log
 * says so).  A proxy that cannot be reached is logged and the swap goes
 * ahead unheld: the hold only spares the application the lock's queue, the
 * swap's correctness never depends on it. */
void proxy_hold_begin(Osc *o, ProxyHold *h);
/* Right after the attempt, whatever its outcome: RELEASE. */
void proxy_hold_end(Osc *o, ProxyHold *h);

/* osc plan: the sessions a hold could not keep, as warnings. */
void proxy_hold_plan(Osc *o, Plan *p);

#endif
