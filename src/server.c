/*
 * Listeners, accept, signals and the event loop. Accepting pauses while
 * max_connections are open (and for a moment after EMFILE), so a flood queues
 * in the kernel's backlog instead of exhausting descriptors.
 */
#include "server.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/async.h>

#include "cache.h"
#include "conn.h"
#include "ctl.h"
#include "gemini.h"
#include "gopher.h"
#include "keys.h"
#include "log.h"
#include "mime.h"
#include "searcher.h"

#define WORKER_HEAP_KEEP (32 * 1024 * 1024)	/* freed heap kept while busy */
#define WORKER_MMAP_MIN (1024 * 1024)	/* smaller blocks come from the heap */

#define LISTEN_BACKLOG 1024
#define ACCEPT_BATCH 64
#define ACCEPT_RETRY_MS 100
#define INDEX_TICK_MS 2		/* requests waiting for the index look again this often */

int
server_init(struct server *s, const struct config *cfg, struct tickets *tickets,
    struct quota *quota, char *err, size_t errsize)
{
	const char *why;
	int i;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->ctl = -1;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->waiting);
	TAILQ_INIT(&s->publishing);
	TAILQ_INIT(&s->calling);
	s->publisher = -1;
	for (i = 0; i < CONFIG_MAX_HOSTS; i++)
		s->sites[i].rootfd = -1;
	for (i = 0; i < SERVER_MAX_LISTENERS; i++)
		s->listeners[i].fd = -1;
	if ((s->mime = mime_new(err, errsize)) == NULL)
		return -1;
	s->quota = quota;
	s->quota_ledger = -1;
	/* fastcgi_connections is shared out: each worker opens its part, rounded up. */
	s->fcgi_share = (cfg->fastcgi_connections + config_workers(cfg) - 1) / config_workers(cfg);
	s->limits = (struct quota_limits){ cfg->client_connections, cfg->client_rate,
	    cfg->client_burst };
	s->nproxy_from = proxy_nets_parse(cfg->proxy_from, s->proxy_from, PROXY_MAX_NETS, &why);
	if (s->nproxy_from == -1) {
		snprintf(err, errsize, "%s", why);
		return -1;
	}
	for (i = 0; i < cfg->nhosts; i++) {
		struct site *site = &s->sites[i];
		site->cfg = &cfg->hosts[i];
		site->rootfd = open(site->cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (site->rootfd == -1) {
			snprintf(err, errsize, "host %s: root %s: %s", site->cfg->name,
			    site->cfg->root, strerror(errno));
			return -1;
		}
		site->mime = s->mime;
		site->store = store_new(site->rootfd, (size_t)site->cfg->max_post_size);
		site->cache = cache_new((size_t)cfg->cache_size);
		if (site->store == NULL || site->cache == NULL) {
			snprintf(err, errsize, "out of memory");
			store_free(site->store);
			cache_free(site->cache);
			close(site->rootfd);
			return -1;
		}
		s->nsites++;
	}
	if (tls_init(&s->tls, cfg, tickets, err, errsize) == -1)
		return -1;
	return 0;
}

const struct site *
server_find_site(const struct server *s, const char *name)
{
	int i;

	for (i = 0; i < s->nsites; i++)
		if (strcasecmp(s->sites[i].cfg->name, name) == 0)
			return &s->sites[i];
	return NULL;
}

static void
set_accepting(struct server *s, bool on)
{
	int i;

	if (on == !s->accept_paused)
		return;
	s->accept_paused = !on;
	for (i = 0; i < s->nlisteners; i++) {
		if (on)
			event_add(&s->listeners[i].ev, NULL);
		else
			event_del(&s->listeners[i].ev);
	}
}

void
server_conn_opened(struct server *s)
{
	if (++s->nconns >= s->cfg->max_connections)
		set_accepting(s, false);
}

void
server_conn_closed(struct server *s)
{
	struct timeval second = { 1, 0 };

	s->nconns--;
	if (s->nconns == 0 && !evtimer_pending(&s->idle_trim, NULL))
		evtimer_add(&s->idle_trim, &second);
	if (s->stopping) {
		if (s->nconns == 0)
			event_base_loopexit(s->base, NULL);
	} else if (s->nconns < s->cfg->max_connections &&
	    !evtimer_pending(&s->accept_retry, NULL))
		set_accepting(s, true);
}

/*
 * A burst of connections leaves the heap at its peak: glibc keeps freed
 * memory for reuse. A second after the last connection closed, hand it back,
 * so a small VPS sees a worker's idle size, not its busiest moment.
 */
