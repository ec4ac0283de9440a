/* The post parser: format rules, repairs, limits and the seed archive. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "post.h"
#include "test.h"
#include "utf8.h"

#define MTIME 1578441600LL	/* 2020-01-08T00:00:00Z */

static int
parse_mode(struct post *p, const char *name, const char *s, size_t len, enum post_mode mode)
{
	const char *why = NULL;
	int r = post_parse(name, s, len, MTIME, mode, p, &why);

	if (r == 0 && why != NULL)
		test_fail(__FILE__, __LINE__, "why set on success: %s", why);
	if (r == -1 && why == NULL)
		test_fail(__FILE__, __LINE__, "no reason on failure");
	return r;
}

static int
parse(struct post *p, const char *s)
{
	return parse_mode(p, "2020-01-08-post.txt", s, strlen(s), POST_FULL);
}

static int
parse_named(struct post *p, const char *name, const char *s)
{
	return parse_mode(p, name, s, strlen(s), POST_FULL);
}

/* The block i as "TYPE:text", for compact expectations. */
static const char *
block(const struct post *p, size_t i)
{
	static const char *const names[] = { "PARA", "QUOTE", "ITEM", "PRE", "LINK" };
	static char out[512];

	if (i >= p->nblocks)
		return "(none)";
	snprintf(out, sizeof(out), "%s:%s", names[p->blocks[i].type], p->blocks[i].text);
	return out;
}

