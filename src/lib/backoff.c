/*
 * backoff.c — exponential backoff with jitter (see backoff.h).
 */
#include "backoff.h"

#include <stdlib.h>

int64_t backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, unsigned *seed)
{
	if (attempt < 1)
		attempt = 1;
	if (base_ms < 1)
		base_ms = 1;
	int64_t v = base_ms;
	for (int i = 1; i < attempt && v < cap_ms; i++)
		v *= 2;
	if (v > cap_ms)
		v = cap_ms;
	double jitter = 0.5 + (double)rand_r(seed) / ((double)RAND_MAX + 1.0);
	int64_t r = (int64_t)((double)v * jitter);
	return r < 1 ? 1 : r;
}
