/*
 * copy.c — the bulk copy, one keyset chunk after another, for every engine.
 *
 * A chunk is (watermark, hi]: the engine finds hi, the key `limit` rows
 * after the watermark in key order (an index range scan, never OFFSET), and
 * how many rows that span holds.  Then, in one transaction: the copy of the
 * range (INSERT ... SELECT: rows stream through the server, never through
 * osc), its comparison with the original (--verify), and the checkpoint of
 * the state row.  The watermark moves only once that committed, so a
 * resumed copy starts exactly where the committed rows end.
 *
 * The copy is done after the chunk that found fewer than `limit` rows above
 * the watermark (or none): it took every row that existed then.  A row
 * committed after that read was logged by the capture trigger in its own
 * transaction, and the replay merges every key once the copy is done.
 * (Waiting until no row at all is left above the watermark never ends while
 * the application inserts a row per chunk cycle.)
 *
 * What can go wrong in a chunk, and what the core does about it:
 *   - the comparison differs: the chunk is rolled back and copied again
 *     once; a second difference stops the run (src/core/verify.c);
 *   - a duplicate under a unique key of the shadow: rows of the shadow not
 *     yet brought up to date can collide with the chunk's; the engine finds
 *     them (merge_stale), and the chunk is written again with them merged.
 *     When none could be stale the original itself holds the duplicate and
 *     the run fails naming it, no row dropped;
 *   - a lock not granted in time (DDL by another session queued on the
 *     table): rolled back, retried like any lock (src/core/retry.c);
 *   - the connection lost: the server rolled the chunk back, the capture
 *     keeps logging, the state row holds the last checkpoint: the run
 *     stops, resumable (exit 3).
 * Between chunks the replay gets about as much time as the chunk took
 * (replicator/replay.c), so the backlog stays small and a chunk's snapshot
 * never straddles a merge (copy and replay take turns on one session).
 */
#include "copy.h"

#include <stdio.h>
#include <string.h>

#include "chunk.h"
#include "copy_int.h"
#include "fault.h"
#include "replay.h"
#include "run.h"

void copy_free(Osc *o)
{
	if (o->watermark)
		o->engine->key_free(o->watermark);
	o->watermark = NULL;
}

/* "keys above (1) up to (500)", for the verification's messages. */
static void range_text(Osc *o, const EngineKey *lo, const EngineKey *hi, char *out, size_t outsz)
{
	char a[256], b[256];
	o->engine->key_describe(hi, b, sizeof(b));
	if (lo == NULL) {
		snprintf(out, outsz, "keys from the start up to %s", b);
		return;
	}
	o->engine->key_describe(lo, a, sizeof(a));
	snprintf(out, outsz, "keys above %s up to %s", a, b);
}

/* OSC_FAULT=corrupt-shadow:once|always (src/core/fault.h): the first chunk
 * loses a value in one row after its INSERT, on its first attempt (once:
 * the re-copy must repair it) or on every attempt (always: the run must
 * abort naming the range). */
static bool fault_damage(ChunkJob *j, int attempt, OscErr *e)
{
	const char *f = fault_value("corrupt-shadow");
	if (f == NULL || !j->may_damage || (attempt > 1 && strcmp(f, "always") != 0))
		return true;
	return j->o->engine->damage_range(j->s, j->o->table, j->lo, j->hi, e);
}

static int64_t since(int64_t *t)
{
	int64_t now = now_us(), d = now - *t;
	*t = now;
	return d;
}

bool chunk_write(ChunkJob *j, EngineBatch *stale, OscErr *e)
{
	Osc *o = j->o;
	const Engine *E = o->engine;
	EngineSession *s = j->s;
	bool verify = o->opt.verify != VERIFY_NONE;
	CopyTimes *tm = &j->times;

	j->dup = false;
	for (int attempt = 1;; attempt++) {
		bool same = true;
		char why[256] = "";
		int64_t t = now_us();
		j->rows = 0;
		if (!E->txn_begin(s, verify, e))
			return false;
		bool ok = (stale == NULL || E->merge(s, o->table, stale, NULL, osc_copy_pos(o), e)) &&
		          E->copy_range(s, o->table, j->lo, j->hi, &j->rows, e);
		tm->copy_us += since(&t);
		if (!ok) {
			E->txn_rollback(s);
			j->dup = E->is_duplicate_key(e);
			return false;
		}
		if (j->worker)
			fault_pause(&o->log, "worker-chunk"); /* tests: a worker's session killed mid-chunk */
		if (verify && (!fault_damage(j, attempt, e) ||
		               !E->check_range(s, o->table, j->lo, j->hi, &same, why, sizeof(why), e))) {
			E->txn_rollback(s);
			return false;
		}
		tm->check_us += since(&t);
		if (verify) {
			char range[600];
			range_text(o, j->lo, j->hi, range, sizeof(range));
			char what[700];
			snprintf(what, sizeof(what), "the copy of %s", range);
			VerifyOutcome v = verify_judge(&j->verified, &o->log, same, true, attempt, what, why, e);
			if (v == VERIFY_AGAIN)
				j->mismatches++;
			if (v != VERIFY_SAME) {
				E->txn_rollback(s);
				if (v == VERIFY_DIFFERS)
					return false;
				continue;
			}
		}
		if (j->checkpoint && !E->state_checkpoint(s, o->table, j->hi, o->progress.rows_copied + j->rows,
		                                          o->progress.log_applied, e)) {
			E->txn_rollback(s);
			return false;
		}
		tm->checkpoint_us += since(&t);
		if (!E->txn_commit(s, e)) {
			E->txn_rollback(s);
			return false;
		}
		tm->commit_us += since(&t);
		tm->chunks++;
		return true;
	}
}

