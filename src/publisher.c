#include "publisher.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "store.h"
#include "titan.h"

#define MAX_FDS 257		/* the supervisor's channel and a socket per worker slot */
#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)	/* what a body must have */
#define TEMP_PREFIX ".titan-"	/* a file being written: ".titan-PID-ID.tmp" */
#define REPLY_WAIT_MS 1000	/* the longest an answer waits for room in a worker's queue */

/* Answers the request m on fd: status 0 (done) or a Gemini status, and why. */
static void
reply(int fd, const struct ctl_msg *m, int status, const char *why)
{
	struct ctl_msg r = { .type = CTL_PUBLISHED, .site = m->site, .version = m->version };
	int n = snprintf(r.data, sizeof(r.data), "%s", why);

	r.status = (uint32_t)status;
	r.len = (uint16_t)(n < (int)sizeof(r.data) ? n : (int)sizeof(r.data) - 1);
	/* A full queue gets a moment; a worker that went away needs no answer. */
	if (ctl_send(fd, &r, -1) == -1 && errno == EAGAIN &&
	    poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, REPLY_WAIT_MS) == 1)
		ctl_send(fd, &r, -1);
}

/* Reads the sealed body into u (u->size bytes); false when it is not that size. */
static bool
map_body(int body, struct titan_upload *u, void **map)
{
	struct stat st;

	*map = MAP_FAILED;
	if (fstat(body, &st) == -1 || st.st_size != u->size)
		return false;
	if ((*map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, body, 0)) ==
	    MAP_FAILED)
		return false;
	u->body = *map;
	return true;
}

