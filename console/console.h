/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * console.h — steer-console's shared state and its core loop.
 *
 * The console is a plain steerd client written from PROTOCOL.md: a DEALER on
 * the control endpoint, a SUB on the diagnostics endpoint. Everything that
 * waits (a request, `wait`, `watch`, the interactive prompt) goes through
 * con_poll(), the one zmq_poll over both sockets (and stdin when asked), so
 * stream events are handled whatever the console is doing.
 */
#ifndef CONSOLE_H
#define CONSOLE_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CON_PROG "steer-console"

typedef struct console console;

/* Called for every stream message while installed (wait, watch, plot).
 * data/n: the float64 frame of scalars and array.* messages, else NULL/0. */
typedef void (*con_stream_fn)(console *c, const char *topic, json_t *hdr, const double *data,
                              size_t n, void *arg);

#define CON_MAX_SUBS 16
#define CON_MAX_FRAMES 80 /* binary frames after a reply's body (`history`) */

/* A binary frame of a reply, copied out (so aligned for its elements). */
typedef struct con_frame {
	void *data;
	size_t len;
} con_frame;
#define CON_KEY_BYTES 32 /* a CURVE key */

struct console {
	/* Options. */
	char *connfile;       /* -C: re-read on reconnect, ports may change */
	char *endpoint_arg;   /* or the control endpoint given directly */
	char name[64];        /* client name sent in each request header */
	bool json;            /* --json: reply bodies as JSON lines */
	bool interactive;     /* readline prompt (stdin is a terminal, no -e/-f) */
	int timeout_ms;       /* per request */
	const char *key_file;       /* --key: our NAME.key_secret (CURVE) */
	const char *server_key_arg; /* --server-key: Z85 or a key file; else the connection
	                               file's "server_key" */

	/* Connection. */
	void *zctx, *dealer, *sub;
	char control[512], diagnostics[512];
	char conn_server_key[41]; /* the connection file's "server_key" (Z85), or "" */
	bool curve;           /* both sockets are CURVE clients with the keys below */
	unsigned char public_key[CON_KEY_BYTES], secret_key[CON_KEY_BYTES],
	    server_key[CON_KEY_BYTES];
	char *subs[CON_MAX_SUBS]; /* extra topic subscriptions, re-applied on reconnect */
	size_t n_subs;
	long long next_id, call_id, probe_id;
	json_t *reply_hdr, *reply_body; /* the reply to call_id, once it came */
	con_frame reply_frames[CON_MAX_FRAMES]; /* its binary frames after the body (`history`) */
	int n_reply_frames;
	bool lost;            /* the daemon stopped answering; probing */
	bool refresh;         /* it answered again: fetch hello in the background */
	int64_t next_probe_ms, backoff_ms, last_heartbeat_ms, heartbeat_gap_ms;

	/* What we know of the run: hello's body, and state/step kept fresh. */
	json_t *hello;
	char state[16];
	unsigned long long step;

	/* Terminal. */
	bool rl_active;       /* the readline prompt is on screen */
	bool view_active;     /* watch/plot owns the screen */
	char view_msg[256];   /* the last event, shown by the view */
	con_stream_fn hook;
	void *hook_arg;
	bool events_muted;    /* `events off`: print no stream event */
	json_t *events_shown; /* `events NAME...`: the names printed (an object used as a
	                         set), or NULL: all */

	/* The step of the last reply to the command running now (-1: none),
	 * and of the command before it: `wait steps` counts from there. */
	long long cmd_step, prev_step;

	/* Where a script command came from, for error messages ("line 3"). */
	char where[64];
	bool quit;
};

/* Set by the signal handlers; zmq_poll returns EINTR and the loops look. */
extern volatile sig_atomic_t con_interrupted, con_winch;

/* con_poll results. */
enum { CON_EV_STDIN = 1, CON_EV_REPLY = 2, CON_EV_INTR = 4 };

/* console.c */
void con_init(console *c);
void con_free(console *c);
void con_signals(void);
int64_t con_now_ms(void);
/* Errors go to stderr as "steer-console: [where: ]message". Returns -1. */
int con_error(console *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text that arrives while the user may be typing (events, notices). */
void con_async(console *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print one JSON value as a compact line on stdout. */
void con_json_line(const json_t *v);
/* The prompt: "pic1d running 12345> ". */
void con_prompt(const console *c, char *buf, size_t len);

/* client.c */
int con_connect(console *c);
void con_disconnect(console *c);
void con_reconnect(console *c);
int con_poll(console *c, long timeout_ms, bool want_stdin);
long long con_send(console *c, const char *cmd, json_t *body);

/* Attempts of con_call (each timeout_ms) before it gives up. */
#define CON_CALL_ATTEMPTS 3
/* A request and its reply body (caller decrefs). body is stolen (NULL: {}).
 * -1 when the daemon said no, no reply came, or Ctrl-C: already reported. */
int con_call(console *c, const char *cmd, json_t *body, json_t **out);
/* Forget the binary frames of the last reply (con_call does it first). */
void con_free_frames(console *c);
/* Fetch hello and keep it: the schema used for units, completion, help. */
int con_hello(console *c);
/*
 * The daemon of hello `now` compared with that of hello `old` (run_id,
 * start_id) as a note for "connected to steerd (...)": ": the same process",
 * ": the same run, restarted from its checkpoint at step N", ": a different
 * run (run ID)", or "" when unknown. True when it is another process.
 */
bool con_identity_note(const json_t *old, const json_t *now, char *out, size_t outlen);
void con_set_hello(console *c, json_t *body);
void con_subscribe(console *c, const char *topic);
void con_unsubscribe(console *c, const char *topic);
/* Interactive housekeeping between keystrokes: heartbeat watch, reconnect probes. */
void con_idle(console *c);
long con_idle_timeout(const console *c);

/* schema.c: lookups in the last hello. */
const json_t *schema_knob(const console *c, const char *name);
const json_t *schema_diag(const console *c, const char *name);
const json_t *schema_command(const console *c, const char *name);
const char *schema_unit(const console *c, const char *name); /* knob or diag; "" if none */
const char *schema_str(const json_t *obj, const char *key);  /* "" when absent */
bool schema_is_scalar(const json_t *diag);
/* "; did you mean NAME?" for a mistyped knob (with scalars: or scalar
 * diagnostic), or "" when none is close (steerd/suggest.h). Returns buf. */
const char *schema_did_you_mean(const console *c, const char *typed, bool scalars, char *buf,
                                size_t len);

/* events.c: one line for a stream event, or false to stay quiet (an echo of
 * the console's own change, or filtered out by `events`). */
bool event_format(const console *c, const char *name, json_t *hdr, char *buf, size_t len);

/* fmt.c */
/* A JSON value for humans: numbers %.6g, strings bare, null as "-". */
void fmt_value(const json_t *v, char *buf, size_t len);
void fmt_num(double v, char *buf, size_t len);
/* "1500 A/m^2" */
void fmt_value_unit(const json_t *v, const char *unit, char *buf, size_t len);

#endif
