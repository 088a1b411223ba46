/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What one socket can hold on to: at most max_handles_per_socket handles
 * (ENOSPC beyond, while another socket still gets its own), and no handle
 * whose TRACK reply never reached it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/vfiod_mm.h>

#include "mm-harness.h"
#include "mm-test.h"

#define PER_SOCKET_PARAM "/sys/module/vfiod_mm/parameters/max_handles_per_socket"

static int read_param(const char *path, unsigned *ret)
{
	FILE *f = fopen(path, "re");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%u", ret);
	fclose(f);
	return n == 1 ? 0 : -EIO;
}

static int write_param(const char *path, unsigned value)
{
	FILE *f = fopen(path, "we");
	int r;

	if (!f)
		return -errno;
	r = fprintf(f, "%u\n", value) < 0 ? -EIO : 0;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

#define CAP 3

TEST(per_socket_handle_cap)
{
	mm_child kids[CAP + 1] = { MM_CHILD_INIT, MM_CHILD_INIT, MM_CHILD_INIT, MM_CHILD_INIT };
	vfd_mm_client *a = NULL, *b = NULL;
	vfd_mm_info info;
	unsigned old;
	int r;

	r = vfd_mm_client_new(&a);
	if (r == -ENOENT)
		SKIP("the vfiod_mm family is not registered (module not loaded)");
	ASSERT_OK(r);
	ASSERT_OK(vfd_mm_client_new(&b));
	ASSERT_OK(read_param(PER_SOCKET_PARAM, &old));
	ASSERT_OK(write_param(PER_SOCKET_PARAM, CAP));
	for (int i = 0; i <= CAP; i++)
		ASSERT_OK(mm_child_sleeper(&kids[i]));

	for (int i = 0; i < CAP; i++)
		EXPECT_EQ(vfd_mm_track_pidfd(a, kids[i].pidfd, &info), 0);
	EXPECT_ERRNO(vfd_mm_track_pidfd(a, kids[CAP].pidfd, &info), ENOSPC);
	TH_LOG("the refusal: %s", vfd_mm_client_last_error(a) ?: "(none)");
	EXPECT_TRUE(vfd_mm_client_last_error(a) &&
		    strstr(vfd_mm_client_last_error(a), "max_handles_per_socket"));
	/* another socket is not affected by a's handles */
	EXPECT_EQ(vfd_mm_track_pidfd(b, kids[CAP].pidfd, &info), 0);

	EXPECT_EQ(write_param(PER_SOCKET_PARAM, old), 0);
	for (int i = 0; i <= CAP; i++)
		mm_child_kill(&kids[i]);
	vfd_mm_client_free(b);
	vfd_mm_client_free(a);
}

/*
 * A TRACK whose reply cannot be queued: the requesting socket's receive
 * buffer is the smallest there is and full of unread STATS replies. The
 * module must drop the handle it made, rather than keep the mm for a
 * socket that never learnt the handle's number.
 */
TEST(track_reply_lost_destroys_the_handle)
{
	mm_child kid = MM_CHILD_INIT;
	vfd_mm_client *c = NULL;
	uint32_t before, after, w;
	char attrs[64];
	size_t off = 0;
	int family, group, fd = -1, r;
	uint64_t start;
	uint32_t pid;

	r = vfd_mm_client_new(&c);
	if (r == -ENOENT)
		SKIP("the vfiod_mm family is not registered (module not loaded)");
	ASSERT_OK(r);
	ASSERT_OK(mm_child_sleeper(&kid));
	ASSERT_OK(mm_child_start_time(&kid, &start));
	ASSERT_OK(mm_raw_resolve(&family, &group));
	ASSERT_OK(vfd_mm_stats(c, &before, &w));

	ASSERT_OK(mm_raw_socket(1, &fd)); /* the kernel rounds up to its minimum */
	for (int i = 0; i < 64; i++)
		ASSERT_OK(mm_raw_send(fd, family, VFIOD_MM_CMD_STATS, NULL, 0));
	pid = (uint32_t)kid.pid;
	mm_attr(attrs, sizeof(attrs), &off, VFIOD_MM_A_PID, &pid, sizeof(pid));
	mm_attr(attrs, sizeof(attrs), &off, VFIOD_MM_A_START_TIME, &start, sizeof(start));
	ASSERT_OK(mm_raw_send(fd, family, VFIOD_MM_CMD_TRACK, attrs, off));

	/* the socket is still open: a handle it owned would still be there */
	ASSERT_OK(vfd_mm_stats(c, &after, &w));
	EXPECT_EQ(after, before);

	/* and with room in the queue the same request does make a handle */
	ASSERT_GE(mm_raw_count_pending(fd, family), 1);
	ASSERT_OK(mm_raw_send(fd, family, VFIOD_MM_CMD_TRACK, attrs, off));
	ASSERT_OK(vfd_mm_stats(c, &after, &w));
	EXPECT_EQ(after, before + 1);

	close(fd);
	mm_child_kill(&kid);
	vfd_mm_client_free(c);
}