void chunk_account(Osc *o, const ChunkJob *j)
{
	o->verified.chunks += j->verified.chunks;
	o->verified.batches += j->verified.batches;
	o->verified.recopied += j->verified.recopied;
	for (int64_t i = 0; i < j->mismatches; i++)
		summary_verify_mismatch(o);
	CopyTimes *t = &o->copy_times;
	t->chunks += j->times.chunks;
	t->bound_us += j->times.bound_us;
	t->copy_us += j->times.copy_us;
	t->check_us += j->times.check_us;
	t->checkpoint_us += j->times.checkpoint_us;
	t->commit_us += j->times.commit_us;
}

/* A chunk whose copy met a duplicate: the stale rows merged, written again
 * (see the banner); the same rule as the replay's (replicator/replay.c). */
static bool chunk_copy(Osc *o, const EngineKey *hi, int64_t *rows, OscErr *e)
{
	EngineBatch *stale = NULL;
	bool ok = false;
	for (int round = 1;; round++) {
		ChunkJob j = { .o = o, .s = o->session, .lo = o->watermark, .hi = hi, .checkpoint = true,
		               .may_damage = o->verified.chunks == 0 };
		ok = chunk_write(&j, stale, e);
		chunk_account(o, &j);
		*rows = j.rows;
		if (ok)
			break;
		EngineScope scope = { .lo = o->watermark, .hi = hi, .extra = stale };
		if (!j.dup || !replay_stale(o, &scope, round, "a chunk", &stale, e))
			break;
	}
	if (stale)
		o->engine->batch_free(stale);
	return ok;
}

/* One chunk of at most limit rows; *done after the last one. */
static bool chunk_once(Osc *o, int64_t limit, int64_t *rows, bool *done, OscErr *e)
{
	const Engine *E = o->engine;
	EngineKey *hi = NULL;
	int64_t spanned = 0;

	*rows = 0;
	*done = false;
	/* DDL by another session since the shadow was made: stop before copying more */
	if (E->definition_check && !E->definition_check(o->session, o->table, false, e))
		return false;
	int64_t t = now_us();
	bool ok = E->chunk_bound(o->session, o->table, o->watermark, limit, &hi, &spanned, e);
	o->copy_times.bound_us += now_us() - t;
	if (!ok)
		return false;
	if (hi == NULL) {
		o->copy_done = *done = true;
		return true;
	}
	if (!chunk_copy(o, hi, rows, e)) {
		E->key_free(hi);
		return false;
	}
	/* the watermark moves only once the chunk is committed */
	copy_free(o);
	o->watermark = hi;
	if (spanned < limit)
		o->copy_done = *done = true;
	return true;
}

typedef struct ChunkStep {
	Osc *o;
	int64_t limit, *rows;
	bool *done;
	bool recheck; /* a lock was refused: the definition is compared at once next time */
} ChunkStep;

static RetryResult chunk_attempt(void *ctx, char *note, size_t notesz, OscErr *e)
{
	ChunkStep *c = ctx;
	(void)note;
	(void)notesz;
	if (c->recheck && c->o->engine->definition_check &&
	    !c->o->engine->definition_check(c->o->session, c->o->table, true, e))
		return RETRY_FAIL;
	if (chunk_once(c->o, c->limit, c->rows, c->done, e))
		return RETRY_DONE;
	c->recheck = c->o->engine->is_lock_timeout(e);
	return c->recheck ? RETRY_AGAIN : RETRY_FAIL;
}

bool copy_chunk(Osc *o, int64_t limit, int64_t *rows, bool *done, OscErr *e)
{
	char object[2 * OSC_NAME_MAX + 2];
	snprintf(object, sizeof(object), "%s.%s", o->info.schema, o->info.name);
	LockStep step = { .what = "chunk", .object = object };
	ChunkStep c = { .o = o, .limit = limit, .rows = rows, .done = done };
	return osc_lost_is_stop(o, retry_lock(&o->retry, &step, chunk_attempt, &c, e), e);
}

