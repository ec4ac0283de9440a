#include "resolve.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "log.h"
#include "mime.h"
#include "pages.h"
#include "route.h"
#include "searcher.h"
#include "server.h"
#include "store.h"
#include "text.h"
#include "titan.h"
#include "utf8.h"

#define GOPHERMAP_MAX (256 * 1024)	/* bytes of a gophermap file read */

static void
status(struct answer *a, int code, const char *message)
{
	a->kind = ANSWER_STATUS;
	a->status = code;
	a->message = message;
}

/* What rendered pages are kept under: each protocol's own, an author's apart. */
static char
cache_prefix(const struct resolve_request *rq)
{
	return rq->author == AUTHOR_YES ? 'a' : rq->proto->cache_prefix;
}

static void
not_found(struct answer *a)
{
	status(a, 51, "Not found");
}

static void
being_updated(struct answer *a)
{
	status(a, 40, "This post is being updated; try again in a moment");
}

static struct doc *
new_doc(struct answer *a, enum answer_kind kind)
{
	a->kind = kind;
	if (!a->has_doc) {
		doc_init(&a->doc);
		a->has_doc = true;
	}
	return &a->doc;
}

/* The Gopher item type of a file: by extension, else by what libmagic makes of it. */
static char
item_type(const struct site *site, const char *name, int fd, const struct stat *st)
{
	char t = mime_item_by_name(name);

	return t != 0 ? t : mime_item(mime_type(site->mime, name, fd, st));
}

static void
file(const struct resolve_request *rq, struct answer *a, struct files_entry *e)
{
	a->kind = ANSWER_FILE;
	a->file = *e;
	e->fd = -1;
	a->type = mime_type(rq->site->mime, a->file.name, a->file.fd, &a->file.st);
	if (rq->proto->item_types)
		a->item = item_type(rq->site, a->file.name, a->file.fd, &a->file.st);
}

/*
 * files_open, and require_cert's rule on the real name: a symlink may not
 * lead a request from outside a protected folder into one (or from one into
 * another), so such a path names nothing.
 */
static enum files_status
open_file(const struct resolve_request *rq, const char *path, struct files_entry *e)
{
	enum files_status st = files_open(rq->site->rootfd, path, e);

	if (st != FILES_NOT_FOUND && e->linked &&
	    config_cert_path(rq->site->cfg, e->real) != config_cert_path(rq->site->cfg, path)) {
		if (e->fd != -1)
			close(e->fd);
		e->fd = -1;
		return FILES_NOT_FOUND;
	}
	return st;
}

/*
 * Gives each listed file its Gopher item type: by extension, else text or
 * binary by its first bytes (libmagic, at a fraction of a millisecond a
 * file, would hold the worker for seconds on a large folder).
 */
