/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * client.c — the console's two sockets: requests on a DEALER, the stream on
 * a SUB, and the one poll loop over both.
 *
 * Replies are matched by the header `id`: one request is outstanding at a
 * time (plus an occasional background `hello` probe), and anything else that
 * arrives is a stale reply to a request we gave up on. When the daemon stops
 * answering, the DEALER is closed and opened again rather than reused, so a
 * late reply can never be mistaken for the answer to a newer request.
 *
 * Security: with --key, both sockets are CURVE clients (our key pair from the
 * NAME.key_secret file, the server's public key from the connection file's
 * "server_key" or --server-key), set on every socket, reconnects included.
 * A steerd that does not know our key never answers at all.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "cert.h"
#include "console.h"
#include "frames.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the stream's float64 frames are little-endian; this host is not"
#endif

#define STALE_MIN_MS 5000
#define BACKOFF_MAX_MS 10000

static void mark_lost(console *c);

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* The endpoints from the connection file; -1 when it is missing or bad. */
static int read_connfile(console *c, bool quiet)
{
	json_error_t jerr;
	json_t *j = json_load_file(c->connfile, 0, &jerr);
	const char *ctl = j ? json_string_value(json_object_get(j, "control")) : NULL;
	const char *diag = j ? json_string_value(json_object_get(j, "diagnostics")) : NULL;
	if (!ctl || !diag) {
		if (!quiet)
			con_error(c, "cannot read connection file %s: %s", c->connfile,
			          j ? "no control/diagnostics endpoints" : jerr.text);
		json_decref(j);
		return -1;
	}
	copy_str(c->control, sizeof c->control, ctl);
	copy_str(c->diagnostics, sizeof c->diagnostics, diag);
	const char *sk = json_string_value(json_object_get(j, "server_key"));
	copy_str(c->conn_server_key, sizeof c->conn_server_key,
	         sk && strlen(sk) == CERT_Z85_LEN ? sk : "");
	json_decref(j);
	/* A restarted daemon may have a new server key: follow the file unless told one. */
	if (c->curve && !c->server_key_arg && c->conn_server_key[0])
		zmq_z85_decode(c->server_key, c->conn_server_key);
	return 0;
}

/* The server's public key: an existing key file (NAME.key), else 40 characters of Z85. */
static int server_key_from(console *c, const char *arg)
{
	if (access(arg, F_OK) != 0) {
		if (strlen(arg) == CERT_Z85_LEN && zmq_z85_decode(c->server_key, arg))
			return 0;
		return con_error(c, "--server-key: '%s' is neither a key file nor a 40-character Z85 key",
		                 arg);
	}
	cert k;
	char err[1024];
	if (cert_load_public(arg, &k, err, sizeof err) < 0)
		return con_error(c, "--server-key: %s", err);
	memcpy(c->server_key, k.public_key, CON_KEY_BYTES);
	return 0;
}

/* Our keys and the server's, once, before the first socket. */
static int setup_curve(console *c)
{
	if (!c->key_file) {
		if (c->server_key_arg)
			return con_error(c, "--server-key needs --key FILE (your NAME.key_secret)");
		if (c->conn_server_key[0])
			return con_error(c, "steerd at %s requires a CURVE key: give --key FILE (your "
			                    "NAME.key_secret, made by `steerd keygen NAME`)", c->control);
		return 0;
	}
	cert me;
	char err[1024];
	if (cert_load_secret(c->key_file, &me, err, sizeof err) < 0)
		return con_error(c, "--key: %s", err);
	memcpy(c->public_key, me.public_key, CON_KEY_BYTES);
	memcpy(c->secret_key, me.secret_key, CON_KEY_BYTES);
	cert_wipe(&me);
	if (c->server_key_arg) {
		if (server_key_from(c, c->server_key_arg) < 0)
			return -1;
	} else if (c->conn_server_key[0]) {
		zmq_z85_decode(c->server_key, c->conn_server_key);
	} else {
		return con_error(c, "--key: no server key: %s; give --server-key Z85|FILE",
		                 c->connfile ? "the connection file has none (is security on in steerd?)"
		                             : "attaching by endpoint");
	}
	c->curve = true;
	return 0;
}

