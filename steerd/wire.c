/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wire.c — control-channel framing (see wire.h and PROTOCOL.md). */
#include "wire.h"

#include <stdio.h>
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

static void read_header(wire_request *req, const zmq_msg_t *frame)
{
	json_error_t jerr;
	json_t *h = json_loadb(zmq_msg_data((zmq_msg_t *)frame), zmq_msg_size((zmq_msg_t *)frame),
	                       JSON_REJECT_DUPLICATES, &jerr);
	if (!h) {
		set_error(req, E_BAD_REQUEST, "header is not valid JSON: %s", jerr.text);
		return;
	}
	if (!json_is_object(h)) {
		set_error(req, E_BAD_REQUEST, "header must be a JSON object%s", "");
		json_decref(h);
		return;
	}
	json_t *id = json_object_get(h, "id");
	if (id) {
		if ((json_is_string(id) && utf8_chars(json_string_value(id)) <= WIRE_ID_MAX &&
		     json_string_length(id) == strlen(json_string_value(id))) ||
		    json_is_integer(id)) {
			json_decref(req->id);
			req->id = json_incref(id);
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
	if (!json_is_string(cmd))
		set_error(req, E_BAD_REQUEST, "header.cmd must be a string%s", "");
	else if (json_string_length(cmd) >= sizeof req->cmd || !printable(json_string_value(cmd)))
		set_error(req, E_UNKNOWN_COMMAND, "unknown command%s", "");
	else
		strcpy(req->cmd, json_string_value(cmd));
	json_decref(h);
}

static void read_body(wire_request *req, const zmq_msg_t *frame)
{
	json_error_t jerr;
	json_t *b = json_loadb(zmq_msg_data((zmq_msg_t *)frame), zmq_msg_size((zmq_msg_t *)frame),
	                       JSON_REJECT_DUPLICATES, &jerr);
	if (!b) {
		set_error(req, E_BAD_REQUEST, "body is not valid JSON: %s", jerr.text);
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

int wire_recv(void *router, wire_request *req, size_t max_bytes)
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
		if (zmq_msg_recv(&m, router, frames ? 0 : ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			if (frames == 0) {
				wire_request_free(req);
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

void wire_request_free(wire_request *req)
{
	for (size_t i = 0; i < req->n_prefix; i++)
		zmq_msg_close(&req->prefix[i]);
	req->n_prefix = 0;
	json_decref(req->id);
	json_decref(req->body);
	req->id = req->body = NULL;
}

static int send_json(void *router, json_t *j, int flags)
{
	char *text = json_dumps(j, JSON_COMPACT);
	if (!text)
		return -1;
	int rc = zmq_send(router, text, strlen(text), flags);
	free(text);
	return rc;
}

void wire_reply(void *router, wire_request *req, bool ok, json_t *body)
{
	json_t *header = json_pack("{s:i, s:O, s:s?, s:b}", "protocol", WIRE_PROTOCOL, "id", req->id,
	                           "cmd", req->cmd[0] ? req->cmd : NULL, "ok", ok);
	if (!body)
		body = json_object();
	/* ROUTER drops what it cannot route; ZMQ_ROUTER_MANDATORY is off, so nothing blocks. */
	for (size_t i = 0; i < req->n_prefix; i++) {
		if (zmq_msg_send(&req->prefix[i], router, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
			zmq_msg_close(&req->prefix[i]);
	}
	req->n_prefix = 0;
	if (send_json(router, header, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    send_json(router, body, ZMQ_DONTWAIT) < 0)
		log_debug("reply to %s not sent: %s", req->client, zmq_strerror(zmq_errno()));
	json_decref(header);
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
