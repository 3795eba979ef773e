/*
 * runstate.c — a run's state in a few words (see runstate.h).  The
 * throttle's reason already says what holds the run (the operator's pause,
 * a pause file, a lagging replica, a load metric); the operator's own
 * pause is named first because it only ends with `osc resume`.
 */
#include "runstate.h"

#include <stdio.h>
#include <string.h>

bool run_state_held(const Progress *p)
{
	return p->paused || p->throttled;
}

void run_state_text(const Progress *p, bool brief, char *out, size_t outsz)
{
	const char *phase = p->phase ? p->phase : "starting";

	if (p->paused)
		snprintf(out, outsz, "paused (osc pause)");
	else if (p->throttled && brief)
		snprintf(out, outsz, "throttled");
	else if (p->throttled)
		snprintf(out, outsz, "throttled: %s", p->throttle_reason[0] ? p->throttle_reason : "?");
	else if (p->postponed)
		snprintf(out, outsz, "waiting for osc cutover");
	else if (strcmp(phase, "cutover") == 0)
		snprintf(out, outsz, "swapping");
	else if (strcmp(phase, "copy") == 0)
		snprintf(out, outsz, "copying");
	else
		snprintf(out, outsz, "%s", phase);
}
