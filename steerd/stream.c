/* SPDX-License-Identifier: GPL-3.0-or-later */
/* stream.c — the diagnostics stream on an XPUB socket (see stream.h). */
#include "stream.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "zap.h"

#define MAX_PREFIXES 1024     /* beyond it we stop tracking and publish everything */
#define MAX_PREFIX_BYTES 256
#define CURVE_MAX_FRAME 4096  /* ZMQ_MAXMSGSIZE under CURVE: room for the handshake */
#define MAX_ARRAY_DOUBLES ((size_t)1 << 27) /* 1 GiB: refuse absurd adapter lengths */

struct stream {
	void *sock;
	void *zctx;
	const cert *server;       /* CURVE key pair, or NULL: plaintext */
	char endpoint[256];
	const config *cfg;
	const sa_adapter *sa;

	char **prefixes;          /* active subscription prefixes */
	size_t n_prefixes;
	bool overflow;            /* too many prefixes tracked: assume everything is wanted */

	uint64_t seq;
	uint64_t scalars_seq, events_seq, heartbeat_seq;
	uint64_t *array_seq;      /* per adapter diagnostic */
	char **array_topics;      /* "array.NAME" per adapter diagnostic (NULL for scalars) */
	bool *array_wanted;       /* cached per diagnostic */
	bool scalars_wanted;

	json_t *scalars_header;   /* names, units, dtype and shape built once */
	char *scalars_tail;       /* the same, dumped, without its opening brace */
	size_t n_scalars;
	double last_heartbeat;    /* clock_seconds() of the last heartbeat */
};

static void refresh_wanted(stream *s)
{
	s->scalars_wanted = stream_wants(s, "scalars");
	for (size_t d = 0; d < s->sa->n_diags; d++)
		s->array_wanted[d] = s->array_topics[d] && stream_wants(s, s->array_topics[d]);
}

static json_t *build_scalars_header(const sa_adapter *sa, size_t *n)
{
	json_t *names = json_array(), *units = json_array();
	*n = 0;
	for (size_t d = 0; d < sa->n_diags; d++) {
		if (sa->diags[d].rank != 0)
			continue;
		json_array_append_new(names, json_string(sa->diags[d].name));
		json_array_append_new(units, json_string(sa->diags[d].unit));
		(*n)++;
	}
	return json_pack("{s:o, s:o, s:s, s:[I]}", "names", names, "units", units, "dtype", "<f8",
	                 "shape", (json_int_t)*n);
}

/* Socket options, before bind: on the first socket and on every rebind. */
static int setup_socket(void *sock, void *arg)
{
	stream *s = arg;
	int hwm = (int)s->cfg->send_hwm, linger = 0;
	zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
	/*
	 * Subscriptions are the only thing subscribers may send: keep them small.
	 * With CURVE the limit also applies to the handshake, whose INITIATE
	 * (vouch, cookie, the client's metadata) is larger than that.
	 */
	int64_t maxmsg = s->server ? CURVE_MAX_FRAME : MAX_PREFIX_BYTES + 1;
	zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
	if (s->server) {
		char err[256];
		if (zap_curve_server(sock, s->server, err, sizeof err) < 0) {
			log_error("diagnostics socket: %s", err);
			return -1;
		}
	}
	return 0;
}

static void forget_subscriptions(stream *s)
{
	for (size_t i = 0; i < s->n_prefixes; i++)
		free(s->prefixes[i]);
	s->n_prefixes = 0;
	s->overflow = false;
	refresh_wanted(s);
}

