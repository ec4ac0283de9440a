/*
 * Gopher menus: documents rendered as menus, gophermap files parsed, and the
 * RFC 1436 field rules on whatever goes in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "fuzz/gopher_check.h"
#include "gophermap.h"
#include "mime.h"
#include "pages.h"
#include "test.h"

#define I "\t\terror.host\t1\r\n"

static char *
take(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *out = malloc(n + 1);

	if (out == NULL)
		abort();
	evbuffer_remove(b, out, n);
	out[n] = '\0';
	evbuffer_free(b);
	return out;
}

static const struct gophermap_ctx ctx = {
	.host = "gopher.example.org",
	.port = 7070,
};

/* The capsule whose gemini:// links are local: example.org, port 1965. */
static const struct pages_site here = {
	    .title = "Example", .description = "",
	    .home_posts = 10, .page_size = 100, .host = "example.org", .gemini_port = 1965 };

/* d as a complete menu, checked against the RFC 1436 rules. */
static char *
render(struct doc *d)
{
	struct evbuffer *b = evbuffer_new();
	const char *why;
	char *out;

	CHECK_INT(gophermap_render(d, &ctx, b), 0);
	gophermap_end(b);
	doc_clear(d);
	out = take(b);
	if ((why = gopher_check_menu(out, strlen(out), GOPHER_DISPLAY_MAX)) != NULL)
		test_fail(__FILE__, __LINE__, "not a valid menu: %s", why);
	return out;
}

/*
 * The map as a menu; its "*" is the folder's listing (a.txt, b.txt,
 * secret.txt, c.txt) less what the map hides, as the resolver builds it.
 */
static char *
parse_map(const char *map, size_t len, const char *folder)
{
	static const char *const names[] = { "a.txt", "b.txt", "secret.txt", "c.txt" };
	struct evbuffer *b = evbuffer_new();
	struct gophermap_hidden hidden;
	const char *why;
	struct doc listing;
	bool listed;
	char *out;
	size_t i;

	doc_init(&listing);
	listed = gophermap_listed(map, len, &hidden);
	for (i = 0; i < 4; i++)
		if (!gophermap_hides(&hidden, names[i]))
			doc_link_item(&listing, doc_printf(&listing, "%s%s", folder, names[i]),
			    names[i], '0');
	gophermap_parse(map, len, folder, &ctx, listed ? &listing : NULL, b);
	doc_clear(&listing);
	gophermap_end(b);
	out = take(b);
	if ((why = gopher_check_menu(out, strlen(out), GOPHER_DISPLAY_MAX)) != NULL)
		test_fail(__FILE__, __LINE__, "not a valid menu: %s", why);
	return out;
}

TEST(gophermap_render_blocks)
{
	struct doc d;
	char *m;

	doc_init(&d);
	doc_heading(&d, 1, "Monthly Archives: January 2020");
	doc_blank(&d);
	doc_heading(&d, 2, "Sub");
	doc_text(&d, "Some text.", -1);
	doc_item(&d, "an item", -1);
	doc_quote(&d, "a quote", -1);
	doc_pre(&d, NULL, "pre one\n  pre two", -1);
	m = render(&d);
	CHECK_STR(m,
	    "iMonthly Archives: January 2020" I
	    "i==============================" I
	    "i" I
	    "iSub" I
	    "i---" I
	    "iSome text." I
	    "i* an item" I
	    "i> a quote" I
	    "ipre one" I
	    "i  pre two" I
	    ".\r\n");
	free(m);
}

