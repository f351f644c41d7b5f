/* SPDX-License-Identifier: MIT */
/*
 * upstream.c — the thread that talks to steerd (see upstream.h).
 *
 * One zmq_poll loop over the SUB, the DEALERs and a pipe the web thread
 * writes to when it queues a command. Stream messages only overwrite the
 * model (newest scalars, newest of each array) or append to the event ring,
 * so however fast the run steps, the work per message is small and bounded
 * and nothing waits for a browser. Every 500 ms steer-web reads `status`
 * (state, rate) and `snapshot` (knob values) for itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "cert.h"
#include "frames.h"
#include "history_page.h"
#include "model.h"
#include "upstream.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the stream's float64 frames are little-endian; this host is not"
#endif

#define MAX_OPERATOR_SOCKETS 64
#define POLL_EVERY_MS 500
#define POLL_STALE_MS 5000
#define MAX_PARTS 4
#define MAX_REPLY_PARTS (3 + 3 + 64) /* a history reply: delimiter, header, body, frames */

typedef struct pending {
	bool used;
	long long id;       /* our request id toward steerd */
	uint64_t client;    /* the browser connection */
	json_t *browser_id; /* its own id, echoed */
	char cmd[32];
	bool history;       /* steer-web's own history request for a new page */
} pending;

typedef struct queued_cmd {
	uint64_t client;
	json_t *browser_id;
	char cmd[32];
	json_t *body;
	char who[64];
	char key_file[4096];
	bool history;
	struct queued_cmd *next;
} queued_cmd;

typedef struct op_socket {
	char key_file[4096];
	void *dealer;
} op_socket;

struct upstream {
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	volatile int stop;
	int wake_pipe[2];
	void (*wake)(void *);
	void *wake_arg;

	/* sockets: only the upstream thread touches them after start */
	void *zctx, *sub, *sub_events, *dealer; /* sub: scalars and arrays; sub_events: events, heartbeats */
	bool curve, have_key;
	char connfile[4096];
	struct stat conn_st;     /* the connection file as last read */
	long long conn_pid;      /* the steerd it named */
	long long hello_sent_ms; /* > 0 while a new steerd's hello is awaited */
	uint8_t server_key[CERT_KEY_BYTES], public_key[CERT_KEY_BYTES], secret_key[CERT_KEY_BYTES];
	char control[256], diagnostics[256];
	op_socket ops[MAX_OPERATOR_SOCKETS];
	size_t n_ops;
	pending pend[UP_MAX_PENDING];
	long long next_id;
	long long poll_sent_ms;
	int poll_waiting;

	/* under mu */
	queued_cmd *in_head, *in_tail;
	size_t n_inflight; /* queued + pending */
	up_reply *out_head, *out_tail;
	json_t *hello;
	uint64_t generation; /* grows when steer-web follows a new steerd */
	model *model;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fail(char *err, size_t len, const char *fmt, const char *a, const char *b)
{
	snprintf(err, len, fmt, a, b);
}

/* ------------------------------------------------------------ sockets */

static void *open_socket(upstream *up, int type, const char *endpoint, const uint8_t *pub,
                         const uint8_t *sec)
{
	void *s = zmq_socket(up->zctx, type);
	if (!s)
		return NULL;
	int zero = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	if (up->curve && (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, up->server_key, CERT_KEY_BYTES) < 0 ||
	                  zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, CERT_KEY_BYTES) < 0 ||
	                  zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, CERT_KEY_BYTES) < 0)) {
		zmq_close(s);
		return NULL;
	}
	if (zmq_connect(s, endpoint) < 0) {
		zmq_close(s);
		return NULL;
	}
	return s;
}

static int read_connfile(upstream *up, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	if (stat(path, &up->conn_st) < 0)
		memset(&up->conn_st, 0, sizeof up->conn_st);
	json_t *j = json_load_file(path, 0, &jerr);
	const char *ctl = json_string_value(json_object_get(j, "control"));
	const char *diag = json_string_value(json_object_get(j, "diagnostics"));
	if (!ctl || !diag) {
		fail(err, errlen, "cannot read connection file %s: %s", path,
		     j ? "no control/diagnostics endpoints" : jerr.text);
		json_decref(j);
		return -1;
	}
	snprintf(up->control, sizeof up->control, "%s", ctl);
	snprintf(up->diagnostics, sizeof up->diagnostics, "%s", diag);
	up->conn_pid = json_integer_value(json_object_get(j, "pid"));
	const char *sk = json_string_value(json_object_get(j, "server_key"));
	up->curve = sk && strlen(sk) == CERT_Z85_LEN && zmq_z85_decode(up->server_key, sk) != NULL;
	json_decref(j);
	return 0;
}

