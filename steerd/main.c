/* SPDX-License-Identifier: MIT */
/* main.c — steerd: host a simulation and let people steer it while it runs. */
#include <getopt.h>
#include <sys/stat.h>
#include <limits.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <zmq.h>

#include "checkpoint.h"
#include "checkpoint_dir.h"
#include "config.h"
#include "cmd.h"
#include "connfile.h"
#include "control.h"
#include "identity.h"
#include "keygen.h"
#include "log.h"
#include "mirror.h"
#include "reload.h"
#include "run.h"
#include "security.h"
#include "service.h"
#include "stream.h"
#include "cpu_pin.h"
#include "version.h"

/* Set by the signal handler, read by the simulation thread between steps. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

/* SIGHUP: reload keys and reloadable settings (reload.h); never ends the run. */
static void on_reload_signal(int sig)
{
	(void)sig;
	reload_signal = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: steerd -c CONFIG [--connection-file PATH] [--log-level LEVEL] [--check]\n"
	        "       steerd --restart CHECKPOINT|DIR [-c CONFIG] [--trust-checkpoint-adapter] ...\n"
	        "       steerd keygen NAME [--dir DIR]   make a CURVE key pair (security)\n"
	        "       steerd --help | --version | --dump-commands | --dump-config\n"
	        "\n"
	        "Hosts the simulation described by CONFIG (YAML), publishes its diagnostics\n"
	        "and serves the control protocol (PROTOCOL.md) until SIGTERM, SIGINT or a\n"
	        "`shutdown` command. With a security section, both sockets use CURVE, only\n"
	        "the listed client keys get in, and SIGHUP reloads that list. SIGHUP also\n"
	        "reloads log_level, the checkpoint policy and the diagnostics cadences\n"
	        "from CONFIG; other changed settings are logged as needing a restart.\n"
	        "\n"
	        "  -c, --config FILE          the run's configuration (required)\n"
	        "  -C, --connection-file PATH where to write the JSON connection file (mode 0600);\n"
	        "                             default: endpoints.connection_file, else\n"
	        "                             $XDG_RUNTIME_DIR (or /tmp)/steerd-PID.json\n"
	        "  -r, --restart CHECKPOINT   continue the run saved in CHECKPOINT, bitwise as if it\n"
	        "                             had never stopped; its own config is used unless -c\n"
	        "                             is given (whose fixed knobs must then match). A\n"
	        "                             directory: the checkpoint written last in it (highest\n"
	        "                             write sequence), damaged ones skipped with a warning\n"
	        "      --trust-checkpoint-adapter  without -c, load the external adapter (.so)\n"
	        "                             the checkpoint's config names (refused otherwise)\n"
	        "  -l, --log-level LEVEL      error, warn, info (default) or debug\n"
	        "      --check                check the configuration, its key files and (by creating\n"
	        "                             the simulation, binding nothing) the adapter's own\n"
	        "                             checks of the knobs, and exit\n"
	        "  -h, --help                 this text\n"
	        "  -V, --version              the version\n"
	        "      --dump-commands        the control commands (name, usage, summary, arguments)\n"
	        "                             as JSON, the table `hello` lists\n"
	        "      --dump-config          the configuration keys (name, type, bounds, default,\n"
	        "                             reloads on SIGHUP) as JSON\n"
	        "\n"
	        "Exit status: 0 after a clean stop; 64 bad usage; 78 bad configuration;\n"
	        "65 the checkpoint cannot be restarted from; 69 an endpoint cannot be bound;\n"
	        "77 a checkpoint names an external adapter and neither -c nor\n"
	        "--trust-checkpoint-adapter was given;\n"
	        "73 the connection file cannot be written;\n"
	        "70 internal error (also: the security self-test failed).\n");
}

typedef struct options {
	const char *config;
	const char *connection_file;
	const char *log_level;
	const char *restart;
	int check;
	int trust_adapter; /* --trust-checkpoint-adapter */
} options;

/* --dump-commands: the command table as JSON, for tests and tools that check
 * the schema, PROTOCOL.md and the console against it. */
static int dump_commands(void)
{
	json_t *cmds = cmd_table_json();
	int rc = cmds && json_dumpf(cmds, stdout, JSON_INDENT(1)) == 0 ? 0 : EX_SOFTWARE;
	putchar('\n');
	json_decref(cmds);
	return rc;
}