stream *stream_new(void *zctx, const config *cfg, const sa_adapter *sa, const cert *server,
                   char *err, size_t errlen)
{
	stream *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cfg = cfg;
	s->sa = sa;
	s->zctx = zctx;
	s->server = server;
	s->prefixes = calloc(MAX_PREFIXES, sizeof *s->prefixes);
	s->array_seq = calloc(sa->n_diags + 1, sizeof *s->array_seq);
	s->array_topics = calloc(sa->n_diags + 1, sizeof *s->array_topics);
	s->array_wanted = calloc(sa->n_diags + 1, sizeof *s->array_wanted);
	s->scalars_header = build_scalars_header(sa, &s->n_scalars);
	s->scalars_tail = s->scalars_header ? json_dumps(s->scalars_header, JSON_COMPACT) : NULL;
	if (!s->scalars_tail || !s->prefixes || !s->array_seq || !s->array_topics || !s->array_wanted ||
	    !s->scalars_header) {
		snprintf(err, errlen, "out of memory");
		stream_destroy(&s);
		return NULL;
	}
	for (size_t d = 0; d < sa->n_diags; d++)
		if (sa->diags[d].rank == 1 &&
		    asprintf(&s->array_topics[d], "array.%s", sa->diags[d].name) < 0) {
			s->array_topics[d] = NULL;
			snprintf(err, errlen, "out of memory");
			stream_destroy(&s);
			return NULL;
		}

	s->sock = zmq_socket(zctx, ZMQ_XPUB);
	if (!s->sock || setup_socket(s->sock, s) < 0) {
		snprintf(err, errlen, "cannot set up the diagnostics socket: %s",
		         s->sock ? "CURVE options refused" : zmq_strerror(errno));
		stream_destroy(&s);
		return NULL;
	}
	if (zmq_bind(s->sock, cfg->diagnostics_endpoint) != 0) {
		snprintf(err, errlen, "cannot bind diagnostics endpoint %s: %s",
		         cfg->diagnostics_endpoint, zmq_strerror(errno));
		stream_destroy(&s);
		return NULL;
	}
	size_t len = sizeof s->endpoint;
	zmq_getsockopt(s->sock, ZMQ_LAST_ENDPOINT, s->endpoint, &len);
	s->last_heartbeat = clock_seconds();
	refresh_wanted(s);
	return s;
}

void stream_destroy(stream **sp)
{
	if (!sp || !*sp)
		return;
	stream *s = *sp;
	if (s->sock)
		zmq_close(s->sock);
	if (s->prefixes)
		for (size_t i = 0; i < s->n_prefixes; i++)
			free(s->prefixes[i]);
	if (s->array_topics)
		for (size_t d = 0; d < s->sa->n_diags; d++)
			free(s->array_topics[d]);
	free(s->prefixes);
	free(s->array_seq);
	free(s->array_topics);
	free(s->array_wanted);
	json_decref(s->scalars_header);
	free(s->scalars_tail);
	free(s);
	*sp = NULL;
}

/*
 * libzmq's old ipc listener, closed in its I/O thread after we unbound it,
 * unlinks the socket file by name: when that happens after the new bind, it
 * removes the new socket's file. Watch for it a moment and bind again.
 */
static void ipc_rebind_fixup(stream *s)
{
	const char *path = s->endpoint + 6;
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	for (int i = 0; i < 20; i++) {
		struct stat st;
		if (stat(path, &st) != 0 && errno == ENOENT) {
			log_debug("%s: the old listener removed the socket file; binding again",
			          s->endpoint);
			if (zmq_bind(s->sock, s->endpoint) != 0)
				log_error("cannot bind %s again: %s", s->endpoint, zmq_strerror(errno));
			return;
		}
		nanosleep(&pause, NULL);
	}
}

int stream_rebind(stream *s, char *err, size_t errlen)
{
	/* Same resolved endpoint (ZMQ_LAST_ENDPOINT): s->endpoint, which the
	   control thread reads for hello, stays as it is. */
	int rc = zap_rebind(s->zctx, &s->sock, setup_socket, s, err, errlen);
	forget_subscriptions(s); /* the old socket's subscribers are gone */
	if (rc == 0 && strncmp(s->endpoint, "ipc://", 6) == 0)
		ipc_rebind_fixup(s);
	return rc;
}

const char *stream_endpoint(const stream *s) { return s->endpoint; }
void *stream_socket(stream *s) { return s->sock; }
uint64_t stream_seq(const stream *s) { return s->seq; }

