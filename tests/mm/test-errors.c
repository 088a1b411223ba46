/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every refusal has its documented errno (docs/vfiod-mm.md): bad pidfds,
 * reused pids, kernel threads, exited processes, unknown handles, and
 * requests the policy rejects, sent raw past the client's own checks.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/vfiod_mm.h>

#include "mm-harness.h"
#include "mm-test.h"

FIXTURE(errors) {
	vfd_mm_client *c;
	mm_raw *raw;
	mm_child child;
	uint64_t start;
};

FIXTURE_SETUP(errors)
{
	int r;

	self->child = (mm_child)MM_CHILD_INIT;
	r = vfd_mm_client_new(&self->c);
	if (r == -ENOENT)
		SKIP("the vfiod_mm family is not registered (module not loaded)");
	ASSERT_OK(r);
	ASSERT_OK(mm_raw_open(&self->raw));
	ASSERT_OK(mm_child_sleeper(&self->child));
	ASSERT_OK(mm_child_start_time(&self->child, &self->start));
}

FIXTURE_TEARDOWN(errors)
{
	mm_child_kill(&self->child);
	mm_raw_close(self->raw);
	vfd_mm_client_free(self->c);
}

/* A TRACK request with PID and START_TIME of the given sizes, plus an extra attribute. */
static size_t track_attrs(char *buf, size_t size, uint32_t pid, uint64_t start,
			  uint16_t extra_type, uint16_t extra_len)
{
	uint64_t zero[2] = { 0, 0 };
	size_t off = 0;

	mm_attr(buf, size, &off, VFIOD_MM_A_PID, &pid, sizeof(pid));
	mm_attr(buf, size, &off, VFIOD_MM_A_START_TIME, &start, sizeof(start));
	if (extra_len)
		mm_attr(buf, size, &off, extra_type, zero, extra_len);
	return off;
}

TEST_F(errors, raw_requests_work)
{
	uint32_t handles0, handles, watches;
	char buf[128];
	size_t len;

	/* A well-formed raw request succeeds, so the refusals below are the policy's. */
	ASSERT_OK(vfd_mm_stats(self->c, &handles0, &watches));
	len = track_attrs(buf, sizeof(buf), (uint32_t)self->child.pid, self->start, 0, 0);
	ASSERT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_TRACK, 0, buf, len), 0);
	ASSERT_OK(vfd_mm_stats(self->c, &handles, &watches));
	EXPECT_EQ(handles, handles0 + 1);
	ASSERT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_GET, NLM_F_DUMP, NULL, 0), 0);
	/* Its handle goes with its socket. */
	mm_raw_close(self->raw);
	self->raw = NULL;
	ASSERT_OK(vfd_mm_stats(self->c, &handles, &watches));
	EXPECT_EQ(handles, handles0);
}

TEST_F(errors, bad_pidfd)
{
	vfd_mm_info info;
	int fd;

	EXPECT_ERRNO(vfd_mm_track_pidfd(self->c, -1, &info), EBADF);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(vfd_mm_track_pidfd(self->c, fd, &info), EBADF);
	close(fd);
	/* fd is closed now */
	EXPECT_ERRNO(vfd_mm_track_pidfd(self->c, fd, &info), EBADF);
}

TEST_F(errors, no_such_process)
{
	vfd_mm_info info;
	pid_t pid_max;

	/* Pids are below pid_max, and pid_max is within the policy's range. */
	ASSERT_OK(mm_pid_max(&pid_max));
	EXPECT_ERRNO(vfd_mm_track_pid(self->c, pid_max, 0, &info), ESRCH);
}

TEST_F(errors, reused_pid)
{
	vfd_mm_info info;

	EXPECT_ERRNO(vfd_mm_track_pid(self->c, self->child.pid, self->start + 1, &info), ESTALE);
	EXPECT_TRUE(vfd_mm_client_last_error(self->c) &&
		    strstr(vfd_mm_client_last_error(self->c), "reused"));
}

TEST_F(errors, kernel_thread)
{
	char comm[32] = "";
	vfd_mm_info info;
	uint64_t start;
	FILE *f;

	/* pid 2 is kthreadd on every Linux since 2.6.27. */
	f = fopen("/proc/2/comm", "re");
	if (!f || !fgets(comm, sizeof(comm), f) || strcmp(comm, "kthreadd\n") != 0)
		SKIP("pid 2 is not kthreadd here");
	fclose(f);
	ASSERT_OK(vfd_process_start_time(2, &start));
	EXPECT_ERRNO(vfd_mm_track_pid(self->c, 2, start, &info), ENXIO);
}

