/* SPDX-License-Identifier: MIT */
/*
 * cert.h — CURVE key files in the czmq certificate format (ZPL text), the
 * format pyzmq's zmq.auth.create_certificates writes and load_certificate
 * reads:
 *
 *   #   ****  Generated on 2026-11-25 17:00:00 by steerd  ****
 *   #   ZeroMQ CURVE Public Certificate
 *   ...
 *
 *   metadata
 *       name = "alice"
 *       created-by = "steerd"
 *   curve
 *       public-key = "<40-character Z85>"
 *       secret-key = "<40-character Z85>"     (NAME.key_secret only)
 *
 * NAME.key holds the public key (mode 0644), NAME.key_secret both keys
 * (mode 0600). Key files are untrusted input: at most CERT_MAX_BYTES, strict
 * ZPL (sections at column 0, entries indented 4 spaces, no tabs, only the
 * `metadata` and `curve` sections, no duplicate entries), and errors name the
 * file and line: "path:line: message". A secret file whose mode gives the
 * group or others any access is refused.
 */
#ifndef STEERD_CERT_H
#define STEERD_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CERT_MAX_BYTES 65536 /* a key file larger than this is refused */
#define CERT_NAME_MAX 64     /* bytes of a key name, with the NUL */
#define CERT_Z85_LEN 40      /* characters of a Z85 key */
#define CERT_KEY_BYTES 32

typedef struct cert {
	char name[CERT_NAME_MAX];             /* metadata `name`, or "" when absent */
	char public_z85[CERT_Z85_LEN + 1];
	uint8_t public_key[CERT_KEY_BYTES];
	bool has_secret;                      /* cert_load_secret / cert_write_pair only */
	char secret_z85[CERT_Z85_LEN + 1];    /* "" unless has_secret */
	uint8_t secret_key[CERT_KEY_BYTES];
} cert;

/*
 * Why a key file was not loaded: the negative return value of cert_load_*.
 * Every key file is also refused when another user could change it (the
 * file or its directory: fileperm.h).
 */
#define CERT_E_INVALID (-1) /* absent, not a key file, or malformed */
#define CERT_E_IO (-2)      /* could not be read now (EMFILE, ENFILE, EIO, ...) */
#define CERT_E_UNSAFE (-3)  /* another user could change it (fileperm.h) */

/*
 * Read the public key from a certificate (NAME.key; a NAME.key_secret file
 * also works, its secret key is then checked but not kept). 0, or a
 * CERT_E_* code with "path[:line]: message" in err.
 */
int cert_load_public(const char *path, cert *out, char *err, size_t errlen);

/*
 * Read both keys from NAME.key_secret. Refused when the file is not a regular
 * file, is accessible by group or others, is owned by someone other than this
 * user (or root), has no secret-key, or its secret-key does not give its
 * public-key. 0, or a CERT_E_* code with a message in err.
 */
int cert_load_secret(const char *path, cert *out, char *err, size_t errlen);

/*
 * Create a new key pair: DIR/NAME.key (0644) and DIR/NAME.key_secret (0600),
 * never overwriting (both are checked first; O_EXCL). NAME is 1-63 bytes of
 * [A-Za-z0-9._-] not starting with '.'. out (may be NULL) receives the keys.
 * 0, or -1 with a message in err (nothing is left behind).
 */
int cert_write_pair(const char *dir, const char *name, cert *out, char *err, size_t errlen);

/* "DIR/NAME.key" and "DIR/NAME.key_secret"; -1 when they do not fit. */
int cert_paths(const char *dir, const char *name, char *pub, char *sec, size_t len);

/* Is name acceptable to cert_write_pair? */
bool cert_name_ok(const char *name);

/* Forget the secret key (explicit_bzero). */
void cert_wipe(cert *c);

#endif
