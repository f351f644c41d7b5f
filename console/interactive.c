/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * interactive.c — the prompt. readline's callback interface lets one poll
 * wait for a keystroke, a reply and a stream message at once, so events are
 * printed the moment they arrive, above the line being typed, which readline
 * then draws again intact (con_async). The prompt shows the run's adapter,
 * state and step and follows heartbeats and events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "ccmd.h"
#include "script.h"

static char *entered;
static bool got_line;

static void on_line(char *line)
{
	entered = line;
	got_line = true;
	/* Commands run with the terminal in its normal mode and no prompt up. */
	rl_callback_handler_remove();
}

/* Ctrl-C at the prompt drops the line, as in a shell. */
static void drop_line(void)
{
	rl_point = rl_end;
	rl_redisplay();
	fputs("^C\n", stdout);
	fflush(stdout);
	rl_replace_line("", 0);
	rl_on_new_line();
	rl_redisplay();
}

/* At most once a second for a new step (it changes all the time); at once
 * for anything else (paused, running, lost). */
static void refresh_prompt(console *c, char *prompt, size_t len)
{
	static int64_t last;
	static char last_state[sizeof c->state];
	static bool last_lost;
	char now[256];
	con_prompt(c, now, sizeof now);
	if (strcmp(now, prompt) == 0)
		return;
	bool same_state = !strcmp(last_state, c->state) && last_lost == c->lost;
	if (same_state && con_now_ms() - last < 1000)
		return;
	last = con_now_ms();
	snprintf(last_state, sizeof last_state, "%s", c->state);
	last_lost = c->lost;
	snprintf(prompt, len, "%s", now);
	rl_set_prompt(prompt);
	rl_clear_visible_line();
	rl_forced_update_display();
}

/*
 * Wait for a line at prompt (entered, got_line), printing events meanwhile.
 * follow: keep the prompt up to date with the run (refresh_prompt). Ctrl-C
 * drops the line typed so far, or with cancel ends the wait: false.
 */
static bool read_line(console *c, char *prompt, size_t len, bool follow, bool cancel)
{
	got_line = false;
	entered = NULL;
	rl_callback_handler_install(prompt, on_line);
	c->rl_active = true;
	bool answered = true;
	while (!got_line) {
		int ev = con_poll(c, con_idle_timeout(c), true);
		if (ev & CON_EV_STDIN)
			rl_callback_read_char();
		if (got_line)
			break;
		if (con_interrupted && cancel) {
			con_interrupted = 0;
			rl_replace_line("", 0); /* what was typed is not an answer */
			rl_callback_handler_remove();
			fputs("^C\n", stdout);
			answered = false;
			break;
		}
		if (con_interrupted) {
			con_interrupted = 0;
			drop_line();
		}
		if (con_winch) {
			con_winch = 0;
			rl_resize_terminal();
		}
		con_idle(c);
		if (follow)
			refresh_prompt(c, prompt, len);
	}
	c->rl_active = false;
	return answered;
}

int interactive_run(console *c)
{
	hist_init(c);
	rl_readline_name = "steer-console";
	/* Our handlers: readline's would not run between callback reads. */
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	complete_init(c);
	char prompt[256];
	while (!c->quit) {
		con_interrupted = 0;
		con_prompt(c, prompt, sizeof prompt);
		read_line(c, prompt, sizeof prompt, true, false);
		if (!entered) { /* Ctrl-D */
			printf("\n");
			break;
		}
		if (*entered) {
			hist_add(entered);
			con_interrupted = 0;
			c->cmd_step = -1; /* `wait steps` counts from now, or within the line */
			ccmd_run_line(c, entered);
		}
		free(entered);
	}
	return 0;
}

/*
 * A yes/no question at the prompt (e.g. before `shutdown`): true only for an
 * answer starting with y or Y. Ctrl-C, Ctrl-D or anything else is no. Events
 * keep being printed while it waits, as at the prompt.
 */
bool interactive_confirm(console *c, const char *question)
{
	char prompt[512];
	snprintf(prompt, sizeof prompt, "%s [y/N] ", question);
	con_interrupted = 0;
	bool yes = read_line(c, prompt, sizeof prompt, false, true) && entered &&
	           (entered[0] == 'y' || entered[0] == 'Y');
	if (got_line && !entered)
		printf("\n"); /* Ctrl-D */
	free(entered);
	entered = NULL;
	got_line = false;
	fflush(stdout);
	return yes;
}
