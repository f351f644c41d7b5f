/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * connfile.h — the connection file: how consoles and scripts find a run.
 * JSON {"control", "diagnostics", "pid", "protocol", "adapter", "version"},
 * mode 0600, written atomically (temporary name, fsync, rename).
 */
#ifndef STEERD_CONNFILE_H
#define STEERD_CONNFILE_H

#include <stddef.h>

int connfile_write(const char *path, const char *control, const char *diagnostics,
                   const char *adapter, char *err, size_t errlen);

#endif
