/* SPDX-License-Identifier: MIT */
/* zap.c — the ZAP handler (RFC 27) and the per-command role check (see zap.h). */
#include "zap.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define MAX_FRAMES 8            /* a CURVE request has 7 */
#define SELF_TEST_MS 2000       /* longest wait for a handshake verdict */
#define LOG_WINDOW_S 10         /* refusals logged: at most LOG_BURST per window */
#define LOG_BURST 10

struct zap {
	void *zctx;
	void *rep;         /* bound to ZAP_ENDPOINT; the thread's */
	void *ctl;         /* zap_stop's end of the stop pipe */
	void *ctl_thread;  /* the thread's end */
	pthread_t thread;
	bool started;

	pthread_mutex_t lock; /* guards everything below */
	zap_key *keys;
	size_t n_keys;
	bool unavailable;     /* the key list could not be read: writes and new handshakes refused */
	bool st_active;       /* a self-test is running: */
	char st_domain[64];   /* its ZAP domain (random) */
	uint8_t st_key[CERT_KEY_BYTES]; /* and the one key admitted there */

	/* Refusal logging (handler thread only). */
	time_t log_window;
	unsigned logged, suppressed;
};

static atomic_uint instance; /* makes inproc names unique */

const char *zap_role_name(zap_role role)
{
	switch (role) {
	case ZAP_ROLE_OBSERVER: return "observer";
	case ZAP_ROLE_OPERATOR: return "operator";
	default: return "none";
	}
}

int zap_role_parse(const char *s, zap_role *out)
{
	if (strcmp(s, "observer") == 0)
		*out = ZAP_ROLE_OBSERVER;
	else if (strcmp(s, "operator") == 0)
		*out = ZAP_ROLE_OPERATOR;
	else
		return -1;
	return 0;
}

bool zap_role_allows(zap_role role, bool changes)
{
	return role == ZAP_ROLE_OPERATOR || (role == ZAP_ROLE_OBSERVER && !changes);
}

/* ---- the handler -------------------------------------------------------------------------- */

