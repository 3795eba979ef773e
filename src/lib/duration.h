/*
 * duration.h — durations as users write them: 250ms, 2s, 5m, 1h, 1.5s.
 * A bare number is seconds (as gh-ost and pt-osc read --max-lag).
 */
#ifndef OSC_DURATION_H
#define OSC_DURATION_H

#include <stdbool.h>
#include <stdint.h>

/* Parses s into milliseconds.  False on anything else (negative, no digits,
 * unknown unit, overflow). */
bool duration_parse_ms(const char *s, int64_t *ms);
/* Writes a short human form ("1h02m", "3m05s", "4.2s", "250ms"). */
void duration_format(char *out, unsigned long outsz, int64_t ms);

#endif