static char *
read_fixture(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1) {
		test_fail(__FILE__, __LINE__, "cannot open %s", path);
		if (fd != -1)
			close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

TEST(post_seed_archive)
{
	static const struct {
		const char *name, *title, *source;
		int day, paragraphs;
	} posts[] = {
		{ "2020-01-01-a-taste-of-entrepreneurship-in-seoul-for-north-korean-defectors",
		  "A taste of entrepreneurship in Seoul for North Korean defectors",
		  "The Investor", 1, 6 },
		{ "2020-01-02-us-diplomats-helped-13-north-koreans-held-in-vietnam",
		  "US diplomats helped 13 North Koreans held in Vietnam",
		  "Wall Street Journal", 2, 5 },
		{ "2020-01-03-europe-helps-secure-release-of-11-north-korean-defectors",
		  "Europe helps secure release of 11 North Korean defectors held in Vietnam",
		  NULL, 3, 6 },
		{ "2020-01-06-killing-of-iranian-commander-sends-message-to-north-korea",
		  "Killing of Iranian commander sends message to North Korea",
		  "VoA/South China Morning Post", 6, 6 },
		{ "2020-01-07-consequences-in-north-korea-from-us-killing-of-irans-top-commander",
		  "Consequences in North Korea from US killing of Iran\u2019s top military commander",
		  NULL, 7, 5 },
		{ "2020-01-08-kim-jong-un-turns-36-today", "Kim Jong Un turns 36 today",
		  "NK News", 8, 6 },
		{ "2020-01-09-why-is-the-birthday-of-kim-jong-un-not-a-bigger-deal",
		  "Why is the birthday of Kim Jong Un not a bigger deal in North Korea?",
		  "NK News", 9, 7 },
		{ "2020-01-13-arrests-of-north-korean-defectors-in-china-are-up",
		  "Arrests of North Korean defectors in China are up", "The Diplomat", 13, 5 },
		{ "2020-01-14-moon-says-door-not-closed-on-talks-with-north-korea",
		  "South Korea\u2019s Moon says door not closed on talks with North Korea",
		  NULL, 14, 5 },
		{ "2020-01-20-extreme-vetting-not-kind-to-north-korean-escapees",
		  "Trump administration\u2019s extreme vetting not kind to North Korean "
		  "escapees seeking a new life in the US", "NK News", 20, 7 },
	};
	char path[1024];
	struct post p, m;
	size_t i, j, len;
	char *data;

	for (i = 0; i < sizeof(posts) / sizeof(posts[0]); i++) {
		test_context("%s", posts[i].name);
		snprintf(path, sizeof(path), "%s/../content/posts/%s.txt", test_source_dir(),
		    posts[i].name);
		if ((data = read_fixture(path, &len)) == NULL)
			continue;
		CHECK_INT(parse_mode(&p, path, data, len, POST_FULL), 0);
		CHECK_STR(p.title, posts[i].title);
		CHECK_STR(p.slug, posts[i].name + 11);
		CHECK_STR(p.source, posts[i].source);
		CHECK(p.author == NULL);
		CHECK_INT(p.ntags, 0);
		CHECK_INT(p.year, 2020);
		CHECK_INT(p.month, 1);
		CHECK_INT(p.day, posts[i].day);
		CHECK(!p.has_time);
		CHECK_INT(p.date_source, POST_DATE_HEADER);
		CHECK_INT(p.warnings, 0);
		CHECK_INT(p.nblocks, posts[i].paragraphs);
		for (j = 0; j < p.nblocks; j++) {
			CHECK_INT(p.blocks[j].type, POST_PARA);
			CHECK_INT(p.blocks[j].nurls, 0);
		}
		CHECK_INT(parse_mode(&m, path, data, len, POST_META), 0);
		CHECK_STR(m.title, p.title);
		CHECK_STR(m.source, p.source);
		CHECK_INT(m.day, p.day);
		CHECK_INT(m.nblocks, 0);
		CHECK(m.blocks == NULL);
		post_free(&m);
		post_free(&p);
		free(data);
	}
}

/* The archive as the seed document has it: no header, "[Source]" at the end. */
TEST(post_seed_form)
{
	char path[1024];
	struct post p;
	size_t len;
	char *data;

	snprintf(path, sizeof(path), "%s/fixtures/posts-unit/"
	    "2020-01-20-extreme-vetting-not-kind-to-north-korean-escapees.txt",
	    test_source_dir());
	if ((data = read_fixture(path, &len)) != NULL) {
		CHECK_INT(parse_mode(&p, path, data, len, POST_FULL), 0);
		CHECK_STR(p.title, "Trump administration\u2019s extreme vetting not kind to "
		    "North Korean escapees seeking a new life in the US");
		CHECK_STR(p.source, "NK News");
		CHECK_INT(p.date_source, POST_DATE_FILENAME);
		CHECK_INT(p.day, 20);
		CHECK_INT(p.nblocks, 8);	/* "Posted on by" and seven paragraphs */
		CHECK_STR(block(&p, 0), "PARA:Posted on by");
		CHECK_STR(block(&p, 7), "PARA:2018 saw a slight recovery, back up to six.");
		CHECK_INT(p.warnings, 0);
		post_free(&p);
		free(data);
	}
	/* The same in CRLF, with no source line and blank lines at the end. */
	snprintf(path, sizeof(path), "%s/fixtures/posts-unit/"
	    "2020-01-14-moon-says-door-not-closed-on-talks-with-north-korea.txt",
	    test_source_dir());
	if ((data = read_fixture(path, &len)) != NULL) {
		CHECK_INT(parse_mode(&p, path, data, len, POST_FULL), 0);
		CHECK_STR(p.title, "South Korea\u2019s Moon says door not closed on talks "
		    "with North Korea");
		CHECK(p.source == NULL);
		CHECK_INT(p.nblocks, 6);
		CHECK(strchr(p.blocks[5].text, '\r') == NULL);
		CHECK_INT(p.warnings, 0);
		post_free(&p);
		free(data);
	}
}

TEST(post_no_header)
{
	struct post p;

	CHECK_INT(parse(&p, "Hello world\n\nBody one\nwrapped here.\n\nBody two\n"), 0);
	CHECK_STR(p.title, "Hello world");
	CHECK_INT(p.nblocks, 2);
	CHECK_STR(block(&p, 0), "PARA:Body one wrapped here.");
	CHECK_STR(block(&p, 1), "PARA:Body two");
	CHECK_INT(p.date_source, POST_DATE_FILENAME);
	CHECK_INT(p.warnings, 0);
	post_free(&p);

	/* The title line is not repeated, even with text right under it. */
	CHECK_INT(parse(&p, "\n\n  Title line  \nright under\n"), 0);
	CHECK_STR(p.title, "Title line");
	CHECK_INT(p.nblocks, 1);
	CHECK_STR(block(&p, 0), "PARA:right under");
	post_free(&p);

	/* A first line shaped like a header with an unknown key is a title. */
	CHECK_INT(parse(&p, "Update: talks resumed\n\nText.\n"), 0);
	CHECK_STR(p.title, "Update: talks resumed");
	CHECK_INT(p.nblocks, 1);
	CHECK_INT(p.warnings, 0);
	post_free(&p);

	/* Only a title. */
	CHECK_INT(parse(&p, "Just a title"), 0);
	CHECK_STR(p.title, "Just a title");
	CHECK_INT(p.nblocks, 0);
	post_free(&p);
}

TEST(post_header)
{
	struct post p;

	CHECK_INT(parse(&p, "\n\ntitle: Lower case keys\nDATE:2021-03-04\nauthor:  Jo  Doe \n"
	    "SOURCE: Yonhap\n\nBody.\n"), 0);
	CHECK_STR(p.title, "Lower case keys");
	CHECK_INT(p.year, 2021);
	CHECK_INT(p.month, 3);
	CHECK_INT(p.day, 4);
	CHECK_INT(p.date_source, POST_DATE_HEADER);
	CHECK_STR(p.author, "Jo Doe");
	CHECK_STR(p.source, "Yonhap");
	CHECK_INT(p.nblocks, 1);
	CHECK_STR(block(&p, 0), "PARA:Body.");
	CHECK_INT(p.warnings, 0);
	post_free(&p);

	/* A header and nothing else. */
	CHECK_INT(parse(&p, "Title: Only a header\nDate: 2020-01-05"), 0);
	CHECK_STR(p.title, "Only a header");
	CHECK_INT(p.day, 5);
	CHECK_INT(p.nblocks, 0);
	CHECK_INT(p.warnings, 0);
	post_free(&p);

	/* A header with no title: the first body line is the title. */
	CHECK_INT(parse(&p, "Date: 2020-01-05\n\nFirst line\n\nBody\n"), 0);
	CHECK_STR(p.title, "First line");
	CHECK_INT(p.nblocks, 1);
	post_free(&p);

	/* A gemtext heading as the first line: the title without its '#'s. */
	CHECK_INT(parse(&p, "\n# From Lagrange\n\nBody\n"), 0);
	CHECK_STR(p.title, "From Lagrange");
	CHECK_INT(p.nblocks, 1);
	post_free(&p);
	CHECK_INT(parse(&p, "###\tThree\n\nBody\n"), 0);
	CHECK_STR(p.title, "Three");
	post_free(&p);
	/* Not a heading: kept as it is. */
	CHECK_INT(parse(&p, "#hashtag day\n\nBody\n"), 0);
	CHECK_STR(p.title, "#hashtag day");
	post_free(&p);
	CHECK_INT(parse(&p, "#   \n\nBody\n"), 0);
	CHECK(p.title != NULL && p.title[0] == '#');
	post_free(&p);

	/* No title anywhere: the slug. */
	CHECK_INT(parse(&p, "Date: 2020-01-05\nTags: x\n\n\n"), 0);
	CHECK_STR(p.title, "post");
	CHECK_INT(p.warnings, POST_WARN_NO_TITLE);
	CHECK_INT(p.nblocks, 0);
	post_free(&p);
	CHECK_INT(parse_named(&p, "/x/.txt", "Date: 2020-01-05\n"), -1);
	CHECK(p.title == NULL);
}

TEST(post_header_broken)
{
	struct post p;

	/* Unknown keys and repeats are ignored; the rest of the header holds. */
	CHECK_INT(parse(&p, "Title: First\nColour: blue\nTitle: Second\nSource: A\n"
	    "Source: B\n\nBody\n"), 0);
	CHECK_STR(p.title, "First");
	CHECK_STR(p.source, "A");
	CHECK_INT(p.warnings, POST_WARN_HEADER);
	CHECK_INT(p.nblocks, 1);
	post_free(&p);

	/* A forgotten blank line: the body starts at the first non-header line. */
	CHECK_INT(parse(&p, "Title: T\nDate: 2020-01-02\nThe body starts\nright here.\n\nMore."),
	    0);
	CHECK_STR(p.title, "T");
	CHECK_INT(p.day, 2);
	CHECK_INT(p.warnings, POST_WARN_HEADER);
	CHECK_INT(p.nblocks, 2);
	CHECK_STR(block(&p, 0), "PARA:The body starts right here.");
	post_free(&p);

	/* A URL is never a key. */
	CHECK_INT(parse(&p, "Title: T\nhttps://example.org/\n\nBody"), 0);
	CHECK_INT(p.warnings, POST_WARN_HEADER);
	CHECK_STR(block(&p, 0), "LINK:https://example.org/");
	post_free(&p);

	/* Empty values are ignored without a warning. */
	CHECK_INT(parse(&p, "Title:\nAuthor:   \nTags:\n\nThe title\n"), 0);
	CHECK_STR(p.title, "The title");
	CHECK(p.author == NULL);
	CHECK_INT(p.ntags, 0);
	CHECK_INT(p.warnings, 0);
	post_free(&p);

	/* A bad date: warning, then the file name. */
	CHECK_INT(parse(&p, "Title: T\nDate: yesterday\n\nBody"), 0);
	CHECK_INT(p.warnings, POST_WARN_DATE);
	CHECK_INT(p.date_source, POST_DATE_FILENAME);
	CHECK_INT(p.day, 8);
	post_free(&p);
}

TEST(post_line_ends)
{
	struct post p;

	CHECK_INT(parse(&p, "Title: A\r\nDate: 2020-01-02\r\n\r\nLine one\r\nline two\r\n\r\n"
	    "Para\r\n"), 0);
	CHECK_STR(p.title, "A");
	CHECK_INT(p.day, 2);
	CHECK_INT(p.nblocks, 2);
	CHECK_STR(block(&p, 0), "PARA:Line one line two");
	CHECK_STR(block(&p, 1), "PARA:Para");
	CHECK_INT(p.warnings, 0);
	post_free(&p);

	/* Lone CR, as old Mac files have it; CR CR is a blank line. */
	CHECK_INT(parse(&p, "Title\rone\rtwo\r\rthree\r[Src]\r"), 0);
	CHECK_STR(p.title, "Title");
	CHECK_STR(p.source, "Src");
	CHECK_INT(p.nblocks, 2);
	CHECK_STR(block(&p, 0), "PARA:one two");
	CHECK_STR(block(&p, 1), "PARA:three");
	post_free(&p);

	/* Trailing whitespace, and form feeds as page breaks. */
	CHECK_INT(parse(&p, "Title  \t\n\nword  \t\nnext\f\n\f\n\t \nlast"), 0);
	CHECK_STR(p.title, "Title");
	CHECK_INT(p.nblocks, 2);
	CHECK_STR(block(&p, 0), "PARA:word next");
	CHECK_STR(block(&p, 1), "PARA:last");
	CHECK_INT(p.warnings, 0);
	post_free(&p);
}

TEST(post_bom)
{
	struct post p;

	CHECK_INT(parse(&p, "\xef\xbb\xbfTitle: With BOM\n\nBody\n"), 0);
	CHECK_STR(p.title, "With BOM");
	CHECK_INT(p.nblocks, 1);
	CHECK_INT(p.warnings, 0);
	post_free(&p);
	CHECK_INT(parse(&p, "\xef\xbb\xbfNo header\n"), 0);
	CHECK_STR(p.title, "No header");
	post_free(&p);
	CHECK_INT(parse(&p, "\xef\xbb\xbf"), -1);
	CHECK_INT(parse(&p, "\xef\xbb\xbf \r\n"), -1);
}

TEST(post_invalid_utf8)
{
	static const char nul[] = "Ti\0tle\n\nab\0\0cd\n";
	struct post p;

	CHECK_INT(parse(&p, "Bad \xff title\n\nOverlong \xc0\xaf, surrogate \xed\xa0\x80, "
	    "cut \xe2\x80"), 0);
	CHECK_STR(p.title, "Bad \xef\xbf\xbd title");
	CHECK_STR(block(&p, 0), "PARA:Overlong \xef\xbf\xbd\xef\xbf\xbd, surrogate "
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd, cut \xef\xbf\xbd\xef\xbf\xbd");
	CHECK_INT(p.warnings, POST_WARN_UTF8);
	CHECK(utf8_valid(p.blocks[0].text, strlen(p.blocks[0].text)));
	post_free(&p);

	/* NUL bytes never cut a string short. */
	CHECK_INT(parse_mode(&p, "x.txt", nul, sizeof(nul) - 1, POST_FULL), 0);
	CHECK_STR(p.title, "Ti\xef\xbf\xbdtle");
	CHECK_STR(block(&p, 0), "PARA:ab\xef\xbf\xbd\xef\xbf\xbd" "cd");
	CHECK_INT(p.warnings, POST_WARN_UTF8);
	post_free(&p);

	/* Terminal controls (ESC, C1 CSI, DEL) go too; valid UTF-8 stays. */
	CHECK_INT(parse(&p, "T\n\n\x1b[31mred \xc2\x9b" "1m \x7f caf\xc3\xa9 \xf0\x9f\x98\x80"), 0);
	CHECK_STR(block(&p, 0), "PARA:\xef\xbf\xbd[31mred \xef\xbf\xbd" "1m \xef\xbf\xbd "
	    "caf\xc3\xa9 \xf0\x9f\x98\x80");
	CHECK_INT(p.warnings, POST_WARN_CONTROL);
	post_free(&p);

	/* A bad file name is repaired into the slug. */
	CHECK_INT(parse_named(&p, "2020-01-08-a\xff\tb.txt", "T"), 0);
	CHECK_STR(p.slug, "a\xef\xbf\xbd\xef\xbf\xbd" "b");
	CHECK_INT(p.warnings, POST_WARN_UTF8 | POST_WARN_CONTROL);
	post_free(&p);
}

TEST(post_empty)
{
	const char *why = NULL;
	struct post p;

	CHECK_INT(parse(&p, ""), -1);
	CHECK_INT(parse(&p, "   \n\t\n\r\n\f\v  "), -1);
	CHECK(p.title == NULL && p.slug == NULL && p.blocks == NULL);
	CHECK_INT(post_parse("x.txt", NULL, 0, 0, POST_FULL, &p, &why), -1);
	CHECK(why != NULL);
	post_free(&p);		/* harmless on an empty post */
	/* One NUL is not blank: it is a broken character. */
	CHECK_INT(parse_mode(&p, "x.txt", "\0", 1, POST_FULL), 0);
	CHECK_STR(p.title, "\xef\xbf\xbd");
	post_free(&p);
}

TEST(post_big_file)
{
	const size_t target = 4 << 20;
	struct post p, m;
	size_t len = 0, i, paras = 0;
	char *s = malloc(target + 256);

	if (s == NULL)
		return;
	len += (size_t)sprintf(s, "Title: Big\n\n");
	while (len < target) {
		len += (size_t)sprintf(s + len, "Paragraph %zu has a line\nand a wrapped line "
		    "with https://example.org/%zu in it.\n\n", paras, paras);
		paras++;
	}
	CHECK_INT(parse_mode(&p, "big.txt", s, len, POST_FULL), 0);
	CHECK_INT(p.nblocks, paras);
	CHECK_STR(block(&p, 7), "PARA:Paragraph 7 has a line and a wrapped line with "
	    "https://example.org/7 in it.");
	CHECK_INT(p.blocks[paras - 1].nurls, 1);
	CHECK_INT(parse_mode(&m, "big.txt", s, len, POST_META), 0);
	CHECK_STR(m.title, "Big");
	post_free(&m);
	post_free(&p);

	/* One line of 4 MiB, and 4 MiB of tiny paragraphs. */
	memset(s, 'x', target);
	memcpy(s, "T\n\n", 3);
	CHECK_INT(parse_mode(&p, "big.txt", s, target, POST_FULL), 0);
	CHECK_INT(p.nblocks, 1);
	CHECK_INT(strlen(p.blocks[0].text), target - 3);
	post_free(&p);
	for (i = 0; i + 3 <= target; i += 3)
		memcpy(s + i, "a\n\n", 3);
	CHECK_INT(parse_mode(&p, "big.txt", s, i, POST_FULL), 0);
	CHECK_INT(p.nblocks, i / 3 - 1);
	post_free(&p);
	free(s);
}

TEST(post_long_lines)
{
	const size_t n = 10000;
	struct post p;
	char *s = malloc(n + 64);
	size_t tlen;

	if (s == NULL)
		return;
	/* A 10,000-character paragraph line. */
	memcpy(s, "T\n\n", 3);
	memset(s + 3, 'w', n);
	s[n + 3] = '\0';
	CHECK_INT(parse(&p, s), 0);
	CHECK_INT(p.nblocks, 1);
	CHECK_INT(strlen(p.blocks[0].text), n);
	CHECK_INT(p.warnings, 0);
	post_free(&p);

	/* As the first line, it is too long for a title: cut, and kept in the body. */
	memset(s, 'a', n);
	memcpy(s + POST_TITLE_MAX - 4, "\xc3\xa9", 2);	/* a character across the cut */
	s[n] = '\0';
	CHECK_INT(parse(&p, s), 0);
	tlen = strlen(p.title);
	CHECK(tlen <= POST_TITLE_MAX);
	CHECK(tlen >= POST_TITLE_MAX - 5);
	CHECK(memcmp(p.title + tlen - 3, "\xe2\x80\xa6", 3) == 0);
	CHECK(utf8_valid(p.title, tlen));
	CHECK_INT(p.warnings, POST_WARN_TRUNCATED);
	CHECK_INT(p.nblocks, 1);
	CHECK_INT(strlen(p.blocks[0].text), n);
	post_free(&p);
	free(s);
}

TEST(post_tabs)
{
	struct post p;

	CHECK_INT(parse(&p, "A\ttabbed\t\ttitle\n\nword\tword\t \tword\n\n\tpre\tkept\n"), 0);
	CHECK_STR(p.title, "A tabbed title");
	CHECK_STR(block(&p, 0), "PARA:word word word");
	CHECK_STR(block(&p, 1), "PRE:pre\tkept");
	CHECK_INT(p.warnings, 0);
	post_free(&p);
}

TEST(post_source_line)
{
	static const struct {
		const char *in, *source, *last;	/* last: the last block */
		size_t nblocks;
	} rows[] = {
		{ "T\n\nBody.\n\n[NK News]\n", "NK News", "PARA:Body.", 1 },
		{ "T\n\nBody.\n\n[VoA/South China Morning Post]", "VoA/South China Morning Post",
		  "PARA:Body.", 1 },
		{ "T\n\nBody.\n\n[  The   Diplomat ]  \n\n \n", "The Diplomat", "PARA:Body.", 1 },
		{ "T\n\nBody.\n\n[]\n", NULL, "PARA:[]", 2 },
		{ "T\n\nBody.\n\n[ \t ]\n", NULL, "PARA:[ ]", 2 },
		{ "T\n\nBody.\n\n[a] and [b]\n", NULL, "PARA:[a] and [b]", 2 },
		{ "T\n\nBody.\n\n[[nested]]\n", NULL, "PARA:[[nested]]", 2 },
		{ "T\n\n[In the middle]\n\nBody.\n", NULL, "PARA:Body.", 2 },
		{ "T\n\nLast paragraph\n[Reuters]\r\n\r\n", "Reuters", "PARA:Last paragraph", 1 },
		{ "T\n\n* item\n[Reuters]", "Reuters", "ITEM:item", 1 },
		{ "T\n\n    [indented]\n", NULL, "PRE:[indented]", 1 },
		{ "  [Only a title]  \n", NULL, "(none)", 0 },
		{ "Title: T\nSource: NK News\n\nBody.\n\n[nk NEWS]\n", "NK News", "PARA:Body.", 1 },
		{ "Title: T\nSource: NK News\n\nBody.\n\n[Yonhap]\n", "NK News", "PARA:[Yonhap]", 2 },
		{ "Title: T\n\n[Header-only body]\n", "Header-only body", "(none)", 0 },
		{ "Title: T\nSource: [x]\n", "[x]", "(none)", 0 },
	};
	struct post p;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("row %zu", i);
		CHECK_INT(parse(&p, rows[i].in), 0);
		CHECK_STR(p.source, rows[i].source);
		CHECK_INT(p.nblocks, rows[i].nblocks);
		CHECK_STR(block(&p, p.nblocks ? p.nblocks - 1 : 0), rows[i].last);
		post_free(&p);
		/* The metadata parse finds the same source. */
		CHECK_INT(parse_mode(&p, "2020-01-08-post.txt", rows[i].in, strlen(rows[i].in),
		    POST_META), 0);
		CHECK_STR(p.source, rows[i].source);
		post_free(&p);
	}
	test_context("%s", "");
}

TEST(post_source_name_limit)
{
	char s[POST_NAME_MAX + 32];
	struct post p;

	memcpy(s, "T\n\n[", 4);
	memset(s + 4, 'n', POST_NAME_MAX);
	memcpy(s + 4 + POST_NAME_MAX, "]", 2);
	CHECK_INT(parse(&p, s), 0);
	CHECK(p.source != NULL && strlen(p.source) == POST_NAME_MAX);
	post_free(&p);
	memcpy(s + 4 + POST_NAME_MAX, "n]", 3);
	CHECK_INT(parse(&p, s), 0);
	CHECK(p.source == NULL);
	CHECK_INT(p.nblocks, 1);
	post_free(&p);
}

TEST(post_urls)
{
	struct post p;

	CHECK_INT(parse(&p, "T\n\nSee https://example.com/a, and gemini://x.org/b.\n"
	    "Or (https://en.wikipedia.org/wiki/Foo_(bar)) and \xe2\x80\x9chttps://x.org/q?a=1"
	    "\xe2\x80\x9d and <gopher://g.org:70/1/>.\nNot: mailto:a@b.c xhttp://no "
	    "https:// ftp://x.org, but HTTPS://UP.ORG/!\n"), 0);
	CHECK_INT(p.nblocks, 1);
	CHECK_INT(p.blocks[0].nurls, 6);
	if (p.blocks[0].nurls == 6) {
		CHECK_STR(p.blocks[0].urls[0], "https://example.com/a");
		CHECK_STR(p.blocks[0].urls[1], "gemini://x.org/b");
		CHECK_STR(p.blocks[0].urls[2], "https://en.wikipedia.org/wiki/Foo_(bar)");
		CHECK_STR(p.blocks[0].urls[3], "https://x.org/q?a=1");
		CHECK_STR(p.blocks[0].urls[4], "gopher://g.org:70/1/");
		CHECK_STR(p.blocks[0].urls[5], "HTTPS://UP.ORG/");
	}
	post_free(&p);

	/* On its own line, a URL is a link; with anything beside it, text. */
	CHECK_INT(parse(&p, "T\n\nRead this:\n  gemini://example.org/post.gmi\nand that\n"
	    "https://example.org/.\n\n> quoted https://q.org/ here\n* item http://i.org/\n"), 0);
	CHECK_INT(p.nblocks, 5);
	CHECK_STR(block(&p, 0), "PARA:Read this:");
	CHECK_STR(block(&p, 1), "LINK:gemini://example.org/post.gmi");
	CHECK(p.blocks[1].urls == NULL && p.blocks[1].nurls == 0);
	CHECK_STR(block(&p, 2), "PARA:and that https://example.org/.");
	CHECK_INT(p.blocks[2].nurls, 1);
	CHECK_STR(block(&p, 3), "QUOTE:quoted https://q.org/ here");
	CHECK_INT(p.blocks[3].nurls, 1);
	CHECK_STR(block(&p, 4), "ITEM:item http://i.org/");
	CHECK_INT(p.blocks[4].nurls, 1);
	post_free(&p);
}

TEST(post_urls_limit)
{
	char s[8192];
	struct post p;
	size_t len = 0;
	int i;

	len += (size_t)snprintf(s, sizeof(s), "T\n\n");
	for (i = 0; i < POST_URLS_MAX + 10; i++)
		len += (size_t)snprintf(s + len, sizeof(s) - len, "https://e.org/%d ", i);
	CHECK_INT(parse(&p, s), 0);
	CHECK_INT(p.blocks[0].nurls, POST_URLS_MAX);
	CHECK_STR(p.blocks[0].urls[POST_URLS_MAX - 1], "https://e.org/63");
	CHECK_INT(p.warnings, POST_WARN_TRUNCATED);
	post_free(&p);
}

TEST(post_quotes)
{
	struct post p;

	CHECK_INT(parse(&p, "T\n\n> one\n>   two\n>\n> three\n  >\tfour\ntext after\n"
	    ">not a quote\n"), 0);
	CHECK_INT(p.nblocks, 3);
	CHECK_STR(block(&p, 0), "QUOTE:one two");
	CHECK_STR(block(&p, 1), "QUOTE:three four");
	CHECK_STR(block(&p, 2), "PARA:text after >not a quote");
	post_free(&p);
}

TEST(post_lists)
{
	struct post p;

	CHECK_INT(parse(&p, "T\n\nIntro:\n* one\n- two\ncontinued here\n  * three\n\n"
	    "after the list\n*bold* -1 degrees\n-\n"), 0);
	CHECK_INT(p.nblocks, 5);
	CHECK_STR(block(&p, 0), "PARA:Intro:");
	CHECK_STR(block(&p, 1), "ITEM:one");
	CHECK_STR(block(&p, 2), "ITEM:two continued here");
	CHECK_STR(block(&p, 3), "ITEM:three");
	CHECK_STR(block(&p, 4), "PARA:after the list *bold* -1 degrees -");
	post_free(&p);
}

TEST(post_pre)
{
	struct post p;

	CHECK_INT(parse(&p, "T\n\nRun:\n    make test\n\n\n\tcd x\n        deeper\n    \n\n"
	    "After\n\n    again\n"), 0);
	CHECK_INT(p.nblocks, 4);
	CHECK_STR(block(&p, 0), "PARA:Run:");
	CHECK_STR(block(&p, 1), "PRE:make test\n\n\ncd x\n    deeper");
	CHECK_STR(block(&p, 2), "PARA:After");
	CHECK_STR(block(&p, 3), "PRE:again");
	post_free(&p);

	/* Three spaces are not enough; markers inside a block are plain text. */
	CHECK_INT(parse(&p, "T\n\n   three\n\n    > not a quote\n    * nor an item\n"), 0);
	CHECK_STR(block(&p, 0), "PARA:three");
	CHECK_STR(block(&p, 1), "PRE:> not a quote\n* nor an item");
	post_free(&p);
}

/*
 * Gemtext in a post (as a client's upload dialog sends it): "=> URL text"
 * is a link with its text, "#" to "###" lines are paragraphs of their own,
 * and ``` lines enclose preformatted text kept as it is.
 */
TEST(post_gemtext)
{
	struct post p;

	CHECK_INT(parse(&p, "# From a client\n\n## Part one\nFirst line\nsecond line\n"
	    "=> gemini://example.org/a  The   A page\n=>/about.gmi\n=> other.gmi Other\n"
	    "```ascii art\n  /\\_/\\\n\n * not an item\n```\nAfter\n=>\n#hashtag\n"), 0);
	CHECK_STR(p.title, "From a client");
	CHECK_INT(p.nblocks, 7);
	CHECK_STR(block(&p, 0), "PARA:Part one");
	CHECK_STR(block(&p, 1), "PARA:First line second line");
	CHECK_STR(block(&p, 2), "LINK:gemini://example.org/a");
	CHECK_STR(p.blocks[2].label, "The A page");
	CHECK_STR(block(&p, 3), "LINK:/about.gmi");
	CHECK(p.blocks[3].label == NULL);
	CHECK_STR(block(&p, 4), "LINK:other.gmi");
	CHECK_STR(p.blocks[4].label, "Other");
	CHECK_STR(block(&p, 5), "PRE:  /\\_/\\\n\n * not an item");
	/* Text as ever, joined: a bare "=>" and a "#" without a blank are no markers. */
	CHECK_STR(block(&p, 6), "PARA:After => #hashtag");
	post_free(&p);

	/* A fence first: no title from it (the name gives one), the text kept. */
	CHECK_INT(parse(&p, "```\n  code\n```\nAfter\n"), 0);
	CHECK_STR(p.title, "post");
	CHECK_INT(p.nblocks, 2);
	CHECK_STR(block(&p, 0), "PRE:  code");
	CHECK_STR(block(&p, 1), "PARA:After");
	post_free(&p);

	/* A fence never closed runs to the end; a link alone has no text. */
	CHECK_INT(parse(&p, "T\n\n```\n\n  kept\n"), 0);
	CHECK_INT(p.nblocks, 1);
	CHECK_STR(block(&p, 0), "PRE:  kept");
	post_free(&p);
}

TEST(post_dates)
{
	struct post p;

	CHECK_INT(parse(&p, "Title: T\nDate: 2020-01-08T10:20Z\n"), 0);
	CHECK(p.has_time);
	CHECK_INT(p.hour, 10);
	CHECK_INT(p.minute, 20);
	CHECK_INT(p.second, 0);
	CHECK_INT(p.date_source, POST_DATE_HEADER);
	post_free(&p);
	CHECK_INT(parse(&p, "Title: T\nDate: 2024-02-29T23:59:58Z\n"), 0);
	CHECK_INT(p.year, 2024);
	CHECK_INT(p.day, 29);
	CHECK_INT(p.second, 58);
	post_free(&p);

	/* An invalid header date falls back to the file name. */
	CHECK_INT(parse(&p, "Title: T\nDate: 2020-02-30\n"), 0);
	CHECK_INT(p.warnings, POST_WARN_DATE);
	CHECK_INT(p.date_source, POST_DATE_FILENAME);
	CHECK_INT(p.month, 1);
	CHECK_INT(p.day, 8);
	CHECK(!p.has_time);
	post_free(&p);

	/* The header wins over the file name. */
	CHECK_INT(parse_named(&p, "2019-05-06-x.txt", "Title: T\nDate: 2020-01-02\n"), 0);
	CHECK_INT(p.year, 2020);
	CHECK_INT(p.warnings, 0);
	post_free(&p);

	/* No date anywhere: mtime, in UTC, with its time. */
	CHECK_INT(parse_named(&p, "no-date.txt", "T"), 0);
	CHECK_INT(p.date_source, POST_DATE_MTIME);
	CHECK_INT(p.year, 2020);
	CHECK_INT(p.month, 1);
	CHECK_INT(p.day, 8);
	CHECK(p.has_time);
	CHECK_INT(p.warnings, 0);
	post_free(&p);

	/* A file name date that is no date: warning, then mtime. */
	CHECK_INT(parse_named(&p, "2020-13-01-x.txt", "T"), 0);
	CHECK_INT(p.date_source, POST_DATE_MTIME);
	CHECK_INT(p.warnings, POST_WARN_DATE);
	CHECK_STR(p.slug, "x");
	post_free(&p);
}

TEST(post_mtime)
{
	static const struct {
		long long t;
		int y, mo, d, h, mi, s;
	} rows[] = {
		{ 0, 1970, 1, 1, 0, 0, 0 },
		{ -1, 1969, 12, 31, 23, 59, 59 },
		{ 951782400, 2000, 2, 29, 0, 0, 0 },
		{ 1578486245, 2020, 1, 8, 12, 24, 5 },
		{ 4107542400LL, 2100, 3, 1, 0, 0, 0 },
		{ 253402300799LL, 9999, 12, 31, 23, 59, 59 },
		{ 1LL << 60, 9999, 12, 31, 23, 59, 59 },	/* clamped */
		{ -(1LL << 60), 1, 1, 1, 0, 0, 0 },
	};
	const char *why;
	struct post p;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%lld", rows[i].t);
		CHECK_INT(post_parse("x.txt", "T", 1, rows[i].t, POST_META, &p, &why), 0);
		CHECK_INT(p.year, rows[i].y);
		CHECK_INT(p.month, rows[i].mo);
		CHECK_INT(p.day, rows[i].d);
		CHECK_INT(p.hour, rows[i].h);
		CHECK_INT(p.minute, rows[i].mi);
		CHECK_INT(p.second, rows[i].s);
		post_free(&p);
	}
	test_context("%s", "");
}

