/* SPDX-License-Identifier: MIT */
/* cert.c — CURVE key files in the czmq/pyzmq certificate format (see cert.h). */
#include "cert.h"
#include "fileperm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define MAX_METADATA 32 /* entries in the metadata section */

static void say(char *err, size_t errlen, const char *path, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void say(char *err, size_t errlen, const char *path, unsigned line, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	int n = line ? snprintf(err, errlen, "%s:%u: ", path, line) : snprintf(err, errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

void cert_wipe(cert *c)
{
	if (!c)
		return;
	explicit_bzero(c->secret_z85, sizeof c->secret_z85);
	explicit_bzero(c->secret_key, sizeof c->secret_key);
	c->has_secret = false;
}

bool cert_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= CERT_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

int cert_paths(const char *dir, const char *name, char *pub, char *sec, size_t len)
{
	if (!dir || !*dir)
		dir = ".";
	const char *sep = dir[strlen(dir) - 1] == '/' ? "" : "/";
	int a = snprintf(pub, len, "%s%s%s.key", dir, sep, name);
	int b = snprintf(sec, len, "%s%s%s.key_secret", dir, sep, name);
	return a < 0 || b < 0 || (size_t)a >= len || (size_t)b >= len ? -1 : 0;
}

/* ---- reading --------------------------------------------------------------------------- */

/* The whole file, NUL-terminated, after checking what kind of file it is. */
/*
 * An error of open/read/stat: the file is absent (or not a file), which is
 * to be fixed in the file system, or it could not be read just now.
 */
static int io_code(int e)
{
	return fileperm_transient(e) ? CERT_E_IO : CERT_E_INVALID;
}

static char *read_key_file(const char *path, bool secret, size_t *len, int *code, char *err,
                           size_t errlen)
{
	*code = CERT_E_INVALID;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		*code = io_code(errno);
		say(err, errlen, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		*code = io_code(errno);
		say(err, errlen, path, 0, "cannot stat: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		say(err, errlen, path, 0, "not a regular file");
		close(fd);
		return NULL;
	}
	if (secret && (st.st_mode & 077)) {
		say(err, errlen, path, 0, "secret key file is readable by others (mode %04o); chmod 600 it",
		    (unsigned)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	if (secret && st.st_uid != geteuid() && st.st_uid != 0) {
		say(err, errlen, path, 0, "secret key file is owned by uid %u, not by this user (uid %u) or root",
		    (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return NULL;
	}
	/* Who may change it decides who gets in: nobody but us (or root). */
	char why[768];
	if (fileperm_check(path, &st, why, sizeof why) < 0) {
		*code = errno ? io_code(errno) : CERT_E_UNSAFE;
		snprintf(err, errlen, "%s", why);
		close(fd);
		return NULL;
	}
	if (st.st_size > CERT_MAX_BYTES) {
		say(err, errlen, path, 0, "too large for a key file (%lld bytes, at most %d)",
		    (long long)st.st_size, CERT_MAX_BYTES);
		close(fd);
		return NULL;
	}
	char *buf = malloc(CERT_MAX_BYTES + 2);
	if (!buf) {
		say(err, errlen, path, 0, "out of memory");
		close(fd);
		return NULL;
	}
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, CERT_MAX_BYTES + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*code = io_code(errno);
			say(err, errlen, path, 0, "cannot read: %s", strerror(errno));
			explicit_bzero(buf, n);
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CERT_MAX_BYTES) { /* it grew since fstat */
			say(err, errlen, path, 0, "too large for a key file (more than %d bytes)", CERT_MAX_BYTES);
			explicit_bzero(buf, n);
			free(buf);
			close(fd);
			return NULL;
		}
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("$-_@.&+/", c) != NULL);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

typedef struct parse_state {
	const char *path;
	char *err;
	size_t errlen;
	unsigned line;
	enum { SEC_NONE, SEC_METADATA, SEC_CURVE } section;
	bool seen_metadata, seen_curve;
	const char *meta_names[MAX_METADATA];
	size_t n_meta;
	const char *public_z85, *secret_z85; /* into the buffer */
	unsigned public_line, secret_line;
	const char *name;
} parse_state;

#define FAIL(ps, ...) (say((ps)->err, (ps)->errlen, (ps)->path, (ps)->line, __VA_ARGS__), -1)

/* A Z85 CURVE key: exactly 40 characters that decode. */
static int check_key(parse_state *ps, const char *what, const char *value, uint8_t out[CERT_KEY_BYTES])
{
	if (strlen(value) != CERT_Z85_LEN || !zmq_z85_decode(out, value))
		return FAIL(ps, "%s is not a %d-character Z85 key", what, CERT_Z85_LEN);
	return 0;
}

static int entry(parse_state *ps, const char *name, const char *value)
{
	if (ps->section == SEC_METADATA) {
		for (size_t i = 0; i < ps->n_meta; i++)
			if (strcmp(ps->meta_names[i], name) == 0)
				return FAIL(ps, "duplicate metadata entry '%s'", name);
		if (ps->n_meta == MAX_METADATA)
			return FAIL(ps, "too many metadata entries (at most %d)", MAX_METADATA);
		ps->meta_names[ps->n_meta++] = name;
		if (!printable(value))
			return FAIL(ps, "metadata '%s' has a control character", name);
		if (strcmp(name, "name") == 0) {
			if (strlen(value) >= CERT_NAME_MAX)
				return FAIL(ps, "metadata name is longer than %d bytes", CERT_NAME_MAX - 1);
			ps->name = value;
		}
		return 0;
	}
	uint8_t key[CERT_KEY_BYTES];
	if (strcmp(name, "public-key") == 0) {
		if (ps->public_z85)
			return FAIL(ps, "duplicate public-key (first on line %u)", ps->public_line);
		if (check_key(ps, "public-key", value, key) < 0)
			return -1;
		ps->public_z85 = value;
		ps->public_line = ps->line;
		return 0;
	}
	if (strcmp(name, "secret-key") == 0) {
		if (ps->secret_z85)
			return FAIL(ps, "duplicate secret-key (first on line %u)", ps->secret_line);
		int rc = check_key(ps, "secret-key", value, key);
		explicit_bzero(key, sizeof key);
		if (rc < 0)
			return -1;
		ps->secret_z85 = value;
		ps->secret_line = ps->line;
		return 0;
	}
	return FAIL(ps, "unknown entry '%s' in section curve (expected public-key or secret-key)", name);
}

/* One line, NUL-terminated in place (no newline). */
static int parse_line(parse_state *ps, char *s)
{
	for (const char *p = s; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return FAIL(ps, "control character 0x%02x", (unsigned)(unsigned char)*p);
	size_t indent = 0;
	while (s[indent] == ' ')
		indent++;
	char *p = s + indent;
	bool blank = true;
	for (const char *q = p; *q; q++)
		if (*q != ' ' && *q != '\t') {
			blank = false;
			break;
		}
	if (blank || *p == '#')
		return 0;
	if (*p == '\t')
		return FAIL(ps, "tab in indentation (indent with 4 spaces)");
	if (indent % 4)
		return FAIL(ps, "indentation of %zu spaces (use 0 for a section, 4 for an entry)", indent);
	size_t level = indent / 4;
	if (level > 1)
		return FAIL(ps, "indented too deeply (sections have no subsections here)");

	char *name = p;
	while (name_char(*p))
		p++;
	if (p == name)
		return FAIL(ps, "expected a name, found '%c'", *p);
	char *name_end = p;
	while (*p == ' ' || *p == '\t')
		p++;
	char *value = NULL;
	if (*p == '=') {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"' || *p == '\'') {
			char q = *p++;
			value = p;
			char *close = strchr(p, q);
			if (!close)
				return FAIL(ps, "unterminated %s string", q == '"' ? "\"quoted\"" : "'quoted'");
			*close = '\0';
			p = close + 1;
		} else {
			value = p;
			while (*p && *p != ' ' && *p != '\t' && *p != '#')
				p++;
			if (p == value)
				return FAIL(ps, "expected a value after '='");
			char c = *p;
			*p = '\0';
			if (c == '#')
				p += 1 + strlen(p + 1); /* the rest is a comment */
			else if (c)
				p++;
		}
		while (*p == ' ' || *p == '\t')
			p++;
	}
	if (*p && *p != '#')
		return FAIL(ps, "unexpected '%c' after '%.*s'", *p, (int)(name_end - name), name);
	*name_end = '\0';

	if (level == 0) {
		if (value)
			return FAIL(ps, "'%s = ...' outside a section (entries are indented 4 spaces)", name);
		if (strcmp(name, "metadata") == 0) {
			if (ps->seen_metadata)
				return FAIL(ps, "second metadata section");
			ps->seen_metadata = true;
			ps->section = SEC_METADATA;
		} else if (strcmp(name, "curve") == 0) {
			if (ps->seen_curve)
				return FAIL(ps, "second curve section");
			ps->seen_curve = true;
			ps->section = SEC_CURVE;
		} else {
			return FAIL(ps, "unknown section '%s' (expected metadata or curve)", name);
		}
		return 0;
	}
	if (ps->section == SEC_NONE)
		return FAIL(ps, "entry '%s' before any section", name);
	if (!value)
		return FAIL(ps, "'%s' has no value (expected %s = \"...\")", name, name);
	return entry(ps, name, value);
}

static int load(const char *path, bool secret, cert *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	size_t len = 0;
	int code;
	char *buf = read_key_file(path, secret, &len, &code, err, errlen);
	if (!buf)
		return code;
	parse_state ps = { .path = path, .err = err, .errlen = errlen };
	int rc = 0;
	char *s = buf, *end = buf + len;
	while (rc == 0 && s < end) {
		ps.line++;
		char *nl = memchr(s, '\n', (size_t)(end - s));
		char *eol = nl ? nl : end;
		if (memchr(s, '\0', (size_t)(eol - s))) {
			rc = FAIL(&ps, "NUL byte");
			break;
		}
		*eol = '\0';
		if (eol > s && eol[-1] == '\r')
			eol[-1] = '\0';
		rc = parse_line(&ps, s);
		s = eol + 1;
	}
	ps.line = 0;
	if (rc == 0 && !ps.public_z85)
		rc = FAIL(&ps, "no public-key in a curve section (not a CURVE certificate?)");
	if (rc == 0 && secret && !ps.secret_z85)
		rc = FAIL(&ps, "no secret-key (is this the public .key file rather than .key_secret?)");
	if (rc == 0) {
		memcpy(out->public_z85, ps.public_z85, CERT_Z85_LEN + 1);
		zmq_z85_decode(out->public_key, out->public_z85);
		if (ps.name)
			strcpy(out->name, ps.name);
	}
	if (rc == 0 && ps.secret_z85) {
		char derived[CERT_Z85_LEN + 1];
		if (zmq_curve_public(derived, ps.secret_z85) != 0) {
			ps.line = ps.secret_line;
			rc = FAIL(&ps, "cannot derive the public key: %s", zmq_strerror(errno));
		} else if (strcmp(derived, out->public_z85) != 0) {
			ps.line = ps.secret_line;
			rc = FAIL(&ps, "secret-key does not belong to public-key (line %u)", ps.public_line);
		} else if (secret) {
			memcpy(out->secret_z85, ps.secret_z85, CERT_Z85_LEN + 1);
			zmq_z85_decode(out->secret_key, out->secret_z85);
			out->has_secret = true;
		}
	}
	explicit_bzero(buf, len);
	free(buf);
	if (rc != 0)
		cert_wipe(out);
	return rc;
}

int cert_load_public(const char *path, cert *out, char *err, size_t errlen)
{
	return load(path, false, out, err, errlen);
}

int cert_load_secret(const char *path, cert *out, char *err, size_t errlen)
{
	return load(path, true, out, err, errlen);
}

/* ---- writing --------------------------------------------------------------------------- */

static const char public_banner[] =
    "#   ****  Generated on %s by steerd  ****\n"
    "#   ZeroMQ CURVE Public Certificate\n"
    "#   Exchange securely, or use a secure mechanism to verify the contents\n"
    "#   of this file after exchange. Store public certificates in your home\n"
    "#   directory, in the .curve subdirectory.\n"
    "\n";

static const char secret_banner[] =
    "#   ****  Generated on %s by steerd  ****\n"
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
    "\n";

static int format_cert(char *buf, size_t len, const char *banner, const char *when, const cert *c,
                       bool secret)
{
	int n = snprintf(buf, len, banner, when);
	if (n < 0 || (size_t)n >= len)
		return -1;
	int m = snprintf(buf + n, len - (size_t)n,
	                 "metadata\n"
	                 "    name = \"%s\"\n"
	                 "    created-by = \"steerd\"\n"
	                 "curve\n"
	                 "    public-key = \"%s\"\n"
	                 "%s%s%s",
	                 c->name, c->public_z85, secret ? "    secret-key = \"" : "",
	                 secret ? c->secret_z85 : "", secret ? "\"\n" : "");
	if (m < 0 || (size_t)m >= len - (size_t)n)
		return -1;
	return n + m;
}

static int write_new(const char *path, mode_t mode, const char *text, size_t len, char *err,
                     size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			say(err, errlen, path, 0, "already exists; refusing to overwrite it");
		else
			say(err, errlen, path, 0, "cannot create: %s", strerror(errno));
		return -1;
	}
	size_t done = 0;
	int ok = fchmod(fd, mode) == 0; /* exactly mode, whatever the umask */
	while (ok && done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			ok = 0;
		else
			done += (size_t)w;
	}
	ok = ok && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (!ok) {
		say(err, errlen, path, 0, "cannot write: %s", strerror(saved));
		unlink(path);
		return -1;
	}
	return 0;
}

int cert_write_pair(const char *dir, const char *name, cert *out, char *err, size_t errlen)
{
	if (!cert_name_ok(name)) {
		snprintf(err, errlen,
		         "bad key name '%.80s': use 1 to %d letters, digits, '.', '_' or '-', not starting "
		         "with '.' or '-'",
		         name, CERT_NAME_MAX - 1);
		return -1;
	}
	char pub[4096], sec[4096];
	if (cert_paths(dir, name, pub, sec, sizeof pub) < 0) {
		snprintf(err, errlen, "%.200s: directory name too long", dir);
		return -1;
	}
	struct stat st;
	if (lstat(pub, &st) == 0 || lstat(sec, &st) == 0) {
		say(err, errlen, lstat(pub, &st) == 0 ? pub : sec, 0, "already exists; refusing to overwrite it");
		return -1;
	}
	cert c = { 0 };
	strcpy(c.name, name);
	if (zmq_curve_keypair(c.public_z85, c.secret_z85) != 0) {
		snprintf(err, errlen, "cannot make a CURVE key pair: %s (libzmq built without CURVE?)",
		         zmq_strerror(errno));
		return -1;
	}
	zmq_z85_decode(c.public_key, c.public_z85);
	zmq_z85_decode(c.secret_key, c.secret_z85);
	c.has_secret = true;

	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
	char text[2048];
	int rc = -1;
	int n = format_cert(text, sizeof text, secret_banner, when, &c, true);
	if (n < 0) {
		snprintf(err, errlen, "internal error formatting the key file");
	} else if (write_new(sec, 0600, text, (size_t)n, err, errlen) == 0) {
		explicit_bzero(text, sizeof text);
		n = format_cert(text, sizeof text, public_banner, when, &c, false);
		if (n >= 0 && write_new(pub, 0644, text, (size_t)n, err, errlen) == 0)
			rc = 0;
		else
			unlink(sec);
	}
	explicit_bzero(text, sizeof text);
	if (rc == 0 && out)
		*out = c;
	cert_wipe(&c);
	return rc;
}
