/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon/libvirt/libvirt-later.c: libvirt's device events put off. A
 * detach whose device is still open waits for its last close with a
 * backoff, never past its deadline; an event waiting for a VM's change
 * is tried a bounded number of times; one waiting event per VM and
 * device, the newest; a bounded number in all; each has its turn once.
 */
#include <inttypes.h>
#include <stdio.h>

#include "libvirt/libvirt-later.h"
#include "vfd-test.h"

#define MSEC UINT64_C(1000)
#define SEC UINT64_C(1000000)

static LibvirtLaterEvent event(unsigned vm_id, const char *name, bool attach)
{
	LibvirtLaterEvent ev = { .vm_id = vm_id, .attach = attach };

	snprintf(ev.dev.name, sizeof(ev.dev.name), "%s", name);
	snprintf(ev.alias, sizeof(ev.alias), "hostdev0");
	return ev;
}

/* 200 ms, doubled up to 5 s each, the last try at the deadline, then none */
static void test_last_close_backoff(void)
{
	static const uint64_t steps[] = { 200 * MSEC, 400 * MSEC, 800 * MSEC, 1600 * MSEC, 3200 * MSEC,
					  5 * SEC, 5 * SEC };
	uint64_t since = 1000 * SEC;

	for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		ASSERT_EQ(libvirt_later_delay_usec(LIBVIRT_LATER_LAST_CLOSE, i, since, since), steps[i]);
	ASSERT_EQ(libvirt_later_delay_usec(LIBVIRT_LATER_LAST_CLOSE, 1000, since, since), 5 * SEC);
	/* 59.9 s into the wait: 100 ms left, not 5 s */
	ASSERT_EQ(libvirt_later_delay_usec(LIBVIRT_LATER_LAST_CLOSE, 9, since, since + 59900 * MSEC), 100 * MSEC);
	ASSERT_EQ(libvirt_later_delay_usec(LIBVIRT_LATER_LAST_CLOSE, 9, since, since + 60 * SEC), 0);
	ASSERT_EQ(libvirt_later_delay_usec(LIBVIRT_LATER_LAST_CLOSE, 0, since, since + 3600 * SEC), 0);
	/* a clock before the start: no wait counted, not a wrap-around */
	ASSERT_EQ(libvirt_later_delay_usec(LIBVIRT_LATER_LAST_CLOSE, 0, since, since - SEC), 200 * MSEC);
}

static void test_change_bounded(void)
{
	ASSERT_EQ(libvirt_later_delay_usec(LIBVIRT_LATER_CHANGE, 0, 0, 5 * SEC), LIBVIRT_LATER_CHANGE_USEC);
	ASSERT_EQ(libvirt_later_delay_usec(LIBVIRT_LATER_CHANGE, LIBVIRT_LATER_CHANGE_MAX - 1, 0, 5 * SEC),
		  LIBVIRT_LATER_CHANGE_USEC);
	ASSERT_EQ(libvirt_later_delay_usec(LIBVIRT_LATER_CHANGE, LIBVIRT_LATER_CHANGE_MAX, 0, 5 * SEC), 0);
}

static unsigned turns;
static LibvirtLaterEvent last_turn;

static void on_turn(void *userdata, const LibvirtLaterEvent *ev)
{
	turns++;
	last_turn = *ev;
}

