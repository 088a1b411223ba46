// SPDX-License-Identifier: GPL-2.0
/*
 * Per-mm watches: learning that a tracked address space went away.
 *
 * do_exit() runs exit_mm() long before exit_files(), and exec replaces the
 * mm outright: either way the last mmput() runs exit_mmap(), which calls
 * every mmu notifier's ->release first. A notifier registered with
 * mmu_notifier_get_locked() holds only an mm_count reference (mmgrab), not
 * an mm_users one, so it never keeps the address space alive; ->release
 * fires for it like for KVM's. That is an event, so nothing polls for the
 * exit itself.
 *
 * What happens to the mm afterwards has no event: type1 and iommufd drop
 * their pins when vfiod closes the container, and the only trace is the
 * mm's counters and its mm_count. A delayed work polls those, only for
 * exited mms that still have handles (see vfiod_mm_watch_report()).
 */

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "vfiod_mm_priv.h"

#ifndef CONFIG_MMU_NOTIFIER
#error "vfiod_mm needs CONFIG_MMU_NOTIFIER"
#endif

unsigned int vfiod_mm_poll_ms = 200;
module_param_named(poll_ms, vfiod_mm_poll_ms, uint, 0644);
MODULE_PARM_DESC(poll_ms,
		 "Interval of the zero/released checks after an exit, ms (default 200)");

static struct kmem_cache *vfiod_mm_watch_cache;
static struct workqueue_struct *vfiod_mm_wq;
static atomic_t vfiod_mm_watch_count = ATOMIC_INIT(0);

static struct vfiod_mm_watch *to_watch(struct mmu_notifier *mn)
{
	return container_of(mn, struct vfiod_mm_watch, mn);
}

static void vfiod_mm_watch_poll(struct work_struct *work)
{
	struct vfiod_mm_watch *w = container_of(to_delayed_work(work),
						struct vfiod_mm_watch, poll);

	unsigned int ms = clamp(READ_ONCE(vfiod_mm_poll_ms), 10U, 60000U);

	if (vfiod_mm_watch_report(w))
		queue_delayed_work(vfiod_mm_wq, &w->poll, msecs_to_jiffies(ms));
}

static void vfiod_mm_watch_free_work(struct work_struct *work)
{
	struct vfiod_mm_watch *w = container_of(work, struct vfiod_mm_watch,
						free_work);

	/* No handle is left, so a pending poll finds nothing to report. */
	cancel_delayed_work_sync(&w->poll);
	kmem_cache_free(vfiod_mm_watch_cache, w);
	if (atomic_dec_and_test(&vfiod_mm_watch_count))
		wake_up_var(&vfiod_mm_watch_count);
}

static struct mmu_notifier *vfiod_mm_alloc_notifier(struct mm_struct *mm)
{
	struct vfiod_mm_watch *w;

	w = kmem_cache_zalloc(vfiod_mm_watch_cache, GFP_KERNEL);
	if (!w)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&w->handles);
	INIT_DELAYED_WORK(&w->poll, vfiod_mm_watch_poll);
	INIT_WORK(&w->free_work, vfiod_mm_watch_free_work);
	atomic_inc(&vfiod_mm_watch_count);
	return &w->mn;
}

/* Called from an SRCU callback after the last mmu_notifier_put(). */
static void vfiod_mm_free_notifier(struct mmu_notifier *mn)
{
	queue_work(vfiod_mm_wq, &to_watch(mn)->free_work);
}

/*
 * Runs in exit_mmap() before any page is unmapped, in the context of the
 * task dropping the last mm_users reference (the exiting VMM, an exec, or
 * whoever held a temporary mmget). The counters are therefore exactly the
 * ones the process left behind; exit_mmap() does not change them.
 */
