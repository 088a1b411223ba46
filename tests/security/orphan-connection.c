/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orphan-connection.h"

/*
 * The child shares the socket: its connect() is what the bus records. It
 * stays until *ret_stay is closed: a bus daemon that pins the peer with a
 * pidfd (SO_PEERPIDFD, dbus 1.16) takes it during the handshake, and
 * drops a connection whose peer has gone by then. Returns the socket.
 */
static int connect_in_child(const char *path, pid_t *ret_pid, int *ret_stay)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ready[2], stay[2], status;
	char ok = 0;
	pid_t pid;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (pipe2(ready, O_CLOEXEC) < 0) {
		close(fd);
		return -errno;
	}
	if (pipe2(stay, O_CLOEXEC) < 0) {
		close(fd);
		close(ready[0]);
		close(ready[1]);
		return -errno;
	}

	pid = fork();
	if (pid < 0) {
		status = -errno;
		close(fd);
		close(ready[0]);
		close(ready[1]);
		close(stay[0]);
		close(stay[1]);
		return status;
	}
	if (pid == 0) {
		char c = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ? 0 : 1;

		close(stay[1]);
		if (write(ready[1], &c, 1) != 1 || !c)
			_exit(1);
		/* until the parent closes its end: EOF */
		while (read(stay[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(stay[0]);
	if (read(ready[0], &ok, 1) != 1 || !ok) {
		close(ready[0]);
		close(stay[1]);
		close(fd);
		(void) waitpid(pid, &status, 0);
		return -ECONNREFUSED;
	}
	close(ready[0]);
	*ret_pid = pid;
	*ret_stay = stay[1];
	return fd;
}

/* lets the child go and reaps it: its pid is free for the next process */
static int child_exit(pid_t pid, int stay)
{
	int status;

	close(stay);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ECHILD;
	return 0;
}

int orphan_connection_open(const char *address, sd_bus **ret_bus, pid_t *ret_pid)
{
	sd_bus *bus = NULL;
	const char *unique;
	char path[108];
	pid_t pid = 0;
	int fd, stay = -1, r;

	if (strncmp(address, "unix:path=", 10) != 0)
		return -EINVAL;
	/* the path alone, without ",guid=..." */
	snprintf(path, sizeof(path), "%.*s", (int) strcspn(address + 10, ","), address + 10);

	fd = connect_in_child(path, &pid, &stay);
	if (fd < 0)
		return fd;

	r = sd_bus_new(&bus);
	if (r < 0) {
		close(fd);
		(void) child_exit(pid, stay);
		return r;
	}
	r = sd_bus_set_fd(bus, fd, fd);
	if (r < 0)
		close(fd);
	if (r >= 0)
		r = sd_bus_set_bus_client(bus, 1);
	if (r >= 0)
		r = sd_bus_start(bus);
	/* Hello is done once the unique name is known: the bus has the pid now */
	if (r >= 0)
		r = sd_bus_get_unique_name(bus, &unique);
	/* the opener goes only now, its credentials taken (and reaped: its pid is free) */
	if (r >= 0)
		r = child_exit(pid, stay);
	else
		(void) child_exit(pid, stay);
	if (r < 0) {
		sd_bus_unref(bus);
		return r;
	}
	*ret_bus = bus;
	*ret_pid = pid;
	return 0;
}
