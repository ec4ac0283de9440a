/*
 * Stand-in keys and the key holder's answers (keys.h).
 *
 * OpenSSL 3.0 takes a key whose EC_KEY_METHOD or RSA_METHOD is not the
 * default for a "foreign" key and signs with it through its legacy code,
 * which calls the method: the stand-in is such a key, with the public half
 * of the certificate and methods that forward the digest (ECDSA) or the
 * padded block (RSA) to the key holder. These methods are deprecated in 3.0
 * but kept for exactly this; an OpenSSL provider would do the same in far
 * more code.
 */
#define OPENSSL_API_COMPAT 0x10101000L

#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/async.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "cert.h"
#include "clock.h"

#define DATA_MAX 1024		/* an RSA-8192 block; far more than a DER ECDSA signature */

enum keys_op {
	OP_ECDSA = 1,		/* data: a digest; answer: the DER signature */
	OP_RSA = 2,		/* data: a block, padded as padding says; answer: the block signed */
};

struct request {
	uint64_t id;		/* the asker's pid and count: a late answer is told apart */
	int64_t deadline_ms;	/* CLOCK_MONOTONIC: after it, nobody waits for the answer */
	uint8_t host;
	uint8_t op;
	uint16_t len;
	int32_t padding;	/* OP_RSA: RSA_NO_PADDING or RSA_PKCS1_PADDING */
	unsigned char data[DATA_MAX];
};

struct answer {
	uint64_t id;
	int32_t len;		/* -1: refused */
	uint32_t pad;
	unsigned char data[DATA_MAX];
};

#define REQUEST_HEAD offsetof(struct request, data)
#define ANSWER_HEAD offsetof(struct answer, data)

/* Made once per process and never freed: every stand-in shares them. */
static EC_KEY_METHOD *ec_method;
static RSA_METHOD *rsa_method;
static int ec_ref = -1, rsa_ref = -1;

/*
 * A handshake waiting for its signature: on the list until answered or
 * given up; its paused job resumes for good once it is off.
 */
struct wait {
	TAILQ_ENTRY(wait) entry;
	uint64_t id;
	size_t outmax;
	int len;		/* the answer's length; -1: refused; WAIT_GAVE_UP */
	bool done;
	ASYNC_callback_fn wake;	/* the SSL's: its connection steps again */
	void *wake_arg;		/* ... the SSL itself */
	unsigned char out[DATA_MAX];
};

#define WAIT_GAVE_UP (-2)

/* This worker's handshakes that wait, oldest first: answers come in order. */
TAILQ_HEAD(wait_list, wait);
static struct wait_list waiting = TAILQ_HEAD_INITIALIZER(waiting);

static void
finish(struct wait *w, int len)
{
	TAILQ_REMOVE(&waiting, w, entry);
	w->len = len;
	w->done = true;
}

/* The handshake waiting for the answer id, or (ssl not NULL) ssl's. */
static struct wait *
find(uint64_t id, const SSL *ssl)
{
	struct wait *w;

	for (w = TAILQ_FIRST(&waiting); w != NULL; w = TAILQ_NEXT(w, entry))
		if (ssl != NULL ? w->wake_arg == ssl : w->id == id)
			return w;
	return NULL;
}

/*
 * Asks the key holder, from inside the handshake's async job, which pauses
 * until keys_hear has the answer; its length (at most outmax), or -1.
 */
static int
ask(struct keys_ref *ref, enum keys_op op, int padding, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t outmax)
{
	static uint32_t count;
	static pid_t me;	/* set in the process that asks: the worker, after its fork */
	ASYNC_JOB *job = ASYNC_get_current_job();
	ASYNC_WAIT_CTX *wctx;
	ASYNC_callback_fn wake;
	void *wake_arg;
	struct wait *w;
	struct request rq;
	long long now = clock_ms();
	int len;

	if (ref == NULL || ref->fd == -1 || inlen > DATA_MAX || now < ref->down_until_ms ||
	    job == NULL || (wctx = ASYNC_get_wait_ctx(job)) == NULL ||
	    !ASYNC_WAIT_CTX_get_callback(wctx, &wake, &wake_arg) || wake == NULL)
		return -1;
	memset(&rq, 0, REQUEST_HEAD);
	if (me == 0)
		me = getpid();
	rq.id = (uint64_t)me << 32 | ++count;
	rq.deadline_ms = now + KEYS_WAIT_MS;
	rq.host = (uint8_t)ref->host;
	rq.op = (uint8_t)op;
	rq.len = (uint16_t)inlen;
	rq.padding = padding;
	memcpy(rq.data, in, inlen);
	/* A full queue: the key holder is far behind; this one fails, the next may not. */
	if (send(ref->fd, &rq, REQUEST_HEAD + inlen, MSG_NOSIGNAL | MSG_DONTWAIT) == -1) {
		if (errno != EAGAIN)
			ref->down_until_ms = clock_ms() + KEYS_DOWN_MS;
		return -1;
	}
	if ((w = malloc(sizeof(*w))) == NULL)
		return -1;
	*w = (struct wait){ .id = rq.id, .outmax = outmax, .wake = wake, .wake_arg = wake_arg };
	TAILQ_INSERT_TAIL(&waiting, w, entry);
	while (!w->done)
		if (!ASYNC_pause_job())
			finish(w, -1);
	if ((len = w->len) == WAIT_GAVE_UP)
		ref->down_until_ms = clock_ms() + KEYS_DOWN_MS;
	if (len > 0)
		memcpy(out, w->out, (size_t)len);
	free(w);
	return len < 0 ? -1 : len;
}

