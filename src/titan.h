/*
 * Titan, Gemini's upload companion, as gazette takes it: on the Gemini port,
 * "titan://HOST/posts/NAME.txt;size=N;mime=TYPE;token=T" then N bytes. A
 * worker checks everything it can before a byte of the body is read (the
 * site allows uploads, the certificate is an author's, the token, the path,
 * the size), reads the body, checks it is a post, and hands it to the
 * publisher (publisher.h), the one process that may write. size=0 deletes.
 */
#ifndef GAZETTE_TITAN_H
#define GAZETTE_TITAN_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "url.h"

#define TITAN_NAME_MAX 200	/* bytes of an uploaded file's name */
#define TITAN_FOLDERS_MAX 8	/* titan_files folders a site may list */
#define TITAN_FOLDER_MAX 128	/* bytes of one, as "images" or "files/pdf" */

/*
 * The folders a site's uploads write in: [0] posts/, then those titan_files
 * lists ("/images/ /files/pdf/"), each without its slashes. Returns how
 * many, or -1 with *why set when the list is not one of folder paths (each
 * from '/' to '/', of letters, digits, '-', '_' and '.', no segment empty or
 * starting with '.', not posts/ or under it; TITAN_FOLDERS_MAX at most).
 */
int titan_folders(const char *list, char folders[][TITAN_FOLDER_MAX], const char **why);

/* What follows the path, each parameter at most once, in any order. */
struct titan_params {
	long long size;		/* bytes of the body; required */
	char mime[128];		/* "" when not given */
	char token[128];	/* "" when not given */
	bool has_token;
};

/*
 * Splits path ("/posts/x.txt;size=3;mime=text/plain") at its first ';':
 * *pathlen is the path's length, the parameters go into *p. NULL, or why
 * they are refused (a 59): size missing, not a number, or given twice; an
 * unknown parameter; an empty one.
 */
const char *titan_parse(const char *path, size_t *pathlen, struct titan_params *p);

/*
 * Whether name is one an upload may write: at most TITAN_NAME_MAX bytes of
 * letters, digits, '-', '_' and '.', not starting with '.'; a post's ends
 * in .txt.
 */
bool titan_file_name(const char *name);
bool titan_post_name(const char *name);

/*
 * A new post's file name from words a reader typed and a day (seconds since
 * the epoch): "YYYY-MM-DD-" then the words' letters and digits, lowercased
 * (ASCII; others dropped), runs of anything else one '-', then ".txt".
 * False when no letter or digit is left.
 */
bool titan_new_name(const char *words, long long day, char *out, size_t size);

/* An upload accepted for its site: what the body is checked against, where it goes. */
struct titan_upload {
	int site;			/* in configuration order */
	int folder;			/* which of the site's (titan_folders): 0 posts/ */
	long long size;
	char path[URL_MAX + 2];		/* as requested, without the parameters */
	char name[TITAN_NAME_MAX + 1];	/* in posts/ */
	char author[65];		/* the certificate's SHA-256, in hex; "": none */
	char *body;			/* size bytes, read so far: got */
	long long got;
};

/*
 * The body checked as a post (UTF-8, with a title): NULL, or the parser's
 * reason for a 59. A deletion (size 0) and a file that is no post (folder
 * not 0) have nothing to check.
 */
const char *titan_check_body(const struct titan_upload *u);

/*
 * The name under which .versions/ keeps a version of name made at t, the
 * i-th (0: the first) of that instant: "NAME.YYYYMMDDTHHMMSS.NNNNNNNNNZ",
 * then "-I" from the second on (i below TITAN_VERSION_TRIES). -1 when it
 * does not fit in size.
 */
#define TITAN_VERSION_TRIES 100
int titan_version_name(char *out, size_t size, const char *name, long long sec, long nsec, int i);

/*
 * Whether entry (of .versions/) is one of those names for name, and no
 * other file's: then *stamp points at its time in it and *i is its I (0 for
 * none).
 */
bool titan_version_of(const char *entry, const char *name, const char **stamp, int *i);

/* Orders by time two versions titan_version_of took: < 0, 0 or > 0. */
int titan_version_cmp(const char *stamp_a, int ia, const char *stamp_b, int ib);


/*
 * The log's one line for an upload: the host, its path and announced size,
 * who (the certificate's fingerprint), and the answer.
 */
void titan_log(const char *host, const struct titan_upload *u, int status, const char *meta);

/*
 * How much of a Titan request line (len bytes) may be logged: up to its
 * parameters, however their ';' is written (";" or "%3B").
 */
size_t titan_request_shown(const char *line, size_t len);

struct ctl_msg;

/*
 * Hands u to the publisher over fd (publisher.h) as request id: its name and
 * author, and the body in a sealed memfd (none for a deletion). 0, or -1
 * with errno set.
 */
int titan_send(int fd, const struct titan_upload *u, unsigned long long id);

/*
 * The publisher's answer m to u as a Gemini status and its meta: 30 to the
 * post's page at gemini://host[:port]/ (or to the file; the home page after
 * a deletion), or the publisher's refusal.
 */
int titan_result(const struct titan_upload *u, const struct ctl_msg *m, const char *host,
    int port, char *meta, size_t size);

#endif
