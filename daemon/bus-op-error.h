/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Turning a failed core operation (negative errno + vfd_op_error) into a
 * D-Bus error: the stable name from bus-errors.c when the errno has one,
 * the errno's generic name otherwise; the message names the object and
 * says why.
 */
#pragma once

#include <systemd/sd-bus.h>

#include "pidfd-watch.h"
#include "vfiod/op-error.h"

/* sets error and returns r (negative) for a method handler to return */
int bus_error_from_op(sd_bus_error *error, int r, const vfd_op_error *op, const char *what);

/* sets the stable name for a domain errno (printf-style message) */
int bus_error_domain(sd_bus_error *error, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* a pidfd (or pid) naming a VMM that could not be identified (vmm_process_from_*()) */
int bus_error_vmm_process(sd_bus_error *error, int r);

/*
 * After polkit's answer, a user's VMM must still run as that user (it may
 * have exec'd a setuid program meanwhile): 0, or error set and negative.
 * uid 0: nothing to check.
 */
int bus_check_vmm_runs_as(sd_bus_error *error, const VMMProcess *vmm, uid_t uid);
