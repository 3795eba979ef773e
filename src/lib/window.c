/*
 * window.c — parsing --window and placing a moment in it (see window.h).
 */
#include "window.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define DAY 86400

static bool parse_time(const char **pp, int *secs)
{
	const char *p = *pp;
	int part[3] = { 0, 0, 0 }, n = 0;

	while (n < 3) {
		if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
			return false;
		part[n++] = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
		if (*p != ':' || n == 3)
			break;
		p++;
	}
	if (n < 2 || part[0] > 23 || part[1] > 59 || part[2] > 59)
		return false;
	*secs = part[0] * 3600 + part[1] * 60 + part[2];
	*pp = p;
	return true;
}

bool window_parse(const char *s, Window *w)
{
	const char *p = s;
	memset(w, 0, sizeof(*w));
	if (s == NULL || !parse_time(&p, &w->start_s) || *p++ != '-' || !parse_time(&p, &w->end_s) || *p != '\0')
		return false;
	w->set = true;
	return true;
}

bool window_inside(const Window *w, int t, int64_t *to_end, int64_t *to_start)
{
	*to_end = *to_start = 0;
	if (!w->set || w->start_s == w->end_s) {
		*to_end = INT64_MAX / 4;
		return true;
	}
	bool inside = w->start_s < w->end_s ? (t >= w->start_s && t < w->end_s)
	                                    : (t >= w->start_s || t < w->end_s);
	if (inside)
		*to_end = ((w->end_s - t) % DAY + DAY) % DAY;
	else
		*to_start = ((w->start_s - t) % DAY + DAY) % DAY;
	return inside;
}

bool window_inside_now(const Window *w, int64_t *to_end, int64_t *to_start)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	return window_inside(w, tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec, to_end, to_start);
}
