/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Events without VFIO: the exit of a tracked process, then ZERO and
 * RELEASED. A process that mlock()ed memory shows what "stale" means: the
 * kernel never uncharges mlock from an mm it has torn down, so locked_vm
 * stays where the process left it, the mm is released all the same, and
 * no ZERO event comes.
 */
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "mm-harness.h"
#include "mm-test.h"

#define MiB (UINT64_C(1) << 20)
/* Generous: TCG guests are slow and the helper polls every poll_ms. */
#define EVENT_TIMEOUT_MS 30000

FIXTURE(events) {
	mm_events ev;
	mm_child child;
};

FIXTURE_SETUP(events)
{
	int r;

	self->child = (mm_child)MM_CHILD_INIT;
	r = mm_events_subscribe(&self->ev);
	if (r == -ENOENT)
		SKIP("the vfiod_mm family is not registered (module not loaded)");
	ASSERT_OK(r);
}

FIXTURE_TEARDOWN(events)
{
	mm_child_kill(&self->child);
	vfd_mm_client_free(self->ev.client);
}

TEST_F(events, exit_zero_released_in_order)
{
	int i_exit, i_zero, i_rel;
	vfd_mm_info info, got;
	const vfd_mm_info *ev;

	ASSERT_OK(mm_child_sleeper(&self->child));
	ASSERT_OK(vfd_mm_track_pidfd(self->ev.client, self->child.pidfd, &info));
	EXPECT_EQ(info.locked_bytes, 0);
	EXPECT_EQ(info.pinned_bytes, 0);
	/* Nothing happens to a live process. */
	EXPECT_EQ(mm_events_wait(&self->ev, info.handle, VFD_MM_EVENT_EXITED, 500), -ETIMEDOUT);

	ASSERT_OK(mm_child_kill_no_reap(&self->child));
	i_exit = mm_events_wait(&self->ev, info.handle, VFD_MM_EVENT_EXITED, EVENT_TIMEOUT_MS);
	ASSERT_GE(i_exit, 0);
	ev = &self->ev.items[i_exit].info;
	EXPECT_EQ(ev->state, VFD_MM_STATE_EXITED);
	EXPECT_GT(ev->exit_time_ns, 0);
	EXPECT_EQ(ev->total_bytes, info.total_bytes);
	EXPECT_EQ(ev->pid, 0); /* events carry no pid: they have no reader's namespace */

	i_zero = mm_events_wait(&self->ev, info.handle, VFD_MM_EVENT_ZERO, EVENT_TIMEOUT_MS);
	ASSERT_GE(i_zero, 0);
	i_rel = mm_events_wait(&self->ev, info.handle, VFD_MM_EVENT_RELEASED, EVENT_TIMEOUT_MS);
	ASSERT_GE(i_rel, 0);
	EXPECT_LT(i_exit, i_zero);
	EXPECT_LT(i_zero, i_rel);
	EXPECT_EQ(self->ev.items[i_rel].info.mm_refs, 0);
	EXPECT_EQ(self->ev.lost, 0);

	/* Still readable after the process is gone, until UNTRACK. */
	mm_child_kill(&self->child);
	ASSERT_OK(vfd_mm_get(self->ev.client, info.handle, &got));
	EXPECT_EQ(got.state, VFD_MM_STATE_RELEASED);
	EXPECT_EQ(got.exit_time_ns, ev->exit_time_ns);
	EXPECT_FALSE(got.has_rlimit);
	EXPECT_EQ(got.pid, info.pid);
	EXPECT_EQ(got.mm_refs, 0);
	ASSERT_OK(vfd_mm_untrack(self->ev.client, info.handle));
}

TEST_F(events, mlocked_memory_stays_charged_after_exit)
{
	vfd_mm_info info, got;
	int i_exit, i_rel;

	ASSERT_OK(mm_child_mlocker(8 * MiB, &self->child));
	ASSERT_OK(vfd_mm_track_pidfd(self->ev.client, self->child.pidfd, &info));
	ASSERT_EQ(info.locked_bytes, 8 * MiB);

	ASSERT_OK(mm_child_kill_no_reap(&self->child));
	i_exit = mm_events_wait(&self->ev, info.handle, VFD_MM_EVENT_EXITED, EVENT_TIMEOUT_MS);
	ASSERT_GE(i_exit, 0);
	EXPECT_EQ(self->ev.items[i_exit].info.locked_bytes, 8 * MiB);

	i_rel = mm_events_wait(&self->ev, info.handle, VFD_MM_EVENT_RELEASED, EVENT_TIMEOUT_MS);
	ASSERT_GE(i_rel, 0);
	EXPECT_EQ(self->ev.items[i_rel].info.locked_bytes, 8 * MiB);
	/* Released, yet never zero: the event says so by its absence. */
	EXPECT_EQ(mm_events_find(&self->ev, info.handle, VFD_MM_EVENT_ZERO), -ENOENT);

	mm_child_kill(&self->child);
	ASSERT_OK(vfd_mm_get(self->ev.client, info.handle, &got));
	EXPECT_EQ(got.state, VFD_MM_STATE_RELEASED);
	EXPECT_EQ(got.locked_bytes, 8 * MiB);
	ASSERT_OK(vfd_mm_untrack(self->ev.client, info.handle));
}