static void
on_idle_trim(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	if (s->nconns == 0) {
		/* No handshake is paused: the async jobs' stacks can go too. */
		ASYNC_cleanup_thread();
		malloc_trim(0);
	}
}

static void
on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	if (!s->stopping && s->nconns < s->cfg->max_connections)
		set_accepting(s, true);
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;
	struct server *s = l->srv;
	struct sockaddr_storage ss;
	struct timeval retry = { 0, ACCEPT_RETRY_MS * 1000 };
	socklen_t len;
	int i, cfd;

	(void)what;
	for (i = 0; i < ACCEPT_BATCH && !s->accept_paused; i++) {
		len = sizeof(ss);
		cfd = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warn("accept: %s; pausing", strerror(errno));
				set_accepting(s, false);
				evtimer_add(&s->accept_retry, &retry);
			}
			return;
		}
		conn_accept(s, l, cfd, (struct sockaddr *)&ss, len);
	}
}

/* Opens, binds and listens on one address; returns the socket or -1. */
static int
bind_one(const char *addr, int port, char *err, size_t errsize)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char service[8];
	int fd = -1, one = 1, rc;

	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof(service), "%d", port);
	if ((rc = getaddrinfo(addr, service, &hints, &ai)) != 0) {
		snprintf(err, errsize, "listen address %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Accepted connections inherit it (Linux): no system call per connection. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* "::" serves IPv6 only; IPv4 has its own socket, so both can be chosen. */
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 || listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	rc = errno;
	snprintf(err, errsize, "%s port %d: %s", addr, port, strerror(rc));
	if (fd != -1)
		close(fd);
	freeaddrinfo(ai);
	errno = rc;
	return -1;
}

/*
 * A duplicate of old's socket for the same address, port and protocol, if
 * any: the same queue of connections, while old keeps its own descriptor.
 */
static int
take_listener(const struct server *old, const char *name, enum proto proto)
{
	int i;

	for (i = 0; old != NULL && i < old->nlisteners; i++) {
		const struct listener *l = &old->listeners[i];
		if (l->fd != -1 && l->proto == proto && strcmp(l->addr, name) == 0)
			return fcntl(l->fd, F_DUPFD_CLOEXEC, 0);
	}
	return -1;
}

static int
add_listener(struct server *s, const struct server *old, const char *addr, int port,
    enum proto proto, bool optional, char *err, size_t errsize)
{
	struct listener *l;
	char name[sizeof(l->addr)];
	int fd;

	if (s->nlisteners == SERVER_MAX_LISTENERS) {
		snprintf(err, errsize, "too many listen addresses");
		errno = EINVAL;		/* no bind_hint for it */
		return -1;
	}
	snprintf(name, sizeof(name), strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, port);
	if ((fd = take_listener(old, name, proto)) == -1 &&
	    (fd = bind_one(addr, port, err, errsize)) == -1) {
		/* "*" asks for IPv6 too; a machine without it is not an error. */
		if (optional && errno != EADDRINUSE && errno != EACCES) {
			log_warn("not listening on %s: %s", addr, err);
			return 0;
		}
		return -1;
	}
	l = &s->listeners[s->nlisteners++];
	l->fd = fd;
	l->proto = proto;
	l->ops = proto == PROTO_GEMINI ? &gemini_ops : &gopher_ops;
	l->tls = proto == PROTO_GEMINI;
	l->tls_sniff = proto == PROTO_GOPHER && s->cfg->gopher_tls;
	l->proxy = s->cfg->proxy_protocol;
	l->srv = s;
	memcpy(l->addr, name, sizeof(name));
	return 0;
}

/* Adds to a bind error what to do about it; returns -1. */
static int
bind_hint(char *err, size_t errsize, enum proto p, int port)
{
	const char *key = p == PROTO_GEMINI ? "gemini_port" : "gopher_port";
	size_t n = strlen(err);

	if (errno == EADDRINUSE)
		snprintf(err + n, errsize - n, "; another program has port %d: stop it, or set "
		    "another (%s = N, or -o %s=N)", port, key, key);
	else if (errno == EACCES && port < 1024)
		snprintf(err + n, errsize - n, "; ports below 1024 need root (or "
		    "CAP_NET_BIND_SERVICE): start as root, or set another (-o %s=N)", key);
	return -1;
}

int
server_listen(struct server *s, const struct server *old, char *err, size_t errsize)
{
	const int ports[] = { [PROTO_GEMINI] = s->cfg->gemini_port,
	    [PROTO_GOPHER] = s->cfg->gopher_port };
	char list[sizeof(s->cfg->listen)], *addr, *save;
	int p;

	for (p = PROTO_GEMINI; p <= PROTO_GOPHER; p++) {
		if (ports[p] == 0)
			continue;
		memcpy(list, s->cfg->listen, sizeof(list));
		for (addr = strtok_r(list, " \t,", &save); addr != NULL;
		    addr = strtok_r(NULL, " \t,", &save)) {
			if (strcmp(addr, "*") == 0) {
				if (add_listener(s, old, "0.0.0.0", ports[p], p, false, err,
				    errsize) == -1 || add_listener(s, old, "::", ports[p], p, true,
				    err, errsize) == -1)
					return bind_hint(err, errsize, p, ports[p]);
			} else if (add_listener(s, old, addr, ports[p], p, false, err,
			    errsize) == -1)
				return bind_hint(err, errsize, p, ports[p]);
		}
	}
	if (s->nlisteners == 0) {
		snprintf(err, errsize, "nothing to listen on");
		return -1;
	}
	if (s->cfg->proxy_protocol)
		log_info("every connection must start with a PROXY protocol header, "
		    "sent from %s", s->nproxy_from ? s->cfg->proxy_from : "any address");
	return 0;
}

/* Takes no new connection, lets the ones with a request finish, then exits the loop. */
static void
server_stop(struct server *s)
{
	int i;

	s->stopping = true;
	set_accepting(s, false);
	evtimer_del(&s->accept_retry);
	for (i = 0; i < s->nlisteners; i++) {
		close(s->listeners[i].fd);
		s->listeners[i].fd = -1;
	}
	/* A reload's handover waits for this: no request reaches the old configuration now. */
	if (s->ctl != -1)
		ctl_send_type(s->ctl, CTL_RETIRED);
	conn_close_idle(s);
	if (s->nconns == 0)
		event_base_loopexit(s->base, NULL);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;

	(void)what;
	if ((sig == SIGTERM || sig == SIGINT) && !s->stopping) {
		log_info("%s: finishing %d connection(s), then exiting",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT", s->nconns);
		server_stop(s);
	}
}

/*
 * The indexer may have caught up without a new image (the change was a file
 * still being written, which the index leaves out): the waiting ask again.
 */
static void
on_index_tick(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct timeval tick = { 0, INDEX_TICK_MS * 1000 };

	(void)fd;
	(void)what;
	conn_resume_waiting(s);
	if (!TAILQ_EMPTY(&s->waiting))
		evtimer_add(&s->index_tick, &tick);
}

void
server_wait_index(struct server *s)
{
	struct timeval tick = { 0, INDEX_TICK_MS * 1000 };

	if (!evtimer_pending(&s->index_tick, NULL))
		evtimer_add(&s->index_tick, &tick);
}

/* Index images from the supervisor; its end closing means it is gone. */
static void
on_ctl(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct ctl_msg m;
	char err[256];
	int rc, passed;

	(void)what;
	while ((rc = ctl_recv(fd, &m, &passed)) == 1) {
		if (m.type == CTL_IMAGE && passed != -1 && m.site < s->nsites &&
		    store_set_image(s->sites[m.site].store, passed, err, sizeof(err)) == -1)
			log_err("%s: %s", s->sites[m.site].cfg->name, err);
		if (m.type == CTL_CONNECTED) {
			conn_fcgi_socket(s, &m, passed);
			passed = -1;
		}
		if (passed != -1)
			close(passed);
	}
	conn_resume_waiting(s);
	if (rc == -1 && !s->stopping) {
		log_err("the supervisor is gone: finishing %d connection(s), then exiting",
		    s->nconns);
		event_del(s->ctl_ev);
		server_stop(s);
	}
}

/* The channel can take log lines again. */
static void
on_log_writable(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	log_flush();
	if (log_backlog())
		event_add(s->log_ev, NULL);
}

static void
on_log_backlog(void *arg)
{
	struct server *s = arg;

	if (s->log_ev != NULL)
		event_add(s->log_ev, NULL);
}

/* The key holder's answers: each wakes the handshake it is for. */
static void
on_keys(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)what;
	if (keys_hear(fd) == -1)
		event_del(s->keys_ev);
}

/* The publisher's answers: each ends the upload it is for. */
static void
on_publisher(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct ctl_msg m;
	int rc, passed;

	(void)what;
	while ((rc = ctl_recv(fd, &m, &passed)) == 1) {
		if (passed != -1)
			close(passed);
		if (m.type == CTL_PUBLISHED)
			conn_published(s, &m);
	}
	if (rc == -1)
		event_del(s->publisher_ev);
}

/* Searches finished on the search thread: the requests waiting for them look again. */
static void
on_search_done(void *arg)
{
	conn_resume_waiting(arg);
}

int
server_prepare(struct server *s, int ctl)
{
	static const int sigs[] = { SIGTERM, SIGINT };
	size_t i;
	int l;

	signal(SIGPIPE, SIG_IGN);
	/*
	 * Under load, glibc would give the top of the heap back and take it
	 * again between connections (brk, page faults, TLB flushes on every
	 * burst); on_idle_trim gives it back once, when the worker is idle.
	 */
	mallopt(M_TRIM_THRESHOLD, WORKER_HEAP_KEEP);
	mallopt(M_MMAP_THRESHOLD, WORKER_MMAP_MIN);
	if ((s->base = event_base_new()) == NULL) {
		log_err("event_base_new failed");
		return -1;
	}
	evtimer_assign(&s->accept_retry, s->base, on_accept_retry, s);
	evtimer_assign(&s->idle_trim, s->base, on_idle_trim, s);
	evtimer_assign(&s->index_tick, s->base, on_index_tick, s);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		s->signals[i] = evsignal_new(s->base, sigs[i], on_signal, s);
		evsignal_add(s->signals[i], NULL);
	}
	s->ctl = ctl;
	/* Upload ids of a worker never meet its predecessor's, still queued in the slot's socket. */
	s->upload_ids = (unsigned long long)getpid() << 32;
	s->call_ids = s->upload_ids;
	if ((s->scratch = malloc(CONN_FILE_CHUNK)) == NULL) {
		log_err("out of memory");
		return -1;
	}
	s->ctl_ev = event_new(s->base, ctl, EV_READ | EV_PERSIST, on_ctl, s);
	s->log_ev = event_new(s->base, ctl, EV_WRITE, on_log_writable, s);
	if (s->ctl_ev == NULL || s->log_ev == NULL) {
		log_err("event_new failed");
		return -1;
	}
	event_add(s->ctl_ev, NULL);
	if (s->tls.n > 0 && s->tls.keyref[0].fd != -1) {
		if ((s->keys_ev = event_new(s->base, s->tls.keyref[0].fd, EV_READ | EV_PERSIST,
		    on_keys, s)) == NULL) {
			log_err("event_new failed");
			return -1;
		}
		event_add(s->keys_ev, NULL);
	}
	if (s->publisher != -1) {
		if ((s->publisher_ev = event_new(s->base, s->publisher, EV_READ | EV_PERSIST,
		    on_publisher, s)) == NULL) {
			log_err("event_new failed");
			return -1;
		}
		event_add(s->publisher_ev, NULL);
	}
	if ((s->searcher = searcher_new(s->base, on_search_done, s)) == NULL) {
		log_err("out of memory");
		return -1;
	}
	log_on_backlog(on_log_backlog, s);
	if (log_backlog())
		event_add(s->log_ev, NULL);
	for (l = 0; l < s->nlisteners; l++) {
		struct listener *li = &s->listeners[l];
		event_assign(&li->ev, s->base, li->fd, EV_READ | EV_PERSIST, on_accept, li);
		event_add(&li->ev, NULL);
	}
	return 0;
}

