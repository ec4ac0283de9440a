/*
 * Session-ticket keys: one set for every worker of every generation (a
 * MAP_SHARED mapping the supervisor makes at start), so a client resumes
 * whichever worker it reaches, across reloads. The supervisor rotates the
 * key every ticket_rotation and keeps the previous one for decryption for
 * one more period, so a ticket is good for at least one period and at most
 * two: resumed sessions keep forward secrecy beyond that. Or the key comes
 * from ticket_key_file, shared by several machines behind one balancer (the
 * file's owner rotates it, and a reload takes the new one; the one before
 * still decrypts).
 */
#ifndef GAZETTE_TICKETS_H
#define GAZETTE_TICKETS_H

#include <stddef.h>
#include <openssl/ssl.h>

#define TICKETS_FILE_SIZE 80	/* a key file: 16 bytes of name, 32 of HMAC key, 32 of AES key */

struct tickets;

struct tickets *tickets_new(void);
void tickets_free(struct tickets *t);

/* The supervisor's: a new random key; the current one becomes the previous. */
int tickets_rotate(struct tickets *t);

/*
 * The supervisor's: makes the key in path current (the one before stays for
 * decryption), unless it is current already. -1 with err set when the file
 * cannot be read or is not TICKETS_FILE_SIZE bytes.
 */
int tickets_load(struct tickets *t, const char *path, char *err, size_t errsize);

/* Has ctx encrypt and decrypt its tickets with t's keys. */
int tickets_attach(SSL_CTX *ctx, struct tickets *t);

#endif