TEST(post_date_parse_table)
{
	static const struct {
		const char *s;
		int ok, y, mo, d, h, mi, sec, has_time;
	} rows[] = {
		{ "2020-01-08", 1, 2020, 1, 8, 0, 0, 0, 0 },
		{ "2020-01-08T10:20Z", 1, 2020, 1, 8, 10, 20, 0, 1 },
		{ "2020-01-08T23:59:59Z", 1, 2020, 1, 8, 23, 59, 59, 1 },
		{ "2000-02-29", 1, 2000, 2, 29, 0, 0, 0, 0 },
		{ "0001-01-01", 1, 1, 1, 1, 0, 0, 0, 0 },
		{ "9999-12-31", 1, 9999, 12, 31, 0, 0, 0, 0 },
		{ "1900-02-29", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2019-02-29", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-02-30", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-04-31", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-13-01", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-00-10", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-01-00", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "0000-01-01", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-1-8", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020/01/08", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-01-08T24:00Z", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-01-08T10:60Z", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-01-08T10:20:60Z", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-01-08T10:20", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-01-08T10:20+09:00", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-01-08 10:20Z", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "2020-01-08T10:20:5Z", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "+020-01-08", 0, 0, 0, 0, 0, 0, 0, 0 },
		{ "", 0, 0, 0, 0, 0, 0, 0, 0 },
	};
	int y, mo, d, h, mi, sec;
	bool has_time;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].s);
		y = mo = d = h = mi = sec = -7;
		if (!rows[i].ok) {
			CHECK_INT(post_date_parse(rows[i].s, strlen(rows[i].s), &y, &mo, &d, &h,
			    &mi, &sec, &has_time), -1);
			CHECK_INT(y, -7);
			continue;
		}
		CHECK_INT(post_date_parse(rows[i].s, strlen(rows[i].s), &y, &mo, &d, &h, &mi,
		    &sec, &has_time), 0);
		CHECK_INT(y, rows[i].y);
		CHECK_INT(mo, rows[i].mo);
		CHECK_INT(d, rows[i].d);
		CHECK_INT(h, rows[i].h);
		CHECK_INT(mi, rows[i].mi);
		CHECK_INT(sec, rows[i].sec);
		CHECK_INT(has_time, rows[i].has_time);
	}
	test_context("%s", "");
}

