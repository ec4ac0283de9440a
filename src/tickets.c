/*
 * The keys live in shared memory under a process-shared robust mutex; a
 * handshake copies them out under the lock (a few dozen bytes), so a
 * rotation is never seen half done. Tickets are AES-256-CBC with
 * HMAC-SHA256, the scheme OpenSSL's own keys use (RFC 5077's recommendation).
 */
#include "tickets.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

struct ticket_key {
	unsigned char name[16];
	unsigned char hmac[32];
	unsigned char aes[32];
};

struct tickets {
	pthread_mutex_t lock;
	bool have_previous;
	struct ticket_key current, previous;
};

/* The SSL_CTX ex_data slot that points at the tickets. */
static int tickets_idx = -1;
/* Fetched once per process and kept: a name looked up per ticket costs locks and compares. */
static EVP_CIPHER *ticket_cipher;

struct tickets *
tickets_new(void)
{
	pthread_mutexattr_t attr;
	struct tickets *t;

	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	if (pthread_mutexattr_init(&attr) != 0 ||
	    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&t->lock, &attr) != 0 ||
	    RAND_bytes((unsigned char *)&t->current, sizeof(t->current)) != 1) {
		munmap(t, sizeof(*t));
		return NULL;
	}
	pthread_mutexattr_destroy(&attr);
	return t;
}

void
tickets_free(struct tickets *t)
{
	if (t == NULL)
		return;
	OPENSSL_cleanse(&t->current, sizeof(t->current));
	OPENSSL_cleanse(&t->previous, sizeof(t->previous));
	munmap(t, sizeof(*t));
}

static void
lock(struct tickets *t)
{
	if (pthread_mutex_lock(&t->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&t->lock);
}

/* Makes k current, keeping the current one as the previous. */
static void
install(struct tickets *t, const struct ticket_key *k)
{
	lock(t);
	t->previous = t->current;
	t->have_previous = true;
	t->current = *k;
	pthread_mutex_unlock(&t->lock);
}

int
tickets_rotate(struct tickets *t)
{
	struct ticket_key k;

	if (RAND_bytes((unsigned char *)&k, sizeof(k)) != 1)
		return -1;
	install(t, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}

int
tickets_load(struct tickets *t, const char *path, char *err, size_t errsize)
{
	unsigned char buf[TICKETS_FILE_SIZE + 1];
	struct ticket_key k;
	bool same;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errsize, "ticket_key_file %s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != TICKETS_FILE_SIZE) {
		snprintf(err, errsize, "ticket_key_file %s: not %d bytes (make one with "
		    "\"openssl rand %d > %s\")", path, TICKETS_FILE_SIZE, TICKETS_FILE_SIZE,
		    path);
		OPENSSL_cleanse(buf, sizeof(buf));
		return -1;
	}
	memcpy(k.name, buf, 16);
	memcpy(k.hmac, buf + 16, 32);
	memcpy(k.aes, buf + 48, 32);
	OPENSSL_cleanse(buf, sizeof(buf));
	lock(t);
	same = memcmp(&k, &t->current, sizeof(k)) == 0;
	pthread_mutex_unlock(&t->lock);
	if (!same)
		install(t, &k);
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}

/*
 * OpenSSL's ticket callback: 1 with this key, 2 with it but renew, 0 unknown,
 * -1 error. A ticket that decrypts is always renewed: TLS 1.3 then sends a
 * new one with each resumption, as clients (OpenSSL's among them) use a
 * ticket once; without it every other connection was a full handshake.
 */
static int
ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
    EVP_MAC_CTX *hctx, int enc)
{
	struct tickets *t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tickets_idx);
	struct ticket_key cur, prev;
	const struct ticket_key *k;
	OSSL_PARAM params[3];
	bool have_prev;
	int rc = 1;

	if (t == NULL)
		return -1;
	lock(t);
	cur = t->current;
	prev = t->previous;
	have_prev = t->have_previous;
	pthread_mutex_unlock(&t->lock);
	if (enc) {
		k = &cur;
		memcpy(name, k->name, 16);
		if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1)
			rc = -1;
	} else if (memcmp(name, cur.name, 16) == 0) {
		k = &cur;
		rc = 2;
	} else if (have_prev && memcmp(name, prev.name, 16) == 0) {
		k = &prev;
		rc = 2;		/* the new one is under the current key */
	} else
		rc = 0;		/* too old, or another server's: a full handshake */
	if (rc > 0) {
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
		    (void *)k->hmac, sizeof(k->hmac));
		params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0);
		params[2] = OSSL_PARAM_construct_end();
		if (EVP_MAC_CTX_set_params(hctx, params) != 1 ||
		    (enc ? EVP_EncryptInit_ex(cctx, ticket_cipher, NULL, k->aes, iv) :
		    EVP_DecryptInit_ex(cctx, ticket_cipher, NULL, k->aes, iv)) != 1)
			rc = -1;
	}
	OPENSSL_cleanse(&cur, sizeof(cur));
	OPENSSL_cleanse(&prev, sizeof(prev));
	return rc;
}

int
tickets_attach(SSL_CTX *ctx, struct tickets *t)
{
	if (tickets_idx == -1 &&
	    (tickets_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL)) == -1)
		return -1;
	if (ticket_cipher == NULL &&
	    (ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL)
		return -1;
	if (SSL_CTX_set_ex_data(ctx, tickets_idx, t) != 1 ||
	    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1)
		return -1;
	return 0;
}
