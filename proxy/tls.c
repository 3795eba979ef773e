/*
 * tls.c — OpenSSL for the proxy's two legs.
 *
 * The client leg is terminated here when the client asks (PostgreSQL's
 * SSLRequest, MySQL's CLIENT_SSL) and --tls-cert/--tls-key were given: the
 * proxy must read the protocol to follow transactions, so it cannot pass
 * TLS through.  The server leg speaks TLS as the --upstream URL says, with
 * the certificate checked against its CA (verify-ca / VERIFY_CA) and the
 * host name or address too (verify-full / VERIFY_IDENTITY).  Both legs
 * refuse anything older than TLS 1.2 and renegotiation.  Each session's SSL
 * lives inside a libevent filter bufferevent over its socket
 * (session.c: px_session_start_tls), which frees it.
 */
#include "proxy_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

static void openssl_error(OscErr *e, const char *what, const char *file)
{
	char buf[256];
	unsigned long code = ERR_get_error();
	if (code)
		ERR_error_string_n(code, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "unknown error");
	err_set(e, OSC_EXIT_INPUT, "%s %s: %s", what, file, buf);
	ERR_clear_error();
}

bool px_tls_server_ctx(Proxy *px, const char *cert, const char *key, OscErr *e)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		openssl_error(e, "--tls-cert", cert);
		return false;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		openssl_error(e, "--tls-cert", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		openssl_error(e, "--tls-key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		openssl_error(e, "--tls-key does not match --tls-cert", key);
		goto fail;
	}
	px->tls_server = ctx;
	return true;
fail:
	SSL_CTX_free(ctx);
	return false;
}

bool px_tls_client_ctx(Proxy *px, OscErr *e)
{
	const PxUpstream *u = &px->up;
	if (u->tls == PX_TLS_OFF)
		return true;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		openssl_error(e, "--upstream", "TLS");
		return false;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (u->tls >= PX_TLS_VERIFY_CA) {
		if (SSL_CTX_load_verify_locations(ctx, u->ca, NULL) != 1) {
			openssl_error(e, "--upstream: the CA file", u->ca);
			goto fail;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	if (u->cert[0]) {
		if (SSL_CTX_use_certificate_chain_file(ctx, u->cert) != 1) {
			openssl_error(e, "--upstream: the client certificate", u->cert);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, u->key[0] ? u->key : u->cert, SSL_FILETYPE_PEM) != 1) {
			openssl_error(e, "--upstream: the client key", u->key[0] ? u->key : u->cert);
			goto fail;
		}
	}
	px->tls_client = ctx;
	return true;
fail:
	SSL_CTX_free(ctx);
	return false;
}

SSL *px_tls_new(Proxy *px, bool client_side)
{
	SSL *ssl = SSL_new(client_side ? px->tls_server : px->tls_client);
	if (ssl == NULL || client_side)
		return ssl;
	const PxUpstream *u = &px->up;
	unsigned char addr[16];
	bool literal = inet_pton(AF_INET, u->host, addr) == 1 || inet_pton(AF_INET6, u->host, addr) == 1;
	if (!literal)
		SSL_set_tlsext_host_name(ssl, u->host); /* SNI: names only */
	if (u->tls == PX_TLS_VERIFY_FULL) {
		X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
		int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(param, u->host) : SSL_set1_host(ssl, u->host);
		if (ok != 1) {
			SSL_free(ssl);
			return NULL;
		}
	}
	return ssl;
}

void px_tls_error(struct bufferevent *bev, char *out, size_t outsz)
{
	unsigned long code;
	size_t n = 0;
	out[0] = '\0';
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	if (ssl) {
		long v = SSL_get_verify_result(ssl);
		if (v != X509_V_OK)
			snprintf(out, outsz, "certificate: %s", X509_verify_cert_error_string(v));
	}
	n = strlen(out);
	while ((code = bufferevent_get_openssl_error(bev)) != 0 && n + 3 < outsz) {
		char buf[200];
		if (ERR_GET_LIB(code) == 0)
			continue; /* not OpenSSL's: libevent keeps errno values here too */
		ERR_error_string_n(code, buf, sizeof(buf));
		snprintf(out + n, outsz - n, "%s%s", n ? "; " : "", buf);
		n = strlen(out);
	}
	if (out[0] == '\0')
		snprintf(out, outsz, "the connection closed during the handshake");
}

void px_tls_free(Proxy *px)
{
	if (px->tls_server)
		SSL_CTX_free(px->tls_server);
	if (px->tls_client)
		SSL_CTX_free(px->tls_client);
	px->tls_server = px->tls_client = NULL;
}