static bool frame_is(zmq_msg_t *m, const char *s)
{
	size_t n = strlen(s);
	return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

/* A frame as a short printable string, for logs. */
static void frame_text(zmq_msg_t *m, char *out, size_t len)
{
	const unsigned char *d = zmq_msg_data(m);
	size_t n = zmq_msg_size(m), j = 0;
	for (size_t i = 0; i < n && j + 1 < len; i++)
		out[j++] = d[i] >= 0x20 && d[i] < 0x7f ? (char)d[i] : '?';
	out[j] = '\0';
}

static size_t put_property(uint8_t *buf, size_t at, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	buf[at++] = (uint8_t)nl;
	memcpy(buf + at, name, nl);
	at += nl;
	buf[at++] = (uint8_t)(vl >> 24);
	buf[at++] = (uint8_t)(vl >> 16);
	buf[at++] = (uint8_t)(vl >> 8);
	buf[at++] = (uint8_t)vl;
	memcpy(buf + at, value, vl);
	return at + vl;
}

static void send_reply(zap *z, zmq_msg_t *request_id, const char *code, const char *text,
                       const char *user_id, const char *role, const char *key_z85)
{
	uint8_t meta[256];
	size_t mlen = 0;
	if (role) {
		mlen = put_property(meta, mlen, "Role", role);
		mlen = put_property(meta, mlen, "Key", key_z85);
	}
	zmq_send(z->rep, "1.0", 3, ZMQ_SNDMORE);
	if (request_id)
		zmq_msg_send(request_id, z->rep, ZMQ_SNDMORE);
	else
		zmq_send(z->rep, "", 0, ZMQ_SNDMORE);
	zmq_send(z->rep, code, strlen(code), ZMQ_SNDMORE);
	zmq_send(z->rep, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(z->rep, user_id, strlen(user_id), ZMQ_SNDMORE);
	zmq_send(z->rep, meta, mlen, 0);
}

static void log_refusal(zap *z, const char *address, const char *who, const char *why)
{
	time_t now = time(NULL);
	if (now - z->log_window >= LOG_WINDOW_S) {
		if (z->suppressed)
			log_warn("zap: %u more connections refused in the last %d s (not logged)",
			         z->suppressed, LOG_WINDOW_S);
		z->log_window = now;
		z->logged = z->suppressed = 0;
	}
	if (z->logged++ < LOG_BURST)
		log_warn("zap: refused %s from %s: %s", who, address, why);
	else
		z->suppressed++;
}

/* One request: read it whole, always answer (a REP socket must). */
static void handle_request(zap *z)
{
	zmq_msg_t f[MAX_FRAMES];
	size_t n = 0;
	bool too_many = false;
	for (int more = 1; more;) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, z->rep, 0) < 0) {
			zmq_msg_close(&m);
			for (size_t i = 0; i < n; i++)
				zmq_msg_close(&f[i]);
			return; /* ETERM: no request to answer */
		}
		more = zmq_msg_more(&m);
		if (n < MAX_FRAMES)
			f[n++] = m;
		else {
			too_many = true;
			zmq_msg_close(&m);
		}
	}

	char address[64] = "?", mechanism[16] = "?", key_z85[CERT_Z85_LEN + 1] = "";
	if (n > 3)
		frame_text(&f[3], address, sizeof address);
	if (n > 5)
		frame_text(&f[5], mechanism, sizeof mechanism);
	const char *why = NULL;
	char who[80] = "a client";
	zap_key found = { .role = ZAP_ROLE_NONE };
	bool self_test = false, self_test_domain = false;

	if (n < 6 || too_many)
		why = "malformed ZAP request";
	else if (!frame_is(&f[0], "1.0"))
		why = "unsupported ZAP version";
	else if (!frame_is(&f[5], "CURVE"))
		why = "only CURVE connections are allowed";
	else if (n != 7 || zmq_msg_size(&f[6]) != CERT_KEY_BYTES)
		why = "malformed CURVE credentials";
	if (!why) {
		const uint8_t *key = zmq_msg_data(&f[6]);
		zmq_z85_encode(key_z85, key, CERT_KEY_BYTES);
		snprintf(who, sizeof who, "key %s", key_z85);
		pthread_mutex_lock(&z->lock);
		self_test_domain = z->st_domain[0] && zmq_msg_size(&f[2]) == strlen(z->st_domain) &&
		                        memcmp(zmq_msg_data(&f[2]), z->st_domain, strlen(z->st_domain)) == 0;
		if (self_test_domain) {
			/* Only the self-test's key, only in its domain, only while it runs. */
			if (z->st_active && memcmp(key, z->st_key, CERT_KEY_BYTES) == 0) {
				strcpy(found.name, "self-test");
				found.role = ZAP_ROLE_OBSERVER;
				self_test = true;
			}
		} else if (z->unavailable) {
			why = "the list of client keys cannot be read now";
		} else {
			for (size_t i = 0; i < z->n_keys; i++)
				if (memcmp(z->keys[i].key, key, CERT_KEY_BYTES) == 0) {
					found = z->keys[i];
					break;
				}
		}
		pthread_mutex_unlock(&z->lock);
		if (!why && found.role == ZAP_ROLE_NONE)
			why = "unknown key";
	}

	zmq_msg_t *request_id = n > 1 ? &f[1] : NULL;
	if (why) {
		if (strcmp(mechanism, "CURVE") != 0 && n >= 6)
			snprintf(who, sizeof who, "a %s connection", mechanism);
		if (self_test_domain)
			log_debug("zap: self-test: refused %s from %s: %s", who, address, why);
		else
			log_refusal(z, address, who, why);
		send_reply(z, request_id, "400", why, "", NULL, NULL);
	} else {
		log_msg(self_test ? LOG_DEBUG : LOG_INFO, "zap: admitted %s (%s) from %s", found.name,
		        zap_role_name(found.role), address);
		send_reply(z, request_id, "200", "OK", found.name, zap_role_name(found.role), key_z85);
	}
	for (size_t i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
}