TEST(gophermap_render_links_by_target)
{
	struct doc d;
	char *m;

	doc_init(&d);
	doc_link(&d, DOC_TO_MENU, "/archive/", "Archive");
	doc_link(&d, DOC_TO_POST, "/posts/2020-01-08-kim", "2020-01-08 Kim");
	doc_link(&d, DOC_TO_FILE, "/pics/cat.png", "cat.png");
	doc_link(&d, DOC_TO_FILE, "/files/blob", "blob");
	doc_link(&d, DOC_TO_SEARCH, "/search", "Search");
	doc_link(&d, DOC_TO_FEED, "/atom.xml", "Atom feed");
	pages_link_url(&d, "https://example.com/a?b=c", "Web", &here);
	pages_link_url(&d, "gemini://other.org/", "Elsewhere", &here);
	pages_link_url(&d, "gemini://example.org/posts/2020-01-08-kim.gmi", "Local post", &here);
	pages_link_url(&d, "gemini://EXAMPLE.org:1965/archive/2020/", "Local year", &here);
	pages_link_url(&d, "gemini://example.org/search?q", "Local search", &here);
	pages_link_url(&d, "gemini://example.org/about.gmi", "Local file", &here);
	pages_link_url(&d, "gemini://example.org/atom.xml", "Local feed", &here);
	pages_link_url(&d, "gemini://example.org:1966/", "Other port", &here);
	pages_link_url(&d, "gopher://sdf.org/1/users/", "SDF", &here);
	pages_link_url(&d, "gopher://[::1]:7071/0/a%20b.txt", "Six", &here);
	pages_link_url(&d, "gopher://host.example", "Root", &here);
	pages_link_url(&d, "gopher://host.example/0a%09b", "Tab in selector", &here);
	doc_link(&d, DOC_TO_MENU, "/", "");
	m = render(&d);
	CHECK_STR(m,
	    "1Archive\t/archive/\tgopher.example.org\t7070\r\n"
	    "02020-01-08 Kim\t/posts/2020-01-08-kim.txt\tgopher.example.org\t7070\r\n"
	    "Icat.png\t/pics/cat.png\tgopher.example.org\t7070\r\n"
	    "9blob\t/files/blob\tgopher.example.org\t7070\r\n"
	    "7Search\t/search\tgopher.example.org\t7070\r\n"
	    "hWeb\tURL:https://example.com/a?b=c\tgopher.example.org\t7070\r\n"
	    "hElsewhere\tURL:gemini://other.org/\tgopher.example.org\t7070\r\n"
	    "0Local post\t/posts/2020-01-08-kim.txt\tgopher.example.org\t7070\r\n"
	    "1Local year\t/archive/2020/\tgopher.example.org\t7070\r\n"
	    "7Local search\t/search\tgopher.example.org\t7070\r\n"
	    "0Local file\t/about.gmi\tgopher.example.org\t7070\r\n"
	    "hLocal feed\tURL:gemini://example.org/atom.xml\tgopher.example.org\t7070\r\n"
	    "hOther port\tURL:gemini://example.org:1966/\tgopher.example.org\t7070\r\n"
	    "1SDF\t/users/\tsdf.org\t70\r\n"
	    "0Six\t/a b.txt\t::1\t7071\r\n"
	    "1Root\t\thost.example\t70\r\n"
	    "hTab in selector\tURL:gopher://host.example/0a%09b\tgopher.example.org\t7070\r\n"
	    "1/\t/\tgopher.example.org\t7070\r\n"
	    ".\r\n");
	free(m);
}

/* lynx cuts a selector at the first byte beyond ASCII: local ones are encoded. */
TEST(gophermap_render_selectors_ascii)
{
	struct doc d;
	char *m;

	doc_init(&d);
	doc_link(&d, DOC_TO_MENU, "/tags/caf\xc3\xa9-culture/", "Caf\xc3\xa9 Culture");
	doc_link(&d, DOC_TO_POST, "/posts/2020-01-01-\xed\x95\x9c", "Korean");
	doc_link_results(&d, "/search/page/2/", "Older", "caf\xc3\xa9 au lait");
	doc_link_results(&d, "/search/page/3/", "Older", "100% sure");
	doc_link_results(&d, "/search/page/4/", "Older", "plain words");
	m = render(&d);
	CHECK_STR(m,
	    "1Caf\xc3\xa9 Culture\t/tags/caf%C3%A9-culture/\tgopher.example.org\t7070\r\n"
	    "0Korean\t/posts/2020-01-01-%ED%95%9C.txt\tgopher.example.org\t7070\r\n"
	    "1Older\t/search/page/2/?caf%C3%A9%20au%20lait\tgopher.example.org\t7070\r\n"
	    "1Older\t/search/page/3/?100%25%20sure\tgopher.example.org\t7070\r\n"
	    "1Older\t/search/page/4/?plain words\tgopher.example.org\t7070\r\n"
	    ".\r\n");
	free(m);
}