static int send_request(void *dealer, const char *cmd, json_t *id, const char *who, json_t *body)
{
	json_t *hdr = json_pack("{s:s, s:O, s:s}", "cmd", cmd, "id", id, "client", who);
	int rc = hdr ? frames_send_request(dealer, hdr, body) : -1;
	json_decref(hdr);
	return rc;
}

/*
 * The DEALER's reply: [ "", header, body, frame... ]. 0 and the parsed pair
 * (the binary frames that follow, `history`'s, into frames when given), or -1.
 */
static int recv_reply_frames(void *dealer, json_t **hdr, json_t **body, int flags, zmq_msg_t *frames,
                             int *n_frames)
{
	zmq_msg_t parts[MAX_REPLY_PARTS];
	int n = frames_recv(dealer, parts, MAX_REPLY_PARTS, flags);
	if (n < 0)
		return -1;
	int first = n >= 1 && zmq_msg_size(&parts[0]) == 0 ? 1 : 0;
	*hdr = n > first ? frames_json(&parts[first]) : NULL;
	*body = n > first + 1 ? frames_json(&parts[first + 1]) : json_object();
	int extra = n > first + 2 ? n - first - 2 : 0;
	if (frames) {
		for (int i = 0; i < extra; i++)
			zmq_msg_move(&frames[i], &parts[first + 2 + i]);
		*n_frames = extra;
	}
	frames_close(parts, n);
	if (!json_is_object(*hdr) || !json_is_object(*body)) {
		json_decref(*hdr);
		json_decref(*body);
		return -1;
	}
	return 0;
}

static int recv_reply(void *dealer, json_t **hdr, json_t **body, int flags)
{
	return recv_reply_frames(dealer, hdr, body, flags, NULL, NULL);
}

/* ------------------------------------------------------------ model */

static void on_stream(upstream *up, zmq_msg_t *parts, int n)
{
	if (n < 2)
		return;
	char topic[128];
	size_t tl = zmq_msg_size(&parts[0]);
	if (tl >= sizeof topic)
		return;
	memcpy(topic, zmq_msg_data(&parts[0]), tl);
	topic[tl] = '\0';
	json_t *hdr = frames_json(&parts[1]);
	if (json_is_object(hdr))
		model_stream(up->model, topic, hdr, n > 2 ? zmq_msg_data(&parts[2]) : NULL,
		             n > 2 ? zmq_msg_size(&parts[2]) / sizeof(double) : 0);
	json_decref(hdr);
}

static bool is_scalars(zmq_msg_t *topic)
{
	return zmq_msg_size(topic) == 7 && !memcmp(zmq_msg_data(topic), "scalars", 7);
}

/*
 * Reads what has arrived, in a bounded batch so that commands and polls are
 * never starved. Only the newest `scalars` of a batch is read: the page shows
 * the newest state, and skipping the header of the others keeps steer-web's
 * work per step small when the run makes tens of thousands a second.
 */
static void drain_stream(upstream *up, void *sub)
{
	zmq_msg_t newest[MAX_PARTS];
	int n_newest = 0;
	for (int i = 0; i < 4096; i++) {
		zmq_msg_t parts[MAX_PARTS];
		int n = frames_recv(sub, parts, MAX_PARTS, ZMQ_DONTWAIT);
		if (n < 0)
			break;
		if (n >= 1 && is_scalars(&parts[0])) {
			frames_close(newest, n_newest);
			for (int k = 0; k < n; k++) { /* zmq_msg_t may not be copied: moved */
				zmq_msg_init(&newest[k]);
				zmq_msg_move(&newest[k], &parts[k]);
			}
			frames_close(parts, n);
			n_newest = n;
			continue;
		}
		on_stream(up, parts, n);
		frames_close(parts, n);
	}
	if (n_newest) {
		on_stream(up, newest, n_newest);
		frames_close(newest, n_newest);
	}
}

/* ------------------------------------------------------------ commands */

