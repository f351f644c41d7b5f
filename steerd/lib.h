/* SPDX-License-Identifier: MIT */
/*
 * lib.h — libsteerd's front door as the steerd program uses it: the public
 * API (steerd.h) plus what only the daemon needs (exit statuses, the trust
 * flag for a checkpoint's adapter).
 */
#ifndef STEERD_LIB_H
#define STEERD_LIB_H

#include <stdbool.h>

#include "steerd.h"

typedef struct steerd_open_args {
	const sa_adapter *desc;      /* embedded: the code's descriptor; NULL: hosted */
	void *sim;                   /* embedded: the code's state */
	const char *config;          /* -c FILE */
	const char *config_text;     /* or the config in memory */
	const char *connection_file; /* --connection-file */
	const char *restart;         /* --restart FILE|DIR */
	bool trust_adapter;          /* --trust-checkpoint-adapter */
	bool handle_signals;         /* install SIGINT/SIGTERM/SIGHUP handlers */
	int log_level;               /* log_level, or -1: the config's */
	bool log_level_fixed;        /* --log-level given: wins over the config on reload */
} steerd_open_args;

/* steerd_open with every option; on failure *status is a sysexits code. */
steerd *steerd_open_with(const steerd_open_args *a, int *status, char *err, size_t errlen);

/* The daemon's signal handling (steerd_options.handle_signals). */
void steerd_install_signal_handlers(void);

/* Keep message for steerd_last_error() (this thread); for the library's other files. */
void steerd_set_last_error(const char *message);

/* A stop signal (or steerd_request_stop) arrived. */
bool steerd_was_signalled(void);

#endif