int
keys_hear(int fd)
{
	struct answer an;
	struct wait *w;
	ssize_t n;

	for (;;) {
		if ((n = recv(fd, &an, sizeof(an), MSG_DONTWAIT)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			break;
		}
		if (n == 0)
			break;
		if ((size_t)n < ANSWER_HEAD)
			continue;
		/* An answer to a handshake given up on is nobody's. */
		if ((w = find(an.id, NULL)) == NULL)
			continue;
		if (an.len < 0 || (size_t)an.len > (size_t)n - ANSWER_HEAD ||
		    (size_t)an.len > w->outmax)
			finish(w, -1);
		else {
			memcpy(w->out, an.data, (size_t)an.len);
			finish(w, an.len);
		}
		w->wake(w->wake_arg);
	}
	/* Nobody will answer any more. */
	while ((w = TAILQ_FIRST(&waiting)) != NULL) {
		finish(w, WAIT_GAVE_UP);
		w->wake(w->wake_arg);
	}
	return -1;
}

void
keys_give_up(const SSL *ssl)
{
	struct wait *w = find(0, ssl);

	if (w != NULL)
		finish(w, WAIT_GAVE_UP);
}

static ECDSA_SIG *
ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv, const BIGNUM *r,
    EC_KEY *ec)
{
	unsigned char der[DATA_MAX];
	const unsigned char *p = der;
	int n;

	(void)kinv;
	(void)r;
	if (dlen < 0 || (n = ask(EC_KEY_get_ex_data(ec, ec_ref), OP_ECDSA, 0, dgst,
	    (size_t)dlen, der, sizeof(der))) <= 0)
		return NULL;
	return d2i_ECDSA_SIG(NULL, &p, n);
}

static int
ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
    unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *ec)
{
	ECDSA_SIG *s = ec_sign_sig(dgst, dlen, kinv, r, ec);
	int n;

	(void)type;
	if (s == NULL)
		return 0;
	/* sig holds ECDSA_size(ec) bytes: an answer for a larger key must not overrun it. */
	if (i2d_ECDSA_SIG(s, NULL) > ECDSA_size(ec)) {
		ECDSA_SIG_free(s);
		return 0;
	}
	n = i2d_ECDSA_SIG(s, &sig);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return 0;
	*siglen = (unsigned int)n;
	return 1;
}

static int
rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding)
{
	if (flen < 0)
		return -1;
	return ask(RSA_get_ex_data(rsa, rsa_ref), OP_RSA, padding, from, (size_t)flen, to,
	    (size_t)RSA_size(rsa));
}

/* Every cipher suite is forward-secret: nothing is ever decrypted with the key. */
static int
rsa_priv_dec(int flen, const unsigned char *from, unsigned char *to, RSA *rsa, int padding)
{
	(void)flen;
	(void)from;
	(void)to;
	(void)rsa;
	(void)padding;
	return -1;
}

static int
methods_init(void)
{
	if (ec_method != NULL)
		return 0;
	if ((ec_ref = EC_KEY_get_ex_new_index(0, NULL, NULL, NULL, NULL)) == -1 ||
	    (rsa_ref = RSA_get_ex_new_index(0, NULL, NULL, NULL, NULL)) == -1 ||
	    (rsa_method = RSA_meth_dup(RSA_get_default_method())) == NULL ||
	    (ec_method = EC_KEY_METHOD_new(EC_KEY_get_default_method())) == NULL)
		return -1;
	RSA_meth_set1_name(rsa_method, "gazette key holder");
	RSA_meth_set_priv_enc(rsa_method, rsa_priv_enc);
	RSA_meth_set_priv_dec(rsa_method, rsa_priv_dec);
	EC_KEY_METHOD_set_sign(ec_method, ec_sign, NULL, ec_sign_sig);
	return 0;
}

