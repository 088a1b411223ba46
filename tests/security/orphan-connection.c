/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "orphan-connection.h"

static int connect_in_child(const char *path, pid_t *ret_pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, status;
	pid_t pid;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;

	/* the child shares the socket: its connect() is what the bus records */
	pid = fork();
	if (pid < 0) {
		close(fd);
		return -errno;
	}
	if (pid == 0)
		_exit(connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ? 1 : 0);

	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		close(fd);
		return -ECONNREFUSED;
	}
	*ret_pid = pid;
	return fd;
}

int orphan_connection_open(const char *address, sd_bus **ret_bus, pid_t *ret_pid)
{
	sd_bus *bus = NULL;
	const char *unique;
	char path[108];
	pid_t pid = 0;
	int fd, r;

	if (strncmp(address, "unix:path=", 10) != 0)
		return -EINVAL;
	/* the path alone, without ",guid=..." */
	snprintf(path, sizeof(path), "%.*s", (int) strcspn(address + 10, ","), address + 10);

	fd = connect_in_child(path, &pid);
	if (fd < 0)
		return fd;

	r = sd_bus_new(&bus);
	if (r < 0) {
		close(fd);
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
	if (r < 0) {
		sd_bus_unref(bus);
		return r;
	}
	*ret_bus = bus;
	*ret_pid = pid;
	return 0;
}
