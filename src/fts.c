#include "fts.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA_VERSION 1
#define STR(x) #x
#define XSTR(x) STR(x)
#define BUSY_MS 2000		/* how long a lock held by the other side is waited for */
/*
 * A reader reads pages into a small cache of its own, not a map of the
 * file: a map is 20-30% faster on a common word but puts every page a
 * search touched in the worker's resident memory (37 MiB for 20,000 posts
 * in archive-bench), where the kernel's page cache holds them anyway.
 */
#define READER_CACHE_KB 512
/*
 * A post's rowid is its date in seconds, shifted, plus the first free of
 * DATE_SLOTS: rowid order is date order, so "newest first among equals"
 * needs no column read.
 */
#define DATE_SHIFT 16
#define DATE_SLOTS (1 << DATE_SHIFT)

/* title, body, about (tags, source, author), then the bigram columns of the first two. */
#define RANK "bm25(10.0, 1.0, 2.0, 10.0, 1.0)"

#define SCHEMA \
	"CREATE TABLE files(name TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER," \
	" msec INTEGER, mnsec INTEGER, docid INTEGER) WITHOUT ROWID;" \
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;" \
	"CREATE VIRTUAL TABLE posts USING fts5(title, body, about, title_cjk, body_cjk," \
	" stem UNINDEXED, date UNINDEXED, tokenize = 'unicode61 remove_diacritics 2');" \
	"INSERT INTO posts(posts, rank) VALUES('rank', '" RANK "');" \
	"INSERT INTO meta VALUES('complete', 0);" \
	"PRAGMA user_version = " XSTR(SCHEMA_VERSION) ";"

enum stmt {
	S_HAS, S_DOCID, S_LAST_SLOT, S_DELETE, S_INSERT, S_FILE, S_UNFILE, S_NAMES, S_COMPLETE,
	S_SET_COMPLETE, S_COUNT, S_HITS, S_RANKED, S_HIT, S_BEGIN, S_COMMIT, S_ROLLBACK, S_READ,
	S_END, S_N,
};

static const char *const sql[S_N] = {
	[S_HAS] = "SELECT 1 FROM files WHERE name = ?1 AND dev = ?2 AND ino = ?3 AND"
	    " size = ?4 AND msec = ?5 AND mnsec = ?6",
	[S_DOCID] = "SELECT docid FROM files WHERE name = ?1",
	[S_LAST_SLOT] = "SELECT max(rowid) FROM posts WHERE rowid >= ?1 AND rowid < ?2",
	[S_DELETE] = "DELETE FROM posts WHERE rowid = ?1",
	[S_INSERT] = "INSERT INTO posts(rowid, title, body, about, title_cjk, body_cjk, stem,"
	    " date) VALUES(?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_FILE] = "INSERT OR REPLACE INTO files VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_UNFILE] = "DELETE FROM files WHERE name = ?1",
	[S_NAMES] = "SELECT name FROM files",
	[S_COMPLETE] = "SELECT value FROM meta WHERE key = 'complete'",
	[S_SET_COMPLETE] = "UPDATE meta SET value = ?1 WHERE key = 'complete'",
	[S_COUNT] = "SELECT count(*) FROM posts WHERE posts MATCH ?1",
	/*
	 * A page of hits: one query, which reads every match's row to sort it
	 * (7 µs a match: 12 of 14 ms for 1,781 matches of a word), or the
	 * rowids ranked alone, then a lookup per hit (40 µs for one term, 140
	 * µs for three). See by_rowid.
	 */
	[S_HITS] = "SELECT stem, title, substr(date, 1, 10), snippet(posts, 1, '', '', '…', 24)"
	    " FROM posts WHERE posts MATCH ?1 ORDER BY rank, rowid DESC LIMIT ?2 OFFSET ?3",
	[S_RANKED] = "SELECT rowid FROM posts WHERE posts MATCH ?1 ORDER BY rank, rowid DESC"
	    " LIMIT ?2 OFFSET ?3",
	[S_HIT] = "SELECT stem, title, substr(date, 1, 10), snippet(posts, 1, '', '', '…', 24)"
	    " FROM posts WHERE posts MATCH ?1 AND rowid = ?2",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_READ] = "BEGIN",
	[S_END] = "COMMIT",
};

