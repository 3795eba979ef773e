/*
 * test_proxy.c — the proxy's protocol trackers (proxy/pg_track.c,
 * proxy/my_track.c) and its --upstream URL (proxy/upstream.c): message
 * sequences as clients and servers send them, and where a session may be
 * held.
 */
#include <string.h>

#include "proxy_int.h"
#include "unit.h"

static void pg_z(PgTrack *t, char status)
{
	unsigned char b = (unsigned char)status;
	pgtrack_server(t, 'Z', &b, 1);
}

void test_proxy_pg(void)
{
	PgTrack t;
	pgtrack_init(&t);
	/* authentication: nothing is a request until the first ReadyForQuery */
	CHECK(!pgtrack_starts_request(&t, 'p'));
	CHECK(!pgtrack_starts_request(&t, 'Q'));
	CHECK(!pgtrack_idle(&t));
	unsigned char key[8] = { 0, 0, 0x30, 0x39, 1, 2, 3, 4 };
	pgtrack_server(&t, 'K', key, 8);
	CHECK(t.pid == 12345);
	pg_z(&t, 'I');
	CHECK(pgtrack_idle(&t));
	CHECK(t.pending == 0);

	/* simple query: busy until its ReadyForQuery */
	CHECK(pgtrack_starts_request(&t, 'Q'));
	pgtrack_client(&t, 'Q');
	CHECK(!pgtrack_idle(&t));
	pg_z(&t, 'T'); /* BEGIN */
	CHECK(!pgtrack_idle(&t));
	CHECK(pgtrack_starts_request(&t, 'Q')); /* the next one starts a request, in the transaction */
	pgtrack_client(&t, 'Q');
	pg_z(&t, 'E'); /* failed */
	CHECK(!pgtrack_idle(&t));
	pgtrack_client(&t, 'Q');
	pg_z(&t, 'I'); /* ROLLBACK */
	CHECK(pgtrack_idle(&t));

	/* extended: Parse..Sync is one cycle; nothing inside it starts a request */
	CHECK(pgtrack_starts_request(&t, 'P'));
	pgtrack_client(&t, 'P');
	CHECK(!pgtrack_starts_request(&t, 'B'));
	pgtrack_client(&t, 'B');
	pgtrack_client(&t, 'D');
	pgtrack_client(&t, 'E');
	CHECK(!pgtrack_idle(&t));
	pgtrack_client(&t, 'S');
	CHECK(t.pending == 1 && !t.in_cycle);
	pg_z(&t, 'I');
	CHECK(pgtrack_idle(&t));

	/* pipelined Syncs: idle only after the last ReadyForQuery */
	for (int i = 0; i < 3; i++) {
		pgtrack_client(&t, 'B');
		pgtrack_client(&t, 'E');
		pgtrack_client(&t, 'S');
	}
	CHECK(t.pending == 3);
	pg_z(&t, 'I');
	pg_z(&t, 'I');
	CHECK(!pgtrack_idle(&t));
	pg_z(&t, 'I');
	CHECK(pgtrack_idle(&t));

	/* an error inside a cycle: the server skips to the Sync, one ReadyForQuery */
	pgtrack_client(&t, 'P');
	pgtrack_client(&t, 'B');
	pgtrack_server(&t, 'E', NULL, 0);
	pgtrack_client(&t, 'E');
	pgtrack_client(&t, 'S');
	pg_z(&t, 'I');
	CHECK(pgtrack_idle(&t));

	/* COPY FROM STDIN by simple query: data and CopyDone are not requests */
	pgtrack_client(&t, 'Q');
	pgtrack_server(&t, 'G', NULL, 0);
	CHECK(!pgtrack_starts_request(&t, 'd'));
	CHECK(!pgtrack_starts_request(&t, 'Q'));
	pgtrack_client(&t, 'd');
	pgtrack_client(&t, 'c');
	CHECK(!pgtrack_idle(&t));
	pgtrack_server(&t, 'C', NULL, 0);
	pg_z(&t, 'I');
	CHECK(pgtrack_idle(&t));

	/* COPY by the extended protocol (libpq): the Sync sent with the Execute
	 * is swallowed by COPY mode, the one after CopyDone ends the cycle */
	pgtrack_client(&t, 'P');
	pgtrack_client(&t, 'B');
	pgtrack_client(&t, 'D');
	pgtrack_client(&t, 'E');
	pgtrack_client(&t, 'S');
	CHECK(t.pending == 1);
	pgtrack_server(&t, 'G', NULL, 0);
	CHECK(t.pending == 0 && t.in_cycle && t.copy_in);
	CHECK(!pgtrack_idle(&t));
	pgtrack_client(&t, 'd');
	pgtrack_client(&t, 'S'); /* ignored by the server in COPY mode */
	CHECK(t.pending == 0);
	pgtrack_client(&t, 'c');
	CHECK(!pgtrack_idle(&t)); /* the COPY's transaction commits at the Sync */
	CHECK(!pgtrack_starts_request(&t, 'S'));
	pgtrack_client(&t, 'S');
	CHECK(t.pending == 1);
	pgtrack_server(&t, 'C', NULL, 0);
	pg_z(&t, 'I');
	CHECK(pgtrack_idle(&t));

	/* a COPY that fails (extended): the error ends COPY mode, the Sync still counts */
	pgtrack_client(&t, 'B');
	pgtrack_client(&t, 'E');
	pgtrack_client(&t, 'S');
	pgtrack_server(&t, 'G', NULL, 0);
	pgtrack_client(&t, 'd');
	pgtrack_server(&t, 'E', NULL, 0);
	CHECK(!t.copy_in);
	pgtrack_client(&t, 'c');
	pgtrack_client(&t, 'S');
	CHECK(!pgtrack_idle(&t));
	pg_z(&t, 'I');
	CHECK(pgtrack_idle(&t));
	CHECK_STR(pgtrack_state(&t), "idle");
}