static void
type_items(const struct resolve_request *rq, const char *folder, struct files_item *items,
    size_t n)
{
	char path[URL_MAX + 2];
	struct files_entry e;
	size_t i;

	for (i = 0; i < n; i++) {
		if (items[i].is_dir) {
			items[i].item = '1';
			continue;
		}
		if ((items[i].item = mime_item_by_name(items[i].name)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s%s", folder, items[i].name);
		if (open_file(rq, path, &e) == FILES_OK && !e.is_dir)
			items[i].item = mime_item_sniff(e.fd);
		else
			items[i].item = '9';
		if (e.fd != -1)
			close(e.fd);
	}
}

/*
 * Links to this capsule's own files whose names do not tell their Gopher
 * item type (a post linking to gemini://HOST/files/blob): typed by looking.
 */
static void
type_links(const struct resolve_request *rq, struct doc *d)
{
	struct files_entry e;
	size_t i;

	for (i = 0; i < d->n; i++) {
		struct doc_block *b = &d->blocks[i];
		if (b->type != DOC_LINK || b->sel == NULL || b->sel_host != NULL || b->item != 0)
			continue;
		switch (open_file(rq, b->sel, &e)) {
		case FILES_OK:
			b->item = e.is_dir ? '1' : item_type(rq->site, e.name, e.fd, &e.st);
			break;
		case FILES_NEEDS_SLASH:
			b->item = '1';
			break;
		default:
			b->item = '9';
			break;
		}
		if (e.fd != -1)
			close(e.fd);
	}
}

/* A name a Gemini URL can carry: UTF-8, no control character. */
static bool
requestable(const char *name)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return utf8_valid(name, strlen(name));
}

/*
 * The listing of folder (open as dirfd) into a->doc: every entry, or, for a
 * gophermap's "*", those it does not hide (hidden not NULL).
 */
static int
listing(const struct resolve_request *rq, struct answer *a, const char *folder, int dirfd,
    const struct gophermap_hidden *hidden)
{
	struct files_item *items;
	size_t n, i, kept = 0;

	if (files_list(rq->site->rootfd, folder, dirfd, &items, &n) == -1) {
		log_warn("cannot list %s: %m", folder);
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* A file the protocol cannot ask for is no link: it would only ever get 59. */
		if ((hidden != NULL && (gophermap_hides(hidden, items[i].name) ||
		    strcmp(items[i].name, "gophermap") == 0)) ||
		    (rq->proto->utf8_names && !requestable(items[i].name)))
			free(items[i].name);
		else
			items[kept++] = items[i];
	}
	if (rq->proto->item_types)
		type_items(rq, folder, items, kept);
	if (hidden != NULL)
		pages_folder_entries(new_doc(a, a->kind), folder, items, kept);
	else
		pages_folder(new_doc(a, ANSWER_DOC), folder, items, kept);
	files_list_free(items, kept);
	return 0;
}

/* Reads the open file fd (st its status), at most cap bytes. */
static char *
read_capped(int fd, const struct stat *st, size_t cap, size_t *len)
{
	size_t want = (size_t)st->st_size < cap ? (size_t)st->st_size : cap;
	char *buf;
	ssize_t n;

	/* One byte more than its size: a file that grew meanwhile is read to the cap. */
	if ((buf = malloc(want + 1)) == NULL)
		return NULL;
	*len = 0;
	while (*len < want + 1 && *len < cap &&
	    (n = read(fd, buf + *len, want + 1 - *len)) > 0)
		*len += (size_t)n;
	return buf;
}

/*
 * A change this recent may share its timestamp with one still to come, so
 * what it made is not kept: file systems stamp in ticks of the kernel's
 * coarse clock (at most 10 ms) where a time has a nanosecond part, in whole
 * seconds (two on FAT) where it has none.
 */
#define SETTLE_FINE_NS 50000000LL
#define SETTLE_COARSE_NS 2000000000LL

static bool
settled(const struct stat *st)
{
	struct timespec now;
	long long age;

	clock_gettime(CLOCK_REALTIME, &now);
	age = (long long)(now.tv_sec - st->st_mtim.tv_sec) * 1000000000LL +
	    (now.tv_nsec - st->st_mtim.tv_nsec);
	return age > (st->st_mtim.tv_nsec != 0 ? SETTLE_FINE_NS : SETTLE_COARSE_NS);
}

/*
 * The page kept under a->key (the caller's to fill) for the index version
 * now, added to the output: true, or false when there is none (the caller
 * then says whether the page it renders is kept).
 */
static bool
send_kept(const struct resolve_request *rq, struct answer *a)
{
	int status;

	a->cache = rq->site->cache;
	a->version = store_index(rq->site->store)->version;
	if ((status = cache_send(a->cache, a->version, a->key, rq->out)) < 0)
		return false;
	a->kind = ANSWER_CACHED;
	a->status = status;
	return true;
}

/*
 * The author's files beside the generated home page: the root's index.gmi
 * (the introduction) and about.gmi (linked when there).
 */
#define HOME_INTRO "/index.gmi"
#define HOME_ABOUT "/about.gmi"

struct home_files {
	struct files_entry intro;	/* fd -1: none */
	bool about;
	bool settled;			/* neither changed a moment ago */
};

/* One of them, for the key: its identity and last change, or "-". */
static void
home_file_id(char *buf, size_t size, const struct files_entry *e, bool there)
{
	if (!there)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%jx.%jx.%jd.%ld.%jd", (uintmax_t)e->st.st_dev,
		    (uintmax_t)e->st.st_ino, (intmax_t)e->st.st_mtim.tv_sec, e->st.st_mtim.tv_nsec,
		    (intmax_t)e->st.st_size);
}

