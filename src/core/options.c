/*
 * options.c — parsing argv into Options: getopt_long over the option table
 * (options_table.c, what each option sets), the command word, and the
 * checks that span options.  --config files and --database-file are read
 * in options_files.c; the text of --help is in options_usage.c.
 *
 * --config is read before every other option, so that options on the
 * command line win over the file whatever their order.
 *
 * A URL given on the command line is copied, and its password overwritten
 * with 'x' in argv as soon as parsing ends (what mysql(1) does with -p):
 * /proc/PID/cmdline, which `ps` reads, then no longer holds it.  The
 * password is still visible for the instant between exec and that point;
 * --database-file, PGPASSWORD, ~/.pgpass, MYSQL_PWD or ~/.my.cnf keep it
 * out of the command line altogether.
 */
#include "options_int.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

/* The first word that is not an option names the command (none: run). */
typedef struct Subcommand {
	const char *name;
	OscCommand command;
} Subcommand;

static const Subcommand subcommands[] = {
	{ "run", CMD_RUN },         { "plan", CMD_PLAN },       { "cleanup", CMD_CLEANUP }, { "history", CMD_HISTORY },
	{ "status", CMD_STATUS },   { "pause", CMD_PAUSE },     { "resume", CMD_RESUME },   { "cutover", CMD_CUTOVER },
	{ "abort", CMD_ABORT },     { "set", CMD_SET },         { "help", CMD_HELP },       { "ps", CMD_PS },
	{ "revert", CMD_REVERT },   { "finish", CMD_FINISH },
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

/* getopt_long's view of option_table: each option's val is its index +
 * 256 (above every short option's character). */
static void getopt_table(struct option *lo)
{
	size_t i;
	for (i = 0; option_table[i].name; i++)
		lo[i] = (struct option){ option_table[i].name, option_table[i].has_arg, NULL, (int)i + 256 };
	lo[i] = (struct option){ NULL, 0, NULL, 0 };
}

/* The osc option that getopt_long takes word (after "--") for: an exact
 * name or an unambiguous prefix, as getopt_long does; NULL otherwise. */
static const OptionDef *long_opt_for(const char *word)
{
	size_t n = strcspn(word, "=");
	const OptionDef *found = NULL;
	for (const OptionDef *d = option_table; d->name; d++) {
		if (strncmp(d->name, word, n) != 0)
			continue;
		if (strlen(d->name) == n)
			return d;
		if (found)
			return NULL; /* ambiguous */
		found = d;
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
		const OptionDef *d = w[1] == '-' ? long_opt_for(w + 2) : NULL;
		if (d && d->has_arg == required_argument && strchr(w, '=') == NULL)
			i++;
	}
	err_set(e, OSC_EXIT_INPUT, "unknown option %s (see osc --help)", bad);
}

/* One option getopt_long returned (c, with its value arg): applied to o.
 * A URL's argv string is remembered, so that its password is overwritten
 * once parsing ends. */
static bool take(Options *o, int c, char *arg, OscErr *e)
{
	const OptionDef *d = c >= 256 ? &option_table[c - 256] : option_by_short(c);
	if (d == NULL) {
		err_set(e, OSC_EXIT_INPUT, "unknown option");
		return false;
	}
	if (d->url && arg && o->nscrub < (int)(sizeof(o->scrub) / sizeof(o->scrub[0])))
		o->scrub[o->nscrub++] = arg;
	return option_apply(o, d, arg, e);
}

static bool parse(Options *o, int argc, char **argv, OscErr *e);

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
	struct option long_opts[OPTION_MAX + 1];
	getopt_table(long_opts);

	/* --config first, so that the command line overrides the file; spelt
	 * as getopt_long takes it (--conf, gh-ost's name, is a prefix of it:
	 * the loops below skip it, so it must be read here) */
	for (int i = 1; i < argc; i++) {
		const char *path = NULL;
		const OptionDef *d = strncmp(argv[i], "--", 2) == 0 ? long_opt_for(argv[i] + 2) : NULL;
		if (d && d->set == NULL) {
			const char *eq = strchr(argv[i], '=');
			path = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
		}
		if (path && !options_read_config(o, path, e))
			return false;
	}

	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+hqv", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];
			if (optopt && c == ':')
				err_set(e, OSC_EXIT_INPUT, "option %s needs a value (see osc --help)", bad);
			else
				unknown_option(argc, argv, bad, e);
			return false;
		}
		if (!take(o, c, optarg, e))
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
		while ((c = getopt_long(sub_argc, sub_argv, optstring, long_opts, NULL)) != -1) {
			if (c == '?' || c == ':') {
				unknown_option(sub_argc, sub_argv, sub_argv[optind - 1], e);
				return false;
			}
			if (!take(o, c, optarg, e))
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
	if (o->revertible && o->command != CMD_RUN && o->command != CMD_PLAN) {
		err_set(e, OSC_EXIT_INPUT, "--revertible is an option of a run (osc --table T --alter SPEC --revertible)");
		return false;
	}
	if ((o->command == CMD_REVERT || o->command == CMD_FINISH) && o->alter) {
		err_set(e, OSC_EXIT_INPUT, "osc %s takes no --alter: it acts on the table's --revertible migration",
		        o->command == CMD_REVERT ? "revert" : "finish");
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
