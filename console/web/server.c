/* SPDX-License-Identifier: MIT */
/*
 * server.c — libwebsockets callbacks: the page over HTTP, the run over a
 * WebSocket per browser (server.h).
 *
 * Everything here runs on the one lws service thread; the upstream thread
 * only wakes it (lws_cancel_service) when replies to commands are waiting.
 * A timer at --fps asks each browser that has acknowledged its last frame,
 * and has something new to see, for a write; the write builds the frame
 * from the upstream model at that moment, so a browser always gets the
 * newest state and what happened in between is dropped for it alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "assets.h"
#include "server.h"
#include "webcfg.h"
#include "webcmd.h"

#define MAX_RX 16384      /* bytes of one message from a browser */
#define MAX_OUTBOX 32     /* replies waiting for one browser */
#define MAX_INFLIGHT 8    /* commands of one browser waiting for steerd */
#define EVENTS_PER_FRAME 256
#define ARRAY_POINTS 4000 /* an array is thinned to at most this many points */
/*
 * Arrays (the profiles and the phase-space sample, most of a frame's bytes
 * and of the page's drawing) go to a browser at most this often; the
 * scalars, step and state follow at --fps. Drawing every array at every
 * frame cost the browser several times more CPU than everything else.
 */
#define ARRAYS_EVERY_US 100000
#define HISTORY_POINTS 2000 /* points of each scalar's past sent to a new page */

volatile sig_atomic_t server_stop_requested;
volatile sig_atomic_t server_reload_requested;

typedef struct client {
	struct client *next;
	struct lws *wsi;
	uint64_t serial;
	char sid[AUTH_ID_LEN + 1];
	bool awaiting_ack;
	bool closing;
	uint64_t sent_version, sent_arrays_version;
	long long arrays_sent_us; /* CLOCK_MONOTONIC */
	uint64_t ev_cursor, ev_lost;
	char *out[MAX_OUTBOX]; /* serialized messages, oldest first */
	size_t n_out;
	int inflight;
	char *rx;
	size_t rx_len;
} client;

typedef struct http_pss {
	const unsigned char *body;
	size_t len, sent;
} http_pss;

static struct {
	const server_opts *o;
	struct lws_context *ctx;
	upstream *up;
	client *clients;
	uint64_t next_serial;
	char cookie_name[32];
	char *chartjs;
	size_t chartjs_len;
	lws_sorted_usec_list_t tick;
	uint64_t generation; /* upstream_generation() the pages were greeted with */
	int tick_us;
} S;

static const char security_headers[][2][160] = {
	{"content-security-policy:",
	 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	 "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"},
	{"x-content-type-options:", "nosniff"},
	{"x-frame-options:", "DENY"},
	{"referrer-policy:", "no-referrer"},
	{"cache-control:", "no-store"},
};

static const unsigned char page_forbidden[] =
	"<!DOCTYPE html><title>steer-web</title><p>This page needs the address steer-web printed "
	"when it started (it ends in <code>?token=...</code>), or an operator's address.</p>\n";
static const unsigned char page_not_found[] = "not found\n";

/* ------------------------------------------------------------ HTTP */

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
	                                   (const unsigned char *)value, (int)strlen(value), p, end);
}

/* Headers, then the body on the next writable callback. */
static int respond(struct lws *wsi, http_pss *pss, unsigned status, const char *mime,
                   const unsigned char *body, size_t len, const char *cookie, const char *location)
{
	unsigned char buf[LWS_PRE + 4096], *start = buf + LWS_PRE, *p = start,
	                                   *end = buf + sizeof buf - 1;
	if (lws_add_http_common_headers(wsi, status, mime, len, &p, end))
		return 1;
	for (size_t i = 0; i < sizeof security_headers / sizeof *security_headers; i++)
		if (add_header(wsi, security_headers[i][0], security_headers[i][1], &p, end))
			return 1;
	if (cookie && add_header(wsi, "set-cookie:", cookie, &p, end))
		return 1;
	if (location && add_header(wsi, "location:", location, &p, end))
		return 1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	pss->body = body;
	pss->len = len;
	pss->sent = 0;
	if (!len)
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	lws_callback_on_writable(wsi);
	return 0;
}

