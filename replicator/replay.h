/*
 * replay.h — applying the captured changes to the shadow, batch by batch
 * (replicator/replay.c).
 */
#ifndef OSC_REPLAY_H
#define OSC_REPLAY_H

#include "osc.h"

/* One batch of at most limit log rows, merged, verified and committed; a
 * lock not granted is retried.  *applied: log rows consumed. */
bool replay_batch(Osc *o, int64_t limit, int64_t *applied, OscErr *e) MUSTCHECK;

/* Applies batches until one comes back short (the backlog is small) or
 * budget_ms is spent; pauses while throttled.  *applied accumulates. */
bool replay_catch_up(Osc *o, int64_t batch, int64_t budget_ms, int64_t *applied, OscErr *e) MUSTCHECK;

/* Reads the backlog into o->progress.log_backlog. */
bool replay_backlog(Osc *o, OscErr *e) MUSTCHECK;

/* The drain the engine's swap runs under its lock. */
SwapDrain replay_drain(Osc *o);

/* A write into the shadow met a duplicate (in e, the write rolled back):
 * the rule, shared by the copy's chunks and the replay's batches.  The
 * engine brings up to date the shadow's rows that may be stale and cause
 * it (merge_stale); their keys, when it returns them, join *stale, which
 * the caller merges with the write when it writes again.  False, with e
 * saying the original's own rows violate the key (no row dropped), when
 * nothing could be stale or after too many rounds; or with merge_stale's
 * error.  write: "a chunk", "a merged batch", "the drain". */
bool replay_stale(Osc *o, const EngineScope *scope, int round, const char *write, EngineBatch **stale,
                  OscErr *e) MUSTCHECK;

#endif
