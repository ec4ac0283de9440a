/*
 * TLS set-up. Every context encrypts its session tickets with the same keys,
 * the supervisor's (tickets.c), so a resumed session works whichever host
 * SNI named, whichever worker and generation a client reaches.
 */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "cert.h"
#include "keys.h"
#include "log.h"
#include "tickets.h"

/* TLS 1.2 suites: ECDHE only, AEAD only. TLS 1.3 suites are all fine. */
#define TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384"
/*
 * TLS 1.3: AES-128-GCM first, so the key schedule hashes with SHA-256 (faster
 * than AES-256's SHA-384 where the CPU has SHA extensions), then ChaCha20 for
 * CPUs without AES instructions.
 */
#define TLS13_CIPHERS \
	"TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
#define TLS_GROUPS "X25519:P-256:P-384"

/* The SSL ex_data slot where verify_callback keeps what invalidates a client certificate. */
static int verify_idx = -1;

static int
sni_callback(SSL *ssl, int *alert, void *arg)
{
	struct tls *t = arg;
	char name[256];
	int i;

	(void)alert;
	if (tls_servername(ssl, name, sizeof(name)) == NULL)
		return SSL_TLSEXT_ERR_OK;
	for (i = 0; i < t->n; i++) {
		const char *cn = SSL_CTX_get_app_data(t->ctx[i]);
		if (strcmp(cn, name) == 0) {
			if (i != 0)
				SSL_set_SSL_CTX(ssl, t->ctx[i]);
			return SSL_TLSEXT_ERR_OK;
		}
	}
	/* Unknown names get the default certificate; the request then gets 53. */
	return SSL_TLSEXT_ERR_OK;
}

/*
 * What makes the client's own certificate invalid (62). The rest (self-signed,
 * unknown issuer, a purpose or key size OpenSSL frowns at) is what Gemini
 * identities are, and so are the errors of any further certificate a client
 * sends along: only its own is its identity.
 */
static bool
invalidates(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
	case X509_V_ERR_INVALID_EXTENSION:
		return true;
	default:
		return false;
	}
}

/*
 * Takes every client certificate, so no handshake fails over one. The chain's
 * verdict, which becomes SSL_get_verify_result and travels in session tickets
 * (so a resumed session keeps it), is cut down to what tls_peer needs:
 * X509_V_OK, or the first error that invalidates the client's certificate.
 * That one is kept aside in the SSL, since any later error would overwrite it.
 */
static int
verify_callback(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	int err = X509_STORE_CTX_get_error(x);
	intptr_t bad = (intptr_t)SSL_get_ex_data(ssl, verify_idx);

	if (!ok && bad == X509_V_OK && X509_STORE_CTX_get_error_depth(x) == 0 &&
	    invalidates(err)) {
		bad = err;
		SSL_set_ex_data(ssl, verify_idx, (void *)bad);
	}
	X509_STORE_CTX_set_error(x, (int)bad);
	/*
	 * A failed check may have queued an OpenSSL error (a bad signature does).
	 * Accepted, it is none; left queued, SSL_get_error would take the
	 * handshake's next "want read" for a fatal error.
	 */
	if (!ok)
		ERR_clear_error();
	return 1;
}

/* Whether the certificate at path opens for reading; err says why not. */
static int
readable(const char *path, char *err, size_t errsize)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd != -1) {
		close(fd);
		return 0;
	}
	snprintf(err, errsize, "certificate %s: %s", path, strerror(errno));
	return -1;
}

