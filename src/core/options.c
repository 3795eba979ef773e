/*
 * options.c — parsing argv and --config files into Options (the text of
 * --help is in options_usage.c).
 *
 * A config file holds `key = value` lines, one long option each (`#`
 * comments, blank lines allowed); options on the command line win over the
 * file whatever their order, because the file is read first.
 *
 * A URL given on the command line is copied, and its password overwritten
 * with 'x' in argv as soon as parsing ends (what mysql(1) does with -p):
 * /proc/PID/cmdline, which `ps` reads, then no longer holds it.  The
 * password is still visible for the instant between exec and that point;
 * --database-file, PGPASSWORD, ~/.pgpass, MYSQL_PWD or ~/.my.cnf keep it
 * out of the command line altogether.
 */
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"
#include "url.h"
#include "xalloc.h"

enum {
	OPT_TABLE = 256, OPT_ALTER, OPT_DATABASE, OPT_CHUNK_TIME, OPT_CHUNK_SIZE,
	OPT_CHUNK_SIZE_MAX, OPT_LOCK_TIMEOUT, OPT_STATEMENT_TIMEOUT, OPT_CUTOVER_RETRIES,
	OPT_MAX_RUNTIME, OPT_DROP_OLD, OPT_LOG_FORMAT, OPT_CONFIG, OPT_VERSION,
	OPT_WINDOW, OPT_WINDOW_WAIT, OPT_LOG_FILE, OPT_ON_SUCCESS, OPT_ON_FAILURE, OPT_ON_CUTOVER,
	OPT_REPLICA, OPT_MAX_LAG, OPT_CRITICAL_LAG, OPT_CRITICAL_INTERVAL, OPT_MAX_LOAD, OPT_CRITICAL_LOAD,
	OPT_HEARTBEAT_INTERVAL, OPT_PROGRESS_INTERVAL, OPT_PAUSE_FILE, OPT_PANIC_FILE, OPT_POSTPONE_CUTOVER, OPT_SOCKET,
	OPT_ALTER_FK_METHOD, OPT_VERIFY, OPT_STRATEGY, OPT_FORMAT, OPT_DATABASE_FILE,
	OPT_ALLOW_ON_REPLICA, OPT_PROXY, OPT_FAIL_ON, OPT_METRICS, OPT_THREADS, OPT_NICE_RATIO,
};

