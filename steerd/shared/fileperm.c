/* SPDX-License-Identifier: MIT */
/* fileperm.c — refuse trusted files others may change (see fileperm.h). */
#include "fileperm.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool fileperm_transient(int e)
{
	return !(e == ENOENT || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG || e == EISDIR ||
	         e == EACCES || e == EPERM);
}

static bool ours(uid_t uid) { return uid == 0 || uid == geteuid(); }

static const char *writers(mode_t m)
{
	return (m & 020) && (m & 002) ? "its group and others" : (m & 020) ? "its group" : "others";
}

/*
 * A user private group (Debian's scheme, where umask 002 is usual): the
 * group is named as the owner, is the owner's primary group and lists no
 * other member. Its write permission lets nobody else in.
 */
static bool private_group(uid_t uid, gid_t gid)
{
	char pbuf[4096], gbuf[4096];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	if (getpwuid_r(uid, &pw, pbuf, sizeof pbuf, &pwp) != 0 || !pwp || pw.pw_gid != gid ||
	    getgrgid_r(gid, &gr, gbuf, sizeof gbuf, &grp) != 0 || !grp ||
	    strcmp(gr.gr_name, pw.pw_name) != 0)
		return false;
	for (char **m = gr.gr_mem; m && *m; m++)
		if (strcmp(*m, pw.pw_name) != 0)
			return false;
	return true;
}

/* The write bits of st that let another user in: others', and the group's
 * unless it is the owner's private group. */
static mode_t foreign_write(const struct stat *st)
{
	mode_t m = st->st_mode & 022;
	if ((m & 020) && private_group(st->st_uid, st->st_gid))
		m &= (mode_t)~020;
	return m;
}

int fileperm_check(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (!ours(st->st_uid)) {
		snprintf(err, errlen, "%s: owned by uid %u, not by root or steerd's user (uid %u): "
		         "its owner could change it", path, (unsigned)st->st_uid, (unsigned)geteuid());
		errno = 0;
		return -1;
	}
	if (foreign_write(st)) {
		snprintf(err, errlen, "%s: writable by %s (mode %04o): another user could change it; "
		         "chmod go-w it", path, writers(foreign_write(st)),
		         (unsigned)(st->st_mode & 07777));
		errno = 0;
		return -1;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	struct stat ds;
	if (stat(dir, &ds) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s: its directory %s: %s", path, dir, strerror(e));
		errno = e;
		return -1;
	}
	if (!ours(ds.st_uid)) {
		snprintf(err, errlen, "%s: its directory %s is owned by uid %u, not by root or steerd's "
		         "user (uid %u): its owner could replace the file", path, dir,
		         (unsigned)ds.st_uid, (unsigned)geteuid());
		errno = 0;
		return -1;
	}
	if (foreign_write(&ds) && !(ds.st_mode & S_ISVTX)) {
		snprintf(err, errlen, "%s: its directory %s is writable by %s and not sticky (mode %04o): "
		         "another user could replace the file; chmod go-w (or +t) the directory",
		         path, dir, writers(foreign_write(&ds)),
		         (unsigned)(ds.st_mode & 07777));
		errno = 0;
		return -1;
	}
	return 0;
}
