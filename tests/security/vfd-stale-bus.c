/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfd-stale-bus: an attacker's system-bus connection that outlives the
 * process that opened it (vm-security-vmm-identity).
 *
 * The connection is an orphan (orphan-connection.h): for the bus it belongs
 * to a child's pid forever, whoever holds it and whoever gets that pid
 * next. The tool prints
 * "stale pid=PID" and then obeys one command per line on stdin:
 *
 *   getfds VM          VM.GetFds of the VM named VM
 *   devfds VM DEVICE   VM.GetDeviceFds
 *   auth VM SECRET     VM.AuthenticateVMM
 *   release VM         VM.Release
 *   quit
 *
 * and answers each with one line: "CMD ok fds=N" or "CMD err=ERROR.NAME".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "orphan-connection.h"
#include "vfd-bus.h"

#define SYSTEM_BUS_SOCKET "/run/dbus/system_bus_socket"

static int vm_path(sd_bus *bus, const char *vm, char **ret)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path;
	int r;

	r = sd_bus_call_method(bus, VFD_BUS_NAME, VFD_BUS_PATH, VFD_BUS_INTERFACE, "GetVM", &error,
			       &reply, "s", vm);
	if (r >= 0)
		r = sd_bus_message_read(reply, "o", &path);
	if (r >= 0)
		*ret = strdup(path);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&error);
	return r < 0 ? r : (*ret ? 0 : -ENOMEM);
}

/* counts the descriptors of a reply: what the caller would have got */
static unsigned count_fds(sd_bus_message *m)
{
	unsigned n = 0;
	char type;
	const char *contents;
	int fd;

	while (sd_bus_message_peek_type(m, &type, &contents) > 0) {
		if (type == SD_BUS_TYPE_UNIX_FD) {
			if (sd_bus_message_read_basic(m, type, &fd) < 0)
				break;
			n++;
		} else if (type == SD_BUS_TYPE_ARRAY || type == SD_BUS_TYPE_STRUCT ||
			   type == SD_BUS_TYPE_VARIANT || type == SD_BUS_TYPE_DICT_ENTRY) {
			if (sd_bus_message_enter_container(m, type, contents) < 0)
				break;
			n += count_fds(m);
			if (sd_bus_message_exit_container(m) < 0)
				break;
		} else if (sd_bus_message_skip(m, NULL) < 0)
			break;
	}
	return n;
}

static void run(sd_bus *bus, const char *cmd, const char *vm, const char *member, const char *arg)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	char *path = NULL;
	int r;

	r = vm_path(bus, vm, &path);
	if (r < 0) {
		printf("%s err=GetVM:%d\n", cmd, r);
		return;
	}
	if (arg)
		r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, member, &error, &reply,
				       "s", arg);
	else
		r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, member, &error, &reply,
				       NULL);
	if (r < 0)
		printf("%s err=%s\n", cmd, error.name ? error.name : "unknown");
	else
		printf("%s ok fds=%u\n", cmd, count_fds(reply));
	sd_bus_message_unref(reply);
	sd_bus_error_free(&error);
	free(path);
}

int main(void)
{
	sd_bus *bus = NULL;
	char line[512];
	const char *address;
	pid_t child = 0;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	address = getenv("DBUS_SYSTEM_BUS_ADDRESS"); /* a private bus, for tests outside the lab */
	r = orphan_connection_open(address && *address ? address : "unix:path=" SYSTEM_BUS_SOCKET, &bus,
				   &child);
	if (r < 0) {
		printf("stale err=%s\n", strerror(-r));
		return 1;
	}
	printf("stale pid=%d\n", (int) child);

	while (fgets(line, sizeof(line), stdin)) {
		char *cmd = strtok(line, " \n"), *vm = strtok(NULL, " \n"), *arg = strtok(NULL, " \n");

		if (!cmd || strcmp(cmd, "quit") == 0)
			break;
		if (!vm)
			printf("%s err=usage\n", cmd);
		else if (strcmp(cmd, "getfds") == 0)
			run(bus, cmd, vm, "GetFds", NULL);
		else if (strcmp(cmd, "devfds") == 0 && arg)
			run(bus, cmd, vm, "GetDeviceFds", arg);
		else if (strcmp(cmd, "auth") == 0 && arg)
			run(bus, cmd, vm, "AuthenticateVMM", arg);
		else if (strcmp(cmd, "release") == 0)
			run(bus, cmd, vm, "Release", NULL);
		else
			printf("%s err=usage\n", cmd);
	}
	sd_bus_flush_close_unref(bus);
	return 0;
}