static const struct option long_opts[] = {
	{ "table", required_argument, NULL, OPT_TABLE },
	{ "alter", required_argument, NULL, OPT_ALTER },
	{ "database", required_argument, NULL, OPT_DATABASE },
	{ "database-file", required_argument, NULL, OPT_DATABASE_FILE },
	{ "chunk-time", required_argument, NULL, OPT_CHUNK_TIME },
	{ "chunk-size", required_argument, NULL, OPT_CHUNK_SIZE },
	{ "chunk-size-max", required_argument, NULL, OPT_CHUNK_SIZE_MAX },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "nice-ratio", required_argument, NULL, OPT_NICE_RATIO },
	{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
	{ "statement-timeout", required_argument, NULL, OPT_STATEMENT_TIMEOUT },
	{ "cutover-retries", required_argument, NULL, OPT_CUTOVER_RETRIES },
	{ "max-runtime", required_argument, NULL, OPT_MAX_RUNTIME },
	{ "drop-old-table", no_argument, NULL, OPT_DROP_OLD },
	{ "allow-on-replica", no_argument, NULL, OPT_ALLOW_ON_REPLICA },
	{ "alter-foreign-keys-method", required_argument, NULL, OPT_ALTER_FK_METHOD },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "window-wait", no_argument, NULL, OPT_WINDOW_WAIT },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "on-success", required_argument, NULL, OPT_ON_SUCCESS },
	{ "on-failure", required_argument, NULL, OPT_ON_FAILURE },
	{ "on-cutover", required_argument, NULL, OPT_ON_CUTOVER },
	{ "replica", required_argument, NULL, OPT_REPLICA },
	{ "max-lag", required_argument, NULL, OPT_MAX_LAG },
	{ "critical-lag", required_argument, NULL, OPT_CRITICAL_LAG },
	{ "critical-interval", required_argument, NULL, OPT_CRITICAL_INTERVAL },
	{ "max-load", required_argument, NULL, OPT_MAX_LOAD },
	{ "critical-load", required_argument, NULL, OPT_CRITICAL_LOAD },
	{ "heartbeat-interval", required_argument, NULL, OPT_HEARTBEAT_INTERVAL },
	{ "progress-interval", required_argument, NULL, OPT_PROGRESS_INTERVAL },
	{ "pause-file", required_argument, NULL, OPT_PAUSE_FILE },
	{ "panic-file", required_argument, NULL, OPT_PANIC_FILE },
	{ "postpone-cutover", required_argument, NULL, OPT_POSTPONE_CUTOVER },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "verify", required_argument, NULL, OPT_VERIFY },
	{ "strategy", required_argument, NULL, OPT_STRATEGY },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "proxy", required_argument, NULL, OPT_PROXY },
	{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

/* The first word that is not an option names the command (none: run). */
typedef struct Subcommand {
	const char *name;
	OscCommand command;
} Subcommand;

static const Subcommand subcommands[] = {
	{ "run", CMD_RUN },         { "plan", CMD_PLAN },       { "cleanup", CMD_CLEANUP }, { "history", CMD_HISTORY },
	{ "status", CMD_STATUS },   { "pause", CMD_PAUSE },     { "resume", CMD_RESUME },   { "cutover", CMD_CUTOVER },
	{ "abort", CMD_ABORT },     { "set", CMD_SET },         { "help", CMD_HELP },       { "ps", CMD_PS },
	{ NULL, CMD_RUN },
};

void options_defaults(Options *o)
{
	memset(o, 0, sizeof(*o));
	o->command = CMD_RUN;
	o->chunk_time_ms = 500;
	o->chunk_size = 1000;
	o->chunk_size_max = 200000;
	o->threads = OSC_THREADS_DEFAULT;
	o->lock_timeout_ms = 100;
	o->statement_timeout_ms = 60000;
	o->cutover_retries = 30;
	o->log_format = LOG_AUTO;
	o->limits.max_lag_ms = 1500;
	o->heartbeat_interval_ms = 100;
}

void options_free(Options *o)
{
	for (int i = 0; i < o->n_owned; i++)
		free(o->owned[i]);
	o->n_owned = 0;
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

static bool parse_int(const char *name, const char *v, int64_t min, int64_t *out, OscErr *e)
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

static bool parse_dur(const char *name, const char *v, int64_t *out, OscErr *e)
{
	if (!duration_parse_ms(v, out)) {
		err_set(e, OSC_EXIT_INPUT, "--%s: expected a duration such as 250ms, 2s, 5m or 1h, got '%s'",
		        name, v);
		return false;
	}
	return true;
}

/* A duration of at least min_ms. */
static bool parse_dur_min(const char *name, const char *v, int64_t min_ms, int64_t *out, OscErr *e)
{
	if (!parse_dur(name, v, out, e))
		return false;
	if (*out < min_ms) {
		err_set(e, OSC_EXIT_INPUT, "--%s must be at least %lldms", name, (long long)min_ms);
		return false;
	}
	return true;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static bool apply(Options *o, int id, const char *name, const char *v, OscErr *e);

/* A copy of v that Options owns (freed by options_free); NULL when the
 * table of owned strings is full (an exit-2 error in e). */
static char *keep(Options *o, const char *v, OscErr *e)
{
	if (o->n_owned == (int)(sizeof(o->owned) / sizeof(o->owned[0]))) {
		err_set(e, OSC_EXIT_INPUT, "too many options with values");
		return NULL;
	}
	char *c = xstrdup(v);
	o->owned[o->n_owned++] = c;
	return c;
}

/* --database-file: one URL (or libpq key=value string) in a file only the
 * user can read, as libpq asks of ~/.pgpass; blank lines and # comments
 * are skipped. */
static bool read_database_file(Options *o, const char *path, OscErr *e)
{
	struct stat st;
	char buf[4096], *url = NULL;
	ssize_t n = 0;
	bool ok = false;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s is not a regular file", path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		err_set(e, OSC_EXIT_INPUT,
		        "--database-file %s belongs to uid %u, not to you: osc reads a password only from a file of yours",
		        path, (unsigned)st.st_uid);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s is open to others (mode %04o): chmod 600 %s", path,
		        (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	for (ssize_t r; (r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0;)
		n += r;
	if (n >= (ssize_t)sizeof(buf) - 1) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s: longer than %zu bytes", path, sizeof(buf) - 2);
		goto out;
	}
	buf[n] = '\0';
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (url) {
			err_set(e, OSC_EXIT_INPUT, "--database-file %s: more than one URL (one line, # for comments)", path);
			goto out;
		}
		url = line;
	}
	if (url == NULL) {
		err_set(e, OSC_EXIT_INPUT, "--database-file %s holds no URL", path);
		goto out;
	}
	o->database = keep(o, url, e);
	ok = o->database != NULL;
out:
	memset(buf, 0, sizeof(buf));
	close(fd);
	return ok;
}


static bool read_config(Options *o, const char *path, OscErr *e)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int lineno = 0;
	bool ok = false;

	if (f == NULL) {
		err_set(e, OSC_EXIT_INPUT, "--config %s: %s", path, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		char *key = s, *val = NULL;
		if (eq) {
			*eq = '\0';
			key = trim(s);
			val = trim(eq + 1);
		}
		const struct option *opt = NULL;
		for (const struct option *lo = long_opts; lo->name; lo++)
			if (strcmp(lo->name, key) == 0)
				opt = lo;
		if (opt == NULL || opt->val == OPT_CONFIG) {
			const char *hint = options_hint(key);
			err_set(e, OSC_EXIT_INPUT, "%s:%d: unknown option '%s'%s%s", path, lineno, key,
			        hint ? "; in osc: " : "", hint ? hint : "");
			goto out;
		}
		if ((opt->has_arg == required_argument) != (val != NULL)) {
			err_set(e, OSC_EXIT_INPUT, "%s:%d: '%s' %s", path, lineno, key,
			        val ? "takes no value" : "needs `= value`");
			goto out;
		}
		if (val && (val = keep(o, val, e)) == NULL)
			goto out;
		if (!apply(o, opt->val, opt->name, val, e))
			goto out;
	}
	ok = true;
out:
	fclose(f);
	return ok;
}

static bool apply(Options *o, int id, const char *name, const char *v, OscErr *e)
{
	int64_t n;
	switch (id) {
	case OPT_TABLE: o->table = v; return true;
	case OPT_ALTER: o->alter = v; return true;
	case OPT_DATABASE: return (o->database = keep(o, v, e)) != NULL;
	case OPT_DATABASE_FILE: return read_database_file(o, v, e);
	case OPT_CHUNK_TIME: return parse_dur(name, v, &o->chunk_time_ms, e);
	case OPT_CHUNK_SIZE:
		if (!parse_int(name, v, 1, &o->chunk_size, e)) {
			/* pt-osc takes 1k; gh-ost's is a fixed size, osc's only the first */
			err_set(e, OSC_EXIT_INPUT,
			        "--chunk-size: expected a whole number >= 1 (no k/M/G suffix), got '%s'; osc's --chunk-size "
			        "is the first chunk's rows, then --chunk-time sizes each chunk up to --chunk-size-max",
			        v);
			return false;
		}
		return true;
	case OPT_CHUNK_SIZE_MAX: return parse_int(name, v, 1, &o->chunk_size_max, e);
	case OPT_THREADS:
		if (!parse_int(name, v, 1, &n, e) || n > OSC_THREADS_MAX) {
			err_set(e, OSC_EXIT_INPUT, "--threads: expected a whole number from 1 to %d, got '%s'", OSC_THREADS_MAX, v);
			return false;
		}
		o->threads = (int)n;
		return true;
	case OPT_NICE_RATIO: return nice_ratio_parse(v, &o->nice_permille, e);
	case OPT_LOCK_TIMEOUT:
		return parse_dur_min(name, v, 1, &o->lock_timeout_ms, e);
	case OPT_STATEMENT_TIMEOUT: return parse_dur(name, v, &o->statement_timeout_ms, e);
	case OPT_CUTOVER_RETRIES:
		if (!parse_int(name, v, 1, &n, e))
			return false;
		o->cutover_retries = n > 100000 ? 100000 : (int)n;
		return true;
	case OPT_MAX_RUNTIME: return parse_dur(name, v, &o->max_runtime_ms, e);
	case OPT_DROP_OLD: o->drop_old_table = true; return true;
	case OPT_ALLOW_ON_REPLICA: o->allow_on_replica = true; return true;
	case OPT_ALTER_FK_METHOD: o->alter_fk_method = v; return true;
	case OPT_LOG_FORMAT:
		if (strcmp(v, "text") == 0)
			o->log_format = LOG_TEXT;
		else if (strcmp(v, "json") == 0)
			o->log_format = LOG_JSON;
		else {
			err_set(e, OSC_EXIT_INPUT, "--log-format: expected text or json, got '%s'", v);
			return false;
		}
		return true;
	case OPT_CONFIG: return read_config(o, v, e);
	case OPT_WINDOW:
		if (!window_parse(v, &o->window)) {
			err_set(e, OSC_EXIT_INPUT, "--window: expected HH:MM-HH:MM (local time, e.g. 01:00-05:00), got '%s'", v);
			return false;
		}
		return true;
	case OPT_WINDOW_WAIT: o->window_wait = true; return true;
	case OPT_LOG_FILE: o->log_file = v; return true;
	case OPT_ON_SUCCESS: o->on_success = v; return true;
	case OPT_ON_FAILURE: o->on_failure = v; return true;
	case OPT_ON_CUTOVER: o->on_cutover = v; return true;
	case OPT_REPLICA:
		if (o->nreplicas == THROTTLE_MAX_REPLICAS) {
			err_set(e, OSC_EXIT_INPUT, "--replica: at most %d replicas", THROTTLE_MAX_REPLICAS);
			return false;
		}
		return (o->replicas[o->nreplicas++] = keep(o, v, e)) != NULL;
	case OPT_MAX_LAG: return parse_dur(name, v, &o->limits.max_lag_ms, e);
	case OPT_CRITICAL_LAG: return parse_dur(name, v, &o->limits.critical_lag_ms, e);
	case OPT_CRITICAL_INTERVAL: return parse_dur(name, v, &o->limits.critical_interval_ms, e);
	case OPT_MAX_LOAD:
	case OPT_CRITICAL_LOAD: {
		char why[160];
		LoadList *l = id == OPT_MAX_LOAD ? &o->limits.max_load : &o->limits.critical_load;
		if (!throttle_parse_load(v, l, why, sizeof(why))) {
			/* pt-osc's forms: Threads_running:25, or a bare name (a
			 * multiple of the value it reads at start) */
			const char *hint = strchr(v, '=') ? ""
			                   : strchr(v, ':') ? " (osc writes NAME=VALUE, e.g. Threads_running=25, not NAME:VALUE)"
			                                    : " (osc needs the threshold: NAME=VALUE, e.g. Threads_running=25)";
			err_set(e, OSC_EXIT_INPUT, "--%s: %s%s", name, why, hint);
			return false;
		}
		return true;
	}
	case OPT_HEARTBEAT_INTERVAL:
		return parse_dur_min(name, v, 10, &o->heartbeat_interval_ms, e);
	case OPT_PROGRESS_INTERVAL:
		return parse_dur_min(name, v, 100, &o->progress_interval_ms, e);
	case OPT_PAUSE_FILE: o->pause_file = v; return true;
	case OPT_PANIC_FILE: o->panic_file = v; return true;
	case OPT_POSTPONE_CUTOVER: o->postpone_cutover = v; return true;
	case OPT_SOCKET: o->socket_path = v; return true;
	case OPT_VERIFY:
		if (strcmp(v, "checksum") == 0)
			o->verify = VERIFY_CHECKSUM;
		else if (strcmp(v, "count") == 0)
			o->verify = VERIFY_COUNT;
		else if (strcmp(v, "none") == 0)
			o->verify = VERIFY_NONE;
		else {
			err_set(e, OSC_EXIT_INPUT, "--verify: expected checksum, count or none, got '%s'", v);
			return false;
		}
		return true;
	case OPT_STRATEGY:
		if (strcmp(v, "auto") == 0)
			o->strategy = STRATEGY_AUTO;
		else if (strcmp(v, "copy") == 0)
			o->strategy = STRATEGY_COPY;
		else {
			err_set(e, OSC_EXIT_INPUT, "--strategy: expected auto or copy, got '%s'", v);
			return false;
		}
		return true;
	case OPT_FORMAT:
		if (strcmp(v, "json") == 0 || strcmp(v, "text") == 0) {
			o->plan_json = v[0] == 'j';
			return true;
		}
		err_set(e, OSC_EXIT_INPUT, "--format: expected text or json, got '%s'", v);
		return false;
	case OPT_PROXY: o->proxy_socket = v; return true;
	case OPT_FAIL_ON:
		if (strcmp(v, "medium") == 0)
			o->plan_fail_on = PLAN_RISK_MEDIUM;
		else if (strcmp(v, "high") == 0)
			o->plan_fail_on = PLAN_RISK_HIGH;
		else {
			err_set(e, OSC_EXIT_INPUT, "--fail-on: expected medium or high, got '%s'", v);
			return false;
		}
		return true;
	case OPT_METRICS: o->metrics_addr = v; return true;
	case OPT_VERSION: o->command = CMD_VERSION; return true;
	case 'h':
		/* `osc plan --help`: plan's usage */
		if (o->command != CMD_HELP)
			o->help_for = o->command;
		o->command = CMD_HELP;
		return true;
	case 'q': o->verbosity = -1; return true;
	case 'v': o->verbosity++; return true;
	}
	err_set(e, OSC_EXIT_INPUT, "unknown option");
	return false;
}

/* An argv string holding a URL: its password is overwritten at the end. */
static void remember_url_arg(Options *o, int c, char *arg)
{
	if ((c == OPT_DATABASE || c == OPT_REPLICA) && arg &&
	    o->nscrub < (int)(sizeof(o->scrub) / sizeof(o->scrub[0])))
		o->scrub[o->nscrub++] = arg;
}

static bool parse(Options *o, int argc, char **argv, OscErr *e);

/* The osc option that getopt_long takes word (after "--") for: an exact
 * name or an unambiguous prefix, as getopt_long does; NULL otherwise. */
static const struct option *long_opt_for(const char *word)
{
	size_t n = strcspn(word, "=");
	const struct option *found = NULL;
	for (const struct option *lo = long_opts; lo->name; lo++) {
		if (strncmp(lo->name, word, n) != 0)
			continue;
		if (strlen(lo->name) == n)
			return lo;
		if (found)
			return NULL; /* ambiguous */
		found = lo;
	}
	return found;
}

/* The unknown option error.  getopt does not say reliably which word it
 * stumbled on (a one-dash word such as gh-ost's -execute is read as short
 * options), so the words are walked again, skipping the values of osc's
 * options: the first one another tool's user typed names osc's
 * equivalent (options_hints.c). */
static void unknown_option(int argc, char **argv, const char *bad, OscErr *e)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *w = argv[i];
		if (w[0] != '-')
			continue;
		const char *hint = options_hint(w);
		if (hint) {
			err_set(e, OSC_EXIT_INPUT, "unknown option %s; in osc: %s (see osc --help)", w, hint);
			return;
		}
		const struct option *lo = w[1] == '-' ? long_opt_for(w + 2) : NULL;
		if (lo && lo->has_arg == required_argument && strchr(w, '=') == NULL)
			i++;
	}
	err_set(e, OSC_EXIT_INPUT, "unknown option %s (see osc --help)", bad);
}

