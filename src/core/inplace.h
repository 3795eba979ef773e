/*
 * inplace.h — the ALTER applied in place, without the shadow copy
 * (inplace.c; src/core/strategy.h says when).
 */
#ifndef OSC_INPLACE_H
#define OSC_INPLACE_H

#include "osc.h"

/* Waits for the throttle, records the run, applies the ALTER by *st and
 * records what it made.  When the server refused the strategy on the
 * table before changing anything, *st is the shadow copy now (true): the
 * caller goes on with it. */
bool inplace_apply(Osc *o, Strategy *st, OscErr *e) MUSTCHECK;

#endif