static int parse_options(int argc, char **argv, options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "connection-file", required_argument, NULL, 'C' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "restart", required_argument, NULL, 'r' },
		{ "check", no_argument, NULL, 'k' },
		{ "trust-checkpoint-adapter", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "dump-commands", no_argument, NULL, 'D' },
		{ "dump-config", no_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "c:C:l:r:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'C': o->connection_file = optarg; break;
		case 'l': o->log_level = optarg; break;
		case 'r': o->restart = optarg; break;
		case 'k': o->check = 1; break;
		case 't': o->trust_adapter = 1; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("steerd %s (sim-adapter ABI %u)\n", STEERD_VERSION, SA_ABI_VERSION); exit(0);
		case 'D': exit(dump_commands());
		case 'K': exit(config_dump_table(stdout) == 0 ? 0 : EX_SOFTWARE);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "steerd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->config && !o->restart) {
		fprintf(stderr, "steerd: no configuration given (-c FILE or --restart CHECKPOINT)\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

static int parse_level(const char *name, log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (log_level)i;
			return 0;
		}
	return -1;
}

static void warn_skipped(const char *message) { log_warn("skipping %s", message); }

/*
 * The checkpoints --restart names, to try in this order: the file given, or
 * every readable checkpoint in the directory given, newest first
 * (checkpoint_dir.h). *is_dir says which. 0, or -1 with err.
 */
static int restart_candidates(const char *arg, checkpoint_entry **list, size_t *n, bool *is_dir,
                              char *err, size_t errlen)
{
	struct stat st;
	*is_dir = stat(arg, &st) == 0 && S_ISDIR(st.st_mode);
	if (*is_dir)
		return checkpoint_dir_list(arg, warn_skipped, list, n, err, errlen);
	*n = 0;
	*list = calloc(1, sizeof **list);
	if (!*list || !((*list)[0].path = strdup(arg))) {
		free(*list);
		*list = NULL;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*n = 1;
	return 0;
}

/*
 * The config saved in the checkpoint at path. It may not load an external
 * adapter (a .so: code) on its own word, only with --trust-checkpoint-adapter.
 * 0, or an exit status with err.
 */
static int config_from_checkpoint(const options *o, const char *path, config **cfg, char *err,
                                  size_t errlen)
{
	char *text = NULL;
	if (checkpoint_read_config(path, &text, err, errlen) < 0)
		return EX_DATAERR;
	char label[PATH_MAX + 32];
	snprintf(label, sizeof label, "%s:/steerd/config", path);
	adapter_refuse_external(!o->trust_adapter);
	/* Its relative paths are relative to the checkpoint's directory. */
	int rc = config_parse_beside(label, path, text, strlen(text), cfg, err, errlen);
	bool refused = adapter_external_refused();
	adapter_refuse_external(false);
	free(text);
	if (rc == 0)
		return 0;
	if (refused) {
		size_t used = strlen(err);
		snprintf(err + used, errlen - used,
		         "; an external adapter named by a checkpoint is loaded only with -c CONFIG "
		         "or --trust-checkpoint-adapter");
		return EX_NOPERM;
	}
	return EX_DATAERR; /* the checkpoint's own config is part of the checkpoint */
}

/*
 * Load the configuration (-c, else the one saved in the checkpoint) and, with
 * --restart, read the checkpoint to continue from into *l: the file given, or
 * the newest usable one in the directory given, damaged ones skipped with a
 * warning naming each. *chosen gets its path (malloc'd). 0, or an exit status
 * with err: 78 a bad -c config, 65 no usable checkpoint, 77 an external
 * adapter not trusted.
 */
static int load(const options *o, config **cfg, checkpoint_loaded *l, char **chosen, char *err,
                size_t errlen)
{
	*chosen = NULL;
	if (o->config && config_load(o->config, cfg, err, errlen) < 0)
		return EX_CONFIG;
	if (!o->restart)
		return 0;
	checkpoint_entry *list = NULL;
	size_t n = 0;
	bool is_dir = false;
	if (restart_candidates(o->restart, &list, &n, &is_dir, err, errlen) < 0) {
		config_destroy(cfg);
		return EX_DATAERR;
	}
	int status = EX_DATAERR;
	for (size_t i = 0; i < n && status == EX_DATAERR; i++) {
		const char *path = list[i].path;
		if (!o->config && (status = config_from_checkpoint(o, path, cfg, err, errlen)) != 0) {
			if (status == EX_DATAERR && is_dir)
				warn_skipped(err);
			continue;
		}
		if (checkpoint_read(path, (*cfg)->adapter->sa, l, err, errlen) == 0) {
			*chosen = list[i].path;
			list[i].path = NULL;
			status = 0;
			break;
		}
		status = EX_DATAERR;
		if (is_dir)
			warn_skipped(err);
		if (!o->config)
			config_destroy(cfg);
	}
	checkpoint_dir_free(&list, n);
	if (status == EX_DATAERR && is_dir)
		snprintf(err, errlen, "%s: no usable checkpoint in this directory (skipped ones are named above)",
		         o->restart);
	if (status != 0)
		config_destroy(cfg);
	return status;
}

/* Replace the fresh simulation with the checkpoint's; nothing is half-restored. */
static int restart_from(run *r, checkpoint_loaded *l, const char *path, char *err, size_t errlen)
{
	char why[512], run_id[sizeof l->run_id];
	memcpy(run_id, l->run_id, sizeof run_id); /* run_adopt takes l's contents */
	if (run_adopt(r, l, false, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	identity_restarted(run_id, r->pub.step);
	log_info("restarted from %s at step %llu (write_seq %llu)", path,
	         (unsigned long long)r->pub.step, (unsigned long long)r->ckpt_seq);
	return 0;
}

/*
 * Without security an ipc socket is guarded by file permissions alone: its
 * directory must be the daemon's own, closed to everyone else (0700).
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

/*
 * --check: the adapter's own checks of the knobs (what run_new would refuse
 * at start, e.g. a time step too long for the grid), by creating the
 * simulation and destroying it again. Nothing is bound. 0, or -1 with err.
 */
static int check_simulation(const config *cfg, char *err, size_t errlen)
{
	const sa_adapter *sa = cfg->adapter->sa;
	err[0] = '\0';
	void *sim = sa->create(cfg->knobs, err, errlen);
	if (!sim) {
		if (!err[0])
			snprintf(err, errlen, "%s: create failed without a message", sa->name);
		return -1;
	}
	sa->destroy(sim);
	return 0;
}

/* How to continue this run once it stops: said at start and at the end. */
static void log_resume_hint(const char *argv0, const config *cfg, const char *config_path)
{
	if (!cfg->checkpoint_dir)
		return;
	log_info("checkpoints go to %s; continue a stopped run with: %s --restart %s%s%s",
	         cfg->checkpoint_dir, argv0, cfg->checkpoint_dir, config_path ? " -c " : "",
	         config_path ? config_path : "");
}

/* Does the endpoint listen on this host only? */
static bool local_only(const char *ep)
{
	return strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0 ||
	       strncmp(ep, "tcp://127.", 10) == 0 || strncmp(ep, "tcp://localhost:", 16) == 0 ||
	       strncmp(ep, "tcp://[::1]:", 12) == 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return keygen_main(argc - 1, argv + 1);
	options opt = { 0 };
	if (parse_options(argc, argv, &opt) < 0)
		return EX_USAGE;
	identity_init();
	log_level level = LOG_INFO;
	if (opt.log_level && parse_level(opt.log_level, &level) < 0) {
		fprintf(stderr, "steerd: unknown log level '%s'\n", opt.log_level);
		return EX_USAGE;
	}

	char err[1024];
	config *cfg = NULL;
	checkpoint_loaded restored = { 0 };
	char *restored_path = NULL;
	if (opt.log_level)
		log_set_level(level);
	int loaded = load(&opt, &cfg, &restored, &restored_path, err, sizeof err);
	if (loaded != 0) {
		fprintf(stderr, "steerd: %s\n", err);
		return loaded;
	}
	log_set_level(opt.log_level ? level : cfg->log_level);
	if (opt.check) {
		int rc = 0;
		if (cfg->security && security_check(cfg->security, err, sizeof err) < 0) {
			fprintf(stderr, "steerd: %s\n", err);
			rc = EX_CONFIG;
		} else if (check_simulation(cfg, err, sizeof err) < 0) {
			fprintf(stderr, "steerd: %s: the adapter refuses this configuration: %s\n",
			        opt.config ? opt.config : restored_path, err);
			rc = EX_CONFIG;
		} else {
			printf("%s: ok (adapter %s%s)\n", opt.config ? opt.config : restored_path,
			       cfg->adapter->sa->name, cfg->security ? ", security on" : "");
			if (restored_path && opt.config)
				printf("%s: ok (step %llu)\n", restored_path, (unsigned long long)restored.step);
		}
		checkpoint_loaded_free(cfg->adapter->sa, &restored);
		free(restored_path);
		config_destroy(&cfg);
		return rc;
	}

	char default_conn[512];
	const char *conn_path = opt.connection_file ? opt.connection_file : cfg->connection_file;
	if (!conn_path) {
		const char *dir = getenv("XDG_RUNTIME_DIR");
		snprintf(default_conn, sizeof default_conn, "%s/steerd-%d.json", dir && *dir ? dir : "/tmp",
		         (int)getpid());
		conn_path = default_conn;
	}

	install_signal_handlers();
	const sa_adapter *sa = cfg->adapter->sa;
	int status = EX_SOFTWARE;
	/* Before any thread exists, so that all of them inherit it. */
	if (cfg->simulation_cpu >= 0 && cpu_pin_others_away(cfg->simulation_cpu, err, sizeof err) < 0) {
		log_error("%s", err);
		checkpoint_loaded_free(sa, &restored);
		free(restored_path);
		config_destroy(&cfg);
		return EX_CONFIG;
	}
	void *zctx = zmq_ctx_new();
	mirror *m = mirror_new(sa->n_knobs, count_scalars(sa));
	security *sec = NULL;
	stream *st = NULL;
	control *ctl = NULL;
	run *r = NULL;
	service *svc = NULL;
	if (!zctx || !m) {
		log_error("out of memory");
		goto out;
	}
	/* The ZAP handler must be up, and proven to refuse strangers, before anything binds. */
	if (cfg->security && !(sec = security_start(zctx, cfg, opt.config, &status, err, sizeof err))) {
		log_error("%s", err);
		goto out;
	}
	if (!cfg->security && (check_ipc_private(cfg->control_endpoint, err, sizeof err) < 0 ||
	                       check_ipc_private(cfg->diagnostics_endpoint, err, sizeof err) < 0)) {
		log_error("%s", err);
		status = EX_CONFIG;
		goto out;
	}
	st = stream_new(zctx, cfg, sa, security_server(sec), err, sizeof err);
	if (st)
		ctl = control_new(zctx, cfg, m, stream_endpoint(st), security_server(sec),
		                  security_zap(sec), err, sizeof err);
	if (!st || !ctl) {
		log_error("%s", err);
		status = EX_UNAVAILABLE;
		goto out;
	}
	r = run_new(cfg, st, m, control_sim_pipe(ctl), err, sizeof err);
	if (!r) {
		log_error("cannot create the simulation: %s", err);
		status = EX_CONFIG;
		goto out;
	}
	if (restored_path && restart_from(r, &restored, restored_path, err, sizeof err) < 0) {
		log_error("cannot restart: %s", err);
		status = EX_DATAERR;
		goto out;
	}
	r->pending = control_pending(ctl);
	/* SIGHUP reloads run on the simulation thread (reload.h) */
	reload_ctx reload = { .cfg = cfg, .from_file = opt.config != NULL, .sec = sec, .st = st,
		              .log_level_fixed = opt.log_level != NULL };
	r->reload = &reload;
	if (connfile_write(conn_path, control_endpoint(ctl), stream_endpoint(st), sa->name,
	                   sec ? security_server(sec)->public_z85 : NULL, err, sizeof err) < 0) {
		log_error("%s", err);
		status = EX_CANTCREAT;
		goto out;
	}
	if (control_start(ctl) < 0) {
		log_error("cannot start the control thread");
		unlink(conn_path);
		goto out;
	}
	log_info("steerd %s: adapter %s (%s), control %s, diagnostics %s", STEERD_VERSION, sa->name,
	         cfg->adapter->source, control_endpoint(ctl), stream_endpoint(st));
	log_info("connection file %s", conn_path);
	log_resume_hint(argv[0], cfg, opt.config);
	svc = service_start(control_liveness(ctl));
	char ready[256];
	snprintf(ready, sizeof ready, "%s at step %llu; control %s", sa->name,
	         (unsigned long long)r->pub.step, control_endpoint(ctl));
	service_ready(svc, ready);
	if (sec)
		log_info("security on: CURVE with %zu client key%s; SIGHUP reloads them",
		         security_key_count(sec), security_key_count(sec) == 1 ? "" : "s");
	else if (local_only(control_endpoint(ctl)) && local_only(stream_endpoint(st)))
		log_info("no security configured: listening on loopback/ipc only");
	else
		log_warn("no security configured and endpoints.allow_remote is set: anyone who can "
		         "reach %s and %s can steer this run", control_endpoint(ctl), stream_endpoint(st));

	if (cfg->simulation_cpu >= 0) {
		if (cpu_pin_self(cfg->simulation_cpu, err, sizeof err) < 0)
			log_warn("%s; the simulation thread shares the other CPUs", err);
		else
			log_info("simulation thread on CPU %d, steerd's other threads off it",
			         (int)cfg->simulation_cpu);
	}
	run_loop(r, &stop_signal);
	log_resume_hint(argv[0], cfg, opt.config);
	service_stopping(svc);

	control_stop(ctl);
	unlink(conn_path);
	status = 0;
out:
	service_destroy(&svc);
	run_destroy(&r);
	checkpoint_loaded_free(sa, &restored);
	free(restored_path);
	control_destroy(&ctl);
	stream_destroy(&st);
	/* Only now that no CURVE socket is left may the handler go (zap.h). */
	security_stop(&sec);
	mirror_destroy(&m);
	if (zctx)
		zmq_ctx_term(zctx);
	config_destroy(&cfg);
	if (checkpoint_library_damaged()) {
		/* HDF5's exit handler would crash on the file that failed to close. */
		log_warn("leaving without HDF5's clean-up (a checkpoint file failed to close)");
		fflush(NULL);
		_exit(status);
	}
	return status;
}
