/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Live update, as QEMU's cpr-transfer does it (vm-modern-change-process):
 * the running VMM hands its iommufd, device cdev and guest memfd to a new
 * VMM process over a unix socket, and the VM's charge moves to the new
 * process through vfiod (org.vfiod1.VM.ChangeProcess), bracketing the
 * new process's IOMMU_IOAS_CHANGE_PROCESS.
 *
 *   old VMM                               new VMM (--receive SOCKET)
 *   handover SOCKET       ---fds--->      accept
 *   change-process VM PID                 (vfiod raises its limit)
 *                                         ioas-change-process
 *   commit-change VM                      (vfiod checks both sides)
 *
 * The D-Bus steps may also name "dead" (a pidfd of a child that has
 * exited) instead of PID, and answer "<step> err=ENAME name=ERROR" with
 * vfiod's stable error name on a refusal.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "vfiod/process.h"
#include "vfiod/util.h"
#include "vfiod/vfio-uapi.h"
#include "vmm.h"
#include "vfd-bus.h"

/* Linux 6.13 (newer than vfiod/vfio-uapi.h); the argument is its size and a reserved word */
struct vmm_ioas_change_process {
	uint32_t size;
	uint32_t reserved;
};
#define VMM_IOMMU_IOAS_CHANGE_PROCESS _IO(IOMMUFD_TYPE, 0x92)

static int socket_address(const char *path, struct sockaddr_un *ret)
{
	*ret = (struct sockaddr_un) { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(ret->sun_path))
		return -ENAMETOOLONG;
	strcpy(ret->sun_path, path);
	return 0;
}

int vmm_handover_listen(const char *path, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	int r;

	r = socket_address(path, &sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	(void) unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
		return negative_errno();
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static pid_t peer_pid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	return cred.pid;
}

int vmm_handover_send(const char *path, const int fds[VMM_HANDOVER_FDS], const char *text,
		      pid_t *ret_peer)
{
	char control[CMSG_SPACE(sizeof(int) * VMM_HANDOVER_FDS)] = {};
	struct iovec iov = { .iov_base = (void *)text, .iov_len = strlen(text) + 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	struct cmsghdr *c;
	int r;

	r = socket_address(path, &sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return negative_errno();
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * VMM_HANDOVER_FDS);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * VMM_HANDOVER_FDS);
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0)
		return negative_errno();
	*ret_peer = peer_pid(fd);
	return 0;
}

int vmm_handover_receive(int listen_fd, int ret_fds[VMM_HANDOVER_FDS], char *text, size_t size,
			 pid_t *ret_peer)
{
	char control[CMSG_SPACE(sizeof(int) * VMM_HANDOVER_FDS)] = {};
	struct iovec iov = { .iov_base = text, .iov_len = size - 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	_cleanup_close_ int fd = -1;
	struct cmsghdr *c;
	ssize_t n;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n < 0 ? negative_errno() : -EPIPE;
	text[n] = '\0';
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int) * VMM_HANDOVER_FDS))
		return -EBADMSG;
	memcpy(ret_fds, CMSG_DATA(c), sizeof(int) * VMM_HANDOVER_FDS);
	*ret_peer = peer_pid(fd);
	return 0;
}

int vmm_ioas_change_process(int iommufd)
{
	struct vmm_ioas_change_process cmd = { .size = sizeof(cmd) };

	if (ioctl(iommufd, VMM_IOMMU_IOAS_CHANGE_PROCESS, &cmd) < 0)
		return negative_errno();
	return 0;
}

/* a pidfd of a process that has exited: a child, reaped after the pidfd was opened */
static int dead_pidfd(void)
{
	pid_t child;
	int fd;

	child = fork();
	if (child < 0)
		return negative_errno();
	if (child == 0)
		_exit(0);
	fd = vfd_pidfd_open(child);
	(void) waitpid(child, NULL, 0);
	return fd;
}

