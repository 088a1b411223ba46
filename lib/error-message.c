/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "vfiod/error-message.h"

int vfd_error_setf(char **error_message, int r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (!error_message)
		return r;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	*error_message = s;
	return r;
}