bool stream_wants(const stream *s, const char *topic)
{
	if (s->overflow)
		return true;
	for (size_t i = 0; i < s->n_prefixes; i++)
		if (strncmp(topic, s->prefixes[i], strlen(s->prefixes[i])) == 0)
			return true;
	return false;
}

static void subscription(stream *s, const unsigned char *data, size_t len)
{
	const char *prefix = (const char *)data + 1;
	size_t plen = len - 1;
	for (size_t i = 0; i < s->n_prefixes; i++) {
		if (strlen(s->prefixes[i]) == plen && memcmp(s->prefixes[i], prefix, plen) == 0) {
			if (data[0] == 0) { /* XPUB reports an unsubscribe when its last subscriber leaves */
				free(s->prefixes[i]);
				s->prefixes[i] = s->prefixes[--s->n_prefixes];
			}
			return;
		}
	}
	if (data[0] != 1)
		return;
	if (memchr(prefix, '\0', plen) || s->n_prefixes == MAX_PREFIXES) {
		s->overflow = true; /* odd or too many prefixes: publishing everything is still correct */
		return;
	}
	char *copy = strndup(prefix, plen);
	if (!copy) {
		s->overflow = true;
		return;
	}
	s->prefixes[s->n_prefixes++] = copy;
}

void stream_poll_subscriptions(stream *s)
{
	bool changed = false;
	for (;;) {
		unsigned char buf[MAX_PREFIX_BYTES + 1];
		int n = zmq_recv(s->sock, buf, sizeof buf, ZMQ_DONTWAIT);
		if (n < 0)
			break;
		if (n >= 1 && (size_t)n <= sizeof buf && (buf[0] == 0 || buf[0] == 1)) {
			subscription(s, buf, (size_t)n);
			changed = true;
		}
		int more = 0;
		size_t ml = sizeof more;
		while (zmq_getsockopt(s->sock, ZMQ_RCVMORE, &more, &ml) == 0 && more)
			if (zmq_recv(s->sock, buf, sizeof buf, ZMQ_DONTWAIT) < 0)
				break;
	}
	if (changed)
		refresh_wanted(s);
}

