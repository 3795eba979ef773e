/*
 * copy_wave.c — the parallel copy (--threads N): up to N chunks at once,
 * each on its own session, in waves.
 *
 * A wave: the main session finds the bounds of N consecutive chunks after
 * the watermark (N index range scans, as copy.c's single chunk does); chunk
 * 0 is copied on the main session, chunks 1..N-1 on worker sessions, each
 * on a thread of its own, each in its own transaction with its own
 * comparison (--verify), exactly as a single chunk.  When all N committed,
 * the checkpoint moves to the last chunk's bound in one more short
 * transaction, and the replay gets its turn, as after a single chunk.
 *
 * Why waves, and not workers that run ahead: between waves nothing is in
 * flight, so the replay sees what it sees after a single chunk: every row at
 * or below the watermark copied, none above it.  The rules of copy.c and
 * replicator/replay.c (keys above the watermark are only consumed: the copy
 * reads them later) stay exact without a second watermark; the price is
 * that a wave waits for its slowest chunk, which --chunk-time keeps close to
 * the others.
 *
 * What a kill leaves: chunks of the wave in flight that committed, above the
 * checkpoint.  A resumed copy deletes the shadow's rows above the
 * checkpoint first (copy.c, trim_resumed) and copies them again: no row
 * twice, none skipped.  The replay never merged keys above the watermark,
 * and a change to a row whose copy is deleted is read again from the
 * original by the new copy.
 *
 * What the wave leaves to the single chunk (WAVE_ALONE): a chunk that met
 * a duplicate under a unique key (stale rows must be merged with it, in
 * order), a lock not granted in time (DDL queued on the table: the single
 * chunk retries it under the lock policy) or a worker whose connection was
 * lost (its session is opened again).  The wave's committed chunks are
 * deleted from the shadow (the same trim), and the next chunk goes alone
 * through copy.c's rules; the wave after it is parallel again.  A worker's
 * lost connection does not stop the run; the main session's does (exit 3,
 * resumable), as before.
 *
 * Throttling, pause, the window and every abort threshold are asked between
 * waves (copy.c), so they stop all workers within one chunk.
 */
#include "copy_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "copy.h"
#include "fault.h"

static void *worker_main(void *arg)
{
	ChunkJob *j = arg;
	control_block_signals(); /* SIGINT/SIGTERM are the main thread's */
	err_clear(&j->err);
	j->ok = chunk_write(j, NULL, &j->err);
	return NULL;
}

void copy_workers_close(Osc *o, CopyWorkers *w)
{
	for (int i = 0; i < w->n; i++)
		if (w->s[i])
			o->engine->session_close(w->s[i]);
	w->n = 0;
}

/* Opens worker sessions up to n.  A server that refuses more connections
 * (max_connections) leaves the copy with fewer threads, said once, rather
 * than stopping it. */
static void workers_open(Osc *o, CopyWorkers *w, int n)
{
	while (w->n < n && !w->refused) {
		EngineSession *s = NULL;
		OscErr e;
		err_clear(&e);
		if (!o->engine->session_open(o->table, &s, &e)) {
			if (s)
				o->engine->session_close(s);
			w->refused = true;
			log_msg(&o->log, LOG_WARN, "a copy worker could not connect (%s): copying %d chunk%s at a time", e.msg,
			        w->n + 1, w->n ? "s" : "");
			o->opt.threads = w->n + 1;
			return;
		}
		w->s[w->n++] = s;
	}
}

/* The bounds of up to n chunks after the watermark: hi[0..*k-1]; *last:
 * the last of them reaches the end of the table. */
static bool bounds(Osc *o, int n, int64_t limit, EngineKey **hi, int *k, bool *last, OscErr *e)
{
	const EngineKey *lo = o->watermark;
	int64_t t = now_us();
	bool ok = true;
	*k = 0;
	*last = false;
	while (*k < n) {
		int64_t spanned = 0;
		EngineKey *h = NULL;
		if (!(ok = o->engine->chunk_bound(o->session, o->table, lo, limit, &h, &spanned, e)))
			break;
		if (h == NULL) {
			*last = true;
			break;
		}
		hi[(*k)++] = h;
		lo = h;
		if (spanned < limit) {
			*last = true;
			break;
		}
	}
	o->copy_times.bound_us += now_us() - t;
	return ok;
}

/* The shadow's rows above the watermark out again (a wave that failed). */
static bool trim(Osc *o, OscErr *e)
{
	int64_t n = 0;
	return osc_lost_is_stop(o, o->engine->shadow_trim(o->session, o->table, o->watermark, &n, e), e);
}

/* A chunk failed: can the single chunk take it over? */
static bool recoverable(Osc *o, const ChunkJob *j, int i)
{
	const Engine *E = o->engine;
	if (j->dup || E->is_lock_timeout(&j->err))
		return true;
	return i > 0 && E->is_connection_lost(&j->err); /* a worker's session, not the main one */
}