TEST_F(events, two_clients_each_get_their_events)
{
	vfd_mm_client *other = NULL;
	vfd_mm_info mine, theirs;

	ASSERT_OK(mm_child_sleeper(&self->child));
	ASSERT_OK(vfd_mm_client_new(&other));
	ASSERT_OK(vfd_mm_track_pidfd(self->ev.client, self->child.pidfd, &mine));
	ASSERT_OK(vfd_mm_track_pidfd(other, self->child.pidfd, &theirs));
	ASSERT_OK(mm_child_kill_no_reap(&self->child));
	/* One exit, one EXITED per handle, both on the group. */
	ASSERT_GE(mm_events_wait(&self->ev, mine.handle, VFD_MM_EVENT_EXITED, EVENT_TIMEOUT_MS), 0);
	ASSERT_GE(mm_events_wait(&self->ev, theirs.handle, VFD_MM_EVENT_EXITED, EVENT_TIMEOUT_MS), 0);
	ASSERT_GE(mm_events_wait(&self->ev, mine.handle, VFD_MM_EVENT_RELEASED, EVENT_TIMEOUT_MS), 0);
	ASSERT_GE(mm_events_wait(&self->ev, theirs.handle, VFD_MM_EVENT_RELEASED, EVENT_TIMEOUT_MS), 0);
	vfd_mm_client_free(other);
}

typedef struct loop_state {
	uint32_t handle;
	vfd_mm_event_type want;
	bool seen;
	vfd_mm_info info;
} loop_state;

static void on_loop_event(vfd_mm_client *c, vfd_mm_event_type type, const vfd_mm_info *info,
			  void *userdata)
{
	loop_state *s = userdata;

	if (!info || info->handle != s->handle || type != s->want)
		return;
	s->seen = true;
	s->info = *info;
}

static int on_loop_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	loop_state *s = userdata;

	if (s->seen)
		return sd_event_exit(sd_event_source_get_event(src), 0);
	mm_nudge_cpus();
	/* Re-arm: 100 ms. */
	(void)sd_event_source_set_time_relative(src, 100 * 1000);
	return sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
}

TEST_F(events, delivered_through_sd_event)
{
	loop_state s = { .want = VFD_MM_EVENT_EXITED };
	sd_event_source *timer = NULL;
	vfd_mm_client *c = NULL;
	sd_event *e = NULL;
	vfd_mm_info info;

	/* A client of its own, driven only by the loop. */
	ASSERT_OK(vfd_mm_client_new(&c));
	ASSERT_OK(vfd_mm_client_subscribe(c, on_loop_event, &s));
	ASSERT_OK(sd_event_new(&e));
	ASSERT_OK(vfd_mm_client_attach_event(c, e, 0));
	EXPECT_ERRNO(vfd_mm_client_attach_event(c, e, 0), EALREADY);
	ASSERT_OK(sd_event_add_time_relative(e, &timer, CLOCK_MONOTONIC, 100 * 1000, 0,
					     on_loop_timer, &s));

	ASSERT_OK(mm_child_sleeper(&self->child));
	ASSERT_OK(vfd_mm_track_pidfd(c, self->child.pidfd, &info));
	s.handle = info.handle;
	ASSERT_OK(mm_child_kill_no_reap(&self->child));
	/* The loop ends from the timer once the io source delivered the event. */
	alarm(60);
	ASSERT_OK(sd_event_loop(e));
	alarm(0);
	EXPECT_TRUE(s.seen);
	EXPECT_EQ(s.info.state, VFD_MM_STATE_EXITED);

	sd_event_source_unref(timer);
	/* The client detaches its io source itself. */
	vfd_mm_client_free(c);
	sd_event_unref(e);
}
