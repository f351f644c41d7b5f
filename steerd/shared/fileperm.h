/* SPDX-License-Identifier: MIT */
/*
 * fileperm.h — may anyone but us (or root) change a file steerd trusts?
 *
 * The config file and the client key files decide who steers the run: a
 * file that group or others may write, or that sits in a directory they may
 * write (and so rename another file over it), could be swapped by another
 * local user. Refused: a file owned by someone other than root or steerd's
 * user, or writable by group or others; a directory owned by someone else,
 * or writable by group or others unless it is sticky and owned by root or
 * steerd's user (so /tmp-style directories still work: there only a file's
 * owner may rename or remove it). Group write does not count when the group
 * is the owner's private group (named as the owner, its primary group, no
 * other member: Debian's user private groups, where umask 002 is usual).
 */
#ifndef STEERD_FILEPERM_H
#define STEERD_FILEPERM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/*
 * st: the file's fstat (of the descriptor it is read from). 0, or -1 with
 * "path: why" in err; errno is then 0 for a permission refusal, else the
 * error of stat(2) on the directory.
 */
int fileperm_check(const char *path, const struct stat *st, char *err, size_t errlen);

/*
 * Did open/stat/read fail for a reason that may pass (EMFILE, ENFILE, EIO,
 * ENOMEM, ...: the file could not be read just now), rather than because
 * the file is absent or not a file (ENOENT, ENOTDIR, ELOOP, EISDIR, ...)?
 */
bool fileperm_transient(int e);

#endif
