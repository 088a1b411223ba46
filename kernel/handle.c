// SPDX-License-Identifier: GPL-2.0
/*
 * Handles: one tracked VMM address space, owned by the netlink socket that
 * asked for it.
 *
 * A handle lives until its owner sends UNTRACK or closes the socket
 * (NETLINK_URELEASE), whichever comes first, or not at all if the TRACK
 * reply that names it could not be sent: a vfiod that crashes cannot
 * leak mm_structs, and it drops its VFIO file references at the same
 * moment, so nothing is left that the handles could account for.
 *
 * The process is named by pid plus start time, because the kernel does
 * not export pidfd_pid() or pidfd_get_task() to modules in 6.12. The
 * caller reads the start time from /proc/PID/stat while it holds a pidfd
 * to the process and checks the pidfd afterwards, so the pair names one
 * process; here a different start time means the pid was reused.
 */

#include <linux/err.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/netlink.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/resource.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/time_namespace.h>
#include <linux/xarray.h>
#include <net/sock.h>
#include <asm/param.h>

#include "vfiod_mm_priv.h"

/* The handle table, watch handle lists, event flags: see vfiod_mm_priv.h. */
DEFINE_MUTEX(vfiod_mm_lock);

static unsigned int vfiod_mm_max_handles = 4096;
module_param_named(max_handles, vfiod_mm_max_handles, uint, 0644);
MODULE_PARM_DESC(max_handles, "Most handles alive at once (default 4096)");

/*
 * One socket cannot take every handle: a second client (or vfiod after a
 * restart, while the old socket is being torn down) still gets some.
 */
static unsigned int vfiod_mm_max_handles_per_socket = 1024;
module_param_named(max_handles_per_socket, vfiod_mm_max_handles_per_socket,
		   uint, 0644);
MODULE_PARM_DESC(max_handles_per_socket,
		 "Most handles one netlink socket may own (default 1024)");

static DEFINE_XARRAY_ALLOC1(vfiod_mm_handles);
static u32 vfiod_mm_next_id = 1;
static u32 vfiod_mm_handle_count;
static bool vfiod_mm_stopping;
static struct kmem_cache *vfiod_mm_handle_cache;

/* Clock ticks as in /proc/PID/stat; nsec_to_clock_t() is not exported. */
static u64 vfiod_mm_start_ticks(const struct task_struct *task)
{
	BUILD_BUG_ON(NSEC_PER_SEC % USER_HZ);
	return div_u64(timens_add_boottime_ns(task->start_boottime),
		       NSEC_PER_SEC / USER_HZ);
}

/*
 * The process's mm with an mm_users reference, or NULL once every thread
 * has left it. The leader may already be a zombie while other threads
 * still run, so all threads are looked at, as find_lock_task_mm() does.
 */
static struct mm_struct *vfiod_mm_process_get_mm(struct task_struct *leader)
{
	struct mm_struct *mm = NULL;
	struct task_struct *t;

	rcu_read_lock();
	for_each_thread(leader, t) {
		task_lock(t);
		if (t->mm) {
			mm = t->mm;
			mmget(mm);
		}
		task_unlock(t);
		if (mm)
			break;
	}
	rcu_read_unlock();
	return mm;
}

