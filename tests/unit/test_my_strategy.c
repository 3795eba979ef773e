/*
 * test_my_strategy.c — which ALTERs MariaDB's empty trial table is never
 * given (src/my/my_strategy.c), and the new strategies' names (no server).
 */
#include "my.h"
#include "unit.h"

static const char *refused(const char *spec)
{
	static AlterSpec a;
	const char *why;
	OscErr e;
	if (!alter_parse(spec, &a, &e))
		return "(parse error)";
	why = my_trial_refused(&a);
	alter_free(&a);
	return why;
}

void test_my_trial(void)
{
	CHECK(refused("ADD COLUMN c INT") == NULL);
	CHECK(refused("RENAME COLUMN a TO b, ADD INDEX i (a)") == NULL);
	CHECK(refused("RENAME INDEX i TO j") == NULL);
	CHECK(refused("rename key i to j") == NULL);
	CHECK(refused("RENAME TO other") != NULL);
	CHECK(refused("ADD COLUMN c INT, RENAME AS other") != NULL);
	CHECK(refused("rename other") != NULL);
	CHECK(refused("RENAME /* x */ TO other") != NULL);
	CHECK(refused("ADD COLUMN c INT, ALGORITHM=COPY") != NULL);
	CHECK(refused("ADD INDEX i (a), LOCK = SHARED") != NULL);
	CHECK_STR(strategy_name(STRAT_INSTANT), "instant");
	CHECK_STR(strategy_name(STRAT_NOCOPY), "nocopy");
}