TEST(gophermap_render_fields_never_leak_controls)
{
	struct doc d;
	char *m;

	doc_init(&d);
	doc_heading(&d, 1, "Tab\there\r\nand\x01there");
	doc_link(&d, DOC_TO_FILE, "/files/odd\tname.txt", "odd\tname.txt");
	doc_link(&d, DOC_TO_FILE, "/files/line\nbreak.txt", "line\nbreak.txt");
	doc_link(&d, DOC_TO_FILE, "/files/what?.txt", "what?.txt");
	doc_link(&d, DOC_TO_FILE, "/files/caf\xe9.txt", "caf\xe9.txt");
	doc_link(&d, DOC_TO_MENU, "/tags/a\x7f" "b/", "del\x7f");
	m = render(&d);
	CHECK_STR(m,
	    "iTab here  and there" I
	    "i===================" I
	    "0odd name.txt\t/files/odd%09name.txt\tgopher.example.org\t7070\r\n"
	    "0line break.txt\t/files/line%0Abreak.txt\tgopher.example.org\t7070\r\n"
	    "0what?.txt\t/files/what%3F.txt\tgopher.example.org\t7070\r\n"
	    "0caf\xef\xbf\xbd.txt\t/files/caf%E9.txt\tgopher.example.org\t7070\r\n"
	    "1del \t/tags/a%7Fb/\tgopher.example.org\t7070\r\n"
	    ".\r\n");
	free(m);
}

TEST(gophermap_display_strings_fit)
{
	struct doc d;
	char label[400], *m;
	const char *line;

	doc_init(&d);
	/* 80 ASCII columns: cut between words, with an ellipsis. */
	doc_link(&d, DOC_TO_MENU, "/a/", "2020-01-20 Trump administration's extreme vetting not "
	    "kind to North Korean escapees");
	/* One long word: cut hard at 66 columns plus the ellipsis. */
	memset(label, 'x', 100);
	label[100] = '\0';
	doc_link(&d, DOC_TO_MENU, "/b/", label);
	/* Forty Hangul syllables, eighty columns. */
	label[0] = '\0';
	for (int i = 0; i < 40; i++)
		strcat(label, "\xed\x95\x9c");
	doc_link(&d, DOC_TO_MENU, "/c/", label);
	doc_text(&d, "A paragraph long enough to wrap over two info lines, because no "
	    "display string may reach seventy columns in a Gopher menu.", -1);
	m = render(&d);
	line = m;
	CHECK(strncmp(line, "12020-01-20 Trump administration's extreme vetting not kind to"
	    "\xe2\x80\xa6\t/a/\t", 70) == 0);
	line = strchr(line, '\n') + 1;
	memset(label, 'x', 66);
	strcpy(label + 66, "\xe2\x80\xa6\t/b/\t");
	CHECK(strncmp(line + 1, label, strlen(label)) == 0);
	line = strchr(line, '\n') + 1;
	/* 33 syllables (66 columns) and the ellipsis. */
	CHECK(strncmp(line + 1 + 33 * 3, "\xe2\x80\xa6\t/c/", 7) == 0);
	line = strchr(line, '\n') + 1;
	CHECK_STR(line, "iA paragraph long enough to wrap over two info lines, because no"
	    I "idisplay string may reach seventy columns in a Gopher menu." I ".\r\n");
	free(m);
}

TEST(gophermap_selectors_under_256_bytes)
{
	char path[400];
	struct doc d;
	char *m;

	memset(path, 'p', sizeof(path));
	path[0] = '/';
	path[255] = '\0';
	doc_init(&d);
	doc_link(&d, DOC_TO_MENU, path, "exactly 255");
	path[256] = '\0';
	path[255] = 'p';
	doc_link(&d, DOC_TO_MENU, path, "256: shown as text");
	doc_link(&d, DOC_TO_URL, "https://example.org/" "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789",
	    "a URL too long for a selector");
	m = render(&d);
	CHECK(strncmp(m, "1exactly 255\t/ppp", 17) == 0);
	CHECK(strstr(m, "i256: shown as text" I) != NULL);
	CHECK(strstr(m, "ia URL too long for a selector" I) != NULL);
	free(m);
}

