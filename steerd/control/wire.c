/* SPDX-License-Identifier: MIT */
/* wire.c — control-channel framing (see wire.h and PROTOCOL.md). */
#include "wire.h"
#include "framepool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void set_error(wire_request *req, const char *code, const char *fmt, const char *arg)
{
	if (req->err_code)
		return; /* keep the first problem */
	req->err_code = code;
	snprintf(req->err_msg, sizeof req->err_msg, fmt, arg);
}

static void default_client_name(wire_request *req)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *id = req->n_prefix ? zmq_msg_data(&req->prefix[0]) : NULL;
	size_t n = req->n_prefix ? zmq_msg_size(&req->prefix[0]) : 0;
	strcpy(req->client, "anon-");
	size_t at = 5;
	for (size_t i = 0; i < n && at + 2 < sizeof req->client; i++) {
		req->client[at++] = hex[id[i] >> 4];
		req->client[at++] = hex[id[i] & 15];
	}
	req->client[at] = '\0';
}

/* Characters (code points) of valid UTF-8, as jansson guarantees for strings. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* A string of j's with a NUL inside (\u0000 is valid JSON, but names and C strings end there). */
static bool has_nul(const json_t *j)
{
	if (json_is_string(j))
		return json_string_length(j) != strlen(json_string_value(j));
	size_t i;
	const char *key;
	json_t *v;
	if (json_is_array(j))
		json_array_foreach(j, i, v)
			if (has_nul(v))
				return true;
	if (json_is_object(j))
		json_object_foreach((json_t *)j, key, v)
			if (has_nul(v))
				return true;
	return false;
}

#define NUL_MSG "strings must not contain NUL (\\u0000)"

/*
 * Parse a header or body frame (what names it). Strings with NUL are let
 * through the parser so that the error says what is wrong, not "not valid
 * JSON"; jansson cannot hold a NUL in an object key at all.
 */
static json_t *load_frame(wire_request *req, const zmq_msg_t *frame, const char *what)
{
	json_error_t jerr;
	json_t *j = json_loadb(zmq_msg_data((zmq_msg_t *)frame), zmq_msg_size((zmq_msg_t *)frame),
	                       JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!j) {
		char fmt[64];
		bool nul = strstr(jerr.text, "NUL") != NULL;
		snprintf(fmt, sizeof fmt, nul ? "%s: %s (in an object key)" : "%s is not valid JSON: %%s",
		         what, NUL_MSG);
		set_error(req, E_BAD_REQUEST, fmt, jerr.text);
	}
	return j;
}

static void read_header(wire_request *req, const zmq_msg_t *frame)
{
	json_t *h = load_frame(req, frame, "header");
	if (!h)
		return;
	if (!json_is_object(h)) {
		set_error(req, E_BAD_REQUEST, "header must be a JSON object%s", "");
		json_decref(h);
		return;
	}
	json_t *id = json_object_get(h, "id");
	if (id) {
		if ((json_is_string(id) && utf8_chars(json_string_value(id)) <= WIRE_ID_MAX &&
		     !has_nul(id)) ||
		    json_is_integer(id)) {
			json_decref(req->id);
			req->id = json_incref(id);
		} else if (has_nul(id)) {
			set_error(req, E_BAD_REQUEST, "header.id: %s", NUL_MSG);
		} else {
			set_error(req, E_BAD_REQUEST, "header.id must be an integer or a string of at most 128 characters%s", "");
		}
	}
	json_t *proto = json_object_get(h, "protocol");
	if (proto && !(json_is_integer(proto) && json_integer_value(proto) == WIRE_PROTOCOL))
		set_error(req, E_BAD_REQUEST, "this server speaks protocol 1%s", "");
	json_t *client = json_object_get(h, "client");
	if (client) {
		if (json_is_string(client) && json_string_length(client) < WIRE_CLIENT_MAX &&
		    json_string_length(client) > 0 && printable(json_string_value(client)))
			strcpy(req->client, json_string_value(client));
		else
			set_error(req, E_BAD_REQUEST, "header.client must be a printable string of 1 to 63 bytes%s", "");
	}
	json_t *retry = json_object_get(h, "retry_key");
	if (retry) {
		if (json_is_string(retry) && json_string_length(retry) >= 1 &&
		    json_string_length(retry) < sizeof req->retry_key && printable(json_string_value(retry)))
			strcpy(req->retry_key, json_string_value(retry));
		else
			set_error(req, E_BAD_REQUEST, "header.retry_key must be a printable string of 1 to 64 bytes%s", "");
	}
	json_t *cmd = json_object_get(h, "cmd");
	if (has_nul(h)) /* after id, so that it is echoed when it is good */
		set_error(req, E_BAD_REQUEST, "header: %s", NUL_MSG);
	if (!json_is_string(cmd))
		set_error(req, E_BAD_REQUEST, "header.cmd must be a string%s", "");
	else if (has_nul(cmd))
		; /* said above; not echoed cut short */
	else if (json_string_length(cmd) >= sizeof req->cmd || !printable(json_string_value(cmd)))
		set_error(req, E_UNKNOWN_COMMAND, "unknown command%s", "");
	else
		strcpy(req->cmd, json_string_value(cmd));
	json_decref(h);
}

