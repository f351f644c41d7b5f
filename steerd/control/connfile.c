/* SPDX-License-Identifier: MIT */
/* connfile.c — write the connection file atomically, readable by its owner only. */
#include "connfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "version.h"
#include "wire.h"

int connfile_write(const char *path, const char *control, const char *diagnostics,
                   const char *adapter, const char *server_key, char *err, size_t errlen)
{
	json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s}", "control", control, "diagnostics",
	                      diagnostics, "pid", (int)getpid(), "protocol", WIRE_PROTOCOL, "adapter",
	                      adapter, "version", STEERD_VERSION);
	if (j && server_key && json_object_set_new(j, "server_key", json_string(server_key)) < 0) {
		json_decref(j);
		j = NULL;
	}
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	char tmp[4096];
	if (!text || snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp) {
		free(text);
		snprintf(err, errlen, "%s: path too long or out of memory", path);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t len = strlen(text);
	int ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len &&
	         write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	free(text);
	if (!ok || rename(tmp, path) != 0) {
		if (ok)
			saved = errno;
		unlink(tmp);
		snprintf(err, errlen, "cannot write connection file %s: %s", path, strerror(saved));
		return -1;
	}
	return 0;
}
