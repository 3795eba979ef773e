/*
 * test_plan_revert.c — what osc plan says a revert would do
 * (src/core/plan_revert.c), without a server: definitions built by hand as
 * the engines read them.
 */
#include "unit.h"

#include <stdlib.h>

#include "plan.h"

static int listed(char *const *v, int n, const char *part)
{
	for (int i = 0; i < n; i++)
		if (strstr(v[i], part))
			return 1;
	return 0;
}

static int warned(const Plan *p, const char *part, bool high)
{
	for (int i = 0; i < p->nwarnings; i++)
		if (strstr(p->warnings[i], part) && p->warn_high[i] == high)
			return 1;
	return 0;
}

/* PostgreSQL: id integer (the key, t_pkey), v text NOT NULL, n integer,
 * d integer NOT NULL DEFAULT 7, g integer GENERATED ALWAYS AS (n * 2)
 * STORED; UNIQUE u_v (v); CHECK n_pos.  The after definition starts as a
 * copy; each case edits it. */
static void pg_table(Plan *p, bool revertible)
{
	plan_init(p);
	p->engine = "postgresql";
	p->have_def = true;
	p->revertible = revertible;
	snprintf(p->key, sizeof(p->key), "t_pkey (id integer)");
	PlanDef *d[2] = { &p->before, &p->after };
	for (int k = 0; k < 2; k++) {
		bool a = k == 1;
		plan_def_col(d[k], "id", a ? "id" : NULL, "integer", "", true, "", false, "", "");
		plan_def_col(d[k], "v", a ? "v" : NULL, "text", "", true, "", true, "", "");
		plan_def_col(d[k], "n", a ? "n" : NULL, "integer", "", false, "", false, "", "");
		plan_def_col(d[k], "d", a ? "d" : NULL, "integer", "7", true, "", false, "", "");
		plan_def_col(d[k], "g", a ? "g" : NULL, "integer", "", false, "GENERATED ALWAYS AS (n * 2) STORED", false, "",
		             "");
		plan_def_index(d[k], "t_pkey", "btree (id)", "id", true, true);
		plan_def_index(d[k], "u_v", "btree (v)", "v", true, false);
		plan_def_cons(d[k], "CONSTRAINT n_pos CHECK (n > 0)");
	}
}

static PlanCol *col(PlanDef *d, const char *name)
{
	for (int i = 0; i < d->ncols; i++)
		if (strcmp(d->cols[i].name, name) == 0)
			return &d->cols[i];
	return NULL;
}

static void drop_col(PlanDef *d, const char *name)
{
	PlanCol *c = col(d, name);
	if (c == NULL)
		return;
	free(c->name);
	free(c->from);
	free(c->type);
	free(c->dflt);
	free(c->extra);
	free(c->collation);
	free(c->comment);
	int i = (int)(c - d->cols);
	memmove(c, c + 1, (size_t)(d->ncols - i - 1) * sizeof(*c));
	d->ncols--;
}

static void set(char **field, const char *value)
{
	free(*field);
	*field = value ? strdup(value) : NULL;
}

