/*
 * control_commands.c — the commands of the control socket, one function
 * each, found by name in a table (pgbouncer's admin console works so):
 *
 *   status [json]          what the worker last published (control_status.c)
 *   pause / resume         the operator's pause, one input of the throttle
 *   cutover                the swap goes ahead (overrides --postpone-cutover)
 *   abort                  the worker stops after its step; the original stays
 *   set name=value...      changes limits while the run goes on, all or none
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

/* One name=value of osc set, applied to c (mu held). */
static bool set_one(Control *c, const char *name, const char *v, char *why, size_t whysz)
{
	int64_t ms;
	LoadList ll;

	if (strcmp(name, "chunk-time") == 0 || strcmp(name, "max-lag") == 0 || strcmp(name, "critical-lag") == 0 ||
	    strcmp(name, "critical-interval") == 0) {
		if (!duration_parse_ms(v, &ms)) {
			snprintf(why, whysz, "%s: expected a duration such as 250ms or 2s, got '%s'", name, v);
			return false;
		}
		if (strcmp(name, "chunk-time") == 0)
			c->chunk_time_ms = ms;
		else if (strcmp(name, "max-lag") == 0)
			c->limits.max_lag_ms = ms;
		else if (strcmp(name, "critical-lag") == 0)
			c->limits.critical_lag_ms = ms;
		else
			c->limits.critical_interval_ms = ms;
		return true;
	}
	if (strcmp(name, "chunk-size-max") == 0) {
		char *end;
		long long n = strtoll(v, &end, 10);
		if (end == v || *end || n < 1) {
			snprintf(why, whysz, "chunk-size-max: expected a whole number >= 1, got '%s'", v);
			return false;
		}
		c->chunk_size_max = n;
		return true;
	}
	if (strcmp(name, "max-load") == 0 || strcmp(name, "critical-load") == 0) {
		char err[160];
		if (!throttle_parse_load(v, &ll, err, sizeof(err))) {
			snprintf(why, whysz, "%s: %s", name, err);
			return false;
		}
		/* the monitor reads the metrics given at start; others it cannot */
		for (int i = 0; i < ll.n; i++) {
			int k;
			for (k = 0; k < c->nload; k++)
				if (strcmp(c->load_names[k], ll.item[i].name) == 0)
					break;
			if (k == c->nload) {
				snprintf(why, whysz, "%s: %s is not watched by this run (only metrics named at start can change)",
				         name, ll.item[i].name);
				return false;
			}
		}
		if (strcmp(name, "max-load") == 0)
			c->limits.max_load = ll;
		else
			c->limits.critical_load = ll;
		return true;
	}
	snprintf(why, whysz,
	         "unknown setting '%s' (chunk-time, chunk-size-max, max-lag, critical-lag, critical-interval, max-load, "
	         "critical-load)",
	         name);
	return false;
}

static void ctl_set(Osc *o, char *args, Reply *r)
{
	Control *c = &o->ctl;
	char why[400], line[1024], *save = NULL;
	/* all or nothing: a bad pair puts back what the good ones changed */
	ThrottleLimits limits = c->limits;
	int64_t chunk_time_ms = c->chunk_time_ms, chunk_size_max = c->chunk_size_max;

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
		if (!set_one(c, w, eq + 1, why, sizeof(why)))
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
	{ "cutover", ctl_cutover }, { "abort", ctl_abort }, { "set", ctl_set },
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
		fprintf(r.f, "error: unknown command '%s' (status, pause, resume, cutover, abort, set)\n", line);
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