/* h's context, its private key a stand-in that asks the key holder over ref. */
static SSL_CTX *
ctx_new(const struct host_config *h, struct keys_ref *ref, char *err, size_t errsize)
{
	EVP_PKEY *standin;
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errsize, "SSL_CTX_new: %s", cert_openssl_error());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_COMPRESSION);
	/*
	 * Idle connections hold no TLS buffers; writes may be partial and move.
	 * Async: a handshake waits for the key holder's signature as a paused
	 * job, not by blocking the worker (keys.h).
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ASYNC);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"gazette", 7);
	/*
	 * A client certificate is asked for, never required here (verify_callback
	 * takes any); no CA names go with the request, so clients offer whatever
	 * identity they chose. A self-signed one's signature is checked too: a
	 * broken one is malformed.
	 */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_callback);
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_CHECK_SS_SIGNATURE);
	/*
	 * Resumption is by stateless tickets only. OpenSSL's own session cache
	 * would hold up to 20,000 sessions per worker (tens of MiB), flush itself
	 * on the handshake path, and could not help a client that lands on
	 * another worker anyway.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	/* One ticket is enough: a Gemini client opens one connection at a time. */
	SSL_CTX_set_num_tickets(ctx, 1);
	/*
	 * A record's header and body in one read, and a flight of records
	 * (the client's Finished, its request) in one: half the system calls.
	 * What is read ahead waits in OpenSSL, which SSL_read drains before it
	 * says WANT_READ.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	if (!SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) ||
	    !SSL_CTX_set_ciphersuites(ctx, TLS13_CIPHERS) ||
	    !SSL_CTX_set1_groups_list(ctx, TLS_GROUPS)) {
		snprintf(err, errsize, "cipher set-up: %s", cert_openssl_error());
		goto fail;
	}
	if (readable(h->cert, err, errsize) == -1)
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, h->cert) != 1) {
		snprintf(err, errsize, "%s: %s", h->cert, cert_openssl_error());
		goto fail;
	}
	if ((standin = keys_standin(SSL_CTX_get0_certificate(ctx), ref, err, errsize)) == NULL)
		goto fail;
	if (SSL_CTX_use_PrivateKey(ctx, standin) != 1) {
		snprintf(err, errsize, "%s: %s", h->cert, cert_openssl_error());
		EVP_PKEY_free(standin);
		goto fail;
	}
	EVP_PKEY_free(standin);
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errsize, "%s: its key does not fit", h->cert);
		goto fail;
	}
	SSL_CTX_set_app_data(ctx, (void *)h->name);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
tls_init(struct tls *t, const struct config *c, struct tickets *tickets, char *err,
    size_t errsize)
{
	char msg[512];
	bool generated;
	int i;

	memset(t, 0, sizeof(*t));
	/* Once per process: every context and reload shares the slot. */
	if (verify_idx == -1 &&
	    (verify_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL)) == -1) {
		snprintf(err, errsize, "SSL_get_ex_new_index: %s", cert_openssl_error());
		return -1;
	}
	for (i = 0; i < c->nhosts; i++) {
		const struct host_config *h = &c->hosts[i];
		t->keyref[i] = (struct keys_ref){ .fd = -1, .host = i };
		if (cert_ensure(h->name, h->cert, h->key, &generated, msg, sizeof(msg)) == -1) {
			snprintf(err, errsize, "host %s: %s", h->name, msg);
			goto fail;
		}
		if ((t->ctx[i] = ctx_new(h, &t->keyref[i], err, errsize)) == NULL)
			goto fail;
		t->n++;
		/* A ticket outlives no key: the server refuses it after one period too. */
		SSL_CTX_set_timeout(t->ctx[i], (long)(c->ticket_rotation_ms / 1000));
		if (tickets_attach(t->ctx[i], tickets) == -1) {
			snprintf(err, errsize, "session tickets: %s", cert_openssl_error());
			goto fail;
		}
		cert_fingerprint(SSL_CTX_get0_certificate(t->ctx[i]), t->fingerprint[i],
		    sizeof(t->fingerprint[i]));
		log_info("%s certificate for %s (%s), SHA-256 %s",
		    generated ? "generated" : "loaded", h->name, h->cert, t->fingerprint[i]);
	}
	SSL_CTX_set_tlsext_servername_callback(t->ctx[0], sni_callback);
	SSL_CTX_set_tlsext_servername_arg(t->ctx[0], t);
	return 0;
fail:
	tls_clear(t);
	return -1;
}

int
tls_check(const struct config *c, char *err, size_t errsize)
{
	struct keys_ref ref = { .fd = -1 };
	char msg[512];
	EVP_PKEY *key;
	SSL_CTX *ctx;
	int i, rc;

	for (i = 0; i < c->nhosts; i++) {
		const struct host_config *h = &c->hosts[i];
		if ((rc = cert_present(h->cert, h->key, msg, sizeof(msg))) == -1) {
			snprintf(err, errsize, "host %s: %s", h->name, msg);
			return -1;
		}
		if (rc == 0)
			continue;
		/* The context as a worker has it, and the key as the key holder reads it. */
		if ((ctx = ctx_new(h, &ref, err, errsize)) == NULL)
			return -1;
		key = keys_load(h->key, SSL_CTX_get0_certificate(ctx), err, errsize);
		SSL_CTX_free(ctx);
		if (key == NULL)
			return -1;
		EVP_PKEY_free(key);
	}
	return 0;
}

void
tls_keys_attach(struct tls *t, int fd)
{
	for (int i = 0; i < t->n; i++)
		t->keyref[i].fd = fd;
}

void
tls_clear(struct tls *t)
{
	int i;

	for (i = 0; i < t->n; i++)
		SSL_CTX_free(t->ctx[i]);
	memset(t, 0, sizeof(*t));
}

const char *
tls_servername(SSL *ssl, char *buf, size_t size)
{
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	size_t i;

	if (name == NULL || strlen(name) >= size)
		return NULL;
	for (i = 0; name[i]; i++)
		buf[i] = (name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i];
	/*
	 * "example.org." is "example.org" (RFC 6066 wants no dot, but clients
	 * that copy the URL's host send it), as it is in a URL.
	 */
	if (i > 1 && buf[i - 1] == '.')
		i--;
	buf[i] = '\0';
	return buf;
}

enum tls_peer
tls_peer(SSL *ssl, unsigned char *sha256)
{
	unsigned int n;
	X509 *x;

	if (ssl == NULL || !SSL_is_init_finished(ssl) ||
	    (x = SSL_get0_peer_certificate(ssl)) == NULL)
		return TLS_PEER_NONE;
	/* Only out of memory fails here: refuse rather than let it through. */
	if (!X509_digest(x, EVP_sha256(), sha256, &n) || n != CONFIG_FP_SIZE)
		return TLS_PEER_INVALID;
	return SSL_get_verify_result(ssl) == X509_V_OK ? TLS_PEER_VALID : TLS_PEER_INVALID;
}

const char *
tls_peer_fingerprint(SSL *ssl, char *buf, size_t size)
{
	X509 *x;

	if (ssl == NULL || !SSL_is_init_finished(ssl) ||
	    (x = SSL_get0_peer_certificate(ssl)) == NULL || cert_fingerprint(x, buf, size) == -1)
		return NULL;
	return buf;
}
