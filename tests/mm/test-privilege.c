/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may use vfiod_mm (kernel/netlink.c): every command needs
 * CAP_SYS_RESOURCE or CAP_SYS_ADMIN, on top of CAP_NET_ADMIN; the events
 * group's join needs CAP_NET_ADMIN and its events reach only sockets
 * opened with CAP_SYS_RESOURCE or CAP_SYS_ADMIN. Refusals are EPERM, even
 * on handles that exist; the family itself stays visible (resolving it
 * is the generic netlink controller's business).
 *
 * The actor of issue 11: a process with CAP_NET_ADMIN alone (a network
 * daemon, a container with host networking) must not reach another
 * process's mm: no TRACK, no GET, no events. vfiod's unit gives it
 * CAP_CHOWN, CAP_SYS_RESOURCE and CAP_NET_ADMIN: all of it works there.
 */
#include <errno.h>
#include <linux/capability.h>
#include <linux/vfiod_mm.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mm-harness.h"
#include "mm-test.h"

#define VMM_UID 1000

enum {
	OP_CLIENT_NEW,
	OP_TRACK,
	OP_GET,
	OP_LIST,
	OP_UNTRACK,
	OP_STATS,
	OP_SUBSCRIBE,
	OP_DEVICE_USERS,
	_OP_MAX,
};

static const char *const op_names[_OP_MAX] = {
	"client_new", "track", "get", "list", "untrack", "stats", "subscribe", "device_users",
};

static void noop_handler(vfd_mm_client *c, vfd_mm_event_type type, const vfd_mm_info *info,
			 void *userdata)
{
}

/* In a forked child: every operation as an unprivileged user. */
static void try_all_as_user(const mm_child *target, uint64_t start, uint32_t handle, int out)
{
	int results[_OP_MAX];
	vfd_mm_client *c = NULL;
	vfd_mm_info info, *all = NULL;
	vfd_mm_device_users u;
	uint32_t h, w;
	size_t n;

	for (int i = 0; i < _OP_MAX; i++)
		results[i] = 1; /* not tried */
	if (mm_become_user(VMM_UID) < 0)
		_exit(2);
	results[OP_CLIENT_NEW] = vfd_mm_client_new(&c);
	if (c) {
		results[OP_TRACK] = vfd_mm_track_pid(c, target->pid, start, &info);
		results[OP_GET] = vfd_mm_get(c, handle, &info);
		results[OP_LIST] = vfd_mm_list(c, &all, &n);
		results[OP_UNTRACK] = vfd_mm_untrack(c, handle);
		results[OP_STATS] = vfd_mm_stats(c, &h, &w);
		results[OP_SUBSCRIBE] = vfd_mm_client_subscribe(c, noop_handler, NULL);
		/* the permission check comes first: any name, existing or not */
		results[OP_DEVICE_USERS] = vfd_mm_device_users_get(c, "0000:00:00.0", &u);
	}
	if (write(out, results, sizeof(results)) != (ssize_t)sizeof(results))
		_exit(3);
	_exit(0);
}

TEST(unprivileged_caller_gets_eperm)
{
	mm_child target = MM_CHILD_INIT;
	int results[_OP_MAX], p[2], status, r;
	vfd_mm_client *c = NULL;
	vfd_mm_info info, got;
	uint64_t start;
	pid_t pid;

	r = vfd_mm_client_new(&c);
	if (r == -ENOENT)
		SKIP("the vfiod_mm family is not registered (module not loaded)");
	ASSERT_OK(r);
	ASSERT_OK(mm_child_sleeper(&target));
	ASSERT_OK(mm_child_start_time(&target, &start));
	/* A real handle, so that EPERM cannot be ENOENT in disguise. */
	ASSERT_OK(vfd_mm_track_pidfd(c, target.pidfd, &info));

	ASSERT_EQ(pipe(p), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(p[0]);
		try_all_as_user(&target, start, info.handle, p[1]);
	}
	close(p[1]);
	ASSERT_EQ(read(p[0], results, sizeof(results)), (ssize_t)sizeof(results));
	close(p[0]);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	EXPECT_EQ(results[OP_CLIENT_NEW], 0);
	for (int i = OP_TRACK; i < _OP_MAX; i++) {
		if (results[i] != -EPERM)
			TH_LOG("%s as uid %d: %s", op_names[i], VMM_UID,
			       results[i] == 0 ? "success" : strerrorname_np(-results[i]));
		EXPECT_EQ(results[i], -EPERM);
	}
	/* Nothing changed: the handle is still there and still ours. */
	ASSERT_OK(vfd_mm_get(c, info.handle, &got));
	EXPECT_TRUE(got.owned);
	ASSERT_OK(vfd_mm_untrack(c, info.handle));
	mm_child_kill(&target);
	vfd_mm_client_free(c);
}

/* In a forked child: the family as seen from a new network namespace. */
static void connect_in_new_netns(int out)
{
	vfd_mm_client *c = NULL;
	int r;

	r = unshare(CLONE_NEWNET) < 0 ? -errno : vfd_mm_client_new(&c);
	if (r == -EINVAL)
		r = 1; /* no CONFIG_NET_NS */
	if (write(out, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(3);
	_exit(0);
}

TEST(other_network_namespace_sees_no_family)
{
	vfd_mm_client *c = NULL;
	int p[2], result = 0, status, r;
	pid_t pid;

	r = vfd_mm_client_new(&c);
	if (r == -ENOENT)
		SKIP("the vfiod_mm family is not registered (module not loaded)");
	ASSERT_OK(r);
	vfd_mm_client_free(c);

	ASSERT_EQ(pipe(p), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(p[0]);
		connect_in_new_netns(p[1]);
	}
	close(p[1]);
	ASSERT_EQ(read(p[0], &result, sizeof(result)), (ssize_t)sizeof(result));
	close(p[0]);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	if (result == 1)
		SKIP("this kernel has no network namespaces (CONFIG_NET_NS)");
	/* netnsok is false: the family exists in the initial namespace only. */
	EXPECT_EQ(result, -ENOENT);
}

/* ---- exactly these capabilities, as uid 0 ---- */

#define CAP(c) (UINT64_C(1) << (c))
/* systemd/vfiod.service.in, CapabilityBoundingSet= */
#define UNIT_CAPS (CAP(CAP_CHOWN) | CAP(CAP_SYS_RESOURCE) | CAP(CAP_NET_ADMIN))

typedef struct caps_result {
	int caps;         /* mm_keep_only_caps() */
	int ops[_OP_MAX]; /* as in try_all_as_user() */
	int raw_join;     /* the kernel's verdict on a plain NETLINK_ADD_MEMBERSHIP */
	int raw_events;   /* vfiod_mm messages that plain member received */
} caps_result;

/*
 * In a forked child: everything a caller with `caps` could try, including
 * a plain member of the events group that bypasses the client. Reports
 * on `out` once ready, waits for a byte on `go` (the parent made an event
 * meanwhile), then counts what the plain member received.
 */
static void try_all_with_caps(uint64_t caps, const mm_child *target, uint64_t start,
			      uint32_t handle, int out, int go)
{
	caps_result res = { .raw_join = 1, .raw_events = -1 };
	vfd_mm_client *c = NULL;
	vfd_mm_info info, *all = NULL;
	vfd_mm_device_users u;
	int family, group, fd = -1;
	uint32_t h, w;
	size_t n;
	char byte;

	for (int i = 0; i < _OP_MAX; i++)
		res.ops[i] = 1; /* not tried */
	res.caps = mm_keep_only_caps(caps);
	if (res.caps == 0) {
		res.ops[OP_CLIENT_NEW] = vfd_mm_client_new(&c);
		if (c) {
			res.ops[OP_TRACK] = vfd_mm_track_pid(c, target->pid, start, &info);
			res.ops[OP_GET] = vfd_mm_get(c, handle, &info);
			res.ops[OP_LIST] = vfd_mm_list(c, &all, &n);
			res.ops[OP_UNTRACK] = vfd_mm_untrack(c, handle);
			res.ops[OP_STATS] = vfd_mm_stats(c, &h, &w);
			res.ops[OP_SUBSCRIBE] = vfd_mm_client_subscribe(c, noop_handler, NULL);
			res.ops[OP_DEVICE_USERS] = vfd_mm_device_users_get(c, "0000:00:00.0", &u);
		}
		/* the socket is opened with `caps`: its opener is what delivery checks */
		if (mm_raw_resolve(&family, &group) == 0 && mm_raw_socket(0, &fd) == 0)
			res.raw_join = mm_raw_join(fd, group);
	}
	if (write(out, "r", 1) != 1 || read(go, &byte, 1) != 1)
		_exit(3);
	if (res.raw_join == 0)
		res.raw_events = mm_raw_count_pending(fd, family);
	if (write(out, &res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(3);
	_exit(0);
}

/*
 * Runs try_all_with_caps() in a child while the parent (all of root's
 * capabilities) tracks a process that exits: the parent's own events must
 * see its EXITED, so an event did go out while the child listened.
 */
static void run_with_caps(mmh_metadata *_metadata, uint64_t caps, caps_result *ret)
{
	mm_child target = MM_CHILD_INIT, victim = MM_CHILD_INIT;
	int to_child[2], from_child[2], status, r;
	vfd_mm_client *c = NULL;
	vfd_mm_info info, vinfo, got;
	mm_events ev;
	uint64_t start;
	char byte;
	pid_t pid;

	r = vfd_mm_client_new(&c);
	if (r == -ENOENT)
		SKIP("the vfiod_mm family is not registered (module not loaded)");
	ASSERT_OK(r);
	ASSERT_OK(mm_events_subscribe(&ev));
	ASSERT_OK(mm_child_sleeper(&target));
	ASSERT_OK(mm_child_sleeper(&victim));
	ASSERT_OK(mm_child_start_time(&target, &start));
	/* A real handle, so that EPERM cannot be ENOENT in disguise. */
	ASSERT_OK(vfd_mm_track_pidfd(c, target.pidfd, &info));
	ASSERT_OK(vfd_mm_track_pidfd(c, victim.pidfd, &vinfo));

	ASSERT_EQ(pipe(to_child), 0);
	ASSERT_EQ(pipe(from_child), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(to_child[1]);
		close(from_child[0]);
		try_all_with_caps(caps, &target, start, info.handle, from_child[1], to_child[0]);
	}
	close(to_child[0]);
	close(from_child[1]);
	ASSERT_EQ(read(from_child[0], &byte, 1), 1);

	/* the event: the victim's address space goes */
	ASSERT_OK(mm_child_kill_no_reap(&victim));
	ASSERT_GE(mm_events_wait(&ev, vinfo.handle, VFD_MM_EVENT_EXITED, 10000), 0);

	ASSERT_EQ(write(to_child[1], "g", 1), 1);
	ASSERT_EQ(read(from_child[0], ret, sizeof(*ret)), (ssize_t)sizeof(*ret));
	close(to_child[1]);
	close(from_child[0]);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_OK(ret->caps);
	EXPECT_EQ(ret->ops[OP_CLIENT_NEW], 0);

	/* Nothing the child did took the parent's handle. */
	ASSERT_OK(vfd_mm_get(c, info.handle, &got));
	EXPECT_TRUE(got.owned);
	ASSERT_OK(vfd_mm_untrack(c, info.handle));
	mm_child_kill(&target);
	mm_child_kill(&victim);
	vfd_mm_client_free(ev.client);
	vfd_mm_client_free(c);
}

static void log_ops(const char *who, const caps_result *res)
{
	for (int i = OP_TRACK; i < _OP_MAX; i++)
		TH_LOG("%s: %s -> %s", who, op_names[i],
		       res->ops[i] == 0 ? "success" : res->ops[i] == 1 ? "not tried" :
		       strerrorname_np(-res->ops[i]));
	TH_LOG("%s: join -> %s, events received %d", who,
	       res->raw_join == 0 ? "success" : strerrorname_np(-res->raw_join), res->raw_events);
}

TEST(net_admin_alone_can_neither_track_nor_receive_events)
{
	caps_result res;

	run_with_caps(_metadata, CAP(CAP_NET_ADMIN), &res);
	log_ops("CAP_NET_ADMIN alone", &res);
	for (int i = OP_TRACK; i < _OP_MAX; i++)
		EXPECT_EQ(res.ops[i], -EPERM);
	/*
	 * The join itself is genl_bind()'s (CAP_NET_ADMIN suffices there,
	 * see kernel/netlink.c); what matters is that nothing arrives.
	 */
	EXPECT_EQ(res.raw_join, 0);
	EXPECT_EQ(res.raw_events, 0);
}

TEST(sys_resource_without_net_admin_gets_eperm)
{
	caps_result res;

	run_with_caps(_metadata, CAP(CAP_SYS_RESOURCE), &res);
	log_ops("CAP_SYS_RESOURCE alone", &res);
	for (int i = OP_TRACK; i < _OP_MAX; i++)
		EXPECT_EQ(res.ops[i], -EPERM);
	EXPECT_EQ(res.raw_join, -EPERM);
}

TEST(the_units_capabilities_track_and_receive_events)
{
	caps_result res;

	run_with_caps(_metadata, UNIT_CAPS, &res);
	log_ops("vfiod's unit", &res);
	EXPECT_EQ(res.ops[OP_TRACK], 0);
	EXPECT_EQ(res.ops[OP_GET], 0);
	EXPECT_EQ(res.ops[OP_LIST], 0);
	EXPECT_EQ(res.ops[OP_UNTRACK], -EACCES); /* the parent's handle */
	EXPECT_EQ(res.ops[OP_STATS], 0);
	EXPECT_EQ(res.ops[OP_SUBSCRIBE], 0);
	EXPECT_NE(res.ops[OP_DEVICE_USERS], -EPERM);
	EXPECT_EQ(res.raw_join, 0);
	EXPECT_GE(res.raw_events, 1);
}

TEST(sys_admin_with_net_admin_is_enough)
{
	caps_result res;

	run_with_caps(_metadata, CAP(CAP_SYS_ADMIN) | CAP(CAP_NET_ADMIN), &res);
	log_ops("CAP_SYS_ADMIN and CAP_NET_ADMIN", &res);
	EXPECT_EQ(res.ops[OP_TRACK], 0);
	EXPECT_EQ(res.ops[OP_SUBSCRIBE], 0);
	EXPECT_GE(res.raw_events, 1);
}
