/*
 * proxy_int.h — the inside of `osc proxy`: one libevent loop, one Proxy,
 * one Session per client connection (each with its own upstream
 * connection: no pooling), a protocol module per database, the hold.
 *
 * Who does what (one file each):
 *   daemon.c    the command line, the loop, signals, shutdown
 *   session.c   accepting, connecting upstream, and the pump: moves whole
 *               messages from one side's input to the other side's output,
 *               asking the protocol module about each message's head; stops
 *               reading a side whose peer's output passed the high-water mark
 *               (libevent's le-proxy; pgbouncer's sbuf_pause/sbuf_continue)
 *   pg_proto.c  PostgreSQL framing, startup, SSLRequest/GSSENCRequest/
 *               CancelRequest, upstream TLS negotiation, the SASL list
 *   pg_track.c  PostgreSQL transaction state from the messages (pure)
 *   my_proto.c  MySQL framing, the handshake (TLS on either leg, sequence
 *               numbers kept right), the command phase
 *   my_track.c  MySQL command/response state and status flags (pure)
 *   tls.c       OpenSSL contexts and the TLS filter bufferevents
 *   hold.c      HOLD and RELEASE: drained, drain timeout, max hold, order
 *   admin.c     the admin Unix socket: creation, peer uid, commands
 *   status.c    what `osc proxy status` prints
 *   metrics.c   --metrics: the same numbers for Prometheus
 *   client.c    the admin socket's client side (osc, osc proxy status/hold)
 *   upstream.c  the --upstream URL
 */
#ifndef OSC_PROXY_INT_H
#define OSC_PROXY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "err.h"
#include "log.h"

/* A side's output past this stops reading the other side until it drains
 * to half; a side's input never grows past it either (a held client's
 * requests stay in the kernel: TCP backpressure). */
#define PX_HIGH_WATER (256 * 1024)
/* Messages the proxy must see whole before it forwards or rewrites them
 * (a startup packet, a MySQL handshake) are refused past this. */
#define PX_MAX_WHOLE 65536
#define PX_HOLD_HISTORY 16

/* ------------------------------------------------------------ upstream */

typedef enum PxEngine { PX_PG, PX_MY } PxEngine;

/* TLS to the server, as the --upstream URL asks (sslmode / ssl-mode). */
typedef enum PxTlsMode {
	PX_TLS_OFF,         /* disable / DISABLED (the default for mysql://) */
	PX_TLS_PREFER,      /* prefer (the default for postgres://) / PREFERRED */
	PX_TLS_REQUIRE,     /* encrypted, the certificate not checked */
	PX_TLS_VERIFY_CA,   /* signed by the CA */
	PX_TLS_VERIFY_FULL, /* and names the host (verify-full / VERIFY_IDENTITY) */
} PxTlsMode;

typedef struct PxUpstream {
	PxEngine engine;
	char host[256];           /* a name, an address, or (PostgreSQL) a socket directory */
	int port;
	PxTlsMode tls;
	char ca[512], cert[512], key[512]; /* "" when not given */
	struct sockaddr_storage addr;      /* resolved once, at start */
	socklen_t addrlen;
} PxUpstream;

/* Parses a postgres:// or mysql:// URL (user, password and database are
 * ignored: each client authenticates itself).  False with why filled. */
bool px_upstream_parse(const char *url, PxUpstream *u, char *why, size_t whysz) MUSTCHECK;
/* Resolves u->host (blocking; once, at start). */
bool px_upstream_resolve(PxUpstream *u, char *why, size_t whysz) MUSTCHECK;
const char *px_tls_mode_name(PxTlsMode m);

/* ------------------------------------------------------------ trackers */

/* PostgreSQL: what the server still owes and what it last said (pg_track.c). */
typedef struct PgTrack {
	bool ready;          /* the first ReadyForQuery came: authentication is over */
	char status;         /* the last ReadyForQuery: 'I' idle, 'T' in a transaction, 'E' failed one */
	int pending;         /* ReadyForQuery messages owed: one per Query, FunctionCall, Sync */
	bool in_cycle;       /* extended-protocol messages forwarded since the last Sync */
	bool copy_in;        /* the server reads COPY data: Sync and Flush are ignored by it */
	bool last_extended;  /* the last statement was started by Execute, not Query */
	int syncs_after_exec;/* Syncs forwarded since that Execute (a COPY swallows them) */
	uint32_t pid;        /* BackendKeyData */
} PgTrack;

void pgtrack_init(PgTrack *t);
/* The client message of this type begins a new request (where a hold may
 * keep it): not a continuation of COPY data or of an extended cycle. */
bool pgtrack_starts_request(const PgTrack *t, char type);
/* The client message of this type was forwarded. */
void pgtrack_client(PgTrack *t, char type);
/* A server message: body holds its first bodylen bytes (enough for 'Z'
 * and 'K'). */
