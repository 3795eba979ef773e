/*
 * preflight.h — the checks before a run makes anything (preflight.c).
 */
#ifndef OSC_PREFLIGHT_H
#define OSC_PREFLIGHT_H

#include "osc.h"

/* The table, the server, the key, the dependents, in that order; then,
 * with lock, the run's lock on the table (the resume decision follows,
 * src/core/resume.c), else (osc plan) the leftovers of earlier runs. */
bool preflight_run(Osc *o, bool lock, OscErr *e) MUSTCHECK;

#endif
