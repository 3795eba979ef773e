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
struct evbuffer;
struct event_base;
struct evhttp;

/* Listens on o->opt.metrics_addr (nothing when NULL) on lp's event base. */
bool metrics_start(Osc *o, struct ControlLoop *lp, OscErr *e) MUSTCHECK;
/* Stops listening (before the event base is freed). */
void metrics_stop(struct ControlLoop *lp);

/* What `osc proxy --metrics` shares with the run's endpoint. */
/* An HTTP server on base at addr (HOST:PORT, [v6]:PORT), GET and HEAD
 * only; option names the option in messages.  NULL with e (exit 2: a
 * malformed address, one that cannot be bound) on failure.  The caller
 * sets its callbacks and frees it with evhttp_free. */
struct evhttp *metrics_http_bind(struct event_base *base, const char *option, const char *addr, OscErr *e);
/* The text format: a family's HELP and TYPE lines; a value (NaN for an
 * unknown one) and its new line; one series without labels, its family
 * first; name{label="lv"} value; a label's value escaped. */
void metrics_family(struct evbuffer *b, const char *name, const char *type, const char *help);
void metrics_value(struct evbuffer *b, double v);
void metrics_sample(struct evbuffer *b, const char *name, const char *type, const char *help, double v);
void metrics_labelled(struct evbuffer *b, const char *name, const char *label, const char *lv, double v);
void metrics_label_value(struct evbuffer *b, const char *s);

#endif
