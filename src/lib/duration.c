/*
 * duration.c — parsing and printing durations (see duration.h).
 */
#include "duration.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool duration_parse_ms(const char *s, int64_t *ms)
{
	char *end;
	double v, unit;

	if (s == NULL || !(isdigit((unsigned char)s[0]) || (s[0] == '.' && isdigit((unsigned char)s[1]))))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || !isfinite(v) || v < 0)
		return false;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		unit = 1000;
	else if (strcmp(end, "ms") == 0)
		unit = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		unit = 60000;
	else if (strcmp(end, "h") == 0)
		unit = 3600000;
	else if (strcmp(end, "us") == 0)
		unit = 0.001;
	else
		return false;
	v *= unit;
	if (v > 9.2e15)
		return false;
	*ms = (int64_t)llround(v);
	return true;
}

void duration_format(char *out, unsigned long outsz, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(out, outsz, "%ldms", (long)ms);
	else if (ms < 60000)
		snprintf(out, outsz, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(out, outsz, "%ldm%02lds", (long)(ms / 60000), (long)(ms / 1000 % 60));
	else
		snprintf(out, outsz, "%ldh%02ldm", (long)(ms / 3600000), (long)(ms / 60000 % 60));
}
