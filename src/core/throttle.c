/*
 * throttle.c — the throttle rules (see throttle.h).
 */
#include "throttle.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "err.h"

int64_t throttle_replica_lag(const ReplicaLag *r, int64_t now_ms)
{
	if (r->beat_ms <= 0)
		return -1;
	return now_ms > r->beat_ms ? now_ms - r->beat_ms : 0;
}

int64_t throttle_replica_lag_floor(const ReplicaLag *r, int64_t first_beat_ms, int64_t now_ms)
{
	if (r->beat_ms > 0 || first_beat_ms <= 0)
		return -1;
	return now_ms > first_beat_ms ? now_ms - first_beat_ms : 0;
}

static double limit_for(const LoadList *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->item[i].name, name) == 0)
			return l->item[i].value;
	return -1;
}

static void decide(ThrottleDecision *d, ThrottleAction a, const char *cause, const char *fmt, ...) PRINTFLIKE(4, 5);
static void decide(ThrottleDecision *d, ThrottleAction a, const char *cause, const char *fmt, ...)
{
	va_list ap;
	d->action = a;
	snprintf(d->cause, sizeof(d->cause), "%s", cause);
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
}

/* The first critical reading, described into d; false when none. */
static bool critical_reading(const ThrottleLimits *l, const ThrottleInputs *in, ThrottleDecision *d)
{
	char a[32], b[32], cause[96];
	if (l->critical_lag_ms > 0) {
		for (int i = 0; i < in->nreplicas; i++) {
			const ReplicaLag *r = &in->replicas[i];
			int64_t lag = throttle_replica_lag(r, in->now_ms);
			int64_t least = throttle_replica_lag_floor(r, in->first_beat_ms, in->now_ms);
			const char *sep = r->error && *r->error ? ": " : "", *why = r->error ? r->error : "";
			duration_format(b, sizeof(b), l->critical_lag_ms);
			snprintf(cause, sizeof(cause), "critical lag %s", r->name);
			if (lag >= l->critical_lag_ms) {
				duration_format(a, sizeof(a), lag);
				decide(d, THROTTLE_ABORT, cause, "replica %s is %s behind (--critical-lag %s)%s%s", r->name, a, b,
				       sep, why);
				return true;
			}
			if (least >= 0 && least >= l->critical_lag_ms) {
				duration_format(a, sizeof(a), least);
				decide(d, THROTTLE_ABORT, cause,
				       "replica %s is at least %s behind: it has shown none of osc's heartbeats since the first "
				       "was written (--critical-lag %s)%s%s",
				       r->name, a, b, sep, why);
				return true;
			}
		}
	}
	for (int i = 0; i < in->nload; i++) {
		double lim = limit_for(&l->critical_load, in->load[i].name);
		if (lim >= 0 && in->load[i].ok && in->load[i].value >= lim) {
			snprintf(cause, sizeof(cause), "critical load %s", in->load[i].name);
			decide(d, THROTTLE_ABORT, cause, "%s is %g (--critical-load %s=%g)", in->load[i].name, in->load[i].value,
			       in->load[i].name, lim);
			return true;
		}
	}
	return false;
}

