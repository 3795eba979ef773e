/*
 * copy_int.h — what the copy's two drivers share (src/core/copy.c: one
 * chunk at a time; src/core/copy_wave.c: several at once).
 */
#ifndef OSC_COPY_INT_H
#define OSC_COPY_INT_H

#include "osc.h"

/* One chunk's transaction: the copy of (lo, hi], its comparison and, when
 * it is the only chunk in flight, the checkpoint.  Filled by the caller;
 * chunk_write fills the rest.  A job touches nothing of the run but the
 * log, so that several can run at once on their own sessions. */
typedef struct ChunkJob {
	Osc *o;
	EngineSession *s;
	const EngineKey *lo, *hi;
	bool checkpoint;          /* the state row moves with the chunk */
	bool may_damage;          /* OSC_FAULT=corrupt-shadow applies to it */
	bool worker;              /* on a worker thread: OSC_FAULT=worker-chunk */
	/* out */
	int64_t rows;
	VerifyStats verified;     /* what its comparisons found (the caller adds it up) */
	int64_t mismatches;
	CopyTimes times;
	bool ok, dup;
	OscErr err;
} ChunkJob;

/* The chunk's transaction (see copy.c); the stale rows of an earlier
 * duplicate are merged first.  False with j->dup: it met a duplicate. */
bool chunk_write(ChunkJob *j, EngineBatch *stale, OscErr *e) MUSTCHECK;
/* Adds what a job found to the run's counters (the worker's thread only). */
void chunk_account(Osc *o, const ChunkJob *j);

typedef enum WaveResult {
	WAVE_COPIED,   /* the chunks committed, the checkpoint moved */
	WAVE_DONE,     /* no row is left to copy */
	WAVE_ALONE,    /* a chunk met a duplicate, a lock or a lost worker: the
	                  rows above the watermark are out again, the next
	                  chunk goes alone (copy_chunk's rules) */
	WAVE_FAILED,   /* e says why */
} WaveResult;

typedef struct CopyWorkers {
	EngineSession *s[OSC_THREADS_MAX]; /* worker i's session; chunk 0 of a wave runs on the main one */
	int n;                             /* sessions open */
	bool refused;                      /* the server refused one: no more tries */
} CopyWorkers;

/* Up to `threads` chunks of `limit` rows after the watermark, at once. */
WaveResult copy_wave(Osc *o, CopyWorkers *w, int threads, int64_t limit, int64_t *rows, int *nchunks, bool *done,
                     int64_t *took_us, OscErr *e);
void copy_workers_close(Osc *o, CopyWorkers *w);

#endif