static void deliver(upstream *up, uint64_t client, json_t *msg)
{
	up_reply *r = calloc(1, sizeof *r);
	if (!r) {
		json_decref(msg);
		return;
	}
	r->client = client;
	r->msg = msg;
	pthread_mutex_lock(&up->mu);
	if (up->out_tail)
		up->out_tail->next = r;
	else
		up->out_head = r;
	up->out_tail = r;
	pthread_mutex_unlock(&up->mu);
	if (up->wake)
		up->wake(up->wake_arg);
}

static json_t *error_msg(json_t *browser_id, const char *cmd, const char *code, const char *message)
{
	return json_pack("{s:s, s:O, s:s, s:b, s:{s:{s:s, s:s}}}", "type", "reply", "id", browser_id,
	                 "cmd", cmd, "ok", 0, "body", "error", "code", code, "message", message);
}

static void finish_pending(upstream *up, pending *p)
{
	json_decref(p->browser_id);
	p->used = false;
	pthread_mutex_lock(&up->mu);
	up->n_inflight--;
	pthread_mutex_unlock(&up->mu);
}

static void *dealer_for(upstream *up, const char *key_file, char *err, size_t errlen)
{
	if (!key_file || !key_file[0])
		return up->dealer;
	for (size_t i = 0; i < up->n_ops; i++)
		if (!strcmp(up->ops[i].key_file, key_file))
			return up->ops[i].dealer;
	if (!up->curve) {
		snprintf(err, errlen, "steerd runs without security: an operator key is not used");
		return up->dealer;
	}
	if (up->n_ops == MAX_OPERATOR_SOCKETS) {
		snprintf(err, errlen, "too many operator keys");
		return NULL;
	}
	cert me;
	if (cert_load_secret(key_file, &me, err, errlen) < 0)
		return NULL;
	void *s = open_socket(up, ZMQ_DEALER, up->control, me.public_key, me.secret_key);
	cert_wipe(&me);
	if (!s) {
		snprintf(err, errlen, "cannot connect to %s: %s", up->control, zmq_strerror(zmq_errno()));
		return NULL;
	}
	op_socket *o = &up->ops[up->n_ops++];
	snprintf(o->key_file, sizeof o->key_file, "%s", key_file);
	o->dealer = s;
	return s;
}

static void forward(upstream *up, queued_cmd *q)
{
	char err[1024] = "";
	void *dealer = dealer_for(up, q->key_file, err, sizeof err);
	pending *p = NULL;
	for (size_t i = 0; i < UP_MAX_PENDING && !p; i++)
		if (!up->pend[i].used)
			p = &up->pend[i];
	json_t *id = json_integer(++up->next_id);
	if (!dealer || !p || send_request(dealer, q->cmd, id, q->who, q->body) < 0) {
		deliver(up, q->client,
		        q->history ? json_pack("{s:s, s:b}", "type", "history", "ok", 0)
		                   : error_msg(q->browser_id, q->cmd, dealer ? "busy" : "forbidden",
		                               dealer ? "steer-web cannot forward this now; try again"
		                                      : err));
		pthread_mutex_lock(&up->mu);
		up->n_inflight--;
		pthread_mutex_unlock(&up->mu);
	} else {
		p->used = true;
		p->id = up->next_id;
		p->client = q->client;
		p->browser_id = json_incref(q->browser_id);
		snprintf(p->cmd, sizeof p->cmd, "%s", q->cmd);
		p->history = q->history;
	}
	json_decref(id);
}

static void drain_queue(upstream *up)
{
	char buf[64];
	while (read(up->wake_pipe[0], buf, sizeof buf) > 0) {
	}
	pthread_mutex_lock(&up->mu);
	queued_cmd *q = up->in_head;
	up->in_head = up->in_tail = NULL;
	pthread_mutex_unlock(&up->mu);
	while (q) {
		queued_cmd *next = q->next;
		forward(up, q);
		json_decref(q->browser_id);
		json_decref(q->body);
		free(q);
		q = next;
	}
}

/* ------------------------------------------------------------ sockets toward one steerd */