static void test_fits(void)
{
	CHECK(plan_type_fits("integer", "integer"));
	CHECK(plan_type_fits("integer", "bigint"));
	CHECK(!plan_type_fits("bigint", "integer"));
	CHECK(plan_type_fits("smallint", "integer"));
	CHECK(plan_type_fits("int(11)", "bigint(20)"));
	CHECK(!plan_type_fits("bigint(20)", "int(11)"));
	CHECK(plan_type_fits("int(10) unsigned", "bigint(20)"));
	CHECK(!plan_type_fits("int(10) unsigned", "int(11)"));
	CHECK(!plan_type_fits("int(11)", "int(10) unsigned"));
	CHECK(plan_type_fits("tinyint(3) unsigned", "smallint(6)"));
	CHECK(plan_type_fits("character varying(10)", "character varying(20)"));
	CHECK(!plan_type_fits("character varying(20)", "character varying(10)"));
	CHECK(plan_type_fits("character varying(10)", "text"));
	CHECK(!plan_type_fits("text", "character varying(10)"));
	CHECK(plan_type_fits("varchar(10)", "varchar(255)"));
	CHECK(plan_type_fits("varchar(10)", "mediumtext"));
	CHECK(!plan_type_fits("mediumtext", "text"));
	CHECK(plan_type_fits("numeric(10,2)", "numeric(12,2)"));
	CHECK(!plan_type_fits("numeric(10,2)", "numeric(10,4)")); /* 8 digits before the point, room for 6 */
	CHECK(!plan_type_fits("numeric(10,4)", "numeric(10,2)")); /* rounded */
	CHECK(plan_type_fits("numeric(10,2)", "numeric"));
	CHECK(!plan_type_fits("numeric", "numeric(10,2)"));
	CHECK(plan_type_fits("decimal(10,2) unsigned", "decimal(11,2)"));
	CHECK(!plan_type_fits("decimal(10,2)", "decimal(10,2) unsigned"));
	/* what is not read here is not said to fit */
	CHECK(!plan_type_fits("integer[]", "bigint[]"));
	CHECK(!plan_type_fits("integer", "text"));
	CHECK(!plan_type_fits("timestamp(3) without time zone", "timestamp(6) without time zone"));
	CHECK(!plan_type_fits("int4range", "int8range"));
}

