/* SPDX-License-Identifier: MIT */
/*
 * test_security.c — CURVE key files (cert.c), the ZAP handler and role checks
 * (zap.c) and `steerd keygen` (keygen.c), with real libzmq CURVE sockets over
 * tcp://127.0.0.1 in this process: no mocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cert.h"
#include "keygen.h"
#include "zap.h"

#define PYTHON "/usr/bin/python3"
#define NO_MESSAGE_MS 500 /* how long a refused client is watched */

/* A key file pyzmq 24 wrote (zmq.auth.create_certificates): '#' inside the key too. */
static const char py_public[] =
    "#   ****  Generated on 2026-11-25 17:22:36.691705 by pyzmq  ****\n"
    "#   ZeroMQ CURVE Public Certificate\n"
    "#   Exchange securely, or use a secure mechanism to verify the contents\n"
    "#   of this file after exchange. Store public certificates in your home\n"
    "#   directory, in the .curve subdirectory.\n"
    "\n"
    "metadata\n"
    "curve\n"
    "    public-key = \"nCN68+Yi9e)VuwwKgml{/HJT6Qp@#/n32*=oPLe&\"\n";
static const char py_secret[] =
    "#   ****  Generated on 2026-11-25 17:22:36.691705 by pyzmq  ****\n"
    "#   ZeroMQ CURVE **Secret** Certificate\n"
    "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n"
    "\n"
    "metadata\n"
    "curve\n"
    "    public-key = \"nCN68+Yi9e)VuwwKgml{/HJT6Qp@#/n32*=oPLe&\"\n"
    "    secret-key = \"d-EAJewHsFDMfKPJGy4S:Ar&6Jb2?oE%VI?(Cqwl\"\n";
#define PY_PUB "nCN68+Yi9e)VuwwKgml{/HJT6Qp@#/n32*=oPLe&"
#define PY_SEC "d-EAJewHsFDMfKPJGy4S:Ar&6Jb2?oE%VI?(Cqwl"

/* ---- helpers ---------------------------------------------------------------------------- */

static char *make_tmpdir(void)
{
	char *d = strdup("/tmp/steerd-sec-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void remove_tmpdir(char *d)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(d);
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static mode_t file_mode(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* A client or server key pair in memory. */
typedef struct keys {
	char pub[41], sec[41];
} keys;

static keys new_keys(void)
{
	keys k;
	assert_int_equal(zmq_curve_keypair(k.pub, k.sec), 0);
	return k;
}

static zap_key table_entry(const keys *k, const char *name, zap_role role)
{
	zap_key e = { .role = role };
	assert_non_null(zmq_z85_decode(e.key, k->pub));
	snprintf(e.name, sizeof e.name, "%s", name);
	return e;
}

/* One daemon-like context: ZAP handler, server key, operator alice, observer bob. */
typedef struct fixture {
	void *ctx;
	zap *z;
	keys server, alice, bob, eve;
	cert server_cert;
	void *socks[16]; /* closed by fixture_down, so a failed test still ends */
	size_t n_socks;
} fixture;

static void **track(fixture *f, void *sock)
{
	assert_non_null(sock);
	assert_true(f->n_socks < sizeof f->socks / sizeof f->socks[0]);
	f->socks[f->n_socks] = sock;
	return &f->socks[f->n_socks++];
}

static int fixture_up(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->ctx = zmq_ctx_new();
	char err[256];
	f->z = zap_start(f->ctx, err, sizeof err);
	if (!f->z)
		fail_msg("zap_start: %s", err);
	f->server = new_keys();
	f->alice = new_keys();
	f->bob = new_keys();
	f->eve = new_keys();
	f->server_cert.has_secret = true;
	zmq_z85_decode(f->server_cert.secret_key, f->server.sec);
	zmq_z85_decode(f->server_cert.public_key, f->server.pub);
	zap_key t[] = { table_entry(&f->alice, "alice", ZAP_ROLE_OPERATOR),
		        table_entry(&f->bob, "bob", ZAP_ROLE_OBSERVER) };
	assert_int_equal(zap_set_keys(f->z, t, 2, err, sizeof err), 0);
	*state = f;
	return 0;
}

static int fixture_down(void **state)
{
	fixture *f = *state;
	for (size_t i = 0; i < f->n_socks; i++)
		zmq_close(f->socks[i]);
	zap_stop(&f->z);
	assert_null(f->z);
	zmq_ctx_term(f->ctx);
	free(f);
	return 0;
}

static void *curve_server(fixture *f, int type, char *endpoint, size_t len)
{
	void *s = zmq_socket(f->ctx, type);
	int zero = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	char err[256];
	assert_int_equal(zap_curve_server(s, &f->server_cert, err, sizeof err), 0);
	assert_int_equal(zmq_bind(s, "tcp://127.0.0.1:*"), 0);
	assert_int_equal(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &len), 0);
	track(f, s);
	return s;
}

/* A client socket; CURVE with k unless k is NULL (plaintext, the NULL mechanism). */
static void *client(fixture *f, int type, const char *endpoint, const keys *server, const keys *k)
{
	void *s = *track(f, zmq_socket(f->ctx, type));
	int zero = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	if (k) {
		assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server->pub, 40), 0);
		assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, k->pub, 40), 0);
		assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k->sec, 40), 0);
	}
	assert_int_equal(zmq_connect(s, endpoint), 0);
	return s;
}