/*
 * Looks at the home page's files and names the page after them in a->key,
 * so an edit, an addition or a removal shows on the next request.
 */
static void
home_look(const struct resolve_request *rq, struct answer *a, struct home_files *h)
{
	struct files_entry about;
	char intro_id[100], about_id[100];

	h->settled = true;
	if (open_file(rq, HOME_INTRO, &h->intro) != FILES_OK || h->intro.is_dir) {
		if (h->intro.fd != -1)
			close(h->intro.fd);
		h->intro.fd = -1;
	} else
		h->settled = settled(&h->intro.st);
	h->about = open_file(rq, HOME_ABOUT, &about) == FILES_OK && !about.is_dir;
	if (h->about)
		h->settled = h->settled && settled(&about.st);
	home_file_id(intro_id, sizeof(intro_id), &h->intro, h->intro.fd != -1);
	home_file_id(about_id, sizeof(about_id), &about, h->about);
	if (about.fd != -1)
		close(about.fd);
	snprintf(a->key, sizeof(a->key), "%c/\n%s\n%s", cache_prefix(rq), intro_id,
	    about_id);
}

/* Reads the introduction into a (which frees it) and points ps at it. */
static void
home_read(const struct resolve_request *rq, struct answer *a, struct home_files *h,
    struct pages_site *ps)
{
	ps->about = h->about;
	if (h->intro.fd == -1)
		return;
	a->intro = read_capped(h->intro.fd, &h->intro.st, (size_t)rq->site->cfg->max_post_size,
	    &ps->intro_len);
	ps->intro = a->intro;
}

/*
 * Whether a kept page of the folder path (open as dirfd, its gophermap's
 * status map or NULL) is sent: the key names the folder and the last change
 * of it and of its gophermap, so a file added, removed or renamed there, or
 * the gophermap edited, asks for a new page. A file rewritten in place keeps
 * the item type its bytes gave until the folder next changes.
 */
static bool
folder_cached(const struct resolve_request *rq, struct answer *a, const char *path,
    int dirfd, const struct stat *map)
{
	struct stat dir;
	int n;

	if (fstat(dirfd, &dir) == -1 || !settled(&dir) || (map != NULL && !settled(map)))
		return false;
	n = snprintf(a->key, sizeof(a->key), "%c%s\n%jx.%jx.%jd.%ld.%jx.%jd.%jd.%ld",
	    cache_prefix(rq), path, (uintmax_t)dir.st_dev, (uintmax_t)dir.st_ino,
	    (intmax_t)dir.st_mtim.tv_sec, dir.st_mtim.tv_nsec,
	    (uintmax_t)(map != NULL ? map->st_ino : 0), (intmax_t)(map != NULL ? map->st_size : -1),
	    (intmax_t)(map != NULL ? map->st_mtim.tv_sec : 0),
	    map != NULL ? map->st_mtim.tv_nsec : 0L);
	if (n < 0 || (size_t)n >= sizeof(a->key))
		return false;
	if (send_kept(rq, a))
		return true;
	a->keep = true;
	return false;
}