void pgtrack_server(PgTrack *t, char type, const unsigned char *body, size_t bodylen);
/* Authenticated, nothing in flight, no transaction open. */
bool pgtrack_idle(const PgTrack *t);
const char *pgtrack_state(const PgTrack *t);

/* MySQL command phase (my_track.c). */
#define MY_QMAX 32

typedef enum MyResp {
	MYR_GENERIC,   /* OK, ERR, LOCAL INFILE, or result sets (text) */
	MYR_EXECUTE,   /* the same in the binary protocol (cached metadata, cursors) */
	MYR_PREPARE,   /* COM_STMT_PREPARE_OK and its definitions */
	MYR_FETCH,     /* rows until EOF */
	MYR_ONE,       /* one packet */
	MYR_FIELDS,    /* definitions until EOF */
	MYR_AUTH,      /* COM_CHANGE_USER: an authentication exchange */
	MYR_STREAM,    /* a binlog dump: never ends */
} MyResp;

typedef struct MyTrack {
	bool ready;          /* authenticated */
	uint32_t caps;       /* negotiated capability flags */
	uint32_t ext;        /* MariaDB's extended ones (bits 32..63) */
	uint16_t status;     /* of the last OK or EOF */
	bool cursor;         /* a statement cursor is open */
	uint8_t q[MY_QMAX];  /* responses owed, oldest first */
	int nq;
	int rs;              /* where in the oldest response */
	uint64_t left;       /* definitions still to come in this block */
	uint64_t prep_cols;  /* COM_STMT_PREPARE: column definitions after the parameters */
	bool infile;         /* LOCAL INFILE: the client's packets are data until an empty one */
	bool client_turn;    /* COM_CHANGE_USER: the server asked, the client's packet answers */
	bool overflow;       /* more than MY_QMAX pipelined: state unknown, never idle */
} MyTrack;

void mytrack_init(MyTrack *t);
/* The client's next packet is a command (not LOCAL INFILE data nor an
 * authentication answer). */
bool mytrack_starts_request(const MyTrack *t);
/* A command packet was forwarded: payload[0] is its byte. */
void mytrack_command(MyTrack *t, const unsigned char *payload, size_t len);
/* A client packet that continues the exchange (infile data, an answer). */
void mytrack_client_data(MyTrack *t, size_t len);
/* The first packet of a server message (p: its first plen bytes; len: its
 * payload length). */
void mytrack_server(MyTrack *t, const unsigned char *p, size_t plen, size_t len);
/* The OK that ends authentication (p: its first plen bytes). */
void mytrack_authenticated(MyTrack *t, const unsigned char *p, size_t plen);
bool mytrack_idle(const MyTrack *t);
const char *mytrack_state(const MyTrack *t);

#define MY_CLIENT_MYSQL 0x1u
#define MY_CLIENT_COMPRESS 0x20u
#define MY_CLIENT_PROTOCOL_41 0x200u
#define MY_CLIENT_SSL 0x800u
#define MY_CLIENT_ZSTD 0x4000000u
#define MY_CLIENT_DEPRECATE_EOF 0x1000000u
#define MY_EXT_PROGRESS 0x1u        /* MARIADB_CLIENT_PROGRESS >> 32 */
#define MY_EXT_CACHE_METADATA 0x10u /* MARIADB_CLIENT_CACHE_METADATA >> 32 */
#define MY_STATUS_IN_TRANS 0x1u
#define MY_STATUS_MORE_RESULTS 0x8u
#define MY_STATUS_CURSOR_EXISTS 0x40u
#define MY_STATUS_LAST_ROW_SENT 0x80u

/* ------------------------------------------------------------ sessions */

typedef struct Proxy Proxy;
typedef struct PxSession PxSession;

typedef struct PxSide {
	struct bufferevent *bev;  /* what the session reads and writes: a TLS filter over raw, or raw */
	struct bufferevent *raw;  /* the socket itself */
	SSL *ssl;                 /* set once TLS started on this side (owned by the filter) */
	size_t pass;              /* bytes of the current message still to move unexamined */
	uint64_t bytes;           /* moved from this side to the other */
	bool paused;              /* not read: the other side's output is over the high-water mark */
	bool draining;            /* its output is over the high-water mark: the write callback resumes the other side */
	struct evbuffer *stage;   /* forwarded to this side in the current pump, written at its end */
} PxSide;