/* After a failed wave: sessions whose connection is gone are opened again. */
static bool reopen_lost(Osc *o, CopyWorkers *w, ChunkJob *jobs, int k, OscErr *e)
{
	for (int i = 1; i < k; i++) {
		if (jobs[i].ok || !o->engine->is_connection_lost(&jobs[i].err))
			continue;
		log_msg(&o->log, LOG_WARN, "a copy worker lost its connection (%s); it connects again", jobs[i].err.msg);
		o->engine->session_close(w->s[i - 1]);
		w->s[i - 1] = NULL;
		if (!o->engine->session_open(o->table, &w->s[i - 1], e))
			return osc_lost_is_stop(o, false, e);
	}
	return true;
}

static bool checkpoint(Osc *o, const EngineKey *hi, int64_t rows, OscErr *e)
{
	const Engine *E = o->engine;
	int64_t t = now_us();
	bool ok = E->txn_begin(o->session, false, e) &&
	          E->state_checkpoint(o->session, o->table, hi, o->progress.rows_copied + rows, o->progress.log_applied,
	                              e) &&
	          E->txn_commit(o->session, e);
	if (!ok)
		E->txn_rollback(o->session);
	o->copy_times.checkpoint_us += now_us() - t;
	return osc_lost_is_stop(o, ok, e);
}

/* Runs jobs[0] here and the others on threads; false when a thread could
 * not start (the jobs that ran are joined). */
static bool run_jobs(ChunkJob *jobs, int k, OscErr *e)
{
	pthread_t th[OSC_THREADS_MAX];
	int started = 1;
	for (; started < k; started++)
		if (pthread_create(&th[started], NULL, worker_main, &jobs[started]) != 0)
			break;
	err_clear(&jobs[0].err);
	jobs[0].ok = chunk_write(&jobs[0], NULL, &jobs[0].err);
	for (int i = 1; i < started; i++)
		pthread_join(th[i], NULL);
	if (started < k) {
		err_set(e, OSC_EXIT_FAILED, "could not start a copy thread");
		return false;
	}
	return true;
}

WaveResult copy_wave(Osc *o, CopyWorkers *w, int threads, int64_t limit, int64_t *rows, int *nchunks, bool *done,
                     int64_t *took_us, OscErr *e)
{
	const Engine *E = o->engine;
	EngineKey *hi[OSC_THREADS_MAX];
	ChunkJob jobs[OSC_THREADS_MAX];
	WaveResult res = WAVE_FAILED;
	int k = 0;
	bool last = false;
	int64_t t0 = now_us();

	*rows = 0;
	*nchunks = 0;
	*done = false;
	*took_us = 0;
	if (threads > OSC_THREADS_MAX)
		threads = OSC_THREADS_MAX;
	/* DDL by another session since the shadow was made: stop before copying more */
	if (E->definition_check && !E->definition_check(o->session, o->table, false, e))
		return WAVE_FAILED;
	workers_open(o, w, threads - 1);
	if (threads > w->n + 1)
		threads = w->n + 1;
	if (!bounds(o, threads, limit, hi, &k, &last, e)) {
		res = E->is_lock_timeout(e) ? WAVE_ALONE : WAVE_FAILED;
		if (res == WAVE_FAILED)
			osc_lost_is_stop(o, false, e);
		goto out;
	}
	if (k == 0) {
		o->copy_done = *done = true;
		res = WAVE_DONE;
		goto out;
	}
	memset(jobs, 0, sizeof(jobs[0]) * (size_t)k);
	for (int i = 0; i < k; i++) {
		jobs[i].o = o;
		jobs[i].s = i == 0 ? o->session : w->s[i - 1];
		jobs[i].lo = i == 0 ? o->watermark : hi[i - 1];
		jobs[i].hi = hi[i];
		jobs[i].worker = i > 0;
	}
	bool started = run_jobs(jobs, k, e);
	int64_t sum = 0;
	int failed = -1;
	bool alone = started;
	for (int i = 0; i < k; i++) {
		chunk_account(o, &jobs[i]);
		sum += jobs[i].rows;
		if (!jobs[i].ok) {
			if (failed < 0)
				failed = i;
			alone = alone && recoverable(o, &jobs[i], i);
		}
	}
	*took_us = now_us() - t0;
	*nchunks = k;
	if (started && failed < 0) {
		/* tests: chunks committed above the checkpoint, for a kill */
		if (k > 1)
			fault_point(o, "wave");
		if (!checkpoint(o, hi[k - 1], sum, e))
			goto out;
		copy_free(o);
		o->watermark = hi[k - 1];
		hi[k - 1] = NULL;
		*rows = sum;
		o->copy_done = *done = last;
		res = WAVE_COPIED;
		goto out;
	}
	if (!started)
		goto out;
	if (!alone) {
		*e = jobs[failed].err;
		osc_lost_is_stop(o, false, e);
		goto out;
	}
	log_msg(&o->log, LOG_INFO, "a chunk copied at once with others %s; the chunks above %s are copied again, the next alone",
	        jobs[failed].dup ? "met a duplicate key" : E->is_lock_timeout(&jobs[failed].err) ? "waited too long for a lock"
	                                                                                           : "lost its connection",
	        o->watermark ? "the checkpoint" : "the start");
	if (reopen_lost(o, w, jobs, k, e) && trim(o, e))
		res = WAVE_ALONE;
out:
	for (int i = 0; i < k; i++)
		if (hi[i])
			E->key_free(hi[i]);
	return res;
}