/* A folder (path ends with '/'): its index.gmi or gophermap, else its listing. */
static void
folder(const struct resolve_request *rq, struct answer *a, const char *path, int dirfd)
{
	struct gophermap_hidden hidden;
	char inner[URL_MAX + 16];
	struct files_entry e;

	if (rq->proto->folder_index || rq->proto->gophermaps) {
		snprintf(inner, sizeof(inner), "%s%s", path, rq->proto->folder_index ?
		    "index.gmi" : "gophermap");
		if (open_file(rq, inner, &e) == FILES_OK && !e.is_dir) {
			if (rq->proto->folder_index) {
				file(rq, a, &e);
				return;
			}
			if (folder_cached(rq, a, path, dirfd, &e.st)) {
				close(e.fd);
				return;
			}
			a->map = read_capped(e.fd, &e.st, GOPHERMAP_MAX, &a->map_len);
			close(e.fd);
			if (a->map != NULL) {
				a->kind = ANSWER_GOPHERMAP;
				snprintf(a->path, sizeof(a->path), "%s", path);
				/* Its "*", when it has one, is the listing less what it hides. */
				if (gophermap_listed(a->map, a->map_len, &hidden) &&
				    listing(rq, a, path, dirfd, &hidden) == -1)
					a->has_doc = false;
				return;
			}
			a->keep = false;
		} else if (e.fd != -1)
			close(e.fd);
	}
	if (folder_cached(rq, a, path, dirfd, NULL))
		return;
	if (listing(rq, a, path, dirfd, NULL) == -1) {
		a->keep = false;
		not_found(a);
	}
}

/* A file or folder under the root. */
static void
serve_static(const struct resolve_request *rq, struct answer *a, const char *path)
{
	char slashed[URL_MAX + 2];
	struct files_entry e;
	enum files_status st = open_file(rq, path, &e);

	if (st == FILES_NEEDS_SLASH) {
		snprintf(slashed, sizeof(slashed), "%s/", path);
		if (rq->proto->redirects) {
			a->kind = ANSWER_REDIRECT;
			snprintf(a->path, sizeof(a->path), "%s", slashed);
			return;
		}
		/* No redirects (Gopher): a folder named without its '/' is served. */
		path = slashed;
		st = open_file(rq, path, &e);
	}
	if (st != FILES_OK)
		not_found(a);
	else if (e.is_dir)
		folder(rq, a, path, e.fd);
	else
		file(rq, a, &e);
	if (e.fd != -1)
		close(e.fd);
}

/* caps.txt, as Gophernicus and geomyidae write it, from the configuration. */
static void
caps(const struct resolve_request *rq, struct answer *a)
{
	const struct config *cfg = rq->srv->cfg;
	const char *title = rq->site->cfg->title;
	char *clean;
	size_t n;

	if ((a->text = evbuffer_new()) == NULL ||
	    (clean = text_clean(title, strlen(title), &n)) == NULL) {
		status(a, 40, "Temporary failure");
		return;
	}
	evbuffer_add_printf(a->text, "CAPS\n\n"
	    "##\n## This is an automatically generated caps file.\n##\n\n"
	    "CapsVersion=1\nExpireCapsAfter=3600\n\n"
	    "PathDelimeter=/\nPathIdentity=.\nPathParent=..\nPathParentDouble=FALSE\n"
	    "PathEscapeCharacter=\\\nPathKeepPreDelimeter=FALSE\n\n"
	    "ServerSoftware=gazette\nServerDescription=%s\nServerDefaultEncoding=utf-8\n",
	    clean);
	if (cfg->gopher_tls)
		evbuffer_add_printf(a->text, "ServerTLSPort=%d\n", cfg->gopher_public_port != 0 ?
		    cfg->gopher_public_port : cfg->gopher_port);
	free(clean);
	a->kind = ANSWER_TEXT;
}

/* The page that asks for words, where the protocol has no prompt of its own. */
static void
ask_words(struct answer *a, bool bad)
{
	struct doc *d = new_doc(a, ANSWER_DOC);

	doc_heading(d, 1, "Search");
	doc_blank(d);
	doc_text(d, bad ? "Search words are made of letters or digits." :
	    "Send the words to search the posts for.", -1);
	doc_link(d, DOC_TO_SEARCH, "/search", "Search posts");
	doc_link(d, DOC_TO_MENU, "/", "Home");
}

/*
 * /search: the results for the words, or a prompt for them; /search/page/N
 * a later page of them. The search runs on the worker's search thread:
 * until it is done the request waits (ANSWER_WAIT), then finds the result
 * there. A page of results is cached like any page, under its words, for
 * the index version it was searched at.
 */
