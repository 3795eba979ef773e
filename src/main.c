/*
 * main.c — osc's entry point: reads the command line, picks the engine,
 * runs the command, and is the only place that exits.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dburl.h"
#include "localpath.h"
#include "osc.h"
#include "proxy.h"
#include "ps.h"
#include "url.h"

#define OSC_VERSION "0.1.0"

static volatile sig_atomic_t stop_requested;

/* The first signal stops at the next step, resumable; a second one aborts. */
static void on_signal(int sig)
{
	(void)sig;
	if (stop_requested < 2)
		stop_requested++;
}

bool engine_for_url(const char *url, const Engine **out, OscErr *e)
{
	/* schemes first: a MySQL URL may carry ?ssl-mode=..., which holds '=' */
	if (url && (strncmp(url, "mysql://", 8) == 0 || strncmp(url, "mariadb://", 10) == 0)) {
		*out = &my_engine;
		return true;
	}
	if (url == NULL || *url == '\0' || strncmp(url, "postgres://", 11) == 0 ||
	    strncmp(url, "postgresql://", 13) == 0 || (strstr(url, "://") == NULL && strchr(url, '=') != NULL)) {
		*out = &pg_engine;
		return true;
	}
	char *shown = url_masked(url);
	err_set(e, OSC_EXIT_INPUT, "--database: unknown URL scheme in '%s' (postgres://, postgresql://, mysql://, mariadb://)",
	        shown);
	free(shown);
	return false;
}

static bool check_replicas(Osc *o, OscErr *e)
{
	for (int i = 0; i < o->opt.nreplicas; i++)
		if (!dburl_check("--replica", o->opt.replicas[i], e))
			return false;
	return true;
}

/* A run's local files, before anything connects: the socket directory and
 * path, and flag files someone else may have put in place (each is checked
 * again where it is opened or made). */
static bool check_local_paths(Osc *o, OscErr *e)
{
	char path[108];
	return control_socket_path(o, true, false, path, sizeof(path), e) && localpath_check_socket(path, e) &&
	       localpath_check_flag("--postpone-cutover", o->opt.postpone_cutover, e) &&
	       localpath_check_flag("--pause-file", o->opt.pause_file, e) &&
	       localpath_check_flag("--panic-file", o->opt.panic_file, e);
}

/* osc status|pause|resume|cutover|abort|set: the running migration's socket.
 * status falls back to the state table when nothing runs. */
static OscExit steer(Osc *o)
{
	char cmd[4096];
	bool running = false;
	bool json = o->opt.log_format == LOG_JSON || (o->opt.log_format == LOG_AUTO && !isatty(fileno(stdout)));
	OscExit rc;

	switch (o->opt.command) {
	case CMD_STATUS: snprintf(cmd, sizeof(cmd), "status%s", json ? " json" : ""); break;
	case CMD_PAUSE: snprintf(cmd, sizeof(cmd), "pause"); break;
	case CMD_RESUME: snprintf(cmd, sizeof(cmd), "resume"); break;
	case CMD_CUTOVER: snprintf(cmd, sizeof(cmd), "cutover"); break;
	case CMD_ABORT: snprintf(cmd, sizeof(cmd), "abort"); break;
	default: {
		size_t n = (size_t)snprintf(cmd, sizeof(cmd), "set");
		for (int i = 0; i < o->opt.nset_args && n < sizeof(cmd); i++) {
			if (strpbrk(o->opt.set_args[i], " \n\r") != NULL) {
				fprintf(stderr, "osc: error: osc set: '%s' holds a space\n", o->opt.set_args[i]);
				return OSC_EXIT_INPUT;
			}
			n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " %s", o->opt.set_args[i]);
		}
		if (n >= sizeof(cmd)) {
			fprintf(stderr, "osc: error: osc set: too long\n");
			return OSC_EXIT_INPUT;
		}
	}
	}
	if (o->opt.table)
		rc = control_client(o, cmd, &running);
	if (running)
		return rc;
	if (o->opt.command == CMD_STATUS) {
		/* before the stored state, which may look like a live one */
		int n = o->opt.table ? 0 : ps_count(o);
		if (o->opt.table)
			log_msg(&o->log, LOG_INFO, "no migration of %s is running on this host; its last recorded state:",
			        o->opt.table);
		else if (n == 0)
			log_msg(&o->log, LOG_INFO, "no migration is running on this host; the last recorded states:");
		else
			log_msg(&o->log, LOG_INFO,
			        "%d migration(s) running on this host (osc ps lists them); the last recorded states:", n);
		return migrate_history(o, true);
	}
	char path[108];
	OscErr e;
	err_clear(&e);
	if (!control_socket_path(o, false, false, path, sizeof(path), &e)) {
		log_error(&o->log, &e);
		return OSC_EXIT_INPUT;
	}
	fprintf(stderr,
	        "osc: error: no running migration of %s answers on %s (the same host, port and database as the run? "
	        "or its --socket)\n",
	        o->opt.table, path);
	return OSC_EXIT_FAILED;
}

