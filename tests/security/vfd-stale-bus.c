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
 *   self               answers "self pid=PID": this process (a VM's VMM)
 *   chproc VM          VM.ChangeProcessToCaller with the iommufd kept by
 *                      live-getfds (30 s deadline)
 *   spawn-chproc VM    the same from a child on a connection of its own
 *                      (a live opener): "spawn-chproc ok child=PID" or
 *                      "spawn-chproc err=NAME child=PID"; the child stays
 *                      until child-quit (or this process's end)
 *   child-quit         ends and reaps that child: "child-quit ok"
 *   quit
 *
 * A command prefixed "live-" goes over a connection of this process
 * instead (its own pid: as the VM's VMM it authenticates there); the
 * first descriptor of a live-getfds reply, the VM's iommufd, is kept for
 * chproc (vm-modern-libvirt-iommufd: the stale connection's pid, handed
 * to another process, names no caller when the bus pins its opener).
 *
 * and answers each with one line: "CMD ok fds=N" or "CMD err=ERROR.NAME".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <systemd/sd-bus.h>

#include "orphan-connection.h"
#include "vfd-bus.h"

#define SYSTEM_BUS_SOCKET "/run/dbus/system_bus_socket"

static int kept_fd = -1; /* the iommufd of the last live-getfds */
static pid_t child_pid;   /* spawn-chproc's child, until child-quit */

static int child_stay = -1;

static int vm_path(sd_bus *bus, const char *vm, char **ret);

/* a connection of this process: the system bus, or address (a private bus in tests) */
static int open_live_bus(const char *address, sd_bus **ret)
{
	int r;

	if (!address || !*address)
		return sd_bus_open_system(ret);
	r = sd_bus_new(ret);
	if (r >= 0)
		r = sd_bus_set_address(*ret, address);
	if (r >= 0)
		r = sd_bus_set_bus_client(*ret, 1);
	if (r >= 0)
		r = sd_bus_start(*ret);
	return r;
}

/*
 * spawn-chproc: a child asks for the VM's charge on a connection it opens
 * itself; it answers on a pipe and waits for EOF on another before it exits
 */
static void spawn_chproc(const char *address, const char *vm)
{
	int answer[2], stay[2];
	char buf[256] = "";
	ssize_t n;
	pid_t pid;

	if (child_pid > 0 || pipe2(answer, O_CLOEXEC) < 0) {
		printf("spawn-chproc err=busy\n");
		return;
	}
	if (pipe2(stay, O_CLOEXEC) < 0) {
		close(answer[0]);
		close(answer[1]);
		printf("spawn-chproc err=pipe\n");
		return;
	}
	pid = fork();
	if (pid < 0) {
		printf("spawn-chproc err=fork\n");
		return;
	}
	if (pid == 0) {
		sd_bus_error error = SD_BUS_ERROR_NULL;
		sd_bus *b = NULL;
		char *path = NULL;
		int r;

		close(answer[0]);
		close(stay[1]);
		r = open_live_bus(address, &b);
		if (r >= 0)
			r = vm_path(b, vm, &path);
		if (r >= 0)
			r = sd_bus_call_method(b, VFD_BUS_NAME, path, VFD_VM_INTERFACE, "ChangeProcessToCaller",
					       &error, NULL, "ht", kept_fd, (uint64_t) 30000000);
		if (r >= 0)
			dprintf(answer[1], "ok");
		else
			dprintf(answer[1], "err=%s", error.name ? error.name : strerror(-r));
		close(answer[1]);
		while (read(stay[0], buf, 1) > 0)
			;
		_exit(0);
	}
	close(answer[1]);
	close(stay[0]);
	n = read(answer[0], buf, sizeof(buf) - 1);
	close(answer[0]);
	buf[n > 0 ? n : 0] = 0;
	child_pid = pid;
	child_stay = stay[1];
	printf("spawn-chproc %s child=%d\n", n > 0 ? buf : "err=no-answer", (int) pid);
}

static void child_quit(void)
{
	if (child_pid <= 0) {
		printf("child-quit err=none\n");
		return;
	}
	close(child_stay);
	(void) waitpid(child_pid, NULL, 0);
	child_pid = 0;
	child_stay = -1;
	printf("child-quit ok\n");
}

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

/* counts the descriptors of a reply: what the caller would have got; keeps the first */
static unsigned count_fds(sd_bus_message *m, bool keep)
{
	unsigned n = 0;
	char type;
	const char *contents;
	int fd;

	while (sd_bus_message_peek_type(m, &type, &contents) > 0) {
		if (type == SD_BUS_TYPE_UNIX_FD) {
			if (sd_bus_message_read_basic(m, type, &fd) < 0)
				break;
			if (keep && kept_fd < 0)
				kept_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
			n++;
		} else if (type == SD_BUS_TYPE_ARRAY || type == SD_BUS_TYPE_STRUCT ||
			   type == SD_BUS_TYPE_VARIANT || type == SD_BUS_TYPE_DICT_ENTRY) {
			if (sd_bus_message_enter_container(m, type, contents) < 0)
				break;
			n += count_fds(m, keep);
			if (sd_bus_message_exit_container(m) < 0)
				break;
		} else if (sd_bus_message_skip(m, NULL) < 0)
			break;
	}
	return n;
}

static void run(sd_bus *bus, bool live, const char *cmd, const char *vm, const char *member,
		const char *arg)
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
	if (strcmp(member, "ChangeProcessToCaller") == 0)
		r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, member, &error, &reply,
				       "ht", kept_fd, (uint64_t) 30000000);
	else if (arg)
		r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, member, &error, &reply,
				       "s", arg);
	else
		r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, member, &error, &reply,
				       NULL);
	if (r < 0)
		printf("%s err=%s\n", cmd, error.name ? error.name : "unknown");
	else
		printf("%s ok fds=%u\n", cmd, count_fds(reply, strcmp(member, "GetFds") == 0 && live));
	sd_bus_message_unref(reply);
	sd_bus_error_free(&error);
	free(path);
}

