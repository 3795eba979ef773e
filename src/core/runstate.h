/*
 * runstate.h — what a run is doing, in a few words, for the progress line
 * and `osc ps`: copying, throttled (and why), paused, waiting for `osc
 * cutover`, swapping, or the phase's own name.
 */
#ifndef OSC_RUNSTATE_H
#define OSC_RUNSTATE_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

/* The state into out: "paused (osc pause)", "throttled: REASON",
 * "waiting for osc cutover", "swapping", "copying", or the phase.  With
 * brief, without the reason ("throttled"): the progress line puts it last,
 * where a narrow terminal cuts it first. */
void run_state_text(const Progress *p, bool brief, char *out, size_t outsz);
/* Paused or throttled: rates and ETA mean nothing now. */
bool run_state_held(const Progress *p);

#endif
