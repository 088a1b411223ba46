/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The process behind a bus caller, for a method that acts on the caller's
 * process itself (VM.ChangeProcessToCaller raises its RLIMIT_MEMLOCK).
 *
 * The bus daemon knows the process that opened the connection. Its pid
 * alone (ProcessID, from SO_PEERCRED at the connect) stops naming that
 * process once it exits: a connection outlives its opener, and the pid
 * can go to another process. Newer bus daemons (dbus 1.16, dbus-broker)
 * also hand out a pidfd of the opener (ProcessFD of
 * GetConnectionCredentials, from SO_PEERPIDFD), which names that process
 * and no other for ever: once it has exited, the caller has no process.
 * (dbus 1.16 then leaves ProcessID out of its answer, so a caller of the
 * pid alone is refused too; the pidfd also closes the window between the
 * bus's answer and vfiod's own pidfd_open() of that pid.)
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "pidfd-watch.h"

/*
 * Asks the bus (GetConnectionCredentials) for the sender's uid and
 * process. With a ProcessFD the process is that pidfd's (*ret_pinned
 * true): -ESRCH when it has exited, whichever process has its pid now;
 * -EPROTO when it disagrees with a ProcessID, or the answer is not the bus
 * driver's. Without one, the process
 * that holds ProcessID now (*ret_pinned false): the opener's only while
 * it lives. -ENODATA: the bus named no uid, or neither pidfd nor pid.
 */
int bus_sender_process(sd_bus_message *message, VMMProcess *ret, uid_t *ret_uid, bool *ret_pinned);
