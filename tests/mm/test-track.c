/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TRACK, GET, DUMP and UNTRACK on live processes; handle ownership and
 * lifetime; the same mm tracked twice; exec.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mm-harness.h"
#include "mm-test.h"

#define MiB (UINT64_C(1) << 20)

FIXTURE(track) {
	vfd_mm_client *c;
	mm_child child;
};

FIXTURE_SETUP(track)
{
	int r;

	self->child = (mm_child)MM_CHILD_INIT;
	r = vfd_mm_client_new(&self->c);
	if (r == -ENOENT)
		SKIP("the vfiod_mm family is not registered (module not loaded)");
	ASSERT_OK(r);
	ASSERT_OK(mm_child_sleeper(&self->child));
}

FIXTURE_TEARDOWN(track)
{
	mm_child_kill(&self->child);
	vfd_mm_client_free(self->c);
}

static bool list_has(vfd_mm_client *c, uint32_t handle, vfd_mm_info *ret)
{
	vfd_mm_info *all = NULL;
	bool found = false;
	size_t n = 0;

	if (vfd_mm_list(c, &all, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (all[i].handle == handle) {
			*ret = all[i];
			found = true;
		}
	free(all);
	return found;
}

TEST_F(track, track_get_list_untrack)
{
	vfd_mm_info info, got, listed;
	char comm[VFD_MM_COMM_MAX] = "";
	uint64_t start;
	FILE *f;

	ASSERT_OK(vfd_mm_track_pidfd(self->c, self->child.pidfd, &info));
	ASSERT_GE(info.handle, 1);
	ASSERT_OK(mm_child_start_time(&self->child, &start));
	EXPECT_EQ(info.pid, self->child.pid);
	EXPECT_EQ(info.start_time, start);
	EXPECT_EQ(info.state, VFD_MM_STATE_ALIVE);
	EXPECT_TRUE(info.owned);
	EXPECT_TRUE(info.has_rlimit);
	EXPECT_EQ(info.exit_time_ns, 0);
	EXPECT_GT(info.total_bytes, 0);
	/* mm_count while alive: at least the address space's own reference. */
	EXPECT_GE(info.mm_refs, 1);
	f = fopen("/proc/self/comm", "re");
	ASSERT_TRUE(f);
	ASSERT_TRUE(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	EXPECT_EQ(strcmp(info.comm, comm), 0);

	ASSERT_OK(vfd_mm_get(self->c, info.handle, &got));
	EXPECT_EQ(got.handle, info.handle);
	EXPECT_EQ(got.pid, info.pid);
	EXPECT_EQ(got.state, VFD_MM_STATE_ALIVE);
	EXPECT_TRUE(got.owned);

	ASSERT_TRUE(list_has(self->c, info.handle, &listed));
	EXPECT_EQ(listed.pid, info.pid);
	EXPECT_TRUE(listed.owned);

	ASSERT_OK(vfd_mm_untrack(self->c, info.handle));
	EXPECT_ERRNO(vfd_mm_get(self->c, info.handle, &got), ENOENT);
	EXPECT_ERRNO(vfd_mm_untrack(self->c, info.handle), ENOENT);
	EXPECT_FALSE(list_has(self->c, info.handle, &listed));
}

TEST_F(track, rlimit_is_the_processes_own)
{
	struct rlimit set = { .rlim_cur = 48 * MiB, .rlim_max = 96 * MiB };
	vfd_mm_info info, got;

	ASSERT_OK(vfd_mm_track_pidfd(self->c, self->child.pidfd, &info));
	/* Changed after TRACK: GET reads the live limit of that process. */
	ASSERT_EQ(prlimit(self->child.pid, RLIMIT_MEMLOCK, &set, NULL), 0);
	ASSERT_OK(vfd_mm_get(self->c, info.handle, &got));
	ASSERT_TRUE(got.has_rlimit);
	EXPECT_EQ(got.rlimit_memlock, 48 * MiB);

	set.rlim_cur = set.rlim_max = RLIM_INFINITY;
	ASSERT_EQ(prlimit(self->child.pid, RLIMIT_MEMLOCK, &set, NULL), 0);
	ASSERT_OK(vfd_mm_get(self->c, info.handle, &got));
	EXPECT_EQ(got.rlimit_memlock, UINT64_MAX);
}

TEST_F(track, mlock_8mib_shows_as_locked_vm)
{
	mm_child m = MM_CHILD_INIT;
	uint64_t lck, pin;
	vfd_mm_info info, got;

	ASSERT_OK(mm_child_mlocker(8 * MiB, &m));
	ASSERT_OK(vfd_mm_track_pidfd(self->c, m.pidfd, &info));
	EXPECT_EQ(info.locked_bytes, 8 * MiB);
	EXPECT_EQ(info.pinned_bytes, 0);
	ASSERT_OK(vfd_mm_get(self->c, info.handle, &got));
	EXPECT_EQ(got.locked_bytes, 8 * MiB);
	/* The module reads the same counters /proc shows. */
	ASSERT_OK(mm_proc_locked_pinned(m.pid, &lck, &pin));
	EXPECT_EQ(got.locked_bytes, lck);
	EXPECT_EQ(got.pinned_bytes, pin);
	ASSERT_OK(vfd_mm_untrack(self->c, info.handle));
	mm_child_kill(&m);
}

TEST_F(track, same_mm_twice)
{
	vfd_mm_client *other = NULL;
	vfd_mm_info mine, theirs, got;
	uint32_t handles0, handles, watches;

	ASSERT_OK(vfd_mm_stats(self->c, &handles0, &watches));
	ASSERT_OK(vfd_mm_track_pidfd(self->c, self->child.pidfd, &mine));
	/* The same socket: refused, the existing handle stays. */
	EXPECT_ERRNO(vfd_mm_track_pidfd(self->c, self->child.pidfd, &got), EEXIST);
	EXPECT_TRUE(vfd_mm_client_last_error(self->c) &&
		    strstr(vfd_mm_client_last_error(self->c), "already"));

	/* Another socket: a handle of its own on the same mm. */
	ASSERT_OK(vfd_mm_client_new(&other));
	ASSERT_OK(vfd_mm_track_pidfd(other, self->child.pidfd, &theirs));
	EXPECT_NE(theirs.handle, mine.handle);
	ASSERT_OK(vfd_mm_stats(self->c, &handles, &watches));
	EXPECT_EQ(handles, handles0 + 2);

	ASSERT_OK(vfd_mm_get(self->c, theirs.handle, &got));
	EXPECT_FALSE(got.owned);
	ASSERT_OK(vfd_mm_get(other, theirs.handle, &got));
	EXPECT_TRUE(got.owned);
	EXPECT_ERRNO(vfd_mm_untrack(self->c, theirs.handle), EACCES);

	/* Handles die with the socket that created them. */
	vfd_mm_client_free(other);
	EXPECT_ERRNO(vfd_mm_get(self->c, theirs.handle, &got), ENOENT);
	ASSERT_OK(vfd_mm_get(self->c, mine.handle, &got));
	EXPECT_EQ(got.state, VFD_MM_STATE_ALIVE);
	ASSERT_OK(vfd_mm_stats(self->c, &handles, &watches));
	EXPECT_EQ(handles, handles0 + 1);
	ASSERT_OK(vfd_mm_untrack(self->c, mine.handle));
}

TEST_F(track, exec_ends_the_tracked_address_space)
{
	mm_child e = MM_CHILD_INIT;
	vfd_mm_info before, got, after;
	mm_events ev;
	int poke = -1, i;

	ASSERT_OK(mm_events_subscribe(&ev));
	ASSERT_OK(mm_child_execer(&e, &poke));
	ASSERT_OK(vfd_mm_track_pidfd(ev.client, e.pidfd, &before));
	ASSERT_OK(mm_child_poke(poke));
	i = mm_events_wait(&ev, before.handle, VFD_MM_EVENT_EXITED, 30000);
	ASSERT_GE(i, 0);

	/* The process lives on in a new mm; the old one is gone. */
	ASSERT_EQ(vfd_pidfd_exited(e.pidfd), 0);
	ASSERT_OK(vfd_mm_get(ev.client, before.handle, &got));
	EXPECT_NE(got.state, VFD_MM_STATE_ALIVE);
	EXPECT_FALSE(got.has_rlimit);
	EXPECT_GT(got.exit_time_ns, 0);
	/* Not the same mm, so not EEXIST: a second handle, alive. */
	ASSERT_OK(vfd_mm_track_pidfd(ev.client, e.pidfd, &after));
	EXPECT_NE(after.handle, before.handle);
	EXPECT_EQ(after.state, VFD_MM_STATE_ALIVE);
	EXPECT_EQ(after.pid, before.pid);
	close(poke);
	mm_child_kill(&e);
	vfd_mm_client_free(ev.client);
}
