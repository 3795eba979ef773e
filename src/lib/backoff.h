/*
 * backoff.h — how long to wait before trying a lock again.
 *
 * Exponential from `base`, capped, with jitter in [0.5, 1.5) of the value:
 * two osc runs, or osc and a busy application, must not retry in lockstep.
 */
#ifndef OSC_BACKOFF_H
#define OSC_BACKOFF_H

#include <stdint.h>

/* attempt counts from 1; seed is the caller's PRNG state (rand_r). */
int64_t backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, unsigned *seed);

#endif
