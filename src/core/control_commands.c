/*
 * control_commands.c — the commands of the control socket, one function
 * each, found by name in a table (pgbouncer's admin console works so):
 *
 *   status [json]          what the worker last published (control_status.c)
 *   pause / resume         the operator's pause, one input of the throttle
 *   cutover                the swap goes ahead (overrides --postpone-cutover)
 *   abort                  the worker stops after its step; the original stays
 *   ps [json]              one line about the run, for `osc ps` (src/core/ps.c)
 *   set name=value...      changes limits while the run goes on, all or none
 *                          (a load metric not watched yet is read once first)
 *
 * An answer starts with "ok" or "error"; a command that changes something
 * says so in the log too.  Commands only change Control (under its mutex)
 * and decide the throttle again; the worker acts on them between its steps.
 */
#include "control_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "osc.h"
#include "ps.h"
#include "xalloc.h"

/* What a command answers: its text, and whether it was carried out. */
typedef struct Reply {
	FILE *f;
	bool ok;
} Reply;

static void ctl_status(Osc *o, char *args, Reply *r)
{
	fprintf(r->f, "ok\n");
	if (args && strcmp(args, "json") == 0)
		control_status_json(o, r->f);
	else
		control_status_text(o, r->f);
}

static void ctl_ps(Osc *o, char *args, Reply *r)
{
	fprintf(r->f, "ok\n");
	ps_answer(o, r->f, args && strcmp(args, "json") == 0);
}

static void ctl_pause(Osc *o, char *args, Reply *r)
{
	(void)args;
	o->ctl.operator_paused = true;
	control_evaluate_locked(o);
	fprintf(r->f, "ok: paused; copy and replay stop after the current step (changes are still captured)\n");
	log_msg(&o->log, LOG_INFO, "osc pause received");
}

static void ctl_resume(Osc *o, char *args, Reply *r)
{
	(void)args;
	o->ctl.operator_paused = false;
	control_evaluate_locked(o);
	fprintf(r->f, "ok: resumed%s%s\n", o->ctl.decision.action != THROTTLE_GO ? "; still throttled: " : "",
	        o->ctl.decision.action != THROTTLE_GO ? o->ctl.decision.reason : "");
	log_msg(&o->log, LOG_INFO, "osc resume received");
}

static void ctl_cutover(Osc *o, char *args, Reply *r)
{
	(void)args;
	o->ctl.cutover_requested = true;
	pthread_cond_broadcast(&o->ctl.changed);
	fprintf(r->f, "ok: the swap goes ahead once the copy is done%s\n",
	        o->opt.postpone_cutover ? " (the postpone flag is overridden)" : "");
	log_msg(&o->log, LOG_INFO, "osc cutover received");
}

static void ctl_abort(Osc *o, char *args, Reply *r)
{
	(void)args;
	if (!o->ctl.abort_requested) {
		o->ctl.abort_requested = true;
		snprintf(o->ctl.abort_reason, sizeof(o->ctl.abort_reason), "aborted by the operator (osc abort)");
	}
	pthread_cond_broadcast(&o->ctl.changed);
	fprintf(r->f, "ok: aborting after the current step; the original stays as it is\n");
	log_msg(&o->log, LOG_WARN, "osc abort received");
}

/* A metric `osc set max-load|critical-load` names that the monitor does not
 * read yet: read once on a connection of its own, as at start (a typo is
 * bad input, not a pause for ever), then added to what the monitor reads.
 * Runs with mu held and drops it around the query: the worker and the
 * monitor must not wait on the control loop's connection. */
