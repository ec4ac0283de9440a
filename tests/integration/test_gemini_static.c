/* Static files over Gemini, against the real server. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"
#include "test.h"

static const struct gazette_opts static_site = { .fixture = "static" };

/* Fetches path from g and checks the whole reply byte for byte. */
static void
expect(struct gazette *g, const char *path, const char *want)
{
	char req[1200];
	struct reply r;

	snprintf(req, sizeof(req), "gemini://localhost:%d%s\r\n", g->gemini_port, path);
	test_context("%s", path);
	gemini_get(g->gemini_port, req, &r);
	CHECK_STR(r.data, want);
	CHECK(r.close_notify);
	reply_free(&r);
	test_context("%s", "");
}

TEST(gemini_static_index)
{
	struct gazette g;

	if (gazette_start(&g, &static_site) == -1)
		return;
	/* A folder's index.gmi is its page; the root's page is the generated home. */
	expect(&g, "/guide/", "20 text/gemini; charset=utf-8; lang=en\r\n"
	    "# Static fixture\n\nHello, Gemini.\n");
	expect(&g, "/guide", "31 /guide/\r\n");
	expect(&g, "/docs/note.txt", "20 text/plain; charset=utf-8\r\nplain text\n");
	expect(&g, "/docs/other.gemini", "20 text/gemini; charset=utf-8; lang=en\r\n"
	    "gemini too\n");
	expect(&g, "/docs", "31 /docs/\r\n");
	expect(&g, "/docs/", "20 text/gemini; charset=utf-8; lang=en\r\n"
	    "# Index of /docs/\n\n"
	    "=> / ..\n"
	    "=> /docs/alias.txt alias.txt\n"
	    "=> /docs/note.txt note.txt\n"
	    "=> /docs/other.gemini other.gemini\n"
	    "=> /docs/page.gmi page.gmi\n"
	    "=> /docs/pixel.png pixel.png\n");
	expect(&g, "/.hidden.gmi", "51 Not found\r\n");
	expect(&g, "/.secret/key.txt", "51 Not found\r\n");
	expect(&g, "/docs/escape", "51 Not found\r\n");
	expect(&g, "/docs/alias.txt", "20 text/plain; charset=utf-8\r\nplain text\n");
	expect(&g, "/nope", "51 Not found\r\n");
	expect(&g, "/docs/note.txt/", "51 Not found\r\n");
	gazette_stop(&g);
}

/*
 * A known extension settles the type; libmagic types a file by its bytes
 * otherwise, without the "; charset=binary" it gives what is not text.
 */
TEST(gemini_static_magic)
{
	struct gazette g;
	struct reply r;
	char req[200], head[200], from[700], to[700];

	if (gazette_start(&g, &static_site) == -1)
		return;
	snprintf(req, sizeof(req), "gemini://localhost:%d/docs/pixel.png\r\n", g.gemini_port);
	gemini_get(g.gemini_port, req, &r);
	CHECK_STR(reply_header(&r, head, sizeof(head)), "20 image/png");
	CHECK_INT(r.len, 69 + strlen("20 image/png\r\n"));
	reply_free(&r);
	snprintf(from, sizeof(from), "%s/docs/pixel.png", g.root);
	snprintf(to, sizeof(to), "%s/docs/picture", g.root);
	CHECK(link(from, to) == 0);
	snprintf(req, sizeof(req), "gemini://localhost:%d/docs/picture\r\n", g.gemini_port);
	gemini_get(g.gemini_port, req, &r);
	CHECK_STR(reply_header(&r, head, sizeof(head)), "20 image/png");
	reply_free(&r);
	gazette_stop(&g);
}

/*
 * Every link a listing gives leads to what it names, whatever the file's
 * name: escaped where a URL needs it, left out where no URL can carry it (a
 * control character, bytes that are not UTF-8), never a link to a 59.
 */
TEST(gemini_static_listing_links_all_work)
{
	static const struct {
		const char *name;
		bool listed;
	} rows[] = {
		{ "sp ace.txt", true }, { "what?.txt", true }, { "100%.txt", true },
		{ "caf\xc3\xa9.txt", true }, { "a#b.txt", true }, { "semi;colon.txt", true },
		{ "odd\tname.txt", false }, { "line\nbreak.txt", false },
		{ "caf\xe9.txt", false }, { "del\x7f.txt", false },
	};
	char path[300], body[64], req[1300];
	struct gazette g;
	struct reply r, f;
	const char *p, *end;
	size_t i;
	int links = 0;

	if (gazette_start(&g, &static_site) == -1)
		return;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(path, sizeof(path), "odd/%s", rows[i].name);
		snprintf(body, sizeof(body), "file %zu\n", i);
		gazette_write(&g, path, body, -1);
	}
	gemini_path(&g, "/odd/", &r);
	CHECK(strncmp(r.data, "20 text/gemini", 14) == 0);
	/* Fetch every link the listing gives. */
	for (p = r.data; (p = strstr(p, "\n=> /odd/")) != NULL; p = end) {
		p += 4;
		end = p + strcspn(p, " \n");
		snprintf(req, sizeof(req), "gemini://localhost:%d%.*s\r\n", g.gemini_port,
		    (int)(end - p), p);
		test_context("%s", req);
		gemini_get(g.gemini_port, req, &f);
		CHECK(strncmp(f.data, "20 ", 3) == 0 && strstr(f.data, "file ") != NULL);
		reply_free(&f);
		links++;
	}
	test_context("%s", "");
	for (i = 0, p = NULL; i < sizeof(rows) / sizeof(rows[0]); i++)
		links -= rows[i].listed;
	CHECK_INT(links, 0);
	reply_free(&r);
	gazette_stop(&g);
}
