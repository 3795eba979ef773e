/*
 * metrics.h — `--metrics HOST:PORT`: the run's numbers for Prometheus, at
 * GET /metrics in its text format (version 0.0.4), served by libevent's
 * evhttp on the control loop's event base.
 *
 * Like `osc status`, a scrape reads only what the threads published into
 * Control (under its mutex) and the run's summary: it never waits for a
 * database, even in the middle of a long chunk.  The address is bound
 * before anything is made, so one that cannot be used is bad input (exit
 * 2) and changes nothing.  README.md "Metrics" lists the names.
 */
#ifndef OSC_METRICS_H
#define OSC_METRICS_H

#include <stdbool.h>

#include "err.h"

typedef struct Osc Osc;
struct ControlLoop;

/* Listens on o->opt.metrics_addr (nothing when NULL) on lp's event base. */
bool metrics_start(Osc *o, struct ControlLoop *lp, OscErr *e) MUSTCHECK;
/* Stops listening (before the event base is freed). */
void metrics_stop(struct ControlLoop *lp);

#endif
