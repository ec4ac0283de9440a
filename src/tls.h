/* TLS contexts: one per host, picked by SNI. */
#ifndef GAZETTE_TLS_H
#define GAZETTE_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "config.h"

struct tls {
	int n;
	SSL_CTX *ctx[CONFIG_MAX_HOSTS];	/* in config order; ctx[0] is the default */
	char fingerprint[CONFIG_MAX_HOSTS][100];
};

/*
 * Generates missing certificates (cert_ensure), loads every host's key and
 * certificate and builds its context: TLS 1.2 and 1.3 only, forward-secret
 * AEAD ciphers, X25519 first, session tickets (prev's keys when given), SNI.
 * Returns -1 with err set.
 */
int tls_init(struct tls *t, const struct config *c, const struct tls *prev, char *err,
    size_t errsize);
void tls_clear(struct tls *t);

/*
 * The SNI name the client sent, lowercased and without a trailing dot, into
 * buf; NULL when it sent none.
 */
const char *tls_servername(SSL *ssl, char *buf, size_t size);

#endif
