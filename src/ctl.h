/*
 * The control channel between the supervisor and each of its children (a
 * worker, the indexer): one SOCK_SEQPACKET socketpair, so every message
 * arrives whole or not at all. Children send their log lines up; the
 * indexer sends each new post index image up (a descriptor passed along),
 * and the supervisor hands it down to the workers.
 */
#ifndef GAZETTE_CTL_H
#define GAZETTE_CTL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_DATA_MAX 4096	/* a log line; longer ones are cut */

enum ctl_type {
	CTL_LOG = 1,		/* data: one log line, ending in '\n' */
	CTL_IMAGE = 2,		/* site, version; a memfd with the index image */
	CTL_READY = 3,		/* a worker: confined, about to accept */
	CTL_RETIRED = 4,	/* a worker: SIGTERM, no longer accepting */
	CTL_PUBLISH = 5,	/* a worker to the publisher (publisher.h) */
	CTL_PUBLISHED = 6,	/* ... and its answer */
	CTL_CONNECT = 7,	/* a worker: site, id (version), fastcgi line (status) */
	CTL_CONNECTED = 8,	/* the supervisor: id, 0 and the socket, or an errno */
};

/* Sends a message of this type and nothing else; as ctl_send. */
int ctl_send_type(int fd, enum ctl_type type);

struct ctl_msg {
	uint8_t type;
	uint8_t site;		/* which host, in configuration order */
	uint16_t len;		/* bytes of data */
	uint32_t status;	/* CTL_PUBLISHED: 0 done, else a Gemini status; CTL_PUBLISH: the folder */
	uint64_t version;
	char data[CTL_DATA_MAX];
};

/* A connected pair, both ends close-on-exec and non-blocking. */
int ctl_pair(int fds[2]);

/*
 * Sends m (its header and len bytes of data) and, when passfd is not -1, that
 * descriptor along. Returns 0; -1 with errno EAGAIN when the peer's queue is
 * full (nothing was sent), or another errno when the peer is gone.
 */
int ctl_send(int fd, const struct ctl_msg *m, int passfd);

/*
 * Receives one message into m. A descriptor that came with it is stored in
 * *passfd (else -1); the caller closes it. Returns 1 for a message, 0 when
 * none is waiting, -1 when the peer is gone, -2 when what came was
 * malformed (it is dropped; the channel goes on).
 */
int ctl_recv(int fd, struct ctl_msg *m, int *passfd);

#endif
