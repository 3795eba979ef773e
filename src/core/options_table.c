/*
 * options_table.c — every long option of osc, one line each: its name,
 * whether it takes a value, and what it sets in Options.
 *
 * Most options only store their value: a string, a flag, a whole number or
 * a duration with a least value, or one word of a fixed list.  The generic
 * setters below do that through the field's offset, with the same messages
 * for every option; an option whose value needs more (a URL kept as a
 * copy, a load list, a window) names its own setter.  Adding an option is
 * one line in option_table[] (with its field in options.h, its default in
 * options_defaults(), and its text in options_usage.c, man/osc.1 and
 * completion/osc: t_help.sh checks those three against this table).
 */
#include "options_int.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

#define FIELD(o, d, type) ((type *)(void *)((char *)(o) + (d)->field))

static bool set_string(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)e;
	*FIELD(o, d, const char *) = v;
	return true;
}

static bool set_flag(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)v, (void)e;
	*FIELD(o, d, bool) = true;
	return true;
}

static bool parse_whole(const char *name, const char *v, int64_t min, int64_t *out, OscErr *e)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min) {
		err_set(e, OSC_EXIT_INPUT, "--%s: expected a whole number >= %lld, got '%s'", name,
		        (long long)min, v);
		return false;
	}
	*out = n;
	return true;
}

static bool set_whole(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	return parse_whole(d->name, v, d->min, FIELD(o, d, int64_t), e);
}

/* A duration (250ms, 2s, 5m, 1h) of at least d->min milliseconds. */
static bool set_duration(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	int64_t *out = FIELD(o, d, int64_t);
	if (!duration_parse_ms(v, out)) {
		err_set(e, OSC_EXIT_INPUT, "--%s: expected a duration such as 250ms, 2s, 5m or 1h, got '%s'",
		        d->name, v);
		return false;
	}
	if (*out < d->min) {
		err_set(e, OSC_EXIT_INPUT, "--%s must be at least %lldms", d->name, (long long)d->min);
		return false;
	}
	return true;
}

/* One word of d->words, stored as its enum value ("expected a, b or c"). */
static bool set_choice(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	const OptionWord *w = d->words;
	char list[160];
	size_t n = 0;

	for (int i = 0; w[i].word; i++) {
		if (strcmp(w[i].word, v) == 0) {
			*FIELD(o, d, int) = w[i].value;
			return true;
		}
		const char *sep = i == 0 ? "" : w[i + 1].word ? ", " : " or ";
		if (n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", sep, w[i].word);
	}
	err_set(e, OSC_EXIT_INPUT, "--%s: expected %s, got '%s'", d->name, list, v);
	return false;
}

/* the enums the choices store into are int-sized */
_Static_assert(sizeof(LogFormat) == sizeof(int) && sizeof(VerifyMode) == sizeof(int) &&
               sizeof(StrategyChoice) == sizeof(int) && sizeof(((Options *)0)->plan_fail_on) == sizeof(int),
               "a choice option's field is not an int");

static const OptionWord log_format_words[] = { { "text", LOG_TEXT }, { "json", LOG_JSON }, { NULL, 0 } };
static const OptionWord verify_words[] = {
	{ "checksum", VERIFY_CHECKSUM }, { "count", VERIFY_COUNT }, { "none", VERIFY_NONE }, { NULL, 0 },
};
static const OptionWord strategy_words[] = { { "auto", STRATEGY_AUTO }, { "copy", STRATEGY_COPY }, { NULL, 0 } };
static const OptionWord fail_on_words[] = {
	{ "medium", PLAN_RISK_MEDIUM }, { "high", PLAN_RISK_HIGH }, { NULL, 0 },
};

/* ---- options whose value needs more than storing ---- */

/* a copy: argv's string gets its password overwritten (options.c) */
static bool set_database(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)d;
	return (o->database = options_keep(o, v, e)) != NULL;
}

static bool set_database_file(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)d;
	return options_read_database_file(o, v, e);
}

