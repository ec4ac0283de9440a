/* The Atom feed (RFC 4287) of the latest posts, with gemini:// links. */
#ifndef GAZETTE_ATOM_H
#define GAZETTE_ATOM_H

#include <event2/buffer.h>

#include "post.h"

struct atom_feed {
	const char *base;	/* "gemini://host" or "gemini://host:port", no slash */
	const char *title;
	const char *description;
	const char *lang;	/* first tag used for xml:lang; may be "" */
};

struct atom_entry {
	const char *stem;		/* the post's URL name */
	const struct post *meta;	/* as the index has it */
	const struct post *full;	/* NULL when the file could not be read again */
};

/* Renders the feed; entries newest first. Pure: the same input, the same bytes. */
void atom_render(struct evbuffer *out, const struct atom_feed *f,
    const struct atom_entry *e, size_t n);

#endif
