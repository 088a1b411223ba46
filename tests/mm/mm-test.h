/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of vfd-mm-test, the vfiod_mm module's own test program (run as
 * root inside the nested-VM lab, with the module loaded; see
 * tests/vm/cases/vm-mm-helper.sh). All return 0 or a negative errno.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfiod/mm.h"
#include "vfiod/process.h"

int mmh_main(int argc, char **argv);

/* ---- processes to track ---- */

typedef struct mm_child {
	pid_t pid;
	int pidfd;
} mm_child;

#define MM_CHILD_INIT { .pid = -1, .pidfd = -1 }

/* A child that waits in pause(); it dies with its parent (PDEATHSIG). */
int mm_child_sleeper(mm_child *ret);
/* A child that mlock()s `bytes` of anonymous memory, then waits. */
int mm_child_mlocker(size_t bytes, mm_child *ret);
/* A child that has exited and is not reaped: a zombie. */
int mm_child_zombie(mm_child *ret);
/* A child that waits for mm_child_poke(), then execs this program (--pause). */
int mm_child_execer(mm_child *ret, int *ret_poke_fd);
int mm_child_poke(int poke_fd);
/* SIGKILL (if running), reap, close the pidfd; safe on MM_CHILD_INIT. */
void mm_child_kill(mm_child *c);
/* Sends SIGKILL through the pidfd and waits until the process has exited (not reaped). */
int mm_child_kill_no_reap(mm_child *c);
int mm_child_start_time(const mm_child *c, uint64_t *ret);
void mm_test_reap_strays(void);

/* ---- malformed requests: libnl, bypassing the client's checks ---- */

typedef struct mm_raw mm_raw;

int mm_raw_open(mm_raw **ret);
void mm_raw_close(mm_raw *r);
/* attrs: ready-made netlink attributes (mm_attr_*); returns the kernel's verdict. */
int mm_raw_request(mm_raw *r, uint8_t cmd, int flags, const void *attrs, size_t len);
/* The family id and the events group id, from the generic netlink controller. */
int mm_raw_resolve(int *ret_family, int *ret_events_group);
/* A plain non-blocking NETLINK_GENERIC socket; rcvbuf > 0 sets SO_RCVBUF. */
int mm_raw_socket(int rcvbuf, int *ret_fd);
/* NETLINK_ADD_MEMBERSHIP: the kernel's own verdict on the join. */
int mm_raw_join(int fd, int group);
/* Reads every pending datagram; returns how many messages of `family` they held. */
int mm_raw_count_pending(int fd, int family);
/* Sends one request without NLM_F_ACK and reads nothing. */
int mm_raw_send(int fd, int family, uint8_t cmd, const void *attrs, size_t len);
/* Appends one attribute of any type and payload to buf at *off. */
void mm_attr(void *buf, size_t size, size_t *off, uint16_t type, const void *data, uint16_t len);

/* ---- events ---- */

typedef struct mm_event {
	vfd_mm_event_type type;
	vfd_mm_info info;
} mm_event;

typedef struct mm_events {
	vfd_mm_client *client;
	mm_event items[256];
	size_t n;
	size_t lost;
} mm_events;

int mm_events_subscribe(mm_events *e);
/*
 * Waits up to timeout_ms for an event of `type` about `handle`, running
 * other CPUs through user space meanwhile (see mm_nudge_cpus()). The
 * index of the event in e->items on success, -ETIMEDOUT otherwise.
 */
int mm_events_wait(mm_events *e, uint32_t handle, vfd_mm_event_type type, int timeout_ms);
/* Index of the first event of `type` about `handle` received so far, or -ENOENT. */
int mm_events_find(const mm_events *e, uint32_t handle, vfd_mm_event_type type);

/* ---- the system ---- */

/*
 * Runs briefly on every CPU. A CPU that went idle after a task exited may
 * keep the dead mm as its lazy TLB mm, holding an mm_count reference until
 * it next switches to a user task; this makes every CPU do that.
 */
void mm_nudge_cpus(void);
int mm_module_refcnt(int *ret);
/* Objects in use in a slab cache, after shrinking it (exact on SLUB). */
int mm_slab_active(const char *cache, long *ret);
/* VmLck and VmPin of /proc/PID/status, in bytes. */
int mm_proc_locked_pinned(pid_t pid, uint64_t *ret_locked, uint64_t *ret_pinned);
/* setresuid/setresgid to uid:uid with no supplementary groups: every capability goes. */
int mm_become_user(uid_t uid);
/*
 * Stays uid 0 but keeps exactly `caps` (a CAP_* bit mask) as effective and
 * permitted capabilities, none inheritable; checked in /proc/self/status.
 */
int mm_keep_only_caps(uint64_t caps);
int mm_pid_max(pid_t *ret);