static bool set_replica(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)d;
	if (o->nreplicas == THROTTLE_MAX_REPLICAS) {
		err_set(e, OSC_EXIT_INPUT, "--replica: at most %d replicas", THROTTLE_MAX_REPLICAS);
		return false;
	}
	return (o->replicas[o->nreplicas++] = options_keep(o, v, e)) != NULL;
}

static bool set_chunk_size(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	if (parse_whole(d->name, v, 1, &o->chunk_size, e))
		return true;
	/* pt-osc takes 1k; gh-ost's is a fixed size, osc's only the first */
	err_set(e, OSC_EXIT_INPUT,
	        "--chunk-size: expected a whole number >= 1 (no k/M/G suffix), got '%s'; osc's --chunk-size "
	        "is the first chunk's rows, then --chunk-time sizes each chunk up to --chunk-size-max",
	        v);
	return false;
}

static bool set_cutover_retries(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	int64_t n;
	if (!parse_whole(d->name, v, 1, &n, e))
		return false;
	o->cutover_retries = n > 100000 ? 100000 : (int)n;
	return true;
}

static bool set_threads(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	int64_t n;
	if (!parse_whole(d->name, v, 1, &n, e) || n > OSC_THREADS_MAX) {
		err_set(e, OSC_EXIT_INPUT, "--threads: expected a whole number from 1 to %d, got '%s'", OSC_THREADS_MAX, v);
		return false;
	}
	o->threads = (int)n;
	return true;
}

bool nice_ratio_parse(const char *v, int64_t *permille, OscErr *e)
{
	char *end;
	errno = 0;
	double r = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !(r >= 0 && r <= 100)) {
		err_set(e, OSC_EXIT_INPUT,
		        "--nice-ratio: expected a number from 0 to 100 (0.5: sleep half of each chunk's time), got '%s'", v);
		return false;
	}
	*permille = (int64_t)(r * 1000 + 0.5);
	return true;
}

static bool set_nice_ratio(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)d;
	return nice_ratio_parse(v, &o->nice_permille, e);
}

static bool set_window(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)d;
	if (window_parse(v, &o->window))
		return true;
	err_set(e, OSC_EXIT_INPUT, "--window: expected HH:MM-HH:MM (local time, e.g. 01:00-05:00), got '%s'", v);
	return false;
}

/* --max-load and --critical-load: NAME=VALUE[,NAME=VALUE...] into the
 * LoadList at d->field */
static bool set_load(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	char why[160];
	if (throttle_parse_load(v, FIELD(o, d, LoadList), why, sizeof(why)))
		return true;
	/* pt-osc's forms: Threads_running:25, or a bare name (a multiple of
	 * the value it reads at start) */
	const char *hint = strchr(v, '=') ? ""
	                   : strchr(v, ':') ? " (osc writes NAME=VALUE, e.g. Threads_running=25, not NAME:VALUE)"
	                                    : " (osc needs the threshold: NAME=VALUE, e.g. Threads_running=25)";
	err_set(e, OSC_EXIT_INPUT, "--%s: %s%s", d->name, why, hint);
	return false;
}

static bool set_format(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)d;
	if (strcmp(v, "json") == 0 || strcmp(v, "text") == 0) {
		o->plan_json = v[0] == 'j';
		return true;
	}
	err_set(e, OSC_EXIT_INPUT, "--format: expected text or json, got '%s'", v);
	return false;
}

static bool set_version(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)d, (void)v, (void)e;
	o->command = CMD_VERSION;
	return true;
}

static bool set_help(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)d, (void)v, (void)e;
	/* `osc plan --help`: plan's usage */
	if (o->command != CMD_HELP)
		o->help_for = o->command;
	o->command = CMD_HELP;
	return true;
}

static bool set_quiet(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)d, (void)v, (void)e;
	o->verbosity = -1;
	return true;
}

static bool set_verbose(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	(void)d, (void)v, (void)e;
	o->verbosity++;
	return true;
}

