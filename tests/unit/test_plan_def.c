/*
 * test_plan_def.c — osc plan's definition diff and what it calls a silent
 * drop (src/core/plan_def.c), without a server: definitions built by hand.
 */
#include "unit.h"

#include <stdlib.h>

#include "alter.h"
#include "plan.h"

static int has_warning(const Plan *p, const char *part, bool high)
{
	for (int i = 0; i < p->nwarnings; i++)
		if (strstr(p->warnings[i], part) && p->warn_high[i] == high)
			return 1;
	return 0;
}

/* before: id int NOT NULL auto_increment, v varchar(40) NOT NULL DEFAULT 'x'
 * COLLATE utf8mb4_bin COMMENT 'the v', n int; PRIMARY (id), idx_vn (v, n) */
static void mysql_table(Plan *p)
{
	plan_init(p);
	p->engine = "mariadb";
	p->have_def = true;
	plan_def_col(&p->before, "id", NULL, "int(11)", "", true, "auto_increment", false, "", "");
	plan_def_col(&p->before, "v", NULL, "varchar(40)", "'x'", true, "", true, "utf8mb4_bin", "the v");
	plan_def_col(&p->before, "n", NULL, "int(11)", "", false, "", false, "", "");
	plan_def_index(&p->before, "PRIMARY", "BTREE (id)", "id", true, true);
	plan_def_index(&p->before, "idx_vn", "BTREE (v, n)", "v,n", false, false);
}

static void check_modify(const char *spec, const char *part, bool high, bool want)
{
	Plan p;
	AlterSpec a;
	OscErr e;
	mysql_table(&p);
	plan_def_col(&p.after, "id", "id", "int(11)", "", true, "", false, "", "");
	plan_def_col(&p.after, "v", "v", "varchar(10)", "", false, "", true, "", "");
	plan_def_col(&p.after, "n", "n", "int(11)", "", false, "", false, "", "");
	plan_def_index(&p.after, "PRIMARY", "BTREE (id)", "id", true, true);
	plan_def_index(&p.after, "idx_vn", "BTREE (v, n)", "v,n", false, false);
	err_clear(&e);
	CHECK(alter_parse(spec, &a, &e));
	plan_def_check(&p, &a);
	if (has_warning(&p, part, high) != want)
		fprintf(stderr, "'%s': warning /%s/ %s\n", spec, part, want ? "missing" : "unexpected");
	CHECK(has_warning(&p, part, high) == want);
	alter_free(&a);
	plan_free(&p);
}

