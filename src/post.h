/*
 * Posts: one text file in, one parsed post out. Pure functions over a buffer;
 * no I/O, no globals, no logging (the caller logs the warnings it is given).
 *
 * The format, from the top of the file:
 *
 * - A UTF-8 byte order mark is skipped; CRLF, lone CR and LF all end a line.
 *   Invalid UTF-8 and NUL bytes become U+FFFD (POST_WARN_UTF8); other control
 *   characters (C0 but TAB, DEL, C1) become U+FFFD too (POST_WARN_CONTROL),
 *   so no text handed out can drive a terminal; form feed and vertical tab
 *   count as spaces. Trailing whitespace of every line is dropped.
 *
 * - A header block, when the first non-blank line is "Key: value" with a
 *   known key (Title, Date, Author, Source, Tags; any case). It runs up to the
 *   first blank line. Inside it, a "Key: value" line with an unknown key, or a
 *   repeated single-valued key, is ignored with POST_WARN_HEADER. A line that
 *   is not "Key: value" at all ends the header early (POST_WARN_HEADER) and is
 *   the first line of the body, so a forgotten blank line loses no text. A key
 *   is a letter followed by letters, digits, '-' or '_', then ':' and
 *   anything but '/', so "https://..." is never taken for a key.
 *   Empty values are ignored. "Tags" may be repeated; the lists are merged.
 *
 * - Title: the Title header, else the first non-blank line of the body, which
 *   is then not repeated in the body (unless it was too long for a title and
 *   had to be cut: then it stays in the body too). A file with neither (a
 *   header and nothing else) is titled with its slug (POST_WARN_NO_TITLE).
 *
 * - Date: the Date header (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z; a bad one is
 *   POST_WARN_DATE), else the file name's YYYY-MM-DD prefix, else mtime. All
 *   UTC. A file name prefix shaped like a date that is not one (2020-02-30)
 *   is also POST_WARN_DATE.
 *
 * - Slug: the file name's last path segment without ".txt" and without the
 *   YYYY-MM-DD- prefix (a prefix shaped like a date is stripped even when it
 *   is not a valid date). A name that is only a date keeps it as its slug.
 *
 * - Body, line by line: a blank line ends a block; a line indented by a tab or
 *   four spaces is preformatted (consecutive ones form one block, blank lines
 *   between them stay inside); ">" alone or "> text" is a quote line
 *   (consecutive ones form one quote; a bare ">" separates two); "* text" or
 *   "- text" starts a list item, which the following plain lines of the same
 *   paragraph continue; a line that is one URL and nothing else is a link;
 *   any other line is text, and consecutive text lines form one paragraph.
 *   Leading blanks short of a preformatted indentation are ignored.
 *
 * - Source: the Source header, else the last non-blank line of the file when
 *   it is "[Name]" and is not the title line: then Name (trimmed, at most
 *   POST_NAME_MAX bytes, without '[' or ']' inside, not empty) names the
 *   source and the line leaves the body. With a Source header, such a line is
 *   dropped when it repeats the header's name (ASCII case aside) and kept as
 *   ordinary text when it names another. "[]", "[ ]", a bracket line that is
 *   not the last one, or one with text beside it are always ordinary text.
 *
 * - URLs: http, https, gemini and gopher ("scheme://" and at least one more
 *   character; scheme in any case), starting at a word boundary and running to
 *   whitespace, '<', '>' or '"'. Trailing punctuation (.,;:!?'*_ and closing
 *   quotes or ellipsis) is not part of one, nor a ')' or ']' it does not open.
 *
 * Everything returned is valid UTF-8 without control characters, but for
 * '\n' and TAB inside POST_PRE text.
 */
#ifndef GAZETTE_POST_H
#define GAZETTE_POST_H

#include <stdbool.h>
#include <stddef.h>

#define POST_TITLE_MAX 512	/* bytes; a longer title is cut, with "…" */
#define POST_NAME_MAX 256	/* bytes, for author and source */
#define POST_TAGS_MAX 32	/* tags kept; more are dropped */
#define POST_TAG_MAX 64		/* bytes; a longer tag is cut */
#define POST_URLS_MAX 64	/* URLs listed per block; more stay plain text */