int
server_run(struct server *s)
{
	event_base_dispatch(s->base);
	conn_close_all(s);
	return 0;
}

void
server_clear(struct server *s)
{
	size_t i;
	int j;

	for (i = 0; i < sizeof(s->signals) / sizeof(s->signals[0]); i++)
		if (s->signals[i] != NULL)
			event_free(s->signals[i]);
	for (j = 0; j < s->nlisteners; j++)
		if (s->listeners[j].fd != -1) {
			if (s->base != NULL)
				event_del(&s->listeners[j].ev);
			close(s->listeners[j].fd);
		}
	for (j = 0; j < s->nsites; j++) {
		store_free(s->sites[j].store);
		cache_free(s->sites[j].cache);
		close(s->sites[j].rootfd);
		free(s->sites[j].search_db);
	}
	searcher_free(s->searcher);
	if (s->ctl_ev != NULL)
		event_free(s->ctl_ev);
	if (s->keys_ev != NULL)
		event_free(s->keys_ev);
	if (s->publisher_ev != NULL)
		event_free(s->publisher_ev);
	if (s->log_ev != NULL) {
		log_on_backlog(NULL, NULL);
		event_free(s->log_ev);
	}
	tls_clear(&s->tls);
	mime_free(s->mime);
	free(s->scratch);
	if (s->base != NULL)
		event_base_free(s->base);
	memset(s, 0, sizeof(*s));
}
