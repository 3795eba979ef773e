/*
 * test_retry.c — the lock-retry helper (src/core/retry.c): attempts, the
 * final error, no wait after the last attempt, a stop request, the gate.
 */
#include <signal.h>

#include "retry.h"
#include "unit.h"

typedef struct Fake {
	int calls, ok_at; /* ok_at: the attempt that succeeds (0: none) */
	int64_t last_at;  /* when the last attempt ran (ms) */
	bool other;       /* fail otherwise than on the lock */
} Fake;

static RetryResult fake_attempt(void *ctx, char *note, size_t notesz, OscErr *e)
{
	Fake *f = ctx;
	f->calls++;
	f->last_at = now_ms();
	if (f->ok_at && f->calls == f->ok_at)
		return RETRY_DONE;
	snprintf(note, notesz, "attempt %d", f->calls);
	err_set(e, OSC_EXIT_FAILED, f->other ? "syntax error" : "canceling statement due to lock timeout");
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", f->other ? "42601" : "55P03");
	return f->other ? RETRY_FAIL : RETRY_AGAIN;
}

static bool said_no(void *ctx, OscErr *e)
{
	int *n = ctx;
	(*n)++;
	err_set(e, OSC_EXIT_FAILED, "aborted by the operator");
	return false;
}

void test_retry(void)
{
	volatile sig_atomic_t stop = 0;
	Log log;
	memset(&log, 0, sizeof(log));
	log.out = fopen("/dev/null", "w");
	log.verbosity = -1;
	pthread_mutex_init(&log.mu, NULL);
	RetryPolicy p = { .tries = 3, .timeout_ms = 5, .stop = &stop, .log = &log };
	LockStep step = { .what = "cutover", .object = "the table", .after = "; the original is untouched" };
	OscErr e;

	/* every attempt times out: exactly `tries` attempts, then exit 1 */
	Fake f = { 0 };
	err_clear(&e);
	int64_t t0 = now_ms();
	CHECK(!retry_lock(&p, &step, fake_attempt, &f, &e));
	int64_t took = now_ms() - t0;
	CHECK(f.calls == 3);
	CHECK(e.exit == OSC_EXIT_FAILED);
	CHECK_STR(e.msg, "cutover: the lock on the table was not granted in 3 attempts of 5ms each; the original is untouched");
	CHECK(strcmp(e.sqlstate, "55P03") == 0); /* still a lock timeout for the caller */
	/* no backoff after the last attempt: it returns as soon as that fails */
	CHECK(now_ms() - f.last_at < 5);
	CHECK(took < 200);

	/* the second attempt succeeds */
	Fake g = { .ok_at = 2 };
	err_clear(&e);
	CHECK(retry_lock(&p, &step, fake_attempt, &g, &e));
	CHECK(g.calls == 2);

	/* another error ends it at once, as it is */
	Fake h = { .other = true };
	err_clear(&e);
	CHECK(!retry_lock(&p, &step, fake_attempt, &h, &e));
	CHECK(h.calls == 1);
	CHECK_STR(e.msg, "syntax error");

	/* a stop request: exit 3, no further attempt */
	Fake s = { 0 };
	stop = 1;
	err_clear(&e);
	CHECK(!retry_lock(&p, &step, fake_attempt, &s, &e));
	CHECK(s.calls == 1);
	CHECK(e.exit == OSC_EXIT_STOPPED);
	CHECK(strstr(e.msg, "interrupted by a signal") != NULL);
	CHECK(!retry_sleep(&stop, 1000));
	stop = 0;
	CHECK(retry_sleep(&stop, 1));

	/* the gate is asked before each attempt after the first */
	int asked = 0;
	RetryPolicy gated = p;
	gated.gate = said_no;
	gated.gate_ctx = &asked;
	Fake q = { 0 };
	err_clear(&e);
	CHECK(!retry_lock(&gated, &step, fake_attempt, &q, &e));
	CHECK(q.calls == 1 && asked == 1);
	CHECK_STR(e.msg, "aborted by the operator");

	/* one attempt in all */
	RetryPolicy once = p;
	once.tries = 1;
	Fake one = { 0 };
	err_clear(&e);
	CHECK(!retry_lock(&once, &step, fake_attempt, &one, &e));
	CHECK(one.calls == 1 && strstr(e.msg, "in 1 attempts") != NULL);
	fclose(log.out);
}