void test_plan_revert(void)
{
	Plan p;
	test_fits();

	/* nothing changes but an added column: exact but for it */
	pg_table(&p, false);
	plan_def_col(&p.after, "z", NULL, "text", "", false, "", true, "", "");
	plan_revert(&p);
	CHECK(p.revert.known && p.revert.possible);
	CHECK(p.revert.nloses == 1 && listed(p.revert.loses, p.revert.nloses, "column z (added): its values are left out"));
	CHECK(p.revert.nrefuses == 0);
	CHECK(p.nwarnings == 0);
	plan_free(&p);

	/* dropped columns: NULL, the default; a generated one is computed again */
	pg_table(&p, true);
	drop_col(&p.after, "n");
	drop_col(&p.after, "d");
	drop_col(&p.after, "g");
	free(p.after.cons[0]); /* the CHECK goes with n */
	p.after.ncons = 0;
	plan_revert(&p);
	CHECK(p.revert.possible);
	CHECK(listed(p.revert.loses, p.revert.nloses, "column n (dropped): rows inserted or updated after the swap get NULL"));
	CHECK(listed(p.revert.loses, p.revert.nloses, "column d (dropped): rows inserted or updated after the swap get its "
	                                              "default, 7"));
	/* the CHECK went with its column: a row written after the swap may break it */
	CHECK(listed(p.revert.refuses, p.revert.nrefuses, "CHECK constraint n_pos"));
	CHECK(p.nwarnings == 0);
	plan_free(&p);

	/* a dropped NOT NULL column without a default: no inverse; with
	 * --revertible the run refuses: a high warning, a high risk */
	pg_table(&p, true);
	drop_col(&p.after, "v");
	plan_revert(&p);
	CHECK(p.revert.known && !p.revert.possible);
	CHECK(listed(p.revert.why_not, p.revert.nwhy_not, "drops column v, NOT NULL without a default"));
	CHECK(warned(&p, "--revertible: a run refuses this ALTER, which has no inverse: the ALTER drops column v", true));
	plan_free(&p);
	pg_table(&p, true);
	drop_col(&p.after, "v");
	p.strategy.kind = STRAT_COPY;
	plan_classify(&p);
	CHECK_STR(p.risk, "high");
	CHECK(!p.revert.possible);
	plan_free(&p);
	/* the engine's own refusal already warned: not twice */
	pg_table(&p, true);
	drop_col(&p.after, "v");
	plan_warn(&p, true, "a run refuses this ALTER: --revertible: the ALTER drops column v, NOT NULL without a default");
	plan_revert(&p);
	CHECK(!p.revert.possible && p.nwarnings == 1);
	plan_free(&p);
	/* the same without --revertible: said, not a warning */
	pg_table(&p, false);
	drop_col(&p.after, "v");
	plan_revert(&p);
	CHECK(!p.revert.possible && p.nwarnings == 0);
	plan_free(&p);

	/* widened: the cast back refuses what integer cannot hold; narrowed
	 * or a longer varchar: exact */
	pg_table(&p, false);
	set(&col(&p.after, "n")->type, "bigint");
	set(&col(&p.after, "d")->type, "smallint");
	plan_revert(&p);
	CHECK(p.revert.possible);
	CHECK(p.revert.nrefuses == 1);
	CHECK(listed(p.revert.refuses, p.revert.nrefuses,
	             "column n (bigint back to integer): a value written after the swap that integer cannot hold makes "
	             "osc revert refuse, naming the key"));
	plan_free(&p);

	/* renamed: back under its old name, exactly; with a new type too */
	pg_table(&p, false);
	set(&col(&p.after, "n")->name, "m");
	set(&col(&p.after, "v")->name, "w");
	set(&col(&p.after, "w")->type, "character varying(10)");
	set(&p.after.idx[1].cols, "w");
	plan_revert(&p);
	CHECK(p.revert.possible && p.revert.nloses == 0 && p.revert.nrefuses == 0);
	set(&col(&p.after, "m")->type, "numeric");
	plan_revert(&p);
	CHECK(listed(p.revert.refuses, p.revert.nrefuses, "column n (renamed m, numeric back to integer)"));
	plan_free(&p);

	/* NOT NULL dropped: a NULL written after the swap refuses */
	pg_table(&p, false);
	col(&p.after, "d")->not_null = false;
	plan_revert(&p);
	CHECK(p.revert.possible);
	CHECK(listed(p.revert.refuses, p.revert.nrefuses, "column d (NULL allowed, back to NOT NULL): a NULL written after "
	                                                  "the swap makes osc revert refuse"));
	plan_free(&p);

	/* a UNIQUE the ALTER drops; one it keeps under another name is kept */
	pg_table(&p, false);
	set(&p.after.idx[1].name, "u_v2");
	plan_revert(&p);
	CHECK(p.revert.nrefuses == 0);
	p.after.idx[1].unique = false;
	plan_revert(&p);
	CHECK(p.revert.possible);
	CHECK(listed(p.revert.refuses, p.revert.nrefuses, "unique key u_v (v), which the new table does not have: rows "
	                                                  "written after the swap that collide under it make osc revert "
	                                                  "refuse"));
	plan_free(&p);

	/* the key: retyped, replaced, dropped: no inverse */
	pg_table(&p, false);
	set(&col(&p.after, "id")->type, "bigint");
	plan_revert(&p);
	CHECK(!p.revert.possible);
	CHECK(listed(p.revert.why_not, p.revert.nwhy_not, "key column id changes type (integer to bigint)"));
	CHECK(!listed(p.revert.refuses, p.revert.nrefuses, "column id"));
	plan_free(&p);
	pg_table(&p, false);
	set(&p.after.idx[0].cols, "id,n");
	plan_revert(&p);
	CHECK(!p.revert.possible);
	CHECK(listed(p.revert.why_not, p.revert.nwhy_not, "changes the table's key from (id) to (id,n)"));
	plan_free(&p);
	pg_table(&p, false);
	p.after.idx[0].primary = false; /* DROP CONSTRAINT t_pkey, ADD UNIQUE */
	p.after.idx[0].unique = false;
	plan_revert(&p);
	CHECK(!p.revert.possible);
	CHECK(listed(p.revert.why_not, p.revert.nwhy_not, "the new table has no key over (id)"));
	plan_free(&p);
	/* the key renamed with its column: the same key */
	pg_table(&p, false);
	set(&col(&p.after, "id")->name, "ident");
	set(&p.after.idx[0].cols, "ident");
	plan_revert(&p);
	CHECK(p.revert.possible && p.revert.nrefuses == 0 && p.revert.nloses == 0);
	plan_free(&p);

	/* PostgreSQL: a collation changes no value; MySQL: another character
	 * set may not hold a character; an AUTO_INCREMENT dropped gets new
	 * values; the key named PRIMARY */
	pg_table(&p, false);
	set(&col(&p.after, "v")->collation, "\"C\"");
	plan_revert(&p);
	CHECK(p.revert.nrefuses == 0);
	plan_free(&p);
	plan_init(&p);
	p.engine = "mariadb";
	p.have_def = true;
	snprintf(p.key, sizeof(p.key), "PRIMARY (id)");
	plan_def_col(&p.before, "id", NULL, "int(11)", "", true, "", false, "", "");
	plan_def_col(&p.before, "seq", NULL, "int(11)", "", true, "auto_increment", false, "", "");
	plan_def_col(&p.before, "v", NULL, "varchar(40)", "", false, "", true, "latin1_swedish_ci", "");
	plan_def_col(&p.before, "w", NULL, "varchar(40)", "", false, "", true, "", "");
	plan_def_col(&p.before, "x", NULL, "varchar(40)", "", false, "", true, "utf8mb4_general_ci", "");
	plan_def_col(&p.before, "y", NULL, "varchar(40)", "", false, "", true, "latin1_bin", "");
	plan_def_col(&p.before, "g", NULL, "int(11)", "", false, "AS (`seq` + 1) VIRTUAL", false, "", "");
	plan_def_index(&p.before, "PRIMARY", "BTREE (id)", "id", true, true);
	plan_def_index(&p.before, "seq", "BTREE (seq)", "seq", false, false);
	plan_def_col(&p.after, "id", "id", "bigint(20)", "", true, "", false, "", "");
	plan_def_col(&p.after, "v", "v", "varchar(40)", "", false, "", true, "", "");
	plan_def_col(&p.after, "w", "w", "varchar(40)", "", false, "", true, "utf8mb4_bin", "");
	plan_def_col(&p.after, "x", "x", "varchar(40)", "", false, "", true, "utf8mb4_bin", "");
	plan_def_col(&p.after, "y", "y", "varchar(40)", "", false, "", true, "utf8mb4_bin", "");
	/* MySQL's generated columns read as new (computed, not copied) */
	plan_def_col(&p.after, "g", NULL, "int(11)", "", false, "AS (`id` + 1) VIRTUAL", false, "", "");
	plan_def_col(&p.after, "h", NULL, "int(11)", "", false, "AS (`id` + 2) VIRTUAL", false, "", "");
	plan_def_index(&p.after, "PRIMARY", "BTREE (id)", "id", true, true);
	plan_revert(&p);
	CHECK(!p.revert.possible);
	CHECK(listed(p.revert.why_not, p.revert.nwhy_not, "key column id changes type (int(11) to bigint(20))"));
	CHECK(listed(p.revert.loses, p.revert.nloses, "column seq (dropped): rows inserted or updated after the swap get "
	                                              "a new value from its AUTO_INCREMENT"));
	CHECK(listed(p.revert.refuses, p.revert.nrefuses, "column v (collation the table's default back to "
	                                                  "latin1_swedish_ci): if the character sets differ"));
	CHECK(listed(p.revert.refuses, p.revert.nrefuses, "column w (collation utf8mb4_bin back to the table's default): "
	                                                  "if the character sets differ"));
	CHECK(!listed(p.revert.refuses, p.revert.nrefuses, "column x"));
	CHECK(listed(p.revert.refuses, p.revert.nrefuses, "column y (collation utf8mb4_bin back to latin1_bin): a "
	                                                  "character written after the swap that latin1 cannot hold"));
	/* the old table computes g again; h is the new table's */
	CHECK(!listed(p.revert.loses, p.revert.nloses, "column g"));
	CHECK(listed(p.revert.loses, p.revert.nloses, "column h (added): its values are left out"));
	plan_free(&p);

	/* no definition: nothing said but, with --revertible, that the run checks */
	plan_init(&p);
	p.engine = "mariadb";
	p.revertible = true;
	snprintf(p.def_note, sizeof(p.def_note), "the ALTER states its own ALGORITHM or LOCK");
	plan_revert(&p);
	CHECK(!p.revert.known);
	CHECK(warned(&p, "--revertible: without the new table's definition (the ALTER states its own ALGORITHM", false));
	plan_free(&p);
}