static void read_body(wire_request *req, const zmq_msg_t *frame)
{
	json_t *b = load_frame(req, frame, "body");
	if (!b)
		return;
	if (has_nul(b)) {
		set_error(req, E_BAD_REQUEST, "body: %s", NUL_MSG);
		json_decref(b);
		return;
	}
	if (!json_is_object(b)) {
		set_error(req, E_BAD_REQUEST, "body must be a JSON object%s", "");
		json_decref(b);
		return;
	}
	json_decref(req->body);
	req->body = b;
}

/* first_flags: how the first frame is taken (ZMQ_DONTWAIT, or 0 to wait). */
static int recv_request(void *router, wire_request *req, size_t max_bytes, int first_flags)
{
	memset(req, 0, sizeof *req);
	req->id = json_null();
	req->body = json_object();

	zmq_msg_t payload[2];
	size_t n_payload = 0, total = 0, frames = 0;
	bool delimited = false;
	int more = 1;
	while (more) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, router, frames ? 0 : first_flags) < 0) {
			int err = errno; /* the caller tells a timeout from a failure */
			zmq_msg_close(&m);
			if (frames == 0) {
				wire_request_free(req);
				errno = err;
				return -1;
			}
			set_error(req, E_BAD_REQUEST, "message cut short%s", "");
			break;
		}
		more = zmq_msg_more(&m);
		frames++;
		/* The ROUTER's routing id frame has no metadata; the next one has the peer's. */
		if (frames == 2)
			zap_peer_of(&m, &req->peer);
		/* Only what the client wrote counts, not routing frames it cannot know. */
		if (delimited)
			total += zmq_msg_size(&m);
		if (!delimited) {
			/* Routing prefix: the ROUTER's identity, a proxy's, then the delimiter. */
			if (req->n_prefix < WIRE_MAX_PREFIX) {
				req->prefix[req->n_prefix++] = m;
				delimited = zmq_msg_size(&m) == 0;
			} else {
				set_error(req, E_BAD_REQUEST, "routing prefix too long%s", "");
				zmq_msg_close(&m);
			}
			/* A DEALER that sent no delimiter: identity frame, then the header. */
			if (!delimited && req->n_prefix == 1 && !more)
				set_error(req, E_BAD_REQUEST, "no header frame%s", "");
			continue;
		}
		if (n_payload < 2)
			payload[n_payload++] = m;
		else
			zmq_msg_close(&m);
	}
	if (!delimited && req->n_prefix > 1) {
		for (size_t i = 1; i < req->n_prefix; i++)
			total += zmq_msg_size(&req->prefix[i]);
		/*
		 * No empty delimiter anywhere: a DEALER speaking without one. Its
		 * routing prefix is the identity alone; what followed is the payload.
		 */
		for (size_t i = 1; i < req->n_prefix; i++) {
			if (n_payload < 2 && i <= 2)
				payload[n_payload++] = req->prefix[i];
			else
				zmq_msg_close(&req->prefix[i]);
		}
		if (req->n_prefix > 3)
			set_error(req, E_BAD_REQUEST, "expected a header frame and at most one body frame%s", "");
		req->n_prefix = 1;
	}
	default_client_name(req);
	size_t extra = frames - req->n_prefix - n_payload;
	if (total > max_bytes) {
		char limit[32];
		snprintf(limit, sizeof limit, "%zu", max_bytes);
		set_error(req, E_TOO_LARGE, "request larger than %s bytes", limit);
		/* A header that fits is read for its id and cmd, so the reply can be matched. */
		if (n_payload > 0 && zmq_msg_size(&payload[0]) <= max_bytes)
			read_header(req, &payload[0]);
	} else if (extra > 0 && delimited) {
		set_error(req, E_BAD_REQUEST, "expected a header frame and at most one body frame%s", "");
	} else if (n_payload == 0) {
		set_error(req, E_BAD_REQUEST, "no header frame%s", "");
	} else {
		read_header(req, &payload[0]);
		if (n_payload == 2)
			read_body(req, &payload[1]);
	}
	for (size_t i = 0; i < n_payload; i++)
		zmq_msg_close(&payload[i]);
	return 0;
}

