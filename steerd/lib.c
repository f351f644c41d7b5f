/* SPDX-License-Identifier: MIT */
/*
 * lib.c — libsteerd's front door (sim-adapter/steerd.h): open a run around a
 * simulation, take it through its boundaries, close it. The steerd daemon is
 * main() over these same calls (main.c: steerd_open_hosted, steerd_run).
 *
 * A run is four parts, each in its own module: the control thread (control.c,
 * the ROUTER and the commands), the publisher (stream.c, the XPUB), the
 * simulation boundary (run.c, on the caller's thread) and storage
 * (checkpoint.c, journal.c). This file only wires them together and keeps
 * the promises of steerd.h: which thread, which order, what is left on error.
 */
#include "lib.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>
#include <zmq.h>

#include "checkpoint.h"
#include "connfile.h"
#include "control.h"
#include "cpu_pin.h"
#include "h5io.h"
#include "identity.h"
#include "log.h"
#include "mirror.h"
#include "reload.h"
#include "run.h"
#include "security.h"
#include "service.h"
#include "startup.h"
#include "stream.h"
#include "version.h"
#ifdef STEERD_MPI
#include "lib_mpi.h"
#endif

/* Set by signal handlers (or steerd_request_stop), read at every boundary. */
static volatile sig_atomic_t stop_signal;
static atomic_bool open_one; /* one steerd open per process (steerd.h) */
static __thread char last_error[512];

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
}

const char *steerd_last_error(void) { return last_error; }
void steerd_set_last_error(const char *message) { set_error("%s", message); }
const char *steerd_version(void) { return STEERD_VERSION; }
int steerd_version_major(void) { return STEERD_VERSION_MAJOR; }
int steerd_version_minor(void) { return STEERD_VERSION_MINOR; }
void steerd_request_stop(void) { stop_signal = 1; }

void steerd_log(sa_log_level level, const char *message)
{
	const sa_host *h = log_adapter_host();
	h->log(h->ctx, level, message);
}

static void on_stop_signal(int sig) { stop_signal = sig; }

/* SIGHUP: reload keys and reloadable settings (reload.h); never ends the run. */
static void on_reload_signal(int sig)
{
	(void)sig;
	reload_signal = 1;
}

static void install_signal_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* With or without security: SIGHUP's default action would end the run. */
	struct sigaction hup = { .sa_handler = on_reload_signal };
	sigemptyset(&hup.sa_mask);
	sigaction(SIGHUP, &hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Over a file size limit a write fails with EFBIG (a failed checkpoint), not a dead run. */
	signal(SIGXFSZ, SIG_IGN);
}

void steerd_install_signal_handlers(void) { install_signal_handlers(); }

int steerd_options_from_args(steerd_options *o, int *argc, char **argv, char *err, size_t errlen)
{
	static const struct {
		const char *s, *l;
	} names[] = { { "-c", "--config" }, { NULL, "--connection-file" }, { NULL, "--restart" },
		      { NULL, "--log-level" } };
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i], *value = NULL;
		int which = -1;
		for (int n = 0; n < 4 && which < 0; n++) {
			size_t ll = strlen(names[n].l);
			if ((names[n].s && !strcmp(a, names[n].s)) || !strcmp(a, names[n].l)) {
				which = n;
				if (i + 1 >= *argc) {
					snprintf(err, errlen, "%s needs a value", a);
					return -1;
				}
				value = argv[++i];
			} else if (!strncmp(a, names[n].l, ll) && a[ll] == '=') {
				which = n;
				value = a + ll + 1;
			}
		}
		if (which < 0) {
			argv[out++] = argv[i];
			continue;
		}
		switch (which) {
		case 0: o->config_path = value; break;
		case 1: o->connection_file = value; break;
		case 2: o->restart = value; break;
		default: {
			static const char *const levels[] = { "error", "warn", "info", "debug" };
			o->log_level = -2;
			for (int l = 0; l < 4; l++)
				if (!strcmp(value, levels[l]))
					o->log_level = l;
			if (o->log_level == -2) {
				snprintf(err, errlen, "unknown log level '%s' (error, warn, info, debug)", value);
				return -1;
			}
		}
		}
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
}

