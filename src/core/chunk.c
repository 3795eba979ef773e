/*
 * chunk.c — the chunk size controller (see chunk.h).
 */
#include "chunk.h"

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void chunk_init(ChunkSizer *c, int64_t initial, int64_t min, int64_t max, int64_t target_ms)
{
	if (min < 1)
		min = 1;
	if (max < min)
		max = min;
	c->min = min;
	c->max = max;
	c->target_ms = target_ms;
	c->size = clamp(initial, min, max);
}

void chunk_observe(ChunkSizer *c, int64_t rows, int64_t elapsed_us)
{
	if (c->target_ms <= 0 || rows <= 0)
		return;
	/* a chunk shorter than a row count's worth says nothing about the rate:
	 * the last chunk of the table is often tiny */
	if (rows < c->size / 2 && elapsed_us < c->target_ms * 1000)
		return;
	if (elapsed_us < 1)
		elapsed_us = 1;
	double ideal = (double)rows * (double)(c->target_ms * 1000) / (double)elapsed_us;
	double next;
	if (ideal >= (double)c->size)
		next = ideal < (double)c->size * 1.5 ? ideal : (double)c->size * 1.5;
	else
		next = ideal;
	c->size = clamp((int64_t)next, c->min, c->max);
}
