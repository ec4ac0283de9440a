#include "ctl.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CTL_HEADER offsetof(struct ctl_msg, data)

int
ctl_pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds);
}

int
ctl_send(int fd, const struct ctl_msg *m, int passfd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctrl;
	struct iovec iov = { (void *)m, CTL_HEADER + (m->len < CTL_DATA_MAX ? m->len :
	    CTL_DATA_MAX) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (passfd != -1) {
		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.buf;
		mh.msg_controllen = sizeof(ctrl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	return n == -1 ? -1 : 0;
}

int
ctl_send_type(int fd, enum ctl_type type)
{
	struct ctl_msg m;

	memset(&m, 0, offsetof(struct ctl_msg, data));
	m.type = (uint8_t)type;
	return ctl_send(fd, &m, -1);
}

int
ctl_recv(int fd, struct ctl_msg *m, int *passfd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctrl;
	/* m is only written: recvmsg fills it. */
	/* cppcheck-suppress ctuuninitvar */
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
	    .msg_controllen = sizeof(ctrl.buf) };
	struct cmsghdr *c;
	ssize_t n;

	*passfd = -1;
	do
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(passfd, CMSG_DATA(c), sizeof(int));
	if (n == 0)
		return -1;	/* the peer closed its end */
	if ((size_t)n < CTL_HEADER || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    m->len != (size_t)n - CTL_HEADER) {
		if (*passfd != -1)
			close(*passfd);
		*passfd = -1;
		return -2;
	}
	return 1;
}
