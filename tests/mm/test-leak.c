/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * 1000 track/untrack cycles leave nothing behind: the module's own
 * counts, its reference count, its two slab caches and the tracked mm's
 * mm_count all return to where they started.
 */
#include <time.h>
#include <unistd.h>

#include "mm-harness.h"
#include "mm-test.h"

#define CYCLES 1000

typedef struct snapshot {
	uint32_t handles;
	uint32_t watches;
	int refcnt;
	long slab_handles;
	long slab_watches;
	uint32_t mm_refs;
} snapshot;

/* The mm's foreign references, through a probe handle of its own. */
static int probe_mm_refs(vfd_mm_client *c, const mm_child *child, uint32_t *ret)
{
	vfd_mm_info info;
	int r;

	/* No CPU may hold the child's mm as its lazy TLB mm while we count. */
	mm_nudge_cpus();
	r = vfd_mm_track_pidfd(c, child->pidfd, &info);
	if (r < 0)
		return r;
	r = vfd_mm_untrack(c, info.handle);
	if (r < 0)
		return r;
	*ret = info.mm_refs;
	return 0;
}

/*
 * Watches are freed after an SRCU grace period (mmu_notifier_put()), so
 * the count settles a little after the last UNTRACK.
 */
static int settle(vfd_mm_client *c, uint32_t want_watches, uint32_t *ret_watches)
{
	uint32_t h, w = 0;
	int r;

	for (int i = 0; i < 200; i++) {
		r = vfd_mm_stats(c, &h, &w);
		if (r < 0)
			return r;
		if (w <= want_watches)
			break;
		usleep(50 * 1000);
	}
	*ret_watches = w;
	return 0;
}

static int take(vfd_mm_client *c, const mm_child *child, snapshot *s)
{
	int r;

	r = vfd_mm_stats(c, &s->handles, &s->watches);
	if (r < 0)
		return r;
	r = mm_module_refcnt(&s->refcnt);
	if (r < 0)
		return r;
	r = mm_slab_active("vfiod_mm_handle", &s->slab_handles);
	if (r < 0)
		return r;
	r = mm_slab_active("vfiod_mm_watch", &s->slab_watches);
	if (r < 0)
		return r;
	return probe_mm_refs(c, child, &s->mm_refs);
}

TEST_TIMEOUT(no_leak_after_1000_track_untrack_cycles, 900)
{
	mm_child child = MM_CHILD_INIT;
	vfd_mm_client *c = NULL;
	snapshot before, after;
	uint32_t watches;
	uint64_t start;
	int r;

	r = vfd_mm_client_new(&c);
	if (r == -ENOENT)
		SKIP("the vfiod_mm family is not registered (module not loaded)");
	ASSERT_OK(r);
	ASSERT_OK(mm_child_sleeper(&child));
	ASSERT_OK(mm_child_start_time(&child, &start));

	ASSERT_OK(settle(c, 0, &watches));
	/* The measurement sees a live handle: a leaked one would show. */
	{
		vfd_mm_info info;
		uint32_t h, w;
		long objs;

		ASSERT_OK(vfd_mm_track_pid(c, child.pid, start, &info));
		ASSERT_OK(mm_slab_active("vfiod_mm_handle", &objs));
		EXPECT_GE(objs, 1);
		ASSERT_OK(mm_slab_active("vfiod_mm_watch", &objs));
		EXPECT_GE(objs, 1);
		ASSERT_OK(vfd_mm_stats(c, &h, &w));
		EXPECT_GE(h, 1);
		EXPECT_GE(w, 1);
		ASSERT_OK(vfd_mm_untrack(c, info.handle));
		ASSERT_OK(settle(c, 0, &watches));
	}
	ASSERT_OK(take(c, &child, &before));
	ASSERT_OK(settle(c, before.watches, &watches));

	for (int i = 0; i < CYCLES; i++) {
		vfd_mm_info info;

		/* Each cycle registers and frees an mmu notifier: no other handle shares the mm. */
		ASSERT_OK(vfd_mm_track_pid(c, child.pid, start, &info));
		ASSERT_OK(vfd_mm_untrack(c, info.handle));
	}

	ASSERT_OK(settle(c, before.watches, &watches));
	ASSERT_OK(take(c, &child, &after));
	TH_LOG("before: handles %u watches %u refcnt %d slab %ld/%ld mm_refs %u",
	       before.handles, before.watches, before.refcnt, before.slab_handles,
	       before.slab_watches, before.mm_refs);
	TH_LOG("after:  handles %u watches %u refcnt %d slab %ld/%ld mm_refs %u",
	       after.handles, after.watches, after.refcnt, after.slab_handles,
	       after.slab_watches, after.mm_refs);
	EXPECT_EQ(after.handles, before.handles);
	EXPECT_EQ(watches, before.watches);
	EXPECT_EQ(after.refcnt, before.refcnt);
	EXPECT_EQ(after.slab_handles, before.slab_handles);
	EXPECT_EQ(after.slab_watches, before.slab_watches);
	EXPECT_EQ(after.mm_refs, before.mm_refs);
	mm_child_kill(&child);
	vfd_mm_client_free(c);
}
