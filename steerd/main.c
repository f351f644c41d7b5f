/* SPDX-License-Identifier: MIT */
/*
 * main.c — steerd: host a simulation and let people steer it while it runs.
 * The program is its command line over libsteerd (lib.h): open the run
 * around the adapter the config names, step it until stopped, close it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cmd.h"
#include "config.h"
#include "keygen.h"
#include "lib.h"
#include "log.h"
#include "security.h"
#include "startup.h"
#include "version.h"
#ifdef STEERD_MPI
#include "lib_mpi.h" /* steerd-mpi: the same program on every rank of an MPI job */
#endif

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
		case 'V': printf("steerd %s (sim-adapter ABI %u.%u)\n", STEERD_VERSION, SA_ABI_MAJOR, SA_ABI_MINOR); exit(0);
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




/* Replace the fresh simulation with the checkpoint's; nothing is half-restored. */
/*
 * --check: the adapter's own checks of the knobs (what run_new would refuse
 * at start, e.g. a time step too long for the grid), by creating the
 * simulation and destroying it again. Nothing is bound. 0, or -1 with err.
 */
static int check_simulation(const config *cfg, char *err, size_t errlen)
{
	const sa_adapter *sa = cfg->adapter->sa;
	err[0] = '\0';
	void *sim = sa->create(cfg->knobs, log_adapter_host(), err, errlen);
	if (!sim) {
		if (!err[0])
			snprintf(err, errlen, "%s: create failed without a message", sa->name);
		return -1;
	}
	sa->destroy(sim);
	return 0;
}

/* --check: the config, its key files and the adapter's checks; binds nothing. */
static int check_only(const options *o)
{
	char err[1024];
	config *cfg = NULL;
	checkpoint_loaded restored = { 0 };
	char *restored_path = NULL;
	startup_args a = { .config = o->config, .restart = o->restart,
		           .trust_adapter = o->trust_adapter != 0 };
	int rc = startup_load(&a, &cfg, &restored, &restored_path, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "steerd: %s\n", err);
		return rc;
	}
	if (cfg->security && security_check(cfg->security, err, sizeof err) < 0) {
		fprintf(stderr, "steerd: %s\n", err);
		rc = EX_CONFIG;
	} else if (check_simulation(cfg, err, sizeof err) < 0) {
		fprintf(stderr, "steerd: %s: the adapter refuses this configuration: %s\n",
		        o->config ? o->config : restored_path, err);
		rc = EX_CONFIG;
	} else {
		printf("%s: ok (adapter %s%s)\n", o->config ? o->config : restored_path,
		       cfg->adapter->sa->name, cfg->security ? ", security on" : "");
		if (restored_path && o->config)
			printf("%s: ok (step %llu)\n", restored_path, (unsigned long long)restored.step);
	}
	checkpoint_loaded_free(cfg->adapter->sa, &restored);
	free(restored_path);
	config_destroy(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return keygen_main(argc - 1, argv + 1);
	options opt = { 0 };
	if (parse_options(argc, argv, &opt) < 0)
		return EX_USAGE;
	log_level level = LOG_INFO;
	if (opt.log_level && parse_level(opt.log_level, &level) < 0) {
		fprintf(stderr, "steerd: unknown log level '%s'\n", opt.log_level);
		return EX_USAGE;
	}
	if (opt.log_level)
		log_set_level(level);
	if (opt.check)
		return check_only(&opt);

	char err[1024];
	int status;
#ifdef STEERD_MPI
	int provided; /* steerd's own threads (rank 0) make no MPI calls */
	MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
#endif
	steerd_open_args a = { .config = opt.config, .connection_file = opt.connection_file,
		               .restart = opt.restart, .trust_adapter = opt.trust_adapter != 0,
		               .handle_signals = true, .log_level = opt.log_level ? (int)level : -1,
		               .log_level_fixed = opt.log_level != NULL };
#ifdef STEERD_MPI
	steerd *s = steerd_open_mpi_with(MPI_COMM_WORLD, &a, &status, err, sizeof err);
	int rank = 0;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
#else
	steerd *s = steerd_open_with(&a, &status, err, sizeof err);
	const int rank = 0;
#endif
	if (!s) {
		if (rank != 0)
			; /* every rank failed together: rank 0 says why */
		else if (status == EX_CONFIG || status == EX_DATAERR || status == EX_NOPERM ||
		         status == EX_USAGE)
			fprintf(stderr, "steerd: %s\n", err);
		else
			log_error("%s", err);
#ifdef STEERD_MPI
		fflush(stderr); /* before a rank's exit lets mpirun end the job */
		MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD); /* every rank exits as rank 0 */
		MPI_Finalize();
#endif
		return status;
	}
	status = steerd_run(s) == 0 ? 0 : EX_SOFTWARE;
	if (steerd_close(&s) < 0) {
		/* HDF5's exit handler would crash on the file that failed to close. */
		log_warn("leaving without HDF5's clean-up (a checkpoint file failed to close)");
		fflush(NULL);
		_exit(status);
	}
#ifdef STEERD_MPI
	MPI_Finalize();
#endif
	return status;
}
