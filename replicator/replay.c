/*
 * replay.c — applying the captured changes to the shadow, written once for
 * every engine.
 *
 * The capture trigger logs the key of every changed row (never a row
 * image); the replay merges keys from the original, the source of truth.
 * A batch, in one transaction:
 *   1. take up to N log rows, oldest first (log_take): their keys; keys the
 *      copy has not reached are consumed and dropped (the copy reads them
 *      later, at a later snapshot);
 *   2. merge: delete those keys from the shadow, insert their current rows;
 *   3. consume exactly the log rows taken (never by an id watermark: ids are
 *      assigned at insert, not at commit, so a watermark skips late
 *      commits);
 *   4. compare the merged keys with the original (--verify): a difference
 *      merges them again once, a second one stops the run
 *      (src/core/verify.c).
 * Merging from the source makes a batch idempotent and blind to order and
 * duplicates.
 *
 * A duplicate under a unique key of the new table is not taken at its word
 * (replay_stale, used by the copy's chunks too): a batch merges only part of
 * the pending keys, and the rest of the shadow may still hold rows older
 * than the original's.  Two rows that swap a unique value in one
 * transaction then meet in the shadow when their log rows fall into two
 * batches: a duplicate that no state of the original ever had.  So the
 * write is rolled back, the engine brings up to date the shadow's rows that
 * may be stale (merge_stale), and the write is tried again; only when none
 * could be stale is the duplicate the original's own, and the run fails
 * naming it, no row dropped.
 *
 * Under the swap's lock (replay_drain) the same batches run inside the
 * engine's swap transaction, or under its table lock: the engine's
 * txn_begin and txn_commit do nothing there.
 */
#include "replay.h"

#include <stdio.h>
#include <string.h>

#include "run.h"

/* Rounds of stale rows brought up to date before a duplicate counts as the
 * original's own (each round finds what the last one's rows collided with). */
#define STALE_ROUNDS 20

bool replay_stale(Osc *o, const EngineScope *scope, int round, const char *write, EngineBatch **stale, OscErr *e)
{
	const Engine *E = o->engine;
	EngineBatch *more = NULL;
	int64_t found = 0, consumed = 0;
	OscErr dup = *e;
	char how[300] = "";

	if (round <= STALE_ROUNDS) {
		err_clear(e);
		bool ok = E->merge_stale(o->session, o->table, scope, osc_copy_pos(o), &more, &found, &consumed, e);
		o->progress.log_applied += consumed;
		if (!ok) {
			if (!E->is_duplicate_key(e))
				return false;
			dup = *e; /* it met the original's own duplicate */
			found = 0;
		}
	}
	if (found == 0) {
		*e = dup;
		err_wrap(e, OSC_EXIT_FAILED,
		         scope->batch ? "a row written during the migration violates the new table's constraints: "
		                      : "the table's rows violate a unique key of the new table: ",
		         "; nothing was changed, no row was dropped");
		return false;
	}
	if (more) {
		snprintf(how, sizeof(how), "%lld row(s) of it not yet brought up to date (their change is in the log): "
		                           "merging those keys too",
		         (long long)found);
		if (*stale)
			E->batch_join(*stale, more);
		else
			*stale = more;
	} else {
		snprintf(how, sizeof(how), "rows that change together may sit in two batches: merging every pending "
		                           "change at once");
	}
	log_msg(&o->log, LOG_INFO, "%s met a duplicate under a unique key of the new table (%s): %s", write, dup.msg, how);
	return true;
}

/* The merged keys compared with the original, in the batch's transaction;
 * a difference merges them again (the rule: src/core/verify.c). */
static bool check(Osc *o, EngineBatch *b, OscErr *e)
{
	const Engine *E = o->engine;
	if (o->opt.verify == VERIFY_NONE)
		return true;
	for (int attempt = 1;; attempt++) {
		bool same = true;
		char why[256] = "";
		if (!E->check_batch(o->session, o->table, b, osc_copy_pos(o), &same, why, sizeof(why), e))
			return false;
		VerifyOutcome v =
			verify_judge(&o->verified, &o->log, same, false, attempt, "the rows just merged from the change log", why, e);
		if (v == VERIFY_SAME)
			return true;
		if (v == VERIFY_AGAIN)
			summary_verify_mismatch(o);
		if (v == VERIFY_DIFFERS || !E->merge(o->session, o->table, b, NULL, osc_copy_pos(o), e))
			return false;
	}
}