void test_plan_def(void)
{
	/* a MODIFY restates the column: what it leaves out is gone */
	check_modify("MODIFY v VARCHAR(10)", "drops NOT NULL from column v", false, true);
	check_modify("MODIFY v VARCHAR(10)", "drops column v's DEFAULT 'x'", false, true);
	check_modify("MODIFY v VARCHAR(10)", "drops column v's comment 'the v'", false, true);
	check_modify("MODIFY v VARCHAR(10)", "changes column v's collation from utf8mb4_bin to the default", false, true);
	check_modify("MODIFY COLUMN `v` VARCHAR(10)", "drops NOT NULL from column v", false, true);
	check_modify("CHANGE v v VARCHAR(10)", "drops column v's DEFAULT", false, true);
	/* said in so many words: meant */
	check_modify("MODIFY v VARCHAR(10) NULL", "drops NOT NULL", false, false);
	check_modify("MODIFY v VARCHAR(10) DEFAULT NULL COMMENT ''", "drops column v's DEFAULT", false, false);
	check_modify("MODIFY v VARCHAR(10) DEFAULT NULL COMMENT ''", "drops column v's comment", false, false);
	check_modify("MODIFY v VARCHAR(10) DEFAULT NULL COMMENT ''", "drops NOT NULL", false, false);
	check_modify("MODIFY v VARCHAR(10) COLLATE utf8mb4_general_ci", "collation", false, false);
	/* a word inside a string is not the attribute */
	check_modify("MODIFY v VARCHAR(10) COMMENT 'not null'", "drops NOT NULL from column v", false, true);
	/* AUTO_INCREMENT lost: inserts would fail */
	check_modify("MODIFY id INT", "drops column id's auto_increment", true, true);
	check_modify("MODIFY id INT AUTO_INCREMENT", "auto_increment", true, false);
	/* a column no subcommand restates is not judged */
	check_modify("ADD COLUMN z INT", "drops", false, false);

	/* DROP COLUMN: the index over it shrinks; a foreign key needs one */
	Plan p;
	AlterSpec a;
	OscErr e;
	mysql_table(&p);
	plan_def_col(&p.after, "id", "id", "int(11)", "", true, "auto_increment", false, "", "");
	plan_def_col(&p.after, "v", "v", "varchar(40)", "'x'", true, "", true, "utf8mb4_bin", "the v");
	plan_def_index(&p.after, "PRIMARY", "BTREE (id)", "id", true, true);
	plan_def_index(&p.after, "idx_vn", "BTREE (v)", "v", false, false);
	plan_fk(&p, "fk_n", "foreign key fk_n", "n", false);
	plan_fk(&p, "fk_child", "foreign key fk_child from db.child", "id", true);
	err_clear(&e);
	CHECK(alter_parse("DROP COLUMN n", &a, &e));
	plan_def_check(&p, &a);
	CHECK(has_warning(&p, "index idx_vn shrinks from (v,n) to (v)", false));
	CHECK(has_warning(&p, "foreign key fk_n goes with column n", true));
	CHECK(!has_warning(&p, "fk_child", true));
	/* the diff: unchanged lines, the removed one, the changed index */
	int n;
	char **d = plan_def_diff(&p, &n);
	CHECK(n == 6);
	if (n == 6) {
		CHECK_STR(d[0], "  id int(11) NOT NULL auto_increment");
		CHECK_STR(d[2], "- n int(11)");
		CHECK_STR(d[3], "  PRIMARY KEY BTREE (id)");
		CHECK_STR(d[4], "- INDEX idx_vn BTREE (v, n)");
		CHECK_STR(d[5], "+ INDEX idx_vn BTREE (v)");
	}
	for (int i = 0; i < n; i++)
		free(d[i]);
	free(d);
	alter_free(&a);
	plan_free(&p);

	/* a referenced unique key dropped: the swap cannot carry the child's key */
	mysql_table(&p);
	plan_def_col(&p.after, "id", "id", "int(11)", "", true, "auto_increment", false, "", "");
	plan_def_col(&p.after, "v", "v", "varchar(40)", "'x'", true, "", true, "utf8mb4_bin", "the v");
	plan_def_col(&p.after, "n", "n", "int(11)", "", false, "", false, "", "");
	plan_def_index(&p.before, "uq_v", "BTREE (v)", "v", true, false);
	plan_def_index(&p.after, "PRIMARY", "BTREE (id)", "id", true, true);
	plan_def_index(&p.after, "idx_vn", "BTREE (v, n)", "v,n", false, false);
	plan_fk(&p, "fk_v", "foreign key fk_v from db.child", "v", true);
	err_clear(&e);
	CHECK(alter_parse("DROP INDEX uq_v", &a, &e));
	plan_def_check(&p, &a);
	CHECK(has_warning(&p, "foreign key fk_v from db.child needs a unique key over (v)", true));
	CHECK(!has_warning(&p, "goes with", false));
	alter_free(&a);
	plan_free(&p);

	/* PostgreSQL: TYPE resets the collation to the new type's default */
	plan_init(&p);
	p.engine = "postgresql";
	p.have_def = true;
	plan_def_col(&p.before, "v", NULL, "character varying(40)", "", false, "", true, "\"C\"", "");
	plan_def_col(&p.after, "v", "v", "text", "", false, "", true, "", "");
	err_clear(&e);
	CHECK(alter_parse("ALTER COLUMN v TYPE text", &a, &e));
	plan_def_check(&p, &a);
	CHECK(has_warning(&p, "changes column v's collation from \"C\" to the default", false));
	alter_free(&a);
	plan_free(&p);
}
