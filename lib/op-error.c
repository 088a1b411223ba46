/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* First-error detail of multi-step operations, see lib/include/vfiod/op-error.h. */
#include <stdarg.h>
#include <stdio.h>

#include "vfiod/op-error.h"

int vfd_op_error_set(vfd_op_error *e, int error, const char *subject, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->error != 0)
		return error;

	e->error = error;
	snprintf(e->subject, sizeof(e->subject), "%s", subject ? subject : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return error;
}
