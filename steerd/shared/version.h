/* SPDX-License-Identifier: MIT */
/* version.h — the steerd release: one source, the public header (steerd.h). */
#ifndef STEERD_VERSION_H
#define STEERD_VERSION_H

#include "steerd.h"

#define STEERD_VERSION STEERD_VERSION_STRING

#endif
