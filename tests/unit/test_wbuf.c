/*
 * The held write BIO (wbuf.h) over a socketpair: bytes wait for a flush,
 * OpenSSL's own flush does not send them, a full socket makes a write
 * retry only past WBUF_HOLD, and what a flush cannot send waits for the next.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test.h"
#include "wbuf.h"

/* Bytes waiting on fd now, without waiting. */
static long
drain(int fd)
{
	char buf[65536];
	long total = 0;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		total += n;
	return total;
}

/* A held BIO on sv[0] of a fresh socketpair; sv[1] is the peer. NULL when it failed. */
static BIO *
held(int sv[2])
{
	int small = 4096;
	BIO *b;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return NULL;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	/* A small socket, so that "full" comes soon. */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if ((b = wbuf_new(sv[0])) == NULL) {
		close(sv[0]);
		close(sv[1]);
	}
	return b;
}

static void
done(BIO *b, int sv[2])
{
	BIO_free(b);
	close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
}

TEST(wbuf_holds_until_flushed)
{
	int sv[2];
	BIO *b;

	if ((b = held(sv)) == NULL) {
		CHECK(b != NULL);
		return;
	}
	CHECK_INT(BIO_write(b, "flight", 6), 6);
	CHECK_INT(BIO_write(b, "ticket", 6), 6);
	/* OpenSSL asks to flush after each flight: nothing leaves yet. */
	CHECK_INT(BIO_flush(b), 1);
	CHECK_INT(BIO_wpending(b), 12);
	CHECK_INT(drain(sv[1]), 0);
	CHECK_INT(wbuf_flush(b), 1);
	CHECK_INT(BIO_wpending(b), 0);
	CHECK_INT(drain(sv[1]), 12);
	/* Nothing held: a flush is a no-op. */
	CHECK_INT(wbuf_flush(b), 1);
	done(b, sv);
}

TEST(wbuf_full_socket_retries_past_the_hold)
{
	static char record[16384];
	long sent = 0, got = 0;
	int sv[2], n, i;
	BIO *b;

	if ((b = held(sv)) == NULL) {
		CHECK(b != NULL);
		return;
	}
	memset(record, 'r', sizeof(record));
	/* The socket full before the first write. */
	while ((n = (int)send(sv[0], record, 1024, MSG_DONTWAIT)) > 0)
		sent += n;
	/* Up to WBUF_HOLD, writes are taken whatever the socket's state. */
	for (i = 0; (long)i * (long)sizeof(record) < WBUF_HOLD; i++) {
		CHECK_INT(BIO_write(b, record, sizeof(record)), sizeof(record));
		sent += sizeof(record);
	}
	/* Past it, a write sends first; the socket is full: retry. */
	n = BIO_write(b, record, sizeof(record));
	CHECK_INT(n, -1);
	CHECK(BIO_should_retry(b) && BIO_should_write(b));
	/* A flush sends nothing yet; the reader takes some at a time; then all is out. */
	CHECK_INT(wbuf_flush(b), 0);
	while (wbuf_flush(b) == 0)
		got += drain(sv[1]);
	got += drain(sv[1]);
	CHECK_INT(got, sent);
	CHECK_INT(BIO_wpending(b), 0);
	done(b, sv);
}

TEST(wbuf_error_is_not_a_retry)
{
	int sv[2];
	BIO *b;

	if ((b = held(sv)) == NULL) {
		CHECK(b != NULL);
		return;
	}
	CHECK_INT(BIO_write(b, "reply", 5), 5);
	close(sv[1]);
	sv[1] = -1;
	CHECK_INT(wbuf_flush(b), -1);
	CHECK(errno == EPIPE || errno == ECONNRESET);
	done(b, sv);
}