static int write_body(struct lws *wsi, http_pss *pss)
{
	unsigned char buf[LWS_PRE + 16384];
	size_t n = pss->len - pss->sent;
	if (n > sizeof buf - LWS_PRE)
		n = sizeof buf - LWS_PRE;
	memcpy(buf + LWS_PRE, pss->body + pss->sent, n);
	pss->sent += n;
	bool last = pss->sent == pss->len;
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	if (last)
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	lws_callback_on_writable(wsi);
	return 0;
}

static bool header(struct lws *wsi, enum lws_token_indexes h, char *buf, int len)
{
	int n = lws_hdr_total_length(wsi, h);
	if (n <= 0 || n >= len)
		return false;
	return lws_hdr_copy(wsi, buf, len, h) > 0;
}

static const web_session *session_of(struct lws *wsi)
{
	char cookie[4096];
	if (!header(wsi, WSI_TOKEN_HTTP_COOKIE, cookie, sizeof cookie))
		return NULL;
	return auth_from_cookie(S.o->auth, cookie, S.cookie_name);
}

static int serve(struct lws *wsi, http_pss *pss, const char *uri)
{
	char host[256];
	if (!header(wsi, WSI_TOKEN_HOST, host, sizeof host) || !auth_host_ok(S.o->auth, host)) {
		static const unsigned char msg[] = "this Host is not served (DNS rebinding?); "
		                                   "use the address steer-web printed\n";
		return respond(wsi, pss, 403, "text/plain", msg, sizeof msg - 1, NULL, NULL);
	}
	if (!strcmp(uri, "/")) {
		char arg[512];
		const char *token = lws_get_urlarg_by_name(wsi, "token=", arg, sizeof arg);
		if (token) {
			const web_session *s = auth_exchange(S.o->auth, token);
			if (!s)
				return respond(wsi, pss, 403, "text/html", page_forbidden,
				               sizeof page_forbidden - 1, NULL, NULL);
			lwsl_user("steer-web: a browser joined as %s\n", s->name);
			char cookie[256];
			snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict",
			         S.cookie_name, s->id);
			/* The token leaves the address bar (and the history): the page is "/". */
			return respond(wsi, pss, 303, "text/plain", NULL, 0, cookie, "/");
		}
		if (!session_of(wsi))
			return respond(wsi, pss, 403, "text/html", page_forbidden, sizeof page_forbidden - 1,
			               NULL, NULL);
		uri = "/index.html";
	}
	if (!strcmp(uri, "/chart.js"))
		return respond(wsi, pss, 200, "text/javascript", (const unsigned char *)S.chartjs,
		               S.chartjs_len, NULL, NULL);
	for (const web_asset *a = web_assets; a->path; a++)
		if (!strcmp(uri, a->path))
			return respond(wsi, pss, 200, a->mime, a->data, a->len, NULL, NULL);
	return respond(wsi, pss, 404, "text/plain", page_not_found, sizeof page_not_found - 1, NULL,
	               NULL);
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
	http_pss *pss = user;
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return 1; /* a WebSocket without the steer-web subprotocol */
	case LWS_CALLBACK_HTTP:
		return serve(wsi, pss, in ? (const char *)in : "/");
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return pss && pss->body ? write_body(wsi, pss) : 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ------------------------------------------------------------ WebSocket */

static void queue_out(client *c, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!text)
		return;
	if (c->n_out == MAX_OUTBOX) {
		free(text); /* a browser that sends without reading loses replies, not memory */
		return;
	}
	c->out[c->n_out++] = text;
	lws_callback_on_writable(c->wsi);
}

static void reply_error(client *c, json_t *id, const char *cmd, const char *code, const char *msg)
{
	queue_out(c, json_pack("{s:s, s:O, s:s?, s:b, s:{s:{s:s, s:s}}}", "type", "reply", "id",
	                       id ? id : json_null(), "cmd", cmd, "ok", 0, "body", "error", "code", code,
	                       "message", msg));
}

