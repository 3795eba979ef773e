/*
 * run.h — may the run go on, and the run's own sleep (src/core/run.c).
 */
#ifndef OSC_RUN_H
#define OSC_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

typedef struct Osc Osc;

/* Waits `ms`, returning early (false) when a stop was requested. */
bool osc_sleep_ms(Osc *o, int64_t ms);

/* May the run go on?  False with an exit-3 error (signal, window closed,
 * or less than need_ms of the window left) or an exit-1 error
 * (--max-runtime, an abort decided by the operator or the throttle); with
 * --window-wait it waits for the window instead. */
bool osc_may_continue(Osc *o, int64_t need_ms, OscErr *e) MUSTCHECK;

/* The run's lock-retry policy (o->retry, its gate osc_may_continue) and
 * the engine's settings (o->env), from the options; before the engine's
 * open. */
void run_init(Osc *o);

/* A lost connection stops the run, resumable (exit 3): the server rolled
 * the step back and the state row holds the last checkpoint.  Returns ok. */
bool osc_lost_is_stop(Osc *o, bool ok, OscErr *e);

#endif
