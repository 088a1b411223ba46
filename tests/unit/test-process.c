/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Processes named by pidfd and read from /proc (lib/process.c): the stat
 * and status parsers on fixed texts, then the real /proc of this machine
 * with a child of the test. Hermetic on any Linux >= 5.10.
 */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfd-test.h"
#include "vfiod/process.h"
#include "vfiod/util.h"

/* fields 3..21 after the comm, then the start time (22) and a few more */
#define STAT_AFTER_COMM(start) " S 1 4242 4242 0 -1 4194560 97 0 0 0 0 0 0 0 20 0 1 0 " start " 2273280 128 0\n"

static void test_parse_stat_start_time(void)
{
	static const struct {
		const char *stat;
		uint64_t start;
	} good[] = {
		{ "4242 (sleep)" STAT_AFTER_COMM("123456"), 123456 },
		/* a comm may hold spaces and parentheses: only the last ')' ends it */
		{ "7 (a) b (c))" STAT_AFTER_COMM("99"), 99 },
		{ "7 (qemu system x86)" STAT_AFTER_COMM("5"), 5 },
		{ "7 ( ) ) ) 1 2 3)" STAT_AFTER_COMM("77"), 77 },
		/* a comm that looks like the fields that follow it */
		{ "7 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20)" STAT_AFTER_COMM("31"), 31 },
		{ "7 ()" STAT_AFTER_COMM("0"), 0 },
		{ "7 (x)" STAT_AFTER_COMM("18446744073709551615"), UINT64_MAX },
		/* the start time is the last field */
		{ "7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42", 42 },
	};
	static const char *const bad[] = {
		"",
		"no parenthesis",
		"7 (x",
		/* one field short: the 22nd is missing */
		"7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0\n",
		"7 (x) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 \n",
		"7 (x)" STAT_AFTER_COMM("12ab"),
		"7 (x)" STAT_AFTER_COMM("-1"),
		"7 (x)" STAT_AFTER_COMM("+1"),
		"7 (x)" STAT_AFTER_COMM("18446744073709551616"),
		/* counted from the first ')' this would be 99: the comm ends at the last */
		"7 (a) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0 )\n",
	};
	uint64_t v;

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		v = 1234;
		if (vfd_process_parse_stat_start_time(good[i].stat, &v) != 0 || v != good[i].start)
			vfd_test_fail(__FILE__, __LINE__, "stat #%zu \"%s\": got %llu, want %llu", i,
				      good[i].stat, (unsigned long long)v, (unsigned long long)good[i].start);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		v = 1234;
		if (vfd_process_parse_stat_start_time(bad[i], &v) != -EINVAL || v != 1234)
			vfd_test_fail(__FILE__, __LINE__, "bad stat #%zu \"%s\" accepted (%llu)", i, bad[i],
				      (unsigned long long)v);
	}
	ASSERT_ERRNO(vfd_process_parse_stat_start_time(NULL, &v), -EINVAL);
}

static void test_parse_status_bytes(void)
{
	static const char status[] =
		"Name:\tqemu-system-x86\n"
		"Umask:\t0022\n"
		"VmPeak:\t 3362868 kB\n"
		"VmLck:\t 2097152 kB\n"
		"VmPin:\t       0 kB\n"
		"Uid:\t107\t107\t107\t107\n";
	uint64_t v = 0;

	ASSERT_OK(vfd_process_parse_status_bytes(status, "VmLck", &v));
	ASSERT_EQ(v, 2097152ULL * 1024);
	ASSERT_OK(vfd_process_parse_status_bytes(status, "VmPin", &v));
	ASSERT_EQ(v, 0);
	/* a name is a whole key: "VmP" is not "VmPeak", "Vm" not "VmLck" */
	ASSERT_ERRNO(vfd_process_parse_status_bytes(status, "VmP", &v), -ENODATA);
	ASSERT_ERRNO(vfd_process_parse_status_bytes(status, "Vm", &v), -ENODATA);
	/* a zombie has no Vm lines */
	ASSERT_ERRNO(vfd_process_parse_status_bytes("Name:\tx\nState:\tZ (zombie)\n", "VmLck", &v), -ENODATA);
	ASSERT_ERRNO(vfd_process_parse_status_bytes("VmLck:\t lots kB\n", "VmLck", &v), -EBADMSG);
	ASSERT_ERRNO(vfd_process_parse_status_bytes("VmLck:\t 12\n", "VmLck", &v), -EBADMSG);
	ASSERT_ERRNO(vfd_process_parse_status_bytes("VmLck:\t -1 kB\n", "VmLck", &v), -EBADMSG);
	ASSERT_ERRNO(vfd_process_parse_status_bytes("VmLck:\t 99999999999999999999 kB\n", "VmLck", &v), -EBADMSG);
	/* the largest count of KiB that still fits in bytes, and one more */
	ASSERT_OK(vfd_process_parse_status_bytes("VmLck: 18014398509481983 kB\n", "VmLck", &v));
	ASSERT_TRUE(v == 18014398509481983ULL * 1024);
	ASSERT_ERRNO(vfd_process_parse_status_bytes("VmLck: 18014398509481984 kB\n", "VmLck", &v), -EBADMSG);
	ASSERT_ERRNO(vfd_process_parse_status_bytes(NULL, "VmLck", &v), -EINVAL);
}