TEST(gophermap_item_refuses_bad_fields)
{
	struct evbuffer *b = evbuffer_new();
	char sel[300], *m;

	CHECK_INT(gophermap_item(b, '0', "ok", "/ok", "host", 70), 0);
	CHECK_INT(gophermap_item(b, '\t', "x", "/x", "host", 70), -1);
	CHECK_INT(gophermap_item(b, '0', "x", "/a\tb", "host", 70), -1);
	CHECK_INT(gophermap_item(b, '0', "x", "/a\r\nb", "host", 70), -1);
	CHECK_INT(gophermap_item(b, '0', "x", "/x", "bad host", 70), -1);
	CHECK_INT(gophermap_item(b, '0', "x", "/x", "", 70), -1);
	CHECK_INT(gophermap_item(b, '0', "x", "/x", "host", 0), -1);
	CHECK_INT(gophermap_item(b, '0', "x", "/x", "host", 65536), -1);
	CHECK_INT(gophermap_item(b, '0', "tab\tin display", "/x", "host", 70), 0);
	memset(sel, 'a', sizeof(sel));
	sel[256] = '\0';
	CHECK_INT(gophermap_item(b, '0', "x", sel, "host", 70), -1);
	sel[255] = '\0';
	CHECK_INT(gophermap_item(b, '0', "255", sel, "host", 70), 0);
	gophermap_info(b, '3', "Not\tfound");
	m = take(b);
	CHECK(strncmp(m, "0ok\t/ok\thost\t70\r\n0tab in display\t/x\thost\t70\r\n0255\taaa", 48) == 0);
	CHECK(strstr(m, "aaa\thost\t70\r\n3Not found" I) != NULL);
	free(m);
}

TEST(gophermap_types)
{
	CHECK_INT(mime_item_by_name("a.txt"), '0');
	CHECK_INT(mime_item_by_name("A.GMI"), '0');
	CHECK_INT(mime_item_by_name("x.gif"), 'g');
	CHECK_INT(mime_item_by_name("x.jpeg"), 'I');
	CHECK_INT(mime_item_by_name("x.html"), 'h');
	CHECK_INT(mime_item_by_name("x.ogg"), 's');
	CHECK_INT(mime_item_by_name("x.bin"), 0);
	CHECK_INT(mime_item_by_name(".txt"), 0);
	CHECK_INT(mime_item("text/plain; charset=us-ascii"), '0');
	CHECK_INT(mime_item("text/html; charset=utf-8"), 'h');
	CHECK_INT(mime_item("image/gif; charset=binary"), 'g');
	CHECK_INT(mime_item("image/png; charset=binary"), 'I');
	CHECK_INT(mime_item("audio/mpeg; charset=binary"), 's');
	CHECK_INT(mime_item("inode/x-empty; charset=binary"), '0');
	CHECK_INT(mime_item("application/octet-stream"), '9');
}

/* The item type a listing gives a file of these bytes and no known extension. */
static char
sniffed(const char *bytes, size_t len)
{
	FILE *f = tmpfile();
	char t;

	if (f == NULL || fwrite(bytes, 1, len, f) != len || fflush(f) != 0)
		return 0;
	t = mime_item_sniff(fileno(f));
	fclose(f);
	return t;
}

TEST(gophermap_types_sniffed)
{
	char cut[600];

#define SNIFFED(bytes) sniffed(bytes, sizeof(bytes) - 1)
	CHECK_INT(SNIFFED(""), '0');
	CHECK_INT(SNIFFED("plain words\n"), '0');
	CHECK_INT(SNIFFED("caf\xc3\xa9\n"), '0');
	CHECK_INT(SNIFFED("\x89PNG\r\n\x1a\n\0\0"), '9');
	CHECK_INT(SNIFFED("caf\xe9 latin-1"), '9');
#undef SNIFFED
	/* A character the 512-byte peek cuts in two is still text. */
	memset(cut, 'a', sizeof(cut));
	memcpy(cut + 510, "\xe2\x80\x99", 3);
	CHECK_INT(sniffed(cut, sizeof(cut)), '0');
}

