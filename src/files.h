/* Static files under a content root: safe resolution and folder listings. */
#ifndef GAZETTE_FILES_H
#define GAZETTE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define FILES_REAL_MAX 1100	/* a real name: a request's path, links followed */

enum files_status {
	FILES_OK,
	FILES_NOT_FOUND,	/* missing, hidden, outside the root, or not a file */
	FILES_NEEDS_SLASH,	/* a folder named without its trailing slash */
};

struct files_entry {
	int fd;			/* open read-only; the caller closes it */
	struct stat st;
	bool is_dir;
	const char *name;	/* last segment of the path asked for */
	bool linked;		/* reached through a symlink: its real name is real */
	char real[FILES_REAL_MAX];
};

/*
 * Opens path (a decoded URL path: starts with '/', ends with '/' for a folder)
 * relative to rootfd. It cannot leave the root: openat2(RESOLVE_BENEATH)
 * refuses ".." and symlinks that climb out (and where the kernel lacks openat2,
 * no symlink is followed at all). Segments starting with '.' are hidden, under
 * the name asked for and under the real name a symlink inside the root leads
 * to (e->real, which the caller's own rules must judge too). Only regular
 * files and folders are ever opened.
 */
enum files_status files_open(int rootfd, const char *path, struct files_entry *e);

struct files_item {
	char *name;
	bool is_dir;
	char item;		/* its Gopher item type, where a listing needs it; else 0 */
};

/*
 * The folder at path (open as dirfd): folders first, then files, each by name;
 * dotfiles, special files and symlinks that lead outside rootfd left out; at
 * most FILES_LIST_MAX entries.
 */
#define FILES_LIST_MAX 10000
int files_list(int rootfd, const char *path, int dirfd, struct files_item **items,
    size_t *n);
void files_list_free(struct files_item *items, size_t n);

/* True when some segment of path starts with '.'. */
bool files_hidden(const char *path);

#endif