/* Sends [topic][header] and, when data is given, one more frame (consumed). */
static void send_frames(stream *s, const char *topic, const char *header, size_t hlen,
                        zmq_msg_t *data)
{
	int more = data ? ZMQ_SNDMORE : 0;
	if (zmq_send(s->sock, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(s->sock, header, hlen, more | ZMQ_DONTWAIT) < 0 ||
	    (data && zmq_msg_send(data, s->sock, ZMQ_DONTWAIT) < 0))
		log_debug("stream: %s not sent: %s", topic, zmq_strerror(errno));
	if (data)
		zmq_msg_close(data);
}

/* The same with a JSON header, which is consumed. */
static void send_message(stream *s, const char *topic, json_t *header, zmq_msg_t *data)
{
	char buf[8192];
	size_t hlen = json_dumpb(header, buf, sizeof buf, JSON_COMPACT);
	char *big = NULL;
	if (hlen > sizeof buf) {
		big = json_dumps(header, JSON_COMPACT);
		hlen = big ? strlen(big) : 0;
	}
	json_decref(header);
	send_frames(s, topic, big ? big : buf, hlen, data);
	free(big);
}

static json_t *common_header(stream *s, uint64_t *topic_seq, uint64_t step, double time)
{
	++s->seq;
	++*topic_seq;
	return json_pack("{s:I, s:I, s:I, s:f}", "seq", (json_int_t)s->seq, "topic_seq",
	                 (json_int_t)*topic_seq, "step", (json_int_t)step, "time", time);
}

void stream_publish_scalars(stream *s, uint64_t step, double time, const double *values)
{
	if (!s->scalars_wanted)
		return;
	/*
	 * Published every step, so the header is not rebuilt: the four numbers
	 * that change go in front of the rest, which jansson dumped once.
	 * (%.17g round-trips a double and time is always finite.)
	 */
	++s->seq;
	++s->scalars_seq;
	char buf[16384];
	int n = snprintf(buf, sizeof buf, "{\"seq\":%llu,\"topic_seq\":%llu,\"step\":%llu,\"time\":%.17g,%s",
	                 (unsigned long long)s->seq, (unsigned long long)s->scalars_seq,
	                 (unsigned long long)step, isfinite(time) ? time : 0.0, s->scalars_tail + 1);
	zmq_msg_t m;
	zmq_msg_init_size(&m, s->n_scalars * sizeof(double));
	memcpy(zmq_msg_data(&m), values, s->n_scalars * sizeof(double));
	if (n > 0 && (size_t)n < sizeof buf) {
		send_frames(s, "scalars", buf, (size_t)n, &m);
	} else { /* very many scalars: the slow way */
		json_t *h = json_pack("{s:I, s:I, s:I, s:f}", "seq", (json_int_t)s->seq, "topic_seq",
		                      (json_int_t)s->scalars_seq, "step", (json_int_t)step, "time", time);
		json_object_update(h, s->scalars_header);
		send_message(s, "scalars", h, &m);
	}
}

void stream_publish_array(stream *s, const void *sim, size_t d, uint64_t step, double time)
{
	if (!s->array_wanted[d])
		return;
	size_t len = s->sa->diag_len(sim, d);
	if (len > MAX_ARRAY_DOUBLES)
		len = MAX_ARRAY_DOUBLES;
	/*
	 * The adapter writes straight into the message buffer, which ZeroMQ
	 * reference-counts and shares among subscribers; nothing writes to it
	 * again, and nothing copies it again.
	 */
	zmq_msg_t m;
	if (zmq_msg_init_size(&m, len * sizeof(double)) != 0)
		return;
	size_t n = s->sa->diag_read(sim, d, zmq_msg_data(&m), len);
	if (n < len) { /* the adapter wrote fewer: send exactly what it wrote */
		zmq_msg_t shorter;
		zmq_msg_init_size(&shorter, n * sizeof(double));
		memcpy(zmq_msg_data(&shorter), zmq_msg_data(&m), n * sizeof(double));
		zmq_msg_close(&m);
		m = shorter;
	}
	const sa_diag *dg = &s->sa->diags[d];
	json_t *h = common_header(s, &s->array_seq[d], step, time);
	json_t *extra = json_pack("{s:s, s:s, s:s, s:[I], s:s*}", "name", dg->name, "unit", dg->unit,
	                          "dtype", "<f8", "shape", (json_int_t)n, "axis", dg->axis);
	json_object_update(h, extra);
	json_decref(extra);
	send_message(s, s->array_topics[d], h, &m);
}

void stream_publish_event(stream *s, const char *name, uint64_t step, double time, json_t *fields)
{
	char topic[96];
	snprintf(topic, sizeof topic, "event.%s", name);
	if (!stream_wants(s, topic)) {
		json_decref(fields);
		return;
	}
	json_t *h = common_header(s, &s->events_seq, step, time);
	json_object_set_new(h, "event", json_string(name));
	if (fields)
		json_object_update(h, fields);
	json_decref(fields);
	send_message(s, topic, h, NULL);
}

long stream_ms_to_heartbeat(const stream *s)
{
	double due = (s->last_heartbeat - clock_seconds()) * 1e3 + s->cfg->heartbeat_ms;
	return due > 0 ? (long)due + 1 : 0;
}

void stream_heartbeat(stream *s, uint64_t step, double time, const char *state)
{
	if (stream_ms_to_heartbeat(s) > 0)
		return;
	s->last_heartbeat = clock_seconds();
	if (!stream_wants(s, "heartbeat"))
		return;
	json_t *h = common_header(s, &s->heartbeat_seq, step, time);
	json_object_set_new(h, "state", json_string(state));
	send_message(s, "heartbeat", h, NULL);
}
