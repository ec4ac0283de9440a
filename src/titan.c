#include "titan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "post.h"
#include "store.h"
#include "utf8.h"

#define SIZE_DIGITS 12		/* up to a terabyte: any limit lies below */

/* Copies the value v[0..n) into out (size bytes); false when it does not fit. */
static bool
take(const char *v, size_t n, char *out, size_t size)
{
	if (n >= size)
		return false;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

const char *
titan_parse(const char *path, size_t *pathlen, struct titan_params *p)
{
	const char *semi = strchr(path, ';'), *w, *end, *eq;
	bool has_size = false, has_mime = false;
	size_t n, i;

	memset(p, 0, sizeof(*p));
	if (semi == NULL)
		return "Titan upload without ;size=";
	*pathlen = (size_t)(semi - path);
	for (w = semi + 1;; w = end + 1) {
		end = w + strcspn(w, ";");
		if ((eq = memchr(w, '=', (size_t)(end - w))) == NULL || eq == w)
			return "Titan parameters are name=value, separated by ';'";
		n = (size_t)(end - eq - 1);
		if ((size_t)(eq - w) == 4 && memcmp(w, "size", 4) == 0) {
			if (has_size)
				return "Titan size given twice";
			if (n == 0 || n > SIZE_DIGITS)
				return "Titan size is not a number of bytes";
			for (i = 0, p->size = 0; i < n; i++) {
				if (eq[1 + i] < '0' || eq[1 + i] > '9')
					return "Titan size is not a number of bytes";
				p->size = p->size * 10 + (eq[1 + i] - '0');
			}
			has_size = true;
		} else if ((size_t)(eq - w) == 4 && memcmp(w, "mime", 4) == 0) {
			if (has_mime)
				return "Titan mime given twice";
			if (!take(eq + 1, n, p->mime, sizeof(p->mime)))
				return "Titan mime too long";
			has_mime = true;
		} else if ((size_t)(eq - w) == 5 && memcmp(w, "token", 5) == 0) {
			if (p->has_token)
				return "Titan token given twice";
			if (!take(eq + 1, n, p->token, sizeof(p->token)))
				return "Titan token too long";
			p->has_token = true;
		} else
			return "Unknown Titan parameter: only size, mime and token";
		if (*end == '\0')
			break;
	}
	return has_size ? NULL : "Titan upload without ;size=";
}

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."

bool
titan_file_name(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= TITAN_NAME_MAX && name[0] != '.' && strspn(name, NAME_CHARS) == n;
}

bool
titan_post_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".txt") == 0 && titan_file_name(name);
}

int
titan_folders(const char *list, char folders[][TITAN_FOLDER_MAX], const char **why)
{
	const char *w = list, *seg, *end;
	int n = 1;
	size_t len;

	snprintf(folders[0], TITAN_FOLDER_MAX, "%s", STORE_POSTS_DIR);
	*why = "titan_files: folder paths such as /images/, each from '/' to '/', of letters, "
	    "digits, '-', '_' and '.', no segment empty or starting with '.', not /posts/";
	for (;;) {
		w += strspn(w, " \t");
		if (*w == '\0')
			return n;
		len = strcspn(w, " \t");
		if (n == TITAN_FOLDERS_MAX + 1) {
			*why = "titan_files: too many folders (8 at most)";
			return -1;
		}
		if (len < 3 || w[0] != '/' || w[len - 1] != '/' || len - 2 >= TITAN_FOLDER_MAX)
			return -1;
		for (seg = w + 1; seg < w + len - 1; seg = end + 1) {
			end = memchr(seg, '/', (size_t)(w + len - 1 - seg));
			if (end == NULL)
				end = w + len - 1;
			if (end == seg || seg[0] == '.' ||
			    strspn(seg, NAME_CHARS) < (size_t)(end - seg))
				return -1;
		}
		snprintf(folders[n], TITAN_FOLDER_MAX, "%.*s", (int)(len - 2), w + 1);
		if (strcmp(folders[n], STORE_POSTS_DIR) == 0 ||
		    strncmp(folders[n], STORE_POSTS_DIR "/", sizeof(STORE_POSTS_DIR)) == 0)
			return -1;
		n++;
		w += len;
	}
}

bool
titan_new_name(const char *words, long long day, char *out, size_t size)
{
	time_t t = (time_t)day;
	size_t n, max;
	bool dash = false;
	struct tm tm;

	if (size < 20 || gmtime_r(&t, &tm) == NULL)
		return false;
	n = strftime(out, size, "%Y-%m-%d-", &tm);
	/* A step adds up to two bytes; ".txt" and its NUL must fit after. */
	max = size - 6 < TITAN_NAME_MAX - 5 ? size - 6 : TITAN_NAME_MAX - 5;
	if (n != 11)
		return false;
	for (; *words != '\0' && n < max; words++) {
		char ch = *words;
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
			if (dash && out[n - 1] != '-')
				out[n++] = '-';
			dash = false;
			out[n++] = ch;
		} else
			dash = true;
	}
	if (n == 11)
		return false;
	/* A word cut at the limit leaves no '-' behind. */
	while (out[n - 1] == '-')
		n--;
	memcpy(out + n, ".txt", 5);
	return true;
}