/*
 * Without security an ipc socket is guarded by file permissions alone: its
 * directory must be the run's own, closed to everyone else (0700).
 */
static int check_ipc_private(const char *endpoint, char *err, size_t errlen)
{
	if (strncmp(endpoint, "ipc://", 6) != 0)
		return 0;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", endpoint + 6);
	char *slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	struct stat st;
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "%s: directory %s: %s", endpoint, dir, strerror(errno));
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		snprintf(err, errlen,
		         "%s: without security an ipc socket must be in a directory only steerd's user "
		         "can enter (mode 0700); %s has mode %04o%s", endpoint, dir,
		         (unsigned)(st.st_mode & 07777), st.st_uid != geteuid() ? " and another owner" : "");
		return -1;
	}
	return 0;
}

static size_t count_scalars(const sa_adapter *sa)
{
	size_t n = 0;
	for (size_t d = 0; d < sa->n_diags; d++)
		n += sa->diags[d].rank == 0;
	return n;
}

/* How to continue this run once it stops: said at start and at the end. */
static void log_resume_hint(const steerd *s)
{
	if (!s->cfg->checkpoint_dir || !s->cfg->adapter->sa->save)
		return;
	log_info("checkpoints go to %s; continue a stopped run with: %s --restart %s%s%s",
	         s->cfg->checkpoint_dir, program_invocation_name, s->cfg->checkpoint_dir,
	         s->config_path ? " -c " : "", s->config_path ? s->config_path : "");
}

/* Does the endpoint listen on this host only? */
static bool local_only(const char *ep)
{
	return strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0 ||
	       strncmp(ep, "tcp://127.", 10) == 0 || strncmp(ep, "tcp://localhost:", 16) == 0 ||
	       strncmp(ep, "tcp://[::1]:", 12) == 0;
}

/* Free everything of s that exists; the connection file too. */
static void teardown(steerd *s)
{
	service_destroy(&s->svc);
	run_destroy(&s->r);
	control_destroy(&s->ctl);
	stream_destroy(&s->st);
	/* Only now that no CURVE socket is left may the handler go (zap.h). */
	security_stop(&s->sec);
	mirror_destroy(&s->m);
	if (s->zctx)
		zmq_ctx_term(s->zctx);
	s->zctx = NULL;
	config_destroy(&s->cfg);
	adapter_destroy(&s->own);
#ifdef STEERD_MPI
	mpi_layer_free(&s->mpi);
#endif
	free(s->conn_path);
	free(s->config_path);
	free(s);
	atomic_store(&open_one, false);
}