/* the newest event about a device replaces the older; cancel says what waited */
static void test_one_per_device(void)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	_cleanup_(libvirt_later_freep) LibvirtLater *l = NULL;
	LibvirtLaterEvent ev = event(7, "0000:01:00.0", false), got;

	ASSERT_OK(sd_event_new(&e));
	ASSERT_OK(libvirt_later_new(e, on_turn, NULL, &l));
	ASSERT_OK(libvirt_later_add(l, &ev, LIBVIRT_LATER_CHANGE));
	ASSERT_OK(libvirt_later_add(l, &ev, LIBVIRT_LATER_CHANGE));
	ASSERT_EQ(libvirt_later_count(l), 1u);
	/* another VM's event about the same device, another device of the VM: their own */
	ev = event(8, "0000:01:00.0", false);
	ASSERT_OK(libvirt_later_add(l, &ev, LIBVIRT_LATER_CHANGE));
	ev = event(7, "0000:02:00.0", false);
	ASSERT_OK(libvirt_later_add(l, &ev, LIBVIRT_LATER_CHANGE));
	ASSERT_EQ(libvirt_later_count(l), 3u);
	/* an attach after the detach: the detach's wait is gone */
	ev = event(7, "0000:01:00.0", true);
	ASSERT_OK(libvirt_later_add(l, &ev, LIBVIRT_LATER_CHANGE));
	ASSERT_EQ(libvirt_later_count(l), 3u);
	ASSERT_EQ(libvirt_later_get(l, 7, "0000:01:00.0", &got), 1);
	ASSERT_TRUE(got.attach);
	ASSERT_EQ(libvirt_later_count(l), 3u);
	ASSERT_EQ(libvirt_later_cancel(l, 7, "0000:01:00.0", &got), 1);
	ASSERT_TRUE(got.attach);
	ASSERT_EQ(got.tries, 1u);
	ASSERT_EQ(libvirt_later_cancel(l, 7, "0000:01:00.0", &got), 0);
	ASSERT_EQ(libvirt_later_count(l), 2u);
	ASSERT_EQ(turns, 0u);
}

/*
 * LIBVIRT_LATER_MAX_PER_VM devices of a VM wait, and one more of it is
 * refused while another VM's are not, up to LIBVIRT_LATER_MAX in all; a
 * newer event of a waiting device always replaces its older one
 */
static void test_bounded(void)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	_cleanup_(libvirt_later_freep) LibvirtLater *l = NULL;
	LibvirtLaterEvent ev;
	char name[32];

	ASSERT_OK(sd_event_new(&e));
	ASSERT_OK(libvirt_later_new(e, on_turn, NULL, &l));
	for (unsigned vm = 1; vm <= LIBVIRT_LATER_MAX / LIBVIRT_LATER_MAX_PER_VM; vm++) {
		for (unsigned i = 0; i < LIBVIRT_LATER_MAX_PER_VM; i++) {
			snprintf(name, sizeof(name), "0000:%02x:%02x.0", i / 32, i % 32);
			ev = event(vm, name, false);
			ASSERT_OK(libvirt_later_add(l, &ev, LIBVIRT_LATER_CHANGE));
		}
		ev = event(vm, "0000:40:00.0", false);
		ASSERT_ERRNO(libvirt_later_add(l, &ev, LIBVIRT_LATER_CHANGE), -ENOSPC);
	}
	ev = event(99, "0000:01:00.0", false);
	ASSERT_ERRNO(libvirt_later_add(l, &ev, LIBVIRT_LATER_CHANGE), -ENOSPC);
	ev = event(1, "0000:00:05.0", true);
	ASSERT_OK(libvirt_later_add(l, &ev, LIBVIRT_LATER_CHANGE));
	ASSERT_EQ(libvirt_later_count(l), (size_t) LIBVIRT_LATER_MAX);
	ASSERT_EQ(libvirt_later_get(l, 1, "0000:00:05.0", &ev), 1);
	ASSERT_TRUE(ev.attach);
	ASSERT_EQ(libvirt_later_get(l, 99, "0000:01:00.0", NULL), 0);
	/* too many tries: not put off */
	ev = event(1, "0000:00:05.0", true);
	ev.tries = LIBVIRT_LATER_CHANGE_MAX;
	ASSERT_ERRNO(libvirt_later_add(l, &ev, LIBVIRT_LATER_CHANGE), -ETIME);
}

