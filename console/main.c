/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * steer-console — attach to a running steerd: read it, steer it, watch it.
 *
 *   steer-console [-C CONNECTION_FILE | ENDPOINT] [--json] [-e "cmd; cmd"]
 *                 [-f FILE] [--name CLIENT] [--timeout T]
 *                 [--key NAME.key_secret [--server-key Z85|FILE]]
 *
 * Interactive when stdin is a terminal and no -e/-f is given; otherwise the
 * commands run as a script that stops at the first error (exit status 1).
 */
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccmd.h"
#include "script.h"
#include "units.h"
#include "version.h"
#include "protocol.h"

typedef struct step_src {
	char kind; /* 'e' or 'f' */
	const char *arg;
} step_src;

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s [-C CONNECTION_FILE | ENDPOINT] [--json] [-e \"cmd; cmd\"] [-f FILE]\n"
	        "                     [--name CLIENT] [--timeout T] [--key FILE [--server-key KEY]]\n"
	        "  -C, --connection-file FILE  the run's connection file (steerd -C)\n"
	        "  ENDPOINT                    or its control endpoint, e.g. tcp://127.0.0.1:5555\n"
	        "  -j, --json                  print each reply body as one JSON line\n"
	        "  -e, --execute CMDS          run commands separated by ';', then exit\n"
	        "  -f, --file FILE             run commands from FILE ('-' is stdin), then exit\n"
	        "  -n, --name CLIENT           the name other clients see (default USER-PID)\n"
	        "  -t, --timeout T             request timeout (default 3s)\n"
	        "  -k, --key FILE              your CURVE key pair (NAME.key_secret from `steerd keygen`),\n"
	        "                              needed when steerd has a security section\n"
	        "  -S, --server-key KEY        steerd's public key: 40-character Z85 or its .key file\n"
	        "                              (default: \"server_key\" in the connection file)\n"
	        "  -V, --version               the version\n"
	        "      --dump-commands         the console's commands as JSON (name, usage, summary,\n"
	        "                              the daemon command each stands for) and exit\n"
	        "Without -C or ENDPOINT, the only steerd-*.json in $XDG_RUNTIME_DIR (or /tmp).\n"
	        "Type `help` at the prompt for the commands.\n",
	        CON_PROG);
}

/* The default: the one connection file steerd writes by default. */
static char *find_connfile(void)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	char pat[4096];
	snprintf(pat, sizeof pat, "%s/steerd-*.json", dir && *dir ? dir : "/tmp");
	glob_t g;
	char *found = NULL;
	if (glob(pat, 0, NULL, &g) == 0) {
		if (g.gl_pathc == 1)
			found = strdup(g.gl_pathv[0]);
		else
			fprintf(stderr, "%s: %zu runs match %s; pick one with -C\n", CON_PROG, g.gl_pathc,
			        pat);
		globfree(&g);
	} else {
		fprintf(stderr, "%s: no run found (%s); give -C CONNECTION_FILE or ENDPOINT\n", CON_PROG,
		        pat);
	}
	return found;
}

static void default_name(console *c)
{
	const char *user = getenv("USER");
	if (!user || !*user)
		user = "console";
	snprintf(c->name, sizeof c->name, "%.40s-%ld", user, (long)getpid());
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 63)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "connection-file", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "execute", required_argument, NULL, 'e' },
		{ "file", required_argument, NULL, 'f' },
		{ "name", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "key", required_argument, NULL, 'k' },
		{ "server-key", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "dump-commands", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	console con, *c = &con;
	con_init(c);
	default_name(c);
	step_src *steps = calloc((size_t)argc, sizeof *steps);
	int n_steps = 0, opt, rc = 0;
	char *found = NULL;
	char err[256];
	double t;
	while ((opt = getopt_long(argc, argv, "C:je:f:n:t:k:S:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'C':
			c->connfile = optarg;
			break;
		case 'D': /* the command table, for the tests that check it against steerd's */
			rc = ccmd_dump(stdout) == 0 ? 0 : 1;
			goto out;
		case 'j':
			c->json = true;
			break;
		case 'e':
		case 'f':
			steps[n_steps++] = (step_src){ (char)opt, optarg };
			break;
		case 'n':
			if (!valid_name(optarg)) {
				fprintf(stderr, "%s: --name: 1 to 63 printable characters, no blanks\n",
				        CON_PROG);
				rc = 2;
				goto out;
			}
			snprintf(c->name, sizeof c->name, "%s", optarg);
			break;
		case 't':
			if (units_duration(optarg, &t, err, sizeof err) < 0 || t <= 0) {
				fprintf(stderr, "%s: --timeout: %s\n", CON_PROG, t <= 0 ? "must be > 0" : err);
				rc = 2;
				goto out;
			}
			c->timeout_ms = (int)(t * 1000 + 0.5);
			break;
		case 'k':
			c->key_file = optarg;
			break;
		case 'S':
			c->server_key_arg = optarg;
			break;
		case 'h':
			usage(stdout);
			goto out;
		case 'V':
			printf("%s %s (protocol %d)\n", CON_PROG, STEERD_VERSION, WIRE_PROTOCOL);
			goto out;
		default:
			usage(stderr);
			rc = 2;
			goto out;
		}
	}
	if (optind < argc)
		c->endpoint_arg = argv[optind++];
	if (optind < argc || (c->connfile && c->endpoint_arg)) {
		usage(stderr);
		rc = 2;
		goto out;
	}
	if (!c->connfile && !c->endpoint_arg && !(found = c->connfile = find_connfile())) {
		rc = 1;
		goto out;
	}

	c->interactive = n_steps == 0 && isatty(0);
	con_signals();
	if (con_connect(c) < 0) {
		rc = 1; /* e.g. a bad --key file: free what was made so far */
		goto out;
	}
	if (con_hello(c) < 0) {
		if (!c->interactive) {
			rc = 1;
			goto out;
		}
		fprintf(stderr, "%s: will keep trying to reach steerd at %s\n", CON_PROG, c->control);
	}
	if (c->interactive) {
		interactive_run(c);
	} else if (n_steps == 0) {
		rc = script_run_file(c, stdin) < 0;
	} else {
		for (int i = 0; i < n_steps && rc == 0 && !c->quit; i++) {
			if (steps[i].kind == 'e') {
				rc = script_run_string(c, steps[i].arg) < 0;
				continue;
			}
			FILE *f = strcmp(steps[i].arg, "-") ? fopen(steps[i].arg, "r") : stdin;
			if (!f) {
				perror(steps[i].arg);
				rc = 1;
				break;
			}
			rc = script_run_file(c, f) < 0;
			if (f != stdin)
				fclose(f);
		}
	}
	if (rc && con_interrupted)
		rc = 130;
out:
	con_free(c);
	free(found);
	free(steps);
	return rc;
}
