/*
 * chunk.h — sizing copy chunks to a target time.
 *
 * Each chunk is its own short transaction.  After a chunk, the next size is
 * what would have taken --chunk-time at the rate just measured, but it grows
 * by at most half per step (a fast chunk over cached pages says little about
 * the next one) and shrinks at once after a slow chunk (a slow chunk holds
 * locks and delays replay).  Bounds: [chunk_min, chunk_max].
 */
#ifndef OSC_CHUNK_H
#define OSC_CHUNK_H

#include <stdint.h>

typedef struct ChunkSizer {
	int64_t size;      /* rows in the next chunk */
	int64_t min, max;
	int64_t target_ms; /* 0: fixed size */
} ChunkSizer;

void chunk_init(ChunkSizer *c, int64_t initial, int64_t min, int64_t max, int64_t target_ms);
/* Feeds back a finished chunk of `rows` rows that took `elapsed_us`. */
void chunk_observe(ChunkSizer *c, int64_t rows, int64_t elapsed_us);

#endif