void throttle_evaluate(const ThrottleLimits *l, const ThrottleInputs *in, ThrottleState *st, ThrottleDecision *d)
{
	char a[32], b[32], cause[96];

	int64_t max_lag = -1;
	for (int i = 0; i < in->nreplicas; i++) {
		int64_t lag = throttle_replica_lag(&in->replicas[i], in->now_ms);
		if (lag > max_lag)
			max_lag = lag;
	}
	memset(d, 0, sizeof(*d));
	d->max_lag_ms = max_lag;

	if (in->panic_file) {
		decide(d, THROTTLE_ABORT, "panic file", "the panic file %s exists",
		       in->panic_file_name ? in->panic_file_name : "");
		return;
	}
	ThrottleDecision crit;
	memset(&crit, 0, sizeof(crit));
	if (critical_reading(l, in, &crit)) {
		if (st->critical_since_ms == 0)
			st->critical_since_ms = in->now_ms;
		int64_t held = in->now_ms - st->critical_since_ms;
		if (held >= l->critical_interval_ms) {
			*d = crit;
			d->max_lag_ms = max_lag;
			if (l->critical_interval_ms > 0) {
				duration_format(a, sizeof(a), held);
				size_t n = strlen(d->reason);
				snprintf(d->reason + n, sizeof(d->reason) - n, ", for %s", a);
			}
			return;
		}
		/* not held long enough yet: pause meanwhile (it is above max too) */
		decide(d, THROTTLE_PAUSE, crit.cause, "%s; aborting if it lasts", crit.reason);
		return;
	}
	st->critical_since_ms = 0;

	if (in->operator_paused) {
		decide(d, THROTTLE_PAUSE, "operator", "paused by the operator (osc resume to go on)");
		return;
	}
	if (in->pause_file) {
		decide(d, THROTTLE_PAUSE, "pause file", "the pause file %s exists",
		       in->pause_file_name ? in->pause_file_name : "");
		return;
	}
	for (int i = 0; l->max_lag_ms > 0 && i < in->nreplicas; i++) {
		const ReplicaLag *r = &in->replicas[i];
		int64_t lag = throttle_replica_lag(r, in->now_ms);
		if (lag >= 0 && lag <= l->max_lag_ms)
			continue; /* a failed read with a recent heartbeat ages into this */
		snprintf(cause, sizeof(cause), "lag %s", r->name);
		if (r->error && *r->error) {
			decide(d, THROTTLE_PAUSE, cause, "replica %s cannot be read: %s", r->name, r->error);
		} else if (lag < 0) {
			decide(d, THROTTLE_PAUSE, cause, "replica %s shows no heartbeat yet", r->name);
		} else {
			duration_format(a, sizeof(a), lag);
			duration_format(b, sizeof(b), l->max_lag_ms);
			decide(d, THROTTLE_PAUSE, cause, "replica %s is %s behind (--max-lag %s)", r->name, a, b);
		}
		return;
	}
	for (int i = 0; i < in->nload; i++) {
		double lim = limit_for(&l->max_load, in->load[i].name);
		if (lim < 0)
			continue;
		snprintf(cause, sizeof(cause), "load %s", in->load[i].name);
		if (!in->load[i].ok) {
			decide(d, THROTTLE_PAUSE, cause, "%s cannot be read", in->load[i].name);
			return;
		}
		if (in->load[i].value > lim) {
			decide(d, THROTTLE_PAUSE, cause, "%s is %g (--max-load %s=%g)", in->load[i].name, in->load[i].value,
			       in->load[i].name, lim);
			return;
		}
	}
	d->action = THROTTLE_GO;
}

bool throttle_parse_load(const char *spec, LoadList *out, char *err, size_t errsz)
{
	const char *p = spec;

	out->n = 0;
	if (spec == NULL || *spec == '\0') {
		snprintf(err, errsz, "expected name=value[,name=value...]");
		return false;
	}
	while (*p) {
		size_t n = 0;
		while (isalnum((unsigned char)p[n]) || p[n] == '_')
			n++;
		if (n == 0 || n >= sizeof(out->item[0].name) || p[n] != '=') {
			snprintf(err, errsz, "expected name=value at '%s'", p);
			return false;
		}
		if (out->n == THROTTLE_MAX_METRICS) {
			snprintf(err, errsz, "at most %d metrics", THROTTLE_MAX_METRICS);
			return false;
		}
		LoadLimit *l = &out->item[out->n];
		memcpy(l->name, p, n);
		l->name[n] = '\0';
		p += n + 1;
		char *end;
		errno = 0;
		l->value = strtod(p, &end);
		if (end == p || errno != 0 || l->value < 0 || (*end != '\0' && *end != ',')) {
			snprintf(err, errsz, "expected a number >= 0 for %s, got '%s'", l->name, p);
			return false;
		}
		out->n++;
		p = end;
		if (*p == ',') {
			p++;
			if (*p == '\0') {
				snprintf(err, errsz, "trailing ','");
				return false;
			}
		}
	}
	return true;
}
