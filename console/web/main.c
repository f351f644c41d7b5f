/* SPDX-License-Identifier: MIT */
/*
 * main.c — steer-web: a live page of a steerd run, for browsers.
 *
 *   steer-web -C RUN.json [--listen 127.0.0.1:8080] [-c steer-web.yaml]
 *
 * It attaches to steerd once, like steer-console, and serves the run to
 * any number of browsers (server.h). Loopback only unless --allow-remote.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "auth.h"
#include "server.h"
#include "version.h"
#include "webcfg.h"

#define DEFAULT_CHARTJS "/usr/share/javascript/chart.js/chart.min.js"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: steer-web -C CONNECTION_FILE [options]\n"
	        "  -C, --connection-file FILE  the run to show (steerd's connection file)\n"
	        "  -l, --listen ADDR:PORT      where browsers connect (default 127.0.0.1:8080;\n"
	        "                              port 0: a free one); loopback unless --allow-remote\n"
	        "  -c, --config FILE           operators and their tokens (steer-web.yaml(5));\n"
	        "                              SIGHUP reads it again, revoking removed ones\n"
	        "  -k, --key FILE              steer-web's own NAME.key_secret, when steerd runs\n"
	        "                              with security\n"
	        "      --allow-remote          listen on an address other than loopback (plain\n"
	        "                              HTTP: prefer an ssh tunnel)\n"
	        "      --allow-host NAME       also accept this name in the Host header (repeat)\n"
	        "      --fps N                 at most N frames a second per browser (default 30)\n"
	        "      --chartjs FILE          the Chart.js file (default %s)\n"
	        "      --new-token             print a new random token for the config, and exit\n"
	        "  -h, --help                  this text\n"
	        "  -V, --version               the version\n",
	        DEFAULT_CHARTJS);
}

static void on_stop(int sig)
{
	(void)sig;
	server_stop_requested = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	server_reload_requested = 1;
}

/* "ADDR:PORT" or "[V6]:PORT" into iface and port; -1 when malformed. */
static int parse_listen(char *arg, char **iface, int *port)
{
	char *colon = strrchr(arg, ':');
	if (!colon || colon == arg)
		return -1;
	*colon = '\0';
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p < 0 || p > 65535)
		return -1;
	*port = (int)p;
	if (arg[0] == '[') {
		size_t n = strlen(arg);
		if (n < 3 || arg[n - 1] != ']')
			return -1;
		arg[n - 1] = '\0';
		arg++;
	}
	*iface = arg;
	return 0;
}

static bool is_loopback(const char *iface)
{
	struct in_addr v4;
	struct in6_addr v6;
	if (inet_pton(AF_INET, iface, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, iface, &v6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&v6);
	return false; /* a name or an interface: not known to be loopback */
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"connection-file", required_argument, NULL, 'C'},
		{"listen", required_argument, NULL, 'l'},
		{"config", required_argument, NULL, 'c'},
		{"key", required_argument, NULL, 'k'},
		{"allow-remote", no_argument, NULL, 'R'},
		{"allow-host", required_argument, NULL, 'H'},
		{"fps", required_argument, NULL, 'F'},
		{"chartjs", required_argument, NULL, 'J'},
		{"new-token", no_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	static auth a;
	char listen_arg[240] = "127.0.0.1:8080";
	server_opts o = {.fps = 30, .chartjs_path = DEFAULT_CHARTJS};
	const char *hosts[AUTH_MAX_HOSTS];
	size_t n_hosts = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "C:l:c:k:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C': o.connfile = optarg; break;
		case 'l': snprintf(listen_arg, sizeof listen_arg, "%s", optarg); break;
		case 'c': o.config_path = optarg; break;
		case 'k': o.key_file = optarg; break;
		case 'R': o.remote = true; break;
		case 'H':
			if (n_hosts == AUTH_MAX_HOSTS || strlen(optarg) >= sizeof a.hosts[0]) {
				fprintf(stderr, "steer-web: at most %d --allow-host names\n", AUTH_MAX_HOSTS);
				return EX_USAGE;
			}
			hosts[n_hosts++] = optarg;
			break;
		case 'F': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 120) {
				fprintf(stderr, "steer-web: --fps: 1 to 120\n");
				return EX_USAGE;
			}
			o.fps = (int)v;
			break;
		}
		case 'J': o.chartjs_path = optarg; break;
		case 'T': {
			char t[WEBCFG_TOKEN_MAX + 1];
			if (webcfg_new_token(t, sizeof t) < 0)
				return EX_OSERR;
			printf("%s\n", t);
			return 0;
		}
		case 'h': usage(stdout); return 0;
		case 'V': printf("steer-web %s\n", STEERD_VERSION); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind < argc || !o.connfile) {
		fprintf(stderr, "steer-web: %s\n", optind < argc ? "unexpected argument" :
		                                   "give the run's connection file: -C FILE");
		usage(stderr);
		return EX_USAGE;
	}
	char *iface;
	if (parse_listen(listen_arg, &iface, &o.port) < 0) {
		fprintf(stderr, "steer-web: --listen ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080\n");
		return EX_USAGE;
	}
	o.iface = iface;
	if (!is_loopback(iface)) {
		if (!o.remote) {
			fprintf(stderr, "steer-web: %s is not a loopback address: give --allow-remote too "
			                "(or reach the page through `ssh -L 8080:127.0.0.1:8080 HOST`)\n",
			        iface);
			return EX_USAGE;
		}
		fprintf(stderr, "steer-web: WARNING: listening on %s, beyond this machine, over plain "
		                "HTTP: tokens and cookies travel unencrypted, and whoever gets one sees "
		                "(an operator's: steers) the run. An ssh tunnel to 127.0.0.1 is safer.\n",
		        iface);
	}
	webcfg cfg = {0};
	char err[1024];
	if (o.config_path && webcfg_load(o.config_path, &cfg, err, sizeof err) < 0) {
		fprintf(stderr, "steer-web: %s\n", err);
		return EX_CONFIG;
	}
	if (auth_init(&a, &cfg) < 0) {
		fprintf(stderr, "steer-web: no random bytes for a token\n");
		return EX_OSERR;
	}
	for (size_t i = 0; i < n_hosts; i++)
		snprintf(a.hosts[a.n_hosts++], sizeof a.hosts[0], "%s", hosts[i]);
	if (o.remote && !is_loopback(iface) && a.n_hosts < AUTH_MAX_HOSTS)
		snprintf(a.hosts[a.n_hosts++], sizeof a.hosts[0], "%s", iface);
	o.auth = &a;
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return server_run(&o);
}
