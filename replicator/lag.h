/*
 * lag.h — the monitor thread: heartbeat, replica lag, load (replicator/lag.c).
 */
#ifndef OSC_LAG_H
#define OSC_LAG_H

#include <stdbool.h>

#include "err.h"

typedef struct Osc Osc;

/* Connects to the primary and the replicas (--replica, else those the
 * primary names), checks every load metric once (an unknown one is bad
 * input), and starts the thread.  A replica that cannot be reached is not
 * an error: it counts as lagging until it can be read. */
bool lag_start(Osc *o, OscErr *e) MUSTCHECK;
/* The work objects exist: start beating. */
void lag_arm(Osc *o);
/* The heartbeat's readings stop counting (an in-place run sent its
 * statement, which nothing can pause); call after lag_stop. */
void lag_disarm(Osc *o);
/* Stops the thread and closes its connections (before osc drops its
 * objects).  Safe to call twice, or without lag_start. */
void lag_stop(Osc *o);

#endif
