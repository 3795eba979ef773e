/*
 * indexes.h — the indexes built after the copy (src/core/indexes.c).
 */
#ifndef OSC_INDEXES_H
#define OSC_INDEXES_H

#include "osc.h"

/* Builds the deferred indexes (the log applied first; a duplicate judged
 * as the copy's are), then completes the shadow. */
bool indexes_build(Osc *o, OscErr *e) MUSTCHECK;

#endif
