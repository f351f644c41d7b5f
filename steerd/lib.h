/* SPDX-License-Identifier: MIT */
/*
 * lib.h — libsteerd's front door as the steerd program uses it: the public
 * API (steerd.h) plus what only the daemon needs (exit statuses, the trust
 * flag for a checkpoint's adapter).
 */
#ifndef STEERD_LIB_H
#define STEERD_LIB_H

#include <pthread.h>
#include <stdbool.h>

#include "adapter.h"
#include "config.h"
#include "reload.h"
#include "steerd.h"

struct mirror;
struct security;
struct stream;
struct control;
struct run;
struct service;
struct mpi_layer;
struct checkpoint_loaded;

/* An open steerd (lib.c; in an MPI run also steerd/mpi/lib_mpi.c). On the
 * ranks other than 0 of an MPI run only own, owner, the flags and mpi are used. */
struct steerd {
	adapter *own;           /* embedded: the code's descriptor, wrapped; owned */
	config *cfg;            /* owned */
	void *zctx;
	struct mirror *m;
	struct security *sec;
	struct stream *st;
	struct control *ctl;
	struct run *r;
	struct service *svc;
	reload_ctx reload;
	char *conn_path;        /* written: removed at close */
	char *config_path;      /* for the resume hint, or NULL */
	pthread_t owner;        /* the thread of steerd_open: all callbacks run on it */
	bool begun;             /* the first boundary was served */
	bool stopped;           /* run_next said stop */
	bool ended;             /* run_end done (by steerd_run's loop) */
	bool failed;            /* steerd_step_failed since the last boundary */
	char fail_msg[256];
	struct mpi_layer *mpi;  /* an MPI run (steerd/mpi/, libsteerd-mpi), else NULL */
};

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
	bool restart_meta;           /* MPI, N > 1: a restart reads all but the simulation,
	                                which prepare restores with every rank */
	/*
	 * MPI (steerd/mpi/): called once the config is loaded, before the
	 * simulation is created or touched; may wrap cfg->adapter->desc and, for
	 * a hosted run, create the instance (*sim), which the run then owns.
	 * restored: a restart's checkpoint (from: its path), else NULL; with
	 * restart_meta, prepare restores the instance and sets restored->sim to
	 * it (in_place). 0, or a sysexits status with err. NULL serially.
	 */
	int (*prepare)(void *ctx, config *cfg, struct checkpoint_loaded *restored, const char *from,
	               void **sim, char *err, size_t errlen);
	void *prepare_ctx;
} steerd_open_args;

/* steerd_open with every option; on failure *status is a sysexits code. */
steerd *steerd_open_with(const steerd_open_args *a, int *status, char *err, size_t errlen);

/* The checked steerd_options of steerd_open (and steerd_open_mpi) as open
 * arguments (o NULL: the defaults). 0, or -1 with err and steerd_last_error(). */
int steerd_args_from_options(const steerd_options *o, const sa_adapter *desc, void *sim,
                             steerd_open_args *a, char *err, size_t errlen);

/* The daemon's signal handling (steerd_options.handle_signals). */
void steerd_install_signal_handlers(void);

/* Keep message for steerd_last_error() (this thread); for the library's other files. */
void steerd_set_last_error(const char *message);

/* A stop signal (or steerd_request_stop) arrived. */
bool steerd_was_signalled(void);

#endif
