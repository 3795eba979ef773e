/*
 * test_my_verify.c — how a column's type change is compared on MariaDB
 * (my_verify_cmp): cast where the cast prints what the new column prints,
 * left out where it might not (a false abort is worse than a column unchecked).
 */
#include "unit.h"

#include "my.h"

static MyCmp cmp(const char *odt, const char *oct, const char *ocs, const char *sdt, const char *sct,
                 const char *scs, int prec, int scale, int dtp, char *as, size_t assz)
{
	MyColType o = { odt, oct, ocs, -1, -1, -1 };
	MyColType s = { sdt, sct, scs, prec, scale, dtp };
	return my_verify_cmp(&o, &s, as, assz);
}

void test_my_verify(void)
{
	char as[64];
	CHECK(cmp("int", "int(11)", "", "int", "int(11)", "", 10, 0, -1, as, sizeof(as)) == MY_CMP_DIRECT);
	CHECK(cmp("int", "int(11)", "", "bigint", "bigint(20)", "", 19, 0, -1, as, sizeof(as)) == MY_CMP_CAST);
	CHECK_STR(as, "SIGNED");
	CHECK(cmp("int", "int(11)", "", "bigint", "bigint(20) unsigned", "", 20, 0, -1, as, sizeof(as)) == MY_CMP_CAST);
	CHECK_STR(as, "UNSIGNED");
	CHECK(cmp("int", "int(11)", "", "decimal", "decimal(12,2)", "", 12, 2, -1, as, sizeof(as)) == MY_CMP_CAST);
	CHECK_STR(as, "DECIMAL(12,2)");
	CHECK(cmp("float", "float", "", "double", "double", "", 22, -1, -1, as, sizeof(as)) == MY_CMP_CAST);
	CHECK_STR(as, "DOUBLE");
	CHECK(cmp("datetime", "datetime", "", "datetime", "datetime(3)", "", -1, -1, 3, as, sizeof(as)) == MY_CMP_CAST);
	CHECK_STR(as, "DATETIME(3)");
	CHECK(cmp("date", "date", "", "datetime", "datetime", "", -1, -1, 0, as, sizeof(as)) == MY_CMP_CAST);
	CHECK_STR(as, "DATETIME(0)");
	CHECK(cmp("time", "time", "", "time", "time(6)", "", -1, -1, 6, as, sizeof(as)) == MY_CMP_CAST);
	CHECK_STR(as, "TIME(6)");
	/* strings: a longer VARCHAR or TEXT reads the same; another character set is converted */
	CHECK(cmp("varchar", "varchar(64)", "utf8mb4", "text", "text", "utf8mb4", -1, -1, -1, as, sizeof(as)) ==
	      MY_CMP_DIRECT);
	CHECK(cmp("varchar", "varchar(64)", "latin1", "varchar", "varchar(64)", "utf8mb4", -1, -1, -1, as, sizeof(as)) ==
	      MY_CMP_CONVERT);
	CHECK_STR(as, "utf8mb4");
	CHECK(cmp("char", "char(10)", "utf8mb4", "varchar", "varchar(10)", "utf8mb4", -1, -1, -1, as, sizeof(as)) ==
	      MY_CMP_DIRECT);
	/* ENUM and SET members added at the end keep every value's text */
	CHECK(cmp("enum", "enum('a','b')", "utf8mb4", "enum", "enum('a','b','c')", "utf8mb4", -1, -1, -1, as,
	          sizeof(as)) == MY_CMP_DIRECT);
	CHECK(cmp("set", "set('x','y')", "latin1", "set", "set('x','y')", "utf8mb4", -1, -1, -1, as, sizeof(as)) ==
	      MY_CMP_CONVERT);
	/* left out: CHAR drops a VARCHAR's trailing spaces, BINARY pads, text to number, ENUM members */
	CHECK(cmp("varchar", "varchar(10)", "utf8mb4", "char", "char(10)", "utf8mb4", -1, -1, -1, as, sizeof(as)) ==
	      MY_CMP_SKIP);
	CHECK(cmp("varbinary", "varbinary(16)", "", "binary", "binary(16)", "", -1, -1, -1, as, sizeof(as)) ==
	      MY_CMP_SKIP);
	CHECK(cmp("binary", "binary(16)", "", "varbinary", "varbinary(32)", "", -1, -1, -1, as, sizeof(as)) ==
	      MY_CMP_DIRECT);
	CHECK(cmp("varchar", "varchar(10)", "utf8mb4", "int", "int(11)", "", 10, 0, -1, as, sizeof(as)) == MY_CMP_SKIP);
	CHECK(cmp("enum", "enum('a','b')", "utf8mb4", "enum", "enum('a','c')", "utf8mb4", -1, -1, -1, as,
	          sizeof(as)) == MY_CMP_SKIP);
	CHECK(cmp("enum", "enum('a','b')", "utf8mb4", "enum", "enum('c','a','b')", "utf8mb4", -1, -1, -1, as,
	          sizeof(as)) == MY_CMP_SKIP);
	CHECK(cmp("varchar", "varchar(10)", "utf8mb4", "enum", "enum('a','b')", "utf8mb4", -1, -1, -1, as,
	          sizeof(as)) == MY_CMP_SKIP);
	CHECK(cmp("datetime", "datetime", "", "timestamp", "timestamp", "", -1, -1, 0, as, sizeof(as)) == MY_CMP_SKIP);
	/* a character set name that is not a plain name is never put into SQL */
	CHECK(cmp("varchar", "varchar(10)", "latin1", "varchar", "varchar(10)", "x y", -1, -1, -1, as, sizeof(as)) ==
	      MY_CMP_SKIP);
}
