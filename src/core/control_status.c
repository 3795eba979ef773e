/*
 * control_status.c — `osc status` of a running migration, as text for a
 * person or as one JSON line (src/lib/json.h) for a machine.
 *
 * Both read only what the worker last published and what the control
 * loop and the monitor hold in Control, under its mutex: an answer never
 * waits for a database, even in the middle of a long chunk.  Times are
 * shown as durations (text) or milliseconds (JSON); a replica's lag is the
 * age of the newest heartbeat seen there.
 */
#include "control_int.h"

#include <stdio.h>

#include "duration.h"
#include "json.h"
#include "osc.h"

void control_status_json(Osc *o, FILE *f)
{
	Control *c = &o->ctl;
	const Progress *p = &c->progress;
	int64_t now = now_ms(), wall = wall_ms();
	bool throttled = c->decision.action != THROTTLE_GO;
	Json j;

	json_start(&j, f);
	json_object(&j);
	json_kv_string(&j, "table", o->opt.table);
	json_kv_string(&j, "phase", p->phase ? p->phase : "starting");
	json_kv_int(&j, "phase_ms", p->phase_started_ms ? now - p->phase_started_ms : 0);
	json_kv_int(&j, "rows_copied", p->rows_copied);
	json_kv_int(&j, "rows_estimate", p->rows_estimate);
	json_kv_double(&j, "rows_per_sec", p->rows_per_sec, 0);
	json_kv_int(&j, "eta_ms", p->eta_ms);
	json_kv_int(&j, "chunk_size", p->chunk_size);
	json_kv_int(&j, "chunk_time_ms", c->chunk_time_ms);
	json_kv_int(&j, "log_backlog", p->log_backlog);
	json_kv_int(&j, "log_applied", p->log_applied);
	json_kv_int(&j, "runtime_ms", now - o->started_ms);
	json_kv_bool(&j, "throttled", throttled);
	json_kv_bool(&j, "operator_paused", c->operator_paused);
	if (throttled) {
		json_kv_string(&j, "throttle_reason", c->decision.reason);
		json_kv_int(&j, "throttled_for_ms", now - c->throttled_since_ms);
	}
	json_kv_int(&j, "throttled_total_ms",
	            c->throttled_total_ms + (c->throttled_since_ms ? now - c->throttled_since_ms : 0));
	json_kv_int(&j, "max_lag_ms", c->decision.max_lag_ms);
	json_key(&j, "limits");
	json_object(&j);
	json_kv_int(&j, "max_lag_ms", c->limits.max_lag_ms);
	json_kv_int(&j, "critical_lag_ms", c->limits.critical_lag_ms);
	json_kv_int(&j, "critical_interval_ms", c->limits.critical_interval_ms);
	json_kv_int(&j, "chunk_size_max", c->chunk_size_max);
	json_kv_int(&j, "lock_timeout_ms", c->lock_timeout_ms);
	json_kv_int(&j, "cutover_retries", c->cutover_retries);
	json_kv_int(&j, "max_runtime_ms", c->max_runtime_ms);
	const LoadList *lists[2] = { &c->limits.max_load, &c->limits.critical_load };
	for (int l = 0; l < 2; l++) {
		json_key(&j, l == 0 ? "max_load" : "critical_load");
		json_object(&j);
		for (int i = 0; i < lists[l]->n; i++)
			json_kv_double(&j, lists[l]->item[i].name, lists[l]->item[i].value, -1);
		json_object_end(&j);
	}
	json_object_end(&j);
	json_key(&j, "replicas");
	json_array(&j);
	for (int i = 0; i < c->nreplicas; i++) {
		const ReplicaState *r = &c->replicas[i];
		json_object(&j);
		json_kv_string(&j, "name", r->name);
		json_kv_int(&j, "lag_ms", r->beat_ms > 0 ? wall - r->beat_ms : -1);
		if (r->error[0])
			json_kv_string(&j, "error", r->error);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "observed_replicas");
	json_array(&j);
	for (int i = 0; i < c->nobserved; i++) {
		const ReplicaState *r = &c->observed[i];
		json_object(&j);
		json_kv_string(&j, "name", r->name);
		json_kv_int(&j, "bytes_behind", r->bytes_behind);
		json_kv_int(&j, "replay_lag_ms", r->replay_lag_ms);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "load");
	json_object(&j);
	for (int i = 0; i < c->nload; i++) {
		if (c->load[i].ok)
			json_kv_double(&j, c->load[i].name, c->load[i].value, -1);
		else
			json_kv_null(&j, c->load[i].name);
	}
	json_object_end(&j);
	json_object_end(&j);
	fputc('\n', f);
}

