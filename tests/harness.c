#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "client.h"
#include "load.h"
#include "test.h"

#define START_TIMEOUT_MS 15000

static int scratch_seq;

int
free_port(void)
{
	struct sockaddr_in sin = { 0 };
	socklen_t len = sizeof(sin);
	int fd, port = -1;

	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static int
mkdirs(char *path)
{
	char *p;

	for (p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0755) == -1 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return 0;
}

int
gazette_write(const struct gazette *g, const char *path, const char *data, long len)
{
	char full[1024], tmp[1100];

	snprintf(full, sizeof(full), "%s/%s", g->root, path);
	if (mkdirs(full) == -1)
		return -1;
	/* Write then rename, as an editor saving a whole file would. */
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", full, getpid());
	if (write_file(tmp, data, len < 0 ? strlen(data) : (size_t)len) == -1)
		return -1;
	return rename(tmp, full);
}

int
gazette_remove(const struct gazette *g, const char *path)
{
	char full[1024];

	snprintf(full, sizeof(full), "%s/%s", g->root, path);
	return unlink(full);
}

static bool
accepting(int port)
{
	struct sockaddr_in sin = { 0 };
	int fd, ok;

	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return false;
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

static const char *
gazette_binary(void)
{
	const char *bin = getenv("GAZETTE");

	return bin && *bin ? bin : "build/gazette";
}

char *
gazette_log(const struct gazette *g)
{
	FILE *f = fopen(g->log, "r");
	char *buf = NULL;
	size_t size = 0;
	long n;

	if (f == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f) - g->log_from;
	fseek(f, g->log_from, SEEK_SET);
	size = n > 0 ? (size_t)n : 0;
	if ((buf = malloc(size + 1)) == NULL)
		abort();
	size = fread(buf, 1, size, f);
	buf[size] = '\0';
	fclose(f);
	return buf;
}

bool
gazette_wait_log(const struct gazette *g, const char *text, int ms)
{
	return gazette_wait_logs(g, text, 1, ms);
}

bool
gazette_wait_logs(const struct gazette *g, const char *text, int times, int ms)
{
	long waited = 0, step = 2;
	const char *at;
	char *log;
	bool found;
	int n;

	for (;;) {
		log = gazette_log(g);
		for (n = 0, at = log; n < times && (at = strstr(at, text)) != NULL; n++)
			at += strlen(text);
		found = n >= times;
		free(log);
		if (found || waited >= ms)
			return found;
		sleep_ms(step);
		waited += step;
		if (step < 50)
			step *= 2;
	}
}

static void
dump_log(const struct gazette *g)
{
	char *log = gazette_log(g);

	printf("    --- server log ---\n%s    ---\n", log);
	free(log);
}

/* Creates g->dir with g->root inside: a copy of the fixture, or empty. */
static int
scratch_new(const struct gazette *g, const char *fixture)
{
	char cmd[2048];

	if (mkdir(g->dir, 0700) == -1) {
		test_fail(__FILE__, __LINE__, "mkdir %s: %s", g->dir, strerror(errno));
		return -1;
	}
	if (fixture) {
		snprintf(cmd, sizeof(cmd), "cp -R '%s/fixtures/%s' '%s'", test_source_dir(),
		    fixture, g->root);
		if (system(cmd) != 0) {
			test_fail(__FILE__, __LINE__, "cannot copy fixture %s", fixture);
			return -1;
		}
	} else
		mkdir(g->root, 0755);
	return 0;
}

/* True once as many workers say "serving" as the supervisor started. */
static bool
workers_serving(const struct gazette *g, int ms)
{
	long waited = 0, step = 2;
	char *log, *p, *start;
	int want = -1, n;

	for (;;) {
		log = gazette_log(g);
		for (start = NULL, p = log; (p = strstr(p, "gazette started: ")) != NULL; p++)
			start = p;
		n = 0;
		if (start != NULL) {
			want = atoi(start + strlen("gazette started: "));
			for (p = start; (p = strstr(p, ": serving\n")) != NULL; p++)
				n++;
		}
		free(log);
		if (want > 0 && n >= want)
			return true;
		if (waited >= ms)
			return false;
		sleep_ms(step);
		waited += step;
		if (step < 50)
			step *= 2;
	}
}

/* A start that failed leaves no server (nor its workers) behind. */
static void
kill_server(struct gazette *g)
{
	kill(g->pid, SIGKILL);
	waitpid(g->pid, NULL, 0);
	g->pid = 0;
}

int
gazette_start(struct gazette *g, const struct gazette_opts *o)
{
	const char *bin = o->binary != NULL ? o->binary : gazette_binary();
	char conf[8192];
	long waited = 0, step = 1;
	struct stat st;
	int status;

	memset(g, 0, sizeof(*g));
	if (o->dir)
		snprintf(g->dir, sizeof(g->dir), "%s", o->dir);
	else
		snprintf(g->dir, sizeof(g->dir), "%s/gazette%d-%d", test_tmp_dir(), getpid(),
		    scratch_seq++);
	snprintf(g->root, sizeof(g->root), "%s/content", g->dir);
	snprintf(g->conf, sizeof(g->conf), "%s/gazette.conf", g->dir);
	snprintf(g->log, sizeof(g->log), "%s/gazette.log", g->dir);
	/* An earlier run's folder is kept as it is; so is its log, which this run's follows. */
	if (o->dir == NULL && scratch_new(g, o->fixture) == -1)
		return -1;
	if (o->dir != NULL && stat(g->log, &st) == 0)
		g->log_from = (long)st.st_size;
	g->gemini_port = free_port();
	/* Two probes may be handed the same free port: ask until they differ. */
	do
		g->gopher_port = o->gopher ? free_port() : 0;
	while (g->gopher_port != 0 && g->gopher_port == g->gemini_port);
	snprintf(conf, sizeof(conf),
	    "listen = 127.0.0.1\n"
	    "gemini_port = %d\n"
	    "gopher_port = %d\n"
	    "log_file = %s\n"
	    "state_dir = %s/state\n"
	    /* Tests hammer from one address; limits are tested where they are set. */
	    "client_connections = 0\n"
	    "client_rate = 0\n"
	    "%s\n"
	    "[host localhost]\n"
	    "root = %s\n"
	    "cert = %s/certs/localhost.crt\n"
	    "key = %s/certs/localhost.key\n"
	    "%s\n%s\n",
	    g->gemini_port, g->gopher_port, g->log, g->dir, o->global ? o->global : "", g->root,
	    g->dir, g->dir, o->host ? o->host : "", o->hosts ? o->hosts : "");
	if (write_file(g->conf, conf, strlen(conf)) == -1) {
		test_fail(__FILE__, __LINE__, "cannot write %s", g->conf);
		return -1;
	}
	fflush(stdout);
	if ((g->pid = fork()) == -1) {
		test_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
		return -1;
	}
	if (g->pid == 0) {
		int fd = open(g->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execl(bin, bin, "-f", "-c", g->conf, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	/* Ready when it accepts: poll, backing off, never a fixed sleep. */
	while (!accepting(g->gemini_port)) {
		if (waitpid(g->pid, &status, WNOHANG) == g->pid) {
			g->pid = 0;
			test_fail(__FILE__, __LINE__, "gazette exited during start-up");
			dump_log(g);
			return -1;
		}
		if (waited >= START_TIMEOUT_MS) {
			test_fail(__FILE__, __LINE__, "gazette did not start listening");
			dump_log(g);
			kill_server(g);
			return -1;
		}
		sleep_ms(step);
		waited += step;
		if (step < 50)
			step *= 2;
	}
	/*
	 * The supervisor accepts as soon as it listens; a test that changes the
	 * content at once must find the workers watching it: wait for them.
	 */
	if (!workers_serving(g, START_TIMEOUT_MS)) {
		test_fail(__FILE__, __LINE__, "gazette's workers did not start serving");
		dump_log(g);
		kill_server(g);
		return -1;
	}
	if (g->gopher_port && !gazette_wait_log(g, "(gopher)", START_TIMEOUT_MS)) {
		test_fail(__FILE__, __LINE__, "gazette did not listen for Gopher");
		dump_log(g);
		kill_server(g);
		return -1;
	}
	return 0;
}

void
gazette_signal(struct gazette *g, int sig)
{
	if (g->pid > 0)
		kill(g->pid, sig);
}

int
gazette_stop(struct gazette *g)
{
	int status, rc = 0;
	char *log;

	if (g->pid <= 0)
		return -1;
	kill(g->pid, SIGTERM);
	if (waitpid(g->pid, &status, 0) == -1) {
		test_fail(__FILE__, __LINE__, "waitpid: %s", strerror(errno));
		return -1;
	}
	g->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		test_fail(__FILE__, __LINE__, "gazette ended badly (status 0x%x)", status);
		rc = -1;
	}
	log = gazette_log(g);
	if (strstr(log, "AddressSanitizer") || strstr(log, "runtime error:") ||
	    strstr(log, "LeakSanitizer")) {
		test_fail(__FILE__, __LINE__, "sanitizer report in the server log");
		rc = -1;
	}
	free(log);
	if (rc == -1)
		dump_log(g);
	return rc;
}

int
gazette_stop_keep(struct gazette *g, char *dir, size_t size)
{
	snprintf(dir, size, "%s", g->dir);
	return gazette_stop(g);
}

int
gazette_exec(const char *const args[], char **output)
{
	return gazette_exec_as(-1, args, output);
}

int
gazette_exec_as(long uid, const char *const args[], char **output)
{
	const char *bin = gazette_binary();
	const char *argv[32];
	char buf[4096], *out = NULL;
	size_t len = 0, n;
	int fds[2], status, i;
	ssize_t got;
	pid_t pid;

	argv[0] = bin;
	for (i = 0; args[i] != NULL && i < 30; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	if (pipe(fds) == -1)
		return -1;
	fflush(stdout);
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		if (uid != -1 && (setgroups(0, NULL) == -1 || setgid((gid_t)uid) == -1 ||
		    setuid((uid_t)uid) == -1)) {
			fprintf(stderr, "cannot become uid %ld: %s\n", uid, strerror(errno));
			_exit(127);
		}
		execv(bin, (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	while ((got = read(fds[0], buf, sizeof(buf))) != 0) {
		if (got == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		n = (size_t)got;
		if ((out = realloc(out, len + n + 1)) == NULL)
			abort();
		memcpy(out + len, buf, n);
		len += n;
	}
	close(fds[0]);
	if (out == NULL && (out = malloc(1)) == NULL)
		abort();
	out[len] = '\0';
	*output = out;
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Replaces ":<port>" by ":PORT" for each of g's ports; returns a new string. */
static char *
mask_ports(const struct gazette *g, const char *s, size_t len, size_t *outlen)
{
	char pat[2][16], *out, *o;
	size_t i = 0, k, pl[2];

	snprintf(pat[0], sizeof(pat[0]), ":%d", g->gemini_port);
	snprintf(pat[1], sizeof(pat[1]), ":%d", g->gopher_port ? g->gopher_port : -1);
	pl[0] = strlen(pat[0]);
	pl[1] = strlen(pat[1]);
	if ((out = o = malloc(len * 2 + 1)) == NULL)
		abort();
	while (i < len) {
		for (k = 0; k < 2; k++)
			if (i + pl[k] <= len && memcmp(s + i, pat[k], pl[k]) == 0 &&
			    (i + pl[k] == len || s[i + pl[k]] < '0' || s[i + pl[k]] > '9'))
				break;
		if (k < 2) {
			memcpy(o, ":PORT", 5);
			o += 5;
			i += pl[k];
		} else
			*o++ = s[i++];
	}
	*o = '\0';
	*outlen = o - out;
	return out;
}

void
expect_file(const struct gazette *g, const char *name, const char *got, size_t len)
{
	char path[1024], *want = NULL, *masked;
	size_t wantlen = 0, mlen;
	const char *update = getenv("GAZETTE_UPDATE_EXPECTED");
	FILE *f;

	snprintf(path, sizeof(path), "%s/expected/%s", test_source_dir(), name);
	masked = mask_ports(g, got, len, &mlen);
	if (update != NULL && strcmp(update, "1") == 0) {
		if (write_file(path, masked, mlen) == -1)
			test_fail(__FILE__, __LINE__, "cannot write %s", path);
		else
			printf("    wrote %s\n", path);
		free(masked);
		return;
	}
	if ((f = fopen(path, "r")) == NULL) {
		test_fail(__FILE__, __LINE__, "missing %s (GAZETTE_UPDATE_EXPECTED=1 writes it)",
		    path);
		free(masked);
		return;
	}
	fseek(f, 0, SEEK_END);
	wantlen = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	if ((want = malloc(wantlen + 1)) == NULL)
		abort();
	wantlen = fread(want, 1, wantlen, f);
	fclose(f);
	test_context("%s", name);
	if (mlen != wantlen || memcmp(masked, want, mlen) != 0)
		test_fail_mem(__FILE__, __LINE__, name, masked, mlen, want, wantlen);
	test_context("%s", "");
	free(want);
	free(masked);
}

void
gemini_path(const struct gazette *g, const char *path, struct reply *r)
{
	char req[2048];

	snprintf(req, sizeof(req), "gemini://localhost:%d%s\r\n", g->gemini_port, path);
	gemini_get(g->gemini_port, req, r);
}

char *
gemini_page(const struct gazette *g, const char *path)
{
	struct reply r;
	char *s;

	gemini_path(g, path, &r);
	s = strdup(r.data != NULL ? r.data : "");
	reply_free(&r);
	return s;
}

int
gazette_children(const struct gazette *g, const char *name, pid_t *pids, int max)
{
	char path[300], buf[512], *p, *open;
	struct dirent *de;
	int n = 0, ppid;
	FILE *f;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while (n < max && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		/* "pid (comm) state ppid ...": comm may hold spaces, so parse after ')'. */
		if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL &&
		    (open = strchr(buf, '(')) != NULL &&
		    sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == g->pid &&
		    (size_t)(p - open - 1) == strlen(name) && strncmp(open + 1, name,
		    strlen(name)) == 0)
			pids[n++] = (pid_t)atoi(de->d_name);
		fclose(f);
	}
	closedir(d);
	return n;
}

int
gazette_workers(const struct gazette *g, pid_t *pids, int max)
{
	return gazette_children(g, "gazette-worker", pids, max);
}

pid_t
gazette_indexer(const struct gazette *g)
{
	pid_t pid;

	return gazette_children(g, "gazette-indexer", &pid, 1) == 1 ? pid : 0;
}

const char *
proc_status(pid_t pid, const char *key, char *buf, size_t size)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	const char *found = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			char *v = line + klen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			v[strcspn(v, "\n")] = '\0';
			snprintf(buf, size, "%s", v);
			found = buf;
			break;
		}
	fclose(f);
	return found;
}

static int
write_pem(const char *path, EVP_PKEY *key, X509 *x)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, x);
	return fclose(f) == 0 && ok ? 0 : -1;
}

void
test_make_cert(const struct test_cert_kind *k, long serial, struct test_cert *id)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_PKEY *key = EVP_EC_gen("P-256"), *other = NULL, *signer = key;
	X509_NAME *subject = X509_NAME_new(), *issuer = X509_NAME_new();
	X509 *x = X509_new();
	unsigned int n, i;

	snprintf(id->crt, sizeof(id->crt), "%s/cc-%d-%s.crt", test_tmp_dir(), (int)getpid(),
	    k->name);
	snprintf(id->key, sizeof(id->key), "%s/cc-%d-%s.key", test_tmp_dir(), (int)getpid(),
	    k->name);
	if (k->forged || k->issued)
		signer = other = EVP_EC_gen("P-256");
	if (key == NULL || signer == NULL || subject == NULL || issuer == NULL || x == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), k->not_before) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), k->not_after) == NULL ||
	    !X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
		(const unsigned char *)k->name, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC,
		(const unsigned char *)(k->issued ? "Unknown CA" : k->name), -1, -1, 0) ||
	    !X509_set_subject_name(x, subject) || !X509_set_issuer_name(x, issuer) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, signer, EVP_sha256()) ||
	    write_pem(id->key, key, NULL) == -1 || write_pem(id->crt, NULL, x) == -1 ||
	    !X509_digest(x, EVP_sha256(), md, &n))
		test_fail(__FILE__, __LINE__, "cannot make the certificate %s", k->name);
	else
		for (i = 0; i < n; i++) {
			snprintf(id->fp + 3 * i, sizeof(id->fp) - 3 * i, "%02X%s", md[i],
			    i + 1 < n ? ":" : "");
			snprintf(id->hex + 2 * i, sizeof(id->hex) - 2 * i, "%02x", md[i]);
		}
	X509_free(x);
	X509_NAME_free(subject);
	X509_NAME_free(issuer);
	EVP_PKEY_free(other);
	EVP_PKEY_free(key);
}