int main(int argc, char **argv)
{
	Osc o;
	OscErr e;
	OscExit rc;

	if (argc > 1 && strcmp(argv[1], "proxy") == 0)
		return proxy_main(argc - 1, argv + 1); /* the daemon and its client commands (proxy/) */
	if (argc == 3 && strcmp(argv[1], "help") == 0 && strcmp(argv[2], "proxy") == 0) {
		char *help[] = { argv[2], "--help", NULL };
		return proxy_main(2, help); /* `osc help proxy` is `osc proxy --help` */
	}
	memset(&o, 0, sizeof(o));
	err_clear(&e);
	options_defaults(&o.opt);
	o.stop = &stop_requested;
	if (!options_parse(&o.opt, argc, argv, &e)) {
		url_mask_text(e.msg); /* a URL given where another word belonged */
		fprintf(stderr, "osc: error: %s\n", e.msg);
		options_free(&o.opt);
		return OSC_EXIT_INPUT;
	}
	if (o.opt.command == CMD_HELP) {
		options_usage_for(o.opt.help_for);
		options_free(&o.opt);
		return OSC_EXIT_OK;
	}
	if (o.opt.command == CMD_VERSION) {
		printf("osc %s\n", OSC_VERSION);
		options_free(&o.opt);
		return OSC_EXIT_OK;
	}
	if (!log_init(&o.log, &o.opt, &e)) {
		fprintf(stderr, "osc: error: %s\n", e.msg);
		options_free(&o.opt);
		return OSC_EXIT_INPUT;
	}

	/* every JSON line names the run; and its target once the URL is known good */
	summary_init(&o.summary);
	o.log.run_id = o.summary.run_id;
	const char *url = o.opt.database ? o.opt.database : getenv("OSC_DATABASE_URL");
	/* no line of the log shows a password osc was given */
	log_add_secrets(&o.log, url);
	for (int i = 0; i < o.opt.nreplicas; i++)
		log_add_secrets(&o.log, o.opt.replicas[i]);
	secrets_add(&o.log.secrets, getenv("PGPASSWORD"));
	secrets_add(&o.log.secrets, getenv("MYSQL_PWD"));
	if ((o.opt.table != NULL && !names_parse_table(o.opt.table, &o.target, &e)) ||
	    ((o.opt.command == CMD_RUN || o.opt.command == CMD_PLAN) && !alter_parse(o.opt.alter, &o.alter, &e)) ||
	    !engine_for_url(url, &o.engine, &e) || !dburl_check("--database", url, &e) || !check_replicas(&o, &e) ||
	    ((o.opt.command == CMD_RUN || o.opt.command == CMD_REVERT) && !check_local_paths(&o, &e))) {
		log_error(&o.log, &e);
		if (o.opt.command == CMD_RUN || o.opt.command == CMD_REVERT)
			summary_emit(&o, OSC_EXIT_INPUT);
		log_close(&o.log);
		summary_free(&o.summary);
		alter_free(&o.alter);
		options_free(&o.opt);
		return OSC_EXIT_INPUT;
	}
	summary_set_target(&o.summary, url, o.opt.table ? o.target.schema : NULL, o.opt.table ? o.target.table : NULL);
	o.log.engine = o.summary.engine;
	o.log.host = o.summary.host;
	o.log.database = o.summary.database;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	switch (o.opt.command) {
	case CMD_PLAN: rc = migrate_plan(&o); break;
	case CMD_CLEANUP: rc = migrate_cleanup(&o); break;
	case CMD_HISTORY: rc = migrate_history(&o, false); break;
	case CMD_STATUS:
	case CMD_PAUSE:
	case CMD_RESUME:
	case CMD_CUTOVER:
	case CMD_ABORT:
	case CMD_SET: rc = steer(&o); break;
	case CMD_PS: rc = ps_main(&o); break;
	case CMD_FINISH: rc = migrate_finish(&o); break;
	case CMD_REVERT:
		rc = migrate_revert(&o);
		summary_emit(&o, rc);
		break;
	default:
		rc = migrate_run(&o);
		summary_emit(&o, rc); /* the run's last line */
		break;
	}
	log_close(&o.log);
	summary_free(&o.summary);
	alter_free(&o.alter);
	options_free(&o.opt);
	return (int)rc;
}
