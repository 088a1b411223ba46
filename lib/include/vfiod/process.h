/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Processes named by a pidfd, and what /proc says about them (lib/process.c):
 * the one place vfiod, vfioctl, the libvirt hook, the vfiod_mm client and
 * the tests open pidfds and read /proc/PID.
 *
 * A pid alone can name a recycled process; a pidfd cannot. What /proc/PID
 * shows belongs to the pidfd's process as long as vfd_pidfd_exited() says
 * it still runs after the read, so callers read first and check after.
 *
 * /proc is process state, not device state: it is read at its real place,
 * not below the root of a vfd_context (a fixture root has no processes).
 * The parsers take the text, so that a caller with a fake /proc
 * (vfioctl memlock plan --root) and the tests use the same ones.
 *
 * Errors are negative errno values: -ESRCH for a process that is gone,
 * -EBADF for a descriptor that is not a pidfd.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* pidfd_open(2) of pid, close-on-exec: a descriptor, or -ESRCH, -EINVAL, ... */
int vfd_pidfd_open(pid_t pid);
/* Pid of pidfd in our pid namespace; -EBADF not a pidfd, -ESRCH reaped or invisible. */
int vfd_pidfd_get_pid(int pidfd, pid_t *ret);
/* 1 when the process behind pidfd has exited (zombie or reaped), 0 if it runs. */
int vfd_pidfd_exited(int pidfd);

/*
 * /proc/PID/NAME (e.g. "status") into buf, NUL-terminated: its first
 * size - 1 bytes (the lines of status that vfiod reads, Vm* and Uid, are
 * in its first KiB; the CPU and node masks after them grow with the
 * machine). -ESRCH when there is no such process.
 */
int vfd_process_read_proc(pid_t pid, const char *name, char *buf, size_t size);
/* The owner of /proc/PID: the process's effective uid and gid, unless it is not dumpable (root then). */
int vfd_process_owner(pid_t pid, uid_t *ret_uid, gid_t *ret_gid);

/* Field 22 of /proc/PID/stat: the start time, in clock ticks since boot. */
int vfd_process_start_time(pid_t pid, uint64_t *ret);
/*
 * The same from the text of a stat file. The comm (field 2) is in
 * parentheses and may hold spaces and parentheses itself: the fields are
 * counted after the last ')'. -EINVAL for anything else.
 */
int vfd_process_parse_stat_start_time(const char *stat, uint64_t *ret);
/*
 * A "NAME:<blanks>N kB" line of a /proc/PID/status text (VmLck, VmPin),
 * in bytes (the kernel's kB are KiB). -ENODATA when there is no such line,
 * -EBADMSG when it is malformed or too large.
 */
int vfd_process_parse_status_bytes(const char *status, const char *name, uint64_t *ret);
/*
 * A "NAME:<blanks>N" line of a /proc/PID/status text (Tgid, Pid), N
 * alone on its line. -ENODATA when there is no such line, -EBADMSG when
 * it is malformed.
 */
int vfd_process_parse_status_number(const char *status, const char *name, uint64_t *ret);
/*
 * Whether pid holds the open file fd is (of this process) among its
 * descriptors, /proc/PID/fd: 1 the same open file (kcmp(2), KCMP_FILE);
 * 0 none; -ENOSYS when the kernel has no kcmp (built without CONFIG_KCMP)
 * and a descriptor's link reads like fd's (for /dev/iommu: any iommufd),
 * which proves nothing; only link names are read then, never the file (no
 * stat() that a FUSE mount of the target's could stall). At most
 * max_fds descriptors are looked at: -E2BIG beyond. -EACCES (or the
 * kcmp's -EPERM): no ptrace rights over pid, nothing known. -ESRCH no such
 * process. What it says of a pid holds only while the caller's pidfd of
 * it is not readable (checked after).
 */
int vfd_process_holds_file(pid_t pid, int fd, unsigned max_fds);
/*
 * Whether the descriptors mine and theirs (both of this process; theirs
 * received, e.g. over D-Bus) are the same open file: 1 yes, 0 no. By
 * kcmp(2) on this process's own two descriptors (no ptrace of anyone);
 * without kcmp by the file status flags, which belong to the open file
 * (vfd_same_open_file_by_flags(): O_NONBLOCK of mine is toggled for a
 * moment and set back).
 */
int vfd_same_open_file(int mine, int theirs);
int vfd_same_open_file_by_flags(int mine, int theirs);
