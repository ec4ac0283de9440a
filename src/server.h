/* The server: sites, listeners, the event loop and its connections. */
#ifndef GAZETTE_SERVER_H
#define GAZETTE_SERVER_H

#include <stdbool.h>
#include <sys/queue.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "config.h"
#include "proxy.h"
#include "quota.h"
#include "store.h"
#include "tls.h"

#define SERVER_MAX_LISTENERS 16

/* One served host at run time. */
struct site {
	const struct host_config *cfg;
	int rootfd;
	struct store *store;	/* the posts under rootfd/posts, as the indexer sees them */
	struct cache *cache;	/* its rendered pages */
	struct mime *mime;	/* the server's */
	char *search_db;	/* its search index, as a worker opens it; NULL: none */
	int fcgi_open[CONFIG_MAX_FASTCGI];	/* connections to each application */
};

enum proto {
	PROTO_GEMINI,
	PROTO_GOPHER,
};

struct proto_ops;

struct listener {
	int fd;
	enum proto proto;
	const struct proto_ops *ops;	/* how its requests are framed and answered */
	bool tls;		/* every connection is TLS */
	bool tls_sniff;		/* a connection may be TLS: its first byte tells */
	struct event ev;
	char addr[64];		/* for messages: "127.0.0.1:1965" */
	bool proxy;		/* connections start with a PROXY protocol header */
	struct server *srv;
};

struct conn;
TAILQ_HEAD(conn_list, conn);

struct server {
	const struct config *cfg;
	struct tls tls;
	struct site sites[CONFIG_MAX_HOSTS];
	int nsites;
	struct event_base *base;
	struct listener listeners[SERVER_MAX_LISTENERS];
	int nlisteners;
	struct conn_list conns;
	int nconns;
	struct conn_list waiting;	/* for a fresher post index, or a search */
	struct searcher *searcher;	/* a worker's search thread */
	struct event index_tick;	/* ... and how often they ask again */
	struct quota *quota;	/* per-client limits: the supervisor's table, shared */
	int quota_ledger;	/* this worker's ledger in it, or -1 */
	struct quota_limits limits;
	struct mime *mime;	/* media types of static files */
	char *scratch;		/* CONN_FILE_CHUNK bytes for a file being filtered */
	int ctl;		/* a worker's channel to the supervisor, or -1 */
	struct event *ctl_ev;	/* ... readable: index images */
	struct event *keys_ev;	/* the key holder's socket: answers */
	int publisher;		/* a worker's socket to the publisher, or -1 (publisher.h) */
	struct event *publisher_ev;	/* ... its answers */
	struct conn_list publishing;	/* uploads waiting for it */
	unsigned long long upload_ids;
	long long upload_bytes;	/* bytes of upload bodies held (conn.c bounds them) */
	struct conn_list calling;	/* FastCGI calls waiting for a connection, then their socket */
	unsigned long long call_ids;
	int fcgi_share;		/* connections to one application this worker may open */
	struct event *log_ev;	/* ... writable again, while log lines wait */
	struct proxy_net proxy_from[PROXY_MAX_NETS];	/* who may send PROXY headers */
	int nproxy_from;	/* 0: anyone who reaches a proxy listener */
	bool accept_paused;
	bool stopping;
	struct event accept_retry;	/* after EMFILE: try again shortly */
	struct event idle_trim;		/* gives freed memory back once idle */
	struct event *signals[4];
};

/*
 * Loads what every request needs: certificates, TLS contexts, the content
 * roots, and the magic database. tickets and quota are the supervisor's,
 * shared by every generation: session-ticket keys (so resumption survives a
 * reload) and the table of per-client limits. The posts come later, as
 * index images (store_set_image). Returns -1 with err set.
 */
struct tickets;
int server_init(struct server *s, const struct config *cfg, struct tickets *tickets,
    struct quota *quota, char *err, size_t errsize);

/*
 * Binds every configured address and port; for one old already has, a
 * duplicate of old's socket is taken instead (a reload keeps its queue of
 * connections, and old keeps its own until it is freed, so a reload that
 * fails later leaves it whole). Returns -1 with err set.
 */
int server_listen(struct server *s, const struct server *old, char *err, size_t errsize);

/*
 * Creates a worker's event loop and registers listeners, signals and its
 * channel ctl to the supervisor (index images come down it, log lines go up):
 * every system call that needs is made here, before the worker confines
 * itself.
 */
int server_prepare(struct server *s, int ctl);

/* Runs the event loop until SIGTERM or SIGINT and the last response is out. */
int server_run(struct server *s);

void server_clear(struct server *s);

/* A connection started to wait for a fresher post index. */
void server_wait_index(struct server *s);

/* Connections call these as they come and go. */
void server_conn_opened(struct server *s);
void server_conn_closed(struct server *s);

/* The site serving name, or NULL. */
const struct site *server_find_site(const struct server *s, const char *name);

#endif
