/*
 * test_secrets.c — finding, masking and scrubbing the passwords in
 * connection strings (src/lib/url.h, src/lib/secrets.h), checking URLs and naming a
 * migration's target without them (src/lib/dburl.h).
 */
#include <stdlib.h>

#include "dburl.h"
#include "secrets.h"
#include "unit.h"
#include "url.h"

/* masked(s) == want, and scrubbing keeps the length and hides the password */
static void check_mask(const char *s, const char *want, const char *password)
{
	char *m = url_masked(s);
	CHECK_STR(m, want);
	free(m);
	char *copy = strdup(s);
	url_scrub(copy);
	CHECK(strlen(copy) == strlen(s));
	if (password && *password)
		CHECK(strstr(copy, password) == NULL);
	free(copy);
}

static void test_spans(void)
{
	check_mask("postgres://app:s3cret@db1:5432/app", "postgres://app:***@db1:5432/app", "s3cret");
	check_mask("mysql://root@127.0.0.1:3306/x", "mysql://root@127.0.0.1:3306/x", NULL);
	check_mask("mysql://u:pw@host:notaport/db", "mysql://u:***@host:notaport/db", "pw");
	/* a password with '@', '/', '?' and ':' unencoded: the last '@' ends it */
	check_mask("mysql://u:a@b/c?d:e@host/db?ssl-mode=REQUIRED", "mysql://u:***@host/db?ssl-mode=REQUIRED", "a@b/c?d:e");
	check_mask("postgres://u:p%40ss@h/db?password=other&sslmode=require&sslpassword=k3y",
	           "postgres://u:***@h/db?password=***&sslmode=require&sslpassword=***", "other");
	check_mask("postgres://h/db?password=onlyhere", "postgres://h/db?password=***", "onlyhere");
	check_mask("postgres://u:@h/db", "postgres://u:@h/db", NULL);
	check_mask("postgres://u:pw@[::1/db", "postgres://u:***@[::1/db", "pw");
	/* libpq key=value strings: bare, quoted, escaped, spaced around '=' */
	check_mask("host=h password=s3cret dbname=d", "host=h password=*** dbname=d", "s3cret");
	check_mask("host=h password = 'se cr\\'et' user=u", "host=h password = '***' user=u", "cr\\'et");
	check_mask("password='unterminated", "password='***", "unterminated");
	check_mask("host=h sslpassword=abc\\ def port=1", "host=h sslpassword=*** port=1", "def");
	check_mask("dbname=app", "dbname=app", NULL);
	check_mask("", "", NULL);

	UrlSpan sp[URL_MAX_SPANS];
	char v[64];
	const char *s = "postgres://u:p%40ss%2Fw@h/db";
	CHECK(url_secret_spans(s, sp, URL_MAX_SPANS) == 1);
	CHECK(url_span_value(s, &sp[0], v, sizeof(v)));
	CHECK_STR(v, "p@ss/w");
	s = "password='it\\'s'";
	CHECK(url_secret_spans(s, sp, URL_MAX_SPANS) == 1);
	CHECK(url_span_value(s, &sp[0], v, sizeof(v)));
	CHECK_STR(v, "it's");
	CHECK(url_secret_spans(NULL, sp, URL_MAX_SPANS) == 0);
}

