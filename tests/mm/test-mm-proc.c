/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the client side that need no module: naming a process by
 * pidfd (lib/mm-proc.c) and the client's answer when the family is absent.
 * Hermetic on any Linux >= 5.10 with /proc; suite unit.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mm-harness.h"
#include "mm-test.h"

TEST(parse_stat_start_time)
{
	/* Field 22 is the start time; the comm may hold spaces and parentheses. */
	static const char plain[] =
		"4242 (sleep) S 1 4242 4242 0 -1 4194560 97 0 0 0 0 0 0 0 20 0 1 0 "
		"123456 2273280 128 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	static const char odd_comm[] =
		"7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0\n";
	static const char short_line[] = "7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0\n";
	static const char not_number[] =
		"7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 12ab 0\n";
	uint64_t v = 0;

	ASSERT_OK(vfd_mm_parse_stat_start_time(plain, &v));
	EXPECT_EQ(v, 123456);
	ASSERT_OK(vfd_mm_parse_stat_start_time(odd_comm, &v));
	EXPECT_EQ(v, 99);
	EXPECT_ERRNO(vfd_mm_parse_stat_start_time(short_line, &v), EINVAL);
	EXPECT_ERRNO(vfd_mm_parse_stat_start_time(not_number, &v), EINVAL);
	EXPECT_ERRNO(vfd_mm_parse_stat_start_time("no parenthesis", &v), EINVAL);
	EXPECT_ERRNO(vfd_mm_parse_stat_start_time(NULL, &v), EINVAL);
}

TEST(start_time_orders_processes)
{
	mm_child child = MM_CHILD_INIT;
	uint64_t mine, theirs;

	ASSERT_OK(vfd_mm_process_start_time(getpid(), &mine));
	ASSERT_OK(mm_child_sleeper(&child));
	ASSERT_OK(mm_child_start_time(&child, &theirs));
	EXPECT_GE(theirs, mine);
	EXPECT_ERRNO(vfd_mm_process_start_time(0, &mine), EINVAL);
	mm_child_kill(&child);
}

TEST(pidfd_names_its_process)
{
	mm_child child = MM_CHILD_INIT;
	pid_t pid = 0;
	int fd;

	ASSERT_OK(mm_child_sleeper(&child));
	ASSERT_OK(vfd_mm_pidfd_get_pid(child.pidfd, &pid));
	EXPECT_EQ(pid, child.pid);
	EXPECT_EQ(vfd_mm_pidfd_exited(child.pidfd), 0);

	/* Killed: exited (a zombie), pid still readable. */
	ASSERT_OK(mm_child_kill_no_reap(&child));
	EXPECT_EQ(vfd_mm_pidfd_exited(child.pidfd), 1);
	ASSERT_OK(vfd_mm_pidfd_get_pid(child.pidfd, &pid));
	EXPECT_EQ(pid, child.pid);

	/* Reaped: the pidfd names nobody any more. */
	ASSERT_EQ(waitpid(child.pid, NULL, 0), child.pid);
	EXPECT_ERRNO(vfd_mm_pidfd_get_pid(child.pidfd, &pid), ESRCH);
	EXPECT_EQ(vfd_mm_pidfd_exited(child.pidfd), 1);
	fd = child.pidfd;
	child.pid = -1;
	mm_child_kill(&child);

	/* fd is closed now */
	EXPECT_ERRNO(vfd_mm_pidfd_get_pid(fd, &pid), EBADF);
}

TEST(not_a_pidfd)
{
	pid_t pid;
	int fd;

	EXPECT_ERRNO(vfd_mm_pidfd_get_pid(-1, &pid), EBADF);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_ERRNO(vfd_mm_pidfd_get_pid(fd, &pid), EBADF);
	close(fd);
}

TEST(client_without_module)
{
	vfd_mm_client *c = NULL;
	struct stat st;
	int r;

	if (stat("/sys/module/vfiod_mm", &st) == 0)
		SKIP("vfiod_mm is loaded on this machine");
	r = vfd_mm_client_new(&c);
	/* Resolving the family may load the module if it is installed. */
	if (r == 0 && stat("/sys/module/vfiod_mm", &st) == 0) {
		vfd_mm_client_free(c);
		SKIP("vfiod_mm is installed here and was loaded on demand");
	}
	EXPECT_ERRNO(r, ENOENT);
	EXPECT_TRUE(c == NULL);
}

int main(int argc, char **argv)
{
	return mmh_main(argc, argv);
}