/* A MySQL packet payload from bytes. */
static void my_srv(MyTrack *t, const unsigned char *p, size_t len)
{
	mytrack_server(t, p, len, len);
}

static const unsigned char OK_AUTOCOMMIT[] = { 0x00, 0, 0, 0x02, 0, 0, 0 };
static const unsigned char OK_IN_TRANS[] = { 0x00, 0, 0, 0x03, 0, 0, 0 };
static const unsigned char OK_MORE[] = { 0x00, 1, 0, 0x0A, 0, 0, 0 };
static const unsigned char EOF_IDLE[] = { 0xFE, 0, 0, 0x02, 0 };
static const unsigned char EOF_MORE[] = { 0xFE, 0, 0, 0x0A, 0 };
static const unsigned char EOF_TRANS[] = { 0xFE, 0, 0, 0x03, 0 };
static const unsigned char ERR[] = { 0xFF, 0x7A, 0x04, '#', '4', '2', 'S', '0', '2', 'x' };

void test_proxy_my(void)
{
	MyTrack t;
	const unsigned char query[] = { 0x03, 'S' };
	const unsigned char prepare[] = { 0x16, 'S' };
	const unsigned char execute[] = { 0x17, 1, 0, 0, 0 };
	const unsigned char close_stmt[] = { 0x19, 1, 0, 0, 0 };
	const unsigned char coldef[] = { 0x03, 'd', 'e', 'f' };
	const unsigned char row[] = { 0x01, '1' };

	mytrack_init(&t);
	CHECK(!mytrack_starts_request(&t));
	mytrack_authenticated(&t, OK_AUTOCOMMIT, sizeof(OK_AUTOCOMMIT));
	CHECK(mytrack_idle(&t));

	/* an autocommit INSERT: busy until its OK */
	mytrack_command(&t, query, sizeof(query));
	CHECK(!mytrack_idle(&t));
	my_srv(&t, OK_AUTOCOMMIT, sizeof(OK_AUTOCOMMIT));
	CHECK(mytrack_idle(&t));

	/* START TRANSACTION ... COMMIT: SERVER_STATUS_IN_TRANS between */
	mytrack_command(&t, query, sizeof(query));
	my_srv(&t, OK_IN_TRANS, sizeof(OK_IN_TRANS));
	CHECK(!mytrack_idle(&t));
	CHECK(mytrack_starts_request(&t));
	mytrack_command(&t, query, sizeof(query));
	my_srv(&t, OK_AUTOCOMMIT, sizeof(OK_AUTOCOMMIT));
	CHECK(mytrack_idle(&t));

	/* a result set (EOF after the definitions, then rows, then EOF) */
	unsigned char two = 2;
	mytrack_command(&t, query, sizeof(query));
	my_srv(&t, &two, 1);
	my_srv(&t, coldef, sizeof(coldef));
	my_srv(&t, coldef, sizeof(coldef));
	CHECK(!mytrack_idle(&t));
	my_srv(&t, EOF_IDLE, sizeof(EOF_IDLE));
	my_srv(&t, row, sizeof(row));
	my_srv(&t, row, sizeof(row));
	CHECK(!mytrack_idle(&t));
	my_srv(&t, EOF_TRANS, sizeof(EOF_TRANS)); /* autocommit off: a SELECT opens a transaction */
	CHECK(t.nq == 0);
	CHECK(!mytrack_idle(&t));
	mytrack_command(&t, query, sizeof(query));
	my_srv(&t, OK_AUTOCOMMIT, sizeof(OK_AUTOCOMMIT));
	CHECK(mytrack_idle(&t));

	/* a multi-statement query: OK with MORE_RESULTS, a result set whose EOF
	 * has MORE_RESULTS, then the last OK */
	unsigned char one = 1;
	mytrack_command(&t, query, sizeof(query));
	my_srv(&t, OK_MORE, sizeof(OK_MORE));
	CHECK(!mytrack_idle(&t));
	my_srv(&t, &one, 1);
	my_srv(&t, coldef, sizeof(coldef));
	my_srv(&t, EOF_IDLE, sizeof(EOF_IDLE));
	my_srv(&t, row, sizeof(row));
	my_srv(&t, EOF_MORE, sizeof(EOF_MORE));
	CHECK(!mytrack_idle(&t));
	my_srv(&t, OK_AUTOCOMMIT, sizeof(OK_AUTOCOMMIT));
	CHECK(mytrack_idle(&t));

	/* an error ends a multi-result response */
	mytrack_command(&t, query, sizeof(query));
	my_srv(&t, OK_MORE, sizeof(OK_MORE));
	my_srv(&t, ERR, sizeof(ERR));
	CHECK(mytrack_idle(&t));

	/* MariaDB progress reports are not the end */
	const unsigned char progress[] = { 0xFF, 0xFF, 0xFF, 1, 1, 0 };
	mytrack_command(&t, query, sizeof(query));
	my_srv(&t, progress, sizeof(progress));
	CHECK(!mytrack_idle(&t));
	my_srv(&t, OK_AUTOCOMMIT, sizeof(OK_AUTOCOMMIT));
	CHECK(mytrack_idle(&t));

	/* COM_STMT_PREPARE: OK, 2 params + EOF, 1 column + EOF */
	const unsigned char prep_ok[] = { 0x00, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0 };
	mytrack_command(&t, prepare, sizeof(prepare));
	my_srv(&t, prep_ok, sizeof(prep_ok));
	my_srv(&t, coldef, sizeof(coldef));
	my_srv(&t, coldef, sizeof(coldef));
	my_srv(&t, EOF_IDLE, sizeof(EOF_IDLE));
	CHECK(!mytrack_idle(&t));
	my_srv(&t, coldef, sizeof(coldef));
	my_srv(&t, EOF_IDLE, sizeof(EOF_IDLE));
	CHECK(mytrack_idle(&t));

	/* pipelined PREPARE + EXECUTE(-1), then COM_STMT_CLOSE (no answer) */
	mytrack_command(&t, prepare, sizeof(prepare));
	mytrack_command(&t, execute, sizeof(execute));
	CHECK(t.nq == 2);
	const unsigned char prep_ok0[] = { 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	my_srv(&t, prep_ok0, sizeof(prep_ok0));
	CHECK(t.nq == 1 && !mytrack_idle(&t));
	my_srv(&t, OK_AUTOCOMMIT, sizeof(OK_AUTOCOMMIT));
	CHECK(mytrack_idle(&t));
	mytrack_command(&t, close_stmt, sizeof(close_stmt));
	CHECK(mytrack_idle(&t));

	/* an execute whose metadata the client cached (MariaDB 10.6+) */
	t.ext = MY_EXT_CACHE_METADATA;
	const unsigned char count_nometa[] = { 0x01, 0x00 };
	const unsigned char binrow[] = { 0x00, 0x00, 0x01 };
	mytrack_command(&t, execute, sizeof(execute));
	my_srv(&t, count_nometa, sizeof(count_nometa));
	my_srv(&t, EOF_IDLE, sizeof(EOF_IDLE));
	my_srv(&t, binrow, sizeof(binrow));
	CHECK(!mytrack_idle(&t));
	my_srv(&t, EOF_IDLE, sizeof(EOF_IDLE));
	CHECK(mytrack_idle(&t));
	t.ext = 0;

	/* LOCAL INFILE: the client's packets are data until an empty one */
	const unsigned char infile[] = { 0xFB, 'f' };
	mytrack_command(&t, query, sizeof(query));
	my_srv(&t, infile, sizeof(infile));
	CHECK(!mytrack_starts_request(&t));
	mytrack_client_data(&t, 100);
	CHECK(!mytrack_starts_request(&t));
	mytrack_client_data(&t, 0);
	CHECK(mytrack_starts_request(&t));
	CHECK(!mytrack_idle(&t));
	my_srv(&t, OK_AUTOCOMMIT, sizeof(OK_AUTOCOMMIT));
	CHECK(mytrack_idle(&t));

	/* CLIENT_DEPRECATE_EOF: no EOF after the definitions, an OK (0xFE) ends */
	t.caps |= MY_CLIENT_DEPRECATE_EOF;
	const unsigned char ok_fe[] = { 0xFE, 0, 0, 0x02, 0, 0, 0 };
	mytrack_command(&t, query, sizeof(query));
	my_srv(&t, &one, 1);
	my_srv(&t, coldef, sizeof(coldef));
	my_srv(&t, row, sizeof(row));
	CHECK(!mytrack_idle(&t));
	my_srv(&t, ok_fe, sizeof(ok_fe));
	CHECK(mytrack_idle(&t));
	t.caps &= ~MY_CLIENT_DEPRECATE_EOF;

	/* COM_CHANGE_USER: an auth switch makes the client's next packet an answer */
	const unsigned char change[] = { 0x11, 'u' };
	const unsigned char sw[] = { 0xFE, 'm', 'y', 's', 'q', 'l' };
	mytrack_command(&t, change, sizeof(change));
	my_srv(&t, sw, sizeof(sw));
	CHECK(!mytrack_starts_request(&t));
	mytrack_client_data(&t, 20);
	CHECK(!mytrack_idle(&t));
	my_srv(&t, OK_AUTOCOMMIT, sizeof(OK_AUTOCOMMIT));
	CHECK(mytrack_idle(&t));
	CHECK_STR(mytrack_state(&t), "idle");
}

void test_proxy_url(void)
{
	PxUpstream u;
	char why[300];
	CHECK(!px_upstream_parse("postgres://app:secret@db1:5433/app", &u, why, sizeof(why))); /* argv is public */
	CHECK(strstr(why, "password") != NULL && strstr(why, "secret") == NULL);
	CHECK(!px_upstream_parse("postgres://db1/app?password=secret", &u, why, sizeof(why)));
	CHECK(!px_upstream_parse("mysql://root:secret@db1/app", &u, why, sizeof(why)));
	CHECK(px_upstream_parse("postgres://app@db1:5433/app", &u, why, sizeof(why)));
	CHECK(u.engine == PX_PG && u.port == 5433 && u.tls == PX_TLS_PREFER);
	CHECK_STR(u.host, "db1");
	CHECK(px_upstream_parse("postgresql://127.0.0.1?sslmode=verify-full&sslrootcert=/x/ca.pem", &u, why, sizeof(why)));
	CHECK(u.tls == PX_TLS_VERIFY_FULL && u.port == 5432);
	CHECK_STR(u.ca, "/x/ca.pem");
	CHECK(!px_upstream_parse("postgres://h?sslmode=verify-ca", &u, why, sizeof(why))); /* no CA */
	CHECK(strstr(why, "sslrootcert") != NULL);
	CHECK(!px_upstream_parse("postgres://h?sslmode=sometimes", &u, why, sizeof(why)));
	CHECK(px_upstream_parse("postgres:///db?host=%2Fvar%2Frun%2Fpostgresql", &u, why, sizeof(why)));
	CHECK_STR(u.host, "/var/run/postgresql");
	CHECK(u.tls == PX_TLS_OFF);
	CHECK(px_upstream_parse("mysql://root@127.0.0.1:3307/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=/c.pem", &u, why,
	                        sizeof(why)));
	CHECK(u.engine == PX_MY && u.port == 3307 && u.tls == PX_TLS_VERIFY_FULL);
	CHECK(px_upstream_parse("mariadb://[::1]", &u, why, sizeof(why)));
	CHECK(u.port == 3306 && u.tls == PX_TLS_OFF);
	CHECK_STR(u.host, "::1");
	CHECK(!px_upstream_parse("redis://h", &u, why, sizeof(why)));
	CHECK(!px_upstream_parse("not a url", &u, why, sizeof(why)));
}
