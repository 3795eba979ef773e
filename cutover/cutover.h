/*
 * cutover.h — the engine-neutral part of the swap: when to try, how often,
 * how long to back off.  The swap itself is the engine's (src/pg/pg_swap.c).
 */
#ifndef OSC_CUTOVER_H
#define OSC_CUTOVER_H

#include "osc.h"

/* Catches up with the log, then tries the swap up to --cutover-retries
 * times, backing off with jitter after each lock timeout.  True once the
 * swap committed; false (original intact) when every attempt failed. */
bool cutover_run(Osc *o, OscErr *e) MUSTCHECK;

#endif
