/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Authorizing the callers of methods that change the host.
 *
 * Root (euid 0) is allowed at once. Anyone else is asked about with
 * polkit's CheckAuthorization, asynchronously, with the caller's bus name
 * as the subject ("system-bus-name"), so the event loop never waits. The
 * answer must come within POLKIT_TIMEOUT_USEC; polkit missing from the
 * bus, an error, a timeout or "no" all end in AccessDenied: fail closed.
 *
 * A handler validates its arguments into a request of its own, then
 * passes the request here with the function that does the work; that
 * function runs once the caller is allowed (at once for root) and
 * replies. The request is freed with free_request either way.
 */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "vfd-bus.h" /* the polkit actions of systemd/org.vfiod1.policy */

#define POLKIT_TIMEOUT_USEC (5ULL * 1000 * 1000)

/*
 * Does what a method handler does with an error: returns negative errno or
 * sets error; else replies itself (>= 0).
 */
typedef int (*authorized_fn)(sd_bus_message *message, void *request, sd_bus_error *error);

/*
 * Returns what a method handler returns: 1 when the reply was sent or
 * will be, negative errno (with error set) on failure. Takes ownership of
 * request in every case.
 */
int polkit_authorize(sd_bus_message *message, const char *action, authorized_fn run,
		     void *request, void (*free_request)(void *request), sd_bus_error *error);

/*
 * At exit, right before the bus is closed: lets go of the callers'
 * messages that checks still waiting for polkit hold. Each holds the bus,
 * and the bus holds the check: without this, neither is ever freed. The
 * checks themselves go with the bus, their callers get no answer.
 */
void polkit_drop_pending(void);

/*
 * The sender's pid and uid as the bus daemon reports them for its connection
 * (SO_PEERCRED at connect time; ret_* may be NULL); never read from /proc.
 */
int bus_sender_identity(sd_bus_message *message, pid_t *ret_pid, uid_t *ret_uid);
/* 1 when the sender of message has euid 0, 0 when not, negative errno */
int bus_sender_is_root(sd_bus_message *message);
