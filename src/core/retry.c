/*
 * retry.c — the sleep that wakes on stop and the lock-retry helper (see
 * retry.h).  The sleep naps in steps of at most 50 ms and looks at the stop
 * count between them: a signal handler only bumps the count, so this is
 * how a wait hears it.
 */
#include "retry.h"

#include <stdio.h>
#include <time.h>

#include "backoff.h"

bool retry_sleep(volatile sig_atomic_t *stop, int64_t ms)
{
	int64_t end = now_ms() + ms;
	while (!*stop) {
		int64_t left = end - now_ms();
		if (left <= 0)
			return true;
		if (left > 50)
			left = 50;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)left * 1000000L };
		nanosleep(&ts, NULL);
	}
	return false;
}

void retry_stopped(OscErr *e, const char *what)
{
	err_set(e, OSC_EXIT_STOPPED, "%s: interrupted by a signal; stopped", what);
}

RetryResult retry_result(const RetryPolicy *p, bool ok, const OscErr *e)
{
	if (ok)
		return RETRY_DONE;
	return p->is_lock_timeout && p->is_lock_timeout(e) ? RETRY_AGAIN : RETRY_FAIL;
}

bool retry_lock(const RetryPolicy *p, const LockStep *step, RetryAttempt attempt, void *ctx, OscErr *e)
{
	unsigned seed = (unsigned)now_us();
	int64_t cap = step->cap_ms > 0 ? step->cap_ms : 2000;
	int tries = p->tries < 1 ? 1 : p->tries;

	for (int n = 1;; n++) {
		char note[160] = "";
		RetryResult r = attempt(ctx, note, sizeof(note), e);
		if (r == RETRY_DONE)
			return true;
		if (r == RETRY_FAIL)
			return false;
		if (n >= tries)
			break; /* no wait after the last attempt */
		int64_t wait = backoff_ms(n, p->timeout_ms, cap, &seed);
		log_msg(p->log, LOG_INFO, "%s attempt %d/%d: lock not granted within %ldms%s%s%s; retrying in %ldms",
		        step->what, n, tries, (long)p->timeout_ms, note[0] ? " (" : "", note, note[0] ? ")" : "",
		        (long)wait);
		if (!retry_sleep(p->stop, wait)) {
			retry_stopped(e, step->what);
			return false;
		}
		if (p->gate && !p->gate(p->gate_ctx, e))
			return false;
	}
	char last[sizeof(e->msg)];
	snprintf(last, sizeof(last), "%s", e->msg);
	err_set(e, OSC_EXIT_FAILED, "%s: the lock on %s was not granted in %d attempts of %ldms each%s", step->what,
	        step->object, tries, (long)p->timeout_ms, step->after ? step->after : "");
	err_detail(e, "the last attempt: %.1900s", last);
	return false;
}
