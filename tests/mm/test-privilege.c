/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Without CAP_NET_ADMIN every operation and the events group are refused
 * with EPERM, even on handles that exist; the family itself stays visible
 * (resolving it is the generic netlink controller's business).
 */
#include <errno.h>
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
