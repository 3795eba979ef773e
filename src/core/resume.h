/*
 * resume.h — what a rerun of a migration does with the earlier run's state
 * row (src/core/resume.c).
 */
#ifndef OSC_RESUME_H
#define OSC_RESUME_H

#include "osc.h"

/* Under the run's lock on the table, after preflight: sets o->resume (and,
 * when resuming, the counters and the watermark), or refuses (exit 2). */
bool resume_decide(Osc *o, OscErr *e) MUSTCHECK;

#endif