static bool watch_metric(Osc *o, const char *name, char *why, size_t whysz)
{
	Control *c = &o->ctl;
	const EngineMonitor *en = o->engine ? o->engine->monitor : NULL;
	OscErr e;
	double v = 0;
	bool ok;

	if (en == NULL) {
		snprintf(why, whysz, "%s: this run reads no load metrics", name);
		return false;
	}
	if (c->nload == THROTTLE_MAX_METRICS) {
		snprintf(why, whysz, "%s: this run already watches %d metrics", name, THROTTLE_MAX_METRICS);
		return false;
	}
	err_clear(&e);
	pthread_mutex_unlock(&c->mu);
	void *probe = en->probe_open(&o->env, NULL, NULL, 0, &e);
	ok = probe != NULL && en->load_read(probe, name, &v, &e);
	if (probe)
		en->probe_close(probe);
	pthread_mutex_lock(&c->mu);
	if (!ok) {
		snprintf(why, whysz, "%.300s", e.msg);
		return false;
	}
	for (int k = 0; k < c->nload; k++)
		if (strcmp(c->load_names[k], name) == 0)
			return true;
	int k = c->nload;
	snprintf(c->load_names[k], sizeof(c->load_names[k]), "%s", name);
	c->load[k].name = c->load_names[k];
	c->load[k].ok = true;
	c->load[k].value = v;
	c->nload++; /* after the slot is filled: the monitor reads up to nload */
	return true;
}

/* What osc set can change: every limit a run takes from the command line
 * and can change while it goes on.  The worker picks up the ones it reads
 * itself (lock-timeout, cutover-retries, max-runtime) between its steps. */
typedef enum SetKind { SET_DURATION, SET_COUNT, SET_LOAD, SET_RATIO } SetKind;
typedef struct Setting {
	const char *name;
	SetKind kind;
	int64_t min;
} Setting;

static const Setting settings[] = {
	{ "chunk-time", SET_DURATION, 1 },      { "chunk-size-max", SET_COUNT, 1 },
	{ "nice-ratio", SET_RATIO, 0 },
	{ "max-lag", SET_DURATION, 0 },         { "critical-lag", SET_DURATION, 0 },
	{ "critical-interval", SET_DURATION, 0 }, { "max-load", SET_LOAD, 0 },
	{ "critical-load", SET_LOAD, 0 },       { "lock-timeout", SET_DURATION, 1 },
	{ "cutover-retries", SET_COUNT, 1 },    { "max-runtime", SET_DURATION, 0 },
	{ NULL, SET_COUNT, 0 },
};

static int64_t *setting_target(Control *c, const char *name)
{
	if (strcmp(name, "chunk-time") == 0)
		return &c->chunk_time_ms;
	if (strcmp(name, "chunk-size-max") == 0)
		return &c->chunk_size_max;
	if (strcmp(name, "max-lag") == 0)
		return &c->limits.max_lag_ms;
	if (strcmp(name, "critical-lag") == 0)
		return &c->limits.critical_lag_ms;
	if (strcmp(name, "critical-interval") == 0)
		return &c->limits.critical_interval_ms;
	if (strcmp(name, "lock-timeout") == 0)
		return &c->lock_timeout_ms;
	if (strcmp(name, "cutover-retries") == 0)
		return &c->cutover_retries;
	if (strcmp(name, "nice-ratio") == 0)
		return &c->nice_permille;
	return &c->max_runtime_ms;
}

/* One name=value of osc set, applied to c (mu held). */
static bool set_one(Osc *o, const char *name, const char *v, char *why, size_t whysz)
{
	Control *c = &o->ctl;
	const Setting *s;
	LoadList ll;

	for (s = settings; s->name && strcmp(s->name, name) != 0; s++)
		;
	if (s->name == NULL) {
		size_t n = (size_t)snprintf(why, whysz, "unknown setting '%s' (", name);
		for (s = settings; s->name && n < whysz; s++)
			n += (size_t)snprintf(why + n, whysz - n, "%s%s", s->name, s[1].name ? ", " : ")");
		return false;
	}
	if (s->kind == SET_DURATION || s->kind == SET_COUNT) {
		int64_t n;
		char *end;
		bool ok;
		if (s->kind == SET_DURATION) {
			ok = duration_parse_ms(v, &n);
		} else {
			n = strtoll(v, &end, 10);
			ok = end != v && *end == '\0';
		}
		if (!ok || n < s->min) {
			snprintf(why, whysz, "%s: expected %s%s, got '%s'", name,
			         s->kind == SET_DURATION ? "a duration such as 250ms or 2s" : "a whole number",
			         s->min > 0 ? (s->kind == SET_DURATION ? " of at least 1ms" : " >= 1") : "", v);
			return false;
		}
		*setting_target(c, name) = n;
		return true;
	}
	if (s->kind == SET_RATIO) {
		OscErr pe;
		err_clear(&pe);
		if (!nice_ratio_parse(v, setting_target(c, name), &pe)) {
			snprintf(why, whysz, "%.300s", pe.msg + 2); /* without the leading "--" */
			return false;
		}
		return true;
	}
	char err[160];
	if (!throttle_parse_load(v, &ll, err, sizeof(err))) {
		snprintf(why, whysz, "%s: %s", name, err);
		return false;
	}
	for (int i = 0; i < ll.n; i++) {
		int k;
		for (k = 0; k < c->nload; k++)
			if (strcmp(c->load_names[k], ll.item[i].name) == 0)
				break;
		if (k == c->nload && !watch_metric(o, ll.item[i].name, why, whysz))
			return false;
	}
	if (strcmp(name, "max-load") == 0)
		c->limits.max_load = ll;
	else
		c->limits.critical_load = ll;
	return true;
}

