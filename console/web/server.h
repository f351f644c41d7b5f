/* SPDX-License-Identifier: MIT */
/*
 * server.h — the HTTP and WebSocket side of steer-web (libwebsockets).
 *
 * One page, its scripts, and a WebSocket (/ws, subprotocol "steer-web")
 * that carries the run to each browser as frames. A frame is sent only when
 * the browser has drawn (acknowledged) the previous one and no more often
 * than --fps: every browser gets the newest state at its own pace, a slow
 * one gets fewer frames, and a stalled one holds at most one frame in
 * steer-web and nothing at all in steerd.
 */
#ifndef STEER_WEB_SERVER_H
#define STEER_WEB_SERVER_H

#include <signal.h>
#include <stdbool.h>

#include "auth.h"
#include "upstream.h"

typedef struct server_opts {
	const char *iface; /* address to bind, e.g. "127.0.0.1" */
	int port;          /* 0: a free port */
	int fps;           /* at most this many frames a second per browser */
	const char *chartjs_path;
	const char *config_path; /* re-read on SIGHUP; NULL without */
	const char *connfile;
	const char *key_file;
	bool remote;             /* bound beyond loopback (--allow-remote) */
	auth *auth;
} server_opts;

/* Flags set by the signal handlers, acted on by the server's timer. */
extern volatile sig_atomic_t server_stop_requested;
extern volatile sig_atomic_t server_reload_requested;

/* Starts steerd's upstream and serves until SIGINT/SIGTERM. An exit status. */
int server_run(const server_opts *o);

#endif