struct fts {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_N];
	fts5_tokenizer tok;
	Fts5Tokenizer *tokenizer;
	char *path;
	dev_t dev;		/* the file opened, to notice it deleted or replaced */
	ino_t ino;
	bool broken;
};

/* A growing string; a failed allocation leaves it marked and empty. */
struct buf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->s, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* The code point at s (len > 0 bytes), its length in *n; U+FFFD for a bad byte. */
static uint32_t
utf8_next(const unsigned char *s, size_t len, size_t *n)
{
	uint32_t c = s[0];
	size_t need = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0, i;

	if (need == 0 || need > len) {
		*n = 1;
		return 0xfffd;
	}
	if (need > 1)
		c &= 0x7f >> need;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*n = 1;
			return 0xfffd;
		}
		c = c << 6 | (s[i] & 0x3f);
	}
	*n = need;
	return c;
}

/* Han, kana and Hangul: scripts written without spaces between words (Hangul, often). */
static bool
is_cjk(uint32_t c)
{
	return (c >= 0x1100 && c <= 0x11ff) || (c >= 0x3041 && c <= 0x30fa) ||
	    (c >= 0x3131 && c <= 0x318e) || (c >= 0x3400 && c <= 0x4dbf) ||
	    (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa960 && c <= 0xa97f) ||
	    (c >= 0xac00 && c <= 0xd7ff) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xff66 && c <= 0xff9d) || (c >= 0x20000 && c <= 0x2fa1f);
}

/*
 * Each run of CJK characters in text as its overlapping pairs, then its
 * last character alone ("abc" gives "ab bc c"), space-separated: a phrase
 * of pairs finds any stretch of two or more characters, a prefix any one.
 * For a query (quote), a run becomes one phrase of its pairs ("ab bc"), or
 * a prefix ("a"*) when it is one character; at most max_runs runs then.
 * Linear in len.
 */
static void
cjk_runs(struct buf *b, const char *text, size_t len, bool quote, int *runs, int max_runs)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, n = 0, last = 0, lastn = 0, k = 0;
	bool in;

	for (;;) {
		in = i < len && is_cjk(utf8_next(s + i, len - i, &n));
		if (in) {
			if (k == 0 && runs != NULL && *runs >= max_runs)
				return;
			if (k > 0) {
				/* A pair: the character before and this one. */
				buf_str(b, k > 1 ? " " : quote ? "\"" : " ");
				buf_add(b, text + last, lastn);
				buf_add(b, text + i, n);
			}
			last = i;
			lastn = n;
			k++;
		} else if (k > 0) {
			if (k == 1 && quote) {
				buf_str(b, "\"");
				buf_add(b, text + last, lastn);
				buf_str(b, "\"* ");
			} else if (quote)
				buf_str(b, "\" ");
			else {
				buf_str(b, " ");
				buf_add(b, text + last, lastn);
			}
			k = 0;
			if (runs != NULL)
				++*runs;
		}
		if (i >= len)
			break;
		i += n;
	}
}

static int
fail(struct fts *f, int rc)
{
	if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		f->broken = true;
	return -1;
}

