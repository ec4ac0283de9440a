/*
 * Page builders: each turns what a request asks for into a document, with no
 * knowledge of the protocol that will render it.
 */
#ifndef GAZETTE_PAGES_H
#define GAZETTE_PAGES_H

#include <stddef.h>

#include "doc.h"
#include "files.h"

/* A folder without an index: its folders, then its files, each a link. */
void pages_folder(struct doc *d, const char *path, const struct files_item *items,
    size_t n);

#endif