static void *zap_main(void *arg)
{
	zap *z = arg;
	zmq_pollitem_t items[] = {
		{ .socket = z->ctl_thread, .events = ZMQ_POLLIN },
		{ .socket = z->rep, .events = ZMQ_POLLIN },
	};
	for (;;) {
		if (zmq_poll(items, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ETERM)
				log_error("zap: poll: %s", zmq_strerror(errno));
			break;
		}
		if (items[0].revents & ZMQ_POLLIN)
			break; /* zap_stop */
		if (items[1].revents & ZMQ_POLLIN)
			handle_request(z);
	}
	/*
	 * Leaving the handler socket bound (closed only by zap_stop) keeps new
	 * handshakes waiting for an answer rather than admitted without one.
	 */
	return NULL;
}

zap *zap_start(void *zctx, char *err, size_t errlen)
{
	zap *z = calloc(1, sizeof *z);
	if (!z) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	z->zctx = zctx;
	pthread_mutex_init(&z->lock, NULL);
	char ctl_ep[96];
	snprintf(ctl_ep, sizeof ctl_ep, "inproc://steerd-zap-stop-%u", atomic_fetch_add(&instance, 1));
	z->rep = zmq_socket(zctx, ZMQ_REP);
	z->ctl = zmq_socket(zctx, ZMQ_PAIR);
	z->ctl_thread = zmq_socket(zctx, ZMQ_PAIR);
	int zero = 0;
	if (!z->rep || !z->ctl || !z->ctl_thread) {
		snprintf(err, errlen, "cannot create the ZAP handler's sockets: %s", zmq_strerror(errno));
		zap_stop(&z);
		return NULL;
	}
	zmq_setsockopt(z->rep, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(z->ctl, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(z->ctl_thread, ZMQ_LINGER, &zero, sizeof zero);
	if (zmq_bind(z->rep, ZAP_ENDPOINT) != 0) {
		snprintf(err, errlen, "cannot bind the ZAP handler to %s: %s%s", ZAP_ENDPOINT,
		         zmq_strerror(errno),
		         errno == EADDRINUSE ? " (another handler is already bound in this context)" : "");
		zap_stop(&z);
		return NULL;
	}
	if (zmq_bind(z->ctl_thread, ctl_ep) != 0 || zmq_connect(z->ctl, ctl_ep) != 0) {
		snprintf(err, errlen, "cannot make the ZAP handler's stop pipe: %s", zmq_strerror(errno));
		zap_stop(&z);
		return NULL;
	}
	/* Signals are for the simulation thread. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&z->thread, NULL, zap_main, z);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the ZAP handler thread: %s", strerror(rc));
		zap_stop(&z);
		return NULL;
	}
	z->started = true;
	return z;
}

void zap_stop(zap **zp)
{
	if (!zp || !*zp)
		return;
	zap *z = *zp;
	if (z->started) {
		zmq_send(z->ctl, "", 0, 0);
		pthread_join(z->thread, NULL);
	}
	if (z->rep)
		zmq_close(z->rep);
	if (z->ctl)
		zmq_close(z->ctl);
	if (z->ctl_thread)
		zmq_close(z->ctl_thread);
	pthread_mutex_destroy(&z->lock);
	free(z->keys);
	free(z);
	*zp = NULL;
}

/* ---- the table ---------------------------------------------------------------------------- */

int zap_set_keys(zap *z, const zap_key *keys, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (keys[i].role != ZAP_ROLE_OBSERVER && keys[i].role != ZAP_ROLE_OPERATOR) {
			snprintf(err, errlen, "key '%s' has no role", keys[i].name);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (memcmp(keys[i].key, keys[j].key, CERT_KEY_BYTES) == 0) {
				snprintf(err, errlen, "keys '%s' and '%s' are the same key", keys[j].name,
				         keys[i].name);
				return -1;
			}
	}
	zap_key *copy = NULL;
	if (n) {
		copy = malloc(n * sizeof *copy);
		if (!copy) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		memcpy(copy, keys, n * sizeof *copy);
		for (size_t i = 0; i < n; i++)
			copy[i].name[CERT_NAME_MAX - 1] = '\0';
	}
	pthread_mutex_lock(&z->lock);
	int lost = 0;
	for (size_t i = 0; i < z->n_keys; i++) {
		const zap_key *now = NULL;
		for (size_t j = 0; j < n && !now; j++)
			if (memcmp(copy[j].key, z->keys[i].key, CERT_KEY_BYTES) == 0)
				now = &copy[j];
		if (!now)
			lost++; /* a demotion needs no reconnect: zap_authorize reads the table */
	}
	zap_key *old = z->keys;
	z->keys = copy;
	z->n_keys = n;
	z->unavailable = false;
	pthread_mutex_unlock(&z->lock);
	free(old);
	return lost;
}

void zap_set_unavailable(zap *z)
{
	pthread_mutex_lock(&z->lock);
	z->unavailable = true;
	pthread_mutex_unlock(&z->lock);
}

bool zap_name_admitted(zap *z, const char *name)
{
	bool found = false;
	pthread_mutex_lock(&z->lock);
	for (size_t i = 0; i < z->n_keys && !z->unavailable && !found; i++)
		found = strcmp(z->keys[i].name, name) == 0;
	pthread_mutex_unlock(&z->lock);
	return found;
}

size_t zap_key_count(zap *z)
{
	pthread_mutex_lock(&z->lock);
	size_t n = z->n_keys;
	pthread_mutex_unlock(&z->lock);
	return n;
}

/* "dir/alice.key" -> "alice" */
static void name_from_path(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 11 && strcmp(base + n - 11, ".key_secret") == 0)
		n -= 11;
	else if (n > 4 && strcmp(base + n - 4, ".key") == 0)
		n -= 4;
	snprintf(out, len, "%.*s", (int)n, base);
}

static bool printable_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int zap_keys_load(const zap_key_file *files, size_t n_files, zap_key **out, size_t *n, char *err,
                  size_t errlen)
{
	*out = NULL;
	*n = 0;
	zap_key *keys = calloc(n_files ? n_files : 1, sizeof *keys);
	if (!keys) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n_files; i++) {
		cert c;
		int rc = cert_load_public(files[i].path, &c, err, errlen);
		if (rc < 0) {
			free(keys);
			return rc;
		}
		zap_key *k = &keys[i];
		memcpy(k->key, c.public_key, CERT_KEY_BYTES);
		k->role = files[i].role;
		if (files[i].name)
			snprintf(k->name, sizeof k->name, "%s", files[i].name);
		else if (c.name[0])
			strcpy(k->name, c.name);
		else
			name_from_path(files[i].path, k->name, sizeof k->name);
		if (!printable_name(k->name) || (files[i].name && strlen(files[i].name) >= CERT_NAME_MAX)) {
			snprintf(err, errlen, "%s: the key's name must be 1 to %d printable bytes",
			         files[i].path, CERT_NAME_MAX - 1);
			free(keys);
			return -1;
		}
		if (k->role != ZAP_ROLE_OBSERVER && k->role != ZAP_ROLE_OPERATOR) {
			snprintf(err, errlen, "%s: no role (observer or operator)", files[i].path);
			free(keys);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (memcmp(keys[j].key, k->key, CERT_KEY_BYTES) == 0) {
				snprintf(err, errlen, "%s: the same key as %s", files[i].path, files[j].path);
				free(keys);
				return -1;
			}
	}
	*out = keys;
	*n = n_files;
	return 0;
}

/* ---- sockets and messages ------------------------------------------------------------------ */

int zap_curve_server(void *sock, const cert *server, char *err, size_t errlen)
{
	if (!server->has_secret) {
		snprintf(err, errlen, "the server's certificate has no secret key");
		return -1;
	}
	int one = 1;
	if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, server->secret_key, CERT_KEY_BYTES) != 0 ||
	    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) != 0) {
		snprintf(err, errlen, "cannot make a CURVE server socket: %s", zmq_strerror(errno));
		return -1;
	}
	return 0;
}