int wire_recv(void *router, wire_request *req, size_t max_bytes)
{
	return recv_request(router, req, max_bytes, ZMQ_DONTWAIT);
}

int wire_recv_wait(void *router, wire_request *req, size_t max_bytes)
{
	return recv_request(router, req, max_bytes, 0);
}

void wire_request_free(wire_request *req)
{
	for (size_t i = 0; i < req->n_prefix; i++)
		zmq_msg_close(&req->prefix[i]);
	req->n_prefix = 0;
	json_decref(req->id);
	json_decref(req->body);
	req->id = req->body = NULL;
}

/*
 * Replies are written into stack buffers rather than with json_dumps, which
 * grows a heap buffer and copies it out, and the header without building it
 * as an object first: 18 allocations (and frees) a reply became 2, which was
 * a measurable part of what a `get` costs. A body larger than
 * REPLY_BODY_BYTES (a snapshot, say) still goes through json_dumps.
 */
#define REPLY_BODY_BYTES 8192
/*
 * {"protocol":N,"id":ID,"cmd":CMD,"ok":false} at its longest: an id of
 * WIRE_ID_MAX characters each escaped as \uXXXX, every byte of cmd escaped.
 */
#define REPLY_HEADER_BYTES (64 + 6 * WIRE_ID_MAX + 2 * sizeof(((wire_request *)0)->cmd))
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* Append n bytes at buf + *at; false when they do not fit in size. */
static bool put_bytes(char *buf, size_t size, size_t *at, const char *s, size_t n)
{
	if (n > size - *at)
		return false;
	memcpy(buf + *at, s, n);
	*at += n;
	return true;
}

/* Append the compact JSON text of any value j; false when it does not fit (or j is NULL). */
static bool put_json(char *buf, size_t size, size_t *at, const json_t *j)
{
	size_t n = j ? json_dumpb(j, buf + *at, size - *at, JSON_COMPACT | JSON_ENCODE_ANY) : 0;
	if (n == 0 || n > size - *at)
		return false;
	*at += n;
	return true;
}

/*
 * The reply header {"protocol":1,"id":ID,"cmd":CMD,"ok":BOOL}, CMD null when
 * the request named none: the text json_pack + json_dumps made, with jansson
 * dumping ID and CMD (so they are escaped as before). Its length, or 0 on
 * failure.
 */
