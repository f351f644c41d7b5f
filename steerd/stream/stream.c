/* SPDX-License-Identifier: MIT */
/* stream.c — the diagnostics stream: XPUB socket served by a publisher thread (see stream.h). */
#include "stream.h"
#include "own_scalars.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "spsc.h"
#include "zap.h"

#define MAX_PREFIXES 1024     /* beyond it we stop tracking and publish everything */
#define MAX_PREFIX_BYTES 256
#define CURVE_MAX_FRAME 4096  /* ZMQ_MAXMSGSIZE under CURVE: room for the handshake */
#define MAX_ARRAY_DOUBLES ((size_t)1 << 27) /* 1 GiB: refuse absurd adapter lengths */
#define QUEUE_SLOTS 4096      /* messages between the threads: ~0.3 s of a flat-out run */
#define BATCH_MS 10           /* while messages flow, the publisher collects them this long */
#define WAKE_AT 256          /* ... or until this many wait (well under a subscriber's send_hwm) */
#define CLOSE_LINGER_MS 200   /* at exit: time for the last messages to reach subscribers */
#define MAX_EVENT_TOPICS 256  /* event names are the daemon's own: far fewer */

typedef enum { ITEM_SCALARS, ITEM_ARRAY, ITEM_EVENT, ITEM_HEARTBEAT } item_kind;

/*
 * The numbering of one topic. Every message the run produces is numbered,
 * whether or not anyone subscribes and whether or not it is then sent, so a
 * message lost anywhere (a full queue, a subscriber's high-water mark, a
 * reconnect) shows as a gap in topic_seq, and numbers never depend on what
 * other subscribers want (PROTOCOL.md, "Sequence numbers").
 */
typedef struct topic_count {
	uint64_t topic_seq; /* messages of this topic so far */
	uint64_t last_seq;  /* run-wide seq of the last one (0: none yet) */
} topic_count;

/* The numbers of one message (PROTOCOL.md, "Sequence numbers"). */
typedef struct numbers {
	uint64_t seq, topic_seq, prev_seq;
} numbers;

/* An event topic, "event.NAME", with its own numbering. */
typedef struct event_topic {
	char *topic;
	topic_count n;
} event_topic;

/* One message on its way from the simulation thread to the publisher thread. */
typedef struct item {
	item_kind kind;
	size_t diag;         /* ITEM_ARRAY: adapter diagnostic index */
	numbers n;
	uint64_t step;
	double time;
	const char *topic;   /* ITEM_EVENT: the event table's string */
	char *header;        /* ITEM_EVENT: owned by the item */
	const char *state;   /* ITEM_HEARTBEAT: a run_state_name() string */
	zmq_msg_t data;      /* ITEM_ARRAY: the values, written once by the adapter */
	double values[];     /* ITEM_SCALARS: n_scalars of them */
} item;

struct stream {
	const config *cfg;
	const sa_adapter *sa;
	char endpoint[256];
	size_t n_scalars;
	char *scalars_tail;       /* scalars header without its opening brace, dumped once */
	json_t *scalars_header;   /* the same as an object, for very many scalars */
	char **array_topics;      /* "array.NAME" per adapter diagnostic (NULL for scalars) */

	/* Simulation thread only. */
	uint64_t seq;             /* run-wide: messages produced so far */
	topic_count scalars_n, heartbeat_n;
	topic_count *array_n;     /* per adapter diagnostic */
	event_topic *events;      /* per event name, in order of first use */
	size_t n_events;
	double last_heartbeat;    /* clock_seconds() of the last heartbeat */
	unsigned long dropped;    /* messages lost to a full queue */

	/* Between the threads. */
	spsc *queue;
	int wake_fd;              /* eventfd: the publisher sleeps on it */
	atomic_bool idle;         /* the publisher sleeps until woken */
	atomic_bool stop;
	atomic_bool hold;         /* stream_hold_publisher(): send nothing */
	atomic_bool scalars_wanted, heartbeat_wanted, events_wanted;
	atomic_bool *array_wanted;
	pthread_mutex_t rebind_lock;
	pthread_cond_t rebind_done;
	bool rebind_asked;        /* under rebind_lock */
	int rebind_rc;
	char rebind_err[512];

	/* Publisher thread only (and stream_new before it starts). */
	void *sock;
	void *zctx;
	const cert *server;       /* CURVE key pair, or NULL: plaintext */
	char **prefixes;          /* active subscription prefixes */
	size_t n_prefixes;
	bool overflow;            /* too many prefixes tracked: assume everything is wanted */
	pthread_t thread;
	bool started;
};

