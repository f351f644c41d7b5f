/* SPDX-License-Identifier: GPL-3.0-or-later */
/* console.c — the console's state, signals, and output that respects the prompt. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <readline/readline.h>
#include <zmq.h>

#include "console.h"

volatile sig_atomic_t con_interrupted, con_winch;

void con_init(console *c)
{
	memset(c, 0, sizeof *c);
	c->timeout_ms = 3000;
	c->next_id = 1;
	c->backoff_ms = 1000;
	c->cmd_step = c->prev_step = -1;
	snprintf(c->state, sizeof c->state, "?");
}

void con_free(console *c)
{
	for (size_t i = 0; i < c->n_subs; i++)
		free(c->subs[i]);
	json_decref(c->hello);
	json_decref(c->events_shown);
	json_decref(c->reply_hdr);
	json_decref(c->reply_body);
	con_free_frames(c);
	con_disconnect(c);
	explicit_bzero(c->secret_key, sizeof c->secret_key);
	if (c->zctx)
		zmq_ctx_term(c->zctx);
	c->zctx = NULL;
}

static void on_sigint(int sig)
{
	(void)sig;
	con_interrupted = 1;
}

static void on_sigwinch(int sig)
{
	(void)sig;
	con_winch = 1;
}

/* No SA_RESTART: a signal must wake zmq_poll so the loops see the flag. */
void con_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_sigwinch;
	sigaction(SIGWINCH, &sa, NULL);
}

int64_t con_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int con_error(console *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (c && c->interactive && con_interrupted)
		fputc('\n', stderr); /* after the terminal's "^C" */
	if (c && c->where[0])
		fprintf(stderr, "%s: %s: %s\n", CON_PROG, c->where, msg);
	else
		fprintf(stderr, "%s: %s\n", CON_PROG, msg);
	fflush(stderr);
	return -1;
}

/*
 * While the prompt is up the user may be halfway through a line: wipe the
 * prompt and line, print, and let readline draw them again below. A view
 * (watch/plot) keeps the text for its status line instead.
 */
void con_async(console *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->view_active) {
		size_t n = strlen(msg);
		if (n >= sizeof c->view_msg)
			n = sizeof c->view_msg - 1;
		memcpy(c->view_msg, msg, n);
		c->view_msg[n] = '\0';
		return;
	}
	if (c->rl_active) {
		rl_clear_visible_line();
		fprintf(stdout, "%s\n", msg);
		fflush(stdout);
		rl_forced_update_display();
	} else {
		fprintf(stdout, "%s\n", msg);
		fflush(stdout);
	}
}

void con_json_line(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(s);
	}
}

void con_prompt(const console *c, char *buf, size_t len)
{
	const char *adapter = "steerd";
	if (c->hello)
		adapter = schema_str(json_object_get(c->hello, "adapter"), "name");
	if (!c->hello)
		snprintf(buf, len, "steer (connecting)> ");
	else if (c->lost)
		snprintf(buf, len, "%s (no daemon)> ", adapter);
	else
		snprintf(buf, len, "%s %s %llu> ", adapter, c->state, c->step);
}
