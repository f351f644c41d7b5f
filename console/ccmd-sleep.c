/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ccmd-sleep.c — `sleep T`: wait T (s, ms, min), still showing events; Ctrl-C stops it. */
#include "ccmd.h"
#include "units.h"

static int sleep_exec(console *c, int argc, char **argv, const char *rest)
{
	(void)rest;
	if (argc != 2)
		return ccmd_usage(c, &ccmd_sleep_entry);
	double secs;
	char err[256];
	if (units_duration(argv[1], &secs, err, sizeof err) < 0)
		return con_error(c, "sleep: %s", err);
	int64_t end = con_now_ms() + (int64_t)(secs * 1000);
	for (int64_t left; (left = end - con_now_ms()) > 0;)
		if (con_poll(c, (long)left, false) & CON_EV_INTR)
			return con_error(c, "sleep: interrupted");
	return 0;
}

const ccmd_entry ccmd_sleep_entry = {
	.name = "sleep",
	.usage = "T   (e.g. 2, 1.5s, 500ms, 1min)",
	.summary = "wait for a while",
	.exec = sleep_exec,
};