static void *open_socket(console *c, int type, const char *endpoint)
{
	void *s = zmq_socket(c->zctx, type);
	if (!s)
		return NULL;
	int zero = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	if (c->curve && (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, c->server_key, CON_KEY_BYTES) < 0 ||
	                 zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, c->public_key, CON_KEY_BYTES) < 0 ||
	                 zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->secret_key, CON_KEY_BYTES) < 0)) {
		con_error(c, "cannot make a CURVE client socket: %s", zmq_strerror(zmq_errno()));
		zmq_close(s);
		return NULL;
	}
	if (zmq_connect(s, endpoint) < 0) {
		con_error(c, "cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
		zmq_close(s);
		return NULL;
	}
	return s;
}

/* Events and heartbeats always: they keep the prompt and the event log going. */
static void open_sub(console *c)
{
	if (c->sub)
		zmq_close(c->sub);
	c->sub = NULL;
	if (!c->diagnostics[0])
		return;
	c->sub = open_socket(c, ZMQ_SUB, c->diagnostics);
	if (!c->sub)
		return;
	zmq_setsockopt(c->sub, ZMQ_SUBSCRIBE, "event.", 6);
	zmq_setsockopt(c->sub, ZMQ_SUBSCRIBE, "heartbeat", 9);
	for (size_t i = 0; i < c->n_subs; i++)
		zmq_setsockopt(c->sub, ZMQ_SUBSCRIBE, c->subs[i], strlen(c->subs[i]));
	c->last_heartbeat_ms = 0;
}

/*
 * Waits (at most the reply timeout) for the DEALER's first connection
 * attempt to end: 0 once connected, -1 when nothing listens there (refused,
 * or no such ipc socket). A connection that neither succeeds nor fails in
 * time (a silent firewall) counts as connected: the request timeout then
 * speaks. ZeroMQ hides connection errors; its socket monitor tells them.
 */
static int wait_connected(console *c)
{
	char ep[64];
	snprintf(ep, sizeof ep, "inproc://steer-console-monitor-%p", (void *)c->dealer);
	if (zmq_socket_monitor(c->dealer, ep, ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED) < 0)
		return 0;
	void *mon = zmq_socket(c->zctx, ZMQ_PAIR);
	int rc = 0, zero = 0;
	int64_t deadline = con_now_ms() + c->timeout_ms;
	if (mon && zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero) == 0 &&
	    zmq_connect(mon, ep) == 0) {
		for (;;) {
			int left = (int)(deadline - con_now_ms());
			if (left <= 0)
				break;
			zmq_setsockopt(mon, ZMQ_RCVTIMEO, &left, sizeof left);
			zmq_msg_t m; /* frame 1: event (u16) + value (u32); frame 2: address */
			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, mon, 0) < 0) {
				zmq_msg_close(&m);
				break;
			}
			uint16_t event = 0;
			if (zmq_msg_size(&m) >= 2)
				memcpy(&event, zmq_msg_data(&m), 2);
			bool more = zmq_msg_more(&m);
			zmq_msg_close(&m);
			while (more) {
				zmq_msg_init(&m);
				if (zmq_msg_recv(&m, mon, 0) < 0)
					more = false;
				else
					more = zmq_msg_more(&m);
				zmq_msg_close(&m);
			}
			if (event == ZMQ_EVENT_CONNECTED || event == ZMQ_EVENT_CONNECT_RETRIED) {
				rc = event == ZMQ_EVENT_CONNECTED ? 0 : -1;
				break;
			}
		}
	}
	zmq_socket_monitor(c->dealer, NULL, 0);
	if (mon)
		zmq_close(mon);
	return rc;
}

/* " (pid N, named in the connection file, is not running)", or "". */
static void dead_pid_note(const console *c, char *buf, size_t len)
{
	buf[0] = '\0';
	json_t *j = c->connfile ? json_load_file(c->connfile, 0, NULL) : NULL;
	json_t *pid = json_object_get(j, "pid");
	if (json_is_integer(pid) && json_integer_value(pid) > 0 &&
	    kill((pid_t)json_integer_value(pid), 0) < 0 && errno == ESRCH)
		snprintf(buf, len, " (pid %lld, named in %s, is not running)",
		         (long long)json_integer_value(pid), c->connfile);
	json_decref(j);
}