/* Bind, start the threads and say where the run is; the body of steerd_open. */
static int start(steerd *s, const steerd_open_args *a, checkpoint_loaded *restored,
                 const char *restored_path, void **hosted_sim, int *status, char *err,
                 size_t errlen)
{
	const config *cfg = s->cfg;
	const sa_adapter *sa = cfg->adapter->sa;
	*status = EX_SOFTWARE;
	/* Before any thread exists, so that all of them inherit it. */
	if (cfg->simulation_cpu >= 0 && cpu_pin_others_away(cfg->simulation_cpu, err, errlen) < 0) {
		*status = EX_CONFIG;
		return -1;
	}
	s->zctx = zmq_ctx_new();
	s->m = mirror_new(sa->n_knobs, count_scalars(sa));
	if (!s->zctx || !s->m) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* The ZAP handler must be up, and proven to refuse strangers, before anything binds. */
	if (cfg->security &&
	    !(s->sec = security_start(s->zctx, cfg, a->config, status, err, errlen)))
		return -1;
	if (!cfg->security && (check_ipc_private(cfg->control_endpoint, err, errlen) < 0 ||
	                       check_ipc_private(cfg->diagnostics_endpoint, err, errlen) < 0)) {
		*status = EX_CONFIG;
		return -1;
	}
	s->st = stream_new(s->zctx, cfg, sa, security_server(s->sec), err, errlen);
	if (s->st)
		s->ctl = control_new(s->zctx, cfg, s->m, stream_endpoint(s->st),
		                     security_server(s->sec), security_zap(s->sec), err, errlen);
	if (!s->st || !s->ctl) {
		*status = EX_UNAVAILABLE;
		return -1;
	}
	/* A restart's instance (hosted) or the code's own (embedded) becomes the run's. */
	/* (or the instance an MPI run made on every rank: prepare) */
	void *sim = a->sim ? a->sim : restored->sim ? restored->sim : *hosted_sim;
	char why[768];
	s->r = run_new(cfg, s->st, s->m, control_sim_pipe(s->ctl), sim, !a->sim, why, sizeof why);
	if (s->r && sim == *hosted_sim)
		*hosted_sim = NULL; /* the run's now */
	/* MPI: every rank restores into its live instance (no second collective create) */
	if (s->r && a->prepare)
		run_restore_in_place(s->r);
	if (!s->r) {
		snprintf(err, errlen, "cannot create the simulation: %s", why);
		*status = EX_CONFIG;
		return -1;
	}
	if (!restored->sim && a->sim && run_apply_config_knobs(s->r, err, errlen) < 0) {
		*status = EX_CONFIG;
		return -1;
	}
	if (restored->sim) {
		restored->in_place = true; /* the run has it now */
		char run_id[sizeof restored->run_id];
		memcpy(run_id, restored->run_id, sizeof run_id); /* run_adopt takes l's contents */
		if (run_adopt(s->r, restored, false, why, sizeof why) < 0) {
			snprintf(err, errlen, "cannot restart: %s: %s", restored_path, why);
			*status = EX_DATAERR;
			return -1;
		}
		identity_restarted(run_id, run_step(s->r));
		log_info("restarted from %s at step %llu (write_seq %llu)", restored_path,
		         (unsigned long long)run_step(s->r), (unsigned long long)run_write_seq(s->r));
	}
	/* SIGHUP reloads run on the simulation thread (reload.h) */
	s->reload = (reload_ctx){ .cfg = s->cfg, .from_file = a->config != NULL, .sec = s->sec,
		                  .st = s->st, .log_level_fixed = a->log_level_fixed };
	run_connect(s->r, control_pending(s->ctl), &s->reload);

	char default_conn[512];
	const char *conn = a->connection_file ? a->connection_file : cfg->connection_file;
	if (!conn) {
		const char *dir = getenv("XDG_RUNTIME_DIR");
		snprintf(default_conn, sizeof default_conn, "%s/steerd-%d.json",
		         dir && *dir ? dir : "/tmp", (int)getpid());
		conn = default_conn;
	}
	if (connfile_write(conn, control_endpoint(s->ctl), stream_endpoint(s->st), sa->name,
	                   s->sec ? security_server(s->sec)->public_z85 : NULL, err, errlen) < 0) {
		*status = EX_CANTCREAT;
		return -1;
	}
	if (!(s->conn_path = strdup(conn))) {
		unlink(conn);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (control_start(s->ctl) < 0) {
		snprintf(err, errlen, "cannot start the control thread");
		return -1;
	}
	log_info("steerd %s: adapter %s (%s), control %s, diagnostics %s", STEERD_VERSION, sa->name,
	         cfg->adapter->source, control_endpoint(s->ctl), stream_endpoint(s->st));
	log_info("connection file %s", conn);
	log_resume_hint(s);
	s->svc = service_start(control_liveness(s->ctl));
	char ready[256];
	snprintf(ready, sizeof ready, "%s at step %llu; control %s", sa->name,
	         (unsigned long long)run_step(s->r), control_endpoint(s->ctl));
	service_ready(s->svc, ready);
	if (s->sec)
		log_info("security on: CURVE with %zu client key%s; SIGHUP reloads them",
		         security_key_count(s->sec), security_key_count(s->sec) == 1 ? "" : "s");
	else if (local_only(control_endpoint(s->ctl)) && local_only(stream_endpoint(s->st)))
		log_info("no security configured: listening on loopback/ipc only");
	else
		log_warn("no security configured and endpoints.allow_remote is set: anyone who can "
		         "reach %s and %s can steer this run", control_endpoint(s->ctl),
		         stream_endpoint(s->st));
	if (cfg->simulation_cpu >= 0) {
		if (cpu_pin_self(cfg->simulation_cpu, err, errlen) < 0)
			log_warn("%s; the simulation thread shares the other CPUs", err);
		else
			log_info("simulation thread on CPU %d, steerd's other threads off it",
			         (int)cfg->simulation_cpu);
	}
	*status = 0;
	return 0;
}

steerd *steerd_open_with(const steerd_open_args *a, int *status, char *err, size_t errlen)
{
	*status = EX_SOFTWARE;
	last_error[0] = '\0';
	if (atomic_exchange(&open_one, true)) {
		snprintf(err, errlen, "steerd is already open in this process (one at a time)");
		*status = EX_USAGE;
		return NULL;
	}
	steerd *s = calloc(1, sizeof *s);
	if (!s || (a->config && !(s->config_path = strdup(a->config)))) {
		free(s);
		atomic_store(&open_one, false);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->owner = pthread_self();
	identity_init();
	if (a->desc && !(s->own = adapter_wrap(a->desc, "embedded", false, err, errlen))) {
		*status = EX_SOFTWARE; /* the code's own descriptor is wrong: a bug of the code */
		teardown(s);
		return NULL;
	}
	checkpoint_loaded restored = { 0 };
	char *restored_path = NULL;
	startup_args sa = { .config = a->config, .config_text = a->config_text,
		            .restart = a->restart, .trust_adapter = a->trust_adapter,
		            .embedded = s->own, .into = a->sim,
		            .read = a->restart_meta ? STARTUP_READ_META : STARTUP_READ_ALL };
	int rc = startup_load(&sa, &s->cfg, &restored, &restored_path, err, errlen);
	if (rc != 0) {
		*status = rc;
		teardown(s);
		return NULL;
	}
	if (a->log_level >= 0)
		log_set_level((log_level)a->log_level);
	else
		log_set_level(s->cfg->log_level);
	if (a->handle_signals)
		install_signal_handlers();
	stop_signal = 0;
	void *hosted_sim = NULL;
	if (a->prepare && (rc = a->prepare(a->prepare_ctx, s->cfg, a->restart ? &restored : NULL,
	                                   restored_path, &hosted_sim, err, errlen)) != 0) {
		*status = rc > 0 ? rc : EX_SOFTWARE;
		checkpoint_loaded_free(s->cfg->adapter->sa, &restored);
		free(restored_path);
		teardown(s);
		return NULL;
	}
	if (start(s, a, &restored, restored_path, &hosted_sim, status, err, errlen) < 0) {
		if (hosted_sim)
			s->cfg->adapter->sa->destroy(hosted_sim);
		if (s->conn_path)
			unlink(s->conn_path);
		if (restored.sim == (s->r ? run_sim(s->r) : NULL))
			restored.sim = NULL; /* the run's now, destroyed with it */
		checkpoint_loaded_free(s->cfg->adapter->sa, &restored);
		free(restored_path);
		teardown(s);
		return NULL;
	}
	checkpoint_loaded_free(s->cfg->adapter->sa, &restored);
	free(restored_path);
	return s;
}

int steerd_args_from_options(const steerd_options *o, const sa_adapter *desc, void *sim,
                             steerd_open_args *a, char *err, size_t errlen)
{
	static const steerd_options none = STEERD_OPTIONS_INIT;
	if (!o)
		o = &none;
	if (o->size < offsetof(steerd_options, log_level) + sizeof o->log_level)
		snprintf(err, errlen, "steerd_options.size is %zu: initialise it with STEERD_OPTIONS_INIT",
		         o->size);
	else if (o->log_level < -1 || o->log_level > SA_LOG_DEBUG)
		snprintf(err, errlen, "steerd_options.log_level %d is not -1 or SA_LOG_*", o->log_level);
	else {
		*a = (steerd_open_args){ .desc = desc, .sim = sim, .config = o->config_path,
			                 .config_text = o->config_text,
			                 .connection_file = o->connection_file, .restart = o->restart,
			                 .handle_signals = o->handle_signals != 0,
			                 .log_level = o->log_level, .log_level_fixed = o->log_level >= 0 };
		return 0;
	}
	set_error("%s", err);
	return -1;
}

steerd *steerd_open(const sa_adapter *desc, void *sim, const steerd_options *o, char *err,
                    size_t errlen)
{
	char buf[1024];
	if (!err || !errlen) {
		err = buf;
		errlen = sizeof buf;
	}
	if (!desc != !sim) {
		snprintf(err, errlen, "steerd_open: give both the descriptor and the code's state, or "
		                      "neither (hosted)");
		set_error("%s", err);
		return NULL;
	}
	steerd_open_args a;
	if (steerd_args_from_options(o, desc, sim, &a, err, errlen) < 0)
		return NULL;
	int status;
	steerd *s = steerd_open_with(&a, &status, err, errlen);
	h5io_unquiet(); /* a restart read HDF5: the code's error handler is its own again */
	if (!s)
		set_error("%s", err);
	return s;
}

/* Misuse of a steerd handle: NULL, or another thread than steerd_open's. */
static bool misused(const steerd *s, const char *fn)
{
	if (!s) {
		set_error("%s: no steerd (NULL: not opened, or already closed)", fn);
		return true;
	}
	if (!pthread_equal(s->owner, pthread_self())) {
		set_error("%s called from another thread than steerd_open's: every call runs the "
		          "code's callbacks, so all must come from that one thread", fn);
		return true;
	}
	return false;
}

int steerd_boundary(steerd *s)
{
	if (misused(s, "steerd_boundary"))
		return STEERD_ERROR;
	if (s->stopped)
		return STEERD_STOP;
#ifdef STEERD_MPI
	if (s->mpi)
		return mpi_boundary(s, &stop_signal);
#endif
	if (!s->begun) {
		run_begin(s->r);
		s->begun = true;
	} else if (s->failed) {
		s->failed = false;
		run_step_failed(s->r, s->fail_msg);
	} else {
		run_stepped(s->r);
	}
	bool go = run_next(s->r, &stop_signal);
	h5io_unquiet(); /* after checkpoints, rewinds: the code's HDF5 error handler back */
	if (go)
		return STEERD_GO;
	s->stopped = true;
	return STEERD_STOP;
}

void steerd_step_failed(steerd *s, const char *message)
{
	if (misused(s, "steerd_step_failed"))
		return;
	s->failed = true;
	snprintf(s->fail_msg, sizeof s->fail_msg, "%s", message && *message ? message : "(no message)");
}

int steerd_run(steerd *s)
{
	if (misused(s, "steerd_run"))
		return -1;
#ifdef STEERD_MPI
	if (s->mpi)
		return mpi_run(s);
#endif
	if (!run_owns_sim(s->r)) {
		set_error("steerd_run: this run is embedded: the code steps it with steerd_boundary()");
		return -1;
	}
	if (s->begun) {
		set_error("steerd_run: the run already went through steerd_boundary()");
		return -1;
	}
	s->begun = true;
	run_loop(s->r, &stop_signal);
	s->stopped = s->ended = true;
	return 0;
}


int steerd_close(steerd **sp)
{
	if (!sp || !*sp)
		return 0;
	steerd *s = *sp;
	if (misused(s, "steerd_close"))
		return -1;
#ifdef STEERD_MPI
	if (s->mpi && !s->r) /* a rank other than 0 */
		return mpi_worker_close(sp);
#endif
	if (!s->ended) /* steerd_run's loop ends itself; an embedded run ends here */
		run_end(s->r);
#ifdef STEERD_MPI
	if (s->mpi)
		mpi_ended(s); /* the other ranks' steerd_close returns */
#endif
	h5io_unquiet(); /* after the on_exit checkpoint */
	log_resume_hint(s);
	service_stopping(s->svc);
	control_stop(s->ctl);
	unlink(s->conn_path);
	int rc = 0;
	if (checkpoint_library_damaged()) {
		log_warn("a checkpoint file failed to close: HDF5's exit handler may fail on it");
		rc = -1;
	}
	teardown(s);
	*sp = NULL;
	return rc;
}