const char *
titan_check_body(const struct titan_upload *u)
{
	const char *why = NULL;
	struct post meta;

	if (u->size == 0 || u->folder != 0)
		return NULL;
	if (!utf8_valid(u->body, (size_t)u->size))
		return "The post is not valid UTF-8";
	if (post_parse(u->name, u->body, (size_t)u->size, (long long)time(NULL), POST_META,
	    &meta, &why) == -1)
		return why != NULL ? why : "The post cannot be read";
	post_free(&meta);
	return NULL;
}

size_t
titan_request_shown(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (line[i] == ';' || (line[i] == '%' && i + 2 < len && line[i + 1] == '3' &&
		    (line[i + 2] == 'b' || line[i + 2] == 'B')))
			return i;
	return len;
}

int
titan_send(int fd, const struct titan_upload *u, unsigned long long id)
{
	struct ctl_msg m = { .type = CTL_PUBLISH, .site = (uint8_t)u->site, .version = id,
	    .status = (uint32_t)u->folder };
	size_t done = 0;
	ssize_t n;
	int body = -1, rc, e;

	m.len = (uint16_t)snprintf(m.data, sizeof(m.data), "%s%c%s", u->name, '\0', u->author);
	if (u->size > 0) {
		if ((body = memfd_create("gazette-upload", MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
			return -1;
		while (done < (size_t)u->size) {
			if ((n = write(body, u->body + done, (size_t)u->size - done)) == -1) {
				if (errno == EINTR)
					continue;
				goto fail;
			}
			done += (size_t)n;
		}
		/* The publisher reads what the worker checked: nobody can change it now. */
		if (fcntl(body, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
		    F_SEAL_SEAL) == -1)
			goto fail;
	}
	rc = ctl_send(fd, &m, body);
	e = errno;
	if (body != -1)
		close(body);
	errno = e;
	return rc;
fail:
	e = errno;
	close(body);
	errno = e;
	return -1;
}

int
titan_result(const struct titan_upload *u, const struct ctl_msg *m, const char *host,
    int port, char *meta, size_t size)
{
	char at[16] = "";
	size_t n = strlen(u->name) - 4;

	if (m->status != 0) {
		snprintf(meta, size, "%.*s", (int)m->len, m->data);
		return (int)m->status;
	}
	if (port != 1965)
		snprintf(at, sizeof(at), ":%d", port);
	if (u->size == 0)
		snprintf(meta, size, "gemini://%s%s/", host, at);
	else if (u->folder != 0)
		snprintf(meta, size, "gemini://%s%s%s", host, at, u->path);
	else
		snprintf(meta, size, "gemini://%s%s/posts/%.*s.gmi", host, at, (int)n, u->name);
	return 30;
}

void
titan_log(const char *host, const struct titan_upload *u, int status, const char *meta)
{
	log_info("titan: %s: %s, %lld bytes, by %s%s: %d %s", host, u->path, u->size,
	    u->author[0] != '\0' ? "SHA256:" : "no certificate", u->author, status, meta);
}

int
titan_version_name(char *out, size_t size, const char *name, long long sec, long nsec, int i)
{
	char stamp[32];
	time_t t = (time_t)sec;
	struct tm tm;
	int n;

	if (gmtime_r(&t, &tm) == NULL || i < 0 || i >= TITAN_VERSION_TRIES ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) != 15)
		return -1;
	n = snprintf(out, size, "%s.%s.%09ldZ%s%.0d", name, stamp, nsec, i ? "-" : "", i);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Whether s starts with n digits. */
static bool
digits(const char *s, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (s[k] < '0' || s[k] > '9')
			return false;
	return true;
}

bool
titan_version_of(const char *entry, const char *name, const char **stamp, int *i)
{
	size_t n = strlen(name);
	const char *v = entry + n;

	/* The whole name is matched to its end: "a.txt" never takes "a.txt.2000...txt"'s. */
	if (strncmp(entry, name, n) != 0 || v[0] != '.' || !digits(v + 1, 8) || v[9] != 'T' ||
	    !digits(v + 10, 6) || v[16] != '.' || !digits(v + 17, 9) || v[26] != 'Z')
		return false;
	*stamp = v + 1;
	v += 27;
	if (*v == '\0') {
		*i = 0;
		return true;
	}
	if (v[0] != '-' || v[1] < '1' || v[1] > '9' || (v[2] != '\0' && (!digits(v + 2, 1) ||
	    v[3] != '\0')))
		return false;
	*i = atoi(v + 1);
	return true;
}

int
titan_version_cmp(const char *stamp_a, int ia, const char *stamp_b, int ib)
{
	/* "YYYYMMDDTHHMMSS.NNNNNNNNN": one width for all, so bytes sort as times. */
	int c = memcmp(stamp_a, stamp_b, 25);

	return c != 0 ? c : (ia > ib) - (ia < ib);
}
