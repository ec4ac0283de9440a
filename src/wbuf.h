/*
 * A TLS connection's outgoing records, held until the connection flushes
 * them: OpenSSL writes each flight, ticket, reply and alert as it makes
 * them, and asks to flush after each; held here, a server flight leaves in
 * one send, and a ticket, the reply and close_notify in another. A long
 * reply leaves WBUF_HOLD bytes (several records) a send.
 */
#ifndef GAZETTE_WBUF_H
#define GAZETTE_WBUF_H

#include <openssl/bio.h>

/*
 * Held beyond this, a write sends first. Measured on the 10 MiB file (MB/s
 * per server core): 64 KiB +28% over a send a record, 128 KiB 5% more,
 * 256 KiB 2% more again: 128 KiB a connection while it writes, no more.
 */
#define WBUF_HOLD (128 * 1024)

/* A write-only BIO over the socket fd (not closed with it). NULL: out of memory. */
BIO *wbuf_new(int fd);

/* Sends what b holds: 1 when all is out, 0 when the socket is full, -1 on error (errno). */
int wbuf_flush(BIO *b);

#endif
