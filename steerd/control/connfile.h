/* SPDX-License-Identifier: MIT */
/*
 * connfile.h — the connection file: how consoles and scripts find a run.
 * JSON {"control", "diagnostics", "pid", "protocol", "adapter", "version"}
 * and, with security, "server_key": the server's CURVE public key (Z85),
 * which clients need to connect. Mode 0600, written atomically (temporary
 * name, fsync, rename).
 */
#ifndef STEERD_CONNFILE_H
#define STEERD_CONNFILE_H

#include <stddef.h>

/* server_key: the server's public key in Z85, or NULL without security. */
int connfile_write(const char *path, const char *control, const char *diagnostics,
                   const char *adapter, const char *server_key, char *err, size_t errlen);

#endif