static size_t format_header(char *buf, size_t size, const wire_request *req, bool ok)
{
	static const char head[] = "{\"protocol\":" STRINGIFY(WIRE_PROTOCOL) ",\"id\":";
	static const char cmd_key[] = ",\"cmd\":", ok_true[] = ",\"ok\":true}", ok_false[] = ",\"ok\":false}";
	json_t *cmd = req->cmd[0] ? json_string(req->cmd) : json_null();
	size_t at = 0;
	bool done = put_bytes(buf, size, &at, head, sizeof head - 1) && put_json(buf, size, &at, req->id) &&
	            put_bytes(buf, size, &at, cmd_key, sizeof cmd_key - 1) && put_json(buf, size, &at, cmd) &&
	            (ok ? put_bytes(buf, size, &at, ok_true, sizeof ok_true - 1)
	                : put_bytes(buf, size, &at, ok_false, sizeof ok_false - 1));
	json_decref(cmd);
	return done ? at : 0;
}

/*
 * The body's compact JSON text: in buf when it fits, else in *big (malloc'd,
 * the caller frees it). NULL on failure.
 */
static const char *format_body(const json_t *body, char *buf, size_t size, char **big, size_t *len)
{
	*big = NULL;
	*len = body ? json_dumpb(body, buf, size, JSON_COMPACT) : 0;
	if (*len == 0)
		return NULL;
	if (*len <= size)
		return buf;
	*big = json_dumps(body, JSON_COMPACT);
	*len = *big ? strlen(*big) : 0;
	return *big;
}

static void wire_reply_frames_ok(void *router, wire_request *req, bool ok, json_t *body,
                                 wire_frame *frames, size_t n);

static void free_frame(void *data, void *hint)
{
	(void)hint;
	framepool_free(data);
}

/* Send the frames after the body, the last without SNDMORE; frees every data. */
static void send_frames(void *router, wire_frame *frames, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		zmq_msg_t m;
		if (zmq_msg_init_data(&m, frames[i].data ? frames[i].data : NULL, frames[i].len,
		                      free_frame, NULL) < 0) {
			framepool_free(frames[i].data);
			continue;
		}
		frames[i].data = NULL;
		if (zmq_msg_send(&m, router, (i + 1 < n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
			zmq_msg_close(&m);
	}
}

void wire_reply(void *router, wire_request *req, bool ok, json_t *body)
{
	wire_reply_frames_ok(router, req, ok, body, NULL, 0);
}

void wire_reply_frames(void *router, wire_request *req, json_t *body, wire_frame *frames, size_t n)
{
	wire_reply_frames_ok(router, req, true, body, frames, n);
}

static void wire_reply_frames_ok(void *router, wire_request *req, bool ok, json_t *body,
                                 wire_frame *frames, size_t n)
{
	if (!body)
		body = json_object();
	char head[REPLY_HEADER_BYTES], text[REPLY_BODY_BYTES], *big;
	size_t hlen = format_header(head, sizeof head, req, ok), blen;
	const char *btext = format_body(body, text, sizeof text, &big, &blen);
	if (hlen == 0 || !btext) {
		/* Nothing sent yet: better no reply than a message left open on the socket. */
		log_error("reply to %s not sent: cannot write its JSON", req->client);
	} else {
		/* ROUTER drops what it cannot route; ZMQ_ROUTER_MANDATORY is off, so nothing blocks. */
		for (size_t i = 0; i < req->n_prefix; i++) {
			if (zmq_msg_send(&req->prefix[i], router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
				zmq_msg_close(&req->prefix[i]);
		}
		req->n_prefix = 0;
		if (zmq_send(router, head, hlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
		    zmq_send(router, btext, blen, (n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
			log_debug("reply to %s not sent: %s", req->client, zmq_strerror(zmq_errno()));
		send_frames(router, frames, n);
		n = 0;
	}
	for (size_t i = 0; i < n; i++) /* not sent */
		framepool_free(frames[i].data);
	free(big);
	json_decref(body);
	wire_request_free(req);
}

void wire_reply_error(void *router, wire_request *req, const char *code, const char *message)
{
	/*
	 * Messages may quote the client's bytes, cut to a length: keep the longest
	 * start that is valid UTF-8, or jansson would refuse the whole reply.
	 */
	size_t n = strlen(message);
	json_t *text;
	while (!(text = json_stringn(message, n)) && n > 0)
		n--;
	wire_reply(router, req, false,
	           json_pack("{s:{s:s, s:o}}", "error", "code", code, "message", text ? text : json_string("")));
}