/* ---- the table ---- */
#define OFF(f) offsetof(Options, f)
/* one option each: the long name, then what the value goes to */
#define STRING(n, f)        { n, required_argument, 0, set_string, OFF(f), 0, NULL, false }
#define FLAG(n, f)          { n, no_argument, 0, set_flag, OFF(f), 0, NULL, false }
#define WHOLE(n, f, min)    { n, required_argument, 0, set_whole, OFF(f), min, NULL, false }
#define DURATION(n, f, min) { n, required_argument, 0, set_duration, OFF(f), min, NULL, false }
#define CHOICE(n, f, w)     { n, required_argument, 0, set_choice, OFF(f), 0, w, false }
#define CALL(n, fn)         { n, required_argument, 0, fn, 0, 0, NULL, false }
#define CALL_AT(n, fn, f)   { n, required_argument, 0, fn, OFF(f), 0, NULL, false }
#define URL(n, fn)          { n, required_argument, 0, fn, 0, 0, NULL, true }
#define SWITCH(n, c, fn)    { n, no_argument, c, fn, 0, 0, NULL, false }

const OptionDef option_table[] = {
	STRING("table", table),
	STRING("alter", alter),
	URL("database", set_database),
	CALL("database-file", set_database_file),
	DURATION("chunk-time", chunk_time_ms, 0),
	CALL("chunk-size", set_chunk_size),
	WHOLE("chunk-size-max", chunk_size_max, 1),
	CALL("threads", set_threads),
	CALL("nice-ratio", set_nice_ratio),
	DURATION("lock-timeout", lock_timeout_ms, 1),
	DURATION("statement-timeout", statement_timeout_ms, 0),
	CALL("cutover-retries", set_cutover_retries),
	DURATION("max-runtime", max_runtime_ms, 0),
	FLAG("drop-old-table", drop_old_table),
	FLAG("revertible", revertible),
	FLAG("allow-on-replica", allow_on_replica),
	STRING("alter-foreign-keys-method", alter_fk_method),
	CHOICE("log-format", log_format, log_format_words),
	{ "config", required_argument, 0, NULL, 0, 0, NULL, false }, /* read first: options.c */
	CALL("window", set_window),
	FLAG("window-wait", window_wait),
	STRING("log-file", log_file),
	STRING("on-success", on_success),
	STRING("on-failure", on_failure),
	STRING("on-cutover", on_cutover),
	URL("replica", set_replica),
	DURATION("max-lag", limits.max_lag_ms, 0),
	DURATION("critical-lag", limits.critical_lag_ms, 0),
	DURATION("critical-interval", limits.critical_interval_ms, 0),
	CALL_AT("max-load", set_load, limits.max_load),
	CALL_AT("critical-load", set_load, limits.critical_load),
	DURATION("heartbeat-interval", heartbeat_interval_ms, 10),
	DURATION("progress-interval", progress_interval_ms, 100),
	STRING("pause-file", pause_file),
	STRING("panic-file", panic_file),
	STRING("postpone-cutover", postpone_cutover),
	STRING("socket", socket_path),
	CHOICE("verify", verify, verify_words),
	CHOICE("strategy", strategy, strategy_words),
	CALL("format", set_format),
	STRING("proxy", proxy_socket),
	CHOICE("fail-on", plan_fail_on, fail_on_words),
	STRING("metrics", metrics_addr),
	SWITCH("version", 0, set_version),
	SWITCH("help", 'h', set_help),
	SWITCH("quiet", 'q', set_quiet),
	SWITCH("verbose", 'v', set_verbose),
	{ NULL, 0, 0, NULL, 0, 0, NULL, false },
};

_Static_assert(sizeof(option_table) / sizeof(option_table[0]) <= OPTION_MAX + 1,
               "more options than OPTION_MAX: raise it in options_int.h");

const OptionDef *option_by_name(const char *name)
{
	for (const OptionDef *d = option_table; d->name; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

const OptionDef *option_by_short(int c)
{
	for (const OptionDef *d = option_table; d->name; d++)
		if (d->short_name == c)
			return d;
	return NULL;
}

bool option_apply(Options *o, const OptionDef *d, const char *v, OscErr *e)
{
	if (d->set == NULL) /* --config: options.c reads it before the others */
		return true;
	return d->set(o, d, v, e);
}