static void
search(const struct resolve_request *rq, const struct pages_site *ps, long page,
    struct answer *a)
{
	const struct site *site = rq->site;
	const struct fts_result *r;
	char words[URL_MAX + 1];
	const char *q = rq->query;
	bool keyed;
	int n;

	if (q == NULL || q[0] == '\0') {
		if (rq->proto->asks_input) {
			a->kind = ANSWER_INPUT;
			a->message = "Search posts for these words";
		} else
			ask_words(a, false);
		return;
	}
	if (rq->proto->query_encoded) {
		if (url_decode(q, strlen(q), words, sizeof(words), false) < 0) {
			status(a, 59, "bad query");
			return;
		}
		q = words;
	}
	if (!utf8_valid(q, strlen(q))) {
		if (rq->proto->asks_input)
			status(a, 59, "bad query");
		else
			ask_words(a, true);
		return;
	}
	if (site->search_db == NULL) {
		pages_search_rebuilding(new_doc(a, ANSWER_DOC));
		return;
	}
	n = snprintf(a->key, sizeof(a->key), "%c/search/page/%ld?%s", cache_prefix(rq),
	    page, q);
	/* Words too long for the key are searched every time, never kept. */
	keyed = n > 0 && (size_t)n < sizeof(a->key);
	if (keyed && send_kept(rq, a))
		return;
	switch (searcher_find(rq->srv->searcher, site->search_db,
	    store_index(site->store)->version, q, (page - 1) * ps->page_size, ps->page_size, &r)) {
	case SEARCHER_WAIT:
		if (rq->may_wait) {
			a->kind = ANSWER_WAIT;
			a->wait = WAIT_SEARCH;
		} else
			status(a, 40, "Search is taking long: try again in a moment");
		return;
	case SEARCHER_BUSY:
		status(a, 44, "1");
		return;
	case SEARCHER_DONE:
		break;
	}
	switch (r->status) {
	case FTS_REBUILDING:
		pages_search_rebuilding(new_doc(a, ANSWER_DOC));
		return;
	case FTS_NO_WORDS:
		if (rq->proto->asks_input) {
			a->kind = ANSWER_INPUT;
			a->message = "Search posts for these words (letters or digits)";
		} else
			ask_words(a, true);
		return;
	case FTS_FOUND:
		break;
	}
	if (pages_search(new_doc(a, ANSWER_DOC), ps, q, page, r) == -1) {
		doc_clear(&a->doc);
		a->has_doc = false;
		not_found(a);
		return;
	}
	a->keep = keyed;
}

/* The Atom feed of the latest posts, each read in full for its summary. */
static void
feed(const struct resolve_request *rq, struct answer *a)
{
	const struct site *site = rq->site;
	const struct config *cfg = rq->srv->cfg;
	const struct index *x = store_index(site->store);
	size_t want = (size_t)site->cfg->feed_posts, n;
	bool busy = false;

	if (want > x->nposts)
		want = x->nposts;
	a->entries = calloc(want + 1, sizeof(*a->entries));
	a->full = calloc(want + 1, sizeof(*a->full));
	a->metas = calloc(want + 1, sizeof(*a->metas));
	if (a->entries == NULL || a->full == NULL || a->metas == NULL) {
		status(a, 40, "Temporary failure");
		return;
	}
	if (cfg->gemini_port == 1965)
		snprintf(a->feed_base, sizeof(a->feed_base), "gemini://%s", site->cfg->name);
	else
		snprintf(a->feed_base, sizeof(a->feed_base), "gemini://%s:%d", site->cfg->name,
		    cfg->gemini_port);
	a->feed = (struct atom_feed){ a->feed_base, site->cfg->title, site->cfg->description,
	    site->cfg->lang };
	for (n = 0; n < want; n++) {
		const struct index_post *sp = &x->posts[x->nposts - 1 - n];
		a->entries[n].stem = index_str(x, sp->stem);
		a->entries[n].meta = index_post_meta(x, sp, &a->metas[n]);
		switch (store_load(site->store, sp, &a->full[n])) {
		case STORE_LOADED:
			a->entries[n].full = &a->full[n];
			break;
		case STORE_BUSY:
			busy = true;
			break;
		case STORE_GONE:
			break;
		}
	}
	a->nentries = n;
	a->kind = ANSWER_FEED;
	/* A feed reader polls again: better later than with a post half written. */
	if (busy) {
		status(a, 40, "A post is being updated; try again in a moment");
		a->keep = false;
	}
}