static client *find_client(uint64_t serial)
{
	for (client *c = S.clients; c; c = c->next)
		if (c->serial == serial)
			return c;
	return NULL;
}

static int filter_ws(struct lws *wsi, client *c)
{
	char host[256], origin[512];
	if (!header(wsi, WSI_TOKEN_HOST, host, sizeof host) || !auth_host_ok(S.o->auth, host))
		return 1;
	if (!header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin) || !auth_origin_ok(origin, host))
		return 1;
	const web_session *s = session_of(wsi);
	if (!s)
		return 1;
	memset(c, 0, sizeof *c);
	snprintf(c->sid, sizeof c->sid, "%s", s->id);
	return 0;
}

/* The run as steerd's hello describes it, then its past: the page (re)builds itself from them. */
static void greet(client *c)
{
	const web_session *s = auth_lookup(S.o->auth, c->sid);
	json_t *hello = upstream_hello(S.up);
	queue_out(c, json_pack("{s:s, s:s, s:s, s:i, s:o}", "type", "hello", "role",
	                       s && s->role == ROLE_OPERATOR ? "operator" : "observer", "name",
	                       s ? s->name : "?", "fps", S.o->fps, "run", hello));
	/* The run's past, from steerd's history: the page starts with it, then follows frames. */
	upstream_request_history(S.up, c->serial, HISTORY_POINTS);
}

static void on_established(struct lws *wsi, client *c)
{
	c->wsi = wsi;
	c->serial = ++S.next_serial;
	c->next = S.clients;
	S.clients = c;
	/* Recent events too, so the page shows the latest steering at once. */
	uint64_t head = model_event_head(upstream_model(S.up));
	c->ev_cursor = head > 64 ? head - 64 : 0;
	greet(c);
}

static void on_message(client *c, const char *text, size_t len)
{
	json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!json_is_object(msg) || !type) {
		reply_error(c, NULL, NULL, "bad_request", "a message is a JSON object with a type");
	} else if (!strcmp(type, "ack")) {
		c->awaiting_ack = false;
	} else if (!strcmp(type, "cmd")) {
		json_t *id = json_object_get(msg, "id");
		const web_session *s = auth_lookup(S.o->auth, c->sid);
		const char *cmd = json_string_value(json_object_get(msg, "cmd")), *code;
		char why[512];
		json_t *body = NULL;
		json_t *hello = upstream_hello(S.up);
		if (!json_is_integer(id)) {
			reply_error(c, NULL, cmd, "bad_request", "a command has an integer id");
		} else if (!s) {
			reply_error(c, id, cmd, "forbidden", "this session has been revoked");
		} else if (webcmd_check(hello, s->role == ROLE_OPERATOR, msg, &cmd, &body, &code, why,
		                        sizeof why) < 0) {
			reply_error(c, id, cmd, code, why);
		} else if (c->inflight >= MAX_INFLIGHT) {
			json_decref(body);
			reply_error(c, id, cmd, "busy", "too many commands of this page are waiting");
		} else if (upstream_submit(S.up, c->serial, id, cmd, body, s->name, s->key) < 0) {
			reply_error(c, id, cmd, "busy", "steer-web has too many commands waiting");
		} else {
			c->inflight++;
			lwsl_user("steer-web: %s sends %s\n", s->name, cmd);
		}
		json_decref(hello);
	} else {
		reply_error(c, NULL, NULL, "bad_request", "unknown message type");
	}
	json_decref(msg);
}

static int on_receive(struct lws *wsi, client *c, const void *in, size_t len)
{
	if (lws_frame_is_binary(wsi) || c->rx_len + len > MAX_RX) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
		return -1;
	}
	char *rx = realloc(c->rx, c->rx_len + len + 1);
	if (!rx)
		return -1;
	c->rx = rx;
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	on_message(c, c->rx, c->rx_len);
	c->rx_len = 0;
	return 0;
}

static int send_text(struct lws *wsi, const char *text)
{
	size_t n = strlen(text);
	unsigned char *buf = malloc(LWS_PRE + n);
	if (!buf)
		return -1;
	memcpy(buf + LWS_PRE, text, n);
	int rc = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n ? -1 : 0;
	free(buf);
	return rc;
}