/* ---- subscriptions (publisher thread) ----------------------------------- */

static bool wants(const stream *s, const char *topic)
{
	if (s->overflow)
		return true;
	for (size_t i = 0; i < s->n_prefixes; i++)
		if (strncmp(topic, s->prefixes[i], strlen(s->prefixes[i])) == 0)
			return true;
	return false;
}

/* Could prefix p match some "event.NAME"? Event names are open-ended, so this is coarse. */
static bool wants_some_event(const stream *s)
{
	if (s->overflow)
		return true;
	for (size_t i = 0; i < s->n_prefixes; i++) {
		const char *p = s->prefixes[i];
		if (strncmp(p, "event.", strlen(p) < 6 ? strlen(p) : 6) == 0)
			return true;
	}
	return false;
}

/* Tell the simulation thread which topics are worth building. */
static void refresh_wanted(stream *s)
{
	atomic_store(&s->scalars_wanted, wants(s, "scalars"));
	atomic_store(&s->heartbeat_wanted, wants(s, "heartbeat"));
	atomic_store(&s->events_wanted, wants_some_event(s));
	for (size_t d = 0; d < s->sa->n_diags; d++)
		atomic_store(&s->array_wanted[d], s->array_topics[d] && wants(s, s->array_topics[d]));
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

static void take_subscriptions(stream *s)
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

static void forget_subscriptions(stream *s)
{
	for (size_t i = 0; i < s->n_prefixes; i++)
		free(s->prefixes[i]);
	s->n_prefixes = 0;
	s->overflow = false;
	refresh_wanted(s);
}

/* ---- the socket (publisher thread) -------------------------------------- */

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

static void rebind_now(stream *s)
{
	/* Same resolved endpoint (ZMQ_LAST_ENDPOINT): s->endpoint, which the
	   control thread reads for hello, stays as it is. */
	pthread_mutex_lock(&s->rebind_lock);
	s->rebind_rc = zap_rebind(s->zctx, &s->sock, setup_socket, s, s->rebind_err,
	                          sizeof s->rebind_err);
	forget_subscriptions(s); /* the old socket's subscribers are gone */
	if (s->rebind_rc == 0 && strncmp(s->endpoint, "ipc://", 6) == 0)
		ipc_rebind_fixup(s);
	s->rebind_asked = false;
	pthread_cond_signal(&s->rebind_done);
	pthread_mutex_unlock(&s->rebind_lock);
}

/* ---- sending (publisher thread) ----------------------------------------- */

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
static void send_json(stream *s, const char *topic, json_t *header, zmq_msg_t *data)
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

/* The fields every header starts with (PROTOCOL.md, "Diagnostics stream"). */
static json_t *common_header(numbers n, uint64_t step, double time)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:f}", "seq", (json_int_t)n.seq, "topic_seq",
	                 (json_int_t)n.topic_seq, "prev_seq", (json_int_t)n.prev_seq, "step",
	                 (json_int_t)step, "time", time);
}

static json_t *item_header(const item *it) { return common_header(it->n, it->step, it->time); }

static void send_scalars(stream *s, const item *it)
{
	zmq_msg_t m;
	zmq_msg_init_size(&m, s->n_scalars * sizeof(double));
	memcpy(zmq_msg_data(&m), it->values, s->n_scalars * sizeof(double));
	/*
	 * Published every step, so the header is not rebuilt: the five numbers
	 * that change go in front of the rest, which jansson dumped once.
	 * (%.17g round-trips a double and time is always finite.)
	 */
	char buf[16384];
	int n = snprintf(buf, sizeof buf,
	                 "{\"seq\":%llu,\"topic_seq\":%llu,\"prev_seq\":%llu,\"step\":%llu,\"time\":%.17g,%s",
	                 (unsigned long long)it->n.seq, (unsigned long long)it->n.topic_seq,
	                 (unsigned long long)it->n.prev_seq, (unsigned long long)it->step,
	                 isfinite(it->time) ? it->time : 0.0, s->scalars_tail + 1);
	if (n > 0 && (size_t)n < sizeof buf) {
		send_frames(s, "scalars", buf, (size_t)n, &m);
	} else { /* very many scalars: the slow way */
		json_t *h = item_header(it);
		json_object_update(h, s->scalars_header);
		send_json(s, "scalars", h, &m);
	}
}

