/*
 * verify.h — the verify-and-recopy rule, written once for every write into
 * the shadow that --verify compares with the original (src/core/verify.c).
 *
 * A chunk of the copy and a merged batch of the replay are compared with
 * the original right after they are written, in the transaction that wrote
 * them (the engines' check_range and check_batch say how).  A difference is
 * written again once; a second difference stops the run before the swap,
 * naming what differs: a copy that cannot be made equal is never swapped in.
 */
#ifndef OSC_VERIFY_H
#define OSC_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "log.h"
#include "options.h"

typedef struct VerifyStats {
	int64_t chunks;    /* chunks found equal */
	int64_t batches;   /* merged batches found equal */
	int64_t recopied;  /* written again after a difference */
} VerifyStats;

typedef enum VerifyOutcome {
	VERIFY_SAME,       /* equal: go on */
	VERIFY_AGAIN,      /* differs the first time: write it again */
	VERIFY_DIFFERS,    /* differs twice: e says so (exit 1) */
} VerifyOutcome;

/* The rule.  what: "the copy of keys above (1) up to (500)" or "the rows
 * merged from the change log"; why: the engine's sentence; attempt counts
 * from 1.  Logs the first difference, counts. */
VerifyOutcome verify_judge(VerifyStats *st, Log *log, bool same, bool chunk, int attempt, const char *what,
                           const char *why, OscErr *e);

/* After the swap: what --verify compared (nothing with --verify none). */
void verify_summary(const VerifyStats *st, Log *log, VerifyMode mode);

#endif