EVP_PKEY *
keys_standin(X509 *cert, struct keys_ref *ref, char *err, size_t errsize)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert), *standin = NULL;
	EC_KEY *ec = NULL;
	RSA *rsa = NULL;

	if (pub == NULL || methods_init() == -1 || (standin = EVP_PKEY_new()) == NULL) {
		snprintf(err, errsize, "a stand-in key: %s", cert_openssl_error());
		EVP_PKEY_free(standin);
		return NULL;
	}
	/* A copy of the public half: the certificate's own key stays as it is. */
	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_EC:
		if ((ec = EC_KEY_dup(EVP_PKEY_get0_EC_KEY(pub))) != NULL &&
		    EC_KEY_set_method(ec, ec_method) == 1 && EC_KEY_set_ex_data(ec, ec_ref, ref) &&
		    EVP_PKEY_assign_EC_KEY(standin, ec) == 1)
			return standin;
		EC_KEY_free(ec);
		break;
	case EVP_PKEY_RSA:
		if ((rsa = RSAPublicKey_dup(EVP_PKEY_get0_RSA(pub))) != NULL &&
		    RSA_set_method(rsa, rsa_method) == 1 && RSA_set_ex_data(rsa, rsa_ref, ref) &&
		    EVP_PKEY_assign_RSA(standin, rsa) == 1)
			return standin;
		RSA_free(rsa);
		break;
	default:
		snprintf(err, errsize, "a %s key: gazette serves EC and RSA keys",
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pub)));
		EVP_PKEY_free(standin);
		return NULL;
	}
	snprintf(err, errsize, "a stand-in key: %s", cert_openssl_error());
	EVP_PKEY_free(standin);
	return NULL;
}

/* An encrypted key would have OpenSSL ask on the terminal: refused instead. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

EVP_PKEY *
keys_load(const char *keypath, X509 *cert, char *err, size_t errsize)
{
	EVP_PKEY *key;
	FILE *f;

	if ((f = fopen(keypath, "re")) == NULL) {
		if (errno == EACCES)
			snprintf(err, errsize, "key %s: %s: gazette reads it as the user it is "
			    "started as, before it drops privileges: make that user its owner "
			    "(a key stays mode 0600)", keypath, strerror(errno));
		else
			snprintf(err, errsize, "key %s: %s", keypath, strerror(errno));
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (key == NULL) {
		snprintf(err, errsize, "key %s: not an unencrypted private key in PEM form (%s)",
		    keypath, cert_openssl_error());
		return NULL;
	}
	if (cert == NULL || EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1) {
		snprintf(err, errsize, "key %s does not match the certificate", keypath);
		ERR_clear_error();
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

EVP_PKEY_CTX *
keys_signer(EVP_PKEY *key)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);

	if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Signs rq with signer; the answer's length, or -1 when it is not this key's to sign. */
static int
sign(EVP_PKEY_CTX *signer, const struct request *rq, unsigned char *out)
{
	EVP_PKEY *key = EVP_PKEY_CTX_get0_pkey(signer);
	size_t outlen = DATA_MAX;
	int type = EVP_PKEY_get_base_id(key), rc = -1;

	if ((rq->op == OP_ECDSA && type != EVP_PKEY_EC) || (rq->op == OP_RSA &&
	    (type != EVP_PKEY_RSA || rq->len > EVP_PKEY_get_size(key) ||
	    (rq->padding != RSA_NO_PADDING && rq->padding != RSA_PKCS1_PADDING))) ||
	    (rq->op != OP_ECDSA && rq->op != OP_RSA))
		return -1;
	/* One context a key, initialised once: each signature only signs. */
	if ((rq->op == OP_ECDSA || EVP_PKEY_CTX_set_rsa_padding(signer, rq->padding) == 1) &&
	    EVP_PKEY_sign(signer, out, &outlen, rq->data, rq->len) == 1)
		rc = (int)outlen;
	ERR_clear_error();
	return rc;
}

#define ANSWER_BATCH 32	/* requests answered a socket at a time: each worker has its turn */

int
keys_answer(EVP_PKEY_CTX *const *signers, int n, int fd)
{
	struct request rq;
	struct answer an;
	ssize_t got;

	for (int i = 0; i < ANSWER_BATCH; i++) {
		if ((got = recv(fd, &rq, sizeof(rq), MSG_DONTWAIT)) == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (got == 0)
			return -1;
		memset(&an, 0, ANSWER_HEAD);
		an.len = -1;
		if ((size_t)got >= REQUEST_HEAD) {
			an.id = rq.id;
			/* Under more load than it can sign, late questions go unsigned: the fresh are answered. */
			if (rq.deadline_ms < clock_ms())
				continue;
			if (rq.len <= (size_t)got - REQUEST_HEAD && rq.host < n)
				an.len = sign(signers[rq.host], &rq, an.data);
		}
		/* A worker whose queue is full has given up on it long ago: dropped. */
		send(fd, &an, ANSWER_HEAD + (an.len > 0 ? (size_t)an.len : 0),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	return 0;
}
