/* Media types of static files: a table of extensions, then libmagic. */
#ifndef GAZETTE_MIME_H
#define GAZETTE_MIME_H

#include <stddef.h>
#include <sys/stat.h>

#define MIME_GEMINI "text/gemini"

/*
 * The magic database and the types it found, owned by one generation (its
 * server): loaded once before any request and confinement, freed with it.
 */
struct mime;
struct mime *mime_new(char *err, size_t errsize);
void mime_free(struct mime *m);

/*
 * The media type of the open regular file fd, whose name (last path segment)
 * is name: by extension when the table knows it (.gmi, .txt, .png...), else
 * by libmagic on the file's first bytes, cached by device, inode, size and
 * modification time.
 * Never NULL: falls back to application/octet-stream.
 */
const char *mime_type(struct mime *m, const char *name, int fd, const struct stat *st);

/* The type by extension alone, or NULL when libmagic must decide. */
const char *mime_by_extension(const char *name);

/* The Gopher item type a file name's extension settles, or 0 when it does not. */
char mime_item_by_name(const char *name);

/*
 * The Gopher item type of the open file fd whose name's extension settles
 * none, from its first bytes alone: text (UTF-8, no NUL) or binary. Cheap
 * enough for every entry of a long listing, where libmagic is not.
 */
char mime_item_sniff(int fd);

/* The Gopher item type of a media type as mime_type gives it ("image/png; ..."). */
char mime_item(const char *type);

#endif
