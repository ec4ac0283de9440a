/*
 * The key holder. The hosts' private keys are read by one small process of
 * each generation (gazette-keys in ps), never by the supervisor nor by a
 * worker: a worker's TLS contexts hold a stand-in made from the
 * certificate's public key, whose signatures are asked of the key holder
 * over a socket of the worker's own. A memory-disclosure or code-execution
 * bug in a worker has no key to give away.
 *
 * The key holder answers signature requests for the keys it holds and
 * nothing else; it is confined (no file after start, no network). A worker
 * never waits for it: a handshake that needs a signature runs as an OpenSSL
 * async job, which pauses (SSL_ERROR_WANT_ASYNC) while the worker serves
 * its other connections, and is woken by keys_hear when the answer comes.
 * One that gets no answer within KEYS_WAIT_MS (the key holder died and is
 * being restarted) is given up (keys_give_up) and fails, closing cleanly;
 * handshakes then fail at once for KEYS_DOWN_MS, never hang.
 */
#ifndef GAZETTE_KEYS_H
#define GAZETTE_KEYS_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define KEYS_WAIT_MS 500
#define KEYS_DOWN_MS 1000

/* Where a stand-in key asks for its signatures: one per host, in each worker. */
struct keys_ref {
	int fd;			/* the worker's socket to the key holder; -1: none yet */
	int host;		/* which key, in configuration order */
	long long down_until_ms;	/* no answer came: ask no more until then */
};

/*
 * A worker's: takes the key holder's answers waiting on fd and wakes the
 * handshake each is for (through its SSL's async callback). -1 when fd is
 * done with (the supervisor is gone): every waiting handshake is failed.
 */
int keys_hear(int fd);

/*
 * A worker's: the handshake of ssl waits no longer (its time is up, or its
 * connection closes); resumed, it fails. The key holder counts as down.
 */
void keys_give_up(const SSL *ssl);

/*
 * A stand-in for the private key of cert (EC or RSA): it signs by asking
 * over ref, which must outlive it. NULL with err set.
 */
EVP_PKEY *keys_standin(X509 *cert, struct keys_ref *ref, char *err, size_t errsize);

/*
 * Reads the private key at keypath and checks that it belongs to cert (the
 * one the workers' contexts were made with: a key renewed on disk since then
 * is refused). NULL with err saying why and, for a key that cannot be read,
 * what to do.
 */
EVP_PKEY *keys_load(const char *keypath, X509 *cert, char *err, size_t errsize);

/* The key holder's: a context that signs with key, made once. NULL on failure. */
EVP_PKEY_CTX *keys_signer(EVP_PKEY *key);

/*
 * The key holder's: answers the requests waiting on fd (one socket of a
 * worker) with signers[0..n), one a host, a bounded batch at a time. 0 when
 * it answered what was there; -1 when fd is done with.
 */
int keys_answer(EVP_PKEY_CTX *const *signers, int n, int fd);

#endif