static int open_sockets(upstream *up)
{
	up->dealer = open_socket(up, ZMQ_DEALER, up->control, up->public_key, up->secret_key);
	/*
	 * Two connections: ZeroMQ's high-water mark counts per connection, so a
	 * burst of scalars that overflows one could drop an event sharing it.
	 * Events and heartbeats are few: on their own connection none is lost.
	 */
	up->sub = open_socket(up, ZMQ_SUB, up->diagnostics, up->public_key, up->secret_key);
	up->sub_events = open_socket(up, ZMQ_SUB, up->diagnostics, up->public_key, up->secret_key);
	if (!up->dealer || !up->sub || !up->sub_events)
		return -1;
	zmq_setsockopt(up->sub, ZMQ_SUBSCRIBE, "scalars", 7);
	zmq_setsockopt(up->sub, ZMQ_SUBSCRIBE, "array.", 6);
	zmq_setsockopt(up->sub_events, ZMQ_SUBSCRIBE, "event.", 6);
	zmq_setsockopt(up->sub_events, ZMQ_SUBSCRIBE, "heartbeat", 9);
	return 0;
}

static void close_sockets(upstream *up)
{
	for (size_t i = 0; i < up->n_ops; i++)
		zmq_close(up->ops[i].dealer);
	up->n_ops = 0;
	void **socks[] = {&up->sub, &up->sub_events, &up->dealer};
	for (size_t i = 0; i < sizeof socks / sizeof *socks; i++)
		if (*socks[i]) {
			zmq_close(*socks[i]);
			*socks[i] = NULL;
		}
}

/* Commands the old steerd will never answer: answered here, so no page waits for ever. */
static void fail_pending(upstream *up, const char *why)
{
	for (size_t k = 0; k < UP_MAX_PENDING; k++) {
		pending *p = &up->pend[k];
		if (!p->used)
			continue;
		deliver(up, p->client,
		        p->history ? json_pack("{s:s, s:b}", "type", "history", "ok", 0)
		                   : error_msg(p->browser_id, p->cmd, "unavailable", why));
		finish_pending(up, p);
	}
	up->poll_waiting = 0;
}

