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
 * "waiting for osc cutover", "swapping", "copying", or the phase. */
void run_state_text(const Progress *p, bool operator_paused, bool throttled, const char *reason, char *out,
                    size_t outsz);

#endif