bool options_parse(Options *o, int argc, char **argv, OscErr *e)
{
	bool ok = parse(o, argc, argv, e);
	for (int i = 0; i < o->nscrub; i++)
		url_scrub(o->scrub[i]);
	o->nscrub = 0;
	return ok;
}

static bool parse(Options *o, int argc, char **argv, OscErr *e)
{
	/* --config first, so that the command line overrides the file; spelt
	 * as getopt_long takes it (--conf, gh-ost's name, is a prefix of it:
	 * the loops below skip it, so it must be read here) */
	for (int i = 1; i < argc; i++) {
		const char *path = NULL;
		const struct option *lo = strncmp(argv[i], "--", 2) == 0 ? long_opt_for(argv[i] + 2) : NULL;
		if (lo && lo->val == OPT_CONFIG) {
			const char *eq = strchr(argv[i], '=');
			path = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
		}
		if (path && !read_config(o, path, e))
			return false;
	}

	opterr = 0;
	optind = 1;
	int c, idx;
	while ((c = getopt_long(argc, argv, "+hqv", long_opts, &idx)) != -1) {
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];
			if (optopt && c == ':')
				err_set(e, OSC_EXIT_INPUT, "option %s needs a value (see osc --help)", bad);
			else
				unknown_option(argc, argv, bad, e);
			return false;
		}
		if (c == OPT_CONFIG)
			continue;
		remember_url_arg(o, c, optarg);
		const char *name = (c >= 256) ? long_opts[idx].name : "";
		if (!apply(o, c, name, optarg, e))
			return false;
	}
	if (optind < argc) {
		const char *cmd = argv[optind];
		const Subcommand *sc;
		for (sc = subcommands; sc->name && strcmp(sc->name, cmd) != 0; sc++)
			;
		if (sc->name == NULL) {
			err_set(e, OSC_EXIT_INPUT, "unknown command '%s' (see osc --help)", cmd);
			return false;
		}
		/* `osc --help plan` is `osc plan --help` */
		if (o->command == CMD_HELP)
			o->help_for = sc->command;
		else
			o->command = sc->command;
		/* options may follow the subcommand */
		int sub_argc = argc - optind;
		char **sub_argv = argv + optind;
		/* osc set takes name=value words among its options: let getopt
		 * move them to the end */
		const char *optstring = o->command == CMD_SET ? "hqv" : "+hqv";
		optind = 0; /* glibc: a full restart, including its permutation state */
		while ((c = getopt_long(sub_argc, sub_argv, optstring, long_opts, &idx)) != -1) {
			if (c == '?' || c == ':') {
				unknown_option(sub_argc, sub_argv, sub_argv[optind - 1], e);
				return false;
			}
			if (c == OPT_CONFIG)
				continue;
			remember_url_arg(o, c, optarg);
			const char *name = (c >= 256) ? long_opts[idx].name : "";
			if (!apply(o, c, name, optarg, e))
				return false;
		}
		if (o->command == CMD_SET) {
			/* the loop above let getopt permute: the words are at the end */
			o->set_args = sub_argv + optind;
			o->nset_args = sub_argc - optind;
			if (o->nset_args == 0) {
				err_set(e, OSC_EXIT_INPUT, "osc set: expected name=value pairs, e.g. chunk-time=200ms max-lag=2s");
				return false;
			}
		} else if (o->command == CMD_HELP && sc->command == CMD_HELP && optind + 1 == sub_argc) {
			/* `osc help plan` */
			const Subcommand *h;
			for (h = subcommands; h->name && strcmp(h->name, sub_argv[optind]) != 0; h++)
				;
			if (h->name == NULL || h->command == CMD_HELP) {
				err_set(e, OSC_EXIT_INPUT, "osc help: unknown command '%s' (see osc --help)", sub_argv[optind]);
				return false;
			}
			o->help_for = h->command;
		} else if (optind < sub_argc) {
			err_set(e, OSC_EXIT_INPUT, "unexpected argument '%s' (see osc --help)", sub_argv[optind]);
			return false;
		}
	}
	if (o->command == CMD_HELP || o->command == CMD_VERSION)
		return true;
	if (o->plan_fail_on && o->command != CMD_PLAN) {
		err_set(e, OSC_EXIT_INPUT, "--fail-on is an option of osc plan");
		return false;
	}
	if (o->metrics_addr && o->command != CMD_RUN) {
		err_set(e, OSC_EXIT_INPUT, "--metrics is an option of a run (osc --table T --alter SPEC)");
		return false;
	}
	if (o->table == NULL && o->command != CMD_HISTORY && o->command != CMD_STATUS && o->command != CMD_PS) {
		err_set(e, OSC_EXIT_INPUT, "--table is required (see osc --help)");
		return false;
	}
	if ((o->command == CMD_RUN || o->command == CMD_PLAN) && o->alter == NULL) {
		err_set(e, OSC_EXIT_INPUT, "--alter is required (see osc --help)");
		return false;
	}
	if (o->chunk_size > o->chunk_size_max)
		o->chunk_size = o->chunk_size_max;
	return true;
}