TEST(gophermap_parse_bucktooth_and_gophernicus)
{
	static const char map[] =
	    "!Welcome to the map\n"
	    "# a comment, never shown\n"
	    "Plain info text, no TAB.\r\n"
	    "\n"
	    "0About this place\tabout.txt\n"
	    "1Sub folder\tsub/\n"
	    "0Absolute\t/elsewhere/file.txt\n"
	    "1Climbing\t../up/\n"
	    "1Too far\t../../../out/\n"
	    "0No selector\t\n"
	    "1Remote\t/\tsdf.org\t70\n"
	    "1Remote default port\t/x\tsdf.org\n"
	    "1Our host, our port\trel\tgopher.example.org\n"
	    "1Bad port falls back\trel2\t\tnotaport\n"
	    "hWeb\tURL:https://example.org/\n"
	    "iInfo with fields\tignored\thost\t70\n"
	    "3An error line\t\terror.host\t1\n"
	    "0Gopher plus\t/p.txt\tgopher.example.org\t7070\t+\n"
	    "\x01" "Bad type\t/x\n"
	    "0Ctrl\x02 in display\t/d.txt\n"
	    "-secret.txt\n"
	    "=include-is-not-supported\n"
	    "*\n"
	    "*\n"
	    ".\n"
	    "0After the end\t/never\n";
	char *m = parse_map(map, sizeof(map) - 1, "/dir/");

	CHECK_STR(m,
	    "iWelcome to the map\tTITLE\terror.host\t1\r\n"
	    "iPlain info text, no TAB." I
	    "i" I
	    "0About this place\t/dir/about.txt\tgopher.example.org\t7070\r\n"
	    "1Sub folder\t/dir/sub/\tgopher.example.org\t7070\r\n"
	    "0Absolute\t/elsewhere/file.txt\tgopher.example.org\t7070\r\n"
	    "1Climbing\t/up/\tgopher.example.org\t7070\r\n"
	    "0No selector\t/dir/No selector\tgopher.example.org\t7070\r\n"
	    "1Remote\t/\tsdf.org\t70\r\n"
	    "1Remote default port\t/x\tsdf.org\t70\r\n"
	    "1Our host, our port\t/dir/rel\tgopher.example.org\t7070\r\n"
	    "1Bad port falls back\t/dir/rel2\tgopher.example.org\t7070\r\n"
	    "hWeb\tURL:https://example.org/\tgopher.example.org\t7070\r\n"
	    "iInfo with fields" I
	    "3An error line" I
	    "0Gopher plus\t/p.txt\tgopher.example.org\t7070\r\n"
	    "0Ctrl  in display\t/d.txt\tgopher.example.org\t7070\r\n"
	    "0a.txt\t/dir/a.txt\tgopher.example.org\t7070\r\n"
	    "0b.txt\t/dir/b.txt\tgopher.example.org\t7070\r\n"
	    "0c.txt\t/dir/c.txt\tgopher.example.org\t7070\r\n"
	    ".\r\n");
	free(m);
}

TEST(gophermap_parse_odd_input)
{
	char *m;

	m = parse_map("", 0, "/");
	CHECK_STR(m, ".\r\n");
	free(m);
	/* A last line without LF; a lone CR line; NUL bytes; a dot that is not alone. */
	{
		static const char map[] = "one\r\n\r\nnul\0byte\n..\ntwo";
		m = parse_map(map, sizeof(map) - 1, "/");
	}
	CHECK_STR(m, "ione" I "i" I "inul byte" I "i.." I "itwo" I ".\r\n");
	free(m);
	/* A selector of 256 bytes cannot be sent: the line is left out. */
	{
		char map[400];
		memset(map, 'a', sizeof(map));
		memcpy(map, "0x\t/", 4);
		map[4 + 255] = '\n';
		m = parse_map(map, 4 + 256, "/");
		CHECK_STR(m, ".\r\n");
		free(m);
	}
}
