/* Self-signed certificates for hosts that come without one (Gemini is TOFU). */
#ifndef GAZETTE_CERT_H
#define GAZETTE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/x509.h>

/*
 * Makes sure keypath and certpath exist for host. When both are missing it
 * generates an EC P-256 key and a self-signed certificate valid for 50 years
 * whose CN and subjectAltName are host (plus 127.0.0.1 and ::1 for localhost),
 * writing the key with mode 0600. An existing pair is never touched; one file
 * without the other is an error, since regenerating would break clients' pins.
 * *generated tells which happened. Returns -1 with a message in err.
 */
int cert_ensure(const char *host, const char *certpath, const char *keypath,
    bool *generated, char *err, size_t errsize);

/*
 * Whether host's pair is there: 1 both files, 0 neither (cert_ensure would
 * generate them), -1 one without the other (err says what to do).
 */
int cert_present(const char *certpath, const char *keypath, char *err, size_t errsize);

/*
 * Why OpenSSL's last call failed, taken off its error queue: its reason, or
 * the system's (strerror) for a file it could not open.
 */
const char *cert_openssl_error(void);

/* SHA-256 of the DER certificate as "AB:CD:...", into out (>= 96 bytes). */
int cert_fingerprint(X509 *x, char *out, size_t size);

#endif