static long long mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int send_frame(client *c)
{
	uint64_t av = model_arrays_version(upstream_model(S.up));
	long long now = mono_us();
	bool arrays = av != c->sent_arrays_version && now - c->arrays_sent_us >= ARRAYS_EVERY_US;
	json_t *f = model_frame(upstream_model(S.up), arrays, ARRAY_POINTS);
	uint64_t lost = 0;
	json_object_set_new(f, "type", json_string("frame"));
	json_object_set_new(f, "events", model_events(upstream_model(S.up), &c->ev_cursor, EVENTS_PER_FRAME, &lost));
	c->ev_lost += lost;
	json_object_set_new(f, "events_lost", json_integer((json_int_t)c->ev_lost));
	c->sent_version = (uint64_t)json_integer_value(json_object_get(f, "version"));
	if (arrays) {
		c->sent_arrays_version = av;
		c->arrays_sent_us = now;
	}
	char *text = json_dumps(f, JSON_COMPACT | JSON_REAL_PRECISION(7));
	json_decref(f);
	c->awaiting_ack = true;
	int rc = text ? send_text(c->wsi, text) : -1;
	free(text);
	return rc;
}

static int on_writeable(client *c)
{
	if (c->closing) {
		lws_close_reason(c->wsi, 4001, (unsigned char *)"revoked", 7);
		return -1;
	}
	if (c->n_out) {
		char *text = c->out[0];
		memmove(c->out, c->out + 1, --c->n_out * sizeof *c->out);
		int rc = send_text(c->wsi, text);
		free(text);
		if (c->n_out)
			lws_callback_on_writable(c->wsi);
		return rc;
	}
	if (!c->awaiting_ack && model_version(upstream_model(S.up)) != c->sent_version)
		return send_frame(c);
	return 0;
}

