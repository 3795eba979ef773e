/*
 * retry.h — waiting, the one way: a sleep that wakes on a stop request, the
 * lock-retry helper every lock-taking step goes through, and "may the run
 * go on".
 *
 * A statement that takes a lock on the original runs under --lock-timeout,
 * so the application queues behind it for at most that long.  When the lock
 * is not granted the step was rolled back; osc waits an exponential,
 * jittered time (src/lib/backoff.c) and tries again, --cutover-retries
 * attempts in all, and never waits after the last one.  A stop request
 * (SIGINT, SIGTERM) ends the wait at once: the run stops, resumable (exit
 * 3), whichever step was waiting.
 */
#ifndef OSC_RETRY_H
#define OSC_RETRY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "log.h"

/* How every lock-taking step of a run retries.  The core owns it (in Osc)
 * and hands engines a pointer; the gate, when set, is asked before each
 * attempt after the first (an operator's abort, the window's end). */
typedef struct RetryPolicy {
	int tries;                        /* attempts in all (--cutover-retries) */
	int64_t timeout_ms;               /* --lock-timeout: each attempt's wait, and the first backoff */
	volatile sig_atomic_t *stop;      /* SIGINT/SIGTERM count */
	Log *log;
	bool (*is_lock_timeout)(const OscErr *e); /* the engine's classification */
	bool (*gate)(void *ctx, OscErr *e);       /* may the run go on?  NULL: only the stop request counts */
	void *gate_ctx;
} RetryPolicy;

/* One lock-taking step: what it is, for the log and the final error. */
typedef struct LockStep {
	const char *what;    /* "installing the capture triggers", "cutover" */
	const char *object;  /* whose lock: "app.users", "the table" */
	const char *after;   /* appended to the final failure ("; nothing was changed"), or NULL */
	int64_t cap_ms;      /* the longest backoff; 0: 2 s */
} LockStep;

typedef enum RetryResult {
	RETRY_DONE,   /* the step is done */
	RETRY_AGAIN,  /* the lock was not granted in time; nothing changed: try again */
	RETRY_FAIL,   /* anything else, in e */
} RetryResult;

/* One attempt.  It may write a note for the log line of an attempt that
 * is tried again ("writers queued behind the request for 12.0ms"). */
typedef RetryResult (*RetryAttempt)(void *ctx, char *note, size_t notesz, OscErr *e);

/* An attempt's result from its success and error: a lock timeout (as the
 * policy's engine classifies it) is RETRY_AGAIN. */
RetryResult retry_result(const RetryPolicy *p, bool ok, const OscErr *e);

/* Runs attempt until it is done, fails, or was not granted its lock
 * p->tries times: then exit 1, "<what>: the lock on <object> was
 * not granted in N attempts of Xms each<after>", the last attempt's
 * SQLSTATE kept.  A stop request while waiting: exit 3. */
bool retry_lock(const RetryPolicy *p, const LockStep *step, RetryAttempt attempt, void *ctx, OscErr *e) MUSTCHECK;

/* Sleeps ms; false (at once) when a stop was requested or arrives. */
bool retry_sleep(volatile sig_atomic_t *stop, int64_t ms);

/* "<what>: interrupted by a signal; stopped" (exit 3). */
void retry_stopped(OscErr *e, const char *what);

#endif