int con_connect(console *c)
{
	if (!c->zctx)
		c->zctx = zmq_ctx_new();
	if (c->connfile) {
		if (read_connfile(c, false) < 0)
			return -1;
	} else {
		copy_str(c->control, sizeof c->control, c->endpoint_arg);
	}
	if (setup_curve(c) < 0)
		return -1;
	c->dealer = open_socket(c, ZMQ_DEALER, c->control);
	if (!c->dealer)
		return -1;
	open_sub(c);
	if (wait_connected(c) < 0) {
		/* Said at once instead of after 3 request timeouts. */
		char note[PATH_MAX + 96];
		dead_pid_note(c, note, sizeof note);
		con_error(c, "cannot reach steerd at %s: nothing is listening there%s", c->control,
		          note);
		if (!c->interactive)
			return -1;
		mark_lost(c); /* the interactive console keeps trying in the background */
	}
	return 0;
}

void con_disconnect(console *c)
{
	if (c->dealer)
		zmq_close(c->dealer);
	if (c->sub)
		zmq_close(c->sub);
	c->dealer = c->sub = NULL;
}

/* Fresh sockets; the connection file is read again since a restarted daemon
 * may have new ports (a missing file keeps the old endpoints). */
void con_reconnect(console *c)
{
	if (c->dealer)
		zmq_close(c->dealer);
	c->dealer = NULL;
	if (c->connfile)
		read_connfile(c, true);
	c->dealer = open_socket(c, ZMQ_DEALER, c->control);
	open_sub(c);
}

void con_subscribe(console *c, const char *topic)
{
	if (c->n_subs < CON_MAX_SUBS)
		c->subs[c->n_subs++] = strdup(topic);
	if (c->sub)
		zmq_setsockopt(c->sub, ZMQ_SUBSCRIBE, topic, strlen(topic));
}

void con_unsubscribe(console *c, const char *topic)
{
	for (size_t i = 0; i < c->n_subs; i++) {
		if (strcmp(c->subs[i], topic) == 0) {
			free(c->subs[i]);
			c->subs[i] = c->subs[--c->n_subs];
			break;
		}
	}
	if (c->sub)
		zmq_setsockopt(c->sub, ZMQ_UNSUBSCRIBE, topic, strlen(topic));
}

/*
 * Send one request; body is borrowed. Every request carries a retry_key so
 * that con_call can send a write again after a lost reply without the daemon
 * applying it twice (PROTOCOL.md, "Retrying writes").
 */
static long long send_request(console *c, const char *cmd, const json_t *body, const char *key)
{
	if (!c->dealer)
		return -1;
	long long id = c->next_id++;
	json_t *hdr = json_pack("{s:s, s:I, s:s, s:i, s:s}", "cmd", cmd, "id", (json_int_t)id, "client",
	                        c->name, "protocol", 1, "retry_key", key);
	int rc = hdr ? frames_send_request(c->dealer, hdr, body) : -1;
	json_decref(hdr);
	return rc < 0 ? -1 : id;
}

/* A key no other request of this or another console uses. */
static void new_retry_key(console *c, char *key, size_t len)
{
	snprintf(key, len, "%ld-%lld-%lld", (long)getpid(), (long long)con_now_ms(), c->next_id);
}

long long con_send(console *c, const char *cmd, json_t *body)
{
	char key[64];
	new_retry_key(c, key, sizeof key);
	long long id = send_request(c, cmd, body, key);
	json_decref(body);
	return id;
}

/*
 * What the daemon now answering is, compared with the one of the last hello
 * (their run_id and start_id): ": the same process", ": the same run,
 * restarted from its checkpoint at step N" or ": a different run (run ID)";
 * "" when either hello has no ids. True when it is another process.
 */
bool con_identity_note(const json_t *old, const json_t *now, char *out, size_t outlen)
{
	const char *old_run = json_string_value(json_object_get(old, "run_id"));
	const char *old_start = json_string_value(json_object_get(old, "start_id"));
	const char *run = json_string_value(json_object_get(now, "run_id"));
	const char *start = json_string_value(json_object_get(now, "start_id"));
	const json_t *restart = json_object_get(now, "restart_step");
	out[0] = '\0';
	if (!old_run || !old_start || !run || !start)
		return false;
	if (!strcmp(old_start, start)) {
		snprintf(out, outlen, ": the same process");
		return false;
	}
	if (!strcmp(old_run, run) && json_is_integer(restart))
		snprintf(out, outlen, ": the same run, restarted from its checkpoint at step %lld",
		         (long long)json_integer_value(restart));
	else if (!strcmp(old_run, run))
		snprintf(out, outlen, ": the same run, restarted");
	else
		snprintf(out, outlen, ": a different run (run %.8s)", run);
	return true;
}

