/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pidfd-watch.h"
#include "vfiod/process.h"
#include "vfiod/util.h"

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

/*
 * fills uid/gid from /proc/PID (-ECHILD for a thread: a PIDFD_THREAD pidfd,
 * or a thread that is not the leader), then checks the pidfd still names a
 * live process
 */
static int identify(VMMProcess *p)
{
	char status[4096];
	uint64_t tgid, pid;
	uid_t uid;
	gid_t gid;
	int r;

	r = vfd_pidfd_get_pid(p->pidfd, &p->pid);
	if (r < 0)
		return r;

	/*
	 * A PIDFD_THREAD pidfd (the flag is O_EXCL) of a thread-group leader
	 * has Tgid == Pid, but it becomes readable when that thread exits,
	 * while the other threads of the process go on holding its files.
	 */
	r = fcntl(p->pidfd, F_GETFL);
	if (r < 0)
		return negative_errno();
	if (r & O_EXCL)
		return -ECHILD;

	r = vfd_process_owner(p->pid, &uid, &gid);
	if (r < 0)
		return r;

	/*
	 * A pidfd opened with PIDFD_THREAD names a thread: its Pid is the
	 * tid, which no check against a VMM's pid (a thread-group id) would
	 * catch, and whose exit is not the process's. Only a thread-group
	 * leader names a process.
	 */
	r = vfd_process_read_proc(p->pid, "status", status, sizeof(status));
	if (r >= 0)
		r = vfd_process_parse_status_number(status, "Tgid", &tgid);
	if (r >= 0)
		r = vfd_process_parse_status_number(status, "Pid", &pid);
	if (r == -ENODATA)
		r = -EBADMSG;
	if (r < 0)
		return r;
	if (pid != (uint64_t) p->pid || tgid != pid)
		return -ECHILD;

	/*
	 * The pid could have been reused between reading it and the stat:
	 * as long as the pidfd's process has not exited, the pid is still
	 * its own, so what we read belongs to it.
	 */
	r = vfd_pidfd_exited(p->pidfd);
	if (r < 0)
		return r;
	if (r > 0)
		return -ESRCH;

	p->uid = uid;
	p->gid = gid;
	return 0;
}

int vmm_process_from_pidfd(int pidfd, VMMProcess *ret)
{
	VMMProcess p = VMM_PROCESS_NULL;
	int r;

	if (pidfd < 0)
		return -EBADF;

	p.pidfd = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
	if (p.pidfd < 0)
		return negative_errno();

	r = identify(&p);
	if (r < 0) {
		vmm_process_done(&p);
		return r;
	}

	*ret = p;
	return 0;
}

int vmm_process_from_pid(pid_t pid, VMMProcess *ret)
{
	_cleanup_close_ int fd = -1;

	if (pid <= 0)
		return -EINVAL;

	fd = vfd_pidfd_open(pid);
	if (fd < 0)
		return fd;

	return vmm_process_from_pidfd(fd, ret);
}

void vmm_process_done(VMMProcess *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	*p = (VMMProcess) VMM_PROCESS_NULL;
}

int vmm_process_exited(const VMMProcess *p)
{
	return vfd_pidfd_exited(p->pidfd);
}

/* /proc/PID/status of the live process behind p, NUL-terminated in buf */
static int read_status(const VMMProcess *p, char *buf, size_t size)
{
	int r;

	r = vfd_process_read_proc(p->pid, "status", buf, size);
	if (r < 0)
		return r;

	/* a zombie has no VmLck line any more; and the pid may be reused later */
	r = vmm_process_exited(p);
	if (r < 0)
		return r;
	return r > 0 ? -ESRCH : 0;
}

int vmm_process_read_memory(const VMMProcess *p, uint64_t *ret_locked, uint64_t *ret_pinned)
{
	char buf[4096];
	uint64_t locked, pinned;
	int r;

	r = read_status(p, buf, sizeof(buf));
	if (r < 0)
		return r;

	r = vfd_process_parse_status_bytes(buf, "VmLck", &locked);
	if (r < 0)
		return r == -ENODATA ? -ESRCH : r;
	r = vfd_process_parse_status_bytes(buf, "VmPin", &pinned);
	if (r < 0)
		return r == -ENODATA ? -ESRCH : r;

	*ret_locked = locked;
	*ret_pinned = pinned;
	return 0;
}

int vmm_process_current_uid(const VMMProcess *p, uid_t *ret)
{
	char buf[4096];
	const char *line;
	unsigned long real, effective;
	int r;

	r = read_status(p, buf, sizeof(buf));
	if (r < 0)
		return r;
	/* "Uid:\treal\teffective\tsaved\tfs": not the owner of /proc/PID, which is
	 * root for a process that is not dumpable (one that dropped privileges) */
	line = strstr(buf, "\nUid:");
	if (!line || sscanf(line + 5, "%lu %lu", &real, &effective) != 2)
		return -EBADMSG;
	*ret = (uid_t) effective;
	return 0;
}

int vmm_process_memlock_limit(const VMMProcess *p, uint64_t *ret)
{
	struct rlimit rl;
	int r;

	if (prlimit(p->pid, RLIMIT_MEMLOCK, NULL, &rl) < 0)
		return negative_errno();
	r = vmm_process_exited(p);
	if (r < 0)
		return r;
	if (r > 0)
		return -ESRCH;

	*ret = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t) rl.rlim_cur;
	return 0;
}

int pidfd_watch_add(sd_event *e, const VMMProcess *p, sd_event_io_handler_t handler,
		    void *userdata, sd_event_source **ret)
{
	sd_event_source *s = NULL;
	int r;

	r = sd_event_add_io(e, &s, p->pidfd, EPOLLIN, handler, userdata);
	if (r < 0)
		return r;

	/* POLLIN stays set after the exit: once is enough */
	r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	if (r < 0) {
		sd_event_source_unref(s);
		return r;
	}

	(void) sd_event_source_set_description(s, "vmm-exit");
	*ret = s;
	return 0;
}

/*
 * Who p's process is now: its start time (field 22 of /proc/PID/stat,
 * lib's one parser) and its uid (the owner of /proc/PID, as at
 * registration), both read while its pidfd shows it alive: a pid
 * recycled meanwhile would have made the pidfd readable first. -ESRCH
 * once it has exited.
 */
int vmm_process_observe(const VMMProcess *p, uint64_t *ret_start, uid_t *ret_uid)
{
	VMMProcess now = VMM_PROCESS_NULL;
	uint64_t t;
	int r;

	r = vmm_process_from_pidfd(p->pidfd, &now); /* the uid, checked against the pidfd */
	if (r < 0)
		return r;
	r = vfd_process_start_time(now.pid, &t);
	if (r >= 0)
		r = vmm_process_exited(&now);
	if (r > 0)
		r = -ESRCH;
	if (r >= 0) {
		*ret_start = t;
		*ret_uid = now.uid;
	}
	vmm_process_done(&now);
	return r;
}