static sqlite3_stmt *
stmt(struct fts *f, enum stmt which)
{
	sqlite3_stmt *st = f->stmt[which];

	if (st == NULL) {
		int rc = sqlite3_prepare_v3(f->db, sql[which], -1, SQLITE_PREPARE_PERSISTENT,
		    &f->stmt[which], NULL);
		if (rc != SQLITE_OK) {
			fail(f, rc);
			return NULL;
		}
		st = f->stmt[which];
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Runs a statement that returns no rows: 0 or -1. */
static int
run(struct fts *f, sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail(f, rc);
}

static void
close_stmts(struct fts *f)
{
	int i;

	for (i = 0; i < S_N; i++) {
		sqlite3_finalize(f->stmt[i]);
		f->stmt[i] = NULL;
	}
}

void
fts_close(struct fts *f)
{
	if (f == NULL)
		return;
	close_stmts(f);
	if (f->tokenizer != NULL)
		f->tok.xDelete(f->tokenizer);
	sqlite3_close(f->db);
	free(f->path);
	free(f);
}

/* FTS5's own unicode61 tokenizer, so queries fold exactly as the posts did. */
static int
find_tokenizer(struct fts *f)
{
	static const char *const args[] = { "remove_diacritics", "2" };
	sqlite3_stmt *st;
	fts5_api *api = NULL;
	void *ctx;

	if (sqlite3_prepare_v2(f->db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	sqlite3_finalize(st);
	if (api == NULL || api->iVersion < 2 ||
	    api->xFindTokenizer(api, "unicode61", &ctx, &f->tok) != SQLITE_OK ||
	    f->tok.xCreate(ctx, (const char **)args, 2, &f->tokenizer) != SQLITE_OK) {
		f->tokenizer = NULL;
		return -1;
	}
	return 0;
}

static int
schema_version(struct fts *f)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(f->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * SQLite's own unix VFS, but for the full path of a file: the path as it is
 * given, not resolved through its symlinks. Our paths lead through
 * /proc/self/fd/N (the state folder the supervisor opened), whose real
 * path an unprivileged child may not be allowed to walk.
 */
static sqlite3_vfs vfs;
static pthread_once_t vfs_once = PTHREAD_ONCE_INIT;

static int
vfs_full_pathname(sqlite3_vfs *v, const char *name, int size, char *out)
{
	size_t n = strlen(name);

	(void)v;
	if (name[0] != '/' || n >= (size_t)size)
		return SQLITE_CANTOPEN;
	memcpy(out, name, n + 1);
	return SQLITE_OK;
}

static void
vfs_register(void)
{
	sqlite3_vfs *unix_vfs = sqlite3_vfs_find("unix");

	if (unix_vfs == NULL)
		return;
	vfs = *unix_vfs;
	vfs.pNext = NULL;
	vfs.zName = "gazette";
	vfs.xFullPathname = vfs_full_pathname;
	sqlite3_vfs_register(&vfs, 0);
}

static struct fts *
open_db(const char *path, int flags, char *err, size_t errsize)
{
	struct fts *f = calloc(1, sizeof(*f));
	struct stat st;
	int rc;

	if (f == NULL || (f->path = strdup(path)) == NULL) {
		snprintf(err, errsize, "out of memory");
		free(f);
		return NULL;
	}
	pthread_once(&vfs_once, vfs_register);
	rc = sqlite3_open_v2(path, &f->db, flags | SQLITE_OPEN_NOMUTEX, "gazette");
	if (rc != SQLITE_OK) {
		snprintf(err, errsize, "%s", f->db ? sqlite3_errmsg(f->db) : sqlite3_errstr(rc));
		fts_close(f);
		return NULL;
	}
	sqlite3_busy_timeout(f->db, BUSY_MS);
	if (stat(path, &st) == 0) {
		f->dev = st.st_dev;
		f->ino = st.st_ino;
	}
	if (find_tokenizer(f) == -1) {
		snprintf(err, errsize, "this SQLite has no FTS5 unicode61 tokenizer");
		fts_close(f);
		return NULL;
	}
	return f;
}

/* 1 when the database holds no table at all (a new file), 0 when it does, -1 unreadable. */
static int
db_empty(struct fts *f)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(f->db, "SELECT 1 FROM sqlite_master LIMIT 1", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 1 : rc == SQLITE_ROW ? 0 : -1;
}

int
fts_destroy(const char *path)
{
	char journal[4096];

	if ((size_t)snprintf(journal, sizeof(journal), "%s-journal", path) < sizeof(journal))
		unlink(journal);
	return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
}

struct fts *
fts_open_writer(const char *path, char *err, size_t errsize)
{
	struct fts *f;
	struct stat st;
	int v, tries;

	for (tries = 0; tries < 2; tries++) {
		if ((f = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err,
		    errsize)) == NULL)
			return NULL;
		/*
		 * A rollback journal, not WAL: a WAL database's readers must be
		 * able to write its shared-memory file, and ours are read-only.
		 */
		sqlite3_exec(f->db, "PRAGMA journal_mode = DELETE; PRAGMA synchronous = NORMAL;",
		    NULL, NULL, NULL);
		v = schema_version(f);
		if (v == SCHEMA_VERSION || (v == 0 && db_empty(f) == 1 &&
		    sqlite3_exec(f->db, "BEGIN IMMEDIATE;" SCHEMA "COMMIT;", NULL, NULL, NULL) ==
		    SQLITE_OK)) {
			/* The file exists by now: remember which it is. */
			if (stat(path, &st) == 0) {
				f->dev = st.st_dev;
				f->ino = st.st_ino;
			}
			return f;
		}
		/* Damaged, foreign or of another version: start afresh, once. */
		fts_close(f);
		if (tries == 0 && fts_destroy(path) == -1) {
			snprintf(err, errsize, "cannot replace it: %s", strerror(errno));
			return NULL;
		}
	}
	snprintf(err, errsize, "cannot create its tables");
	return NULL;
}

struct fts *
fts_open_reader(const char *path, char *err, size_t errsize)
{
	struct fts *f = open_db(path, SQLITE_OPEN_READONLY, err, errsize);
	char pragma[128];

	if (f == NULL)
		return NULL;
	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = -%d; PRAGMA temp_store = MEMORY;"
	    " PRAGMA mmap_size = 0;", READER_CACHE_KB);
	sqlite3_exec(f->db, pragma, NULL, NULL, NULL);
	return f;
}

bool
fts_current(const struct fts *f)
{
	struct stat st;

	return stat(f->path, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino;
}

bool
fts_broken(const struct fts *f)
{
	return f->broken;
}

int
fts_begin(struct fts *f)
{
	return run(f, stmt(f, S_BEGIN));
}

int
fts_commit(struct fts *f)
{
	if (run(f, stmt(f, S_COMMIT)) == 0)
		return 0;
	sqlite3_exec(f->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

bool
fts_complete(struct fts *f)
{
	sqlite3_stmt *st = stmt(f, S_COMPLETE);
	bool yes = false;
	int rc;

	if (st == NULL)
		return false;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		yes = sqlite3_column_int(st, 0) != 0;
	else if (rc != SQLITE_DONE)
		fail(f, rc);
	sqlite3_reset(st);
	return yes;
}

int
fts_set_complete(struct fts *f, bool complete)
{
	sqlite3_stmt *st = stmt(f, S_SET_COMPLETE);

	if (st == NULL)
		return -1;
	sqlite3_bind_int(st, 1, complete);
	return run(f, st);
}

static void
bind_file(sqlite3_stmt *st, const char *name, const struct index_file *file)
{
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)file->dev);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)file->ino);
	sqlite3_bind_int64(st, 4, file->size);
	sqlite3_bind_int64(st, 5, file->mtime_sec);
	sqlite3_bind_int64(st, 6, file->mtime_nsec);
}

bool
fts_has(struct fts *f, const char *name, const struct index_file *file)
{
	sqlite3_stmt *st = stmt(f, S_HAS);
	bool yes;
	int rc;

	if (st == NULL)
		return false;
	bind_file(st, name, file);
	rc = sqlite3_step(st);
	yes = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		fail(f, rc);
	sqlite3_reset(st);
	return yes;
}

int
fts_remove(struct fts *f, const char *name)
{
	sqlite3_stmt *st = stmt(f, S_DOCID);
	sqlite3_int64 docid = -1;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		docid = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fail(f, rc);
	if (docid == -1)
		return 0;
	if ((st = stmt(f, S_DELETE)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, docid);
	if (run(f, st) == -1 || (st = stmt(f, S_UNFILE)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return run(f, st);
}

/* A post's text as the index holds it: its blocks, one per line; links left out. */
static void
post_text(struct buf *b, const struct post *p)
{
	size_t i;

	for (i = 0; i < p->nblocks; i++) {
		if (p->blocks[i].type == POST_LINK)
			continue;
		if (b->len > 0)
			buf_add(b, "\n", 1);
		buf_str(b, p->blocks[i].text);
	}
}

/*
 * Runs the bound insert with a free rowid of the post's date: after the
 * last one taken (one lookup), else the first gap (a day of 65,536 posts).
 */
static int
insert_dated(struct fts *f, sqlite3_stmt *ins, long long when)
{
	sqlite3_stmt *st = stmt(f, S_LAST_SLOT);
	long long base = when * DATE_SLOTS, slot = 0, tries;
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, base);
	sqlite3_bind_int64(st, 2, base + DATE_SLOTS);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		slot = sqlite3_column_int64(st, 0) - base + 1;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return fail(f, rc);
	for (rc = SQLITE_CONSTRAINT, tries = 0; rc == SQLITE_CONSTRAINT && tries < DATE_SLOTS;
	    slot++, tries++) {
		if (slot == DATE_SLOTS)
			slot = 0;
		sqlite3_bind_int64(ins, 8, base + slot);
		rc = sqlite3_step(ins);
		sqlite3_reset(ins);
	}
	return rc == SQLITE_DONE ? 0 : fail(f, rc);
}

int
fts_put(struct fts *f, const char *name, const struct index_file *file, const struct post *p)
{
	struct buf body = { 0 }, about = { 0 }, tcjk = { 0 }, bcjk = { 0 };
	char stem[1024], date[32];
	sqlite3_stmt *st;
	size_t i, n = strlen(name);
	int rc = -1;

	if (n < 4 || n - 4 >= sizeof(stem) || fts_remove(f, name) == -1)
		return -1;
	memcpy(stem, name, n - 4);
	stem[n - 4] = '\0';
	snprintf(date, sizeof(date), "%04d-%02d-%02d %02d:%02d:%02d", p->year, p->month, p->day,
	    p->hour, p->minute, p->second);
	post_text(&body, p);
	for (i = 0; i < p->ntags; i++) {
		buf_str(&about, p->tags[i]);
		buf_add(&about, "\n", 1);
	}
	if (p->source != NULL) {
		buf_str(&about, p->source);
		buf_add(&about, "\n", 1);
	}
	if (p->author != NULL)
		buf_str(&about, p->author);
	cjk_runs(&tcjk, p->title, strlen(p->title), false, NULL, 0);
	if (body.s != NULL)
		cjk_runs(&bcjk, body.s, body.len, false, NULL, 0);
	if (about.s != NULL)
		cjk_runs(&bcjk, about.s, about.len, false, NULL, 0);
	if (!body.failed && !about.failed && !tcjk.failed && !bcjk.failed &&
	    (st = stmt(f, S_INSERT)) != NULL) {
		sqlite3_bind_text(st, 1, p->title, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, body.s ? body.s : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, about.s ? about.s : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, tcjk.s ? tcjk.s : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, bcjk.s ? bcjk.s : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, stem, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, date, -1, SQLITE_STATIC);
		if (insert_dated(f, st, post_when(p)) == 0 && (st = stmt(f, S_FILE)) != NULL) {
			bind_file(st, name, file);
			sqlite3_bind_int64(st, 7, sqlite3_last_insert_rowid(f->db));
			rc = run(f, st);
		}
	}
	free(body.s);
	free(about.s);
	free(tcjk.s);
	free(bcjk.s);
	return rc;
}

int
fts_each_name(struct fts *f, void (*fn)(void *arg, const char *name), void *arg)
{
	sqlite3_stmt *st = stmt(f, S_NAMES);
	int rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(f, rc);
}

/* One term's tokens as the tokenizer gives them, folded. */
struct term {
	struct buf *out;
	int *tokens;		/* of the whole query, bounded by FTS_TOKENS_MAX */
	int *runs;
	bool open;		/* a phrase of ordinary tokens is open in out */
};

static void
close_phrase(struct term *t, bool prefix)
{
	if (t->open)
		buf_add(t->out, prefix ? "\"* " : "\" ", prefix ? 3 : 2);
	t->open = false;
}

static int
on_token(void *arg, int flags, const char *tok, int n, int start, int end)
{
	struct term *t = arg;
	const unsigned char *s = (const unsigned char *)tok;
	size_t i, k;
	bool cjk = false;

	(void)flags;
	(void)start;
	(void)end;
	if (*t->tokens >= FTS_TOKENS_MAX)
		return SQLITE_OK;
	++*t->tokens;
	for (i = 0; i < (size_t)n; i += k)
		if (is_cjk(utf8_next(s + i, (size_t)n - i, &k)))
			cjk = true;
	if (cjk) {
		/* Its runs go to the bigram columns, each run a phrase of its own. */
		close_phrase(t, false);
		cjk_runs(t->out, tok, (size_t)n, true, t->runs, FTS_TOKENS_MAX);
		return SQLITE_OK;
	}
	buf_add(t->out, t->open ? " " : "\"", 1);
	/* unicode61 tokens are letters and digits; a quote would be doubled all the same. */
	for (i = 0; i < (size_t)n; i++)
		buf_add(t->out, tok[i] == '"' ? "\"\"" : tok + i, tok[i] == '"' ? 2 : 1);
	t->open = true;
	return SQLITE_OK;
}

/* Runs the tokenizer over one term; prefix: its last token is a prefix. */
static void
add_term(struct fts *f, struct term *t, const char *s, size_t n, bool prefix)
{
	if (n == 0)
		return;
	f->tok.xTokenize(f->tokenizer, t, FTS5_TOKENIZE_QUERY, s, (int)n, on_token);
	close_phrase(t, prefix);
}

size_t
fts_match(struct fts *f, const char *words, size_t len, char *out, size_t size)
{
	struct buf b = { 0 };
	int tokens = 0, runs = 0, terms = 0;
	struct term t = { &b, &tokens, &runs, false };
	size_t i = 0, start, end, n = 0;
	bool quoted, prefix;

	if (size == 0)
		return 0;
	out[0] = '\0';
	if (f->tokenizer == NULL)
		return 0;
	if (len > FTS_QUERY_MAX) {
		/* Cut at a character's start, not inside one. */
		len = FTS_QUERY_MAX;
		while (len > 0 && ((unsigned char)words[len] & 0xc0) == 0x80)
			len--;
	}
	while (i < len && terms < FTS_TERMS_MAX) {
		while (i < len && (words[i] == ' ' || words[i] == '\t' || words[i] == '\n' ||
		    words[i] == '\r'))
			i++;
		if (i == len)
			break;
		quoted = words[i] == '"';
		start = i + quoted;
		if (quoted) {
			for (end = start; end < len && words[end] != '"'; end++)
				;
			i = end < len ? end + 1 : end;
		} else {
			for (end = start; end < len && words[end] != ' ' && words[end] != '\t' &&
			    words[end] != '\n' && words[end] != '\r' && words[end] != '"'; end++)
				;
			i = end;
		}
		/* A '*' right after the term: its last word is a prefix. */
		prefix = quoted ? i < len && words[i] == '*' : end > start && words[end - 1] == '*';
		add_term(f, &t, words + start, end - start - (prefix && !quoted), prefix);
		if (prefix && quoted)
			i++;
		terms++;
	}
	if (!b.failed && b.len > 0) {
		while (b.len > 0 && b.s[b.len - 1] == ' ')
			b.len--;
		if (b.len < size) {
			memcpy(out, b.s, b.len);
			out[b.len] = '\0';
			n = b.len;
		}
	}
	free(b.s);
	return n;
}

/* The snippet made one line of at most FTS_SNIPPET_MAX bytes, cut between characters. */
static void
add_snippet(struct buf *b, const char *s)
{
	size_t n = strlen(s), i;

	if (n > FTS_SNIPPET_MAX) {
		n = FTS_SNIPPET_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		buf_add(b, s[i] == '\n' || s[i] == '\r' || s[i] == '\t' ? " " : s + i, 1);
	if (n < strlen(s))
		buf_add(b, "…", strlen("…"));
	buf_add(b, "", 1);
}

/* The hits of a page as they are read: their strings, and where each starts. */
struct hits {
	struct buf strs;
	size_t *offs;		/* four a hit: stem, title, date, snippet */
	size_t n, cap;
};

/* Adds the hit in st's row (stem, title, date, snippet): 0, or -1 out of memory. */
static int
hits_add(struct hits *h, sqlite3_stmt *st)
{
	size_t *grown;
	int col;

	if (h->n == h->cap) {
		if ((grown = realloc(h->offs, (h->cap ? h->cap * 2 : 16) * 4 *
		    sizeof(*grown))) == NULL) {
			h->strs.failed = true;
			return -1;
		}
		h->offs = grown;
		h->cap = h->cap ? h->cap * 2 : 16;
	}
	for (col = 0; col < 4; col++) {
		const char *v = (const char *)sqlite3_column_text(st, col);
		h->offs[h->n * 4 + col] = h->strs.len;
		if (col == 3)
			add_snippet(&h->strs, v ? v : "");
		else {
			buf_str(&h->strs, v ? v : "");
			buf_add(&h->strs, "", 1);
		}
	}
	h->n++;
	return h->strs.failed ? -1 : 0;
}

/* The page of hits in one query (several terms): 0 or -1. */
static int
hits_at_once(struct fts *f, const char *match, long offset, long limit, struct hits *h)
{
	sqlite3_stmt *st = stmt(f, S_HITS);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, offset);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && hits_add(h, st) == 0)
		;
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fail(f, rc);
		return -1;
	}
	return h->strs.failed ? -1 : 0;
}

/* The page's rowids ranked alone, then each hit looked up (one term): 0 or -1. */
static int
hits_by_rowid(struct fts *f, const char *match, long offset, long limit, struct hits *h)
{
	sqlite3_int64 *rows = NULL, *grown;
	sqlite3_stmt *st = stmt(f, S_RANKED);
	size_t n = 0, cap = 0, k;
	int rc, ret = -1;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, offset);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			if ((grown = realloc(rows, (cap ? cap * 2 : 16) * sizeof(*rows))) == NULL) {
				h->strs.failed = true;
				break;
			}
			rows = grown;
			cap = cap ? cap * 2 : 16;
		}
		rows[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fail(f, rc);
		goto out;
	}
	for (k = 0; k < n && !h->strs.failed; k++) {
		if ((st = stmt(f, S_HIT)) == NULL)
			goto out;
		sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, rows[k]);
		/* Ranked in this same read transaction: a row missing now is damage. */
		if ((rc = sqlite3_step(st)) == SQLITE_ROW)
			hits_add(h, st);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW) {
			fail(f, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc);
			goto out;
		}
	}
	ret = h->strs.failed ? -1 : 0;