static void ctl_set(Osc *o, char *args, Reply *r)
{
	Control *c = &o->ctl;
	char why[400], line[1024], *save = NULL;
	/* all or nothing: a bad pair puts back what the good ones changed */
	ThrottleLimits limits = c->limits;
	int64_t chunk_time_ms = c->chunk_time_ms, chunk_size_max = c->chunk_size_max, nice = c->nice_permille;
	int64_t lock_timeout_ms = c->lock_timeout_ms, cutover_retries = c->cutover_retries,
	        max_runtime_ms = c->max_runtime_ms;

	if (args == NULL) {
		snprintf(why, sizeof(why), "expected name=value pairs");
		goto bad;
	}
	snprintf(line, sizeof(line), "%s", args);
	for (char *w = strtok_r(args, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(w, '=');
		if (eq == NULL) {
			snprintf(why, sizeof(why), "expected name=value, got '%s'", w);
			goto bad;
		}
		*eq = '\0';
		if (!set_one(o, w, eq + 1, why, sizeof(why)))
			goto bad;
	}
	log_msg(&o->log, LOG_INFO, "osc set %s", line);
	control_evaluate_locked(o);
	fprintf(r->f, "ok: set\n");
	return;
bad:
	c->limits = limits;
	c->chunk_time_ms = chunk_time_ms;
	c->chunk_size_max = chunk_size_max;
	c->nice_permille = nice;
	c->lock_timeout_ms = lock_timeout_ms;
	c->cutover_retries = cutover_retries;
	c->max_runtime_ms = max_runtime_ms;
	r->ok = false;
	fprintf(r->f, "error: %s; nothing was changed\n", why);
}

/* The protocol: the first word of a line names the command, the rest is
 * its argument.  Each runs with mu held. */
typedef struct ControlCommand {
	const char *name;
	void (*fn)(Osc *o, char *args, Reply *r);
} ControlCommand;

static const ControlCommand commands[] = {
	{ "status", ctl_status }, { "pause", ctl_pause }, { "resume", ctl_resume },
	{ "cutover", ctl_cutover }, { "abort", ctl_abort }, { "set", ctl_set }, { "ps", ctl_ps },
	{ NULL, NULL },
};

bool control_dispatch(Osc *o, char *line, char **answer)
{
	size_t len = 0;
	Reply r = { xopen_memstream(answer, &len), true };
	const ControlCommand *cmd;
	char *args = strchr(line, ' ');

	if (args)
		*args++ = '\0';
	for (cmd = commands; cmd->name; cmd++)
		if (strcmp(cmd->name, line) == 0)
			break;
	if (cmd->name == NULL) {
		r.ok = false;
		fprintf(r.f, "error: unknown command '%s' (status, pause, resume, cutover, abort, set, ps)\n", line);
	} else {
		pthread_mutex_lock(&o->ctl.mu);
		cmd->fn(o, args, &r);
		pthread_mutex_unlock(&o->ctl.mu);
	}
	fclose(r.f);
	/* a replica's name or a reason may quote a connection string */
	secrets_mask(&o->log.secrets, *answer);
	return r.ok;
}