/* What a protocol module says about the message at the head of a side's input. */
typedef enum PxStep {
	PX_MORE,   /* not enough bytes yet */
	PX_PASS,   /* forward the next *n bytes as they are */
	PX_DONE,   /* the module consumed (or rewrote) it itself: look again */
	PX_HOLD,   /* a request while the session is idle and a hold is on: keep it */
	PX_WAIT,   /* a request during a hold that must wait for earlier replies */
	PX_STOP,   /* nothing more for now (TLS being negotiated, upstream not ready) */
	PX_CLOSE,  /* the module gave up on the session (it said why) */
} PxStep;

typedef struct PxProto {
	const char *name;
	/* the upstream TCP connection is up */
	void (*upstream_connected)(PxSession *s);
	/* a TLS handshake finished on the client side / the server side */
	void (*client_tls_done)(PxSession *s);
	void (*upstream_tls_done)(PxSession *s);
	PxStep (*client_step)(PxSession *s, size_t *n);
	PxStep (*server_step)(PxSession *s, size_t *n);
	/* may be held now: authenticated (or not yet started), nothing in
	 * flight, no transaction open */
	bool (*idle)(const PxSession *s);
	const char *(*state)(const PxSession *s);
	/* sends the client an error in its protocol (before closing) */
	void (*refuse)(PxSession *s, const char *msg);
} PxProto;

extern const PxProto px_pg_proto;
extern const PxProto px_my_proto;

/* Why a session ended in an error (the metrics count each kind). */
typedef enum PxErrKind {
	PX_ERR_UPSTREAM,     /* the server could not be reached, or closed during the startup */
	PX_ERR_TLS,          /* a TLS handshake or session failed, on either leg */
	PX_ERR_PROTOCOL,     /* refused by the protocol checks, or a message osc could not follow */
	PX_ERR_MAX_CLIENTS,  /* --max-clients */
	PX_ERR_N
} PxErrKind;

struct PxSession {
	Proxy *px;
	uint64_t id;
	PxSide client, server;
	char peer[64];
	int64_t since_ms;
	bool up_connected;        /* TCP to the server is up */
	bool up_ready;            /* and TLS, when asked for, is established */
	bool dead;                /* closed: freed at the next turn of the loop */
	bool closing;             /* flushing one side's output before closing */
	bool held;                /* its next request waits for RELEASE */
	bool waiting;             /* a request waits for the replies to earlier ones */
	bool recheck;             /* the server changed the state: look at the client again */
	bool error_counted;       /* its error was counted by kind (px_session_refuse counts the rest) */
	uint64_t held_seq;        /* arrival order among held requests */
	int64_t busy_since_ms;    /* when it last left idle (0: idle) */
	uint32_t server_id;       /* PostgreSQL backend pid, MySQL connection id; 0 unknown */
	int ph;                   /* the protocol module's phase */
	PgTrack pg;
	MyTrack my;
	/* MySQL handshake */
	uint32_t my_server_caps, my_server_ext;
	int my_seq_delta;         /* client's sequence numbers minus the server's, until authenticated */
	bool my_client_cont, my_server_cont; /* inside a payload of 16 MB or more */
	uint8_t my_next_seq;      /* the sequence number the client expects next (for an ERR) */
	struct evbuffer *my_hello;/* the handshake response, until upstream TLS is up */
	struct event *linger;     /* checks the flush before a close */
	int64_t linger_until_ms;  /* and bounds it */
	PxSession *prev, *next;
};

/* ------------------------------------------------------------ hold */

typedef struct PxAdmin PxAdmin;

typedef struct PxHolder {
	Proxy *px;
	PxAdmin *admin;           /* who asked: its close releases */
	uint64_t id;
	int64_t since_ms;
	int64_t drained_ms;       /* when every session was first idle or held; -1: not yet */
	bool answered;            /* drained / not-drained was sent */
	struct event *drain_timer, *max_timer;
	struct PxHolder *next;
} PxHolder;

typedef struct PxHoldRecord {
	int64_t wall_ms;          /* start, wall clock */
	int64_t held_ms;          /* how long */
	int64_t drain_ms;         /* until drained; -1: never drained */
	int sessions;             /* sessions at the start */
	int requests;             /* sessions whose request waited */
	char ended[16];           /* release, max-hold, closed */
} PxHoldRecord;

struct PxAdmin {
	Proxy *px;
	struct bufferevent *bev;
	PxHolder *holder;
	bool done;                /* answered: closes once flushed */
	PxAdmin *prev, *next;
};

/* ------------------------------------------------------------ the proxy */

struct Proxy {
	struct event_base *base;
	struct evconnlistener *listener;
	struct evconnlistener *admin_listener;
	struct event *sig_int, *sig_term;
	Log log;
	const PxProto *proto;
	PxUpstream up;
	char listen_spec[300];
	char upstream_spec[300];  /* for status: the URL without credentials */
	char admin_path[108];
	SSL_CTX *tls_server;      /* the client leg (--tls-cert): NULL when not given */
	SSL_CTX *tls_client;      /* the server leg: NULL when the URL asks for none */
	int64_t drain_timeout_ms, max_hold_ms;
	int max_clients;
	int64_t started_ms;