/* What a post's file being gone or being written means to a request; true for neither. */
static bool
loaded(struct answer *a, enum store_load r)
{
	if (r == STORE_GONE)
		not_found(a);
	else if (r == STORE_BUSY)
		being_updated(a);
	return r == STORE_LOADED;
}

/* /posts/NAME.txt: the post (to wrap), or the very file the index knows. */
static void
post_text(const struct resolve_request *rq, struct answer *a, const char *stem)
{
	const struct index *x = store_index(rq->site->store);
	char path[URL_MAX + 2];
	long i;

	if (rq->proto->post_text && (i = index_find_post(x, stem)) >= 0) {
		if (loaded(a, store_load(rq->site->store, &x->posts[i], &a->post))) {
			a->kind = ANSWER_POST;
			a->has_post = true;
		}
		return;
	}
	/* A post's file, as it is (or a file skipped as no post): never one half written. */
	a->keep = false;
	if (loaded(a, store_check(rq->site->store, stem))) {
		snprintf(path, sizeof(path), "/posts/%s.txt", stem);
		serve_static(rq, a, path);
	}
}

/*
 * /write/ for a site's authors: how to write a post; /write/new asks for a
 * few words and answers with the Titan link to a post named from them.
 */
static void
write_page(const struct resolve_request *rq, const struct pages_site *ps,
    const struct route *rt, struct answer *a)
{
	char words[URL_MAX + 1], name[TITAN_NAME_MAX + 1];
	const char *q = rq->query;

	if (rq->author == AUTHOR_NO_CERT) {
		status(a, 60, "Client certificate required: an author's");
		return;
	}
	if (rq->author != AUTHOR_YES) {
		status(a, 61, "Only this capsule's authors write here");
		return;
	}
	if (rt->name == NULL) {
		pages_write(new_doc(a, ANSWER_DOC), ps, NULL);
		return;
	}
	if (q != NULL && rq->proto->query_encoded &&
	    url_decode(q, strlen(q), words, sizeof(words), false) >= 0)
		q = words;
	if (q == NULL || !titan_new_name(q, (long long)time(NULL), name, sizeof(name))) {
		a->kind = ANSWER_INPUT;
		a->message = "Name of the new post: a few words (letters or digits)";
		return;
	}
	pages_write(new_doc(a, ANSWER_DOC), ps, name);
}

