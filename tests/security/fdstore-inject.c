/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vm-restart-fdstore's attacker: asks the service manager ($NOTIFY_SOCKET)
 * to store, for the unit named by the caller's sd_notify socket rules, a
 * descriptor under a forged name, as "FDSTORE=1\nFDNAME=NAME".
 *
 * Usage: fdstore-inject [--pid PID] NAME memfd|null
 *   memfd a memfd (a file of no VFIO kind at all; a pipe would not do:
 *         systemd drops a stored descriptor on POLLHUP, which a pipe
 *         whose other end died reports at once)
 *   null  /dev/null (a character device, but not VFIO's)
 *   --pid PID  send as if from PID (the kernel checks SCM_CREDENTIALS:
 *              only root may name another pid, and systemd still
 *              compares it with the unit's main pid under NotifyAccess=main)
 * Exit 0 when the message was sent (which says nothing about whether the
 * manager kept it: the test checks what vfiod is handed back).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

int main(int argc, char *argv[])
{
	pid_t pid = 0;
	char msg[320];
	int fd, r;

	if (argc >= 3 && strcmp(argv[1], "--pid") == 0) {
		pid = (pid_t) atoi(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc != 3 || strlen(argv[1]) > 255) {
		fprintf(stderr, "usage: fdstore-inject [--pid PID] NAME memfd|null\n");
		return 2;
	}
	if (strcmp(argv[2], "memfd") == 0) {
		fd = memfd_create("forged", MFD_CLOEXEC);
		if (fd < 0)
			return perror("memfd_create"), 1;
	} else if (strcmp(argv[2], "null") == 0) {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return perror("/dev/null"), 1;
	} else {
		fprintf(stderr, "fdstore-inject: unknown kind %s\n", argv[2]);
		return 2;
	}
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", argv[1]);
	r = sd_pid_notify_with_fds(pid, 0, msg, &fd, 1);
	if (r <= 0) {
		fprintf(stderr, "fdstore-inject: not sent: %s\n", r < 0 ? strerror(-r) : "no $NOTIFY_SOCKET");
		return 1;
	}
	printf("sent %s (%s) as pid %d\n", argv[1], argv[2], pid ? (int) pid : (int) getpid());
	return 0;
}