/* Whether the process still runs in @mm (exec replaces it). */
static bool vfiod_mm_process_uses(struct task_struct *leader,
				  const struct mm_struct *mm)
{
	struct task_struct *t;
	bool found = false;

	rcu_read_lock();
	for_each_thread(leader, t) {
		if (READ_ONCE(t->mm) == mm) {
			found = true;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

/* Called with vfiod_mm_lock held, in the reader's context (pid ns). */
static void vfiod_mm_fill_record(const struct vfiod_mm_handle *h,
				 const struct sock *reader,
				 struct vfiod_mm_record *r)
{
	struct vfiod_mm_watch *w = h->watch;
	struct mm_struct *mm = h->mm;
	struct task_struct *task;

	lockdep_assert_held(&vfiod_mm_lock);
	memset(r, 0, sizeof(*r));
	r->handle = h->id;
	r->pid = pid_vnr(h->pid);
	r->has_pid = true;
	r->start_time = h->start_time;
	r->has_start_time = true;
	memcpy(r->comm, h->comm, sizeof(r->comm));
	r->owned = reader && h->owner_sk == reader;

	/* mmgrab() keeps the mm_struct, so its counters stay readable. */
	r->locked_vm = (u64)READ_ONCE(mm->locked_vm) << PAGE_SHIFT;
	r->pinned_vm = (u64)atomic64_read(&mm->pinned_vm) << PAGE_SHIFT;
	r->total_vm = (u64)READ_ONCE(mm->total_vm) << PAGE_SHIFT;
	r->mm_refs = vfiod_mm_foreign_refs(w);

	/* Pairs with ->release's store: the exit snapshot is complete. */
	if (smp_load_acquire(&w->exited)) {
		r->state = w->released ? VFIOD_MM_STATE_RELEASED :
					 VFIOD_MM_STATE_EXITED;
		r->exit_time = w->exit_time;
		return;
	}

	r->state = VFIOD_MM_STATE_ALIVE;
	rcu_read_lock();
	task = pid_task(h->pid, PIDTYPE_TGID);
	if (task && vfiod_mm_process_uses(task, mm)) {
		r->rlimit_memlock = task_rlimit(task, RLIMIT_MEMLOCK);
		if (r->rlimit_memlock == RLIM_INFINITY)
			r->rlimit_memlock = U64_MAX;
		r->has_rlimit = true;
	}
	rcu_read_unlock();
}

/* Event records: the handle in any reader's terms, so no pid. */
static void vfiod_mm_fill_event(const struct vfiod_mm_handle *h,
				struct vfiod_mm_record *r)
{
	vfiod_mm_fill_record(h, NULL, r);
	r->has_pid = false;
	r->has_start_time = false;
	r->has_rlimit = false;
}

static void vfiod_mm_unlink(struct vfiod_mm_handle *h)
{
	lockdep_assert_held(&vfiod_mm_lock);
	xa_erase(&vfiod_mm_handles, h->id);
	list_del(&h->watch_node);
	h->watch->nr_handles--;
	WRITE_ONCE(vfiod_mm_handle_count, vfiod_mm_handle_count - 1);
}

/* Without vfiod_mm_lock: the last put may wait for the watch's work. */
static void vfiod_mm_handle_destroy(struct vfiod_mm_handle *h)
{
	vfiod_mm_watch_put(h->watch);
	mmdrop(h->mm);
	put_pid(h->pid);
	sock_put(h->owner_sk);
	kmem_cache_free(vfiod_mm_handle_cache, h);
}

static struct vfiod_mm_handle *
vfiod_mm_find_owned(const struct vfiod_mm_watch *w, const struct sock *sk)
{
	struct vfiod_mm_handle *h;

	list_for_each_entry(h, &w->handles, watch_node)
		if (h->owner_sk == sk)
			return h;
	return NULL;
}

/* O(handles), bounded by max_handles; TRACK is not a hot path. */
static unsigned int vfiod_mm_socket_handles(const struct sock *sk)
{
	struct vfiod_mm_handle *h;
	unsigned int n = 0;
	unsigned long id;

	lockdep_assert_held(&vfiod_mm_lock);
	xa_for_each(&vfiod_mm_handles, id, h)
		if (h->owner_sk == sk)
			n++;
	return n;
}

static int vfiod_mm_commit(struct vfiod_mm_handle *h,
			   struct netlink_ext_ack *extack,
			   struct vfiod_mm_record *ret)
{
	struct vfiod_mm_handle *other;
	int err;

	mutex_lock(&vfiod_mm_lock);
	other = vfiod_mm_find_owned(h->watch, h->owner_sk);
	if (other) {
		NL_SET_ERR_MSG_FMT_MOD(extack,
				       "this socket tracks that mm already as handle %u",
				       other->id);
		err = -EEXIST;
		goto out;
	}
	if (vfiod_mm_handle_count >= READ_ONCE(vfiod_mm_max_handles)) {
		NL_SET_ERR_MSG_MOD(extack, "too many handles (max_handles)");
		err = -ENOSPC;
		goto out;
	}
	if (vfiod_mm_socket_handles(h->owner_sk) >=
	    READ_ONCE(vfiod_mm_max_handles_per_socket)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "too many handles on this socket (max_handles_per_socket)");
		err = -ENOSPC;
		goto out;
	}
	err = xa_alloc_cyclic(&vfiod_mm_handles, &h->id, h, xa_limit_32b,
			      &vfiod_mm_next_id, GFP_KERNEL);
	if (err < 0) {
		if (err == -EBUSY)
			err = -ENOSPC;
		goto out;
	}
	list_add_tail(&h->watch_node, &h->watch->handles);
	h->watch->nr_handles++;
	WRITE_ONCE(vfiod_mm_handle_count, vfiod_mm_handle_count + 1);
	vfiod_mm_fill_record(h, h->owner_sk, ret);
	err = 0;
out:
	mutex_unlock(&vfiod_mm_lock);
	return err;
}

int vfiod_mm_track(u32 nr, u64 start_time, struct sock *sk, u32 portid,
		   struct netlink_ext_ack *extack, struct vfiod_mm_record *ret)
{
	struct vfiod_mm_handle *h;
	struct vfiod_mm_watch *w;
	struct task_struct *task;
	struct mm_struct *mm;
	struct pid *pid;
	int err;

	/*
	 * In the caller's pid namespace: genl runs in the sender's context.
	 * The handle keeps this very reference: the pid the caller named,
	 * not whatever the task's thread group id is by the time the handle
	 * is made (a de_thread() moves it to another task).
	 */
	pid = find_get_pid(nr);
	task = pid ? get_pid_task(pid, PIDTYPE_TGID) : NULL;
	if (!task) {
		put_pid(pid);
		NL_SET_ERR_MSG_MOD(extack, "no such process");
		return -ESRCH;
	}
	if (vfiod_mm_start_ticks(task) != start_time) {
		NL_SET_ERR_MSG_MOD(extack, "start time differs: pid reused");
		err = -ESTALE;
		goto out_task;
	}
	if (task->flags & PF_KTHREAD) {
		NL_SET_ERR_MSG_MOD(extack, "kernel threads have no address space");
		err = -ENXIO;
		goto out_task;
	}
	mm = vfiod_mm_process_get_mm(task);
	if (!mm) {
		NL_SET_ERR_MSG_MOD(extack, "the process has exited");
		err = -ESRCH;
		goto out_task;
	}

	w = vfiod_mm_watch_get(mm);
	if (IS_ERR(w)) {
		err = PTR_ERR(w);
		goto out_mm;
	}

	h = kmem_cache_zalloc(vfiod_mm_handle_cache, GFP_KERNEL);
	if (!h) {
		err = -ENOMEM;
		goto out_watch;
	}
	h->watch = w;
	h->mm = mm;
	mmgrab(mm);
	h->pid = pid;
	pid = NULL;
	h->start_time = start_time;
	get_task_comm(h->comm, task);
	h->owner_sk = sk;
	sock_hold(sk);
	h->owner_portid = portid;

	err = vfiod_mm_commit(h, extack, ret);
	if (err)
		vfiod_mm_handle_destroy(h);
	goto out_mm;

out_watch:
	vfiod_mm_watch_put(w);
out_mm:
	/* If the process exited meanwhile, exit_mmap() runs in a worker. */
	mmput_async(mm);
out_task:
	put_task_struct(task);
	put_pid(pid);
	return err;
}

int vfiod_mm_get(u32 id, const struct sock *sk, struct vfiod_mm_record *ret)
{
	struct vfiod_mm_handle *h;
	int err = -ENOENT;

	mutex_lock(&vfiod_mm_lock);
	h = xa_load(&vfiod_mm_handles, id);
	if (h) {
		vfiod_mm_fill_record(h, sk, ret);
		err = 0;
	}
	mutex_unlock(&vfiod_mm_lock);
	return err;
}

int vfiod_mm_get_next(unsigned long *pos, const struct sock *sk,
		      struct vfiod_mm_record *ret)
{
	struct vfiod_mm_handle *h;
	int err = -ENOENT;

	mutex_lock(&vfiod_mm_lock);
	h = xa_find(&vfiod_mm_handles, pos, ULONG_MAX, XA_PRESENT);
	if (h) {
		vfiod_mm_fill_record(h, sk, ret);
		err = 0;
	}
	mutex_unlock(&vfiod_mm_lock);
	return err;
}

int vfiod_mm_untrack(u32 id, const struct sock *sk,
		     struct netlink_ext_ack *extack)
{
	struct vfiod_mm_handle *h;

	mutex_lock(&vfiod_mm_lock);
	h = xa_load(&vfiod_mm_handles, id);
	if (!h) {
		mutex_unlock(&vfiod_mm_lock);
		NL_SET_ERR_MSG_MOD(extack, "no such handle");
		return -ENOENT;
	}
	if (h->owner_sk != sk) {
		mutex_unlock(&vfiod_mm_lock);
		NL_SET_ERR_MSG_MOD(extack, "the handle belongs to another socket");
		return -EACCES;
	}
	vfiod_mm_unlink(h);
	mutex_unlock(&vfiod_mm_lock);

	vfiod_mm_handle_destroy(h);
	return 0;
}

void vfiod_mm_track_abort(u32 id, const struct sock *sk)
{
	struct vfiod_mm_handle *h;

	mutex_lock(&vfiod_mm_lock);
	h = xa_load(&vfiod_mm_handles, id);
	/* The owner may have guessed the id and untracked it already. */
	if (h && h->owner_sk == sk)
		vfiod_mm_unlink(h);
	else
		h = NULL;
	mutex_unlock(&vfiod_mm_lock);

	if (h)
		vfiod_mm_handle_destroy(h);
}

static void vfiod_mm_destroy_list(struct list_head *dead)
{
	struct vfiod_mm_handle *h, *tmp;

	list_for_each_entry_safe(h, tmp, dead, dead_node)
		vfiod_mm_handle_destroy(h);
}

/*
 * NETLINK_URELEASE for @portid. netlink_release() unhashes the socket
 * before it notifies, so a new socket may already own the same portid:
 * only handles whose owner is the dead (orphaned) socket go.
 */
void vfiod_mm_socket_released(u32 portid)
{
	struct vfiod_mm_handle *h;
	unsigned long id;
	LIST_HEAD(dead);

	/* Every generic netlink socket of the system ends up here. */
	if (!READ_ONCE(vfiod_mm_handle_count))
		return;

	mutex_lock(&vfiod_mm_lock);
	xa_for_each(&vfiod_mm_handles, id, h) {
		if (h->owner_portid != portid ||
		    !sock_flag(h->owner_sk, SOCK_DEAD))
			continue;
		vfiod_mm_unlink(h);
		list_add_tail(&h->dead_node, &dead);
	}
	mutex_unlock(&vfiod_mm_lock);

	vfiod_mm_destroy_list(&dead);
}

/* Module unload, after vfiod_mm_stop_events() and the family is gone. */
void vfiod_mm_untrack_all(void)
{
	struct vfiod_mm_handle *h;
	unsigned long id;
	LIST_HEAD(dead);

	mutex_lock(&vfiod_mm_lock);
	xa_for_each(&vfiod_mm_handles, id, h) {
		vfiod_mm_unlink(h);
		list_add_tail(&h->dead_node, &dead);
	}
	mutex_unlock(&vfiod_mm_lock);

	vfiod_mm_destroy_list(&dead);
}

/*
 * Module unload, before the family is unregistered: its multicast group
 * ids are released with it and may be reused by another family.
 */
void vfiod_mm_stop_events(void)
{
	mutex_lock(&vfiod_mm_lock);
	vfiod_mm_stopping = true;
	mutex_unlock(&vfiod_mm_lock);
}

u32 vfiod_mm_nr_handles(void)
{
	u32 n;

	mutex_lock(&vfiod_mm_lock);
	n = vfiod_mm_handle_count;
	mutex_unlock(&vfiod_mm_lock);
	return n;
}

static bool vfiod_mm_send(u8 cmd, const struct vfiod_mm_record *r)
{
	return vfiod_mm_notify(cmd, r) != -ENOMEM;
}

/*
 * The watch's poll work, after ->release: sends EXITED (with the counters
 * of the moment of exit), then ZERO once locked_vm and pinned_vm read 0,
 * then RELEASED once no foreign reference to the mm is left, to every
 * handle in that order. Returns whether to poll again. An event that
 * could not be allocated is retried at the next poll.
 */
bool vfiod_mm_watch_report(struct vfiod_mm_watch *w)
{
	struct vfiod_mm_record r;
	struct vfiod_mm_handle *h;
	bool again = false;
	bool zero;

	mutex_lock(&vfiod_mm_lock);
	/* A watch without handles is about to be freed, its mm may be gone. */
	if (list_empty(&w->handles) || vfiod_mm_stopping)
		goto out;
	/* Pairs with ->release's store of the exit snapshot. */
	if (!smp_load_acquire(&w->exited))
		goto out;

	if (!w->released && !vfiod_mm_foreign_refs(w))
		w->released = true;
	zero = !READ_ONCE(w->mn.mm->locked_vm) &&
	       !atomic64_read(&w->mn.mm->pinned_vm);

	list_for_each_entry(h, &w->handles, watch_node) {
		if (!h->exited_sent) {
			vfiod_mm_fill_event(h, &r);
			r.state = VFIOD_MM_STATE_EXITED;
			r.locked_vm = w->exit_locked_vm;
			r.pinned_vm = w->exit_pinned_vm;
			r.total_vm = w->exit_total_vm;
			h->exited_sent = vfiod_mm_send(VFIOD_MM_CMD_EXITED, &r);
		}
		if (h->exited_sent && zero && !h->zero_sent) {
			vfiod_mm_fill_event(h, &r);
			h->zero_sent = vfiod_mm_send(VFIOD_MM_CMD_ZERO, &r);
		}
		if (h->exited_sent && w->released && !h->released_sent &&
		    (h->zero_sent || !zero)) {
			vfiod_mm_fill_event(h, &r);
			h->released_sent = vfiod_mm_send(VFIOD_MM_CMD_RELEASED,
							 &r);
		}
		if (!h->released_sent)
			again = true;
	}
out:
	mutex_unlock(&vfiod_mm_lock);
	return again;
}

int vfiod_mm_handles_init(void)
{
	vfiod_mm_handle_cache = kmem_cache_create("vfiod_mm_handle",
						  sizeof(struct vfiod_mm_handle),
						  0, SLAB_NO_MERGE | SLAB_ACCOUNT,
						  NULL);
	return vfiod_mm_handle_cache ? 0 : -ENOMEM;
}

void vfiod_mm_handles_exit(void)
{
	WARN_ON(!xa_empty(&vfiod_mm_handles));
	kmem_cache_destroy(vfiod_mm_handle_cache);
}
