/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfiod_mm internals: handles (handle.c), per-mm watches (watch.c), VFIO
 * device users (device.c) and the generic netlink family (netlink.c).
 *
 * Locking: vfiod_mm_lock (a mutex) protects the handle table, every
 * watch's handle list and counters, and the per-handle event flags. The
 * mmu notifier ->release callback takes no lock of ours: it runs inside
 * exit_mmap() of whatever task drops the last mm_users reference and only
 * records a snapshot and queues work. Nothing sleeps on a VMM's mmap_lock
 * with vfiod_mm_lock held.
 */
#ifndef _VFIOD_MM_PRIV_H
#define _VFIOD_MM_PRIV_H

#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/vfiod_mm.h>

struct netlink_ext_ack;
struct pid;
struct sock;

/*
 * One per tracked mm, shared by every handle on that mm: the mmu notifier
 * (mmu_notifier_get_locked() returns the same one for the same mm) whose
 * ->release tells us that the address space is being torn down.
 */
struct vfiod_mm_watch {
	struct mmu_notifier mn;
	struct list_head handles;	/* vfiod_mm_handle.watch_node */
	unsigned int nr_handles;
	bool released;			/* nothing else references the mm */

	/* Written once by ->release before exited is set (release/acquire). */
	bool exited;
	u64 exit_time;
	u64 exit_locked_vm;
	u64 exit_pinned_vm;
	u64 exit_total_vm;

	struct delayed_work poll;	/* after exit: events and zero checks */
	struct work_struct free_work;	/* ->free_notifier cannot sleep */
};

struct vfiod_mm_handle {
	u32 id;
	u32 owner_portid;
	/*
	 * Held (sock_hold) only to tell the owner apart from a later socket
	 * that reuses its portid; never used to send anything.
	 */
	struct sock *owner_sk;
	struct vfiod_mm_watch *watch;	/* one mmu_notifier_get_locked() */
	struct mm_struct *mm;		/* mmgrab() */
	struct pid *pid;
	u64 start_time;
	char comm[TASK_COMM_LEN];
	struct list_head watch_node;
	struct list_head dead_node;
	bool exited_sent;
	bool zero_sent;
	bool released_sent;
};

/* What a reply or an event says about one handle. */
struct vfiod_mm_record {
	u32 handle;
	u32 pid;			/* 0: not visible to the reader */
	u64 start_time;
	char comm[TASK_COMM_LEN];
	enum vfiod_mm_state state;
	u64 locked_vm;			/* bytes */
	u64 pinned_vm;
	u64 total_vm;
	u64 exit_time;			/* state != ALIVE */
	u64 rlimit_memlock;		/* has_rlimit */
	u32 mm_refs;
	bool has_pid;
	bool has_start_time;
	bool has_rlimit;
	bool owned;
};

/* DEVICE_USERS: who holds the struct vfio_device of a PCI function. */
struct vfiod_mm_device_users {
	char name[VFIOD_MM_DEV_NAME_MAX];
	char driver[VFIOD_MM_DEV_NAME_MAX];
	char vfio_dev[VFIOD_MM_DEV_NAME_MAX];
	u32 registrations;		/* vfio_device.refcount */
	u32 open_count;			/* vfio_device.open_count */
};

extern struct mutex vfiod_mm_lock;
extern unsigned int vfiod_mm_poll_ms;

/* handle.c */
int vfiod_mm_handles_init(void);
void vfiod_mm_handles_exit(void);
int vfiod_mm_track(u32 nr, u64 start_time, struct sock *sk, u32 portid,
		   struct netlink_ext_ack *extack, struct vfiod_mm_record *ret);
int vfiod_mm_get(u32 id, const struct sock *sk, struct vfiod_mm_record *ret);
int vfiod_mm_get_next(unsigned long *pos, const struct sock *sk,
		      struct vfiod_mm_record *ret);
int vfiod_mm_untrack(u32 id, const struct sock *sk,
		     struct netlink_ext_ack *extack);
/* TRACK whose reply could not be sent: destroys the handle just made. */
void vfiod_mm_track_abort(u32 id, const struct sock *sk);
void vfiod_mm_socket_released(u32 portid);
void vfiod_mm_stop_events(void);
void vfiod_mm_untrack_all(void);
u32 vfiod_mm_nr_handles(void);
bool vfiod_mm_watch_report(struct vfiod_mm_watch *w);

/* watch.c */
int vfiod_mm_watches_init(void);
void vfiod_mm_watches_exit(void);
struct vfiod_mm_watch *vfiod_mm_watch_get(struct mm_struct *mm);
void vfiod_mm_watch_put(struct vfiod_mm_watch *w);
u32 vfiod_mm_nr_watches(void);
u32 vfiod_mm_foreign_refs(const struct vfiod_mm_watch *w);

/* device.c */
int vfiod_mm_device_users(const char *name, struct netlink_ext_ack *extack,
			  struct vfiod_mm_device_users *ret);

/* netlink.c */
int vfiod_mm_netlink_init(void);
void vfiod_mm_netlink_exit(void);
/* Returns 0 when sent or nobody listens, -ENOMEM when it should be retried. */
int vfiod_mm_notify(u8 cmd, const struct vfiod_mm_record *r);

#endif /* _VFIOD_MM_PRIV_H */
