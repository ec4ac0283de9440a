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
#include <sys/socket.h>

#define CONFIG_MAX_HOSTS 32
#define CONFIG_PATH_MAX 1024
#define CONFIG_MAX_CERT_PATHS 16	/* require_cert prefixes per host */
#define CONFIG_MAX_CERT_FPS 128		/* require_cert fingerprints per host, all prefixes */
#define CONFIG_FP_SIZE 32		/* a SHA-256 fingerprint, in bytes */
#define CONFIG_MAX_AUTHORS 64		/* authors' fingerprints per host */
#define CONFIG_MAX_FASTCGI 8		/* fastcgi prefixes per host */
#define CONFIG_MAX_WORKERS 256
#define CONFIG_MAX_KEYS 64		/* entries of config.c's key table */

/* A require_cert line: a path prefix under which a client certificate is needed. */
struct config_cert_path {
	char prefix[256];		/* decoded, as a request's path */
	bool restricted;		/* only the fingerprints listed for it may enter */
};

/* A fastcgi line: requests under prefix go to the application at addr. */
struct config_fastcgi {
	char prefix[256];		/* decoded, as a request's path */
	char target[CONFIG_PATH_MAX];	/* as written: unix:PATH or tcp:ADDRESS:PORT */
	char script[CONFIG_PATH_MAX];	/* sent as SCRIPT_FILENAME (fcgiwrap's); "": none */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/* A fingerprint a require_cert line lists, and the prefix it opens. */
struct config_cert_fp {
	unsigned char sha256[CONFIG_FP_SIZE];
	int path;			/* index in cert_paths */
};

struct host_config {
	char name[256];			/* lowercased; IDNs in A-label form */
	char root[CONFIG_PATH_MAX];	/* the content folder */
	char cert[CONFIG_PATH_MAX];
	char key[CONFIG_PATH_MAX];
	char title[256];
	char description[1024];
	char lang[64];			/* BCP 47 tags, comma-separated */
	int home_posts;			/* posts on the home page */
	int page_size;			/* entries on a page of a long list */
	int feed_posts;			/* entries in the Atom feed */
	int max_post_size;		/* bytes of a post file read */
	int ncert_paths;
	struct config_cert_path cert_paths[CONFIG_MAX_CERT_PATHS];
	int ncert_fps;
	struct config_cert_fp cert_fps[CONFIG_MAX_CERT_FPS];
	bool titan;			/* authors may upload posts (titan.h) */
	int nauthors;
	unsigned char authors[CONFIG_MAX_AUTHORS][CONFIG_FP_SIZE];
	char titan_token[128];		/* a Titan upload must carry it; "": none */
	char titan_files[1024];		/* folders taking uploads of any file (titan_folders) */
	int titan_max_size;		/* bytes of an upload */
	int titan_versions;		/* earlier versions kept of each file; 0: all */
	int nfastcgi;
	struct config_fastcgi fastcgi[CONFIG_MAX_FASTCGI];
};

struct config {
	char file[CONFIG_PATH_MAX];	/* the file read, for messages */
	char user[64];
	char chroot[CONFIG_PATH_MAX];	/* workers chroot here; "": they do not */
	char state_dir[CONFIG_PATH_MAX];	/* the search indexes; "": no search */
	bool seccomp;			/* workers filter their system calls */
	char listen[256];		/* addresses, space-separated; "*" is every one */
	int gemini_port;
	int gopher_port;		/* 0: no Gopher */
	bool gopher_tls;		/* also accept TLS on the Gopher port */
	bool gopher_text_terminator;	/* RFC 1436's "." line after type-0 text */
	char gopher_host[256];		/* named in Gopher menus; "": the first host's name */
	int gopher_public_port;		/* named in Gopher menus; 0: gopher_port */
	int workers;			/* worker processes; 0: one per core */
	int max_connections;
	int client_connections;		/* open at once from one client; 0: no limit */
	int client_rate;		/* requests a second from one client; 0: no limit */
	int client_burst;		/* requests a client may make at once */
	int request_timeout_ms;		/* handshake plus request line */
	int write_timeout_ms;		/* a response that makes no progress */
	int fastcgi_timeout_ms;		/* a FastCGI application's connect, first byte, silence */
	int fastcgi_connections;	/* open to each application at once, all workers */
	bool proxy_protocol;		/* every connection starts with a PROXY header */
	char proxy_from[512];		/* peers that may send one (proxy.h); "": any */
	char log_file[CONFIG_PATH_MAX];	/* "-" stderr, "syslog", or a file */
	char log_clients[8];		/* full, masked (last IPv4 byte, IPv6 past /48), none */
	int cache_size;			/* bytes of rendered pages kept per host and worker */
	bool access_log;
	int ticket_rotation_ms;		/* a new session-ticket key this often */
	char ticket_key_file[CONFIG_PATH_MAX];	/* or the key from here; "": none */
	int nhosts;
	struct host_config hosts[CONFIG_MAX_HOSTS];
	/* Where each global key was set: its line in file, -1 for -o, 0 the default. */
	int key_line[CONFIG_MAX_KEYS];
};

/* The worker processes c runs: workers, or one per core; 1 to 256. */
int config_workers(const struct config *c);

/* Sets every key to its default; no host (hosts past nhosts are not even cleared). */
void config_defaults(struct config *c);

/*
 * Reads path into c (which config_defaults prepared). On error returns -1 and
 * writes "FILE:LINE: message" into err.
 */
int config_load(struct config *c, const char *path, char *err, size_t errsize);

/*
 * The parser config_load uses, on len bytes of buf (no NUL needed); name is
 * the FILE of its messages. Lines end with LF or CRLF and hold at most 4094
 * bytes. Does not set c->file.
 */
int config_parse(struct config *c, const char *name, const char *buf, size_t len,
    char *err, size_t errsize);

/* Applies one "key=value" global override (the -o flag). */
int config_override(struct config *c, const char *assignment, char *err, size_t errsize);

/* Fills what depends on other keys (certificate paths) and checks the whole. */
int config_finish(struct config *c, char *err, size_t errsize);

/*
 * Checks what only the file system can tell: every root exists and can be
 * read, and lies inside the chroot folder when there is one.
 */
int config_check_paths(const struct config *c, char *err, size_t errsize);

/*
 * Where the global key was set, for a message about its value: "FILE:LINE",
 * "-o KEY", or "FILE" for a default. Returns buf.
 */
const char *config_where(const struct config *c, const char *key, char *buf, size_t size);

/* The host whose name is name (case-insensitive), or NULL. */
const struct host_config *config_find_host(const struct config *c, const char *name);

/*
 * The require_cert prefix of h that covers path (a request's decoded path),
 * or NULL. The longest prefix that matches wins; one that ends in '/' also
 * covers the folder named without it ("/private" for "/private/").
 */
const struct config_cert_path *config_cert_path(const struct host_config *h,
    const char *path);

/*
 * The fastcgi line of h whose prefix covers path, or NULL: the longest
 * prefix that matches wins; one that ends in '/' also covers the folder
 * named without it.
 */
const struct config_fastcgi *config_fastcgi(const struct host_config *h, const char *path);

/* Whether the certificate whose SHA-256 is sha256 is one of h's authors. */
bool config_is_author(const struct host_config *h, const unsigned char *sha256);

/* Whether the certificate whose SHA-256 is sha256 may enter p. */
bool config_cert_allowed(const struct host_config *h, const struct config_cert_path *p,
    const unsigned char *sha256);

#endif
