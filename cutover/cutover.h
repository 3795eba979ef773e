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

/* Applies captured changes until a batch comes back short (the backlog is
 * small) or `budget_ms` is spent.  *applied accumulates. */
bool cutover_catch_up(Osc *o, int64_t batch, int64_t budget_ms, int64_t *applied, OscErr *e) MUSTCHECK;

#endif
