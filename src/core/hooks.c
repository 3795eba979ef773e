/*
 * hooks.c — running the operator's hook commands (see hooks.h).
 *
 * fork + execl("/bin/sh", "-c", cmd) with the variables set in the child
 * only; the parent polls waitpid and kills the hook's process group after
 * HOOK_TIMEOUT_MS, so a hook can never keep osc (and its locks) waiting.
 *
 * A hook gets the migration's facts, never its credentials: a hook is often
 * a notifier that logs or forwards what it is given, so the variables that
 * carry a password (PGPASSWORD, MYSQL_PWD, OSC_DATABASE_URL) are removed
 * from its environment, and OSC_DATABASE names the database with the
 * password masked (OSC_ENGINE, OSC_HOST, OSC_PORT, OSC_DBNAME name the
 * target without credentials; OSC_RUN_ID matches the JSON log's run_id;
 * OSC_FAILED_PHASE is the phase a failure happened in).  A hook that connects brings its own (~/.pgpass,
 * ~/.my.cnf).
 */
#include "hooks.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "url.h"

#define HOOK_TIMEOUT_MS 60000

static void setenv_num(const char *name, long long v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", v);
	setenv(name, buf, 1);
}

void hooks_run(Osc *o, const char *cmd, const char *outcome, OscExit code, const char *reason)
{
	if (cmd == NULL || *cmd == '\0')
		return;
	const char *url = o->opt.database ? o->opt.database : getenv("OSC_DATABASE_URL");
	char *shown = url_masked(url); /* before fork: the child only sets and execs */
	char failed_phase[32];
	summary_failed_phase(&o->summary, failed_phase, sizeof(failed_phase));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		free(shown);
		log_msg(&o->log, LOG_WARN, "hook --on-%s: cannot fork: %s", outcome, strerror(errno));
		return;
	}
	if (pid == 0) {
		setpgid(0, 0);
		unsetenv("PGPASSWORD");
		unsetenv("MYSQL_PWD");
		unsetenv("OSC_DATABASE_URL");
		setenv("OSC_DATABASE", shown, 1);
		/* the target and the run, as every JSON line names them */
		setenv("OSC_RUN_ID", o->summary.run_id, 1);
		setenv("OSC_ENGINE", o->summary.engine, 1);
		setenv("OSC_HOST", o->summary.host, 1);
		setenv("OSC_PORT", o->summary.port, 1);
		setenv("OSC_DBNAME", o->summary.database, 1);
		setenv("OSC_FAILED_PHASE", failed_phase, 1);
		setenv("OSC_TABLE", o->opt.table ? o->opt.table : "", 1);
		setenv("OSC_ALTER", o->opt.alter ? o->opt.alter : "", 1);
		setenv("OSC_PHASE", o->progress.phase ? o->progress.phase : "", 1);
		setenv("OSC_OUTCOME", outcome, 1);
		setenv("OSC_REASON", reason ? reason : "", 1);
		setenv_num("OSC_EXIT", code);
		setenv_num("OSC_ROWS_COPIED", o->progress.rows_copied);
		setenv_num("OSC_CHANGES_APPLIED", o->progress.log_applied);
		setenv_num("OSC_DURATION_MS", now_ms() - o->started_ms);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	free(shown);
	int status = 0;
	int64_t deadline = now_ms() + HOOK_TIMEOUT_MS;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			log_msg(&o->log, LOG_WARN, "hook --on-%s: %s", outcome, strerror(errno));
			return;
		}
		if (now_ms() > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			log_msg(&o->log, LOG_WARN, "hook --on-%s ran past %ds and was killed", outcome, HOOK_TIMEOUT_MS / 1000);
			return;
		}
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_msg(&o->log, LOG_INFO, "hook --on-%s done", outcome);
	else if (WIFEXITED(status))
		log_msg(&o->log, LOG_WARN, "hook --on-%s failed with exit status %d (osc's result stands)", outcome,
		        WEXITSTATUS(status));
	else
		log_msg(&o->log, LOG_WARN, "hook --on-%s was killed by signal %d (osc's result stands)", outcome,
		        WTERMSIG(status));
}
