/*
 * Installing gazette: make install and make uninstall under a scratch DESTDIR,
 * the systemd unit (systemd-analyze verify), the manual pages (mandoc -Tlint),
 * and a manual that keeps up with the code: every key of the configuration
 * table in src/config.c has its entry, type and default in gazette.conf(5)
 * and a line in server/gazette.conf; every flag of main.c is in gazette(8).
 *
 * Runs from the repository root, as make test does. The nested make installs
 * the binary the tests run ($GAZETTE, default build/gazette) and is told with
 * -o never to rebuild it, so a sanitizer build is never mixed with a normal one.
 *
 * Needs mandoc, systemd-analyze and /bin/kill: Debian's mandoc, systemd and
 * procps packages.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

#define MAX_KEYS 128

/* ---- small helpers ---- */

static char *
slurp(const char *path)
{
	FILE *f;
	char *buf;
	long n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) == -1 ||
	    (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
spit(const char *path, const char *data)
{
	FILE *f;
	int rc;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	rc = fputs(data, f) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/*
 * Runs cmd with sh -c, stdout and stderr together into *out (malloc'd, may be
 * NULL). Returns the exit status, or -1 when it did not exit normally.
 */
static int
run(const char *cmd, char **out)
{
	static int seq;
	char log[600], full[8192];
	int status;

	snprintf(log, sizeof(log), "%s/install-run-%d-%d.log", test_tmp_dir(), (int)getpid(),
	    seq++);
	if (snprintf(full, sizeof(full), "( %s ) >'%s' 2>&1", cmd, log) >= (int)sizeof(full)) {
		test_fail(__FILE__, __LINE__, "command too long: %s", cmd);
		return -1;
	}
	fflush(stdout);
	status = system(full);
	if (out != NULL) {
		*out = slurp(log);
		if (*out == NULL)
			*out = strdup("");
	}
	unlink(log);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static const char *
binary(void)
{
	const char *bin = getenv("GAZETTE");

	return bin && *bin ? bin : "build/gazette";
}

/* The build folder of the binary under test: "build-asan" for build-asan/gazette. */
static void
build_dir(char *out, size_t size)
{
	const char *bin = binary(), *slash = strrchr(bin, '/');

	if (slash == NULL)
		snprintf(out, size, ".");
	else
		snprintf(out, size, "%.*s", (int)(slash - bin), bin);
}

/*
 * make TARGET with DESTDIR=dest PREFIX=/usr, from the repository root, with the
 * binary under test. The parent make's MAKEFLAGS (its command-line variables,
 * its jobserver) are not passed on.
 */
static int
make(const char *target, const char *dest, char **out)
{
	char cmd[2048], build[512];

	build_dir(build, sizeof(build));
	snprintf(cmd, sizeof(cmd),
	    "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES "
	    "make --no-print-directory -o '%s/gazette' BUILD='%s' DESTDIR='%s' PREFIX=/usr %s",
	    build, build, dest, target);
	return run(cmd, out);
}

static char *
new_destdir(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s.XXXXXX", test_tmp_dir(), name);
	return mkdtemp(out);
}

/* path (under dest) exists, is of type (S_IFREG, S_IFDIR) and, if perms >= 0, has them. */
static void
check_path(const char *file, int line, const char *dest, const char *path, mode_t type,
    int perms)
{
	char full[1024];
	struct stat st;

	snprintf(full, sizeof(full), "%s%s", dest, path);
	if (stat(full, &st) == -1) {
		test_fail(file, line, "%s: %s", path, strerror(errno));
		return;
	}
	if ((st.st_mode & S_IFMT) != type)
		test_fail(file, line, "%s: not a %s", path, type == S_IFDIR ? "folder" : "file");
	else if (perms >= 0 && (int)(st.st_mode & 07777) != perms)
		test_fail(file, line, "%s: mode %04o, want %04o", path,
		    (unsigned)(st.st_mode & 07777), (unsigned)perms);
}
#define CHECK_PATH(dest, path, type, perms) \
	check_path(__FILE__, __LINE__, dest, path, type, perms)

static void
check_absent(const char *file, int line, const char *dest, const char *path)
{
	char full[1024];

	snprintf(full, sizeof(full), "%s%s", dest, path);
	if (access(full, F_OK) == 0)
		test_fail(file, line, "%s: still there after make uninstall", path);
}
#define CHECK_ABSENT(dest, path) check_absent(__FILE__, __LINE__, dest, path)

/* Replaces every from in s by to; returns a malloc'd string. */
static char *
replace_all(const char *s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to), n = 0;
	const char *p;
	char *out, *w;

	for (p = s; (p = strstr(p, from)) != NULL; p += nf)
		n++;
	if ((out = malloc(strlen(s) + n * nt + 1)) == NULL)
		abort();
	for (w = out; (p = strstr(s, from)) != NULL; s = p + nf) {
		memcpy(w, s, (size_t)(p - s));
		w += p - s;
		memcpy(w, to, nt);
		w += nt;
	}
	strcpy(w, s);
	return out;
}

/* The line of text that begins with prefix, or NULL; *len is its length. */
static const char *
find_line(const char *text, const char *prefix, size_t *len)
{
	const char *p = text, *nl;
	size_t n = strlen(prefix);

	while (p != NULL && *p != '\0') {
		nl = strchr(p, '\n');
		if (strncmp(p, prefix, n) == 0) {
			*len = nl ? (size_t)(nl - p) : strlen(p);
			return p;
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* ---- make install, a second install, make uninstall ---- */

TEST(install_layout_keeps_config)
{
	static const char *const installed[] = {
		"/usr/sbin/gazette",
		"/usr/share/man/man8/gazette.8",
		"/usr/share/man/man5/gazette.conf.5",
		"/usr/lib/systemd/system/gazette.service",
		"/usr/lib/sysusers.d/gazette.conf",
	};
	char dest[512], path[1024], checkconf[1024], *out = NULL, *conf = NULL, *unit = NULL,
	    *edited = NULL, *copy = NULL;
	size_t i;
	int rc;

	if (new_destdir(dest, sizeof(dest), "install") == NULL) {
		test_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
		return;
	}
	rc = make("install", dest, &out);
	if (rc != 0) {
		test_fail(__FILE__, __LINE__, "make install exited %d:\n%s", rc, out);
		goto done;
	}
	CHECK_PATH(dest, "/usr/sbin/gazette", S_IFREG, 0755);
	CHECK_PATH(dest, "/usr/share/man/man8/gazette.8", S_IFREG, 0644);
	CHECK_PATH(dest, "/usr/share/man/man5/gazette.conf.5", S_IFREG, 0644);
	CHECK_PATH(dest, "/etc/gazette.conf", S_IFREG, 0644);
	CHECK_PATH(dest, "/usr/lib/systemd/system/gazette.service", S_IFREG, 0644);
	CHECK_PATH(dest, "/usr/lib/sysusers.d/gazette.conf", S_IFREG, 0644);
	CHECK_PATH(dest, "/var/gazette", S_IFDIR, 0755);
	CHECK_PATH(dest, "/var/gazette/content", S_IFDIR, 0755);
	CHECK_PATH(dest, "/var/gazette/content/posts", S_IFDIR, 0755);
	CHECK_PATH(dest, "/var/gazette/certs", S_IFDIR, 0700);

	/* The installed binary reads /etc/gazette.conf by default. */
	free(out);
	snprintf(path, sizeof(path), "'%s/usr/sbin/gazette' -h", dest);
	CHECK_INT(run(path, &out), 0);
	if (strstr(out, "(default /etc/gazette.conf)") == NULL)
		test_fail(__FILE__, __LINE__, "installed gazette -h: no default /etc/gazette.conf:\n%s",
		    out);

	/* The unit names the installed paths. */
	snprintf(path, sizeof(path), "%s/usr/lib/systemd/system/gazette.service", dest);
	if ((unit = slurp(path)) == NULL)
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
	else {
		CHECK(strstr(unit, "\nExecStart=/usr/sbin/gazette -f -c /etc/gazette.conf\n") != NULL);
		CHECK(strstr(unit, "\nWorkingDirectory=/var/gazette\n") != NULL);
		CHECK(strstr(unit, "\nReadWritePaths=-/var/gazette/certs\n") != NULL);
	}

	/* The configuration points at the system paths and is valid as it stands. */
	snprintf(path, sizeof(path), "%s/etc/gazette.conf", dest);
	if ((conf = slurp(path)) == NULL) {
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
		goto done;
	}
	CHECK(strstr(conf, "\nroot = /var/gazette/content\n") != NULL);
	snprintf(path, sizeof(path), "%s/var/gazette", dest);
	copy = replace_all(conf, "/var/gazette", path);
	snprintf(checkconf, sizeof(checkconf), "%s/check.conf", dest);
	if (spit(checkconf, copy) == -1)
		test_fail(__FILE__, __LINE__, "cannot write %s", checkconf);
	else {
		const char *args[] = { "-n", "-c", checkconf, NULL };
		char *o = NULL;
		rc = gazette_exec(args, &o);
		if (rc != 0)
			test_fail(__FILE__, __LINE__, "gazette -n on the installed configuration "
			    "exited %d:\n%s", rc, o ? o : "");
		free(o);
	}

	/* A second install keeps an edited configuration. */
	snprintf(path, sizeof(path), "%s/etc/gazette.conf", dest);
	if ((edited = malloc(strlen(conf) + 64)) == NULL)
		abort();
	sprintf(edited, "%s# edited by test_install\n", conf);
	CHECK_INT(spit(path, edited), 0);
	free(out);
	rc = make("install", dest, &out);
	if (rc != 0)
		test_fail(__FILE__, __LINE__, "second make install exited %d:\n%s", rc, out);
	free(conf);
	conf = slurp(path);
	CHECK(conf != NULL && strcmp(conf, edited) == 0);
	CHECK(strstr(out, "keeping the existing") != NULL);

	/* make uninstall removes what install put, but the configuration and content. */
	snprintf(path, sizeof(path), "%s/var/gazette/content/posts/2020-01-01-kept.txt", dest);
	CHECK_INT(spit(path, "Kept\n\nA post.\n"), 0);
	free(out);
	rc = make("uninstall", dest, &out);
	if (rc != 0)
		test_fail(__FILE__, __LINE__, "make uninstall exited %d:\n%s", rc, out);
	for (i = 0; i < sizeof(installed) / sizeof(installed[0]); i++)
		CHECK_ABSENT(dest, installed[i]);
	CHECK_PATH(dest, "/etc/gazette.conf", S_IFREG, -1);
	snprintf(path, sizeof(path), "%s/etc/gazette.conf", dest);
	free(conf);
	conf = slurp(path);
	CHECK(conf != NULL && strcmp(conf, edited) == 0);
	CHECK_PATH(dest, "/var/gazette/content/posts/2020-01-01-kept.txt", S_IFREG, -1);
	CHECK_PATH(dest, "/var/gazette/certs", S_IFDIR, -1);
done:
	free(out);
	free(conf);
	free(unit);
	free(edited);
	free(copy);
}

/* ---- the systemd unit and the sysusers.d file ---- */

TEST(install_unit_verifies)
{
	char dest[512], path[1024], cmd[4096], verify[1024], *out = NULL, *unit = NULL,
	    *fixed = NULL, exec[1100], tool[1024];
	const char *p;
	size_t len;
	int rc;

	if (!test_need_tool("systemd-analyze", "systemd") || !test_need_tool("kill", "procps"))
		return;
	if (new_destdir(dest, sizeof(dest), "unit") == NULL) {
		test_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
		return;
	}
	if ((rc = make("install", dest, &out)) != 0) {
		test_fail(__FILE__, __LINE__, "make install exited %d:\n%s", rc, out);
		goto done;
	}
	/*
	 * systemd-analyze verify checks that ExecStart names an executable: point
	 * it at the installed copy under DESTDIR. Everything else is verified as
	 * installed. The file keeps its name, which verify needs.
	 */
	snprintf(path, sizeof(path), "%s/usr/lib/systemd/system/gazette.service", dest);
	if ((unit = slurp(path)) == NULL) {
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
		goto done;
	}
	snprintf(exec, sizeof(exec), "ExecStart=%s/usr/sbin/gazette ", dest);
	fixed = replace_all(unit, "ExecStart=/usr/sbin/gazette ", exec);
	CHECK(strcmp(fixed, unit) != 0);
	snprintf(verify, sizeof(verify), "%s/verify", dest);
	mkdir(verify, 0755);
	snprintf(verify, sizeof(verify), "%s/verify/gazette.service", dest);
	CHECK_INT(spit(verify, fixed), 0);
	/* The Documentation= pages, looked up among the installed ones when man exists. */
	if (test_tool_path("man", tool, sizeof(tool)) != NULL)
		snprintf(cmd, sizeof(cmd), "MANPATH='%s/usr/share/man' systemd-analyze verify '%s'",
		    dest, verify);
	else
		snprintf(cmd, sizeof(cmd), "systemd-analyze verify --man=no '%s'", verify);
	free(out);
	rc = run(cmd, &out);
	/* Unknown or misspelt settings are only warnings: any line about the unit fails. */
	if (rc != 0 || strstr(out, "gazette.service") != NULL)
		test_fail(__FILE__, __LINE__, "systemd-analyze verify exited %d:\n%s", rc, out);

	/* The hardening the unit promises. */
	static const char *const settings[] = {
		"Type=simple", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
		"PrivateTmp=yes", "PrivateDevices=yes", "ProtectKernelTunables=yes",
		"ProtectKernelModules=yes", "ProtectKernelLogs=yes", "ProtectControlGroups=yes",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "RestrictNamespaces=yes",
		"LockPersonality=yes", "MemoryDenyWriteExecute=yes",
		"SystemCallArchitectures=native", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE ",
	};
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (find_line(unit, settings[i], &len) == NULL)
			test_fail(__FILE__, __LINE__, "gazette.service: no line %s", settings[i]);
	/* Root, not User=: the supervisor drops privileges in each worker itself. */
	CHECK(find_line(unit, "User=", &len) == NULL);
	if ((p = find_line(unit, "CapabilityBoundingSet=", &len)) != NULL) {
		char caps[512];
		snprintf(caps, sizeof(caps), "%.*s ", (int)len, p);
		CHECK(strstr(caps, " CAP_SETUID ") != NULL);
		CHECK(strstr(caps, " CAP_SETGID ") != NULL);
		CHECK(strstr(caps, " CAP_KILL ") != NULL);
		CHECK(strstr(caps, "CAP_DAC_OVERRIDE") == NULL);
		CHECK(strstr(caps, "CAP_SYS_ADMIN") == NULL);
	}

	/* The sysusers.d file creates the gazette user (dry run, in DESTDIR). */
	if (test_tool_path("systemd-sysusers", tool, sizeof(tool)) != NULL) {
		snprintf(cmd, sizeof(cmd), "systemd-sysusers --dry-run --root='%s' "
		    "'%s/usr/lib/sysusers.d/gazette.conf'", dest, dest);
		free(out);
		rc = run(cmd, &out);
		if (rc != 0 || strstr(out, "user 'gazette'") == NULL)
			test_fail(__FILE__, __LINE__, "systemd-sysusers --dry-run exited %d:\n%s",
			    rc, out);
	}
done:
	free(out);
	free(unit);
	free(fixed);
}

/* ---- the manual ---- */

/* mandoc -Tlint, at every level: nothing but references to pages not installed here. */
static void
lint(const char *page)
{
	char cmd[512], *out = NULL, *line, *save = NULL, bad[8192] = "";
	size_t n = 0;
	int rc;

	snprintf(cmd, sizeof(cmd), "mandoc -Tlint -W style '%s'", page);
	rc = run(cmd, &out);
	for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		/* Depend on the machine's manual database, not on the page. */
		if (strstr(line, "referenced manual not found") != NULL ||
		    strstr(line, "outdated mandoc.db") != NULL)
			continue;
		n += snprintf(bad + n, n < sizeof(bad) ? sizeof(bad) - n : 0, "  %s\n", line);
		if (n >= sizeof(bad))
			n = sizeof(bad) - 1;
	}
	if (rc < 0 || rc > 1 || bad[0] != '\0')
		test_fail(__FILE__, __LINE__, "mandoc -Tlint %s exited %d:\n%s", page, rc, bad);
	free(out);
}

TEST(install_manual_lint_clean)
{
	if (!test_need_tool("mandoc", "mandoc"))
		return;
	lint("server/gazette.8");
	lint("server/gazette.conf.5");
}

enum ktype { K_UNKNOWN, K_STRING, K_INT, K_DURATION, K_SIZE, K_BOOL };

struct key {
	char name[64];
	char def[256];
	bool has_def;
	enum ktype type;
	int scope;		/* 'G', 'H', or 0 when unknown */
};

/* Appends the string literal at *p (at its opening quote) to out; moves *p past it. */
static void
read_literal(const char **p, char *out, size_t size)
{
	const char *s = *p + 1;
	size_t n = 0;

	for (; *s != '\0' && *s != '"'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		if (n + 1 < size)
			out[n++] = *s;
	}
	out[n] = '\0';
	*p = *s == '"' ? s + 1 : s;
}

static bool
has_token(const char *s, size_t len, const char *tok)
{
	size_t n = strlen(tok);
	const char *p;

	for (p = s; p + n <= s + len; p++)
		if (strncmp(p, tok, n) == 0 && (p == s || !(isalnum((unsigned char)p[-1]) ||
		    p[-1] == '_')) && !(isalnum((unsigned char)p[n]) || p[n] == '_'))
			return true;
	return false;
}

/* One entry of the table, text [s, e): its name, default, type and scope. */
static void
parse_entry(const char *s, const char *e, struct key *k)
{
	char lit[256], macro[32];
	const char *p;
	int nlit = 0;
	size_t len, i;

	memset(k, 0, sizeof(*k));
	for (p = s; p < e;) {
		if (*p == '"') {
			read_literal(&p, lit, sizeof(lit));
			if (nlit++ == 0)
				snprintf(k->name, sizeof(k->name), "%.63s", lit);
			else {
				snprintf(k->def, sizeof(k->def), "%s", lit);
				k->has_def = true;
			}
		} else
			p++;
	}
	while (s < e && isspace((unsigned char)*s))
		s++;
	len = (size_t)(e - s);
	/* The macro the entry is written with, if any: G_STR, H_INT... */
	for (i = 0; i + 1 < sizeof(macro) && i < len && (isalnum((unsigned char)s[i]) ||
	    s[i] == '_'); i++)
		macro[i] = s[i];
	macro[i] = '\0';
	if (has_token(s, len, "T_INT"))
		k->type = K_INT;
	else if (has_token(s, len, "T_DURATION"))
		k->type = K_DURATION;
	else if (has_token(s, len, "T_SIZE"))
		k->type = K_SIZE;
	else if (has_token(s, len, "T_BOOL"))
		k->type = K_BOOL;
	else if (has_token(s, len, "T_STRING") || strstr(macro, "_STR") != NULL)
		k->type = K_STRING;
	else if (strstr(macro, "_BOOL") != NULL)
		k->type = K_BOOL;
	if (has_token(s, len, "GLOBAL") || strncmp(s, "G_", 2) == 0)
		k->scope = 'G';
	else if (has_token(s, len, "HOST") || strncmp(s, "H_", 2) == 0)
		k->scope = 'H';
}

/*
 * The keys of the table "keys[] = { ... };" in src/config.c: entries are
 * split at the commas outside parentheses, braces, strings and comments.
 */
static int
table_keys(struct key *keys, int max)
{
	char *src = slurp("src/config.c");
	const char *p, *start;
	int depth = 0, n = 0;
	bool bol = true;

	if (src == NULL) {
		test_fail(__FILE__, __LINE__, "cannot read src/config.c");
		return -1;
	}
	if ((p = strstr(src, "keys[] = {")) == NULL) {
		test_fail(__FILE__, __LINE__, "src/config.c: no \"keys[] = {\" table");
		free(src);
		return -1;
	}
	p += strlen("keys[] = {");
	for (start = p; *p != '\0'; ) {
		if (bol && *p == '#') {			/* a preprocessor line */
			while (*p != '\0' && *p != '\n')
				p++;
			continue;
		}
		bol = *p == '\n' || (bol && isspace((unsigned char)*p));
		if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			p = end ? end + 2 : p + strlen(p);
		} else if (p[0] == '/' && p[1] == '/') {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (*p == '"') {
			char skip[4096];
			read_literal(&p, skip, sizeof(skip));
		} else if (*p == '\'') {
			p += p[1] == '\\' ? 4 : 3;
		} else if (*p == '(' || *p == '{' || *p == '[') {
			depth++;
			p++;
		} else if ((*p == ')' || *p == '}' || *p == ']') && depth > 0) {
			depth--;
			p++;
		} else if ((*p == ',' || *p == '}') && depth == 0) {
			struct key k;
			parse_entry(start, p, &k);
			if (k.name[0] != '\0') {
				if (n == max) {
					test_fail(__FILE__, __LINE__, "more than %d keys", max);
					break;
				}
				keys[n++] = k;
			}
			if (*p == '}')
				break;
			start = ++p;
		} else
			p++;
	}
	free(src);
	return n;
}

static const char *
type_word(enum ktype t)
{
	switch (t) {
	case K_INT:
		return "integer";
	case K_DURATION:
		return "duration";
	case K_SIZE:
		return "size";
	case K_BOOL:
		return "boolean";
	default:
		return NULL;	/* a string: "string", "path" or another word */
	}
}

/* One ".It Ic NAME No = Ar TYPE Pq default: Li DEFAULT" line of gazette.conf(5). */
static void
check_man_item(const struct key *k, const char *line, size_t len, const char *global_ss,
    const char *host_ss)
{
	char want[400], item[1024];

	snprintf(item, sizeof(item), "%.*s ", (int)len, line);
	if (type_word(k->type) != NULL) {
		snprintf(want, sizeof(want), " Ar %s ", type_word(k->type));
		if (strstr(item, want) == NULL)
			test_fail(__FILE__, __LINE__, "gazette.conf.5: %s is %s, want \"%s\" in: %s",
			    k->name, type_word(k->type), want, item);
	} else if (strstr(item, " Ar ") == NULL)
		test_fail(__FILE__, __LINE__, "gazette.conf.5: no type (Ar) for %s: %s",
		    k->name, item);
	if (!k->has_def)
		test_fail(__FILE__, __LINE__, "src/config.c: no default read for %s", k->name);
	else {
		if (k->def[0] == '\0')
			snprintf(want, sizeof(want), " Pq default: empty ");
		else if (strchr(k->def, ' ') != NULL)
			snprintf(want, sizeof(want), " Pq default: Li \"%s\" ", k->def);
		else
			snprintf(want, sizeof(want), " Pq default: Li %s ", k->def);
		if (strstr(item, want) == NULL)
			test_fail(__FILE__, __LINE__, "gazette.conf.5: %s defaults to \"%s\"; "
			    "want \"%s\" in: %s", k->name, k->def, want, item);
	}
	if (global_ss != NULL && host_ss != NULL) {
		if (k->scope == 'G' && !(line > global_ss && line < host_ss))
			test_fail(__FILE__, __LINE__, "gazette.conf.5: global key %s is not "
			    "under \"Global keys\"", k->name);
		if (k->scope == 'H' && line < host_ss)
			test_fail(__FILE__, __LINE__, "gazette.conf.5: host key %s is not "
			    "under \"Host keys\"", k->name);
	}
}

TEST(install_manual_documents_every_key)
{
	struct key keys[MAX_KEYS];
	char *man = NULL, *conf = NULL, prefix[128];
	const char *line, *global_ss, *host_ss, *first_host, *p;
	size_t len;
	int n, i;

	n = table_keys(keys, MAX_KEYS);
	if (n < 0)
		return;
	/* The parser found the table: a few keys that have always been there. */
	if (n < 20)
		test_fail(__FILE__, __LINE__, "found only %d keys in src/config.c's table", n);
	for (i = 0; i < n && strcmp(keys[i].name, "gemini_port") != 0; i++)
		;
	if (i == n || keys[i].type != K_INT || strcmp(keys[i].def, "1965") != 0 ||
	    keys[i].scope != 'G')
		test_fail(__FILE__, __LINE__, "the table parser misread gemini_port");
	for (i = 0; i < n && strcmp(keys[i].name, "lang") != 0; i++)
		;
	if (i == n || keys[i].type != K_STRING || strcmp(keys[i].def, "en") != 0 ||
	    keys[i].scope != 'H')
		test_fail(__FILE__, __LINE__, "the table parser misread lang");

	if ((man = slurp("server/gazette.conf.5")) == NULL ||
	    (conf = slurp("server/gazette.conf")) == NULL) {
		test_fail(__FILE__, __LINE__, "cannot read server/gazette.conf.5 or server/gazette.conf");
		goto done;
	}
	global_ss = strstr(man, "\n.Ss Global keys\n");
	host_ss = strstr(man, "\n.Ss Host keys\n");
	if (global_ss == NULL || host_ss == NULL || host_ss < global_ss)
		test_fail(__FILE__, __LINE__, "gazette.conf.5: no \".Ss Global keys\" then "
		    "\".Ss Host keys\"");
	first_host = strstr(conf, "\n[host ");

	for (i = 0; i < n; i++) {
		const struct key *k = &keys[i];
		test_context("key %s", k->name);

		/* gazette.conf(5): ".It Ic NAME No = Ar TYPE Pq default: Li DEFAULT" */
		snprintf(prefix, sizeof(prefix), ".It Ic %s ", k->name);
		if ((line = find_line(man, prefix, &len)) == NULL)
			test_fail(__FILE__, __LINE__, "key %s is in src/config.c but not in "
			    "server/gazette.conf.5 (want a line \"%s...\")", k->name, prefix);
		else
			check_man_item(k, line, len, global_ss, host_ss);


		/* server/gazette.conf: "NAME = ..." or "#NAME = ...", in the right part. */
		for (p = conf, line = NULL; p != NULL && *p != '\0';) {
			const char *q = p;
			if (*q == '#')
				q++;
			while (*q == ' ')
				q++;
			if (strncmp(q, k->name, strlen(k->name)) == 0) {
				q += strlen(k->name);
				while (*q == ' ' || *q == '\t')
					q++;
				if (*q == '=') {
					line = p;
					break;
				}
			}
			p = strchr(p, '\n');
			p = p ? p + 1 : NULL;
		}
		if (line == NULL)
			test_fail(__FILE__, __LINE__, "key %s is in src/config.c but not in "
			    "server/gazette.conf (want a line \"#%s = ...\")", k->name, k->name);
		else if (first_host != NULL && k->scope == 'G' && line > first_host)
			test_fail(__FILE__, __LINE__, "server/gazette.conf: global key %s after "
			    "the first [host] section", k->name);
		else if (first_host != NULL && k->scope == 'H' && line < first_host)
			test_fail(__FILE__, __LINE__, "server/gazette.conf: host key %s before "
			    "the first [host] section", k->name);
	}
	test_context("%s", "");
done:
	free(man);
	free(conf);
}

TEST(install_manual_documents_every_flag)
{
	char *main_c = slurp("src/main.c"), *man = slurp("server/gazette.8"), prefix[32];
	const char *p, *sections[] = { "NAME", "SYNOPSIS", "DESCRIPTION", "POST FORMAT",
	    "URL MAP", "SIGNALS", "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO",
	    "STANDARDS", "SECURITY CONSIDERATIONS" };
	size_t len, i;

	if (main_c == NULL || man == NULL) {
		test_fail(__FILE__, __LINE__, "cannot read src/main.c or server/gazette.8");
		goto done;
	}
	if ((p = strstr(main_c, "getopt(argc, argv, \"")) == NULL) {
		test_fail(__FILE__, __LINE__, "src/main.c: no getopt(argc, argv, \"...\")");
		goto done;
	}
	for (p += strlen("getopt(argc, argv, \""); *p != '"' && *p != '\0'; p++) {
		if (*p == ':')
			continue;
		snprintf(prefix, sizeof(prefix), ".It Fl %c", *p);
		if (find_line(man, prefix, &len) == NULL)
			test_fail(__FILE__, __LINE__, "flag -%c is in src/main.c but not in "
			    "server/gazette.8 (want a line \"%s\")", *p, prefix);
	}
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		snprintf(prefix, sizeof(prefix), ".Sh %s", sections[i]);
		if (find_line(man, prefix, &len) == NULL)
			test_fail(__FILE__, __LINE__, "server/gazette.8: no section %s", sections[i]);
	}
	CHECK(strstr(man, "RFC 1436") != NULL);
	CHECK(strstr(man, "RFC 4287") != NULL);
	CHECK(strstr(man, "protocol-specification") != NULL);
	CHECK(strstr(man, "SIGHUP") != NULL && strstr(man, "SIGUSR1") != NULL &&
	    strstr(man, "SIGTERM") != NULL);
done:
	free(main_c);
	free(man);
}

/*
 * The configurations shown in the manual's EXAMPLES are valid: gazette -n
 * accepts each, with /var/gazette moved into a scratch folder where every
 * root named exists.
 */
static void
check_examples(const char *page)
{
	char *man = slurp(page), dir[512], conf[1024], path[1200];
	const char *ex, *p, *end;
	size_t len;
	int found = 0;

	if (man == NULL) {
		test_fail(__FILE__, __LINE__, "cannot read %s", page);
		return;
	}
	if ((ex = strstr(man, "\n.Sh EXAMPLES\n")) == NULL) {
		test_fail(__FILE__, __LINE__, "%s: no EXAMPLES", page);
		goto done;
	}
	if (new_destdir(dir, sizeof(dir), "examples") == NULL) {
		test_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
		goto done;
	}
	for (p = ex; (p = strstr(p, "\n.Bd -literal")) != NULL && (end = strstr(p, "\n.Ed\n")) != NULL;
	    p = end + 1) {
		char *text, *moved, *unescaped, *line, *save = NULL, *copy;
		const char *start = strchr(p + 1, '\n');
		int rc;

		if (start == NULL || start > end)
			continue;
		len = (size_t)(end - start);
		if ((text = strndup(start + 1, len)) == NULL)
			abort();
		if (strstr(text, "\n[host ") == NULL && strncmp(text, "[host ", 6) != 0) {
			free(text);
			continue;
		}
		/* Lines that show a shell ("$ cat gazette.conf") frame the file: keep the file. */
		if (strncmp(text, "$ ", 2) == 0) {
			free(text);
			continue;
		}
		found++;
		snprintf(path, sizeof(path), "%s/var/gazette", dir);
		moved = replace_all(text, "/var/gazette", path);
		unescaped = replace_all(moved, "\\e", "\\");
		/* Every root named exists. */
		if ((copy = strdup(unescaped)) == NULL)
			abort();
		for (line = strtok_r(copy, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, "root = ", 7) != 0 || line[7] != '/')
				continue;
			snprintf(path, sizeof(path), "mkdir -p '%s'", line + 7);
			CHECK_INT(run(path, NULL), 0);
		}
		free(copy);
		snprintf(conf, sizeof(conf), "%s/example-%d.conf", dir, found);
		if (spit(conf, unescaped) == -1)
			test_fail(__FILE__, __LINE__, "cannot write %s", conf);
		else {
			const char *args[] = { "-n", "-c", conf, NULL };
			char *o = NULL;
			rc = gazette_exec(args, &o);
			if (rc != 0)
				test_fail(__FILE__, __LINE__, "%s: example %d is not a valid "
				    "configuration (gazette -n exited %d):\n%s\n%s", page, found, rc,
				    unescaped, o ? o : "");
			free(o);
		}
		free(text);
		free(moved);
		free(unescaped);
	}
	if (found < 1)
		test_fail(__FILE__, __LINE__, "%s: no configuration in EXAMPLES", page);
done:
	free(man);
}

TEST(install_manual_examples_are_valid)
{
	check_examples("server/gazette.conf.5");
}
