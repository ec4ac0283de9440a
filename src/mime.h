/* Media types of static files: a table of extensions, then libmagic. */
#ifndef GAZETTE_MIME_H
#define GAZETTE_MIME_H

#include <stddef.h>
#include <sys/stat.h>

#define MIME_GEMINI "text/gemini"

/* Opens and loads the magic database once, before any request. */
int mime_init(char *err, size_t errsize);
void mime_clear(void);

/*
 * The media type of the open regular file fd, whose name (last path segment)
 * is name: by extension for .gmi, .gemini and .txt, else by libmagic on the
 * file's first bytes, cached by device, inode, size and modification time.
 * Never NULL: falls back to application/octet-stream.
 */
const char *mime_type(const char *name, int fd, const struct stat *st);

/* The type by extension alone, or NULL when libmagic must decide. */
const char *mime_by_extension(const char *name);

#endif