TEST_F(errors, exited_process)
{
	mm_child z = MM_CHILD_INIT;
	vfd_mm_info info;
	uint64_t start;

	ASSERT_OK(mm_child_zombie(&z));
	/* A zombie still has a pid and a stat file, but no address space. */
	ASSERT_OK(mm_child_start_time(&z, &start));
	EXPECT_ERRNO(vfd_mm_track_pid(self->c, z.pid, start, &info), ESRCH);
	EXPECT_ERRNO(vfd_mm_track_pidfd(self->c, z.pidfd, &info), ESRCH);
	mm_child_kill(&z);
}

TEST_F(errors, unknown_handle)
{
	vfd_mm_info info;
	uint32_t zero = 0;
	char buf[64];
	size_t len = 0;

	EXPECT_ERRNO(vfd_mm_get(self->c, 0x7fffffff, &info), ENOENT);
	EXPECT_ERRNO(vfd_mm_untrack(self->c, 0x7fffffff), ENOENT);
	/* Handles start at 1: 0 is out of the policy's range. */
	mm_attr(buf, sizeof(buf), &len, VFIOD_MM_A_HANDLE, &zero, sizeof(zero));
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_GET, 0, buf, len), -ERANGE);
}

TEST_F(errors, unknown_attribute)
{
	uint32_t pid = (uint32_t)self->child.pid;
	char buf[128];
	size_t len;

	/* beyond the command's attributes */
	len = track_attrs(buf, sizeof(buf), pid, self->start, 200, 4);
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_TRACK, 0, buf, len), -EINVAL);
	len = track_attrs(buf, sizeof(buf), pid, self->start, VFIOD_MM_A_MAX + 1, 4);
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_TRACK, 0, buf, len), -EINVAL);
	/* another command's attribute */
	len = track_attrs(buf, sizeof(buf), pid, self->start, VFIOD_MM_A_HANDLE, 4);
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_TRACK, 0, buf, len), -EINVAL);
	/* type 0 */
	len = track_attrs(buf, sizeof(buf), pid, self->start, VFIOD_MM_A_UNSPEC, 4);
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_TRACK, 0, buf, len), -EINVAL);
	/* a dump and STATS take no attribute at all */
	len = track_attrs(buf, sizeof(buf), pid, self->start, 0, 0);
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_GET, NLM_F_DUMP, buf, len), -EINVAL);
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_STATS, 0, buf, len), -EINVAL);
}

TEST_F(errors, oversized_attribute)
{
	uint64_t pid64 = (uint64_t)self->child.pid, big[2] = { self->start, 0 };
	uint32_t pid = (uint32_t)self->child.pid;
	char buf[128];
	size_t len = 0;

	mm_attr(buf, sizeof(buf), &len, VFIOD_MM_A_PID, &pid64, sizeof(pid64));
	mm_attr(buf, sizeof(buf), &len, VFIOD_MM_A_START_TIME, &self->start, sizeof(self->start));
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_TRACK, 0, buf, len), -EINVAL);

	len = 0;
	mm_attr(buf, sizeof(buf), &len, VFIOD_MM_A_PID, &pid, sizeof(pid));
	mm_attr(buf, sizeof(buf), &len, VFIOD_MM_A_START_TIME, big, sizeof(big));
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_TRACK, 0, buf, len), -EINVAL);

	len = 0;
	mm_attr(buf, sizeof(buf), &len, VFIOD_MM_A_HANDLE, &pid64, sizeof(pid64));
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_GET, 0, buf, len), -EINVAL);
}

TEST_F(errors, pid_out_of_range)
{
	char buf[128];
	size_t len;

	len = track_attrs(buf, sizeof(buf), 0, self->start, 0, 0);
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_TRACK, 0, buf, len), -ERANGE);
	/* PID_MAX_LIMIT + 1 on 64-bit */
	len = track_attrs(buf, sizeof(buf), 4 * 1024 * 1024 + 1, self->start, 0, 0);
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_TRACK, 0, buf, len), -ERANGE);
}

TEST_F(errors, missing_attribute)
{
	uint32_t pid = (uint32_t)self->child.pid;
	char buf[64];
	size_t len = 0;

	mm_attr(buf, sizeof(buf), &len, VFIOD_MM_A_PID, &pid, sizeof(pid));
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_TRACK, 0, buf, len), -EINVAL);
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_GET, 0, NULL, 0), -EINVAL);
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_UNTRACK, 0, NULL, 0), -EINVAL);
}

TEST_F(errors, unknown_command)
{
	EXPECT_EQ(mm_raw_request(self->raw, 100, 0, NULL, 0), -EOPNOTSUPP);
	/* events are not requests */
	EXPECT_EQ(mm_raw_request(self->raw, VFIOD_MM_CMD_EXITED, 0, NULL, 0), -EOPNOTSUPP);
}
