/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A bus connection that outlives the process that opened it: a child
 * connect()s a socket this process created, stays for the handshake (a
 * bus daemon that pins its peer with a pidfd takes it then) and exits,
 * so the bus daemon
 * records the child's pid (SO_PEERCRED of connect()) for a connection that
 * this process then uses. Whoever gets that pid next is, for the bus, the
 * connection's peer. The attack tools of the security tests build on it.
 */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

/*
 * Connects to ADDRESS ("unix:path=SOCKET[,...]") through a child that has
 * exited and been reaped when this returns, and completes the handshake
 * (Hello): the bus knows the connection by the child's pid, in *ret_pid.
 */
int orphan_connection_open(const char *address, sd_bus **ret_bus, pid_t *ret_pid);
