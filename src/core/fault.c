/*
 * fault.c — test-only pauses at named points (see fault.h).
 */
#include "fault.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *fault_value(const char *point)
{
	const char *f = getenv("OSC_FAULT");
	size_t n = strlen(point);
	if (f == NULL || strncmp(f, point, n) != 0 || f[n] != ':')
		return NULL;
	return f + n + 1;
}

void fault_point(Osc *o, const char *point)
{
	fault_pause(&o->log, point);
}

void fault_pause(Log *log, const char *point)
{
	const char *v = fault_value(point);
	if (v == NULL)
		return;
	long ms = strtol(v, NULL, 10);
	log_msg(log, LOG_WARN, "fault injection: pausing %ldms at %s", ms, point);
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}
