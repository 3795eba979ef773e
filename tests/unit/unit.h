/*
 * unit.h — a minimal test harness for osc's pure logic (no server).
 * CHECK records a failure and goes on; each test is a function.
 */
#ifndef OSC_UNIT_H
#define OSC_UNIT_H

#include <stdio.h>
#include <string.h>

extern int unit_checks, unit_failed;

#define CHECK(cond)                                                                    \
	do {                                                                               \
		unit_checks++;                                                                 \
		if (!(cond)) {                                                                 \
			unit_failed++;                                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                                      \
	do {                                                                                     \
		const char *a_ = (a), *b_ = (b);                                                     \
		unit_checks++;                                                                       \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                               \
			unit_failed++;                                                                   \
			fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__,      \
			        b_ ? b_ : "(null)", a_ ? a_ : "(null)");                                 \
		}                                                                                    \
	} while (0)

void test_sql(void);
void test_plan_def(void);
void test_plan_revert(void);
void test_history(void);
void test_names(void);
void test_duration(void);
void test_alter(void);
void test_chunk(void);
void test_backoff(void);
void test_options(void);
void test_window(void);
void test_my_session(void);
void test_mysql_alter(void);
void test_url(void);
void test_err(void);
void test_throttle(void);
void test_strategy(void);
void test_my_verify(void);
void test_my_trial(void);
void test_secrets(void);
void test_proxy_pg(void);
void test_proxy_my(void);
void test_proxy_url(void);
void test_json(void);
void test_control(void);
void test_retry(void);
void test_pg_sql(void);
void test_my_sql(void);

#endif
