/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "bus-errors.h"
#include "bus-op-error.h"
#include "vm-identity.h"
#include "vfiod/util.h"

int bus_error_domain(sd_bus_error *error, int r, const char *fmt, ...)
{
	const char *name = vfd_bus_error_name_from_errno(r);
	va_list ap;

	if (r > 0)
		r = -r;

	va_start(ap, fmt);
	if (name)
		(void) sd_bus_error_setfv(error, name, fmt, ap);
	else {
		/* the errno's generic name, with our message */
		_cleanup_(sd_bus_error_free) sd_bus_error generic = SD_BUS_ERROR_NULL;

		(void) sd_bus_error_set_errno(&generic, r);
		(void) sd_bus_error_setfv(error, generic.name, fmt, ap);
	}
	va_end(ap);
	return r;
}

int bus_error_from_op(sd_bus_error *error, int r, const vfd_op_error *op, const char *what)
{
	/* the op error's errno may be more precise than the return (set by the core) */
	if (op && op->error < 0)
		r = op->error;
	if (r > 0)
		r = -r;

	if (op && op->error != 0 && *op->message) {
		if (*op->subject)
			return bus_error_domain(error, r, "%s: %s: %s", what, op->subject, op->message);
		return bus_error_domain(error, r, "%s: %s", what, op->message);
	}
	return bus_error_domain(error, r, "%s: %s", what, strerror(-r));
}

int bus_error_vmm_process(sd_bus_error *error, int r)
{
	if (r == -ESRCH)
		return bus_error_domain(error, r, "The VMM process has exited");
	if (r == -EBADF || r == -EINVAL)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "The VMM argument is not a pidfd of a live process");
	if (r == -ECHILD)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "The pidfd names a thread, not a process (a PIDFD_THREAD "
					 "pidfd, or a thread that is not its process's thread-group "
					 "leader): name the process");
	return sd_bus_error_set_errnof(error, r, "Cannot identify the VMM process: %m");
}

int bus_check_vmm_runs_as(sd_bus_error *error, const VMMProcess *vmm, uid_t uid)
{
	int r;

	if (uid == 0)
		return 0;
	r = vmm_runs_as(vmm, uid);
	if (r < 0)
		return bus_error_vmm_process(error, r);
	if (r == 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "The VMM (pid %d) no longer runs as the caller", (int) vmm->pid);
	return 0;
}
