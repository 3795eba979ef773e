/*
 * test_my_session.c — the sql_mode osc's MariaDB sessions run in, from the
 * server's (my_sql_mode_for_osc), and how each key type travels as text
 * (my_key_kind).
 */
#include "unit.h"

#include "my.h"

void test_my_session(void)
{
	char out[512];
	CHECK(my_sql_mode_for_osc("", out, sizeof(out)));
	CHECK_STR(out, "STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION");
	/* the server's own modes stay, once each; the lossy and parse-changing ones go */
	CHECK(my_sql_mode_for_osc("STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",
	                          out, sizeof(out)));
	CHECK_STR(out, "ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,STRICT_TRANS_TABLES,STRICT_ALL_TABLES,"
	               "NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION");
	CHECK(my_sql_mode_for_osc("ANSI_QUOTES,PAD_CHAR_TO_FULL_LENGTH,NO_ZERO_DATE,NO_ZERO_IN_DATE,EMPTY_STRING_IS_NULL,"
	                          "ONLY_FULL_GROUP_BY,ORACLE,PIPES_AS_CONCAT",
	                          out, sizeof(out)));
	CHECK_STR(out, "ANSI_QUOTES,PIPES_AS_CONCAT,STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,"
	               "NO_ENGINE_SUBSTITUTION");
	CHECK(!my_sql_mode_for_osc("ANSI_QUOTES", out, 20));
	/* a combination's name would bring its parts back */
	CHECK(my_sql_mode_for_osc("STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
	                          "ERROR_FOR_DIVISION_BY_ZERO,TRADITIONAL,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",
	                          out, sizeof(out)));
	CHECK_STR(out, "ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,STRICT_TRANS_TABLES,STRICT_ALL_TABLES,"
	               "NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION");

	CHECK(my_key_kind("int", "") == MY_KEY_TEXT);
	CHECK(my_key_kind("decimal", "") == MY_KEY_TEXT);
	CHECK(my_key_kind("timestamp", "") == MY_KEY_TEXT);
	CHECK(my_key_kind("float", "") == MY_KEY_DOUBLE);
	CHECK(my_key_kind("double", "") == MY_KEY_DOUBLE);
	CHECK(my_key_kind("bit", "") == MY_KEY_NUMBER);
	CHECK(my_key_kind("enum", "utf8mb4") == MY_KEY_NUMBER);
	CHECK(my_key_kind("varchar", "latin1") == MY_KEY_HEX);
	CHECK(my_key_kind("binary", "") == MY_KEY_BYTES);
	CHECK(my_key_kind("varbinary", "") == MY_KEY_BYTES);
	CHECK(my_key_charset_ok("utf8mb4"));
	CHECK(!my_key_charset_ok("utf8; DROP"));
	CHECK(!my_key_charset_ok(""));
}