TEST(post_tags)
{
	char s[4096], *o;
	struct post p;
	int i;

	CHECK_INT(parse(&p, "Title: T\nTags: north korea, Defectors ,, defectors,\t,  a \t b  \n"
	    "tags: NORTH KOREA, china\n"), 0);
	CHECK_INT(p.ntags, 4);
	if (p.ntags == 4) {
		CHECK_STR(p.tags[0], "north korea");
		CHECK_STR(p.tags[1], "Defectors");
		CHECK_STR(p.tags[2], "a b");
		CHECK_STR(p.tags[3], "china");
	}
	CHECK_INT(p.warnings, 0);
	post_free(&p);

	/* At most POST_TAGS_MAX tags, each at most POST_TAG_MAX bytes. */
	o = s + sprintf(s, "Title: T\nTags: ");
	for (i = 0; i < POST_TAGS_MAX + 8; i++)
		o += sprintf(o, "t%d,", i);
	*o = '\0';
	CHECK_INT(parse(&p, s), 0);
	CHECK_INT(p.ntags, POST_TAGS_MAX);
	CHECK_STR(p.tags[POST_TAGS_MAX - 1], "t31");
	CHECK_INT(p.warnings, POST_WARN_TRUNCATED);
	post_free(&p);
	/* The cut falls inside a character, or right after a space. */
	o = s + sprintf(s, "Title: T\nTags: a");
	for (i = 0; i < POST_TAG_MAX; i++)
		o += sprintf(o, "\xc3\xa9");
	o += sprintf(o, ", ");
	for (i = 0; i < POST_TAG_MAX - 1; i++)
		*o++ = 'x';
	sprintf(o, " yy, ok");
	CHECK_INT(parse(&p, s), 0);
	CHECK_INT(p.ntags, 3);
	if (p.ntags == 3) {
		CHECK_INT(strlen(p.tags[0]), POST_TAG_MAX - 1);
		CHECK(utf8_valid(p.tags[0], strlen(p.tags[0])));
		CHECK_INT(strlen(p.tags[1]), POST_TAG_MAX - 1);
		CHECK(p.tags[1][POST_TAG_MAX - 2] == 'x');
		CHECK_STR(p.tags[2], "ok");
	}
	CHECK_INT(p.warnings, POST_WARN_TRUNCATED);
	post_free(&p);
}

