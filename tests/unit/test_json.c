/*
 * test_json.c — the JSON writer: commas in nested shapes, every string
 * escaped (quotes, backslashes, control characters, bytes that are not
 * UTF-8), numbers from a database's text written only when they are numbers.
 */
#include "unit.h"

#include <math.h>
#include <stdlib.h>

#include "json.h"

/* What json_write_string makes of s (malloc'd, the caller frees). */
static char *escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_write_string(f, s);
	fclose(f);
	return buf;
}

#define CHECK_ESC(in, want)                 \
	do {                                    \
		char *got_ = escaped(in);           \
		CHECK_STR(got_, want);              \
		free(got_);                         \
	} while (0)

static void test_escaping(void)
{
	CHECK_ESC("", "\"\"");
	CHECK_ESC("plain text", "\"plain text\"");
	CHECK_ESC("a\"b", "\"a\\\"b\"");
	CHECK_ESC("back\\slash", "\"back\\\\slash\"");
	CHECK_ESC("\"\\", "\"\\\"\\\\\"");
	CHECK_ESC("l1\nl2\r\tx\b\f", "\"l1\\nl2\\r\\tx\\b\\f\"");
	CHECK_ESC("\x01\x1f", "\"\\u0001\\u001f\"");
	CHECK_ESC("esc\x1b[0m", "\"esc\\u001b[0m\"");
	/* DEL is a valid JSON character */
	CHECK_ESC("\x7f", "\"\x7f\"");
	/* well-formed UTF-8 passes as it is: é, €, an emoji */
	CHECK_ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* not UTF-8: one U+FFFD per bad byte, the rest kept */
	CHECK_ESC("latin1 caf\xe9!", "\"latin1 caf\\ufffd!\"");
	CHECK_ESC("\xff\xfe", "\"\\ufffd\\ufffd\"");
	CHECK_ESC("\x80x", "\"\\ufffdx\"");            /* a stray continuation byte */
	CHECK_ESC("cut \xc3", "\"cut \\ufffd\"");      /* cut short by the end */
	CHECK_ESC("\xe2\x82", "\"\\ufffd\\ufffd\"");   /* cut short, three-byte form */
	CHECK_ESC("\xc0\xaf", "\"\\ufffd\\ufffd\"");   /* overlong '/' */
	CHECK_ESC("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* a surrogate */
	CHECK_ESC("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* past U+10FFFF */
	CHECK_ESC("\xc3\"", "\"\\ufffd\\\"\"");      /* a quote right after a bad byte */
}

/* A whole value written by fn into a string (malloc'd). */
static char *render(void (*fn)(Json *j))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	Json j;
	json_start(&j, f);
	fn(&j);
	fclose(f);
	return buf;
}

static void nested(Json *j)
{
	json_object(j);
	json_kv_int(j, "a", -1);
	json_key(j, "b");
	json_array(j);
	json_int(j, 1);
	json_uint(j, 18446744073709551615ull);
	json_object(j);
	json_kv_null(j, "c");
	json_object_end(j);
	json_array(j);
	json_array_end(j);
	json_object(j);
	json_object_end(j);
	json_array_end(j);
	json_kv_string(j, "d\"k", "x");
	json_kv_string(j, "e", NULL);
	json_kv_bool(j, "f", true);
	json_kv_bool(j, "g", false);
	json_object_end(j);
}

static void numbers(Json *j)
{
	json_array(j);
	json_double(j, 1234.5678, 0);
	json_double(j, 2.25, 1);
	json_double(j, 0.5, -1);
	json_double(j, NAN, 1);
	json_double(j, INFINITY, -1);
	json_number_text(j, "123");
	json_number_text(j, "-5");
	json_number_text(j, "0");
	json_number_text(j, "1.5e3");
	json_number_text(j, "2.0E-2");
	json_number_text(j, "");
	json_number_text(j, NULL);
	json_number_text(j, "12a");
	json_number_text(j, "01");
	json_number_text(j, "1.");
	json_number_text(j, ".5");
	json_number_text(j, "-");
	json_number_text(j, "1e");
	json_number_text(j, "NaN");
	json_number_text(j, "1,\"x\":2");
	json_array_end(j);
}

static void empty_object(Json *j)
{
	json_object(j);
	json_object_end(j);
}

void test_json(void)
{
	char *s;

	test_escaping();

	s = render(nested);
	CHECK_STR(s, "{\"a\":-1,\"b\":[1,18446744073709551615,{\"c\":null},[],{}],\"d\\\"k\":\"x\",\"e\":null,"
	             "\"f\":true,\"g\":false}");
	free(s);

	s = render(numbers);
	CHECK_STR(s, "[1235,2.2,0.5,null,null,123,-5,0,1.5e3,2.0E-2,null,null,null,null,null,null,null,null,null,null]");
	free(s);

	s = render(empty_object);
	CHECK_STR(s, "{}");
	free(s);
}