static void send_hello(upstream *up)
{
	json_t *id = json_string("hello"), *empty = json_object();
	if (send_request(up->dealer, "hello", id, "steer-web", empty) == 0)
		up->hello_sent_ms = now_ms();
	json_decref(id);
	json_decref(empty);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * Follows a restarted steerd: when the connection file (written anew, by
 * rename, at every start) names another process or other endpoints, every
 * socket is made again toward them and the new steerd's hello asked; the
 * model and the pages start again from it (on_new_hello). A file that is
 * gone or unreadable changes nothing: without heartbeats the pages show the
 * run as disconnected until a steerd writes one again.
 */
static void follow_connfile(upstream *up)
{
	struct stat st;
	if (stat(up->connfile, &st) < 0 || same_file(&st, &up->conn_st))
		return;
	char control[sizeof up->control], diagnostics[sizeof up->diagnostics], err[1024];
	uint8_t server_key[CERT_KEY_BYTES];
	memcpy(control, up->control, sizeof control);
	memcpy(diagnostics, up->diagnostics, sizeof diagnostics);
	memcpy(server_key, up->server_key, sizeof server_key);
	long long pid = up->conn_pid;
	bool curve = up->curve;
	if (read_connfile(up, up->connfile, err, sizeof err) < 0) {
		fprintf(stderr, "steer-web: %s; still following steerd %lld\n", err, pid);
		return;
	}
	if (pid == up->conn_pid && curve == up->curve && !strcmp(control, up->control) &&
	    !strcmp(diagnostics, up->diagnostics) &&
	    !memcmp(server_key, up->server_key, sizeof server_key))
		return;
	fprintf(stderr, "steer-web: %s names a new steerd (pid %lld, %s): following it\n",
	        up->connfile, up->conn_pid, up->control);
	if (up->curve && !up->have_key)
		fprintf(stderr, "steer-web: the new steerd requires a CURVE key: start steer-web "
		                "again with --key FILE\n");
	fail_pending(up, "steerd restarted before answering: this command may not have been done");
	close_sockets(up);
	if (open_sockets(up) < 0) {
		fprintf(stderr, "steer-web: cannot connect to steerd (%s, %s): %s\n", up->control,
		        up->diagnostics, zmq_strerror(zmq_errno()));
		close_sockets(up);
		memset(&up->conn_st, 0, sizeof up->conn_st); /* try again at the next look */
		return;
	}
	send_hello(up);
}

static void on_new_hello(upstream *up, json_t *hdr, json_t *body)
{
	up->hello_sent_ms = 0;
	if (!json_is_true(json_object_get(hdr, "ok"))) {
		fprintf(stderr, "steer-web: the new steerd refused hello\n");
		return;
	}
	model_reset(up->model, body);
	pthread_mutex_lock(&up->mu);
	json_decref(up->hello);
	up->hello = json_incref(body);
	up->generation++;
	pthread_mutex_unlock(&up->mu);
	if (up->wake)
		up->wake(up->wake_arg);
}

static void on_poll_reply(upstream *up, const char *what, json_t *body)
{
	if (!strcmp(what, "poll-status"))
		model_status(up->model, body);
	else if (!strcmp(what, "poll-snapshot"))
		model_snapshot(up->model, body);
}

static void on_dealer(upstream *up, void *dealer)
{
	for (int i = 0; i < 256; i++) {
		json_t *hdr, *body;
		zmq_msg_t frames[MAX_REPLY_PARTS];
		int n_frames = 0;
		for (int k = 0; k < MAX_REPLY_PARTS; k++)
			zmq_msg_init(&frames[k]);
		int rc = recv_reply_frames(dealer, &hdr, &body, ZMQ_DONTWAIT, frames, &n_frames);
		if (rc < 0) {
			frames_close(frames, MAX_REPLY_PARTS);
			return;
		}
		json_t *id = json_object_get(hdr, "id");
		if (json_is_string(id) && !strcmp(json_string_value(id), "hello")) {
			on_new_hello(up, hdr, body);
		} else if (json_is_string(id)) {
			on_poll_reply(up, json_string_value(id), body);
			if (up->poll_waiting > 0)
				up->poll_waiting--;
		} else if (json_is_integer(id)) {
			for (size_t k = 0; k < UP_MAX_PENDING; k++) {
				pending *p = &up->pend[k];
				if (!p->used || p->id != json_integer_value(id))
					continue;
				json_t *msg = p->history
					? history_page_message(hdr, body, frames, n_frames)
					: json_pack("{s:s, s:O, s:s, s:O, s:O}", "type", "reply", "id",
					            p->browser_id, "cmd", p->cmd, "ok",
					            json_object_get(hdr, "ok"), "body", body);
				deliver(up, p->client, msg);
				finish_pending(up, p);
				break;
			}
		}
		json_decref(hdr);
		json_decref(body);
		frames_close(frames, MAX_REPLY_PARTS);
	}
}

static void send_polls(upstream *up)
{
	long long t = now_ms();
	if (up->hello_sent_ms) { /* a new steerd: nothing but its hello until it answers */
		if (t - up->hello_sent_ms >= POLL_STALE_MS)
			send_hello(up);
		return;
	}
	if (up->poll_waiting > 0 && t - up->poll_sent_ms < POLL_STALE_MS)
		return;
	if (t - up->poll_sent_ms < POLL_EVERY_MS)
		return;
	json_t *empty = json_object();
	json_t *a = json_string("poll-status"), *b = json_string("poll-snapshot");
	up->poll_waiting = 0;
	if (send_request(up->dealer, "status", a, "steer-web", empty) == 0)
		up->poll_waiting++;
	if (send_request(up->dealer, "snapshot", b, "steer-web", empty) == 0)
		up->poll_waiting++;
	json_decref(a);
	json_decref(b);
	json_decref(empty);
	up->poll_sent_ms = t;
}

static void *run(void *arg)
{
	upstream *up = arg;
	long long conn_checked_ms = now_ms();
	while (!up->stop) {
		zmq_pollitem_t items[3 + MAX_OPERATOR_SOCKETS + 1];
		size_t n = 0;
		bool connected = up->dealer != NULL; /* not after a failed reconnection */
		if (connected) {
			items[n++] = (zmq_pollitem_t){.socket = up->sub_events, .events = ZMQ_POLLIN};
			items[n++] = (zmq_pollitem_t){.socket = up->sub, .events = ZMQ_POLLIN};
			items[n++] = (zmq_pollitem_t){.socket = up->dealer, .events = ZMQ_POLLIN};
			for (size_t i = 0; i < up->n_ops; i++)
				items[n++] = (zmq_pollitem_t){.socket = up->ops[i].dealer, .events = ZMQ_POLLIN};
		}
		items[n++] = (zmq_pollitem_t){.fd = up->wake_pipe[0], .events = ZMQ_POLLIN};
		if (zmq_poll(items, (int)n, 100) < 0 && zmq_errno() != EINTR)
			break;
		if (connected) {
			if (items[0].revents)
				drain_stream(up, up->sub_events);
			if (items[1].revents)
				drain_stream(up, up->sub);
			if (items[2].revents)
				on_dealer(up, up->dealer);
			for (size_t i = 0; i < up->n_ops; i++)
				if (items[3 + i].revents)
					on_dealer(up, up->ops[i].dealer);
		}
		if (items[n - 1].revents)
			drain_queue(up);
		long long t = now_ms();
		if (t - conn_checked_ms >= POLL_EVERY_MS) {
			conn_checked_ms = t;
			follow_connfile(up);
		}
		if (up->dealer)
			send_polls(up);
	}
	return NULL;
}

/* ------------------------------------------------------------ start/stop */

static int read_hello(upstream *up, long timeout_ms, char *err, size_t errlen)
{
	json_t *id = json_string("hello"), *empty = json_object();
	int rc = send_request(up->dealer, "hello", id, "steer-web", empty);
	json_decref(id);
	json_decref(empty);
	if (rc < 0) {
		snprintf(err, errlen, "cannot send to steerd at %s", up->control);
		return -1;
	}
	zmq_pollitem_t it = {.socket = up->dealer, .events = ZMQ_POLLIN};
	if (zmq_poll(&it, 1, timeout_ms) <= 0) {
		snprintf(err, errlen, "steerd at %s does not answer (%ld ms)%s", up->control, timeout_ms,
		         up->curve ? "; is steer-web's key (--key) one steerd lists?" : "");
		return -1;
	}
	json_t *hdr, *body;
	if (recv_reply(up->dealer, &hdr, &body, 0) < 0) {
		snprintf(err, errlen, "steerd at %s sent a malformed reply", up->control);
		return -1;
	}
	bool ok = json_is_true(json_object_get(hdr, "ok"));
	json_decref(hdr);
	if (!ok) {
		snprintf(err, errlen, "steerd refused hello");
		json_decref(body);
		return -1;
	}
	up->hello = body;
	up->model = model_new(body);
	if (!up->model) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

upstream *upstream_start(const upstream_opts *o, char *err, size_t errlen)
{
	upstream *up = calloc(1, sizeof *up);
	if (!up) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&up->mu, NULL);
	up->wake = o->wake;
	up->wake_arg = o->wake_arg;
	up->wake_pipe[0] = up->wake_pipe[1] = -1;
	if (pipe2(up->wake_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto bad;
	}
	snprintf(up->connfile, sizeof up->connfile, "%s", o->connfile);
	if (read_connfile(up, o->connfile, err, errlen) < 0)
		goto bad;
	if (up->curve) {
		if (!o->key_file) {
			snprintf(err, errlen, "steerd at %s requires a CURVE key: give --key FILE (a "
			                      "NAME.key_secret steerd lists)", up->control);
			goto bad;
		}
		cert me;
		if (cert_load_secret(o->key_file, &me, err, errlen) < 0)
			goto bad;
		memcpy(up->public_key, me.public_key, CERT_KEY_BYTES);
		memcpy(up->secret_key, me.secret_key, CERT_KEY_BYTES);
		cert_wipe(&me);
		up->have_key = true;
	} else if (o->key_file) {
		snprintf(err, errlen, "--key: steerd at %s runs without security (no server_key in %s)",
		         up->control, o->connfile);
		goto bad;
	}
	up->zctx = zmq_ctx_new();
	if (open_sockets(up) < 0) {
		snprintf(err, errlen, "cannot connect to steerd (%s, %s): %s", up->control,
		         up->diagnostics, zmq_strerror(zmq_errno()));
		goto bad;
	}
	if (read_hello(up, o->hello_timeout_ms, err, errlen) < 0)
		goto bad;
	if (pthread_create(&up->thread, NULL, run, up) != 0) {
		snprintf(err, errlen, "cannot start a thread");
		goto bad;
	}
	up->thread_started = true;
	return up;
bad:
	upstream_stop(&up);
	return NULL;
}

void upstream_stop(upstream **upp)
{
	upstream *up = *upp;
	if (!up)
		return;
	up->stop = 1;
	if (up->thread_started)
		pthread_join(up->thread, NULL);
	close_sockets(up);
	if (up->zctx)
		zmq_ctx_term(up->zctx);
	for (size_t i = 0; i < UP_MAX_PENDING; i++)
		if (up->pend[i].used)
			json_decref(up->pend[i].browser_id);
	while (up->in_head) {
		queued_cmd *q = up->in_head;
		up->in_head = q->next;
		json_decref(q->browser_id);
		json_decref(q->body);
		free(q);
	}
	up_reply_free(up->out_head);
	model_free(&up->model);
	json_decref(up->hello);
	if (up->wake_pipe[0] >= 0)
		close(up->wake_pipe[0]);
	if (up->wake_pipe[1] >= 0)
		close(up->wake_pipe[1]);
	explicit_bzero(up->secret_key, sizeof up->secret_key);
	pthread_mutex_destroy(&up->mu);
	free(up);
	*upp = NULL;
}

/* ------------------------------------------------------------ web thread side */

json_t *upstream_hello(upstream *up)
{
	pthread_mutex_lock(&up->mu); /* replaced when steer-web follows a new steerd */
	json_t *h = json_incref(up->hello);
	pthread_mutex_unlock(&up->mu);
	return h;
}

uint64_t upstream_generation(upstream *up)
{
	pthread_mutex_lock(&up->mu);
	uint64_t g = up->generation;
	pthread_mutex_unlock(&up->mu);
	return g;
}

static int enqueue(upstream *up, uint64_t client, json_t *browser_id, const char *cmd,
                   json_t *body, const char *who, const char *key_file, bool history)
{
	queued_cmd *q = calloc(1, sizeof *q);
	if (!q) {
		json_decref(body);
		return -1;
	}
	q->client = client;
	q->browser_id = json_incref(browser_id);
	snprintf(q->cmd, sizeof q->cmd, "%s", cmd);
	q->body = body;
	snprintf(q->who, sizeof q->who, "%s", who);
	snprintf(q->key_file, sizeof q->key_file, "%s", key_file ? key_file : "");
	q->history = history;
	pthread_mutex_lock(&up->mu);
	if (up->n_inflight >= UP_MAX_PENDING) {
		pthread_mutex_unlock(&up->mu);
		json_decref(q->browser_id);
		json_decref(q->body);
		free(q);
		return -1;
	}
	up->n_inflight++;
	if (up->in_tail)
		up->in_tail->next = q;
	else
		up->in_head = q;
	up->in_tail = q;
	pthread_mutex_unlock(&up->mu);
	if (write(up->wake_pipe[1], "x", 1) < 0) {
		/* the pipe is full: the upstream thread has wake-ups pending already */
	}
	return 0;
}

int upstream_submit(upstream *up, uint64_t client, json_t *browser_id, const char *cmd,
                    json_t *body, const char *who, const char *key_file)
{
	return enqueue(up, client, browser_id, cmd, body, who, key_file, false);
}

int upstream_request_history(upstream *up, uint64_t client, size_t max_points)
{
	json_t *hello = upstream_hello(up), *names = json_array();
	size_t i;
	json_t *d;
	if (!json_is_array(json_object_get(hello, "capabilities"))) {
		json_decref(hello);
		json_decref(names);
		return -1;
	}
	bool has = false;
	json_array_foreach(json_object_get(hello, "capabilities"), i, d)
	{
		has = has || (json_is_string(d) && !strcmp(json_string_value(d), "history"));
	}
	json_array_foreach(json_object_get(hello, "diagnostics"), i, d)
	{
		if (json_integer_value(json_object_get(d, "rank")) == 0 && json_array_size(names) < 64)
			json_array_append(names, json_object_get(d, "name"));
	}
	json_decref(hello);
	if (!has || !json_array_size(names)) {
		json_decref(names);
		return -1; /* a steerd without history: the page starts from the live stream */
	}
	json_t *body = json_pack("{s:o, s:I, s:[s]}", "names", names, "max_points",
	                         (json_int_t)max_points, "stats", "mean");
	json_t *id = json_null();
	int rc = enqueue(up, client, id, "history", body, "steer-web", NULL, true);
	json_decref(id);
	return rc;
}

model *upstream_model(upstream *up)
{
	return up->model; /* made before the thread starts, never replaced */
}

up_reply *upstream_take_replies(upstream *up)
{
	pthread_mutex_lock(&up->mu);
	up_reply *r = up->out_head;
	up->out_head = up->out_tail = NULL;
	pthread_mutex_unlock(&up->mu);
	return r;
}

void up_reply_free(up_reply *r)
{
	while (r) {
		up_reply *next = r->next;
		json_decref(r->msg);
		free(r);
		r = next;
	}
}

