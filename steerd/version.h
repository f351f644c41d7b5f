/* SPDX-License-Identifier: MIT */
/* version.h — the steerd release. */
#ifndef STEERD_VERSION_H
#define STEERD_VERSION_H

#define STEERD_VERSION "0.1.0"

#endif
