/*
 * summary.h — what one run did, kept as it happens and told once at its
 * end: the run id and the target every JSON line carries, the time spent
 * in each phase, the swap attempts and the time they held (or waited for)
 * the lock, what verification found, and where a failure happened.
 *
 * The worker writes it; the control loop (`/metrics`, src/core/metrics.c)
 * and the hooks read it, so its counters sit under a mutex of their own
 * (the control state's is not there yet when a run fails in preflight).
 * The `summary` JSON event (summary_emit) is the last line of a run: cron
 * jobs and log shippers read one object instead of grepping messages.
 */
#ifndef OSC_SUMMARY_H
#define OSC_SUMMARY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

typedef struct Osc Osc;

#define SUMMARY_MAX_PHASES 16

typedef enum VerifyResult {
	VERIFY_RESULT_UNKNOWN, /* the run did not get that far */
	VERIFY_RESULT_SKIPPED, /* --verify none */
	VERIFY_RESULT_PASSED,
	VERIFY_RESULT_FAILED,
} VerifyResult;

typedef struct RunSummary {
	pthread_mutex_t mu;
	bool ready;              /* summary_init ran: mu exists */
	char run_id[40];         /* random, 16 hex digits: one run, every line of it */
	/* the target, without credentials (src/lib/dburl.h) */
	char engine[16], host[256], port[16], database[256];
	/* --- under mu --- */
	struct {
		char name[24];
		int64_t ms;
	} phases[SUMMARY_MAX_PHASES];
	int nphases;
	int current;             /* index in phases of the phase going on; -1: none */
	int64_t phase_started_ms;
	char failed_phase[24];   /* "" unless the run failed */
	char error[2048];        /* the failure's message (OscErr.msg) */
	int cutover_attempts;
	int64_t lock_ms;         /* every swap attempt, lock wait included */
	int64_t lock_last_ms;    /* the last attempt */
	int64_t verify_mismatches;
	VerifyResult verify;
	int64_t verify_chunks, verify_batches;
} RunSummary;

/* Draws the run id. */
void summary_init(RunSummary *s);
/* Reads the target from the URL (NULL: libpq's environment), which must
 * have passed dburl_check. */
void summary_set_target(RunSummary *s, const char *url, const char *schema, const char *table);
void summary_free(RunSummary *s);

/* The worker entered phase `name`: the one before it ends now. */
void summary_phase(Osc *o, const char *name);
/* One swap attempt ended after took_ms (done or not). */
void summary_swap_attempt(Osc *o, int64_t took_ms);
/* A verification found a difference (re-copied, or fatal on a second). */
void summary_verify_mismatch(Osc *o);
/* Verification passed for the whole run (after the swap). */
void summary_verified(Osc *o, int64_t chunks, int64_t batches);
/* The run failed in the phase going on now, with e. */
void summary_failed(Osc *o, const OscErr *e);

/* Copies of counters for readers on other threads. */
int summary_cutover_attempts(RunSummary *s, int64_t *lock_ms, int64_t *lock_last_ms, int64_t *mismatches);
/* The phase a failure happened in ("" if none), into out. */
void summary_failed_phase(RunSummary *s, char *out, size_t outsz);

/* Logs the one `summary` event (JSON lines; a line of text otherwise, at
 * -v) for a run that ends with rc. */
void summary_emit(Osc *o, OscExit rc);

#endif