int zap_peer_of(zmq_msg_t *frame, zap_peer *peer)
{
	memset(peer, 0, sizeof *peer);
	/* "Key" is set by our ZAP reply; libzmq lets ZAP properties win over peer-sent ones. */
	const char *key_z85 = zmq_msg_gets(frame, "Key");
	uint8_t key[CERT_KEY_BYTES];
	if (!key_z85 || strlen(key_z85) != CERT_Z85_LEN || !zmq_z85_decode(key, key_z85))
		return ZAP_NO_AUTH;
	strcpy(peer->key_z85, key_z85);
	const char *uid = zmq_msg_gets(frame, "User-Id");
	snprintf(peer->user_id, sizeof peer->user_id, "%s", uid && *uid ? uid : "?");
	peer->authenticated = true;
	return 0;
}

int zap_peer_role(zap *z, const zap_peer *peer, char *name, size_t namelen, zap_role *role)
{
	*role = ZAP_ROLE_NONE;
	if (namelen)
		name[0] = '\0';
	uint8_t key[CERT_KEY_BYTES];
	if (!peer || !peer->authenticated || !zmq_z85_decode(key, peer->key_z85))
		return ZAP_NO_AUTH;
	int rc = ZAP_REVOKED;
	pthread_mutex_lock(&z->lock);
	for (size_t i = 0; i < z->n_keys; i++)
		if (memcmp(z->keys[i].key, key, CERT_KEY_BYTES) == 0) {
			*role = z->keys[i].role;
			if (namelen)
				snprintf(name, namelen, "%s", z->keys[i].name);
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&z->lock);
	if (rc == ZAP_REVOKED && namelen)
		snprintf(name, namelen, "%s", peer->user_id);
	return rc;
}