static void probe_reply(console *c, json_t *hdr, json_t *body)
{
	c->probe_id = 0;
	if (!json_is_true(json_object_get(hdr, "ok")))
		return;
	bool was_lost = c->lost;
	c->lost = false;
	c->backoff_ms = 1000;
	char note[160];
	bool changed = con_identity_note(c->hello, body, note, sizeof note);
	con_set_hello(c, json_incref(body));
	if ((was_lost || changed) && c->interactive)
		con_async(c, "%s: connected to steerd (%s, %s, step %llu)%s", CON_PROG,
		          schema_str(json_object_get(c->hello, "adapter"), "name"), c->state, c->step,
		          note);
}

void con_free_frames(console *c)
{
	for (int i = 0; i < c->n_reply_frames; i++)
		free(c->reply_frames[i].data);
	c->n_reply_frames = 0;
}

/* The binary frames after a reply's body, copied for the command that asked. */
static void keep_frames(console *c, zmq_msg_t *parts, int n)
{
	con_free_frames(c);
	for (int i = 0; i < n && i < CON_MAX_FRAMES; i++) {
		size_t len = zmq_msg_size(&parts[i]);
		void *copy = malloc(len ? len : 1);
		if (!copy)
			break;
		memcpy(copy, zmq_msg_data(&parts[i]), len);
		c->reply_frames[c->n_reply_frames++] = (con_frame){ copy, len };
	}
}

static void on_reply(console *c, zmq_msg_t *parts, int n)
{
	/* A DEALER gets ["", header, body] (`history`: and its frames). */
	if (n < 3 || zmq_msg_size(&parts[0]) != 0)
		return;
	json_t *hdr = frames_json(&parts[1]), *body = frames_json(&parts[2]);
	json_t *jid = json_object_get(hdr, "id");
	long long id = json_is_integer(jid) ? (long long)json_integer_value(jid) : -1;
	if (id > 0 && id == c->call_id && !c->reply_hdr) {
		c->reply_hdr = hdr;
		c->reply_body = body;
		keep_frames(c, parts + 3, n - 3);
		if (c->lost) { /* it answers again: refresh the schema in the background */
			c->lost = false;
			c->refresh = true;
			c->backoff_ms = 1000;
		}
		return;
	}
	if (id > 0 && id == c->probe_id)
		probe_reply(c, hdr, body);
	json_decref(hdr);
	json_decref(body);
}

static void mark_lost(console *c)
{
	c->lost = true;
	c->backoff_ms = 1000;
	c->next_probe_ms = con_now_ms() + c->backoff_ms;
	c->probe_id = 0;
}

static void set_state(console *c, const char *s)
{
	if (s)
		snprintf(c->state, sizeof c->state, "%s", s);
}

static void on_stream(console *c, const char *topic, json_t *hdr, const double *d, size_t n)
{
	json_t *st = json_object_get(hdr, "step");
	if (json_is_integer(st))
		c->step = (unsigned long long)json_integer_value(st);
	if (strcmp(topic, "heartbeat") == 0) {
		int64_t now = con_now_ms();
		if (c->last_heartbeat_ms)
			c->heartbeat_gap_ms = now - c->last_heartbeat_ms;
		c->last_heartbeat_ms = now;
		set_state(c, json_string_value(json_object_get(hdr, "state")));
	} else if (strncmp(topic, "event.", 6) == 0) {
		const char *ev = topic + 6;
		if (strcmp(ev, "paused") == 0 || strcmp(ev, "step_failed") == 0)
			set_state(c, "paused");
		else if (strcmp(ev, "resumed") == 0)
			set_state(c, "running");
		else if (strcmp(ev, "shutting_down") == 0)
			set_state(c, "stopping");
		if (strcmp(ev, "shutting_down") == 0 && c->interactive)
			mark_lost(c); /* start looking for its successor */
		char line[1024];
		if (c->interactive && event_format(c, ev, hdr, line, sizeof line))
			con_async(c, "%s", line);
	}
	if (c->hook)
		c->hook(c, topic, hdr, d, n, c->hook_arg);
}