void control_status_text(Osc *o, FILE *f)
{
	Control *c = &o->ctl;
	const Progress *p = &c->progress;
	int64_t now = now_ms(), wall = wall_ms();
	char a[32], b[32], d[32];

	duration_format(a, sizeof(a), p->phase_started_ms ? now - p->phase_started_ms : 0);
	duration_format(b, sizeof(b), now - o->started_ms);
	fprintf(f, "table:     %s\nphase:     %s (for %s; running %s)\n", o->opt.table,
	        p->phase ? p->phase : "starting", a, b);
	double pct = p->rows_estimate > 0 ? 100.0 * (double)p->rows_copied / (double)p->rows_estimate : 0;
	if (p->eta_ms >= 0)
		duration_format(a, sizeof(a), p->eta_ms);
	else
		snprintf(a, sizeof(a), "?");
	fprintf(f, "rows:      %lld of about %lld (%.1f%%), %.0f rows/s, ETA %s\n", (long long)p->rows_copied,
	        (long long)p->rows_estimate, pct > 100 ? 100 : pct, p->rows_per_sec, a);
	duration_format(a, sizeof(a), c->chunk_time_ms);
	fprintf(f, "chunk:     %lld rows (chunk-time %s, at most %lld)\n", (long long)p->chunk_size, a,
	        (long long)c->chunk_size_max);
	fprintf(f, "changes:   %lld waiting, %lld applied\n", (long long)p->log_backlog, (long long)p->log_applied);
	duration_format(b, sizeof(b), c->throttled_total_ms + (c->throttled_since_ms ? now - c->throttled_since_ms : 0));
	if (c->decision.action != THROTTLE_GO) {
		duration_format(a, sizeof(a), now - c->throttled_since_ms);
		fprintf(f, "throttle:  PAUSED for %s: %s (%s in all)\n", a, c->decision.reason, b);
	} else {
		fprintf(f, "throttle:  running (%s paused in all)\n", b);
	}
	for (int i = 0; i < c->nreplicas; i++) {
		const ReplicaState *r = &c->replicas[i];
		if (r->beat_ms > 0)
			duration_format(a, sizeof(a), wall - r->beat_ms);
		else
			snprintf(a, sizeof(a), "unknown");
		duration_format(d, sizeof(d), c->limits.max_lag_ms);
		fprintf(f, "replica:   %s lag %s (max %s)%s%s\n", r->name, a, d, r->error[0] ? ", cannot be read: " : "",
		        r->error);
	}
	for (int i = 0; i < c->nobserved; i++) {
		const ReplicaState *r = &c->observed[i];
		if (r->replay_lag_ms >= 0)
			duration_format(a, sizeof(a), r->replay_lag_ms);
		else
			snprintf(a, sizeof(a), "-");
		fprintf(f, "streaming: %s %lld bytes behind, replay_lag %s (not watched: give it with --replica)\n", r->name,
		        (long long)r->bytes_behind, a);
	}
	for (int i = 0; i < c->nload; i++) {
		if (c->load[i].ok)
			fprintf(f, "load:      %s = %g\n", c->load[i].name, c->load[i].value);
		else
			fprintf(f, "load:      %s cannot be read\n", c->load[i].name);
	}
}