int zap_role_of(zap *z, zmq_msg_t *frame, char *name, size_t namelen, zap_role *role)
{
	zap_peer peer;
	zap_peer_of(frame, &peer);
	return zap_peer_role(z, &peer, name, namelen, role);
}

int zap_authorize(zap *z, const zap_peer *peer, const char *cmd, bool changes, char *name,
                  size_t namelen, char *msg, size_t msglen)
{
	char who[CERT_NAME_MAX];
	zap_role role;
	int rc = zap_peer_role(z, peer, who, sizeof who, &role);
	if (namelen)
		snprintf(name, namelen, "%s", rc == ZAP_NO_AUTH ? "?" : who);
	if (rc == ZAP_NO_AUTH) {
		snprintf(msg, msglen, "%s refused: this connection has no authenticated CURVE key", cmd);
		log_warn("refused %s from an unauthenticated connection", cmd);
		return -1;
	}
	if (rc == ZAP_REVOKED) {
		snprintf(msg, msglen, "%s refused: key '%s' has been revoked", cmd, who);
		log_warn("refused %s from %s: key revoked", cmd, who);
		return -1;
	}
	pthread_mutex_lock(&z->lock);
	bool unavailable = z->unavailable;
	pthread_mutex_unlock(&z->lock);
	if (unavailable && changes) {
		snprintf(msg, msglen, "%s refused: the list of client keys cannot be read now, so no key "
		         "may change the run until it can (steerd retries every second)", cmd);
		log_warn("refused %s from %s: the client key list is unavailable", cmd, who);
		return ZAP_UNAVAILABLE;
	}
	if (!zap_role_allows(role, changes)) {
		snprintf(msg, msglen, "%s changes the run and needs the operator role; key '%s' is an %s",
		         cmd, who, zap_role_name(role));
		log_warn("refused %s from %s (%s): needs the operator role", cmd, who, zap_role_name(role));
		return -1;
	}
	return 0;
}

int zap_rebind(void *zctx, void **sock, int (*setup)(void *sock, void *arg), void *arg, char *err,
               size_t errlen)
{
	int type = 0;
	size_t sz = sizeof type;
	char ep[256] = "";
	size_t len = sizeof ep;
	if (zmq_getsockopt(*sock, ZMQ_TYPE, &type, &sz) != 0 ||
	    zmq_getsockopt(*sock, ZMQ_LAST_ENDPOINT, ep, &len) != 0 || !ep[0]) {
		snprintf(err, errlen, "cannot rebind: the socket is not bound");
		return -1;
	}
	int zero = 0;
	zmq_setsockopt(*sock, ZMQ_LINGER, &zero, sizeof zero);
	zmq_unbind(*sock, ep);
	zmq_close(*sock);
	*sock = zmq_socket(zctx, type);
	if (!*sock) {
		snprintf(err, errlen, "cannot rebind %s: %s", ep, zmq_strerror(errno));
		return -1;
	}
	if (setup && setup(*sock, arg) < 0) {
		snprintf(err, errlen, "cannot rebind %s: setting up the new socket failed", ep);
		return -1;
	}
	/* The old listener closes in libzmq's I/O thread: the port may take a moment to free. */
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	for (int i = 0; zmq_bind(*sock, ep) != 0; i++) {
		if (errno != EADDRINUSE || i == 400) {
			snprintf(err, errlen, "cannot rebind %s: %s", ep, zmq_strerror(errno));
			return -1;
		}
		nanosleep(&pause, NULL);
	}
	return 0;
}