/* a child that sleeps until killed, and dies with the test */
static pid_t sleeper(void)
{
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

static void test_start_time_orders_processes(void)
{
	uint64_t mine = 0, theirs = 0;
	pid_t child;

	ASSERT_OK(vfd_process_start_time(getpid(), &mine));
	child = sleeper();
	ASSERT_OK(vfd_process_start_time(child, &theirs));
	ASSERT_TRUE(theirs >= mine);
	kill(child, SIGKILL);
	ASSERT_EQ(waitpid(child, NULL, 0), child);
	ASSERT_ERRNO(vfd_process_start_time(child, &theirs), -ESRCH);
	ASSERT_ERRNO(vfd_process_start_time(0, &mine), -EINVAL);
}

static void test_pidfd_names_its_process(void)
{
	pid_t child = sleeper(), pid = 0;
	char buf[4096];
	uid_t uid;
	gid_t gid;
	int fd;

	fd = vfd_pidfd_open(child);
	ASSERT_TRUE(fd >= 0);
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_OK(vfd_pidfd_get_pid(fd, &pid));
	ASSERT_EQ(pid, child);
	ASSERT_EQ(vfd_pidfd_exited(fd), 0);
	ASSERT_OK(vfd_process_owner(child, &uid, &gid));
	ASSERT_EQ(uid, geteuid());
	ASSERT_EQ(gid, getegid());
	ASSERT_OK(vfd_process_read_proc(child, "status", buf, sizeof(buf)));
	ASSERT_TRUE(strncmp(buf, "Name:", 5) == 0);
	/* cut, not refused: the lines callers want come first */
	ASSERT_OK(vfd_process_read_proc(child, "status", buf, 8));
	ASSERT_STREQ(buf, "Name:\tt");
	ASSERT_ERRNO(vfd_process_read_proc(child, "../1/status", buf, sizeof(buf)), -EINVAL);

	/* killed: exited (a zombie), the pid still readable */
	kill(child, SIGKILL);
	ASSERT_OK(waitid(P_PID, (id_t)child, NULL, WEXITED | WNOWAIT));
	ASSERT_EQ(vfd_pidfd_exited(fd), 1);
	ASSERT_OK(vfd_pidfd_get_pid(fd, &pid));
	ASSERT_EQ(pid, child);

	/* reaped: the pidfd names nobody any more, /proc has no such process */
	ASSERT_EQ(waitpid(child, NULL, 0), child);
	ASSERT_ERRNO(vfd_pidfd_get_pid(fd, &pid), -ESRCH);
	ASSERT_EQ(vfd_pidfd_exited(fd), 1);
	ASSERT_ERRNO(vfd_process_owner(child, &uid, &gid), -ESRCH);
	ASSERT_ERRNO(vfd_process_read_proc(child, "status", buf, sizeof(buf)), -ESRCH);
	ASSERT_ERRNO(vfd_pidfd_open(child), -ESRCH);
	close(fd);

	/* fd is closed now */
	ASSERT_ERRNO(vfd_pidfd_get_pid(fd, &pid), -EBADF);
	ASSERT_ERRNO(vfd_pidfd_open(0), -EINVAL);
	ASSERT_ERRNO(vfd_pidfd_open(-1), -EINVAL);
}

static void test_parse_status_number(void)
{
	const char *status = "Name:\tqemu\nTgid:\t4242\nNgid:\t0\nPid:\t4243\nVmLck:\t  8 kB\n";
	uint64_t v = 0;

	ASSERT_OK(vfd_process_parse_status_number(status, "Tgid", &v));
	ASSERT_TRUE(v == 4242);
	ASSERT_OK(vfd_process_parse_status_number(status, "Pid", &v));
	ASSERT_TRUE(v == 4243);
	/* a name is a whole field name: "Pid" is not "PPid" nor a prefix of another */
	ASSERT_OK(vfd_process_parse_status_number("PPid:\t1\nPid:\t7", "Pid", &v));
	ASSERT_TRUE(v == 7);
	ASSERT_ERRNO(vfd_process_parse_status_number(status, "TracerPid", &v), -ENODATA);
	/* a number alone on its line: "8 kB" is not one */
	ASSERT_ERRNO(vfd_process_parse_status_number(status, "VmLck", &v), -EBADMSG);
	ASSERT_ERRNO(vfd_process_parse_status_number("Tgid:\t\n", "Tgid", &v), -EBADMSG);
	ASSERT_ERRNO(vfd_process_parse_status_number("Tgid:\t-1\n", "Tgid", &v), -EBADMSG);
	ASSERT_ERRNO(vfd_process_parse_status_number("Tgid:\t99999999999999999999\n", "Tgid", &v), -EBADMSG);
	ASSERT_ERRNO(vfd_process_parse_status_number(NULL, "Tgid", &v), -EINVAL);
}

/* the child holds the file it inherited, not one opened after the fork */
static void test_holds_file(void)
{
	int inherited[2], later[2], r;
	pid_t child;

	ASSERT_OK(pipe2(inherited, O_CLOEXEC) < 0 ? -errno : 0);
	child = sleeper();
	ASSERT_OK(pipe2(later, O_CLOEXEC) < 0 ? -errno : 0);

	/* 1 by kcmp(2); -ENOSYS where the kernel has none (a link named the same) */
	r = vfd_process_holds_file(child, inherited[0], 4096);
	if (syscall(SYS_kcmp, getpid(), getpid(), KCMP_FILE, inherited[0], inherited[0]) == 0)
		ASSERT_EQ(r, 1);
	else
		ASSERT_ERRNO(r, -ENOSYS);
	ASSERT_EQ(vfd_process_holds_file(child, later[0], 4096), 0);
	/* the scan is bounded */
	ASSERT_ERRNO(vfd_process_holds_file(child, later[0], 0), -E2BIG);
	ASSERT_ERRNO(vfd_process_holds_file(child, -1, 4096), -EINVAL);

	kill(child, SIGKILL);
	ASSERT_EQ(waitpid(child, NULL, 0), child);
	ASSERT_ERRNO(vfd_process_holds_file(child, inherited[0], 4096), -ESRCH);
	close(inherited[0]);
	close(inherited[1]);
	close(later[0]);
	close(later[1]);
}

static void test_not_a_pidfd(void)
{
	pid_t pid;
	int fd;

	ASSERT_ERRNO(vfd_pidfd_get_pid(-1, &pid), -EBADF);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_ERRNO(vfd_pidfd_get_pid(fd, &pid), -EBADF);
	close(fd);
}

/* the same open file (a dup) or not (two opens of one node), the flags set back either way */
static void test_same_open_file(void)
{
	int a = open("/dev/null", O_RDONLY | O_CLOEXEC), b = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int copy = fcntl(a, F_DUPFD_CLOEXEC, 3), p[2];
	int flags = fcntl(a, F_GETFL);

	ASSERT_TRUE(a >= 0 && b >= 0 && copy >= 0 && pipe2(p, O_CLOEXEC) == 0);
	ASSERT_EQ(vfd_same_open_file(a, copy), 1);
	ASSERT_EQ(vfd_same_open_file(a, b), 0);
	ASSERT_EQ(vfd_same_open_file_by_flags(a, copy), 1);
	ASSERT_EQ(vfd_same_open_file_by_flags(copy, a), 1);
	ASSERT_EQ(vfd_same_open_file_by_flags(a, b), 0);
	ASSERT_EQ(vfd_same_open_file_by_flags(a, p[0]), 0);
	ASSERT_EQ(fcntl(a, F_GETFL), flags);
	ASSERT_EQ(fcntl(b, F_GETFL), flags);
	/* a file opened non-blocking stays so */
	ASSERT_EQ(fcntl(b, F_SETFL, flags | O_NONBLOCK), 0);
	ASSERT_EQ(vfd_same_open_file_by_flags(b, a), 0);
	ASSERT_EQ(fcntl(b, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	ASSERT_ERRNO(vfd_same_open_file(a, -1), -EBADF);
	close(a);
	close(b);
	close(copy);
	close(p[0]);
	close(p[1]);
}

static int toggled_fd = -1;
static volatile int toggling = 1;

static void *toggle_nonblock(void *arg)
{
	int flags = fcntl(toggled_fd, F_GETFL);

	while (toggling)
		(void)fcntl(toggled_fd, F_SETFL, flags ^= O_NONBLOCK);
	return NULL;
}

/*
 * An attacker holds another open of the node and toggles its O_NONBLOCK
 * as fast as it can while the check runs: it never passes (odds 2^-32 a
 * check). A check of one polarity, or a fixed order, would pass often.
 */
static void test_same_open_file_resists_a_toggler(void)
{
	int mine = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pthread_t t;
	unsigned passed = 0;

	toggled_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(mine >= 0 && toggled_fd >= 0);
	ASSERT_EQ(pthread_create(&t, NULL, toggle_nonblock, NULL), 0);
	for (unsigned i = 0; i < 20000; i++)
		passed += vfd_same_open_file_by_flags(mine, toggled_fd) == 1;
	toggling = 0;
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_EQ(passed, 0U);
	ASSERT_EQ(fcntl(mine, F_GETFL) & O_NONBLOCK, 0);
	close(mine);
	close(toggled_fd);
}

/* writes text to path; 0 or -1 */
static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/*
 * In a child: a FUSE mount (own user and mount namespace) whose server
 * never answers, and an O_PATH descriptor of its root sent to the parent
 * on sock. Any stat of that descriptor waits for the server, for ever.
 */
static _Noreturn void serve_stalled_fuse(int sock, const char *dir)
{
	char opts[128], map[64];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { 0 };
	struct iovec iov;
	char ok = 1;
	int fuse, root;
	uid_t uid = getuid();
	gid_t gid = getgid();

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		goto fail;
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if (write_text("/proc/self/setgroups", "deny") < 0 || write_text("/proc/self/uid_map", map) < 0)
		goto fail;
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	if (write_text("/proc/self/gid_map", map) < 0)
		goto fail;
	fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse < 0)
		goto fail;
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fuse);
	if (mount("vfd-test", dir, "fuse", MS_NOSUID | MS_NODEV, opts) < 0)
		goto fail;
	root = open(dir, O_PATH | O_CLOEXEC);
	if (root < 0)
		goto fail;
	iov = (struct iovec){ .iov_base = &ok, .iov_len = 1 };
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	u.h.cmsg_level = SOL_SOCKET;
	u.h.cmsg_type = SCM_RIGHTS;
	u.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&u.h), &root, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		_exit(1);
	for (;;)
		pause(); /* never reads /dev/fuse: every request waits */
fail:
	ok = 0;
	(void)!write(sock, &ok, 1);
	_exit(0);
}