static void send_request(void *dealer, const char *text)
{
	assert_int_equal(zmq_send(dealer, "", 0, ZMQ_SNDMORE), 0);
	assert_int_equal(zmq_send(dealer, text, strlen(text), 0), (int)strlen(text));
}

/*
 * Receive [routing id][""][text] on the ROUTER within ms. *frame keeps the
 * empty delimiter: a frame the peer sent, so it carries the ZAP metadata (the
 * routing id frame the ROUTER makes has none).
 */
static bool router_recv(void *router, long ms, zmq_msg_t *frame, char *text, size_t len)
{
	zmq_pollitem_t item = { .socket = router, .events = ZMQ_POLLIN };
	if (zmq_poll(&item, 1, ms) <= 0)
		return false;
	zmq_msg_t id;
	zmq_msg_init(&id);
	assert_true(zmq_msg_recv(&id, router, 0) >= 0);
	assert_true(zmq_msg_more(&id));
	assert_null(zmq_msg_gets(&id, "User-Id"));
	zmq_msg_close(&id);
	zmq_msg_init(frame);
	assert_int_equal(zmq_msg_recv(frame, router, 0), 0);
	zmq_msg_t m;
	zmq_msg_init(&m);
	int n = zmq_msg_recv(&m, router, 0);
	assert_true(n >= 0 && (size_t)n < len);
	memcpy(text, zmq_msg_data(&m), (size_t)n);
	text[n] = '\0';
	/* The payload frames carry the same metadata. */
	const char *a = zmq_msg_gets(&m, "Key"), *b = zmq_msg_gets(frame, "Key");
	assert_true((a == NULL) == (b == NULL));
	if (a)
		assert_string_equal(a, b);
	zmq_msg_close(&m);
	return true;
}

/* ---- key files --------------------------------------------------------------------------- */