static void send_array(stream *s, item *it)
{
	const sa_diag *dg = &s->sa->diags[it->diag];
	json_t *h = item_header(it);
	json_t *extra = json_pack("{s:s, s:s, s:s, s:[I], s:s*}", "name", dg->name, "unit", dg->unit,
	                          "dtype", "<f8", "shape",
	                          (json_int_t)(zmq_msg_size(&it->data) / sizeof(double)), "axis",
	                          dg->axis);
	json_object_update(h, extra);
	json_decref(extra);
	send_json(s, s->array_topics[it->diag], h, &it->data);
}

static void send_heartbeat(stream *s, const item *it)
{
	json_t *h = item_header(it);
	json_object_set_new(h, "state", json_string(it->state));
	send_json(s, "heartbeat", h, NULL);
}

static void send_item(stream *s, item *it)
{
	switch (it->kind) {
	case ITEM_SCALARS: send_scalars(s, it); break;
	case ITEM_ARRAY: send_array(s, it); break;
	case ITEM_HEARTBEAT: send_heartbeat(s, it); break;
	case ITEM_EVENT:
		send_frames(s, it->topic, it->header, strlen(it->header), NULL);
		free(it->header);
		break;
	}
}

/* Send everything queued; how many messages that was. */
static size_t drain(stream *s)
{
	size_t n = 0;
	item *it;
	while (!atomic_load_explicit(&s->hold, memory_order_relaxed) && (it = spsc_pop_slot(s->queue))) {
		send_item(s, it);
		spsc_pop_done(s->queue);
		n++;
	}
	return n;
}