/* Writes len bytes of data whole to fd. */
static bool
write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, data, len)) == -1) {
			if (errno == EINTR)
				continue;
			return false;
		}
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Copies name to to (both under dirfd), whole and synced; 0, or -1 with errno. */
static int
copy_file(int dirfd, const char *name, const char *to)
{
	char buf[65536];
	int in, out, e;
	ssize_t n = 0;

	if ((in = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	if ((out = openat(dirfd, to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644)) == -1) {
		e = errno;
		close(in);
		errno = e;
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0 && write_all(out, buf, (size_t)n))
		;
	e = errno;
	close(in);
	if (n != 0 || fsync(out) == -1) {
		e = n != 0 ? e : errno;
		close(out);
		unlinkat(dirfd, to, 0);
		errno = e;
		return -1;
	}
	return close(out);
}

/* Bytes of the name keep_version gives a version it keeps. */
#define MADE_MAX (TITAN_NAME_MAX + 64)

/*
 * Keeps the file now at name in .versions/ under name and the time, so
 * that replacing or deleting it loses nothing: a hard link, or a copy where
 * Landlock (ABI 1) allows no link into another folder; made (of size)
 * names it ("" when none was kept). 0, or -1 with errno (ENOENT: there was
 * none).
 */
static int
keep_version(int dirfd, const char *name, char *made, size_t size)
{
	char to[TITAN_NAME_MAX + 96], v[MADE_MAX];
	struct timespec now;
	int i, rc = -1, vfd;

	made[0] = '\0';
	if (mkdirat(dirfd, PUBLISHER_VERSIONS, 0755) == -1 && errno != EEXIST)
		return -1;
	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < TITAN_VERSION_TRIES && rc == -1; i++) {
		if (titan_version_name(v, sizeof(v), name, now.tv_sec, now.tv_nsec, i) == -1) {
			errno = ENAMETOOLONG;
			return -1;
		}
		snprintf(to, sizeof(to), "%s/%s", PUBLISHER_VERSIONS, v);
		if ((rc = linkat(dirfd, name, dirfd, to, 0)) == -1 && errno == EXDEV)
			rc = copy_file(dirfd, name, to);
		if (rc == -1 && errno != EEXIST)
			return -1;
	}
	if (rc == 0)
		snprintf(made, size, "%s", v);
	/* The kept version is on disk before the rename that replaces it. */
	if (rc == 0 && (vfd = openat(dirfd, PUBLISHER_VERSIONS, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		rc = fsync(vfd);
		close(vfd);
	}
	return rc;
}

struct version {
	char *entry;
	const char *stamp;	/* in entry */
	int i;
};

static int
by_time(const void *a, const void *b)
{
	const struct version *x = a, *y = b;

	return titan_version_cmp(x->stamp, x->i, y->stamp, y->i);
}

/*
 * Leaves at most keep versions of name in .versions/ (0: every one): the
 * one just made (a clock set back cannot make it the oldest), then the
 * newest of the others. At most PRUNE_MAX go a call, so an upgrade's first
 * upload to a file with a long history does not hold the folder for long.
 * Under the folder's lock. A failure costs only disk space: it is logged,
 * the upload stands.
 */
#define PRUNE_MAX 100
static void
prune_versions(int dirfd, const char *label, const char *name, const char *made, int keep)
{
	size_t count = 0, cap = 0, i, others = made[0] != '\0' ? (size_t)keep - 1 : (size_t)keep;
	struct version *found = NULL, *grown;
	const char *stamp;
	struct dirent *de;
	DIR *d;
	int fd, n;

	if (keep <= 0 || (fd = openat(dirfd, PUBLISHER_VERSIONS, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	/* cppcheck-suppress readdirCalled */
	while ((de = readdir(d)) != NULL) {
		if (!titan_version_of(de->d_name, name, &stamp, &n) || strcmp(de->d_name, made) == 0)
			continue;
		if (count == cap) {
			if ((grown = realloc(found, (cap * 2 + 16) * sizeof(*found))) == NULL)
				break;
			found = grown;
			cap = cap * 2 + 16;
		}
		if ((found[count].entry = strdup(de->d_name)) == NULL)
			break;
		found[count].stamp = found[count].entry + (stamp - de->d_name);
		found[count++].i = n;
	}
	if (count > others) {
		qsort(found, count, sizeof(*found), by_time);
		for (i = 0; i < count - others && i < PRUNE_MAX; i++)
			if (unlinkat(fd, found[i].entry, 0) == -1)
				log_warn("%s: %s/%s: cannot remove: %s", label, PUBLISHER_VERSIONS,
				    found[i].entry, strerror(errno));
	}
	for (i = 0; i < count; i++)
		free(found[i].entry);
	free(found);
	closedir(d);
}

/*
 * Puts the body in place as NAME in the folder: a temporary file written whole and
 * fsynced, the earlier version kept (as made), a rename, the folder fsynced.
 * Returns NULL, or what failed (errno says why).
 */
static const char *
put(int postsfd, const struct titan_upload *u, unsigned long long id, char made[MADE_MAX])
{
	char tmp[64];
	int fd;

	snprintf(tmp, sizeof(tmp), TEMP_PREFIX "%d-%llu.tmp", (int)getpid(), id);
	if ((fd = openat(postsfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644)) == -1)
		return "cannot write a new file there";
	if (!write_all(fd, u->body, (size_t)u->size) || fsync(fd) == -1) {
		int e = errno;
		close(fd);
		unlinkat(postsfd, tmp, 0);
		errno = e;
		return "cannot write the post";
	}
	close(fd);
	if (keep_version(postsfd, u->name, made, MADE_MAX) == -1 && errno != ENOENT) {
		int e = errno;
		unlinkat(postsfd, tmp, 0);
		errno = e;
		return "cannot keep the earlier version in " PUBLISHER_VERSIONS "/";
	}
	if (renameat(postsfd, tmp, postsfd, u->name) == -1) {
		int e = errno;
		unlinkat(postsfd, tmp, 0);
		errno = e;
		return "cannot rename the post into place";
	}
	return NULL;
}

/* Deletes NAME in the folder, its last version kept (as made). NULL, or what failed. */
static const char *
remove_file(int postsfd, const struct titan_upload *u, int *status, char made[MADE_MAX])
{
	if (keep_version(postsfd, u->name, made, MADE_MAX) == -1) {
		if (errno == ENOENT) {
			*status = 51;
			return u->folder == 0 ? "No such post" : "No such file";
		}
		return "cannot keep it in " PUBLISHER_VERSIONS "/";
	}
	if (unlinkat(postsfd, u->name, 0) == -1)
		return "cannot delete the post";
	return NULL;
}

/*
 * One request: checked again (a worker is not trusted to have), then
 * written. Sets *restart when its folder is no longer the one Landlock lets
 * this process write.
 */
static void
publish(const struct publisher_site *sites, int n, int fd, const struct ctl_msg *m, int body,
    bool *restart)
{
	const struct publisher_site *site = m->site < n ? &sites[m->site] : NULL;
	struct titan_upload u = { .site = m->site, .folder = (int)m->status };
	struct stat was, now;
	const char *author, *why, *folder;
	void *map = MAP_FAILED;
	int postsfd = -1, status = 40;
	char text[300], made[MADE_MAX] = "";

	author = memchr(m->data, '\0', m->len);
	if (site == NULL || !site->titan || author == NULL || m->status >= (uint32_t)site->nfolders ||
	    snprintf(u.name, sizeof(u.name), "%s", m->data) >= (int)sizeof(u.name) ||
	    (u.folder == 0 ? !titan_post_name(u.name) : !titan_file_name(u.name))) {
		reply(fd, m, 59, "Not an upload this capsule takes");
		return;
	}
	snprintf(u.author, sizeof(u.author), "%.*s", (int)(m->len - (size_t)(author + 1 - m->data)),
	    author + 1);
	if (body != -1) {
		struct stat st;
		/* Sealed, or a worker could change it after the check, or cut it under the map. */
		if (fstat(body, &st) == -1 || !S_ISREG(st.st_mode) ||
		    (fcntl(body, F_GET_SEALS) & SEALS) != SEALS) {
			reply(fd, m, 40, "Cannot read the upload");
			return;
		}
		if (st.st_size <= 0 || st.st_size > site->max_size) {
			reply(fd, m, 59, "Upload too large");
			return;
		}
		u.size = st.st_size;
		if (!map_body(body, &u, &map)) {
			reply(fd, m, 40, "Cannot read the upload");
			return;
		}
		if ((why = titan_check_body(&u)) != NULL) {
			snprintf(text, sizeof(text), "Not a post: %s", why);
			reply(fd, m, 59, text);
			goto out;
		}
	}
	/* The folder may have been replaced: only the one Landlock knows can be written. */
	folder = site->folders[u.folder];
	postsfd = openat(site->rootfd, folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (postsfd == -1 || site->dirs[u.folder] == -1 || fstat(postsfd, &now) == -1 ||
	    fstat(site->dirs[u.folder], &was) == -1 || now.st_dev != was.st_dev ||
	    now.st_ino != was.st_ino) {
		log_warn("%s: %s/ %s since the publisher started: starting it anew",
		    site->label, folder, postsfd == -1 ? "is gone" : "was replaced");
		snprintf(text, sizeof(text), "%s/ changed on the server; try again", folder);
		reply(fd, m, 40, text);
		*restart = site->dirs[u.folder] != -1 || postsfd != -1;
		goto out;
	}
	/* A reload's two publishers take turns: each keeps the version the other wrote. */
	if (flock(postsfd, LOCK_EX) == -1)
		why = "cannot lock the folder";
	else
		why = body == -1 ? remove_file(postsfd, &u, &status, made) : put(postsfd, &u,
		    m->version, made);
	if (why == NULL)
		prune_versions(postsfd, site->label, u.name, made, site->versions);
	if (why == NULL && fsync(postsfd) == -1)
		why = "cannot sync the folder";
	if (why != NULL) {
		if (status == 40)
			log_err("%s: %s/%s: %s: %s", site->label, folder, u.name, why,
			    strerror(errno));
		reply(fd, m, status, why);
	} else
		reply(fd, m, 0, body == -1 ? "deleted" : "published");
out:
	if (postsfd != -1)
		close(postsfd);
	if (map != MAP_FAILED)
		munmap(map, (size_t)u.size);
}

/*
 * Removes the temporary files a publisher killed mid-write left in dirfd.
 * Under the folder's lock: no other publisher (a reload's) is writing one.
 */
static void
sweep(int dirfd)
{
	struct dirent *de;
	size_t n;
	DIR *d;
	int fd;

	if (flock(dirfd, LOCK_EX) == -1)
		return;
	if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		if ((d = fdopendir(fd)) == NULL)
			close(fd);
		else {
			/* readdir_r is deprecated; see files_list() in files.c. */
			/* cppcheck-suppress readdirCalled */
			while ((de = readdir(d)) != NULL) {
				n = strlen(de->d_name);
				if (strncmp(de->d_name, TEMP_PREFIX, sizeof(TEMP_PREFIX) - 1) == 0 &&
				    n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0)
					unlinkat(dirfd, de->d_name, 0);
			}
			closedir(d);
		}
	}
	flock(dirfd, LOCK_UN);
}

int
publisher_run(const struct publisher_site *sites, int n, int ctl, const int *fds, int nfds)
{
	struct pollfd p[MAX_FDS];
	struct ctl_msg m;
	bool restart = false;
	int i, f, rc = 0, body;

	for (i = 0; i < n; i++)
		for (f = 0; sites[i].titan && f < sites[i].nfolders; f++)
			if (sites[i].dirs[f] != -1)
				sweep(sites[i].dirs[f]);

	if (nfds + 1 > MAX_FDS)
		nfds = MAX_FDS - 1;
	p[0] = (struct pollfd){ .fd = ctl, .events = POLLIN };
	for (i = 0; i < nfds; i++)
		p[i + 1] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	while (!restart) {
		log_flush();
		if (poll(p, (nfds_t)nfds + 1, -1) == -1 && errno != EINTR)
			return 1;
		/* The supervisor is gone (it never writes here otherwise): so are we. */
		if (p[0].revents != 0)
			return 0;
		for (i = 1; i <= nfds && !restart; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			while (!restart && (rc = ctl_recv(p[i].fd, &m, &body)) == 1) {
				if (m.type == CTL_PUBLISH)
					publish(sites, n, p[i].fd, &m, body, &restart);
				if (body != -1)
					close(body);
			}
			/* Gone: that slot is not listened to again (garbled: that message only). */
			if (rc == -1)
				p[i].fd = -1;
		}
	}
	log_flush();
	return 1;
}