TEST(post_slug)
{
	static const struct {
		const char *name, *slug;
		int source;	/* post_date_source */
	} rows[] = {
		{ "2020-01-08-kim-jong-un.txt", "kim-jong-un", POST_DATE_FILENAME },
		{ "content/posts/2020-01-08-kim.txt", "kim", POST_DATE_FILENAME },
		{ "2020-01-08-kim", "kim", POST_DATE_FILENAME },
		{ "kim-jong-un.txt", "kim-jong-un", POST_DATE_MTIME },
		{ "2020-01-08.txt", "2020-01-08", POST_DATE_FILENAME },
		{ "2020-01-08-.txt", "2020-01-08-", POST_DATE_FILENAME },
		{ "2020-01-08x.txt", "2020-01-08x", POST_DATE_MTIME },
		{ "20200108-x.txt", "20200108-x", POST_DATE_MTIME },
		{ "notes.txt.bak", "notes.txt.bak", POST_DATE_MTIME },
		{ "a/b/", "", POST_DATE_MTIME },
	};
	struct post p;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		test_context("%s", rows[i].name);
		CHECK_INT(parse_named(&p, rows[i].name, "T"), 0);
		CHECK_STR(p.slug, rows[i].slug);
		CHECK_INT(p.date_source, rows[i].source);
		post_free(&p);
	}
	test_context("%s", "");
	CHECK_INT(parse_named(&p, NULL, "T"), 0);
	CHECK_STR(p.slug, "");
	CHECK_INT(p.date_source, POST_DATE_MTIME);
	post_free(&p);
}