/* The warnings, a bit set; none of them stops a post from being served. */
#define POST_WARN_UTF8		0x01u	/* invalid UTF-8 or NUL replaced by U+FFFD */
#define POST_WARN_CONTROL	0x02u	/* control characters replaced by U+FFFD */
#define POST_WARN_HEADER	0x04u	/* header line ignored, or no blank line after it */
#define POST_WARN_DATE		0x08u	/* bad Date header or file name date; fell back */
#define POST_WARN_TRUNCATED	0x10u	/* a title, name, tag, tag list or URL list was cut */
#define POST_WARN_NO_TITLE	0x20u	/* nothing to title the post with but its slug */

/* Room for post_warning_text() with every warning set. */
#define POST_WARNING_TEXT_MAX 256

enum post_block_type {
	POST_PARA,
	POST_QUOTE,
	POST_ITEM,
	POST_PRE,
	POST_LINK,
};

struct post_block {
	enum post_block_type type;
	/*
	 * PARA, QUOTE, ITEM: one logical line, never empty; hard-wrapped lines
	 * joined and every run of spaces and tabs made one space.
	 * PRE: the lines joined by '\n', each without its indentation (one tab
	 * or four spaces) and trailing whitespace; no leading or trailing '\n'.
	 * LINK: the URL; from a gemtext link line ("=> URL text"), the
	 * reference as written (relative ones too).
	 */
	char *text;
	char *label;	/* LINK: a gemtext link line's text, or NULL */
	/* PARA, QUOTE, ITEM: the URLs inside text, in order; else NULL and 0. */
	char **urls;
	size_t nurls;
};

enum post_date_source {
	POST_DATE_HEADER,
	POST_DATE_FILENAME,
	POST_DATE_MTIME,
};

enum post_mode {
	POST_FULL,	/* everything */
	POST_META,	/* everything but the blocks: reads only the header, the
			 * title line and the last line, for scanning an archive */
};

struct post {
	char *title;		/* never NULL nor empty on success */
	char *slug;		/* never NULL; empty only for a name like ".txt" */
	int year, month, day, hour, minute, second;	/* UTC */
	bool has_time;		/* false for a date without a time of day */
	enum post_date_source date_source;
	char *author;		/* NULL when absent */
	char *source;		/* NULL when absent */
	/*
	 * In order; trimmed, inner whitespace made one space, empty ones
	 * dropped, of names equal but for ASCII case the first kept.
	 */
	char **tags;
	size_t ntags;
	struct post_block *blocks;	/* NULL and 0 under POST_META */
	size_t nblocks;
	/* POST_WARN_*; under POST_META only for the parts it reads. */
	unsigned warnings;
};

/*
 * Parses the post in data[0..len) (it need not be NUL-terminated). filename
 * names the file (folders, if any, are ignored; NULL for none) and mtime is
 * its modification time in seconds since the epoch (clamped to the years 1 to
 * 9999). Returns 0 with *p filled, to be released with post_free(). Returns -1
 * with *p empty and *why set to a short static reason when the file cannot be
 * a post at all: it is empty or blank, it has nothing to title it with, or
 * memory ran out. Time and memory are linear in len.
 */
int post_parse(const char *filename, const char *data, size_t len, long long mtime,
    enum post_mode mode, struct post *p, const char **why);

/*
 * Whether a blank line follows block i of p, as every rendering of a post
 * spaces it: runs of list items and of links stay together, the rest breathe.
 */
bool post_block_apart(const struct post *p, size_t i);

/* Its date as seconds since the epoch (negative before 1970). */
long long post_when(const struct post *p);

/* Frees what post_parse() gave p and empties it; harmless on an empty post. */
void post_free(struct post *p);

/*
 * Writes the warnings into buf as one line for the log ("invalid UTF-8
 * replaced; bad date in the header or file name"; "" for none), whole ones
 * only as far as size allows, and returns buf. POST_WARNING_TEXT_MAX is
 * always enough.
 */
const char *post_warning_text(unsigned warnings, char *buf, size_t size);

/*
 * Parses s[0..len) as YYYY-MM-DD or YYYY-MM-DDTHH:MMZ or YYYY-MM-DDTHH:MM:SSZ,
 * years 0001 to 9999, checking month lengths and leap years; no leap seconds.
 * Returns 0 and sets every output (the time to 00:00:00 when s has none), or
 * -1 and sets none.
 */
int post_date_parse(const char *s, size_t len, int *year, int *month, int *day,
    int *hour, int *minute, int *second, bool *has_time);

#endif
