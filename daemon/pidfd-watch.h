/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMM process of a VM, held by its pidfd: who it is (pid, uid, gid),
 * whether it still runs, and an sd-event source that fires once when it
 * exits. sd_event_add_child_pidfd() only works for our own children; a
 * pidfd of any process becomes readable (POLLIN) when that process exits,
 * so a plain io source on it is the event.
 *
 * /proc: the pid behind a pidfd, the owner and the status come from
 * lib/process.c (vfiod/process.h). /proc is process state, not
 * device state, so it stays outside the root-relative sys/dev layer: a
 * fixture root has no processes to fake.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

typedef struct VMMProcess {
	int pidfd;   /* owned */
	pid_t pid;
	uid_t uid;   /* the process's effective uid, as /proc/PID shows it */
	gid_t gid;
} VMMProcess;

#define VMM_PROCESS_NULL { .pidfd = -1 }

/*
 * Takes a duplicate of pidfd (the caller keeps its own) and identifies the
 * process. -EBADF: not a pidfd; -ESRCH: the process has exited (or is
 * invisible from our pid namespace); -ECHILD: a thread's pidfd
 * (PIDFD_THREAD) of a thread that is not the thread-group leader.
 */
int vmm_process_from_pidfd(int pidfd, VMMProcess *ret);
/* The same for a plain pid, through pidfd_open(). */
int vmm_process_from_pid(pid_t pid, VMMProcess *ret);
void vmm_process_done(VMMProcess *p);

/* 1 when the process has exited, 0 while it runs, negative errno */
int vmm_process_exited(const VMMProcess *p);

/*
 * The observed memory of the process, from /proc/PID/status (VmLck,
 * VmPin) and its RLIMIT_MEMLOCK (UINT64_MAX when unlimited). -ESRCH once
 * it has exited.
 */
int vmm_process_read_memory(const VMMProcess *p, uint64_t *ret_locked, uint64_t *ret_pinned);
int vmm_process_memlock_limit(const VMMProcess *p, uint64_t *ret);
/*
 * The process's effective uid now (it may have dropped privileges since it
 * was named), from /proc/PID/status while the pidfd says it lives. -ESRCH
 * once it has exited.
 */
int vmm_process_current_uid(const VMMProcess *p, uid_t *ret);
/*
 * Who p's process is now: its start time (field 22 of /proc/PID/stat)
 * and its uid (the owner of /proc/PID), both read while its pidfd shows it
 * alive. -ESRCH once it has exited.
 */
int vmm_process_observe(const VMMProcess *p, uint64_t *ret_start, uid_t *ret_uid);

/*
 * Calls handler once p's process exits (POLLIN on the pidfd). The source
 * is a oneshot io source; free it with sd_event_source_disable_unref().
 */
int pidfd_watch_add(sd_event *e, const VMMProcess *p, sd_event_io_handler_t handler,
		    void *userdata, sd_event_source **ret);