TEST(post_meta_mode)
{
	static const char in[] = "Title: Meta\nAuthor: A\nTags: x, y\n\nBody \xff\n\n"
	    "* item\n\n[Src]\n";
	struct post f, m;

	CHECK_INT(parse_mode(&f, "2020-01-08-m.txt", in, sizeof(in) - 1, POST_FULL), 0);
	CHECK_INT(parse_mode(&m, "2020-01-08-m.txt", in, sizeof(in) - 1, POST_META), 0);
	CHECK_STR(m.title, f.title);
	CHECK_STR(m.slug, f.slug);
	CHECK_STR(m.author, "A");
	CHECK_STR(m.source, "Src");
	CHECK_STR(f.source, "Src");
	CHECK_INT(m.ntags, 2);
	CHECK_INT(m.nblocks, 0);
	CHECK_INT(f.nblocks, 2);
	/* The metadata parse never reads the broken body line. */
	CHECK_INT(f.warnings, POST_WARN_UTF8);
	CHECK_INT(m.warnings, 0);
	post_free(&f);
	post_free(&m);
}

TEST(post_warning_text)
{
	char buf[POST_WARNING_TEXT_MAX], small[30];

	CHECK_STR(post_warning_text(0, buf, sizeof(buf)), "");
	CHECK_STR(post_warning_text(POST_WARN_UTF8 | POST_WARN_DATE, buf, sizeof(buf)),
	    "invalid UTF-8 replaced; bad date in the header or file name");
	post_warning_text(~0u, buf, sizeof(buf));
	CHECK(strstr(buf, "no title") != NULL);	/* the last one fits */
	CHECK(strchr(buf, '\n') == NULL);
	CHECK_STR(post_warning_text(POST_WARN_UTF8 | POST_WARN_DATE, small, sizeof(small)),
	    "invalid UTF-8 replaced");
}
