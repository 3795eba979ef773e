/*
 * osc.h — the one context a run carries.
 *
 * The pipeline (src/core/migrate.c) is engine-neutral: it decides what happens
 * when (preflight, shadow, capture, copy <-> replay, indexes, cutover,
 * cleanup), sizes chunks, reports progress and handles aborts.  Everything
 * that speaks SQL lives behind Engine (src/core/engine.h), one
 * implementation per database: src/pg/ and src/my/.
 */
#ifndef OSC_OSC_H
#define OSC_OSC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "alter.h"
#include "control.h"
#include "engine.h"
#include "err.h"
#include "log.h"
#include "names.h"
#include "options.h"
#include "plan.h"
#include "retry.h"
#include "run.h"
#include "strategy.h"
#include "verify.h"
#include "summary.h"

typedef struct Osc Osc;

/* Where the copy's time went, summed over its chunks (src/core/copy.c):
 * the bound query, the INSERT ... SELECT, the comparison, the checkpoint,
 * the commit; a parallel copy's add up over its sessions. */
typedef struct CopyTimes {
	int64_t chunks;
	int64_t bound_us, copy_us, check_us, checkpoint_us, commit_us;
} CopyTimes;

struct Osc {
	Options opt;
	AlterSpec alter;
	TableName target;
	Log log;
	Progress progress;
	const Engine *engine;
	EngineTable *table;              /* the engine's description of the table (src/core/engine.h) */
	EngineSession *session;          /* the main session: preflight, copy, replay, swap */
	TableInfo info;
	EngineKey *watermark;            /* the last key copied (NULL: none yet) */
	bool copy_done;
	VerifyStats verified;            /* what --verify compared (src/core/verify.h) */
	CopyTimes copy_times;
	volatile sig_atomic_t *stop;     /* SIGINT/SIGTERM count: 1 stop, 2 abort */
	int64_t started_ms;
	ResumeKind resume;
	int64_t rows_before;             /* copied by earlier runs of this migration */
	Control ctl;                     /* shared with the control loop and the monitor */
	RetryPolicy retry;               /* how every lock-taking step retries (src/core/retry.h) */
	EngineEnv env;                   /* what the engine knows of the run (src/core/engine.h) */
	RunSummary summary;              /* run id, target, what the run did (src/core/summary.h) */
};

/* Picks the engine for a database URL (NULL: PostgreSQL through libpq's
 * environment).  Unknown schemes are bad input. */
bool engine_for_url(const char *url, const Engine **out, OscErr *e) MUSTCHECK;

/* The pipeline (src/core/migrate.c). */
OscExit migrate_run(Osc *o);
OscExit migrate_plan(Osc *o);
OscExit migrate_cleanup(Osc *o);
OscExit migrate_history(Osc *o, bool latest);
/* osc revert, osc finish (src/core/revert.c). */
OscExit migrate_revert(Osc *o);
OscExit migrate_finish(Osc *o);

/* Where the copy stands, for the replay's primitives (src/core/run.c). */
CopyPos osc_copy_pos(const Osc *o);

#endif
