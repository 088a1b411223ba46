/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers of vfd-mm-test (mm-test.h): child processes in known states,
 * raw netlink requests, event collection and a few /proc and /sys reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h> /* pidfd_send_signal */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/vfiod_mm.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "mm-test.h"

/* ---- child processes ---- */

static int open_pidfd(pid_t pid, mm_child *ret)
{
	int fd = vfd_pidfd_open(pid);

	if (fd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return fd;
	}
	ret->pid = pid;
	ret->pidfd = fd;
	return 0;
}

/* Closes every descriptor above stdio except a and b (-1: none). */
static void close_all_but(int a, int b)
{
	unsigned next = 3;
	int keep[2] = { a < b ? a : b, a < b ? b : a };

	for (int i = 0; i < 2; i++) {
		if (keep[i] < 3)
			continue;
		if ((unsigned)keep[i] > next)
			close_range(next, (unsigned)keep[i] - 1, 0);
		next = (unsigned)keep[i] + 1;
	}
	close_range(next, ~0U, 0);
}

/*
 * fork() for helpers. The child dies with its parent, never outlives a
 * parent already gone, and keeps no descriptor but stdio, `keep` and its
 * report pipe: a copy of a netlink socket would keep the test's handles
 * alive after the test closed its own. It reports with helper_ready()
 * once set up; helper_wait() returns only then, so after it no helper
 * holds a copy of anything.
 *
 * Returns like fork(): *ret_pid 0 in the child (*ret_fd: its report end),
 * the child's pid in the parent (*ret_fd: the reading end).
 */
static int helper_start(int keep, pid_t *ret_pid, int *ret_fd)
{
	pid_t parent = getpid(), pid;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return negative_errno();
	pid = fork();
	if (pid < 0) {
		int r = negative_errno();

		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close_all_but(p[1], keep);
		*ret_pid = 0;
		*ret_fd = p[1];
		return 0;
	}
	close(p[1]);
	*ret_pid = pid;
	*ret_fd = p[0];
	return 0;
}

/* In the child: status 0 (ready) or an errno. */
static void helper_ready(int fd, int status)
{
	if (write(fd, &status, sizeof(status)) != (ssize_t)sizeof(status))
		_exit(1);
	close(fd);
}

static int helper_wait(pid_t pid, int fd)
{
	int status = EIO;
	ssize_t n;

	n = read(fd, &status, sizeof(status));
	close(fd);
	if (n == (ssize_t)sizeof(status) && status == 0)
		return 0;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return n == (ssize_t)sizeof(status) ? -status : -EIO;
}

int mm_child_sleeper(mm_child *ret)
{
	pid_t pid;
	int fd, r;

	r = helper_start(-1, &pid, &fd);
	if (r < 0)
		return r;
	if (pid == 0) {
		helper_ready(fd, 0);
		for (;;)
			pause();
	}
	r = helper_wait(pid, fd);
	if (r < 0)
		return r;
	return open_pidfd(pid, ret);
}

int mm_child_mlocker(size_t bytes, mm_child *ret)
{
	pid_t pid;
	int fd, r;

	r = helper_start(-1, &pid, &fd);
	if (r < 0)
		return r;
	if (pid == 0) {
		void *mem;
		int status = 0;

		mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (mem == MAP_FAILED || mlock(mem, bytes) < 0)
			status = errno ? errno : EIO;
		helper_ready(fd, status);
		for (;;)
			pause();
	}
	r = helper_wait(pid, fd);
	if (r < 0)
		return r;
	return open_pidfd(pid, ret);
}

static int wait_exited(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return negative_errno();
	return n == 0 ? -ETIMEDOUT : 0;
}

