/*
 * Titan's path parameters and names on arbitrary bytes: titan_parse accepts
 * only what it promises (a size of digits given once, mime and token that
 * fit, nothing else) and cuts the path at its first ';'; a name titan_post_name
 * takes is a safe file name; titan_new_name makes only names it takes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "titan.h"

FUZZ_TARGET(titan)
{
	char *s, name[TITAN_NAME_MAX + 1];
	struct titan_params p;
	size_t pathlen = 0, i;
	const char *err;

	if (size > 4096 || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if ((err = titan_parse(s, &pathlen, &p)) == NULL) {
		EXPECT(pathlen < strlen(s) && s[pathlen] == ';');
		EXPECT(memchr(s, ';', pathlen) == NULL);
		EXPECT(p.size >= 0 && p.size < 1000000000000LL);
		EXPECT(strlen(p.mime) < sizeof(p.mime) && strlen(p.token) < sizeof(p.token));
		EXPECT(p.has_token || p.token[0] == '\0');
	} else
		EXPECT(err[0] != '\0');
	if (titan_post_name(s)) {
		EXPECT(s[0] != '.' && strchr(s, '/') == NULL && strlen(s) <= TITAN_NAME_MAX);
		EXPECT(strcmp(s + strlen(s) - 4, ".txt") == 0);
	}
	/* The bytes as words, any day from year 1 to 9999. */
	for (i = 0; i < 3; i++)
		if (titan_new_name(s, (long long)i * 86400 * 365 * 3000 - 62135596800LL, name,
		    sizeof(name)))
			EXPECT(titan_post_name(name) && strstr(name, "--") == NULL);
	free(s);
	return 0;
}
