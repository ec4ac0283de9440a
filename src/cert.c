/*
 * Certificate generation through OpenSSL 3's API. Files are written to a
 * temporary name and renamed into place, so a crash never leaves half a key.
 */
#include "cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define CERT_DAYS (50 * 365 + 12)

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *
make_cert(const char *host, EVP_PKEY *key)
{
	char san[600];
	unsigned char buf[16];
	X509 *x;
	X509_NAME *name;
	BIGNUM *serial = NULL;
	struct in6_addr a6;
	struct in_addr a4;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1)
		snprintf(san, sizeof(san), "IP:%s", host);
	else if (strcmp(host, "localhost") == 0)
		snprintf(san, sizeof(san), "DNS:localhost,IP:127.0.0.1,IP:::1");
	else
		snprintf(san, sizeof(san), "DNS:%s", host);
	if (RAND_bytes(buf, sizeof(buf)) != 1)
		goto fail;
	buf[0] &= 0x7f;	/* a positive serial */
	if ((serial = BN_bin2bn(buf, sizeof(buf), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) == NULL)
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) ||
	    /* A day back, so a client whose clock lags still accepts it. */
	    X509_gmtime_adj(X509_getm_notBefore(x), -24 * 3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), CERT_DAYS, 0, NULL) == NULL ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
		(const unsigned char *)host, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) ||
	    !X509_set_pubkey(x, key) ||
	    add_ext(x, NID_subject_alt_name, san) == -1 ||
	    add_ext(x, NID_basic_constraints, "critical,CA:FALSE") == -1 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature") == -1 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") == -1 ||
	    add_ext(x, NID_subject_key_identifier, "hash") == -1 ||
	    X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	BN_free(serial);
	return x;
fail:
	BN_free(serial);
	X509_free(x);
	return NULL;
}

/* Writes through a temporary file with the given mode, then renames. */
static int
write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *x)
{
	char tmp[1100];
	FILE *f;
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) == -1)
		return -1;
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_X509(f, x);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Creates the folder holding path (one level: certs/), owner-only. */
static void
make_parent(const char *path)
{
	char dir[1024];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return;
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	mkdir(dir, 0700);
}

const char *
cert_openssl_error(void)
{
	unsigned long e = ERR_get_error();
	const char *why;

	ERR_clear_error();
	if (e == 0)
		return "unknown error";
	if (ERR_SYSTEM_ERROR(e))
		return strerror(ERR_GET_REASON(e));
	return (why = ERR_reason_error_string(e)) != NULL ? why : "unknown error";
}

int
cert_present(const char *certpath, const char *keypath, char *err, size_t errsize)
{
	/* A file that cannot be looked at is there for all we know: loading says why. */
	int have_cert = access(certpath, F_OK) == 0 || errno != ENOENT;
	int have_key = access(keypath, F_OK) == 0 || errno != ENOENT;

	if (have_cert && have_key)
		return 1;
	if (!have_cert && !have_key)
		return 0;
	snprintf(err, errsize, "%s exists but %s does not; restore it or remove both to "
	    "generate a new pair (clients that pinned the old one will warn)",
	    have_cert ? certpath : keypath, have_cert ? keypath : certpath);
	return -1;
}

/* Makes and writes the pair, in this process. */
static int
generate_here(const char *host, const char *certpath, const char *keypath, char *err,
    size_t errsize)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int rc = -1;

	make_parent(keypath);
	make_parent(certpath);
	if ((key = EVP_EC_gen("P-256")) == NULL || (x = make_cert(host, key)) == NULL) {
		snprintf(err, errsize, "cannot generate a certificate for %s: %s", host,
		    cert_openssl_error());
		goto done;
	}
	if (write_pem(keypath, 0600, key, NULL) == -1) {
		snprintf(err, errsize, "cannot write %s: %s", keypath, strerror(errno));
		goto done;
	}
	if (write_pem(certpath, 0644, NULL, x) == -1) {
		snprintf(err, errsize, "cannot write %s: %s", certpath, strerror(errno));
		unlink(keypath);
		goto done;
	}
	rc = 0;
done:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/*
 * generate_here in a child process: no trace of the new private key
 * (OpenSSL's memory, stdio's buffers) stays in the caller, the supervisor,
 * whose memory every worker inherits. The child's message comes up a pipe.
 */
static int
generate(const char *host, const char *certpath, const char *keypath, char *err,
    size_t errsize)
{
	size_t len = 0;
	int fds[2], status, e;
	pid_t pid = -1, waited;
	ssize_t n;

	/* A fork that fails leaves no pipe behind. */
	if (pipe2(fds, O_CLOEXEC) == 0 && (pid = fork()) == -1) {
		e = errno;
		close(fds[0]);
		close(fds[1]);
		errno = e;
	}
	if (pid == -1) {
		snprintf(err, errsize, "cannot generate a certificate for %s: %s", host,
		    strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		if (generate_here(host, certpath, keypath, err, errsize) == 0)
			_exit(0);
		n = write(fds[1], err, strlen(err));
		_exit(n > 0 ? 1 : 2);
	}
	close(fds[1]);
	while (len + 1 < errsize && (n = read(fds[0], err + len, errsize - 1 - len)) != 0)
		if (n > 0)
			len += (size_t)n;
		else if (errno != EINTR)
			break;
	err[len] = '\0';
	close(fds[0]);
	while ((waited = waitpid(pid, &status, 0)) == -1 && errno == EINTR)
		;
	if (waited == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (len == 0)
		snprintf(err, errsize, "cannot generate a certificate for %s", host);
	return -1;
}

int
cert_ensure(const char *host, const char *certpath, const char *keypath,
    bool *generated, char *err, size_t errsize)
{
	int rc;

	*generated = false;
	if ((rc = cert_present(certpath, keypath, err, errsize)) != 0)
		return rc == 1 ? 0 : -1;
	if (generate(host, certpath, keypath, err, errsize) == -1)
		return -1;
	*generated = true;
	return 0;
}

int
cert_fingerprint(X509 *x, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n, i;

	if (size < 3 * 32 || !X509_digest(x, EVP_sha256(), md, &n))
		return -1;
	for (i = 0; i < n; i++)
		snprintf(out + 3 * i, size - 3 * i, "%02X%s", md[i], i + 1 < n ? ":" : "");
	return 0;
}
