/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Processes named by a pidfd, and what /proc says about them; see
 * lib/include/vfiod/process.h. The vfiod_mm helper names a process by
 * (pid, start time): the kernel does not export pidfd_pid() to modules,
 * so the pidfd itself cannot travel in its requests (vfd_mm_track_pidfd()).
 */
#include <dirent.h>
#include <errno.h>
#include <linux/kcmp.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfd-internal.h"
#include "vfiod/process.h"

/* Largest /proc/PID/stat: 52 numeric fields plus a 64-byte comm, with margin. */
#define STAT_MAX 2048
/* fdinfo of a pidfd is a few short lines. */
#define FDINFO_MAX 4096

/* the first size - 1 bytes of path, NUL-terminated; -EFBIG when it is longer and !may_cut */
static int read_small_file(const char *path, char *buf, size_t size, bool may_cut)
{
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	for (;;) {
		if (len == size - 1) {
			if (may_cut)
				break;
			return -EFBIG;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return 0;
}

int vfd_pidfd_open(pid_t pid)
{
	long fd;

	if (pid <= 0)
		return -EINVAL;
	/* glibc has a wrapper only since 2.36; the syscall is the same (Linux >= 5.3) */
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return negative_errno();
	return (int)fd;
}

int vfd_pidfd_get_pid(int pidfd, pid_t *ret)
{
	char path[64], buf[FDINFO_MAX];
	const char *line;
	long long v;
	char *end;
	int r;

	if (pidfd < 0)
		return -EBADF;
	r = vfd_pathf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (r < 0)
		return r;
	r = read_small_file(path, buf, sizeof(buf), false);
	if (r == -ENOENT)
		return -EBADF; /* no such descriptor */
	if (r < 0)
		return r;

	/* Only pidfds have a "Pid:" line. */
	line = buf;
	while (strncmp(line, "Pid:", 4) != 0) {
		line = strchr(line, '\n');
		if (!line)
			return -EBADF;
		line++;
	}

	errno = 0;
	v = strtoll(line + 4, &end, 10);
	if (errno || end == line + 4 || (*end != '\n' && *end != '\0'))
		return -EBADF;
	/* -1: reaped; 0: lives in a pid namespace we cannot see into */
	if (v <= 0)
		return -ESRCH;
	if (v > INT32_MAX)
		return -EBADF;
	*ret = (pid_t)v;
	return 0;
}

int vfd_process_parse_stat_start_time(const char *stat, uint64_t *ret)
{
	const char *p;
	unsigned long long v;
	char *end;

	if (!stat)
		return -EINVAL;
	/* The comm is in parentheses and may contain both: the last ')' ends it. */
	p = strrchr(stat, ')');
	if (!p)
		return -EINVAL;
	p++;
	/* After the comm: field 3 (state) ... field 22 (starttime). */
	for (int field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return -EINVAL;
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EINVAL;
	*ret = v;
	return 0;
}

static int read_proc(pid_t pid, const char *name, char *buf, size_t size, bool may_cut)
{
	char path[64];
	int r;

	if (pid <= 0 || !name || !vfd_name_is_component(name) || size == 0)
		return -EINVAL;
	r = vfd_pathf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	if (r < 0)
		return r;
	r = read_small_file(path, buf, size, may_cut);
	return r == -ENOENT ? -ESRCH : r;
}

int vfd_process_read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
	return read_proc(pid, name, buf, size, true);
}

int vfd_process_owner(pid_t pid, uid_t *ret_uid, gid_t *ret_gid)
{
	char path[32];
	struct stat st;
	int r;

	if (pid <= 0)
		return -EINVAL;
	r = vfd_pathf(path, sizeof(path), "/proc/%d", (int)pid);
	if (r < 0)
		return r;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? -ESRCH : negative_errno();
	*ret_uid = st.st_uid;
	*ret_gid = st.st_gid;
	return 0;
}

int vfd_process_start_time(pid_t pid, uint64_t *ret)
{
	char buf[STAT_MAX];
	int r;

	if (pid <= 0)
		return -EINVAL;
	r = read_proc(pid, "stat", buf, sizeof(buf), false); /* never cut: the field is near the end */
	if (r < 0)
		return r;
	return vfd_process_parse_stat_start_time(buf, ret);
}

/*
 * The decimal value of field name in /proc/PID/status text, followed by
 * suffix (" kB", or "" for a plain number) and the line's end.
 */
static int status_field(const char *status, const char *name, const char *suffix, uint64_t *ret)
{
	size_t len, slen;
	const char *p = status;

	if (!status || !name)
		return -EINVAL;
	len = strlen(name);
	slen = strlen(suffix);
	while (p && *p) {
		if (strncmp(p, name, len) == 0 && p[len] == ':') {
			uint64_t v = 0;
			bool any = false;

			p += len + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			for (; *p >= '0' && *p <= '9'; p++) {
				if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
					return -EBADMSG;
				v = v * 10 + (uint64_t)(*p - '0');
				any = true;
			}
			if (!any || strncmp(p, suffix, slen) != 0)
				return -EBADMSG;
			p += slen;
			if (*p != '\n' && *p != '\0')
				return -EBADMSG;
			*ret = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENODATA;
}

int vfd_process_parse_status_bytes(const char *status, const char *name, uint64_t *ret)
{
	uint64_t kib;
	int r;

	r = status_field(status, name, " kB", &kib);
	if (r < 0)
		return r;
	if (kib > UINT64_MAX / 1024)
		return -EBADMSG;
	*ret = kib * 1024;
	return 0;
}

int vfd_pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	if (p.revents & POLLNVAL)
		return -EBADF;
	/* A pidfd becomes readable when its process has exited. */
	return n > 0 && (p.revents & POLLIN);
}

int vfd_process_parse_status_number(const char *status, const char *name, uint64_t *ret)
{
	return status_field(status, name, "", ret);
}

static void closedirp(DIR **d)
{
	if (*d)
		(void)closedir(*d);
}

/* kcmp(2) is built only with CONFIG_KCMP (or CHECKPOINT_RESTORE): -ENOSYS otherwise */
static int same_file(pid_t pid, int fd, int their_fd)
{
	long n;

	n = syscall(SYS_kcmp, (pid_t)getpid(), pid, KCMP_FILE, (unsigned long)fd,
		    (unsigned long)their_fd);
	if (n < 0)
		return negative_errno();
	return n == 0;
}

/*
 * 1 when the /proc fd link at path reads name (never followed), 0 when
 * not or gone; -EACCES when the kernel's ptrace check refuses the read
 * (no proof either way: not "holds none")
 */
static int link_names(const char *path, const char *name)
{
	char buf[VFD_PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return errno == EACCES || errno == EPERM ? -EACCES : 0;
	buf[n] = '\0';
	return strcmp(buf, name) == 0;
}

int vfd_process_holds_file(pid_t pid, int fd, unsigned max_fds)
{
	_cleanup_(closedirp) DIR *d = NULL;
	char path[64], mine_name[VFD_PATH_MAX];
	ssize_t n_mine;
	unsigned seen = 0;
	bool by_kcmp = true, named = false;
	struct dirent *e;
	int r;

	if (pid <= 0 || fd < 0)
		return -EINVAL;
	r = vfd_pathf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (r < 0)
		return r;
	n_mine = readlink(path, mine_name, sizeof(mine_name) - 1);
	if (n_mine < 0)
		return negative_errno();
	mine_name[n_mine] = '\0';
	r = vfd_pathf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (r < 0)
		return r;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : negative_errno();
	while ((errno = 0, e = readdir(d))) {
		char *end;
		long n;

		if (e->d_name[0] == '.')
			continue;
		errno = 0;
		n = strtol(e->d_name, &end, 10);
		if (errno || *end || n < 0 || n > INT32_MAX)
			continue;
		if (++seen > max_fds)
			return -E2BIG;
		if (by_kcmp) {
			r = same_file(pid, fd, (int)n);
			if (r == -ENOSYS)
				by_kcmp = false;
			else if (r == -EBADF)
				continue; /* closed meanwhile */
			else if (r < 0)
				return r;
			else if (r > 0)
				return 1;
			else
				continue;
		}
		/*
		 * Without kcmp only the link's name is read, never the file:
		 * no stat() of the target's descriptor, which a FUSE or hung
		 * NFS mount of the target's could stall for ever. A file named
		 * like ours (for /dev/iommu: any iommufd) proves nothing.
		 */
		r = vfd_pathf(path, sizeof(path), "/proc/%d/fd/%ld", (int)pid, n);
		if (r < 0)
			return r;
		r = link_names(path, mine_name);
		if (r < 0)
			return r;
		if (r > 0)
			named = true;
	}
	if (errno != 0)
		return negative_errno();
	return named ? -ENOSYS : 0;
}

/*
 * Proof without kcmp(2) that two descriptors of this process are one open
 * file (one struct file). The file status flags (F_GETFL/F_SETFL) belong
 * to the open file description, not to the descriptor: O_NONBLOCK set
 * through mine shows in F_GETFL of theirs exactly when both are the same
 * open file. Another open of the same node (any open of /dev/iommu) keeps
 * flags of its own.
 *
 * Someone who holds theirs but not mine could toggle O_NONBLOCK on theirs
 * from another thread while the check runs, hoping to match. He cannot
 * see mine's flags, so each step is a guess: the bits are set in an order
 * drawn from getrandom() (both values at least once) and every step must
 * match, which a blind toggler passes with odds of 2^-STEPS. A holder of
 * the real file who toggles meanwhile only makes the check fail (a
 * refusal, never a false proof). mine's flags are always set back: the
 * iommufd's users never read or write it (ioctls only), so O_NONBLOCK for
 * a few microseconds changes nothing for them.
 */
#define SAME_FILE_STEPS 32

/*
 * The mount of descriptor fd of this process, from its fdinfo: the
 * kernel prints it from the open file, no call reaches its file system
 * (fstat() does: on a FUSE mount whose server never answers, or a hung
 * network mount, it waits for ever).
 */
static int fd_mount_id(int fd, uint64_t *ret)
{
	char path[64], buf[FDINFO_MAX];
	int r;

	r = vfd_pathf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (r < 0)
		return r;
	/* mnt_id is the third line; a file type's own lines after it may be long */
	r = read_small_file(path, buf, sizeof(buf), true);
	if (r == -ENOENT)
		return -EBADF;
	if (r < 0)
		return r;
	return status_field(buf, "mnt_id", "", ret) < 0 ? -EBADMSG : 0;
}

int vfd_same_open_file_by_flags(int mine, int theirs)
{
	struct stat a, b;
	uint64_t mnt_mine, mnt_theirs;
	uint32_t order;
	int orig, r = 1;

	if (mine < 0 || theirs < 0)
		return -EBADF;
	/*
	 * theirs is the caller's: one open file is on one mount, so another
	 * mount is another file, told without asking theirs's file system.
	 * On mine's mount (vfiod's own, /dev), fstat() is safe.
	 */
	r = fd_mount_id(mine, &mnt_mine);
	if (r >= 0)
		r = fd_mount_id(theirs, &mnt_theirs);
	if (r < 0)
		return r;
	if (mnt_mine != mnt_theirs)
		return 0;
	r = 1;
	if (fstat(mine, &a) < 0 || fstat(theirs, &b) < 0)
		return negative_errno();
	/* another node is another file for sure; the same node proves nothing yet */
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino || a.st_rdev != b.st_rdev ||
	    (a.st_mode & S_IFMT) != (b.st_mode & S_IFMT))
		return 0;
	if (getrandom(&order, sizeof(order), 0) != sizeof(order))
		return -EIO;
	if (order == 0 || order == UINT32_MAX)
		order ^= 1; /* both polarities */
	orig = fcntl(mine, F_GETFL);
	if (orig < 0)
		return negative_errno();
	for (unsigned i = 0; i < SAME_FILE_STEPS && r == 1; i++) {
		int want = (order >> i) & 1 ? orig | O_NONBLOCK : orig & ~O_NONBLOCK, got;

		if (fcntl(mine, F_SETFL, want) < 0) {
			r = negative_errno();
			break;
		}
		got = fcntl(theirs, F_GETFL);
		if (got < 0)
			r = negative_errno();
		else if ((got & O_NONBLOCK) != (want & O_NONBLOCK))
			r = 0;
	}
	if (fcntl(mine, F_SETFL, orig) < 0 && r >= 0)
		r = negative_errno();
	return r;
}

int vfd_same_open_file(int mine, int theirs)
{
	long n;

	if (mine < 0 || theirs < 0)
		return -EBADF;
	n = syscall(SYS_kcmp, (pid_t)getpid(), (pid_t)getpid(), KCMP_FILE, (unsigned long)mine,
		    (unsigned long)theirs);
	if (n >= 0)
		return n == 0;
	/* no CONFIG_KCMP (ENOSYS), or a seccomp filter that refuses it (EPERM) */
	if (errno != ENOSYS && errno != EPERM)
		return negative_errno();
	return vfd_same_open_file_by_flags(mine, theirs);
}