static void on_closed(client *c)
{
	for (client **pp = &S.clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	for (size_t i = 0; i < c->n_out; i++)
		free(c->out[i]);
	free(c->rx);
	c->n_out = 0;
	c->rx = NULL;
}

static void deliver_replies(void)
{
	up_reply *r = upstream_take_replies(S.up);
	for (up_reply *p = r; p; p = p->next) {
		client *c = find_client(p->client);
		if (!c)
			continue; /* the page has gone; its command was done all the same */
		const char *type = json_string_value(json_object_get(p->msg, "type"));
		if (type && !strcmp(type, "reply"))
			c->inflight--;
		queue_out(c, json_incref(p->msg));
	}
	up_reply_free(r);
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
	client *c = user;
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return filter_ws(wsi, c);
	case LWS_CALLBACK_ESTABLISHED:
		on_established(wsi, c);
		break;
	case LWS_CALLBACK_RECEIVE:
		return on_receive(wsi, c, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return on_writeable(c);
	case LWS_CALLBACK_CLOSED:
		on_closed(c);
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (S.up)
			deliver_replies();
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{"http", cb_http, sizeof(http_pss), 0, 0, NULL, 0},
	{"steer-web", cb_ws, sizeof(client), MAX_RX, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ------------------------------------------------------------ timer, reload */

static void reload(void)
{
	webcfg cfg;
	char err[1024];
	if (!S.o->config_path) {
		lwsl_user("steer-web: SIGHUP: no config file (-c) to read again\n");
		return;
	}
	if (webcfg_load(S.o->config_path, &cfg, err, sizeof err) < 0) {
		lwsl_err("steer-web: SIGHUP: %s; the operators in effect stay\n", err);
		return;
	}
	int ended = auth_reload(S.o->auth, &cfg);
	int closed = 0;
	for (client *c = S.clients; c; c = c->next)
		if (!auth_lookup(S.o->auth, c->sid)) {
			c->closing = true;
			lws_callback_on_writable(c->wsi);
			closed++;
		}
	lwsl_user("steer-web: SIGHUP: %zu operators; %d sessions revoked, %d pages closed\n",
	          cfg.n_ops, ended, closed);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
	if (server_stop_requested) {
		lws_cancel_service(S.ctx);
		return;
	}
	if (server_reload_requested) {
		server_reload_requested = 0;
		reload();
	}
	uint64_t g = upstream_generation(S.up);
	if (g != S.generation) { /* steer-web follows a new steerd: every page starts again */
		S.generation = g;
		lwsl_user("steer-web: following a new steerd; %s pages start again\n",
		          S.clients ? "the" : "no");
		for (client *c = S.clients; c; c = c->next)
			greet(c);
	}
	uint64_t v = model_version(upstream_model(S.up));
	for (client *c = S.clients; c; c = c->next)
		if (!c->awaiting_ack && v != c->sent_version)
			lws_callback_on_writable(c->wsi);
	lws_sul_schedule(S.ctx, 0, sul, on_tick, S.tick_us);
}

static void wake(void *arg)
{
	(void)arg;
	if (S.ctx)
		lws_cancel_service(S.ctx);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n == cap) {
			char *b = cap < (64u << 20) ? realloc(buf, cap = cap ? 2 * cap : 1 << 20) : NULL;
			if (!b) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = b;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

int server_run(const server_opts *o)
{
	memset(&S, 0, sizeof S);
	S.o = o;
	S.tick_us = 1000000 / (o->fps > 0 ? o->fps : 30);
	S.chartjs = read_file(o->chartjs_path, &S.chartjs_len);
	if (!S.chartjs) {
		fprintf(stderr, "steer-web: cannot read the charting library %s: %s (install "
		                "libjs-chart.js, or give --chartjs FILE)\n", o->chartjs_path,
		        strerror(errno));
		return 72; /* EX_OSFILE */
	}
	char err[1024];
	upstream_opts uo = {.connfile = o->connfile, .key_file = o->key_file,
	                    .hello_timeout_ms = 10000, .wake = wake};
	S.up = upstream_start(&uo, err, sizeof err);
	if (!S.up) {
		fprintf(stderr, "steer-web: %s\n", err);
		free(S.chartjs);
		return 69; /* EX_UNAVAILABLE */
	}
	lws_set_log_level(LLL_ERR | LLL_WARN | LLL_USER, NULL);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = o->port;
	info.iface = o->iface;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.timeout_secs = 10;
	S.ctx = lws_create_context(&info);
	struct lws_vhost *vh = S.ctx ? lws_get_vhost_by_name(S.ctx, "default") : NULL;
	int port = vh ? lws_get_vhost_listen_port(vh) : -1;
	if (!S.ctx || port <= 0) {
		fprintf(stderr, "steer-web: cannot listen on %s:%d\n", o->iface, o->port);
		if (S.ctx)
			lws_context_destroy(S.ctx);
		upstream_stop(&S.up);
		free(S.chartjs);
		return 71; /* EX_OSERR */
	}
	snprintf(S.cookie_name, sizeof S.cookie_name, "steer-web-%d", port);
	const char *shown = strchr(o->iface, ':') ? NULL : o->iface;
	char base[300];
	snprintf(base, sizeof base, "http://%s%s%s:%d/", shown ? "" : "[", shown ? shown : o->iface,
	         shown ? "" : "]", port);
	printf("steer-web: serving %s\n", base);
	printf("  read-only (observers): %s?token=%s\n", base, o->auth->observer_token);
	if (o->auth->cfg.n_ops) {
		printf("  operators (each opens %s?token=THEIR_TOKEN from the config):", base);
		for (size_t i = 0; i < o->auth->cfg.n_ops; i++)
			printf(" %s", o->auth->cfg.ops[i].name);
		printf("\n");
	} else {
		printf("  no operators: steering from a page needs operators in a config (-c FILE)\n");
	}
	fflush(stdout);
	lws_sul_schedule(S.ctx, 0, &S.tick, on_tick, S.tick_us);
	while (!server_stop_requested)
		if (lws_service(S.ctx, 0) < 0)
			break;
	lws_context_destroy(S.ctx);
	S.ctx = NULL;
	upstream_stop(&S.up);
	free(S.chartjs);
	return 0;
}
