/* SPDX-License-Identifier: GPL-3.0-or-later */
/* script.h — running commands without a prompt (-e, -f, a pipe), and with one. */
#ifndef CONSOLE_SCRIPT_H
#define CONSOLE_SCRIPT_H

#include <stdio.h>

#include "console.h"

/* -e "cmd; cmd". 0, or -1 at the first failing command. */
int script_run_string(console *c, const char *cmds);
/* One command per line; '#' comments. Errors name the line. 0 or -1. */
int script_run_file(console *c, FILE *f);
/* The readline prompt until quit or Ctrl-D. */
int interactive_run(console *c);
/* At the prompt: ask question, true for a yes (y...), false otherwise. */
bool interactive_confirm(console *c, const char *question);

/* history.c */
void hist_init(console *c);
void hist_add(const char *line);

/* complete.c */
void complete_init(console *c);

#endif