void
resolve(const struct resolve_request *rq, struct answer *a)
{
	const struct site *site = rq->site;
	const struct resolve_proto *p = rq->proto;
	struct pages_site ps = { .title = site->cfg->title,
	    .description = site->cfg->description, .home_posts = site->cfg->home_posts,
	    .page_size = site->cfg->page_size, .host = site->cfg->name,
	    .gemini_port = rq->srv->cfg->gemini_port };
	struct home_files home = { .intro = { .fd = -1 } };
	const struct config_fastcgi *fcgi;
	struct route rt;
	char titan[300];

	/* An author's pages link to where posts are written. */
	if (rq->author == AUTHOR_YES) {
		if (ps.gemini_port == 1965)
			snprintf(titan, sizeof(titan), "titan://%s", site->cfg->name);
		else
			snprintf(titan, sizeof(titan), "titan://%s:%d", site->cfg->name,
			    ps.gemini_port);
		ps.titan = titan;
	}
	memset(a, 0, sizeof(*a));
	a->file.fd = -1;
	/* A FastCGI prefix is the application's, whatever else the path could name. */
	if ((fcgi = config_fastcgi(site->cfg, rq->path)) != NULL) {
		a->kind = ANSWER_FASTCGI;
		a->status = (int)(fcgi - site->cfg->fastcgi);
		return;
	}
	route_match(rq->path, &rt);
	switch (rt.kind) {
	case ROUTE_STATIC:
		serve_static(rq, a, rq->path);
		return;
	case ROUTE_CAPS:
		if (p->caps)
			caps(rq, a);
		else
			serve_static(rq, a, rq->path);
		return;
	case ROUTE_NOT_FOUND:
		not_found(a);
		return;
	case ROUTE_POST:
		if (!p->post_pages) {
			not_found(a);
			return;
		}
		break;
	case ROUTE_FEED:
		if (!p->feed) {
			not_found(a);
			return;
		}
		break;
	case ROUTE_WRITE:
		/* Only where authors write; elsewhere the name is the root's to use. */
		if (!p->titan || !site->cfg->titan) {
			serve_static(rq, a, rq->path);
			return;
		}
		break;
	default:
		break;
	}
	if (rt.needs_slash && p->redirects) {
		a->kind = ANSWER_REDIRECT;
		snprintf(a->path, sizeof(a->path), "%s/", rq->path);
		return;
	}
	if (rt.kind == ROUTE_WRITE) {
		write_page(rq, &ps, &rt, a);
		return;
	}
	/* Only a page of the index waits for it to catch up with the disk. */
	if (rq->may_wait && store_behind(site->store, rq->ticket)) {
		a->kind = ANSWER_WAIT;
		a->wait = WAIT_INDEX;
		return;
	}
	if (rt.kind == ROUTE_SEARCH) {
		search(rq, &ps, rt.page, a);
		return;
	}
	if (rt.kind == ROUTE_POST_TEXT && !p->post_text) {
		post_text(rq, a, rt.name);
		return;
	}
	/* Rendered once per index version and protocol; the path alone is the key. */
	if (rt.kind == ROUTE_HOME)
		home_look(rq, a, &home);
	else
		snprintf(a->key, sizeof(a->key), "%c%s", cache_prefix(rq), rq->path);
	if (send_kept(rq, a)) {
		if (home.intro.fd != -1)
			close(home.intro.fd);
		return;
	}
	a->keep = rt.kind != ROUTE_HOME || home.settled;
	if (rt.kind == ROUTE_HOME) {
		home_read(rq, a, &home, &ps);
		if (home.intro.fd != -1)
			close(home.intro.fd);
	}
	if (rt.kind == ROUTE_POST_TEXT) {
		post_text(rq, a, rt.name);
		return;
	}
	if (rt.kind == ROUTE_FEED) {
		feed(rq, a);
		return;
	}
	switch (pages_build(new_doc(a, ANSWER_DOC), &ps, site->store, &rt)) {
	case PAGES_OK:
		if (p->item_types)
			type_links(rq, &a->doc);
		break;
	case PAGES_NOT_FOUND:
		not_found(a);
		break;
	case PAGES_BUSY:
		being_updated(a);
		break;
	}
}

void
resolve_keep(const struct answer *a, int code, const struct evbuffer *out)
{
	/* A file is streamed, not kept; nor is anything but a whole page. */
	if (a->keep && code == 20 && a->kind != ANSWER_FILE && a->kind != ANSWER_STATUS)
		cache_put(a->cache, a->version, a->key, code, out);
}

void
answer_clear(struct answer *a)
{
	size_t i;

	if (a->has_doc)
		doc_clear(&a->doc);
	if (a->file.fd != -1)
		close(a->file.fd);
	if (a->has_post)
		post_free(&a->post);
	free(a->map);
	free(a->intro);
	if (a->text != NULL)
		evbuffer_free(a->text);
	for (i = 0; i < a->nentries; i++)
		if (a->entries[i].full != NULL)
			post_free(&a->full[i]);
	free(a->entries);
	free(a->full);
	free(a->metas);
	memset(a, 0, sizeof(*a));
	a->file.fd = -1;
}
