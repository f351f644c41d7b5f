/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * history.c — command history in ${XDG_STATE_HOME:-~/.local/state}/steerd/history.
 * Each line is appended as it is entered, so a console that is killed keeps
 * its history, and several consoles add to one file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>

#include "script.h"

#define HISTORY_LINES 2000

static char hist_path[PATH_MAX];

/* mkdir -p; the directories we make are private (0700): commands may name
 * things the user would rather keep to themselves. */
static int mkdirs(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char save = *p;
			*p = '\0';
			if (mkdir(buf, 0700) < 0 && errno != EEXIST)
				return -1;
			*p = save;
			if (!save)
				break;
		}
	}
	return 0;
}

void hist_init(console *c)
{
	(void)c;
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[PATH_MAX - 16];
	if (state && *state)
		snprintf(dir, sizeof dir, "%s/steerd", state);
	else if (home && *home)
		snprintf(dir, sizeof dir, "%s/.local/state/steerd", home);
	else
		return;
	using_history();
	if (mkdirs(dir) < 0)
		return;
	snprintf(hist_path, sizeof hist_path, "%s/history", dir);
	int fd = open(hist_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		hist_path[0] = '\0';
		return;
	}
	close(fd);
	history_truncate_file(hist_path, HISTORY_LINES);
	read_history(hist_path);
}

void hist_add(const char *line)
{
	HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
	if (last && !strcmp(last->line, line))
		return;
	add_history(line);
	if (hist_path[0])
		append_history(1, hist_path);
}