static void cert_round_trip(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), err[512], pub[512], sec[512];
	cert made, p, s;
	assert_int_equal(cert_write_pair(dir, "alice", &made, err, sizeof err), 0);
	assert_true(made.has_secret);
	assert_int_equal(cert_paths(dir, "alice", pub, sec, sizeof pub), 0);
	assert_int_equal(file_mode(pub), 0644);
	assert_int_equal(file_mode(sec), 0600);

	assert_int_equal(cert_load_public(pub, &p, err, sizeof err), 0);
	assert_string_equal(p.name, "alice");
	assert_string_equal(p.public_z85, made.public_z85);
	assert_memory_equal(p.public_key, made.public_key, 32);
	assert_false(p.has_secret);

	assert_int_equal(cert_load_secret(sec, &s, err, sizeof err), 0);
	assert_true(s.has_secret);
	assert_string_equal(s.public_z85, made.public_z85);
	assert_string_equal(s.secret_z85, made.secret_z85);
	assert_memory_equal(s.secret_key, made.secret_key, 32);
	/* The public key of a secret file is fine as a public key. */
	assert_int_equal(cert_load_public(sec, &p, err, sizeof err), 0);
	assert_false(p.has_secret);
	assert_string_equal(p.secret_z85, "");

	/* Never overwrites; nothing is touched. */
	assert_int_equal(cert_write_pair(dir, "alice", NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(cert_load_secret(sec, &s, err, sizeof err), 0);
	assert_string_equal(s.secret_z85, made.secret_z85);
	/* Only the public file there: still refused, and no secret file is left behind. */
	char pub2[512], sec2[512];
	cert_paths(dir, "bob", pub2, sec2, sizeof pub2);
	write_file(pub2, py_public, sizeof py_public - 1, 0644);
	assert_int_equal(cert_write_pair(dir, "bob", NULL, err, sizeof err), -1);
	assert_int_equal(access(sec2, F_OK), -1);

	assert_int_equal(cert_write_pair(dir, "../x", NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "bad key name"));
	assert_int_equal(cert_write_pair(dir, "", NULL, err, sizeof err), -1);
	assert_int_equal(cert_write_pair(dir, ".hidden", NULL, err, sizeof err), -1);
	assert_int_equal(cert_write_pair("/nonexistent/dir", "x", NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot create"));
	cert_wipe(&made);
	cert_wipe(&s);
	assert_false(s.has_secret);
	assert_string_equal(s.secret_z85, "");
	remove_tmpdir(dir);
}

static void pyzmq_sample_loads(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), err[512], pub[512], sec[512];
	cert_paths(dir, "x", pub, sec, sizeof pub);
	write_file(pub, py_public, sizeof py_public - 1, 0644);
	write_file(sec, py_secret, sizeof py_secret - 1, 0600);
	cert c;
	assert_int_equal(cert_load_public(pub, &c, err, sizeof err), 0);
	assert_string_equal(c.public_z85, PY_PUB);
	assert_string_equal(c.name, "");
	assert_int_equal(cert_load_secret(sec, &c, err, sizeof err), 0);
	assert_string_equal(c.public_z85, PY_PUB);
	assert_string_equal(c.secret_z85, PY_SEC);
	remove_tmpdir(dir);
}

/* Both ways with the real pyzmq: its files load here, ours load there. */
static void pyzmq_interoperates(void **state)
{
	(void)state;
	if (access(PYTHON, X_OK) != 0 || system(PYTHON " -c 'import zmq.auth' 2>/dev/null") != 0)
		skip();
	char *dir = make_tmpdir(), err[512], cmd[1024], pub[512], sec[512];
	snprintf(cmd, sizeof cmd,
	         PYTHON " -c 'import zmq.auth; zmq.auth.create_certificates(\"%s\", \"py\", "
	                "metadata={\"name\": \"snake\"})'",
	         dir);
	assert_int_equal(system(cmd), 0);
	cert_paths(dir, "py", pub, sec, sizeof pub);
	cert c;
	assert_int_equal(cert_load_public(pub, &c, err, sizeof err), 0);
	/* pyzmq writes secret files with the umask's mode: refused until chmod 600. */
	chmod(sec, 0644);
	assert_int_equal(cert_load_secret(sec, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "chmod 600"));
	chmod(sec, 0600);
	assert_int_equal(cert_load_secret(sec, &c, err, sizeof err), 0);
	assert_string_equal(c.name, "snake"); /* unquoted metadata value */

	cert ours;
	assert_int_equal(cert_write_pair(dir, "ours", &ours, err, sizeof err), 0);
	char out[512];
	snprintf(out, sizeof out, "%s/out.txt", dir);
	snprintf(cmd, sizeof cmd,
	         PYTHON " -c 'import zmq.auth\n"
	                "p, s = zmq.auth.load_certificate(\"%s/ours.key_secret\")\n"
	                "q, t = zmq.auth.load_certificate(\"%s/ours.key\")\n"
	                "print(p.decode(), s.decode(), q.decode(), t)' > %s",
	         dir, dir, out);
	assert_int_equal(system(cmd), 0);
	FILE *fp = fopen(out, "r");
	assert_non_null(fp);
	char p[64], s[64], q[64], t[64];
	assert_int_equal(fscanf(fp, "%63s %63s %63s %63s", p, s, q, t), 4);
	fclose(fp);
	assert_string_equal(p, ours.public_z85);
	assert_string_equal(s, ours.secret_z85);
	assert_string_equal(q, ours.public_z85);
	assert_string_equal(t, "None");
	cert_wipe(&ours);
	remove_tmpdir(dir);
}

static void loose_secret_refused(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), err[512], pub[512], sec[512];
	assert_int_equal(cert_write_pair(dir, "k", NULL, err, sizeof err), 0);
	cert_paths(dir, "k", pub, sec, sizeof pub);
	cert c;
	static const mode_t loose[] = { 0644, 0640, 0604, 0620, 0602, 0660 };
	for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
		chmod(sec, loose[i]);
		assert_int_equal(cert_load_secret(sec, &c, err, sizeof err), -1);
		assert_non_null(strstr(err, "readable by others"));
		assert_non_null(strstr(err, "chmod 600 it"));
		assert_false(c.has_secret);
	}
	chmod(sec, 0644);
	assert_int_equal(cert_load_secret(sec, &c, err, sizeof err), -1);
	char want[700];
	snprintf(want, sizeof want, "%s: secret key file is readable by others (mode 0644); chmod 600 it", sec);
	assert_string_equal(err, want);
	chmod(sec, 0400);
	assert_int_equal(cert_load_secret(sec, &c, err, sizeof err), 0);
	/* Public files may be world-readable. */
	assert_int_equal(cert_load_public(pub, &c, err, sizeof err), 0);
	/* Not a regular file. */
	assert_int_equal(cert_load_public(dir, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(cert_load_public("/nonexistent.key", &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot open"));
	remove_tmpdir(dir);
}

typedef struct bad_case {
	const char *text;
	size_t len; /* 0: strlen */
	const char *want; /* after "path" */
} bad_case;

#define K "\"" PY_PUB "\""

static void malformed_files_refused(void **state)
{
	(void)state;
	static const bad_case cases[] = {
		{ "curve\n    public-key = \"short\"\n", 0, ":2: public-key is not a 40-character Z85 key" },
		{ "curve\n    public-key = \"nCN68+Yi9e)VuwwKgml{/HJT6Qp@#/n32*=oPLe~\"\n", 0,
		  ":2: public-key is not a 40-character Z85 key" },
		{ "metadata\ncurve\n\tpublic-key = " K "\n", 0, ":3: tab in indentation" },
		{ "curve\n  public-key = " K "\n", 0, ":2: indentation of 2 spaces" },
		{ "curve\n        public-key = " K "\n", 0, ":2: indented too deeply" },
		{ "metadata\ncurve\n    public-key = " K "\n    public-key = " K "\n", 0,
		  ":4: duplicate public-key (first on line 3)" },
		{ "curve\n    public-key = \"nCN68\n", 0, ":2: unterminated" },
		{ "curve\n    colour = \"red\"\n", 0, ":2: unknown entry 'colour' in section curve" },
		{ "# hi\nbogus\n", 0, ":2: unknown section 'bogus'" },
		{ "    public-key = " K "\n", 0, ":1: entry 'public-key' before any section" },
		{ "public-key = " K "\n", 0, ":1: 'public-key = ...' outside a section" },
		{ "curve\n    public-key = " K " junk\n", 0, ":2: unexpected 'j' after 'public-key'" },
		{ "curve\n    public-key\n", 0, ":2: 'public-key' has no value" },
		{ "curve\n    public-key =\n", 0, ":2: expected a value after '='" },
		{ "curve\n    = " K "\n", 0, ":2: expected a name" },
		{ "curve\ncurve\n", 0, ":2: second curve section" },
		{ "metadata\n    name = \"a\"\n    name = \"b\"\n", 0, ":3: duplicate metadata entry 'name'" },
		{ "metadata\n    name = \"0123456789012345678901234567890123456789012345678901234567890123\"\n",
		  0, ":2: metadata name is longer than 63 bytes" },
		{ "curve\x01\n", 0, ":1: control character 0x01" },
		{ "curve\n    public-key = " K "\n\0\n", sizeof("curve\n    public-key = " K "\n\0\n") - 1,
		  ":3: NUL byte" },
		{ "# only a comment\nmetadata\n", 0, ": no public-key in a curve section" },
		{ "", 0, ": no public-key in a curve section" },
	};
	char *dir = make_tmpdir(), path[512], err[512];
	snprintf(path, sizeof path, "%s/bad.key", dir);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		write_file(path, cases[i].text, len, 0600);
		cert c;
		int rc = cert_load_public(path, &c, err, sizeof err);
		if (rc != -1 || strncmp(err, path, strlen(path)) != 0 ||
		    strncmp(err + strlen(path), cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("case %zu: rc %d, message \"%s\", wanted \"%s%s...\"", i, rc, err, path,
			         cases[i].want);
	}

	/* Too large, even when every line is a comment. */
	size_t big = CERT_MAX_BYTES + 100;
	char *text = malloc(big);
	memset(text, '#', big);
	for (size_t i = 79; i < big; i += 80)
		text[i] = '\n';
	write_file(path, text, big, 0600);
	free(text);
	cert c;
	assert_int_equal(cert_load_public(path, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "too large"));

	/* A secret that is not the public key's. */
	char other_pub[41], other_sec[41], bad[512];
	zmq_curve_keypair(other_pub, other_sec);
	snprintf(bad, sizeof bad, "curve\n    public-key = " K "\n    secret-key = \"%s\"\n", other_sec);
	write_file(path, bad, strlen(bad), 0600);
	assert_int_equal(cert_load_secret(path, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "bad.key:3: secret-key does not belong to public-key (line 2)"));
	assert_int_equal(cert_load_public(path, &c, err, sizeof err), -1); /* even when only the public is wanted */
	/* A public file given as the secret one. */
	write_file(path, py_public, sizeof py_public - 1, 0600);
	assert_int_equal(cert_load_secret(path, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "no secret-key"));

	/* What ZPL allows is accepted: quotes of either kind, none, comments, CRLF. */
	static const char *const good[] = {
		"metadata\n    name = 'x' # a comment\ncurve\n    public-key = " K "   \n",
		"metadata # comment\n    name = plain\ncurve\r\n    public-key = " K "\r\n",
		"curve\n    # indented comment\n\n    public-key=" K "#trailing\n",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		write_file(path, good[i], strlen(good[i]), 0644);
		if (cert_load_public(path, &c, err, sizeof err) != 0)
			fail_msg("good case %zu refused: %s", i, err);
		assert_string_equal(c.public_z85, PY_PUB);
	}
	remove_tmpdir(dir);
}

/* ---- the ZAP handler ----------------------------------------------------------------------- */

static void known_keys_admitted_with_role(void **state)
{
	fixture *f = *state;
	char ep[256], text[64], name[64], msg[256];
	void *router = curve_server(f, ZMQ_ROUTER, ep, sizeof ep);
	void *a = client(f, ZMQ_DEALER, ep, &f->server, &f->alice);
	void *b = client(f, ZMQ_DEALER, ep, &f->server, &f->bob);
	send_request(a, "from-alice");
	send_request(b, "from-bob");
	for (int i = 0; i < 2; i++) {
		zmq_msg_t id;
		assert_true(router_recv(router, 3000, &id, text, sizeof text));
		bool is_alice = strcmp(text, "from-alice") == 0;
		const char *role = zmq_msg_gets(&id, "Role"), *uid = zmq_msg_gets(&id, "User-Id");
		assert_non_null(role);
		assert_non_null(uid);
		assert_string_equal(role, is_alice ? "operator" : "observer");
		assert_string_equal(uid, is_alice ? "alice" : "bob");
		assert_string_equal(zmq_msg_gets(&id, "Key"), is_alice ? f->alice.pub : f->bob.pub);

		zap_role r;
		assert_int_equal(zap_role_of(f->z, &id, name, sizeof name, &r), 0);
		assert_int_equal(r, is_alice ? ZAP_ROLE_OPERATOR : ZAP_ROLE_OBSERVER);
		assert_string_equal(name, is_alice ? "alice" : "bob");
		/* Reads for both; writes for the operator only. */
		zap_peer peer;
		assert_int_equal(zap_peer_of(&id, &peer), 0);
		assert_true(peer.authenticated);
		assert_string_equal(peer.user_id, is_alice ? "alice" : "bob");
		assert_int_equal(zap_authorize(f->z, &peer, "get", false, name, sizeof name, msg, sizeof msg), 0);
		int rc = zap_authorize(f->z, &peer, "set", true, name, sizeof name, msg, sizeof msg);
		if (is_alice) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(msg, "set changes the run and needs the operator role; key 'bob' "
			                         "is an observer");
			assert_string_equal(name, "bob");
		}
		zmq_msg_close(&id);
	}
}

static void unknown_key_refused(void **state)
{
	fixture *f = *state;
	char ep[256], text[64];
	void *router = curve_server(f, ZMQ_ROUTER, ep, sizeof ep);
	void *e = client(f, ZMQ_DEALER, ep, &f->server, &f->eve);
	send_request(e, "from-eve");
	zmq_msg_t id;
	assert_false(router_recv(router, NO_MESSAGE_MS, &id, text, sizeof text));
	/* The server works: a known client gets through meanwhile (and eve still does not). */
	void *a = client(f, ZMQ_DEALER, ep, &f->server, &f->alice);
	send_request(a, "from-alice");
	assert_true(router_recv(router, 3000, &id, text, sizeof text));
	assert_string_equal(text, "from-alice");
	zmq_msg_close(&id);
	assert_false(router_recv(router, 100, &id, text, sizeof text));
}

static void plaintext_client_refused(void **state)
{
	fixture *f = *state;
	char ep[256], text[64];
	zmq_msg_t id;
	/* A NULL-mechanism client against a CURVE server. */
	void *router = curve_server(f, ZMQ_ROUTER, ep, sizeof ep);
	void *p = client(f, ZMQ_DEALER, ep, NULL, NULL);
	send_request(p, "plain");
	assert_false(router_recv(router, NO_MESSAGE_MS, &id, text, sizeof text));

	/* A server left plaintext by mistake but in steerd's ZAP domain: the handler refuses NULL. */
	void *plain_server = *track(f, zmq_socket(f->ctx, ZMQ_ROUTER));
	int zero = 0;
	zmq_setsockopt(plain_server, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(plain_server, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN));
	assert_int_equal(zmq_bind(plain_server, "tcp://127.0.0.1:*"), 0);
	size_t len = sizeof ep;
	zmq_getsockopt(plain_server, ZMQ_LAST_ENDPOINT, ep, &len);
	p = client(f, ZMQ_DEALER, ep, NULL, NULL);
	send_request(p, "plain");
	assert_false(router_recv(plain_server, NO_MESSAGE_MS, &id, text, sizeof text));
}

static void self_test_passes_with_handler(void **state)
{
	fixture *f = *state;
	char err[512] = "";
	if (zap_self_test(f->ctx, f->z, err, sizeof err) != 0)
		fail_msg("self-test failed with the handler running: %s", err);
	/* Without the known-key half too. */
	assert_int_equal(zap_self_test(f->ctx, NULL, err, sizeof err), 0);
	/* The self-test's key was only good while it ran: the table is as it was. */
	assert_int_equal(zap_key_count(f->z), 2);
}

static void self_test_fails_without_handler(void **state)
{
	(void)state;
	/* Debian's libzmq admits everyone when no handler answers: the check must notice. */
	void *ctx = zmq_ctx_new();
	char err[512] = "";
	assert_int_equal(zap_self_test(ctx, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown CURVE key was admitted"));
	/* And after the handler starts in that context, it passes. */
	zap *z = zap_start(ctx, err, sizeof err);
	assert_non_null(z);
	assert_int_equal(zap_self_test(ctx, z, err, sizeof err), 0);
	/* A second handler in the same context is refused. */
	zap *z2 = zap_start(ctx, err, sizeof err);
	assert_null(z2);
	assert_non_null(strstr(err, "already bound"));
	zap_stop(&z);
	zmq_ctx_term(ctx);
}

static void malformed_zap_requests_get_400(void **state)
{
	fixture *f = *state;
	void *req = *track(f, zmq_socket(f->ctx, ZMQ_REQ));
	int zero = 0, timeout = 3000;
	zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(req, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	assert_int_equal(zmq_connect(req, ZAP_ENDPOINT), 0);
	uint8_t key[32];
	zmq_z85_decode(key, f->alice.pub);
	struct {
		const char *frames[7];
		size_t n;
		const char *code;
	} cases[] = {
		{ { "1.0" }, 1, "400" },
		{ { "1.0", "id1", "", "127.0.0.1", "", "CURVE" }, 6, "400" },          /* no credentials */
		{ { "2.0", "id2", "", "127.0.0.1", "", "CURVE", NULL }, 7, "400" },    /* version */
		{ { "1.0", "id3", "", "127.0.0.1", "", "PLAIN", "x" }, 7, "400" },     /* mechanism */
		{ { "1.0", "id4", "", "127.0.0.1", "", "CURVE", "short" }, 7, "400" }, /* key size */
		{ { "1.0", "id5", "", "127.0.0.1", "", "CURVE", NULL }, 7, "200" },    /* alice */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (size_t j = 0; j < cases[i].n; j++) {
			int more = j + 1 < cases[i].n ? ZMQ_SNDMORE : 0;
			if (cases[i].frames[j])
				zmq_send(req, cases[i].frames[j], strlen(cases[i].frames[j]), more);
			else
				zmq_send(req, key, sizeof key, more);
		}
		char frames[6][128];
		int n = 0, more = 1;
		while (more && n < 6) {
			int len = zmq_recv(req, frames[n], sizeof frames[n] - 1, 0);
			assert_true(len >= 0);
			frames[n++][len < 127 ? len : 127] = '\0';
			size_t ml = sizeof more;
			zmq_getsockopt(req, ZMQ_RCVMORE, &more, &ml);
		}
		assert_int_equal(n, 6);
		assert_string_equal(frames[0], "1.0");
		if (cases[i].n > 1)
			assert_string_equal(frames[1], cases[i].frames[1]);
		if (strcmp(frames[2], cases[i].code) != 0)
			fail_msg("case %zu: status %s (%s), wanted %s", i, frames[2], frames[3], cases[i].code);
		assert_string_equal(frames[4], strcmp(cases[i].code, "200") == 0 ? "alice" : "");
	}
}

/* ---- reload --------------------------------------------------------------------------------- */

/* #12 item 12: a key file another user could change (or swap, in its directory) is refused. */
static void key_files_others_could_change_are_refused(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), err[1024], pub[512], sec[512];
	assert_int_equal(cert_write_pair(dir, "k", NULL, err, sizeof err), 0);
	cert_paths(dir, "k", pub, sec, sizeof pub);
	cert c;
	assert_int_equal(cert_load_public(pub, &c, err, sizeof err), 0);
	/* Writable by others (group write alone: test_config_cli.py TestConfigPermissions). */
	static const mode_t loose[] = { 0666, 0646, 0622, 0602 };
	for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
		chmod(pub, loose[i]);
		assert_int_equal(cert_load_public(pub, &c, err, sizeof err), CERT_E_UNSAFE);
		assert_non_null(strstr(err, pub));
		assert_non_null(strstr(err, "writable by"));
	}
	chmod(pub, 0644);
	chmod(dir, 0777);
	assert_int_equal(cert_load_public(pub, &c, err, sizeof err), CERT_E_UNSAFE);
	assert_non_null(strstr(err, "not sticky"));
	assert_int_equal(cert_load_secret(sec, &c, err, sizeof err), CERT_E_UNSAFE);
	chmod(dir, 01777); /* like /tmp: only a file's owner may rename or remove it */
	assert_int_equal(cert_load_public(pub, &c, err, sizeof err), 0);
	assert_int_equal(cert_load_secret(sec, &c, err, sizeof err), 0);
	cert_wipe(&c);
	chmod(dir, 0700);
	char missing[600];
	snprintf(missing, sizeof missing, "%s/nobody.key", dir);
	assert_int_equal(cert_load_public(missing, &c, err, sizeof err), CERT_E_INVALID);
	remove_tmpdir(dir);
}

/* #12 item 13: while the key list cannot be read, no key may write; reads go on. */
static void unavailable_list_refuses_every_write(void **state)
{
	fixture *f = *state;
	char ep[256], text[64], name[64], msg[256], err[256];
	void *router = curve_server(f, ZMQ_ROUTER, ep, sizeof ep);
	void *a = client(f, ZMQ_DEALER, ep, &f->server, &f->alice);
	send_request(a, "hello");
	zmq_msg_t id;
	assert_true(router_recv(router, 3000, &id, text, sizeof text));
	zap_peer peer;
	assert_int_equal(zap_peer_of(&id, &peer), 0);
	zmq_msg_close(&id);
	assert_true(zap_name_admitted(f->z, "alice"));

	zap_set_unavailable(f->z);
	assert_int_equal(zap_authorize(f->z, &peer, "set", true, name, sizeof name, msg, sizeof msg),
	                 ZAP_UNAVAILABLE);
	assert_non_null(strstr(msg, "cannot be read"));
	assert_int_equal(zap_authorize(f->z, &peer, "status", false, name, sizeof name, msg, sizeof msg), 0);
	assert_false(zap_name_admitted(f->z, "alice"));
	/* A new connection, even with a listed key, is refused meanwhile. */
	void *a2 = client(f, ZMQ_DEALER, ep, &f->server, &f->alice);
	send_request(a2, "new");
	assert_false(router_recv(router, 500, &id, text, sizeof text));

	/* The list read again: writes from the keys it lists are accepted. */
	zap_key t[] = { table_entry(&f->alice, "alice", ZAP_ROLE_OPERATOR) };
	assert_int_equal(zap_set_keys(f->z, t, 1, err, sizeof err), 1); /* bob is gone */
	assert_int_equal(zap_authorize(f->z, &peer, "set", true, name, sizeof name, msg, sizeof msg), 0);
	assert_true(zap_name_admitted(f->z, "alice"));
	assert_false(zap_name_admitted(f->z, "bob"));
}

static void reload_revokes_and_demotes(void **state)
{
	fixture *f = *state;
	char ep[256], text[64], name[64], msg[256], err[256];
	void *router = curve_server(f, ZMQ_ROUTER, ep, sizeof ep);
	void *a = client(f, ZMQ_DEALER, ep, &f->server, &f->alice);
	send_request(a, "before");
	zmq_msg_t id;
	assert_true(router_recv(router, 3000, &id, text, sizeof text));
	zmq_msg_close(&id);

	/* alice becomes an observer: her open connection loses writes at once. */
	zap_key demoted[] = { table_entry(&f->alice, "alice", ZAP_ROLE_OBSERVER),
		              table_entry(&f->bob, "bob", ZAP_ROLE_OBSERVER) };
	assert_int_equal(zap_set_keys(f->z, demoted, 2, err, sizeof err), 0); /* nobody gone */
	send_request(a, "demoted");
	assert_true(router_recv(router, 3000, &id, text, sizeof text));
	zap_peer peer; /* as wire_recv would keep it for the connection's request */
	assert_int_equal(zap_peer_of(&id, &peer), 0);
	zmq_msg_close(&id);
	assert_int_equal(zap_authorize(f->z, &peer, "set", true, name, sizeof name, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "key 'alice' is an observer"));
	assert_int_equal(zap_authorize(f->z, &peer, "status", false, name, sizeof name, msg, sizeof msg), 0);

	/* alice removed: her open connection is refused everything... */
	zap_key only_bob[] = { table_entry(&f->bob, "bob", ZAP_ROLE_OBSERVER) };
	assert_int_equal(zap_set_keys(f->z, only_bob, 1, err, sizeof err), 1);
	send_request(a, "revoked");
	assert_true(router_recv(router, 3000, &id, text, sizeof text));
	zap_role r;
	assert_int_equal(zap_role_of(f->z, &id, name, sizeof name, &r), ZAP_REVOKED);
	assert_string_equal(name, "alice");
	zmq_msg_close(&id);
	assert_int_equal(zap_authorize(f->z, &peer, "status", false, name, sizeof name, msg, sizeof msg), -1);
	assert_string_equal(msg, "status refused: key 'alice' has been revoked");
	assert_string_equal(name, "alice");
	/* Not authenticated at all (security off, or a socket without CURVE): refused too. */
	zap_peer none = { 0 };
	assert_int_equal(zap_authorize(f->z, &none, "status", false, name, sizeof name, msg, sizeof msg), -1);
	assert_non_null(strstr(msg, "no authenticated CURVE key"));
	assert_string_equal(name, "?");

	/* ...and a new connection with her key never gets in; bob's does. */
	void *a2 = client(f, ZMQ_DEALER, ep, &f->server, &f->alice);
	send_request(a2, "new-alice");
	assert_false(router_recv(router, NO_MESSAGE_MS, &id, text, sizeof text));
	void *b = client(f, ZMQ_DEALER, ep, &f->server, &f->bob);
	send_request(b, "bob");
	assert_true(router_recv(router, 3000, &id, text, sizeof text));
	assert_string_equal(text, "bob");
	zmq_msg_close(&id);

	/* Tables are checked whole: nothing changes on a bad one. */
	zap_key twice[] = { only_bob[0], only_bob[0] };
	assert_int_equal(zap_set_keys(f->z, twice, 2, err, sizeof err), -1);
	assert_non_null(strstr(err, "same key"));
	zap_key no_role[] = { table_entry(&f->alice, "alice", ZAP_ROLE_NONE) };
	assert_int_equal(zap_set_keys(f->z, no_role, 1, err, sizeof err), -1);
	assert_int_equal(zap_key_count(f->z), 1);
	/* Empty table: everyone out. */
	assert_int_equal(zap_set_keys(f->z, NULL, 0, err, sizeof err), 1);
	assert_int_equal(zap_key_count(f->z), 0);

}

static int xpub_setup(void *sock, void *arg)
{
	fixture *f = arg;
	int zero = 0;
	char err[256];
	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
	return zap_curve_server(sock, &f->server_cert, err, sizeof err);
}

/* Publish "tag" every 10 ms until sub receives a message starting with tag, at most ms. */
static bool receives(void *pub, void *sub, const char *tag, long ms)
{
	for (long t = 0; t < ms; t += 10) {
		zmq_send(pub, tag, strlen(tag), ZMQ_DONTWAIT);
		zmq_pollitem_t item = { .socket = sub, .events = ZMQ_POLLIN };
		while (zmq_poll(&item, 1, t == 0 ? 0 : 10) > 0) {
			char buf[64];
			int n = zmq_recv(sub, buf, sizeof buf - 1, 0);
			buf[n < 0 ? 0 : n] = '\0';
			if (strcmp(buf, tag) == 0)
				return true;
		}
	}
	return false;
}

static void rebind_drops_revoked_subscribers(void **state)
{
	fixture *f = *state;
	char ep[256], err[256];
	curve_server(f, ZMQ_XPUB, ep, sizeof ep);
	void **xpub = &f->socks[f->n_socks - 1]; /* zap_rebind replaces it */
	void *sa = client(f, ZMQ_SUB, ep, &f->server, &f->alice);
	void *sb = client(f, ZMQ_SUB, ep, &f->server, &f->bob);
	zmq_setsockopt(sa, ZMQ_SUBSCRIBE, "", 0);
	zmq_setsockopt(sb, ZMQ_SUBSCRIBE, "", 0);
	assert_true(receives(*xpub, sa, "one", 3000));
	assert_true(receives(*xpub, sb, "one", 3000));

	zap_key only_bob[] = { table_entry(&f->bob, "bob", ZAP_ROLE_OBSERVER) };
	assert_int_equal(zap_set_keys(f->z, only_bob, 1, err, sizeof err), 1);
	/* Without a rebind alice would keep receiving on her open connection. */
	assert_true(receives(*xpub, sa, "still", 3000));
	assert_int_equal(zap_rebind(f->ctx, xpub, xpub_setup, f, err, sizeof err), 0);
	char again[256];
	size_t len = sizeof again;
	zmq_getsockopt(*xpub, ZMQ_LAST_ENDPOINT, again, &len);
	assert_string_equal(again, ep);
	/* bob reconnects by himself and is re-admitted; alice never sees "two". */
	assert_true(receives(*xpub, sb, "two", 5000));
	assert_false(receives(*xpub, sa, "two", NO_MESSAGE_MS));

}

static void key_files_load_into_a_table(void **state)
{
	fixture *f = *state;
	char *dir = make_tmpdir(), err[512], p1[512], s1[512], p2[512], s2[512], p3[512];
	cert alice, bob;
	assert_int_equal(cert_write_pair(dir, "alice", &alice, err, sizeof err), 0);
	assert_int_equal(cert_write_pair(dir, "bob", &bob, err, sizeof err), 0);
	cert_paths(dir, "alice", p1, s1, sizeof p1);
	cert_paths(dir, "bob", p2, s2, sizeof p2);
	/* A file without a metadata name is named after the file. */
	snprintf(p3, sizeof p3, "%s/python-client.key", dir);
	write_file(p3, py_public, sizeof py_public - 1, 0644);

	zap_key_file files[] = { { p1, NULL, ZAP_ROLE_OPERATOR },
		                 { p2, "bob-laptop", ZAP_ROLE_OBSERVER },
		                 { p3, NULL, ZAP_ROLE_OBSERVER } };
	zap_key *keys;
	size_t n;
	assert_int_equal(zap_keys_load(files, 3, &keys, &n, err, sizeof err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(keys[0].name, "alice");
	assert_int_equal(keys[0].role, ZAP_ROLE_OPERATOR);
	assert_memory_equal(keys[0].key, alice.public_key, 32);
	assert_string_equal(keys[1].name, "bob-laptop");
	assert_string_equal(keys[2].name, "python-client");
	assert_int_equal(zap_set_keys(f->z, keys, n, err, sizeof err), 2); /* fixture's alice, bob gone */
	free(keys);

	zap_key_file dup[] = { { p1, NULL, ZAP_ROLE_OPERATOR }, { s1, NULL, ZAP_ROLE_OBSERVER } };
	assert_int_equal(zap_keys_load(dup, 2, &keys, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "the same key as"));
	zap_key_file broken[] = { { p1, NULL, ZAP_ROLE_OPERATOR }, { dir, NULL, ZAP_ROLE_OBSERVER } };
	assert_int_equal(zap_keys_load(broken, 2, &keys, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_null(keys);

	zap_role r;
	assert_int_equal(zap_role_parse("operator", &r), 0);
	assert_int_equal(r, ZAP_ROLE_OPERATOR);
	assert_int_equal(zap_role_parse("observer", &r), 0);
	assert_int_equal(r, ZAP_ROLE_OBSERVER);
	assert_int_equal(zap_role_parse("admin", &r), -1);
	assert_true(zap_role_allows(ZAP_ROLE_OBSERVER, false));
	assert_false(zap_role_allows(ZAP_ROLE_OBSERVER, true));
	assert_true(zap_role_allows(ZAP_ROLE_OPERATOR, true));
	assert_false(zap_role_allows(ZAP_ROLE_NONE, false));
	cert_wipe(&alice);
	cert_wipe(&bob);
	remove_tmpdir(dir);
}

/* ---- keygen ---------------------------------------------------------------------------------- */

static int run_keygen(int argc, char **argv)
{
	fflush(stdout);
	int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
	dup2(null, STDOUT_FILENO);
	int rc = keygen_main(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(null);
	return rc;
}

static void keygen_makes_a_pair_once(void **state)
{
	(void)state;
	char *dir = make_tmpdir(), err[512], pub[512], sec[512];
	char *ok[] = { "keygen", "carol", "--dir", dir, NULL };
	assert_int_equal(run_keygen(4, ok), 0);
	cert_paths(dir, "carol", pub, sec, sizeof pub);
	assert_int_equal(file_mode(pub), 0644);
	assert_int_equal(file_mode(sec), 0600);
	cert c;
	assert_int_equal(cert_load_secret(sec, &c, err, sizeof err), 0);
	assert_string_equal(c.name, "carol");
	assert_int_equal(run_keygen(4, ok), 73); /* never overwrites */
	char *bad_name[] = { "keygen", "../etc", "--dir", dir, NULL };
	assert_int_equal(run_keygen(4, bad_name), 64);
	char *no_name[] = { "keygen", "--dir", dir, NULL };
	assert_int_equal(run_keygen(3, no_name), 64);
	char *no_dir[] = { "keygen", "x", "--dir", NULL };
	assert_int_equal(run_keygen(3, no_dir), 64);
	char *two[] = { "keygen", "x", "y", NULL };
	assert_int_equal(run_keygen(3, two), 64);
	char dir_opt[600];
	snprintf(dir_opt, sizeof dir_opt, "--dir=%s", dir);
	char *eq[] = { "keygen", "dave", dir_opt, NULL };
	assert_int_equal(run_keygen(3, eq), 0);
	cert_paths(dir, "dave", pub, sec, sizeof pub);
	assert_int_equal(access(sec, F_OK), 0);
	cert_wipe(&c);
	remove_tmpdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cert_round_trip),
		cmocka_unit_test(pyzmq_sample_loads),
		cmocka_unit_test(pyzmq_interoperates),
		cmocka_unit_test(loose_secret_refused),
		cmocka_unit_test(malformed_files_refused),
		cmocka_unit_test_setup_teardown(known_keys_admitted_with_role, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(unknown_key_refused, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(plaintext_client_refused, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(self_test_passes_with_handler, fixture_up, fixture_down),
		cmocka_unit_test(self_test_fails_without_handler),
		cmocka_unit_test_setup_teardown(malformed_zap_requests_get_400, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(reload_revokes_and_demotes, fixture_up, fixture_down),
		cmocka_unit_test(key_files_others_could_change_are_refused),
		cmocka_unit_test_setup_teardown(unavailable_list_refuses_every_write, fixture_up,
		                                fixture_down),
		cmocka_unit_test_setup_teardown(rebind_drops_revoked_subscribers, fixture_up, fixture_down),
		cmocka_unit_test_setup_teardown(key_files_load_into_a_table, fixture_up, fixture_down),
		cmocka_unit_test(keygen_makes_a_pair_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