static void wake(stream *s)
{
	uint64_t one = 1;
	if (write(s->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		log_warn("stream: cannot wake the publisher: %s", strerror(errno));
}

/*
 * While messages flow, wake every BATCH_MS (or when WAKE_AT messages wait)
 * and send what came meanwhile: the simulation thread makes no system call
 * to publish, and libzmq, the kernel and the subscribers handle messages in
 * batches. When a wake finds nothing, sleep until the simulation thread says
 * there is something. Every wake of this thread and of libzmq's I/O thread
 * takes a core from the simulation when it has them all (an MPI rank per
 * core): at 1 ms a run publishing every step of 3 ms lost 9 % of its steps
 * on 2 ranks; at 10 ms, none measurable (tests/mpi/bench_pic1d_mpi.py).
 */
static void *publisher_main(void *arg)
{
	stream *s = arg;
	pthread_setname_np(pthread_self(), "steerd-publish"); /* for top -H and perf */
	bool flowing = false;
	while (!atomic_load(&s->stop)) {
		long timeout = BATCH_MS;
		if (!flowing) {
			atomic_store(&s->idle, true);
			atomic_thread_fence(memory_order_seq_cst); /* pairs with the one in enqueue() */
			timeout = spsc_empty(s->queue) ? -1 : 0;
		}
		zmq_pollitem_t items[] = {
			{ .socket = s->sock, .events = ZMQ_POLLIN },
			{ .fd = s->wake_fd, .events = ZMQ_POLLIN },
		};
		if (zmq_poll(items, 2, timeout) < 0 && errno != EINTR && errno != ETERM)
			log_warn("stream: poll: %s", zmq_strerror(errno));
		atomic_store(&s->idle, false);
		if (items[1].revents & ZMQ_POLLIN) {
			uint64_t v;
			if (read(s->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
				log_warn("stream: %s", strerror(errno));
		}
		take_subscriptions(s);
		pthread_mutex_lock(&s->rebind_lock);
		bool rebind = s->rebind_asked;
		pthread_mutex_unlock(&s->rebind_lock);
		if (rebind)
			rebind_now(s);
		/* Held (tests): the queue fills up as when the publisher falls behind. */
		flowing = atomic_load(&s->hold) || drain(s) > 0;
	}
	drain(s); /* the last words: shutting_down */
	/* Give subscribers a moment to receive them, not a stalled one the power to hold the exit. */
	int linger = CLOSE_LINGER_MS;
	zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger);
	return NULL;
}

/* ---- life cycle ---------------------------------------------------------- */

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
	for (size_t i = 0; i < OWN_N_SCALARS; i++, (*n)++) { /* steerd's own, last */
		json_array_append_new(names, json_string(own_scalars[i].name));
		json_array_append_new(units, json_string(own_scalars[i].unit));
	}
	return json_pack("{s:o, s:o, s:s, s:[I]}", "names", names, "units", units, "dtype", "<f8",
	                 "shape", (json_int_t)*n);
}

static int alloc_tables(stream *s, const sa_adapter *sa)
{
	s->prefixes = calloc(MAX_PREFIXES, sizeof *s->prefixes);
	s->array_n = calloc(sa->n_diags + 1, sizeof *s->array_n);
	s->events = calloc(MAX_EVENT_TOPICS, sizeof *s->events);
	s->array_topics = calloc(sa->n_diags + 1, sizeof *s->array_topics);
	s->array_wanted = calloc(sa->n_diags + 1, sizeof *s->array_wanted);
	s->scalars_header = build_scalars_header(sa, &s->n_scalars);
	s->scalars_tail = s->scalars_header ? json_dumps(s->scalars_header, JSON_COMPACT) : NULL;
	s->queue = spsc_new(QUEUE_SLOTS, sizeof(item) + s->n_scalars * sizeof(double));
	if (!s->scalars_tail || !s->prefixes || !s->array_n || !s->events || !s->array_topics ||
	    !s->array_wanted || !s->scalars_header || !s->queue)
		return -1;
	for (size_t d = 0; d < sa->n_diags; d++)
		if (sa->diags[d].rank == 1 &&
		    asprintf(&s->array_topics[d], "array.%s", sa->diags[d].name) < 0) {
			s->array_topics[d] = NULL;
			return -1;
		}
	return 0;
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
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&s->rebind_lock, NULL);
	pthread_cond_init(&s->rebind_done, NULL);
	if (alloc_tables(s, sa) < 0 || s->wake_fd < 0) {
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
	if (pthread_create(&s->thread, NULL, publisher_main, s) != 0) {
		snprintf(err, errlen, "cannot start the publisher thread");
		stream_destroy(&s);
		return NULL;
	}
	s->started = true;
	return s;
}

/* Frees what queued items own (events' strings, arrays' buffers). */
static void discard_queue(stream *s)
{
	item *it;
	while ((it = spsc_pop_slot(s->queue))) {
		if (it->kind == ITEM_EVENT) {
			free(it->header);
		} else if (it->kind == ITEM_ARRAY) {
			zmq_msg_close(&it->data);
		}
		spsc_pop_done(s->queue);
	}
}

void stream_destroy(stream **sp)
{
	if (!sp || !*sp)
		return;
	stream *s = *sp;
	if (s->started) {
		atomic_store(&s->stop, true);
		wake(s);
		pthread_join(s->thread, NULL);
	}
	if (s->sock)
		zmq_close(s->sock);
	if (s->queue)
		discard_queue(s);
	spsc_destroy(&s->queue);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->prefixes)
		for (size_t i = 0; i < s->n_prefixes; i++)
			free(s->prefixes[i]);
	if (s->array_topics)
		for (size_t d = 0; d < s->sa->n_diags; d++)
			free(s->array_topics[d]);
	for (size_t i = 0; i < s->n_events; i++)
		free(s->events[i].topic);
	free(s->events);
	free(s->prefixes);
	free(s->array_n);
	free(s->array_topics);
	free(s->array_wanted);
	json_decref(s->scalars_header);
	free(s->scalars_tail);
	pthread_mutex_destroy(&s->rebind_lock);
	pthread_cond_destroy(&s->rebind_done);
	free(s);
	*sp = NULL;
}

int stream_rebind(stream *s, char *err, size_t errlen)
{
	pthread_mutex_lock(&s->rebind_lock);
	s->rebind_asked = true;
	wake(s);
	while (s->rebind_asked)
		pthread_cond_wait(&s->rebind_done, &s->rebind_lock);
	int rc = s->rebind_rc;
	if (rc < 0)
		snprintf(err, errlen, "%s", s->rebind_err);
	pthread_mutex_unlock(&s->rebind_lock);
	return rc;
}

const char *stream_endpoint(const stream *s) { return s->endpoint; }
uint64_t stream_seq(const stream *s) { return s->seq; }
void stream_hold_publisher(stream *s, bool hold) { atomic_store(&s->hold, hold); }

/* ---- publishing (simulation thread) ------------------------------------- */

/* Number a message of topic t: run-wide seq, topic_seq, and the seq of the topic's previous one. */
static numbers number(stream *s, topic_count *t)
{
	numbers n = { .seq = ++s->seq, .topic_seq = ++t->topic_seq, .prev_seq = t->last_seq };
	t->last_seq = n.seq;
	return n;
}

/*
 * The slot for a message numbered n, or NULL when nobody wants the topic
 * (wanted false) or the publisher has fallen a whole queue behind: the
 * message is then lost, after being numbered, so subscribers see the gap.
 */
static item *slot(stream *s, bool wanted, numbers n)
{
	if (!wanted)
		return NULL;
	item *it = spsc_push_slot(s->queue);
	if (!it) {
		if (s->dropped++ % 10000 == 0)
			log_warn("stream: the publisher thread is behind; %lu message%s dropped so far. "
			         "The run makes messages faster than they can be sent: publish less "
			         "often (diagnostics.scalars_every, diagnostics.arrays_every) or pace "
			         "the run (run.max_steps_per_second)",
			         s->dropped, s->dropped == 1 ? "" : "s");
		return NULL;
	}
	it->n = n;
	return it;
}

/* Hand the filled slot over; wake the publisher when it sleeps, or when a batch is large. */
static void enqueue(stream *s, item *it, item_kind kind, uint64_t step, double time)
{
	it->kind = kind;
	it->step = step;
	it->time = time;
	spsc_push_done(s->queue);
	atomic_thread_fence(memory_order_seq_cst); /* pairs with the one in publisher_main() */
	if (atomic_load_explicit(&s->idle, memory_order_relaxed) && atomic_exchange(&s->idle, false))
		wake(s);
	else if (spsc_used(s->queue) == WAKE_AT)
		wake(s); /* a fast run: send before the batch time is up, long before the queue fills */
}

static bool wanted(atomic_bool *flag) { return atomic_load_explicit(flag, memory_order_relaxed); }

void stream_publish_scalars(stream *s, uint64_t step, double time, const double *values)
{
	item *it = slot(s, wanted(&s->scalars_wanted), number(s, &s->scalars_n));
	if (!it)
		return;
	memcpy(it->values, values, s->n_scalars * sizeof(double));
	enqueue(s, it, ITEM_SCALARS, step, time);
}

void stream_publish_array(stream *s, const void *sim, size_t d, uint64_t step, double time)
{
	item *it = slot(s, wanted(&s->array_wanted[d]), number(s, &s->array_n[d]));
	if (!it)
		return;
	size_t len = s->sa->diag_len(sim, d);
	if (len > MAX_ARRAY_DOUBLES)
		len = MAX_ARRAY_DOUBLES;
	/*
	 * The adapter writes straight into the message buffer, which ZeroMQ
	 * reference-counts and shares among subscribers; nothing writes to it
	 * again, and nothing copies it again.
	 */
	if (zmq_msg_init_size(&it->data, len * sizeof(double)) != 0)
		return;
	size_t got = s->sa->diag_read(sim, d, zmq_msg_data(&it->data), len);
	if (got < len) { /* the adapter wrote fewer: send exactly what it wrote */
		zmq_msg_t shorter;
		zmq_msg_init_size(&shorter, got * sizeof(double));
		memcpy(zmq_msg_data(&shorter), zmq_msg_data(&it->data), got * sizeof(double));
		zmq_msg_close(&it->data);
		zmq_msg_init(&it->data);
		zmq_msg_move(&it->data, &shorter);
	}
	it->diag = d;
	enqueue(s, it, ITEM_ARRAY, step, time);
}

/* The numbering of "event.NAME", made at its first use; NULL when out of room. */
static event_topic *event_topic_of(stream *s, const char *name)
{
	for (size_t i = 0; i < s->n_events; i++)
		if (strcmp(s->events[i].topic + 6, name) == 0)
			return &s->events[i];
	if (s->n_events == MAX_EVENT_TOPICS)
		return NULL;
	event_topic *e = &s->events[s->n_events];
	if (asprintf(&e->topic, "event.%s", name) < 0)
		return NULL;
	s->n_events++;
	return e;
}

void stream_publish_event(stream *s, const char *name, uint64_t step, double time, json_t *fields)
{
	event_topic *e = event_topic_of(s, name);
	if (!e) { /* cannot happen with the daemon's events; still a visible loss */
		log_error("stream: event %s lost: no room for its topic", name);
		s->seq++;
		json_decref(fields);
		return;
	}
	numbers n = number(s, &e->n);
	item *it = slot(s, wanted(&s->events_wanted), n);
	if (!it) {
		json_decref(fields);
		return;
	}
	/* Events are rare: their header is built here, where the fields are. */
	json_t *h = common_header(n, step, time);
	json_object_set_new(h, "event", json_string(name));
	if (fields)
		json_object_update(h, fields);
	json_decref(fields);
	it->header = json_dumps(h, JSON_COMPACT);
	json_decref(h);
	if (!it->header)
		return;
	it->topic = e->topic;
	enqueue(s, it, ITEM_EVENT, step, time);
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
	item *it = slot(s, wanted(&s->heartbeat_wanted), number(s, &s->heartbeat_n));
	if (!it)
		return;
	it->state = state;
	enqueue(s, it, ITEM_HEARTBEAT, step, time);
}