/* ---- the self-test ------------------------------------------------------------------------- */

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * The next handshake verdict on the monitor (ZMQ_EVENT_HANDSHAKE_*), or 0
 * after SELF_TEST_MS. Failures are skipped when want_success (they may be
 * left over from an earlier client).
 */
static int next_verdict(void *mon, bool want_success)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = SELF_TEST_MS - elapsed_ms(&t0);
		if (left <= 0)
			return 0;
		zmq_pollitem_t item = { .socket = mon, .events = ZMQ_POLLIN };
		if (zmq_poll(&item, 1, left) <= 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		zmq_msg_t ev, addr;
		zmq_msg_init(&ev);
		zmq_msg_init(&addr);
		int event = 0;
		if (zmq_msg_recv(&ev, mon, 0) >= 6) {
			uint16_t e;
			memcpy(&e, zmq_msg_data(&ev), sizeof e);
			event = e;
		}
		if (zmq_msg_more(&ev))
			zmq_msg_recv(&addr, mon, 0);
		zmq_msg_close(&ev);
		zmq_msg_close(&addr);
		if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
			return event;
		if ((event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
		     event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) && !want_success)
			return event;
	}
}

static void *curve_client(void *zctx, const char *endpoint, const char *server_pub,
                          const char *pub, const char *sec)
{
	void *s = zmq_socket(zctx, ZMQ_DEALER);
	if (!s)
		return NULL;
	int zero = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_pub, CERT_Z85_LEN) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, CERT_Z85_LEN) != 0 ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, CERT_Z85_LEN) != 0 ||
	    zmq_connect(s, endpoint) != 0 || zmq_send(s, "self-test", 9, ZMQ_DONTWAIT) < 0) {
		zmq_close(s);
		return NULL;
	}
	return s;
}

/* Did the server get a message within ms? Checks the metadata of the client's frame. */
static int server_got(void *server, long ms, char *why, size_t len)
{
	zmq_pollitem_t item = { .socket = server, .events = ZMQ_POLLIN };
	if (zmq_poll(&item, 1, ms) <= 0)
		return 0;
	zmq_msg_t m;
	zmq_msg_init(&m);
	int rc = 1;
	/* [routing id (no metadata)][the client's frame] */
	while (zmq_msg_recv(&m, server, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&m))
		;
	const char *role = zmq_msg_gets(&m, "Role");
	const char *uid = zmq_msg_gets(&m, "User-Id");
	if (!role || strcmp(role, "observer") != 0 || !uid || strcmp(uid, "self-test") != 0) {
		snprintf(why, len, "the ZAP metadata did not arrive (Role %s, User-Id %s)",
		         role ? role : "missing", uid ? uid : "missing");
		rc = 2;
	}
	zmq_msg_close(&m);
	return rc;
}