static void vfiod_mm_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct vfiod_mm_watch *w = to_watch(mn);

	w->exit_time = ktime_get_boottime_ns();
	w->exit_locked_vm = (u64)READ_ONCE(mm->locked_vm) << PAGE_SHIFT;
	w->exit_pinned_vm = (u64)atomic64_read(&mm->pinned_vm) << PAGE_SHIFT;
	w->exit_total_vm = (u64)READ_ONCE(mm->total_vm) << PAGE_SHIFT;
	/* Publishes the snapshot above to readers of exited (acquire). */
	smp_store_release(&w->exited, true);
	queue_delayed_work(vfiod_mm_wq, &w->poll, 0);
}

static const struct mmu_notifier_ops vfiod_mm_mn_ops = {
	.release = vfiod_mm_release,
	.alloc_notifier = vfiod_mm_alloc_notifier,
	.free_notifier = vfiod_mm_free_notifier,
};

/*
 * The caller holds an mm_users reference (mmget), so the mm cannot reach
 * exit_mmap() while the notifier is being registered.
 */
struct vfiod_mm_watch *vfiod_mm_watch_get(struct mm_struct *mm)
{
	struct mmu_notifier *mn;

	if (mmap_write_lock_killable(mm))
		return ERR_PTR(-EINTR);
	mn = mmu_notifier_get_locked(&vfiod_mm_mn_ops, mm);
	mmap_write_unlock(mm);
	if (IS_ERR(mn))
		return ERR_CAST(mn);
	return to_watch(mn);
}

void vfiod_mm_watch_put(struct vfiod_mm_watch *w)
{
	mmu_notifier_put(&w->mn);
}

u32 vfiod_mm_nr_watches(void)
{
	return atomic_read(&vfiod_mm_watch_count);
}

/*
 * References to the mm_struct that are not ours: mm_count minus one per
 * handle (each mmgrab()s) minus the notifier's own. Every object that
 * charged pages to the mm holds such a reference until it has uncharged
 * (type1's vfio_dma, iommufd's iopt_pages, io_uring, RDMA umem), so after
 * exit 0 means no pin charged to this mm can remain. The count errs only
 * upwards: a CPU that still uses the dead mm as its lazy TLB mm, or a
 * watch of ours awaiting its SRCU free, count as foreign until they let
 * go. Called with vfiod_mm_lock held.
 */
u32 vfiod_mm_foreign_refs(const struct vfiod_mm_watch *w)
{
	int refs = atomic_read(&w->mn.mm->mm_count);

	lockdep_assert_held(&vfiod_mm_lock);
	refs -= w->nr_handles + 1;
	return refs > 0 ? refs : 0;
}

int vfiod_mm_watches_init(void)
{
	/*
	 * Not merged with other caches: its object count shows leaks.
	 * Charged to the memory cgroup of the task that asked for the
	 * object (SLAB_ACCOUNT), as handle.c's cache is: TRACK allocates
	 * on the caller's behalf.
	 */
	vfiod_mm_watch_cache = kmem_cache_create("vfiod_mm_watch",
						 sizeof(struct vfiod_mm_watch),
						 0, SLAB_NO_MERGE | SLAB_ACCOUNT,
						 NULL);
	if (!vfiod_mm_watch_cache)
		return -ENOMEM;

	vfiod_mm_wq = alloc_workqueue("vfiod_mm", WQ_UNBOUND, 0);
	if (!vfiod_mm_wq) {
		kmem_cache_destroy(vfiod_mm_watch_cache);
		return -ENOMEM;
	}
	return 0;
}

/* Every handle is gone, so every watch had its last mmu_notifier_put(). */
void vfiod_mm_watches_exit(void)
{
	/* Runs the SRCU callbacks, which queue the free works... */
	mmu_notifier_synchronize();
	/* ...which must all have run before the workqueue goes. */
	wait_var_event(&vfiod_mm_watch_count,
		       !atomic_read(&vfiod_mm_watch_count));
	destroy_workqueue(vfiod_mm_wq);
	kmem_cache_destroy(vfiod_mm_watch_cache);
}
