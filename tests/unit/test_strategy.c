/*
 * test_strategy.c — sorting ALTER subcommands and picking a strategy (no server).
 */
#include "strategy.h"
#include "unit.h"

static StrategyKind pick(const char *spec, StrategyChoice c)
{
	AlterSpec a;
	OscErr e;
	Strategy s;
	if (!alter_parse(spec, &a, &e))
		return (StrategyKind)-1;
	strategy_classify(&a, c, &s);
	alter_free(&a);
	return s.kind;
}

void test_strategy(void)
{
	AlterSpec a;
	OscErr e;

	CHECK(pick("ADD COLUMN c int DEFAULT 5", STRATEGY_AUTO) == STRAT_DIRECT);
	CHECK(pick("ADD COLUMN c int DEFAULT 5", STRATEGY_COPY) == STRAT_COPY);
	CHECK(pick("DROP COLUMN pad, RENAME COLUMN a TO b", STRATEGY_AUTO) == STRAT_DIRECT);
	CHECK(pick("ALTER COLUMN c SET DEFAULT 1, ALTER c DROP DEFAULT", STRATEGY_AUTO) == STRAT_DIRECT);
	CHECK(pick("ALTER COLUMN c DROP NOT NULL", STRATEGY_AUTO) == STRAT_DIRECT);
	CHECK(pick("ALTER COLUMN c SET NOT NULL", STRATEGY_AUTO) == STRAT_NOT_NULL);
	CHECK(pick("ALTER COLUMN c TYPE bigint", STRATEGY_AUTO) == STRAT_COPY);
	CHECK(pick("ADD COLUMN id2 serial", STRATEGY_AUTO) == STRAT_COPY);
	CHECK(pick("ADD COLUMN u int UNIQUE", STRATEGY_AUTO) == STRAT_COPY);
	CHECK(pick("ADD COLUMN g int GENERATED ALWAYS AS (a * 2) STORED", STRATEGY_AUTO) == STRAT_COPY);
	CHECK(pick("ADD CONSTRAINT u UNIQUE (a, \"B\")", STRATEGY_AUTO) == STRAT_UNIQUE_INDEX);
	CHECK(pick("ADD UNIQUE (a) INCLUDE (b)", STRATEGY_AUTO) == STRAT_COPY);
	CHECK(pick("ADD UNIQUE (lower(a))", STRATEGY_AUTO) == STRAT_COPY);
	CHECK(pick("ADD PRIMARY KEY (id)", STRATEGY_AUTO) == STRAT_UNIQUE_INDEX);
	CHECK(pick("ADD CONSTRAINT c CHECK (a > 0)", STRATEGY_AUTO) == STRAT_NOT_VALID);
	CHECK(pick("ADD CHECK (a > 0) NOT VALID", STRATEGY_AUTO) == STRAT_DIRECT);
	CHECK(pick("ADD FOREIGN KEY (a) REFERENCES p (id)", STRATEGY_AUTO) == STRAT_NOT_VALID);
	CHECK(pick("ADD CONSTRAINT u UNIQUE (a), ADD COLUMN x int", STRATEGY_AUTO) == STRAT_COPY);
	CHECK(pick("ADD COLUMN x int, ALTER COLUMN x SET NOT NULL", STRATEGY_AUTO) == STRAT_COPY);
	CHECK(pick("SET UNLOGGED", STRATEGY_AUTO) == STRAT_COPY);
	CHECK(pick("RENAME TO other", STRATEGY_AUTO) == (StrategyKind)-1); /* refused by the lexer */
	CHECK(pick("RENAME CONSTRAINT a TO b", STRATEGY_AUTO) == STRAT_DIRECT);

	CHECK(alter_parse("ADD CONSTRAINT \"My Key\" UNIQUE (a, \"B c\")", &a, &e));
	CHECK(a.n_sub == 1 && a.sub[0].kind == ALTER_ADD_UNIQUE && a.sub[0].ncols == 2);
	CHECK_STR(a.sub[0].constraint, "My Key");
	CHECK_STR(a.sub[0].cols[1], "B c");
	alter_free(&a);
	CHECK(alter_parse("alter column \"Extra\" set not null", &a, &e));
	CHECK(a.sub[0].kind == ALTER_SET_NOT_NULL);
	CHECK_STR(a.sub[0].column, "Extra");
	alter_free(&a);
	CHECK_STR(strategy_name(STRAT_UNIQUE_INDEX), "unique-index");
}
