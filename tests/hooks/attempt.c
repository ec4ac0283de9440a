/*
 * What a confined worker is asked to try (attempt.h). Each attempt is the
 * plain system call an attacker holding the worker would make; the answer
 * names the errno it failed with.
 */
#include "hooks/attempt.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "ctl.h"

/*
 * Sends the publisher (publisher.h) what a compromised worker could: a post
 * in a body left unsealed ("unsealed", changeable after the publisher's
 * check), a name that climbs out of posts/ ("traversal"), a body that is no
 * post ("notapost"). Answers "publish: refused: STATUS (META)", or
 * "publish: allowed: 0 (...)" when the publisher wrote it.
 */
static void
try_publish(const struct server *s, const struct site *site, const char *how,
    struct evbuffer *out)
{
	const char *text = strcmp(how, "notapost") == 0 ? "   \n" : "Title: Evil\n\nBy a worker.\n";
	struct ctl_msg m = { .type = CTL_PUBLISH, .site = (uint8_t)(site - s->sites),
	    .version = 77 };
	int body, passed = -1, status = -1, rc, waited;

	m.len = (uint16_t)snprintf(m.data, sizeof(m.data), "%s%c%s",
	    strcmp(how, "traversal") == 0 ? "../evil.txt" : "2030-01-01-evil.txt", '\0', "00");
	if ((body = memfd_create("evil", MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1 ||
	    write(body, text, strlen(text)) != (ssize_t)strlen(text) ||
	    (strcmp(how, "unsealed") != 0 && fcntl(body, F_ADD_SEALS, F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_WRITE) == -1) || ctl_send(s->publisher, &m, body) == -1) {
		evbuffer_add_printf(out, "publish: cannot send: %s\n", strerror(errno));
		if (body != -1)
			close(body);
		return;
	}
	close(body);
	/*
	 * The answer, read here (10 s at most): the hook may wait, the worker's
	 * loop does not run meanwhile. Its seccomp list has no poll: a nap a try.
	 */
	for (waited = 0; status == -1 && waited < 10000; waited++) {
		if ((rc = ctl_recv(s->publisher, &m, &passed)) == -1)
			break;
		if (passed != -1)
			close(passed);
		if (rc == 1 && m.type == CTL_PUBLISHED && m.version == 77)
			status = (int)m.status;
		else if (rc == 0)
			usleep(1000);
	}
	evbuffer_add_printf(out, "publish: %s: %d (%.*s) [worker %d]\n", status == 0 ? "allowed" :
	    "refused", status, status == -1 ? 0 : (int)m.len, m.data, (int)getpid());
}

/* "NAME: refused: EACCES (Permission denied) [worker PID]", or "allowed". */
static void
outcome(struct evbuffer *out, const char *name, int rc, int err)
{
	if (rc == -1)
		evbuffer_add_printf(out, "%s: refused: %s (%s)", name, strerrorname_np(err),
		    strerror(err));
	else
		evbuffer_add_printf(out, "%s: allowed", name);
	evbuffer_add_printf(out, " [worker %d]\n", (int)getpid());
}

static int
try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd != -1)
		close(fd);
	return fd == -1 ? -1 : 0;
}

/* A TCP connection to 127.0.0.1:port: socket() and connect() may each refuse. */
static int
try_connect(int port)
{
	struct sockaddr_in sin = { 0 };
	int fd, rc, e;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* A connection to the Unix socket at path (a FastCGI application's): only the supervisor may. */
static int
try_connect_unix(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, rc, e;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int
try_exec(void)
{
	char *const argv[] = { "sh", "-c", "exit 0", NULL };
	char *const envp[] = { NULL };

	/* On success the worker is gone: the test sees no answer, which fails it. */
	return execve("/bin/sh", argv, envp);
}

/*
 * Reads the private part of the key this worker's TLS context for site
 * holds, as a memory-disclosure bug could: ENOKEY when it has none.
 */
static int
try_key_memory(const struct server *s, const struct site *site)
{
	BIGNUM *priv = NULL;
	EVP_PKEY *key;
	int i, found;

	for (i = 0; i < s->nsites && &s->sites[i] != site; i++)
		;
	if (i == s->nsites || (key = SSL_CTX_get0_privatekey(s->tls.ctx[i])) == NULL) {
		errno = ENOKEY;
		return -1;
	}
	found = (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &priv) ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_D, &priv)) && !BN_is_zero(priv);
	BN_clear_free(priv);
	errno = ENOKEY;
	return found ? 0 : -1;
}

bool
hooks_attempt(const struct server *s, const struct site *site, const char *path,
    const char *query, struct evbuffer *out)
{
	const char *name, *arg = query != NULL ? query : "";
	int rc;

	if (strncmp(path, HOOKS_PREFIX, strlen(HOOKS_PREFIX)) != 0)
		return false;
	name = path + strlen(HOOKS_PREFIX);
	evbuffer_add_printf(out, "20 text/plain\r\n");
	errno = 0;
	if (strcmp(name, "open-outside") == 0 || strcmp(name, "open-key") == 0)
		rc = try_open(arg, O_RDONLY);
	else if (strcmp(name, "write-root") == 0)
		rc = openat(site->rootfd, arg, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	else if (strcmp(name, "connect") == 0)
		rc = try_connect(atoi(arg));
	else if (strcmp(name, "connect-unix") == 0)
		rc = try_connect_unix(arg);
	else if (strcmp(name, "exec") == 0)
		rc = try_exec();
	else if (strcmp(name, "ptrace") == 0)
		rc = (int)ptrace(PTRACE_ATTACH, (pid_t)atoi(arg), NULL, NULL);
	else if (strcmp(name, "key-memory") == 0)
		rc = try_key_memory(s, site);
	else if (strcmp(name, "publish") == 0) {
		try_publish(s, site, arg, out);
		return true;
	} else {
		evbuffer_add_printf(out, "%s: no such attempt\n", name);
		return true;
	}
	if (rc >= 0 && strcmp(name, "write-root") == 0)
		close(rc);
	outcome(out, name, rc < 0 ? -1 : 0, errno);
	return true;
}