out:
	free(rows);
	return ret;
}

/*
 * Whether a page is best looked up hit by hit: for one term with many more
 * matches than the page holds. Several terms cost a lookup three times as
 * much and match few posts.
 */
static bool
by_rowid(const char *match, long total, long limit)
{
	size_t quotes = 0;

	/* Each term of an expression from fts_match is quoted. */
	for (; *match != '\0'; match++)
		quotes += *match == '"';
	return quotes == 2 && total > 5 * limit;
}

int
fts_search(struct fts *f, const char *words, long offset, long limit, struct fts_result *r)
{
	char match[FTS_MATCH_MAX];
	struct hits h = { 0 };
	sqlite3_stmt *st;
	size_t k;
	int rc;

	memset(r, 0, sizeof(*r));
	r->status = FTS_REBUILDING;
	if (fts_match(f, words, strlen(words), match, sizeof(match)) == 0) {
		r->status = FTS_NO_WORDS;
		return 0;
	}
	/* One read transaction: the count and the hits see the same posts. */
	if (run(f, stmt(f, S_READ)) == -1)
		return 0;
	if (!fts_complete(f) || (st = stmt(f, S_COUNT)) == NULL)
		goto done;
	sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		r->total = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		fail(f, rc);
		goto done;
	}
	rc = by_rowid(match, r->total, limit) ? hits_by_rowid(f, match, offset, limit, &h) :
	    hits_at_once(f, match, offset, limit, &h);
	if (rc == -1)
		goto done;
	/* The hits, then their strings, in one allocation. */
	if ((r->hits = malloc(h.n * sizeof(*r->hits) + h.strs.len + 1)) == NULL) {
		h.strs.failed = true;
		goto done;
	}
	{
		char *base = (char *)(r->hits + h.n);
		memcpy(base, h.strs.s ? h.strs.s : "", h.strs.len);
		base[h.strs.len] = '\0';
		for (k = 0; k < h.n; k++)
			r->hits[k] = (struct fts_hit){ base + h.offs[k * 4], base + h.offs[k * 4 + 1],
			    base + h.offs[k * 4 + 2], base + h.offs[k * 4 + 3] };
	}
	r->n = h.n;
	r->status = FTS_FOUND;
done:
	run(f, stmt(f, S_END));
	if (r->status != FTS_FOUND) {
		r->n = 0;
		r->total = 0;
	}
	free(h.offs);
	free(h.strs.s);
	return r->status == FTS_REBUILDING && h.strs.failed ? -1 : 0;
}

void
fts_result_free(struct fts_result *r)
{
	free(r->hits);
	memset(r, 0, sizeof(*r));
}
