/* Renders a document as text/gemini. */
#ifndef GAZETTE_GEMTEXT_H
#define GAZETTE_GEMTEXT_H

#include <event2/buffer.h>

#include "doc.h"

/* Appends d as gemtext to out. Pure: the same document gives the same bytes. */
int gemtext_render(const struct doc *d, struct evbuffer *out);

#endif
