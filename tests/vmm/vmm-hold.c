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
 *   grab-unbound VM DEVICE
 *                 ask vfiod for one more file of DEVICE (VM.GetDeviceFds),
 *                 never bind it, and put it in flight: sent over a unix
 *                 socket pair nobody reads, then closed here, so that no
 *                 /proc/PID/fd names it; "grab-unbound ok"
 *   drop-inflight close that socket pair: the file is released;
 *                 "drop-inflight ok"
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vmm.h"
#include "vfd-bus.h"

static int inflight[2] = { -1, -1 };

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

/* the first device descriptor of a GetDeviceFds reply (a(uh) a(sih)), still the message's */
static int first_device_fd(sd_bus_message *m, int *ret)
{
	const char *name;
	int32_t gi;
	int fd, r;

	*ret = -1;
	r = sd_bus_message_skip(m, "a(uh)");
	if (r >= 0)
		r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(sih)");
	while (r >= 0 && (r = sd_bus_message_read(m, "(sih)", &name, &gi, &fd)) > 0)
		if (*ret < 0)
			*ret = fd;
	if (r < 0)
		return r;
	return *ret < 0 ? -ENODEV : 0;
}

static int send_fd(int sock, int fd)
{
	char data = 'f';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = {};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? negative_errno() : 0;
}

static int step_grab_unbound(const char *vm, const char *device)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL;
	int fd, r;

	if (inflight[0] >= 0)
		return reply_step_err("grab-unbound", -EEXIST);
	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = vmm_vfiod_vm(bus, vm, &path);
	if (r >= 0)
		r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, "GetDeviceFds", &error,
				       &m, "s", device);
	if (r < 0) {
		fprintf(stderr, "vfd-vmm: GetDeviceFds: %s\n", error.message ? error.message : strerror(-r));
		return reply_step_err("grab-unbound", r);
	}
	r = first_device_fd(m, &fd);
	if (r >= 0 && socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, inflight) < 0)
		r = negative_errno();
	/* the message's copy is closed with it: the socket's is the only one left here */
	if (r >= 0)
		r = send_fd(inflight[0], fd);
	if (r < 0)
		return reply_step_err("grab-unbound", r);
	printf("grab-unbound ok\n");
	return 0;
}

static int step_drop_inflight(void)
{
	if (inflight[0] < 0)
		return reply_step_err("drop-inflight", -ENOENT);
	close(inflight[0]);
	close(inflight[1]);
	inflight[0] = inflight[1] = -1;
	printf("drop-inflight ok\n");
	return 0;
}

int vmm_hold_step(char **argv, int argc)
{
	if (strcmp(argv[0], "grab-unbound") == 0) {
		if (argc != 3)
			return reply_step_err("grab-unbound", -EINVAL);
		return step_grab_unbound(argv[1], argv[2]);
	}
	if (strcmp(argv[0], "drop-inflight") == 0)
		return step_drop_inflight();
	if (strcmp(argv[0], "fork-hold") == 0)
		return step_fork_hold();
	if (strcmp(argv[0], "close-vfio") == 0)
		return step_close_vfio();
	return vmm_source_vfiod_release();
}
