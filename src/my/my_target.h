/*
 * my_target.h — may osc run against this MySQL/MariaDB server, as this
 * user, watching these replicas, with this --alter?  Checked in preflight,
 * before anything exists (src/my/my_target.c, src/my/my_privs.c).
 */
#ifndef OSC_MY_TARGET_H
#define OSC_MY_TARGET_H

#include "my.h"

/* Refuses (exit 2): an --alter the server would read differently from osc
 * (executable comments, hints ...), a replica (unless --allow-on-replica),
 * a replica to watch that cannot be reached or does not replicate, and a
 * user that lacks a privilege the run needs (the message holds the GRANT
 * statements).  After my_find_table. */
bool my_target_check(My *my, OscErr *e) MUSTCHECK;
/* Only the replica refusal of my_target_check (--allow-on-replica
 * applies): `osc cleanup` writes too. */
bool my_target_primary(My *my, OscErr *e) MUSTCHECK;

/* What a server says of itself. */
typedef struct MyServer {
	bool mariadb;
	int version;               /* 100611 for 10.6.11, 80034 for 8.0.34 */
	char server_id[24];
	bool read_only, super_read_only, log_bin, trust_creators;
	char user[200], host[256]; /* CURRENT_USER(), split at the last '@' */
	/* replication on this server (SHOW ALL SLAVES STATUS) */
	bool replication_known;    /* false: the user may not read it (see denied) */
	bool replica_configured, replica_running;
	char primary[300];         /* host:port of its primary, "" unknown */
	char primary_server_id[24];
	char denied[64];           /* the privilege SHOW SLAVE STATUS asked for, "" */
} MyServer;

/* Reads the variables, the user and the replication status of conn's server. */
bool my_server_read(MySession *conn, MyServer *s, OscErr *e) MUSTCHECK;

/* The missing privileges, as statements for the operator to run. */
typedef struct MyGrants {
	Sql text;  /* "\n  GRANT ...;  -- why" per statement */
	int n;
} MyGrants;

void my_grants_init(MyGrants *g, My *my);
/* Adds "GRANT privs ON on TO 'user'@'host'" unless the same one is there. */
void my_grants_add(MyGrants *g, const MyServer *to, const char *privs, const char *on, const char *why);
void my_grants_free(MyGrants *g);

/* From an "Access denied; you need (at least one of) the A, B privilege(s)"
 * message: the most specific privilege named (the last), or false. */
bool my_privs_denied(const char *msg, char *out, size_t outsz);

/* src/my/my_privs.c: what the run needs on the primary, into g. */
bool my_privs_check(My *my, const MyServer *self, MyGrants *g, OscErr *e) MUSTCHECK;
/* Which of privs[n] conn's user holds on database db (NULL: globally),
 * into have[n], from SHOW GRANTS: the user's own and, unless direct, its
 * enabled roles'. */
bool my_privs_has(MySession *conn, const char *db, const char *const *privs, int n, bool direct, bool *have,
                  OscErr *e) MUSTCHECK;

#endif
