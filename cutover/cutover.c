/*
 * cutover.c — the lock-retry loop around the engine's swap.
 *
 * Before each attempt the log is drained to a short backlog, so the drain
 * inside the swap (under the exclusive lock, with writers waiting) is small.
 * A lock timeout rolls the attempt back; the lock-retry helper
 * (src/core/retry.c) waits an exponential, jittered time and tries again, up
 * to --cutover-retries attempts, after which the run aborts with the
 * original untouched.
 */
#include "cutover.h"

#include "localpath.h"
#include "proxy_hold.h"
#include "replay.h"

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
		if (!osc_may_continue(o, 0, e) || !replay_catch_up(o, 5000, 1000, &applied, e))
			return false;
		if (!replay_backlog(o, e))
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

/* One swap attempt: a catch-up first (so the drain under the lock is
 * short), the application held around it with --proxy. */
static RetryResult swap_attempt(void *ctx, char *note, size_t notesz, OscErr *e)
{
	Osc *o = ctx;
	int64_t applied = 0;
	(void)note;
	(void)notesz;
	/* never start a swap the window cannot hold: a catch-up, the lock
	 * wait and the swap's own statement bound, with room to spare */
	if (!osc_may_continue(o, o->opt.lock_timeout_ms + 5000 + 10000, e) || !replay_catch_up(o, 5000, 10000, &applied, e))
		return RETRY_FAIL;
	ProxyHold hold; /* --proxy: the application held for the attempt */
	proxy_hold_begin(o, &hold);
	SwapDrain drain = replay_drain(o);
	int64_t t0 = now_ms();
	SwapResult r = o->engine->swap(o->session, o->table, &drain, e);
	summary_swap_attempt(o, now_ms() - t0);
	proxy_hold_end(o, &hold);
	return r == SWAP_DONE ? RETRY_DONE : r == SWAP_RETRY ? RETRY_AGAIN : RETRY_FAIL;
}

bool cutover_run(Osc *o, OscErr *e)
{
	static const LockStep step = {
		.what = "cutover",
		.object = "the table",
		.after = "; the original is untouched (long transactions on the table? try a quieter time or "
		         "--cutover-retries)",
	};
	bool went = postpone(o, e);
	o->progress.postponed = false;
	if (!went || !retry_lock(&o->retry, &step, swap_attempt, o, e))
		return false;
	verify_summary(&o->verified, &o->log, o->opt.verify);
	if (o->opt.verify != VERIFY_NONE)
		summary_verified(o, o->verified.chunks, o->verified.batches);
	return true;
}