/* A helper that waits for a byte (or EOF) on a pipe; the parent gets the write end. */
static int helper_with_trigger(pid_t *ret_pid, int *ret_trigger, bool *ret_is_child)
{
	int t[2], fd, r;
	pid_t pid;

	if (pipe2(t, O_CLOEXEC) < 0)
		return negative_errno();
	r = helper_start(t[0], &pid, &fd);
	if (r < 0) {
		close(t[0]);
		close(t[1]);
		return r;
	}
	if (pid == 0) {
		helper_ready(fd, 0);
		*ret_is_child = true;
		*ret_trigger = t[0];
		return 0;
	}
	close(t[0]);
	r = helper_wait(pid, fd);
	if (r < 0) {
		close(t[1]);
		return r;
	}
	*ret_is_child = false;
	*ret_pid = pid;
	*ret_trigger = t[1];
	return 0;
}

int mm_child_zombie(mm_child *ret)
{
	bool child;
	pid_t pid;
	int trigger, r;
	char c;

	/* The child exits only once its pidfd exists, or the pid could be gone. */
	r = helper_with_trigger(&pid, &trigger, &child);
	if (r < 0)
		return r;
	if (child) {
		(void)!read(trigger, &c, 1);
		_exit(0);
	}
	r = open_pidfd(pid, ret);
	close(trigger);
	if (r < 0)
		return r;
	return wait_exited(ret->pidfd, 30000);
}

int mm_child_execer(mm_child *ret, int *ret_poke_fd)
{
	bool child;
	pid_t pid;
	int trigger, r;
	char c;

	r = helper_with_trigger(&pid, &trigger, &child);
	if (r < 0)
		return r;
	if (child) {
		if (read(trigger, &c, 1) != 1)
			_exit(1);
		execl("/proc/self/exe", "vfd-mm-test", "--pause", (char *)NULL);
		_exit(127);
	}
	r = open_pidfd(pid, ret);
	if (r < 0) {
		close(trigger);
		return r;
	}
	*ret_poke_fd = trigger;
	return 0;
}

int mm_child_poke(int poke_fd)
{
	return write(poke_fd, "x", 1) == 1 ? 0 : negative_errno();
}

int mm_child_kill_no_reap(mm_child *c)
{
	if (pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		return negative_errno();
	return wait_exited(c->pidfd, 30000);
}

void mm_child_kill(mm_child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pid = -1;
	c->pidfd = -1;
}

int mm_child_start_time(const mm_child *c, uint64_t *ret)
{
	return vfd_process_start_time(c->pid, ret);
}

void mm_test_reap_strays(void)
{
	/* Helpers die with their test (PDEATHSIG) and land here (subreaper). */
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

/* ---- raw requests ---- */

struct mm_raw {
	struct nl_sock *sk;
	int family;
};

int mm_raw_open(mm_raw **ret)
{
	mm_raw *r;
	int e;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->sk = nl_socket_alloc();
	if (!r->sk) {
		free(r);
		return -ENOMEM;
	}
	e = genl_connect(r->sk);
	if (e >= 0)
		e = genl_ctrl_resolve(r->sk, VFIOD_MM_FAMILY_NAME);
	if (e < 0) {
		nl_socket_free(r->sk);
		free(r);
		return e == -NLE_OBJ_NOTFOUND ? -ENOENT : -EIO;
	}
	r->family = e;
	*ret = r;
	return 0;
}

void mm_raw_close(mm_raw *r)
{
	if (!r)
		return;
	nl_socket_free(r->sk);
	free(r);
}

typedef struct raw_state {
	int error;
	bool done;
} raw_state;

static int raw_on_error(struct sockaddr_nl *from, struct nlmsgerr *e, void *arg)
{
	raw_state *s = arg;

	s->error = e->error;
	s->done = true;
	return NL_STOP;
}

static int raw_on_done(struct nl_msg *msg, void *arg)
{
	raw_state *s = arg;

	s->done = true;
	return NL_STOP;
}

int mm_raw_request(mm_raw *r, uint8_t cmd, int flags, const void *attrs, size_t len)
{
	raw_state s = { .done = false };
	struct nl_msg *msg;
	struct nl_cb *cb;
	int e;

	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, r->family, 0, flags, cmd,
			 VFIOD_MM_FAMILY_VERSION) ||
	    (len && nlmsg_append(msg, (void *)attrs, len, NLMSG_ALIGNTO) < 0)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, raw_on_done, &s);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, raw_on_done, &s);
	nl_cb_err(cb, NL_CB_CUSTOM, raw_on_error, &s);
	e = nl_send_auto(r->sk, msg);
	nlmsg_free(msg);
	while (e >= 0 && !s.done)
		e = nl_recvmsgs(r->sk, cb);
	nl_cb_put(cb);
	if (s.done)
		return s.error;
	return -EIO;
}

