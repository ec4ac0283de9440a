/*
 * The held write BIO (wbuf.h). OpenSSL's BIO_flush is a no-op here: the
 * connection knows better when bytes must go (before it waits for the
 * peer, and at the end of a reply).
 */
#include "wbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct wbuf {
	int fd;
	size_t len, cap;
	char *data;		/* freed when empty: an idle connection holds nothing */
};

static BIO_METHOD *method;

/* Sends the held bytes: 1 all out, 0 would block, -1 error. */
static int
send_held(struct wbuf *w)
{
	size_t off = 0;
	ssize_t n;

	while (off < w->len) {
		if ((n = send(w->fd, w->data + off, w->len - off, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	memmove(w->data, w->data + off, w->len - off);
	w->len -= off;
	if (w->len == 0) {
		free(w->data);
		w->data = NULL;
		w->cap = 0;
		return 1;
	}
	return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
}

static int
wbuf_write(BIO *b, const char *in, int inl)
{
	struct wbuf *w = BIO_get_data(b);
	size_t want;
	char *p;

	BIO_clear_retry_flags(b);
	if (inl <= 0)
		return 0;
	if (w->len >= WBUF_HOLD) {
		int r = send_held(w);
		if (r == -1)
			return -1;
		if (r == 0 && w->len >= WBUF_HOLD) {
			BIO_set_retry_write(b);
			return -1;
		}
	}
	if (w->len + (size_t)inl > w->cap) {
		/* In steps of a quarter of the hold: a few reallocations a reply, not one a record. */
		want = (w->len + (size_t)inl + WBUF_HOLD / 4 - 1) / (WBUF_HOLD / 4) * (WBUF_HOLD / 4);
		if ((p = realloc(w->data, want)) == NULL)
			return -1;
		w->data = p;
		w->cap = want;
	}
	memcpy(w->data + w->len, in, (size_t)inl);
	w->len += (size_t)inl;
	return inl;
}

static long
wbuf_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct wbuf *w = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_WPENDING:
		return (long)w->len;
	default:
		return 0;
	}
}

static int
wbuf_destroy(BIO *b)
{
	struct wbuf *w = BIO_get_data(b);

	if (w != NULL) {
		free(w->data);
		free(w);
	}
	BIO_set_data(b, NULL);
	return 1;
}

BIO *
wbuf_new(int fd)
{
	struct wbuf *w;
	BIO *b;

	if (method == NULL) {
		if ((method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
		    "gazette held writes")) == NULL)
			return NULL;
		BIO_meth_set_write(method, wbuf_write);
		BIO_meth_set_ctrl(method, wbuf_ctrl);
		BIO_meth_set_destroy(method, wbuf_destroy);
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((b = BIO_new(method)) == NULL) {
		free(w);
		return NULL;
	}
	w->fd = fd;
	BIO_set_data(b, w);
	BIO_set_init(b, 1);
	return b;
}

int
wbuf_flush(BIO *b)
{
	struct wbuf *w = BIO_get_data(b);

	return w->len == 0 ? 1 : send_held(w);
}