int zap_self_test(void *zctx, zap *z, char *err, size_t errlen)
{
	if (z)
		zctx = z->zctx;
	char server_pub[41], server_sec[41], bad_pub[41], bad_sec[41], good_pub[41], good_sec[41];
	char rnd[41], rnd2[41];
	if (zmq_curve_keypair(server_pub, server_sec) != 0 || zmq_curve_keypair(bad_pub, bad_sec) != 0 ||
	    zmq_curve_keypair(good_pub, good_sec) != 0 || zmq_curve_keypair(rnd, rnd2) != 0) {
		snprintf(err, errlen, "security self-test: no CURVE in this libzmq: %s", zmq_strerror(errno));
		return -1;
	}
	explicit_bzero(rnd2, sizeof rnd2);
	char domain[64];
	snprintf(domain, sizeof domain, "steerd-self-test-%s", rnd);
	if (z) {
		pthread_mutex_lock(&z->lock);
		strcpy(z->st_domain, domain);
		zmq_z85_decode(z->st_key, good_pub);
		z->st_active = true;
		pthread_mutex_unlock(&z->lock);
	}

	int rc = -1;
	void *server = zmq_socket(zctx, ZMQ_ROUTER), *mon = zmq_socket(zctx, ZMQ_PAIR);
	void *bad = NULL, *good = NULL;
	char mon_ep[96], ep[256] = "", why[200] = "";
	size_t eplen = sizeof ep;
	int one = 1, zero = 0;
	snprintf(mon_ep, sizeof mon_ep, "inproc://steerd-zap-self-test-%u", atomic_fetch_add(&instance, 1));
	if (!server || !mon) {
		snprintf(err, errlen, "security self-test: cannot create sockets: %s", zmq_strerror(errno));
		goto out;
	}
	zmq_setsockopt(server, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero);
	if (zmq_setsockopt(server, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
	    zmq_setsockopt(server, ZMQ_CURVE_SECRETKEY, server_sec, CERT_Z85_LEN) != 0 ||
	    zmq_setsockopt(server, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0 ||
	    zmq_socket_monitor(server, mon_ep,
	                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
	                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
	                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0 ||
	    zmq_connect(mon, mon_ep) != 0 || zmq_bind(server, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, ep, &eplen) != 0) {
		snprintf(err, errlen, "security self-test: cannot set up a CURVE server: %s",
		         zmq_strerror(errno));
		goto out;
	}

	/* 1. A key nobody listed must not get in. */
	bad = curve_client(zctx, ep, server_pub, bad_pub, bad_sec);
	if (!bad) {
		snprintf(err, errlen, "security self-test: cannot connect a client: %s", zmq_strerror(errno));
		goto out;
	}
	int verdict = next_verdict(mon, false);
	if (verdict == ZMQ_EVENT_HANDSHAKE_SUCCEEDED || server_got(server, 50, why, sizeof why)) {
		snprintf(err, errlen,
		         "security self-test failed: a client with an unknown CURVE key was admitted "
		         "(is a ZAP handler answering on %s?)",
		         ZAP_ENDPOINT);
		goto out;
	}
	if (verdict == 0) {
		snprintf(err, errlen, "security self-test failed: no handshake verdict within %d ms",
		         SELF_TEST_MS);
		goto out;
	}
	zmq_close(bad);
	bad = NULL;

	/* 2. A key the handler knows gets in, with its role. */
	if (z) {
		good = curve_client(zctx, ep, server_pub, good_pub, good_sec);
		if (!good) {
			snprintf(err, errlen, "security self-test: cannot connect a client: %s",
			         zmq_strerror(errno));
			goto out;
		}
		if (next_verdict(mon, true) != ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			snprintf(err, errlen, "security self-test failed: a known key was not admitted within %d ms",
			         SELF_TEST_MS);
			goto out;
		}
		int got = server_got(server, SELF_TEST_MS, why, sizeof why);
		if (got != 1) {
			snprintf(err, errlen, "security self-test failed: %s",
			         got ? why : "no message from an admitted client");
			goto out;
		}
	}
	rc = 0;
out:
	explicit_bzero(server_sec, sizeof server_sec);
	explicit_bzero(bad_sec, sizeof bad_sec);
	explicit_bzero(good_sec, sizeof good_sec);
	if (bad)
		zmq_close(bad);
	if (good)
		zmq_close(good);
	if (server) {
		zmq_socket_monitor(server, NULL, 0);
		zmq_close(server);
	}
	if (mon)
		zmq_close(mon);
	if (z) {
		pthread_mutex_lock(&z->lock);
		z->st_active = false;
		memset(z->st_key, 0, sizeof z->st_key);
		pthread_mutex_unlock(&z->lock);
	}
	return rc;
}