int mm_raw_resolve(int *ret_family, int *ret_events_group)
{
	struct nl_sock *sk;
	int family, group, e;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	e = genl_connect(sk);
	family = e < 0 ? e : genl_ctrl_resolve(sk, VFIOD_MM_FAMILY_NAME);
	group = family < 0 ? family :
		genl_ctrl_resolve_grp(sk, VFIOD_MM_FAMILY_NAME, VFIOD_MM_MCGRP_EVENTS);
	nl_socket_free(sk);
	if (family < 0 || group < 0)
		return -ENOENT;
	*ret_family = family;
	*ret_events_group = group;
	return 0;
}

int mm_raw_socket(int rcvbuf, int *ret_fd)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_GENERIC);
	if (fd < 0)
		return negative_errno();
	if ((rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = negative_errno();

		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int mm_raw_join(int fd, int group)
{
	return setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0 ?
		       negative_errno() : 0;
}

int mm_raw_count_pending(int fd, int family)
{
	union {
		char bytes[8192];
		struct nlmsghdr align;
	} buf;
	int n = 0;

	for (;;) {
		ssize_t len = recv(fd, buf.bytes, sizeof(buf.bytes), MSG_DONTWAIT);

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno == ENOBUFS) /* an overrun: count it, go on */
			continue;
		if (len < 0)
			return errno == EAGAIN ? n : negative_errno();
		for (struct nlmsghdr *h = &buf.align; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len))
			if (h->nlmsg_type == family)
				n++;
	}
}

int mm_raw_send(int fd, int family, uint8_t cmd, const void *attrs, size_t len)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	union {
		char bytes[512];
		struct nlmsghdr align;
	} buf;
	struct nlmsghdr *h = &buf.align;
	struct genlmsghdr *g;

	if (NLMSG_SPACE(GENL_HDRLEN + len) > sizeof(buf.bytes))
		return -EMSGSIZE;
	memset(buf.bytes, 0, sizeof(buf.bytes));
	h->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN + len);
	h->nlmsg_type = (uint16_t)family;
	h->nlmsg_flags = NLM_F_REQUEST; /* no NLM_F_ACK: the reply is all that comes */
	g = NLMSG_DATA(h);
	g->cmd = cmd;
	g->version = VFIOD_MM_FAMILY_VERSION;
	memcpy((char *)g + GENL_HDRLEN, attrs, len);
	return sendto(fd, h, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0 ?
		       negative_errno() : 0;
}

void mm_attr(void *buf, size_t size, size_t *off, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)buf + *off);
	size_t total = NLA_ALIGN(NLA_HDRLEN + len);

	if (*off + total > size)
		abort(); /* a test bug */
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	a->nla_type = type;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, total - NLA_HDRLEN - len);
	*off += total;
}

/* ---- events ---- */

static void on_event(vfd_mm_client *c, vfd_mm_event_type type, const vfd_mm_info *info,
		     void *userdata)
{
	mm_events *e = userdata;

	if (type == VFD_MM_EVENT_LOST) {
		e->lost++;
		return;
	}
	if (e->n == ELEMENTSOF(e->items))
		return;
	e->items[e->n].type = type;
	e->items[e->n].info = *info;
	e->n++;
}

int mm_events_subscribe(mm_events *e)
{
	int r;

	memset(e, 0, sizeof(*e));
	r = vfd_mm_client_new(&e->client);
	if (r < 0)
		return r;
	return vfd_mm_client_subscribe(e->client, on_event, e);
}