/* One batch (see the banner); write names it in messages. */
static bool batch_once(Osc *o, int64_t limit, int64_t *applied, const char *write, OscErr *e)
{
	const Engine *E = o->engine;
	EngineSession *s = o->session;
	EngineBatch *b = NULL, *stale = NULL;
	bool ok = false;

	*applied = 0;
	for (int round = 1;; round++) {
		int64_t taken = 0;
		CopyPos pos = osc_copy_pos(o);
		if (!E->txn_begin(s, true, e))
			goto out;
		if (!E->log_take(s, o->table, pos, limit, &b, &taken, e))
			goto rollback;
		if (b && !E->merge(s, o->table, b, stale, pos, e)) {
			if (!E->is_duplicate_key(e))
				goto rollback;
			E->txn_rollback(s);
			EngineScope scope = { .batch = b, .extra = stale };
			bool again = replay_stale(o, &scope, round, write, &stale, e);
			E->batch_free(b);
			b = NULL;
			if (!again)
				goto out;
			continue;
		}
		if (b && ((E->log_consume && !E->log_consume(s, o->table, b, e)) || !check(o, b, e)))
			goto rollback;
		if (!E->txn_commit(s, e))
			goto rollback;
		*applied = taken;
		ok = true;
		goto out;
	}
rollback:
	E->txn_rollback(s);
out:
	if (b)
		E->batch_free(b);
	if (stale)
		E->batch_free(stale);
	return ok;
}

typedef struct BatchStep {
	Osc *o;
	int64_t limit, *applied;
	bool recheck;
} BatchStep;

static RetryResult batch_attempt(void *ctx, char *note, size_t notesz, OscErr *e)
{
	BatchStep *b = ctx;
	Osc *o = b->o;
	(void)note;
	(void)notesz;
	/* DDL by another session since the shadow was made: stop before merging more */
	if (o->engine->definition_check && !o->engine->definition_check(o->session, o->table, b->recheck, e))
		return RETRY_FAIL;
	if (batch_once(o, b->limit, b->applied, "a merged batch", e))
		return RETRY_DONE;
	b->recheck = o->engine->is_lock_timeout(e);
	return b->recheck ? RETRY_AGAIN : RETRY_FAIL;
}

bool replay_batch(Osc *o, int64_t limit, int64_t *applied, OscErr *e)
{
	char object[2 * OSC_NAME_MAX + 2];
	snprintf(object, sizeof(object), "%s.%s", o->info.schema, o->info.name);
	LockStep step = { .what = "replay batch", .object = object };
	BatchStep b = { .o = o, .limit = limit, .applied = applied };
	return osc_lost_is_stop(o, retry_lock(&o->retry, &step, batch_attempt, &b, e), e);
}

bool replay_catch_up(Osc *o, int64_t batch, int64_t budget_ms, int64_t *applied, OscErr *e)
{
	int64_t start = now_ms(), n;
	do {
		/* replay pauses with the copy when throttled */
		if (!control_gate(o, e))
			return false;
		if (!replay_batch(o, batch, &n, e))
			return false;
		*applied += n;
		o->progress.log_applied += n;
	} while (n >= batch && now_ms() - start < budget_ms && !*o->stop);
	return true;
}

bool replay_backlog(Osc *o, OscErr *e)
{
	return osc_lost_is_stop(o, o->engine->backlog(o->session, o->table, &o->progress.log_backlog, e), e);
}

/* Under the swap's lock: every change captured until then. */
static bool drain(void *ctx, int64_t *drained, OscErr *e)
{
	Osc *o = ctx;
	int64_t n;
	*drained = 0;
	do {
		if (!batch_once(o, 10000, &n, "the drain", e))
			return false;
		*drained += n;
	} while (n > 0);
	o->progress.log_applied += *drained;
	return true;
}

SwapDrain replay_drain(Osc *o)
{
	SwapDrain d = { .run = drain, .ctx = o };
	return d;
}
