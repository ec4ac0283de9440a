/*
 * The URL map in one place: what a path names, whichever protocol asks.
 * Gemini paths and Gopher selectors are the same strings, so one resolver
 * decides for both: the generated pages (from the post index), the posts,
 * the static files and folders under the root, what a page is cached under
 * and for how long. A protocol says what it can serve (struct resolve_proto),
 * then renders the answer its own way; gemini.c and gopher.c hold nothing
 * else but framing, their protocol's checks and their renderings.
 *
 *   /                          home                      DOC
 *   /archive/ (and /posts/)    every month               DOC
 *   /archive/YYYY/             a year                    DOC
 *   /archive/YYYY/MM/          a month                   DOC
 *   /tags/, /tags/NAME/        tags; a tag's posts       DOC
 *   /posts/NAME.gmi            a post (post_pages)       DOC
 *   /posts/NAME.txt            the post as text (post_text), else the file
 *                                                        POST or FILE
 *   /search[?words]            results, or a prompt      DOC or INPUT
 *   /atom.xml                  the feed (feed)           FEED
 *   /caps.txt                  capabilities (caps)       TEXT, else a file
 *   anything else              a file or folder          FILE, DOC (listing),
 *                                                        GOPHERMAP, REDIRECT
 *
 * A folder named without its '/' is redirected (redirects) or served; a
 * folder's index.gmi (folder_index) or gophermap (gophermaps) stands for it.
 * A generated page is answered CACHED when it was rendered before for this
 * index version; after rendering one, the protocol hands it to resolve_keep.
 */
#ifndef GAZETTE_RESOLVE_H
#define GAZETTE_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/buffer.h>

#include "atom.h"
#include "doc.h"
#include "files.h"
#include "gophermap.h"
#include "index.h"
#include "post.h"
#include "response.h"
#include "url.h"

struct server;
struct site;
struct cache;

/* What a protocol serves beyond what both do. */
struct resolve_proto {
	char cache_prefix;	/* its rendered pages are its own: 'g', 'o' */
	bool post_pages;	/* /posts/NAME.gmi */
	bool post_text;		/* /posts/NAME.txt as the post (for wrapping), else the file */
	bool feed;		/* /atom.xml */
	bool caps;		/* /caps.txt made from the configuration */
	bool folder_index;	/* a folder's index.gmi */
	bool gophermaps;	/* a folder's gophermap */
	bool redirects;		/* a folder without its '/' is redirected, else served */
	bool asks_input;	/* /search without words asks for them (status 10) */
	bool query_encoded;	/* the words come percent-encoded (a URL's query) */
	bool item_types;	/* listings need each file's Gopher item type */
	bool utf8_names;	/* its requests name files in UTF-8 without controls only */
	bool titan;		/* authors' pages: /write/, links to write with (titan.h) */
};

/* Who asks, for what only a site's authors see. */
enum resolve_author {
	AUTHOR_NO_CERT,		/* no client certificate */
	AUTHOR_OTHER,		/* a certificate not among the site's authors */
	AUTHOR_YES,		/* one of them: cached apart from everyone else's */
};

enum answer_kind {
	ANSWER_CACHED,		/* the page, rendered before: already added to out */
	ANSWER_DOC,		/* a page to render: doc */
	ANSWER_FEED,		/* the Atom feed: feed, entries */
	ANSWER_POST,		/* a post in full, to send as text: post */
	ANSWER_FILE,		/* a file to stream: file (its fd is the answer's), type, item */
	ANSWER_GOPHERMAP,	/* a folder's gophermap: map; doc is its listing, for "*" */
	ANSWER_TEXT,		/* text made here (caps.txt): text */
	ANSWER_REDIRECT,	/* to path, which ends with '/' */
	ANSWER_INPUT,		/* ask for search words: message */
	ANSWER_STATUS,		/* status (51, 40, 59) and message */
	ANSWER_WAIT,		/* ask again once wait is over */
	ANSWER_FASTCGI,		/* the application of fastcgi line status answers (gateway.h) */
};

struct answer {
	enum answer_kind kind;
	enum response_wait wait;	/* WAIT: what for */
	int status;
	const char *message;
	struct doc doc;
	bool has_doc;
	struct files_entry file;
	const char *type;	/* FILE: the media type */
	char item;		/* FILE: the Gopher item type */
	struct post post;
	bool has_post;
	char *map;		/* GOPHERMAP: the file's bytes */
	size_t map_len;
	char *intro;		/* DOC of the home page: the author's introduction */
	char path[URL_MAX + 2];	/* REDIRECT: where to; GOPHERMAP: the folder */
	struct evbuffer *text;
	/* FEED */
	struct atom_feed feed;
	char feed_base[300];
	struct atom_entry *entries;
	struct post *full;
	struct index_meta *metas;
	size_t nentries;
	/* Where a page rendered from this answer is kept, when keep is set. */
	bool keep;
	struct cache *cache;
	unsigned long version;
	char key[URL_MAX + 128];	/* a path, and for a folder what it was made from */
};

struct resolve_request {
	const struct server *srv;
	const struct site *site;
	const struct resolve_proto *proto;
	const char *path;	/* decoded and normalised: from '/', no dot segments */
	const char *query;	/* the search words, as they came (see query_encoded); NULL: none */
	bool may_wait;		/* may answer ANSWER_WAIT */
	unsigned long *ticket;	/* what a WAIT waits for (store_behind) */
	struct evbuffer *out;	/* a CACHED page is added here */
	enum resolve_author author;	/* AUTHOR_NO_CERT where there are no certificates */
};

/* Fills a (which answer_clear then empties) with what rq names. */
void resolve(const struct resolve_request *rq, struct answer *a);

/* Keeps the page rendered from a (status 20 only), if its answer says so. */
void resolve_keep(const struct answer *a, int status, const struct evbuffer *out);

void answer_clear(struct answer *a);

#endif
