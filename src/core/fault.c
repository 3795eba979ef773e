/*
 * fault.c — test-only pauses at named points (see fault.h).
 */
#include "fault.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	if (v[0] == '/') {
		/* wait for the test's go: polled, never longer than two minutes */
		log_msg(log, LOG_WARN, "fault injection: waiting at %s for %s", point, v);
		struct timespec tick = { .tv_sec = 0, .tv_nsec = 10 * 1000000L };
		for (int i = 0; i < 12000 && access(v, F_OK) != 0; i++)
			nanosleep(&tick, NULL);
		return;
	}
	long ms = strtol(v, NULL, 10);
	log_msg(log, LOG_WARN, "fault injection: pausing %ldms at %s", ms, point);
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}