int mm_events_find(const mm_events *e, uint32_t handle, vfd_mm_event_type type)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->items[i].type == type && e->items[i].info.handle == handle)
			return (int)i;
	return -ENOENT;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mm_events_wait(mm_events *e, uint32_t handle, vfd_mm_event_type type, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int i, r;

	for (;;) {
		struct pollfd p = { .fd = vfd_mm_client_event_fd(e->client), .events = POLLIN };

		r = vfd_mm_client_process_events(e->client);
		if (r < 0)
			return r;
		i = mm_events_find(e, handle, type);
		if (i >= 0)
			return i;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		mm_nudge_cpus();
		(void)poll(&p, 1, 100);
	}
}

/* ---- the system ---- */

void mm_nudge_cpus(void)
{
	cpu_set_t orig, one;

	if (sched_getaffinity(0, sizeof(orig), &orig) < 0)
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &orig))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		/* Migrating makes the CPU switch to this task's mm. */
		if (sched_setaffinity(0, sizeof(one), &one) == 0)
			sched_yield();
	}
	(void)sched_setaffinity(0, sizeof(orig), &orig);
}

static int read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	n = read(fd, buf, size - 1);
	if (n < 0) {
		int r = negative_errno();

		close(fd);
		return r;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

int mm_module_refcnt(int *ret)
{
	char buf[32];
	int r;

	r = read_file("/sys/module/vfiod_mm/refcnt", buf, sizeof(buf));
	if (r < 0)
		return r;
	*ret = atoi(buf);
	return 0;
}

int mm_slab_active(const char *cache, long *ret)
{
	char path[128], line[512];
	size_t len = strlen(cache);
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", cache);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		/* Flushes the per-CPU slabs, whose free objects slabinfo counts as active. */
		(void)!write(fd, "1", 1);
		close(fd);
	}
	f = fopen("/proc/slabinfo", "re");
	if (!f)
		return negative_errno();
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, cache, len) == 0 && line[len] == ' ') {
			fclose(f);
			*ret = strtol(line + len, NULL, 10);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

int mm_proc_locked_pinned(pid_t pid, uint64_t *ret_locked, uint64_t *ret_pinned)
{
	unsigned long long lck = 0, pin = 0;
	bool have_lck = false, have_pin = false;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return negative_errno();
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmLck: %llu kB", &lck) == 1)
			have_lck = true;
		else if (sscanf(line, "VmPin: %llu kB", &pin) == 1)
			have_pin = true;
	}
	fclose(f);
	if (!have_lck || !have_pin)
		return -ESRCH; /* a zombie has no Vm* lines */
	*ret_locked = lck * 1024;
	*ret_pinned = pin * 1024;
	return 0;
}

int mm_become_user(uid_t uid)
{
	char line[256];
	FILE *f;
	bool no_caps = false;

	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return negative_errno();
	/* Leaving uid 0 clears the capability sets; check rather than trust. */
	f = fopen("/proc/self/status", "re");
	if (!f)
		return negative_errno();
	while (fgets(line, sizeof(line), f))
		if (strcmp(line, "CapEff:\t0000000000000000\n") == 0)
			no_caps = true;
	fclose(f);
	return no_caps ? 0 : -EPERM;
}

int mm_keep_only_caps(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)caps, .permitted = (uint32_t)caps },
		{ .effective = (uint32_t)(caps >> 32), .permitted = (uint32_t)(caps >> 32) },
	};
	char line[256], want[64];
	bool ok = false;
	FILE *f;

	if (syscall(SYS_capset, &hdr, data) < 0)
		return negative_errno();
	/* check rather than trust, as mm_become_user() does */
	snprintf(want, sizeof(want), "CapEff:\t%016" PRIx64 "\n", caps);
	f = fopen("/proc/self/status", "re");
	if (!f)
		return negative_errno();
	while (fgets(line, sizeof(line), f))
		if (strcmp(line, want) == 0)
			ok = true;
	fclose(f);
	return ok ? 0 : -EPERM;
}

int mm_pid_max(pid_t *ret)
{
	char buf[32];
	int r;

	r = read_file("/proc/sys/kernel/pid_max", buf, sizeof(buf));
	if (r < 0)
		return r;
	*ret = (pid_t)atoi(buf);
	return *ret > 1 ? 0 : -EIO;
}
