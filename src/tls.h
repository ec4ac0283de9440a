/*
 * TLS contexts: one per host, picked by SNI. Every handshake asks for a client
 * certificate and takes any, self-signed, expired or otherwise unverifiable
 * (Gemini client certificates are self-made identities): the request decides
 * what one is worth (require_cert: 60, 61, 62).
 */
#ifndef GAZETTE_TLS_H
#define GAZETTE_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "config.h"
#include "keys.h"

struct tls {
	int n;
	SSL_CTX *ctx[CONFIG_MAX_HOSTS];	/* in config order; ctx[0] is the default */
	char fingerprint[CONFIG_MAX_HOSTS][100];
	/* Where each context's stand-in key asks for signatures (keys.h). */
	struct keys_ref keyref[CONFIG_MAX_HOSTS];
};

/*
 * Generates missing certificates (cert_ensure), loads every host's
 * certificate and builds its context: TLS 1.2 and 1.3 only, forward-secret
 * AEAD ciphers, X25519 first, session tickets under the supervisor's keys
 * (tickets.h), SNI. The private key is not read: each context holds a
 * stand-in that asks the key holder (keys.h), once tls_keys_attach has
 * given it a socket. t must not move afterwards. Returns -1 with err set.
 */
struct tickets;
int tls_init(struct tls *t, const struct config *c, struct tickets *tickets, char *err,
    size_t errsize);
void tls_clear(struct tls *t);

/*
 * gazette -n: loads and checks every host's certificate and key as tls_init
 * would, without generating a missing pair (that start would do) or keeping
 * anything. Returns -1 with err set.
 */
int tls_check(const struct config *c, char *err, size_t errsize);

/* A worker's: its socket to the key holder, for every host's stand-in key. */
void tls_keys_attach(struct tls *t, int fd);

/*
 * The SNI name the client sent, lowercased and without a trailing dot, into
 * buf; NULL when it sent none.
 */
const char *tls_servername(SSL *ssl, char *buf, size_t size);

enum tls_peer {
	TLS_PEER_NONE,		/* no client certificate (or no TLS) */
	TLS_PEER_VALID,
	TLS_PEER_INVALID,	/* expired, not yet valid, or malformed */
};

/*
 * The client certificate of ssl (NULL on plain TCP) after its handshake:
 * whether there is one and it is valid; its SHA-256 into sha256
 * (CONFIG_FP_SIZE bytes) when there is one.
 */
enum tls_peer tls_peer(SSL *ssl, unsigned char *sha256);

/*
 * The client certificate's SHA-256 as "AB:CD:..." into buf (>= 96 bytes), for
 * the log; NULL when there is none (or the handshake did not finish).
 */
const char *tls_peer_fingerprint(SSL *ssl, char *buf, size_t size);

#endif
