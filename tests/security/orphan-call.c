/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * orphan-call ADDRESS DEST PATH INTERFACE METHOD [ARG...]
 *
 * A bus connection that outlives the process that opened it: a child
 * connect()s the socket and exits, so the bus daemon records the child's
 * pid (SO_PEERCRED) for a connection that this process then uses. The
 * caller can give that pid to another process before the call is made,
 * which is how a daemon that trusts /proc/PID of a bus peer is fooled.
 *
 * Prints "pid N" (the pid the bus reports) once connected, then waits for
 * one line on stdin and calls METHOD with the arguments: each ARG is a
 * string ("s"), except "{}", an empty a{sv}. Prints "ok" or
 * "error NAME: MESSAGE".
 *
 * Exit status: 0 the call succeeded, 1 it failed, 2 usage or setup error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "orphan-connection.h"

int main(int argc, char *argv[])
{
	/* freed on every return: the sanitizer build checks for leaks at exit */
	__attribute__((cleanup(sd_bus_error_free))) sd_bus_error error = SD_BUS_ERROR_NULL;
	__attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *call = NULL, *reply = NULL;
	__attribute__((cleanup(sd_bus_flush_close_unrefp))) sd_bus *bus = NULL;
	char line[64];
	pid_t pid = 0;
	int r;

	if (argc < 6 || strncmp(argv[1], "unix:path=", 10) != 0) {
		fprintf(stderr, "usage: orphan-call unix:path=SOCKET DEST PATH INTERFACE METHOD [ARG...]\n");
		return 2;
	}
	r = orphan_connection_open(argv[1], &bus, &pid);
	if (r < 0) {
		fprintf(stderr, "orphan-call: cannot connect to %s: %s\n", argv[1], strerror(-r));
		return 2;
	}
	printf("pid %d\n", (int) pid);
	fflush(stdout);

	if (!fgets(line, sizeof(line), stdin))
		return 2;

	r = sd_bus_message_new_method_call(bus, &call, argv[2], argv[3], argv[4], argv[5]);
	for (int i = 6; r >= 0 && i < argc; i++)
		r = strcmp(argv[i], "{}") == 0 ? sd_bus_message_append(call, "a{sv}", 0)
					       : sd_bus_message_append(call, "s", argv[i]);
	if (r < 0) {
		fprintf(stderr, "orphan-call: cannot build the call: %s\n", strerror(-r));
		return 2;
	}

	r = sd_bus_call(bus, call, 0, &error, &reply);
	if (r < 0) {
		printf("error %s: %s\n", error.name ? error.name : "?", error.message ? error.message : strerror(-r));
		return 1;
	}
	printf("ok\n");
	return 0;
}
