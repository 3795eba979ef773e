/*
 * copy.h — the bulk copy's chunk loop (src/core/copy.c).
 */
#ifndef OSC_COPY_H
#define OSC_COPY_H

#include "osc.h"

/* Copies chunk after chunk, the replay taking turns, until the copy is
 * done: sizes chunks to --chunk-time, throttles, reports progress. */
bool copy_run(Osc *o, OscErr *e) MUSTCHECK;
/* One chunk of at most limit rows in key order, verified and
 * checkpointed; *done after the last. */
bool copy_chunk(Osc *o, int64_t limit, int64_t *rows, bool *done, OscErr *e) MUSTCHECK;
/* Frees the watermark. */
void copy_free(Osc *o);

#endif
