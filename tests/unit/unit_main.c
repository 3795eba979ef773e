/*
 * unit_main.c — runs every unit test group; each group is one test in the
 * count, and the last line reads "N passed, N failed".
 */
#include "unit.h"

int unit_checks, unit_failed;

static const struct {
	const char *name;
	void (*fn)(void);
} groups[] = {
	{ "sql quoting", test_sql },      { "table names", test_names }, { "durations", test_duration },
	{ "alter parsing", test_alter },  { "chunk sizing", test_chunk }, { "backoff", test_backoff },
	{ "options", test_options },      { "time windows", test_window },
	{ "mysql alter forms", test_mysql_alter }, { "database urls", test_url },
	{ "error messages", test_err }, { "throttle rules", test_throttle },
	{ "strategy", test_strategy },
	{ "mysql verify mapping", test_my_verify },
	{ "mariadb trial table", test_my_trial },
	{ "secrets in connection strings", test_secrets },
	{ "mariadb session and key text", test_my_session },
	{ "proxy: postgresql tracker", test_proxy_pg },
	{ "proxy: mysql tracker", test_proxy_my },
	{ "proxy: upstream url", test_proxy_url },
	{ "json writer", test_json },
	{ "control commands", test_control },
	{ "lock retries", test_retry },
	{ "postgresql statements", test_pg_sql },
	{ "mariadb statements", test_my_sql },
	{ "plan: definitions and silent drops", test_plan_def },
	{ "plan: what a revert would do", test_plan_revert },
	{ "history and status lines", test_history },
};

int main(void)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		int before = unit_failed;
		groups[i].fn();
		if (unit_failed == before) {
			passed++;
			printf("ok - unit: %s\n", groups[i].name);
		} else {
			failed++;
			printf("not ok - unit: %s (%d checks failed)\n", groups[i].name, unit_failed - before);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
