/*
 * cutover.c — the lock-retry loop around the engine's swap.
 *
 * Before each attempt the log is drained to a short backlog, so the drain
 * inside the swap (under the exclusive lock, with writers waiting) is small.
 * A lock timeout rolls the attempt back; osc then waits an exponential,
 * jittered time (src/lib/backoff.c) and tries again, up to --cutover-retries
 * attempts, after which it aborts with the original untouched.
 */
#include "cutover.h"

#include <stdlib.h>
#include <unistd.h>

#include "backoff.h"
#include "localpath.h"
#include "proxy_hold.h"

bool cutover_catch_up(Osc *o, int64_t batch, int64_t budget_ms, int64_t *applied, OscErr *e)
{
	int64_t start = now_ms(), n;
	do {
		/* replay pauses with the copy when throttled */
		if (!control_gate(o, e))
			return false;
		if (!o->engine->replay(o, batch, &n, e))
			return false;
		*applied += n;
		o->progress.log_applied += n;
	} while (n >= batch && now_ms() - start < budget_ms && !*o->stop);
	return true;
}

/* --postpone-cutover FILE: the shadow is kept caught up while FILE exists,
 * until it is removed or `osc cutover` arrives. */
static bool postpone(Osc *o, OscErr *e)
{
	int64_t applied = 0, said = 0;
	const char *flag = o->opt.postpone_cutover;

	if (flag == NULL)
		return true;
	/* only the user's own regular file holds the swap back (a file someone
	 * else put at the path does not: src/lib/localpath.h) */
	while (localpath_flag_present(flag, NULL, 0)) {
		if (control_take_cutover(o)) {
			log_msg(&o->log, LOG_INFO, "cutover requested: swapping although %s exists", flag);
			return true;
		}
		o->progress.postponed = true; /* the progress line and osc ps say so */
		if (said == 0) {
			log_msg(&o->log, LOG_INFO,
			        "cutover postponed: the copy is done and changes keep being applied; remove %s or run "
			        "`osc cutover --table %s` to swap",
			        flag, o->opt.table);
			said = 1;
		}
		if (!osc_may_continue(o, 0, e) || !cutover_catch_up(o, 5000, 1000, &applied, e))
			return false;
		if (!o->engine->backlog(o, &o->progress.log_backlog, e))
			return false;
		control_publish(o);
		log_progress(&o->log, &o->progress, false);
		if (!osc_sleep_ms(o, 200)) {
			err_set(e, OSC_EXIT_STOPPED, "interrupted while the cutover was postponed");
			return false;
		}
	}
	if (said)
		log_msg(&o->log, LOG_INFO, "%s is gone: swapping", flag);
	return true;
}

bool cutover_run(Osc *o, OscErr *e)
{
	unsigned seed = (unsigned)now_us() ^ (unsigned)getpid();
	int retries = o->opt.cutover_retries;
	int64_t applied = 0;

	bool went = postpone(o, e);
	o->progress.postponed = false;
	if (!went)
		return false;
	for (int attempt = 1; attempt <= retries; attempt++) {
		/* never start a swap the window cannot hold: a catch-up, the lock
		 * wait and the swap's own statement bound, with room to spare */
		if (!osc_may_continue(o, o->opt.lock_timeout_ms + 5000 + 10000, e))
			return false;
		if (!cutover_catch_up(o, 5000, 10000, &applied, e))
			return false;
		ProxyHold hold; /* --proxy: the application held for the attempt */
		proxy_hold_begin(o, &hold);
		int64_t t0 = now_ms();
		SwapResult r = o->engine->swap(o, e);
		summary_swap_attempt(o, now_ms() - t0);
		proxy_hold_end(o, &hold);
		if (r == SWAP_DONE)
			return true;
		if (r == SWAP_FAILED)
			return false;
		int64_t wait = backoff_ms(attempt, o->opt.lock_timeout_ms, 2000, &seed);
		log_msg(&o->log, LOG_INFO, "cutover attempt %d/%d: lock not granted within %ldms; retrying in %ldms",
		        attempt, retries, (long)o->opt.lock_timeout_ms, (long)wait);
		if (!osc_sleep_ms(o, wait)) {
			err_set(e, OSC_EXIT_STOPPED, "interrupted before the swap");
			return false;
		}
	}
	err_set(e, OSC_EXIT_FAILED,
	        "cutover: the lock on the table was not granted in %d attempts of %ldms each; the original "
	        "is untouched (long transactions on the table? try a quieter time or --cutover-retries)",
	        retries, (long)o->opt.lock_timeout_ms);
	return false;
}