/* One stream message: topic, header, and for scalars/array.* the float64 frame. */
static int read_stream_one(console *c)
{
	zmq_msg_t parts[3];
	int n = frames_recv(c->sub, parts, 3, ZMQ_DONTWAIT);
	if (n < 0)
		return -1;
	if (n >= 2) {
		char topic[256];
		size_t tl = zmq_msg_size(&parts[0]);
		if (tl >= sizeof topic)
			tl = sizeof topic - 1;
		memcpy(topic, zmq_msg_data(&parts[0]), tl);
		topic[tl] = '\0';
		json_t *hdr = frames_json(&parts[1]);
		double *data = NULL;
		size_t nd = 0;
		if (n == 3 && hdr) {
			nd = zmq_msg_size(&parts[2]) / sizeof(double);
			data = malloc(nd * sizeof(double) + 1);
			/* Copied: a frame's bytes need not be aligned for double. */
			if (data)
				memcpy(data, zmq_msg_data(&parts[2]), nd * sizeof(double));
			else
				nd = 0;
		}
		if (hdr)
			on_stream(c, topic, hdr, data, nd);
		free(data);
		json_decref(hdr);
	}
	frames_close(parts, n);
	return 0;
}

int con_poll(console *c, long timeout_ms, bool want_stdin)
{
	if (con_interrupted)
		return CON_EV_INTR;
	zmq_pollitem_t it[3];
	int n = 0, i_dealer = -1, i_sub = -1, i_stdin = -1;
	if (c->dealer) {
		i_dealer = n;
		it[n++] = (zmq_pollitem_t){ .socket = c->dealer, .events = ZMQ_POLLIN };
	}
	if (c->sub) {
		i_sub = n;
		it[n++] = (zmq_pollitem_t){ .socket = c->sub, .events = ZMQ_POLLIN };
	}
	if (want_stdin) {
		i_stdin = n;
		it[n++] = (zmq_pollitem_t){ .fd = 0, .events = ZMQ_POLLIN };
	}
	int rc = zmq_poll(it, n, timeout_ms);
	int ev = 0;
	if (rc > 0) {
		if (i_dealer >= 0 && (it[i_dealer].revents & ZMQ_POLLIN)) {
			zmq_msg_t parts[3 + CON_MAX_FRAMES];
			int np;
			while ((np = frames_recv(c->dealer, parts, 3 + CON_MAX_FRAMES, ZMQ_DONTWAIT)) >= 0) {
				on_reply(c, parts, np);
				frames_close(parts, np);
			}
		}
		/* Bounded, so a fast stream cannot starve the keyboard. */
		if (i_sub >= 0 && (it[i_sub].revents & ZMQ_POLLIN))
			for (int k = 0; k < 2000 && c->sub && read_stream_one(c) == 0; k++)
				;
		if (i_stdin >= 0 && (it[i_stdin].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
			ev |= CON_EV_STDIN;
	} else if (rc < 0 && errno != EINTR) {
		con_error(c, "zmq_poll: %s", zmq_strerror(errno));
	}
	if (c->reply_hdr)
		ev |= CON_EV_REPLY;
	if (con_interrupted)
		ev |= CON_EV_INTR;
	return ev;
}

int con_call(console *c, const char *cmd, json_t *body, json_t **out)
{
	*out = NULL;
	if (c->lost) {
		/* Known to be unreachable: say so now rather than after the timeouts. */
		json_decref(body);
		return con_error(c, "%s: not sent: not connected to steerd at %s (reconnecting in "
		                 "the background)", cmd, c->control);
	}
	char key[64];
	new_retry_key(c, key, sizeof key);
	json_decref(c->reply_hdr);
	json_decref(c->reply_body);
	c->reply_hdr = c->reply_body = NULL;
	con_free_frames(c);
	/*
	 * A lost reply is asked for again on fresh sockets, with the same
	 * retry_key: the daemon answers a write it already applied with its first
	 * reply instead of applying it twice.
	 */
	for (int attempt = 1;; attempt++) {
		long long id = send_request(c, cmd, body, key);
		if (id < 0) {
			json_decref(body);
			return con_error(c, "%s: cannot send the request", cmd);
		}
		c->call_id = id;
		int64_t deadline = con_now_ms() + c->timeout_ms;
		int ev = 0;
		while (!(ev & (CON_EV_REPLY | CON_EV_INTR)) && con_now_ms() < deadline)
			ev = con_poll(c, (long)(deadline - con_now_ms()), false);
		if (ev & CON_EV_REPLY)
			break;
		c->call_id = 0;
		if (ev & CON_EV_INTR) {
			json_decref(body);
			return con_error(c, "%s: interrupted", cmd);
		}
		/* New sockets: a late answer must not pass for the next one's. */
		con_reconnect(c);
		if (attempt == CON_CALL_ATTEMPTS) {
			json_decref(body);
			con_error(c, "%s: no reply from steerd within %d x %.3g s (is it running%s?)%s", cmd,
			          CON_CALL_ATTEMPTS, c->timeout_ms / 1000.0,
			          c->curve ? ", and does it know this key" : "",
			          c->interactive ? "; reconnecting in the background" : "");
			mark_lost(c);
			return -1;
		}
		/* Said on stderr, as errors are: a script's output stays clean. */
		con_error(c, "%s: no reply within %.3g s; asking again (attempt %d of %d)", cmd,
		          c->timeout_ms / 1000.0, attempt + 1, CON_CALL_ATTEMPTS);
	}
	json_decref(body);
	c->call_id = 0;
	json_t *hdr = c->reply_hdr, *rb = c->reply_body;
	c->reply_hdr = c->reply_body = NULL;
	int rc = 0;
	if (json_is_true(json_object_get(hdr, "ok")) && json_is_object(rb)) {
		*out = rb;
		if (json_is_integer(json_object_get(rb, "step")))
			c->cmd_step = (long long)json_integer_value(json_object_get(rb, "step"));
	} else {
		json_t *err = json_object_get(rb, "error");
		if (c->json && rb)
			con_json_line(rb);
		con_error(c, "%s failed: %s (%s)", cmd,
		          schema_str(err, "message")[0] ? schema_str(err, "message") : "malformed reply",
		          schema_str(err, "code")[0] ? schema_str(err, "code") : "?");
		json_decref(rb);
		rc = -1;
	}
	json_decref(hdr);
	return rc;
}

void con_set_hello(console *c, json_t *body)
{
	json_decref(c->hello);
	c->hello = body;
	set_state(c, json_string_value(json_object_get(body, "state")));
	json_t *st = json_object_get(body, "step");
	if (json_is_integer(st))
		c->step = (unsigned long long)json_integer_value(st);
	/* Given only the control endpoint, hello says where the stream is. */
	const char *diag = json_string_value(json_object_get(body, "diagnostics_endpoint"));
	if (!c->connfile && diag && strcmp(diag, c->diagnostics) != 0) {
		copy_str(c->diagnostics, sizeof c->diagnostics, diag);
		open_sub(c);
	}
}

int con_hello(console *c)
{
	json_t *body;
	if (con_call(c, "hello", NULL, &body) < 0)
		return -1;
	con_set_hello(c, body);
	return 0;
}

/* A heartbeat is overdue when it is 3 periods late (at least 5 s). */
static int64_t stale_ms(const console *c)
{
	int64_t s = 3 * c->heartbeat_gap_ms;
	return s > STALE_MIN_MS ? s : STALE_MIN_MS;
}

void con_idle(console *c)
{
	int64_t now = con_now_ms();
	if (!c->lost && c->last_heartbeat_ms && now - c->last_heartbeat_ms > stale_ms(c)) {
		con_async(c, "%s: no heartbeat from steerd for %lld s; reconnecting", CON_PROG,
		          (long long)((now - c->last_heartbeat_ms) / 1000));
		c->last_heartbeat_ms = 0;
		mark_lost(c);
	}
	if (c->refresh && !c->lost) {
		/* A reply came back after a loss: the daemon may have restarted. */
		c->refresh = false;
		c->probe_id = con_send(c, "hello", NULL);
	}
	if (c->lost && now >= c->next_probe_ms) {
		con_reconnect(c);
		c->probe_id = con_send(c, "hello", NULL);
		c->next_probe_ms = now + c->backoff_ms;
		c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
	}
}

long con_idle_timeout(const console *c)
{
	if (c->lost) {
		int64_t left = c->next_probe_ms - con_now_ms();
		return left < 0 ? 0 : (long)left;
	}
	return 1000;
}