int main(void)
{
	sd_bus *bus = NULL, *own = NULL;
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
		bool live = cmd && strncmp(cmd, "live-", 5) == 0;
		const char *verb = live ? cmd + 5 : cmd;
		sd_bus *b = bus;

		if (!cmd || strcmp(cmd, "quit") == 0)
			break;
		if (strcmp(cmd, "self") == 0) {
			printf("self pid=%d\n", (int) getpid());
			continue;
		}
		if (strcmp(cmd, "child-quit") == 0) {
			child_quit();
			continue;
		}
		if (strcmp(cmd, "spawn-chproc") == 0) {
			if (vm && kept_fd >= 0)
				spawn_chproc(address, vm);
			else
				printf("%s err=usage\n", cmd);
			continue;
		}
		if (live) {
			if (!own) {
				r = open_live_bus(address, &own);
				if (r < 0) {
					printf("%s err=connect:%d\n", cmd, r);
					own = sd_bus_unref(own);
					continue;
				}
			}
			b = own;
		}
		if (!vm)
			printf("%s err=usage\n", cmd);
		else if (strcmp(verb, "getfds") == 0)
			run(b, live, cmd, vm, "GetFds", NULL);
		else if (strcmp(verb, "devfds") == 0 && arg)
			run(b, live, cmd, vm, "GetDeviceFds", arg);
		else if (strcmp(verb, "auth") == 0 && arg)
			run(b, live, cmd, vm, "AuthenticateVMM", arg);
		else if (strcmp(verb, "release") == 0)
			run(b, live, cmd, vm, "Release", NULL);
		else if (strcmp(verb, "chproc") == 0 && kept_fd >= 0)
			run(b, live, cmd, vm, "ChangeProcessToCaller", NULL);
		else
			printf("%s err=usage\n", cmd);
	}
	sd_bus_flush_close_unref(own);
	sd_bus_flush_close_unref(bus);
	return 0;
}
