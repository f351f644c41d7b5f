/* SPDX-License-Identifier: MIT */
/* keygen.c — `steerd keygen NAME [--dir DIR]` (see keygen.h). */
#include "keygen.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cert.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: steerd keygen NAME [--dir DIR]\n"
	        "\n"
	        "Makes a CURVE key pair: DIR/NAME.key (the public key: give it to the server,\n"
	        "or to clients when NAME is the server) and DIR/NAME.key_secret (mode 0600:\n"
	        "keep it private). DIR defaults to the current directory. Existing files are\n"
	        "never overwritten. NAME is 1-63 letters, digits, '.', '_' or '-'.\n"
	        "\n"
	        "  -d, --dir DIR   where to write the files\n"
	        "  -h, --help      this text\n");
}

int keygen_main(int argc, char **argv)
{
	const char *name = NULL, *dir = ".";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "-d") == 0 || strcmp(a, "--dir") == 0) {
			if (++i == argc) {
				fprintf(stderr, "steerd keygen: %s needs a directory\n", a);
				return EX_USAGE;
			}
			dir = argv[i];
		} else if (strncmp(a, "--dir=", 6) == 0) {
			dir = a + 6;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "steerd keygen: unknown option '%s'\n", a);
			usage(stderr);
			return EX_USAGE;
		} else if (!name) {
			name = a;
		} else {
			fprintf(stderr, "steerd keygen: unexpected argument '%s'\n", a);
			return EX_USAGE;
		}
	}
	if (!name) {
		fprintf(stderr, "steerd keygen: no key name given\n");
		usage(stderr);
		return EX_USAGE;
	}
	if (!*dir) {
		fprintf(stderr, "steerd keygen: empty directory name\n");
		return EX_USAGE;
	}
	if (!cert_name_ok(name)) {
		fprintf(stderr,
		        "steerd keygen: bad key name '%s': use 1 to %d letters, digits, '.', '_' or '-', "
		        "not starting with '.' or '-'\n",
		        name, CERT_NAME_MAX - 1);
		return EX_USAGE;
	}
	char err[1024], pub[4096], sec[4096];
	cert c;
	if (cert_paths(dir, name, pub, sec, sizeof pub) < 0 ||
	    cert_write_pair(dir, name, &c, err, sizeof err) < 0) {
		fprintf(stderr, "steerd keygen: %s\n", err);
		return EX_CANTCREAT;
	}
	cert_wipe(&c);
	printf("public key:  %s\n", pub);
	printf("secret key:  %s (mode 0600; keep it private)\n", sec);
	printf("public-key = \"%s\"\n", c.public_z85);
	return 0;
}
