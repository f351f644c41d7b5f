/* SPDX-License-Identifier: MIT */
/* change.c — see change.h. */
#include "change.h"

#include <stdarg.h>
#include <stdio.h>

void change_fail(change *ch, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ch->err_msg, sizeof ch->err_msg, fmt, ap);
	va_end(ap);
	ch->err_code = code;
}