static void update_rates(Osc *o, int64_t copy_started_ms, int64_t rows_at_start)
{
	Progress *p = &o->progress;
	double secs = (double)(now_ms() - copy_started_ms) / 1000.0;
	p->rows_per_sec = secs > 0.2 ? (double)(p->rows_copied - rows_at_start) / secs : 0;
	if (p->rows_per_sec > 0 && p->rows_estimate > p->rows_copied)
		p->eta_ms = (int64_t)((double)(p->rows_estimate - p->rows_copied) / p->rows_per_sec * 1000.0);
	else
		p->eta_ms = p->rows_per_sec > 0 ? 0 : -1;
}

/* A resumed copy: chunks that a parallel copy committed above its last
 * checkpoint are taken out, to be copied again (src/core/copy_wave.c). */
static bool trim_resumed(Osc *o, OscErr *e)
{
	int64_t n = 0;
	if (o->resume != RESUME_COPY)
		return true;
	if (!o->engine->shadow_trim(o->session, o->table, o->watermark, &n, e))
		return osc_lost_is_stop(o, false, e);
	if (n > 0)
		log_msg(&o->log, LOG_INFO,
		        "resuming: %lld rows above the checkpoint, from chunks copied at once with others, are copied again",
		        (long long)n);
	return true;
}

/* --nice-ratio: the application gets that share of the chunk's time. */
static bool be_nice(Osc *o, int64_t took_us, OscErr *e)
{
	int64_t permille = control_nice_permille(o);
	if (permille <= 0)
		return true;
	if (!osc_sleep_ms(o, took_us / 1000 * permille / 1000))
		return osc_may_continue(o, 0, e);
	return true;
}

static void copy_times_log(Osc *o)
{
	const CopyTimes *t = &o->copy_times;
	int64_t all = t->bound_us + t->copy_us + t->check_us + t->checkpoint_us + t->commit_us;
	if (t->chunks == 0 || all <= 0)
		return;
	log_msg(&o->log, LOG_DEBUG,
	        "copy time over %lld chunks: bounds %.1fs, copy %.1fs, comparison %.1fs, checkpoint %.1fs, commit %.1fs",
	        (long long)t->chunks, (double)t->bound_us / 1e6, (double)t->copy_us / 1e6, (double)t->check_us / 1e6,
	        (double)t->checkpoint_us / 1e6, (double)t->commit_us / 1e6);
}

bool copy_run(Osc *o, OscErr *e)
{
	ChunkSizer cs;
	CopyWorkers w = { .n = 0 };
	bool done = false, ok = false;
	int64_t started = now_ms(), last_backlog = 0, rows_at_start = o->progress.rows_copied;
	/* the first chunk goes alone: it measures the rate the sizer starts
	 * from, and the engine loads what its comparisons need once, before
	 * sessions on other threads share the table's description */
	bool alone = true;

	if (!trim_resumed(o, e))
		return false;
	chunk_init(&cs, o->opt.chunk_size, 10, o->opt.chunk_size_max, o->opt.chunk_time_ms);
	while (!done) {
		int64_t rows = 0, t0, took_us;
		int nchunks = 1;
		if (!osc_may_continue(o, 0, e) || !control_gate(o, e))
			goto out;
		/* osc set may have changed the target or the bound */
		control_chunk_limits(o, &cs.target_ms, &cs.max);
		if (cs.size > cs.max)
			cs.size = cs.max;
		t0 = now_us();
		if (alone || o->opt.threads <= 1) {
			if (!copy_chunk(o, cs.size, &rows, &done, e))
				goto out;
			took_us = now_us() - t0;
			alone = false;
		} else {
			WaveResult r = copy_wave(o, &w, o->opt.threads, cs.size, &rows, &nchunks, &done, &took_us, e);
			if (r == WAVE_FAILED)
				goto out;
			alone = r == WAVE_ALONE;
		}
		/* tests: a slow chunk cycle, unseen by the sizer; once per chunk of a
		 * wave, so that a test's copy lasts as long with any --threads */
		for (int i = 0; i < (nchunks > 0 ? nchunks : 1); i++)
			fault_point(o, "chunk");
		/* each chunk of a wave took about the wave's time */
		if (!done && rows > 0)
			chunk_observe(&cs, rows / (nchunks > 0 ? nchunks : 1), took_us);
		o->progress.rows_copied += rows;
		o->progress.chunk_size = cs.size;
		if (o->progress.rows_copied > o->progress.rows_estimate)
			o->progress.rows_estimate = o->progress.rows_copied;
		/* the replayer's turn: about as long as the chunk took */
		int64_t applied = 0;
		int64_t budget = took_us / 1000 < 50 ? 50 : took_us / 1000;
		if (!replay_catch_up(o, 1000, budget, &applied, e))
			goto out;
		if (now_ms() - last_backlog > 1000 || done) {
			if (!replay_backlog(o, e))
				goto out;
			last_backlog = now_ms();
		}
		update_rates(o, started, rows_at_start);
		control_publish(o);
		log_progress(&o->log, &o->progress, done);
		if (!done && !be_nice(o, took_us, e))
			goto out;
	}
	ok = true;
out:
	copy_workers_close(o, &w);
	copy_times_log(o);
	return ok;
}
