#include "pages.h"

#include <string.h>

void
pages_folder(struct doc *d, const char *path, const struct files_item *items, size_t n)
{
	size_t i, plen = strlen(path);

	doc_heading(d, 1, doc_printf(d, "Index of %s", path));
	doc_blank(d);
	if (strcmp(path, "/") != 0) {
		/* The parent: path minus its last segment, keeping the slash. */
		size_t cut = plen - 1;
		while (cut > 0 && path[cut - 1] != '/')
			cut--;
		doc_link(d, DOC_TO_MENU, doc_printf(d, "%.*s", (int)cut, path), "..");
	}
	for (i = 0; i < n; i++) {
		const char *slash = items[i].is_dir ? "/" : "";
		doc_link(d, items[i].is_dir ? DOC_TO_MENU : DOC_TO_FILE,
		    doc_printf(d, "%s%s%s", path, items[i].name, slash),
		    doc_printf(d, "%s%s", items[i].name, slash));
	}
}