/* a thread that only waits: its tid names no process (vm-modern-change-process) */
static void *idle_thread(void *arg)
{
	pid_t *tid = arg;

	__atomic_store_n(tid, gettid(), __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

/* thread: starts one; "thread ok tid=N" */
int vmm_thread_step(void)
{
	static pid_t tid;
	pthread_t t;
	int r;

	r = -pthread_create(&t, NULL, idle_thread, &tid);
	if (r < 0) {
		printf("thread err=%s\n", strerrorname_np(-r));
		return r;
	}
	while (__atomic_load_n(&tid, __ATOMIC_ACQUIRE) == 0)
		usleep(1000);
	printf("thread ok tid=%d\n", (int)tid);
	return 0;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* a pidfd of one thread (PIDFD_THREAD, Linux 6.9): its fdinfo says the tid */
static int thread_pidfd(pid_t tid)
{
	long fd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);

	return fd < 0 ? negative_errno() : (int)fd;
}

static int bus_reply(const char *step, int r, const sd_bus_error *error)
{
	const char *n = strerrorname_np(-r);

	printf("%s err=%s name=%s\n", step, n ? n : "EUNKNOWN",
	       error->name ? error->name : "none");
	fprintf(stderr, "vfd-vmm: %s: %s\n", step, error->message ? error->message : strerror(-r));
	return r;
}

/*
 * change-process VM PID|dead|tid:TID [TIMEOUT_S], commit-change VM,
 * abort-change VM: the VM's methods (tid:TID: a PIDFD_THREAD pidfd), asked as its VMM (authenticated with
 * $VFIOD_VMM_SECRET)
 */
int vmm_change_process_step(char **argv, int argc)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int pidfd = -1;
	const char *step = argv[0];
	uint64_t moved, timeout_usec = 0;
	int r;

	if (argc < 2 || (strcmp(step, "change-process") == 0 ? argc < 3 || argc > 4 : argc != 2)) {
		printf("%s err=EINVAL usage: change-process VM PID|dead [TIMEOUT_S], "
		       "commit-change VM, abort-change VM\n", step);
		return -EINVAL;
	}
	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = vmm_vfiod_vm(bus, argv[1], &path);
	if (r < 0)
		return bus_reply(step, r, &error);

	if (strcmp(step, "change-process") == 0) {
		if (strcmp(argv[2], "dead") == 0)
			pidfd = dead_pidfd();
		else if (strncmp(argv[2], "tid:", 4) == 0)
			pidfd = thread_pidfd((pid_t)strtol(argv[2] + 4, NULL, 10));
		else
			pidfd = vfd_pidfd_open((pid_t)strtol(argv[2], NULL, 10));
		if (pidfd < 0) {
			printf("%s err=%s pidfd\n", step, strerrorname_np(-pidfd));
			return pidfd;
		}
		if (argc == 4)
			timeout_usec = strtoull(argv[3], NULL, 10) * 1000000;
		r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, "ChangeProcess",
				       &error, NULL, "ht", pidfd, timeout_usec);
		if (r < 0)
			return bus_reply(step, r, &error);
		printf("%s ok\n", step);
		return 0;
	}
	if (strcmp(step, "commit-change") == 0) {
		r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE,
				       "CommitProcessChange", &error, &reply, NULL);
		if (r >= 0)
			r = sd_bus_message_read(reply, "t", &moved);
		if (r < 0)
			return bus_reply(step, r, &error);
		printf("%s ok moved=%llu\n", step, (unsigned long long)moved);
		return 0;
	}
	r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, "AbortProcessChange",
			       &error, NULL, NULL);
	if (r < 0)
		return bus_reply(step, r, &error);
	printf("%s ok\n", step);
	return 0;
}

/*
 * take-change VM [TIMEOUT_S]: as the new process, ask for the VM's charge
 * (ChangeProcessToCaller) and present iommufd, the one taken over;
 * "take-change ok" or "take-change err=ENAME name=ERROR"
 */
int vmm_take_change_step(int iommufd, char **argv, int argc)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *object = NULL;
	uint64_t timeout_usec = 0;
	int r;

	if (argc < 2 || argc > 3) {
		printf("take-change err=EINVAL usage: take-change VM [TIMEOUT_S]\n");
		return -EINVAL;
	}
	if (iommufd < 0) {
		printf("take-change err=EBADF no iommufd\n");
		return -EBADF;
	}
	if (argc == 3)
		timeout_usec = strtoull(argv[2], NULL, 10) * 1000000;
	/* the VM's path only: this process is not the VMM (yet), it does not authenticate */
	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = sd_bus_call_method(bus, VFD_BUS_NAME, VFD_BUS_PATH, VFD_BUS_INTERFACE, "GetVM", &error,
				       &reply, "s", argv[1]);
	if (r >= 0)
		r = sd_bus_message_read(reply, "o", &object);
	if (r >= 0)
		r = sd_bus_call_method(bus, VFD_BUS_NAME, object, VFD_VM_INTERFACE, "ChangeProcessToCaller",
				       &error, NULL, "ht", iommufd, timeout_usec);
	if (r < 0)
		return bus_reply("take-change", r, &error);
	printf("take-change ok\n");
	return 0;
}

/*
 * grab-many VM DEVICE N: VM.GetDeviceFds N times in a row, as a VMM in a
 * loop would; each file is closed at once (vfiod keeps its copy until
 * the file is bound). "grab-many ok got=N", or at the first refusal
 * "grab-many err=ENAME name=ERROR got=K"
 */
int vmm_grab_many_step(char **argv, int argc)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_free_ char *path = NULL;
	unsigned n, got = 0;
	int r;

	if (argc != 4) {
		printf("grab-many err=EINVAL usage: grab-many VM DEVICE N\n");
		return -EINVAL;
	}
	n = (unsigned)strtoul(argv[3], NULL, 10);
	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = vmm_vfiod_vm(bus, argv[1], &path);
	for (; r >= 0 && got < n; got++) {
		_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
		_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

		r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, "GetDeviceFds",
				       &error, &m, "s", argv[2]);
		if (r < 0) {
			const char *e = strerrorname_np(-r);

			printf("grab-many err=%s name=%s got=%u\n", e ? e : "EUNKNOWN",
			       error.name ? error.name : "none", got);
			fprintf(stderr, "vfd-vmm: grab-many: %s\n",
				error.message ? error.message : strerror(-r));
			return r;
		}
	}
	if (r < 0) {
		printf("grab-many err=%s got=0\n", strerrorname_np(-r));
		return r;
	}
	printf("grab-many ok got=%u\n", got);
	return 0;
}