/* an event's turn comes once, with its tries counted; past the deadline it is not put off again */
static void test_turn_and_deadline(void)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	_cleanup_(libvirt_later_freep) LibvirtLater *l = NULL;
	LibvirtLaterEvent ev = event(3, "0000:03:00.0", false);
	uint64_t now;

	ASSERT_OK(sd_event_new(&e));
	ASSERT_OK(libvirt_later_new(e, on_turn, NULL, &l));
	ASSERT_OK(sd_event_now(e, CLOCK_MONOTONIC, &now));
	/* a machine up for less than the deadline: its start is 60 s ago by no clock */
	if (now < LIBVIRT_LATER_LAST_CLOSE_USEC) {
		printf("# monotonic clock at %" PRIu64 " us, under the 60 s deadline: not tested\n", now);
		return;
	}
	/* 50 ms before the deadline: the turn comes 50 ms from now */
	ev.last_close_since_usec = now - (LIBVIRT_LATER_LAST_CLOSE_USEC - 50 * MSEC);
	ev.tries = 4;
	turns = 0;
	ASSERT_OK(libvirt_later_add(l, &ev, LIBVIRT_LATER_LAST_CLOSE));
	while (turns == 0)
		ASSERT_OK(sd_event_run(e, 2 * SEC));
	ASSERT_EQ(turns, 1u);
	ASSERT_EQ(libvirt_later_count(l), 0u);
	ASSERT_EQ(last_turn.vm_id, 3u);
	ASSERT_EQ(last_turn.tries, 5u);
	ASSERT_FALSE(last_turn.attach);
	ASSERT_STREQ(last_turn.dev.name, "0000:03:00.0");
	ASSERT_EQ(last_turn.last_close_since_usec, ev.last_close_since_usec);
	/* the handler, still busy, asks again: the deadline passed */
	ASSERT_ERRNO(libvirt_later_add(l, &last_turn, LIBVIRT_LATER_LAST_CLOSE), -ETIME);
	ASSERT_EQ(libvirt_later_count(l), 0u);
	/* nothing else has a turn */
	ASSERT_OK(sd_event_run(e, 100 * MSEC));
	ASSERT_EQ(turns, 1u);
}

/* a handler that puts its own event off again during its turn gets a new wait, the old one gone */
static LibvirtLater *readd_list;
static unsigned readd_turns;

static void on_turn_readd(void *userdata, const LibvirtLaterEvent *ev)
{
	readd_turns++;
	ASSERT_EQ(libvirt_later_count(readd_list), 0u);
	if (readd_turns < 3)
		ASSERT_OK(libvirt_later_add(readd_list, ev, LIBVIRT_LATER_LAST_CLOSE));
}

static void test_readd_in_turn(void)
{
	_cleanup_(sd_event_unrefp) sd_event *e = NULL;
	_cleanup_(libvirt_later_freep) LibvirtLater *l = NULL;
	LibvirtLaterEvent ev = event(4, "0000:04:00.0", false);

	ASSERT_OK(sd_event_new(&e));
	ASSERT_OK(libvirt_later_new(e, on_turn_readd, NULL, &l));
	readd_list = l;
	ASSERT_OK(sd_event_now(e, CLOCK_MONOTONIC, &ev.last_close_since_usec));
	ASSERT_OK(libvirt_later_add(l, &ev, LIBVIRT_LATER_LAST_CLOSE));
	/* 200 ms, then 400 ms */
	while (readd_turns < 3)
		ASSERT_OK(sd_event_run(e, 2 * SEC));
	ASSERT_EQ(libvirt_later_count(l), 0u);
	readd_list = NULL;
}

VFD_TEST_MAIN(VFD_TEST(test_last_close_backoff), VFD_TEST(test_change_bounded), VFD_TEST(test_one_per_device),
	      VFD_TEST(test_bounded), VFD_TEST(test_turn_and_deadline), VFD_TEST(test_readd_in_turn))
