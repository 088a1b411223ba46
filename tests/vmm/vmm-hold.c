/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Holding descriptors the way a compromised VMM would (vm-security-busy-device):
 *   fork-hold     fork a child that inherits every descriptor and sleeps
 *                 until it is killed; answers "fork-hold ok pid=N"
 *   close-vfio    close every descriptor of /dev/vfio, /dev/iommu and every
 *                 VFIO device descriptor (the VMM lives on without them);
 *                 "close-vfio ok closed=N"
 *   release       ask vfiod to Release the VM, as the VMM itself;
 *                 "release ok state=S" or "release err=EBUSY name=NAME"
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vmm.h"

static int reply_step_err(const char *step, int r)
{
	const char *n = strerrorname_np(-r);

	printf("%s err=%s\n", step, n ? n : "EUNKNOWN");
	return r;
}

static int step_fork_hold(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return reply_step_err("fork-hold", -errno);
	if (pid == 0) {
		/* the test's FIFOs are not the child's to keep open */
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		for (;;)
			pause();
	}
	printf("fork-hold ok pid=%d\n", (int) pid);
	return 0;
}

static int step_close_vfio(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned closed = 0;

	if (!d)
		return reply_step_err("close-vfio", -errno);
	while ((de = readdir(d))) {
		char link[64];
		ssize_t n;
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "/dev/vfio/", 10) == 0 || strcmp(link, "/dev/iommu") == 0 ||
		    strcmp(link, "anon_inode:[vfio-device]") == 0) {
			close(fd);
			closed++;
		}
	}
	closedir(d);
	printf("close-vfio ok closed=%u\n", closed);
	return 0;
}

int vmm_hold_step(char **argv, int argc)
{
	if (strcmp(argv[0], "fork-hold") == 0)
		return step_fork_hold();
	if (strcmp(argv[0], "close-vfio") == 0)
		return step_close_vfio();
	return vmm_source_vfiod_release();
}