struct flags_call {
	int mine, theirs, r;
};

static void *call_by_flags(void *arg)
{
	struct flags_call *c = arg;

	c->r = vfd_same_open_file_by_flags(c->mine, c->theirs);
	return NULL;
}

/*
 * ChangeProcessToCaller without kcmp: the caller's descriptor may be a
 * file of a FUSE mount that never answers. The flag proof must answer
 * "another file" without asking that file system: before, it fstat()ed
 * the descriptor first, and vfiod's event loop waited for ever.
 */
static void test_same_open_file_never_asks_a_stalled_fs(void)
{
	char dir[] = "/tmp/vfd-test-fuse-XXXXXX", ok = 0;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { 0 };
	struct iovec iov = { .iov_base = &ok, .iov_len = 1 };
	struct flags_call c = { .r = -1000 };
	struct timespec deadline;
	struct cmsghdr *h;
	pthread_t t;
	int sv[2], status, joined;
	pid_t child;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	child = fork();
	ASSERT_TRUE(child >= 0);
	if (child == 0) {
		close(sv[0]);
		serve_stalled_fuse(sv[1], dir);
	}
	close(sv[1]);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	if (recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC) != 1 || !ok) {
		kill(child, SIGKILL);
		(void)waitpid(child, &status, 0);
		rmdir(dir);
		vfd_test_skip("no FUSE mount in a user namespace here");
	}
	h = CMSG_FIRSTHDR(&msg);
	ASSERT_TRUE(h && h->cmsg_type == SCM_RIGHTS);
	memcpy(&c.theirs, CMSG_DATA(h), sizeof(int));
	c.mine = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(c.mine >= 0);

	ASSERT_EQ(pthread_create(&t, NULL, call_by_flags, &c), 0);
	ASSERT_EQ(clock_gettime(CLOCK_REALTIME, &deadline), 0);
	deadline.tv_sec += 5;
	joined = pthread_timedjoin_np(t, NULL, &deadline);
	/* a thread stuck in FUSE dies with the test (a killable wait) */
	ASSERT_EQ(joined, 0);
	ASSERT_EQ(c.r, 0);
	kill(child, SIGKILL);
	ASSERT_EQ(waitpid(child, &status, 0), child);
	close(c.mine);
	close(c.theirs);
	close(sv[0]);
	ASSERT_EQ(rmdir(dir), 0);
}

VFD_TEST_MAIN(
	VFD_TEST(test_same_open_file),
	VFD_TEST(test_same_open_file_resists_a_toggler),
	VFD_TEST(test_same_open_file_never_asks_a_stalled_fs),
	VFD_TEST(test_parse_stat_start_time),
	VFD_TEST(test_parse_status_bytes),
	VFD_TEST(test_start_time_orders_processes),
	VFD_TEST(test_pidfd_names_its_process),
	VFD_TEST(test_not_a_pidfd),
	VFD_TEST(test_parse_status_number),
	VFD_TEST(test_holds_file),
)
