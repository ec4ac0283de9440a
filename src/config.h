/*
 * Configuration: server/gazette.conf, parsed from a declarative table of keys
 * (name, type, bounds, default), shared by the file parser, -o overrides and
 * the reference in gazette.conf(5).
 */
#ifndef GAZETTE_CONFIG_H
#define GAZETTE_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define CONFIG_MAX_HOSTS 32
#define CONFIG_PATH_MAX 1024

struct host_config {
	char name[256];			/* lowercased; IDNs in A-label form */
	char root[CONFIG_PATH_MAX];	/* the content folder */
	char cert[CONFIG_PATH_MAX];
	char key[CONFIG_PATH_MAX];
	char title[256];
	char description[1024];
	char lang[64];			/* BCP 47 tags, comma-separated */
	int home_posts;			/* posts on the home page */
	int feed_posts;			/* entries in the Atom feed */
	int max_post_size;		/* bytes of a post file read */
};

struct config {
	char file[CONFIG_PATH_MAX];	/* the file read, for messages */
	char user[64];
	char listen[256];		/* addresses, space-separated; "*" is every one */
	int gemini_port;
	int gopher_port;		/* 0: no Gopher */
	bool gopher_tls;		/* also accept TLS on the Gopher port */
	char gopher_host[256];		/* named in Gopher menus; "": the first host's name */
	int gopher_public_port;		/* named in Gopher menus; 0: gopher_port */
	int workers;			/* worker processes; 0: one per core */
	int max_connections;
	int client_connections;		/* open at once from one client; 0: no limit */
	int client_rate;		/* requests a second from one client; 0: no limit */
	int client_burst;		/* requests a client may make at once */
	int request_timeout_ms;		/* handshake plus request line */
	int write_timeout_ms;		/* a response that makes no progress */
	char log_file[CONFIG_PATH_MAX];	/* "-" stderr, "syslog", or a file */
	int search_results;		/* matches shown at most */
	int cache_size;			/* bytes of rendered pages kept per host and worker */
	int search_time_ms;		/* reading post bodies stops after this */
	bool access_log;
	int nhosts;
	struct host_config hosts[CONFIG_MAX_HOSTS];
};

/* Sets every key to its default; no host. */
void config_defaults(struct config *c);

/*
 * Reads path into c (which config_defaults prepared). On error returns -1 and
 * writes "FILE:LINE: message" into err.
 */
int config_load(struct config *c, const char *path, char *err, size_t errsize);

/* Applies one "key=value" global override (the -o flag). */
int config_override(struct config *c, const char *assignment, char *err, size_t errsize);

/* Fills what depends on other keys (certificate paths) and checks the whole. */
int config_finish(struct config *c, char *err, size_t errsize);

/* The host whose name is name (case-insensitive), or NULL. */
const struct host_config *config_find_host(const struct config *c, const char *name);

#endif