static void test_mask_text(void)
{
	char t[256];
	snprintf(t, sizeof(t), "cannot read 'mysql://u:longpass@h:x/db' as ...");
	url_mask_text(t);
	CHECK_STR(t, "cannot read 'mysql://u:***@h:x/db' as ...");
	snprintf(t, sizeof(t), "a: \"postgres://u:pw@[::1/db\" and mysql://v:xyzw@h/d, mysql://nouser@h");
	url_mask_text(t);
	CHECK_STR(t, "a: \"postgres://u:**@[::1/db\" and mysql://v:***@h/d, mysql://nouser@h");
	snprintf(t, sizeof(t), "no url here: a:b@c");
	url_mask_text(t);
	CHECK_STR(t, "no url here: a:b@c");
	snprintf(t, sizeof(t), "replica host=h password=ab sslrootcert=/x: down; sslpassword = 'k e y', password");
	url_mask_text(t);
	CHECK_STR(t, "replica host=h password=** sslrootcert=/x: down; sslpassword = '***', password");
	snprintf(t, sizeof(t), "postgres://h/db?password=abcd&sslmode=require (password=***)");
	url_mask_text(t);
	CHECK_STR(t, "postgres://h/db?password=***&sslmode=require (password=***)");

	Secrets sec = { { NULL }, 0 };
	secrets_add_conn(&sec, "postgres://u:p%40ssword1@h/db");
	secrets_add(&sec, "abc");        /* too short: not searched in free text */
	secrets_add(&sec, NULL);
	CHECK(sec.n == 2);               /* as written and decoded */
	snprintf(t, sizeof(t), "token \"p%%40ssword1\", decoded p@ssword1p@ssword1, abc stays");
	secrets_mask(&sec, t);
	CHECK_STR(t, "token \"***\", decoded ******, abc stays");
	secrets_free(&sec);
	CHECK(sec.n == 0);
}

static void test_dburl(void)
{
	OscErr e;
	CHECK(dburl_check("--database", NULL, &e));
	CHECK(dburl_check("--database", "mysql://u:pw@h:1/db?ssl-mode=verify_identity&ssl-ca=%2Fca.pem", &e));
	CHECK(!dburl_check("--database", "mysql://u:pw@h:1/db?ssl_mode=REQUIRED", &e) && e.exit == OSC_EXIT_INPUT);
	CHECK(strstr(e.msg, "did you mean ssl-mode?") && strstr(e.msg, "u:***@h") && !strstr(e.msg, "pw@"));
	CHECK(!dburl_check("--database", "mysql://u:pw@h:1/db?ssl-mode=SOMETIMES", &e));
	CHECK(!dburl_check("--database", "mysql://u:s3cret@h:notaport/db", &e) && !strstr(e.msg, "s3cret"));
	CHECK(dburl_check("--database", "postgres://u:pw@h/db?sslmode=verify-full&sslrootcert=%2Fca.pem", &e));
	CHECK(dburl_check("--database", "host=h port=5 dbname=d", &e));
	CHECK(!dburl_check("--database", "postgres://u:pw@h/db?ssl_mode=require", &e));
	CHECK(strstr(e.msg, "sslmode") != NULL);
	CHECK(!dburl_check("--database", "postgres://u:s3cret@[::1/db", &e) && !strstr(e.msg, "s3cret"));
	CHECK(!dburl_check("--database", "postgres://u:s3%zzcret@h/db", &e) && !strstr(e.msg, "s3%zzcret"));
	CHECK(!dburl_check("--database", "host=h password='s3cret", &e) && !strstr(e.msg, "s3cret"));

	/* the target: no credentials, the client library's defaults filled in */
	TableName t = { "", "users", false, false };
	char a[512], b[512];
	dburl_target("postgres://app:pw@db1:5433/app", &t, a, sizeof(a));
	CHECK_STR(a, "postgresql\ndb1\n5433\napp\npublic\nusers");
	dburl_target("host=db1 port=5433 dbname=app user=other", &t, b, sizeof(b));
	CHECK_STR(a, b);
	snprintf(t.schema, sizeof(t.schema), "public");
	dburl_target("postgresql://db1:5433/app", &t, b, sizeof(b));
	CHECK_STR(a, b);
	dburl_target("mysql://u:pw@127.0.0.1/shop", &t, a, sizeof(a));
	CHECK_STR(a, "mysql\n127.0.0.1\n3306\npublic\n\nusers");
	t.schema[0] = '\0';
	dburl_target("mariadb://other@127.0.0.1:3306/shop", &t, b, sizeof(b));
	CHECK_STR(b, "mysql\n127.0.0.1\n3306\nshop\n\nusers");
}

void test_secrets(void)
{
	test_spans();
	test_mask_text();
	test_dburl();
}
