/*
 * clock.h — the two clocks osc reads: the monotonic one for durations
 * (chunk times, timeouts, throttled-for), and the wall clock for what is
 * compared across processes and hosts (heartbeats, log timestamps).
 */
#ifndef OSC_CLOCK_H
#define OSC_CLOCK_H

#include <stdint.h>

/* The monotonic clock, in milliseconds and in microseconds. */
int64_t now_ms(void);
int64_t now_us(void);
/* Milliseconds since the epoch (heartbeats: comparable across runs). */
int64_t wall_ms(void);

#endif
