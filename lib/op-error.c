/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* First-error detail of multi-step operations, see lib/include/vfiod/op-error.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "vfiod/op-error.h"

__attribute__((format(printf, 5, 0)))
static int op_error_setv(vfd_op_error *e, int error, bool held, const char *subject, const char *fmt,
			 va_list ap)
{
	if (!e || e->error != 0)
		return error;

	e->error = error;
	e->held = held;
	snprintf(e->subject, sizeof(e->subject), "%s", subject ? subject : "");
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	return error;
}

int vfd_op_error_set(vfd_op_error *e, int error, const char *subject, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = op_error_setv(e, error, false, subject, fmt, ap);
	va_end(ap);
	return r;
}

int vfd_op_error_set_held(vfd_op_error *e, const char *subject, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = op_error_setv(e, -EBUSY, true, subject, fmt, ap);
	va_end(ap);
	return r;
}