	PxSession *sessions;
	int nsessions;
	uint64_t next_id, sessions_total, refused_total;
	uint64_t bytes_c2s, bytes_s2c;    /* of closed sessions; live ones add theirs */

	PxAdmin *admins;
	PxHolder *holders;
	uint64_t next_holder, held_seq;
	int64_t hold_since_ms;    /* the first holder's start (0: no hold) */
	int hold_sessions;        /* sessions when the hold began */
	int64_t hold_drained_ms;  /* -1 until drained */
	uint64_t holds_total;
	int64_t hold_longest_ms;
	int64_t hold_ms_total;    /* of the holds that ended */
	uint64_t held_requests_total; /* requests that waited in the holds that ended */
	uint64_t tls_client_total, tls_server_total; /* TLS handshakes completed, by leg */
	uint64_t errors[PX_ERR_N];
	struct evhttp *metrics;   /* --metrics: NULL when not asked */
	PxHoldRecord history[PX_HOLD_HISTORY];
	int nhistory;             /* records kept (ring) */
	uint64_t history_next;
};

/* daemon.c */
int64_t px_now_ms(void);

/* session.c */
void px_session_accept(Proxy *px, evutil_socket_t fd, struct sockaddr *sa, int socklen);
void px_session_pump_client(PxSession *s);
void px_session_pump_server(PxSession *s);
/* Writes bytes to one side (protocol answers, rewritten messages). */
void px_session_write_client(PxSession *s, const void *data, size_t len);
void px_session_write_server(PxSession *s, const void *data, size_t len);
/* The server leg is usable: the client's buffered bytes may go. */
void px_session_upstream_ready(PxSession *s);
/* Closes now (both sides; whatever a held client sent is dropped). */
void px_session_close(PxSession *s, const char *why);
/* Refuses: the protocol's error to the client, flushed, then closed. */
void px_session_refuse(PxSession *s, const char *why);
/* Starts TLS on a side (client: accepting; server: connecting).  When
 * OpenSSL cannot set it up the session is closed (s->dead, or closing). */
void px_session_start_tls(PxSession *s, bool client_side);
/* The session's busy/idle state may have changed. */
void px_session_changed(PxSession *s);
void px_session_free_all(Proxy *px);

/* tls.c */
bool px_tls_server_ctx(Proxy *px, const char *cert, const char *key, OscErr *e) MUSTCHECK;
bool px_tls_client_ctx(Proxy *px, OscErr *e) MUSTCHECK;
/* A new SSL for one session's leg (NULL: OpenSSL failed). */
SSL *px_tls_new(Proxy *px, bool client_side);
/* OpenSSL's last error on a bufferevent, as text. */
void px_tls_error(struct bufferevent *bev, char *out, size_t outsz);
void px_tls_free(Proxy *px);

/* hold.c */
bool px_hold_active(const Proxy *px);
/* A holder asks (the admin connection's "hold"): answered at once when
 * drained, else when drained or at the drain timeout. */
void px_hold_begin(Proxy *px, PxAdmin *a);
/* Ends a's hold (release, its connection closed, or max hold). */
void px_hold_end(PxHolder *h, const char *how);
/* A session became idle, was held, or closed: maybe every session is now. */
void px_hold_check(Proxy *px);
/* Counts sessions that are not idle (and not held) into busy. */
int px_hold_busy(Proxy *px);

/* Counts an error of kind for s (once per session). */
void px_session_error(PxSession *s, PxErrKind kind);

/* metrics.c: --metrics HOST:PORT on the proxy's loop (exit 2 for an
 * address that cannot be used) */
bool px_metrics_start(Proxy *px, const char *addr, OscErr *e) MUSTCHECK;
void px_metrics_stop(Proxy *px);

/* admin.c */
bool px_admin_listen(Proxy *px, const char *path, OscErr *e) MUSTCHECK;
/* Sends a line to an admin connection; close: close it once flushed. */
void px_admin_say(PxAdmin *a, bool close, const char *fmt, ...) PRINTFLIKE(3, 4);
void px_admin_free_all(Proxy *px);

/* client.c: `osc proxy status` and `osc proxy hold` (exit codes) */
int px_client_status(const char *path, bool json);
int px_client_hold(const char *path, int64_t for_ms);

/* status.c */
void px_status_text(Proxy *px, struct evbuffer *out);
void px_status_json(Proxy *px, struct evbuffer *out);
/* One line per busy session into out (the not-drained answer). */
void px_status_busy(Proxy *px, struct evbuffer *out, int max);

#endif
