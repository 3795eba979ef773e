/*
 * window.h — the time of day a migration may copy in (--window 01:00-05:00).
 *
 * Local time, minute or second precision, and a window may cross midnight
 * (22:00-04:00).  A window whose start equals its end is the whole day.
 */
#ifndef OSC_WINDOW_H
#define OSC_WINDOW_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef struct Window {
	bool set;
	int start_s, end_s; /* seconds after local midnight */
} Window;

/* "HH:MM[:SS]-HH:MM[:SS]".  False on anything else. */
bool window_parse(const char *s, Window *w);
/* Where `secs_of_day` stands: inside, and the seconds until the window ends
 * (inside) or opens (outside). */
bool window_inside(const Window *w, int secs_of_day, int64_t *to_end, int64_t *to_start);
/* The same for the local time now. */
bool window_inside_now(const Window *w, int64_t *to_end, int64_t *to_start);

#endif
