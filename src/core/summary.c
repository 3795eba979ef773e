/*
 * summary.c — the run's own record and its closing `summary` event (see
 * summary.h).
 *
 * Phase durations are measured from one summary_phase call to the next, so
 * a phase entered twice (a resumed run goes through catch-up again) adds
 * up under one name; the phase a run ends in is closed by summary_emit.
 */
#include "summary.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "dburl.h"
#include "json.h"
#include "osc.h"

/* 16 hex digits from the kernel's generator; the clock and pid when it
 * has none to give (a run id must only differ from other runs', it is no
 * secret). */
static void draw_run_id(char *out, size_t outsz)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = ((uint64_t)wall_ms() << 20) ^ (uint64_t)getpid() ^ (uint64_t)now_us();
	snprintf(out, outsz, "%016llx", (unsigned long long)v);
}

/* The n-th line of dburl_target's text (0-based) into out. */
static void target_line(const char *text, int n, char *out, size_t outsz)
{
	const char *p = text;
	for (int i = 0; i < n && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	size_t len = p ? strcspn(p, "\n") : 0;
	if (len >= outsz)
		len = outsz - 1;
	memcpy(out, p ? p : "", len);
	out[len] = '\0';
}

void summary_init(RunSummary *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->ready = true;
	s->current = -1;
	draw_run_id(s->run_id, sizeof(s->run_id));
}

void summary_set_target(RunSummary *s, const char *url, const char *schema, const char *table)
{
	TableName t;
	memset(&t, 0, sizeof(t));
	snprintf(t.schema, sizeof(t.schema), "%s", schema ? schema : "");
	snprintf(t.table, sizeof(t.table), "%s", table ? table : "");
	char text[1200];
	dburl_target(url, &t, text, sizeof(text));
	target_line(text, 0, s->engine, sizeof(s->engine));
	target_line(text, 1, s->host, sizeof(s->host));
	target_line(text, 2, s->port, sizeof(s->port));
	/* MySQL's "schema" is its database: dburl_target puts it on line 3 */
	target_line(text, 3, s->database, sizeof(s->database));
}

void summary_free(RunSummary *s)
{
	if (s->ready)
		pthread_mutex_destroy(&s->mu);
	s->ready = false;
}

/* Ends the phase going on (mu held). */
static void close_phase(RunSummary *s, int64_t now)
{
	if (s->current >= 0)
		s->phases[s->current].ms += now - s->phase_started_ms;
	s->current = -1;
}

void summary_phase(Osc *o, const char *name)
{
	RunSummary *s = &o->summary;
	int64_t now = now_ms();
	int i;

	if (!s->ready)
		return;
	pthread_mutex_lock(&s->mu);
	close_phase(s, now);
	for (i = 0; i < s->nphases; i++)
		if (strcmp(s->phases[i].name, name) == 0)
			break;
	if (i == s->nphases && i < SUMMARY_MAX_PHASES) {
		snprintf(s->phases[i].name, sizeof(s->phases[i].name), "%s", name);
		s->nphases++;
	}
	if (i < SUMMARY_MAX_PHASES) {
		s->current = i;
		s->phase_started_ms = now;
	}
	pthread_mutex_unlock(&s->mu);
}

void summary_swap_attempt(Osc *o, int64_t took_ms)
{
	RunSummary *s = &o->summary;
	if (!s->ready)
		return;
	pthread_mutex_lock(&s->mu);
	s->cutover_attempts++;
	s->lock_ms += took_ms;
	s->lock_last_ms = took_ms;
	pthread_mutex_unlock(&s->mu);
}

void summary_verify_mismatch(Osc *o)
{
	RunSummary *s = &o->summary;
	if (!s->ready)
		return;
	pthread_mutex_lock(&s->mu);
	s->verify_mismatches++;
	pthread_mutex_unlock(&s->mu);
}

void summary_verified(Osc *o, int64_t chunks, int64_t batches)
{
	RunSummary *s = &o->summary;
	if (!s->ready)
		return;
	pthread_mutex_lock(&s->mu);
	s->verify = VERIFY_RESULT_PASSED;
	s->verify_chunks = chunks;
	s->verify_batches = batches;
	pthread_mutex_unlock(&s->mu);
}

void summary_failed(Osc *o, const OscErr *e)
{
	RunSummary *s = &o->summary;
	if (!s->ready)
		return;
	pthread_mutex_lock(&s->mu);
	snprintf(s->failed_phase, sizeof(s->failed_phase), "%s", o->progress.phase ? o->progress.phase : "");
	snprintf(s->error, sizeof(s->error), "%s", e->msg);
	/* every verification failure says so first (src/pg/pg_verify.c, src/my/my_verify.c) */
	if (strncmp(e->msg, "verification:", 13) == 0) {
		s->verify = VERIFY_RESULT_FAILED;
		s->verify_mismatches++; /* the second difference, which stopped the run */
	}
	pthread_mutex_unlock(&s->mu);
	secrets_mask(&o->log.secrets, s->error);
}

int summary_cutover_attempts(RunSummary *s, int64_t *lock_ms, int64_t *lock_last_ms, int64_t *mismatches)
{
	int n;
	pthread_mutex_lock(&s->mu);
	n = s->cutover_attempts;
	*lock_ms = s->lock_ms;
	*lock_last_ms = s->lock_last_ms;
	*mismatches = s->verify_mismatches;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void summary_failed_phase(RunSummary *s, char *out, size_t outsz)
{
	if (!s->ready) {
		snprintf(out, outsz, "%s", "");
		return;
	}
	pthread_mutex_lock(&s->mu);
	snprintf(out, outsz, "%s", s->failed_phase);
	pthread_mutex_unlock(&s->mu);
}

static const char *outcome_name(OscExit rc)
{
	switch (rc) {
	case OSC_EXIT_OK: return "done";
	case OSC_EXIT_FAILED: return "failed";
	case OSC_EXIT_INPUT: return "bad-input";
	case OSC_EXIT_STOPPED: return "stopped";
	case OSC_EXIT_RISK: return "risk";
	}
	return "failed";
}

static const char *verify_name(VerifyResult v)
{
	switch (v) {
	case VERIFY_RESULT_UNKNOWN: return "not-reached";
	case VERIFY_RESULT_SKIPPED: return "skipped";
	case VERIFY_RESULT_PASSED: return "passed";
	case VERIFY_RESULT_FAILED: return "failed";
	}
	return "not-reached";
}

void summary_emit(Osc *o, OscExit rc)
{
	RunSummary *s = &o->summary;
	Json j;

	if (!s->ready)
		return;
	pthread_mutex_lock(&s->mu);
	close_phase(s, now_ms());
	if (o->opt.verify == VERIFY_NONE)
		s->verify = VERIFY_RESULT_SKIPPED;
	int64_t total = o->started_ms > 0 ? now_ms() - o->started_ms : 0;
	if (log_record_begin(&o->log, &j, "summary")) {
		json_kv_string(&j, "outcome", outcome_name(rc));
		json_kv_int(&j, "exit_code", (int64_t)rc);
		if (s->error[0])
			json_kv_string(&j, "error", s->error);
		if (s->failed_phase[0])
			json_kv_string(&j, "failed_phase", s->failed_phase);
		json_kv_int(&j, "rows_copied", o->progress.rows_copied);
		json_kv_int(&j, "rows_copied_this_run", o->progress.rows_copied - o->rows_before);
		json_kv_int(&j, "changes_replayed", o->progress.log_applied);
		json_kv_int(&j, "lock_ms", s->lock_ms);
		json_kv_int(&j, "cutover_attempts", s->cutover_attempts);
		json_key(&j, "verification");
		json_object(&j);
		json_kv_string(&j, "result", verify_name(s->verify));
		json_kv_string(&j, "mode", o->opt.verify == VERIFY_CHECKSUM ? "checksum"
		                           : o->opt.verify == VERIFY_COUNT  ? "count"
		                                                            : "none");
		json_kv_int(&j, "mismatches", s->verify_mismatches);
		json_kv_int(&j, "chunks", s->verify_chunks);
		json_kv_int(&j, "batches", s->verify_batches);
		json_object_end(&j);
		json_kv_int(&j, "duration_ms", total);
		/* where the copy's time went, summed over its chunks and sessions
		 * (src/core/copy.c): what bench/ prints beside the phases */
		const CopyTimes *ct = &o->copy_times;
		json_key(&j, "copy");
		json_object(&j);
		json_kv_int(&j, "threads", o->opt.threads);
		json_kv_int(&j, "chunks", ct->chunks);
		json_kv_int(&j, "bound_ms", ct->bound_us / 1000);
		json_kv_int(&j, "insert_ms", ct->copy_us / 1000);
		json_kv_int(&j, "compare_ms", ct->check_us / 1000);
		json_kv_int(&j, "checkpoint_ms", ct->checkpoint_us / 1000);
		json_kv_int(&j, "commit_ms", ct->commit_us / 1000);
		json_object_end(&j);
		json_key(&j, "phases_ms");
		json_object(&j);
		for (int i = 0; i < s->nphases; i++)
			json_kv_int(&j, s->phases[i].name, s->phases[i].ms);
		json_object_end(&j);
		log_record_end(&o->log, &j);
	}
	pthread_mutex_unlock(&s->mu);
}
