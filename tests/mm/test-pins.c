/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Real VFIO pins outliving their VMM. The case script starts the reference
 * VMM (tests/vmm) and has it map guest memory for DMA; this test plays the
 * part vfiod will play: it holds duplicates of the VMM's VFIO descriptors
 * (pidfd_getfd), kills the VMM, and watches the helper account for the
 * pins until it lets go of them.
 *
 * Environment (the test skips without it):
 *   VFD_MM_VMM_PID     the VMM, already mapped
 *   VFD_MM_VMM_CHARGE  where the backend charges the pins:
 *                        type1         mm->locked_vm
 *                        iommufd-user  mm->pinned_vm, locked memory to the user
 *                                      (IOMMU_OPTION_RLIMIT_MODE 0)
 *                        iommufd-mm    mm->pinned_vm and mm->locked_vm (mode 1)
 *   VFD_MM_VMM_BYTES   how much it mapped
 *
 * What each backend does once the mm is gone (linux 6.12, read in the
 * source and asserted here): type1's vfio_lock_acct() and iommufd's
 * update_mm_locked_vm() need mmget_not_zero() to uncharge and give up on
 * a dead mm, so type1's locked_vm and mode 1's locked_vm and pinned_vm
 * stay charged forever; mode 0 subtracts pinned_vm without the mm and
 * reaches zero. In every case the mm is RELEASED once the descriptors are
 * closed: that, not the counters, proves the pins are gone.
 */
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h> /* pidfd_getfd, pidfd_send_signal */
#include <unistd.h>

#include "mm-harness.h"
#include "mm-test.h"

#define EVENT_TIMEOUT_MS 60000
#define MAX_FDS 16

typedef enum charge {
	CHARGE_TYPE1,
	CHARGE_IOMMUFD_USER,
	CHARGE_IOMMUFD_MM,
} charge;

static bool is_vfio_file(const char *target)
{
	return strncmp(target, "/dev/vfio/", 10) == 0 || strcmp(target, "/dev/iommu") == 0 ||
	       strcmp(target, "anon_inode:[vfio-device]") == 0;
}

/* Duplicates every VFIO descriptor of the process into ours. */
static int grab_vfio_files(pid_t pid, int pidfd, int *fds, size_t max, size_t *ret_n)
{
	char dir[64], link[320], target[256];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return negative_errno();
	while ((de = readdir(d))) {
		ssize_t len;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (!is_vfio_file(target) || n == max)
			continue;
		fd = pidfd_getfd(pidfd, atoi(de->d_name), 0);
		if (fd < 0) {
			int r = negative_errno();

			closedir(d);
			return r;
		}
		TH_LOG("holding the VMM's fd %s: %s", de->d_name, target);
		fds[n++] = fd;
	}
	closedir(d);
	*ret_n = n;
	return 0;
}

TEST_TIMEOUT(pins_outlive_the_vmm, 600)
{
	const char *s_pid = getenv("VFD_MM_VMM_PID"), *s_charge = getenv("VFD_MM_VMM_CHARGE"),
		   *s_bytes = getenv("VFD_MM_VMM_BYTES");
	int fds[MAX_FDS], pidfd, i_exit, i_rel, r;
	uint64_t bytes, lck, pin;
	vfd_mm_info info, got, at_exit;
	mm_events ev;
	size_t n_fds = 0;
	charge ch;
	pid_t pid;

	if (!s_pid || !s_charge || !s_bytes)
		SKIP("needs VFD_MM_VMM_PID, VFD_MM_VMM_CHARGE and VFD_MM_VMM_BYTES");
	pid = (pid_t)atoi(s_pid);
	bytes = strtoull(s_bytes, NULL, 10);
	if (strcmp(s_charge, "type1") == 0)
		ch = CHARGE_TYPE1;
	else if (strcmp(s_charge, "iommufd-user") == 0)
		ch = CHARGE_IOMMUFD_USER;
	else if (strcmp(s_charge, "iommufd-mm") == 0)
		ch = CHARGE_IOMMUFD_MM;
	else
		SKIP("unknown VFD_MM_VMM_CHARGE %s", s_charge);

	r = mm_events_subscribe(&ev);
	if (r == -ENOENT)
		SKIP("the vfiod_mm family is not registered (module not loaded)");
	ASSERT_OK(r);
	pidfd = vfd_pidfd_open(pid);
	ASSERT_GE(pidfd, 0);
	ASSERT_OK(vfd_mm_track_pidfd(ev.client, pidfd, &info));
	ASSERT_OK(mm_proc_locked_pinned(pid, &lck, &pin));
	TH_LOG("VMM %d tracked as handle %u: locked %" PRIu64 " pinned %" PRIu64
	       " (/proc: %" PRIu64 " %" PRIu64 ")", (int)pid, info.handle, info.locked_bytes,
	       info.pinned_bytes, lck, pin);
	EXPECT_EQ(info.locked_bytes, lck);
	EXPECT_EQ(info.pinned_bytes, pin);
	switch (ch) {
	case CHARGE_TYPE1:
		ASSERT_GE(info.locked_bytes, bytes);
		break;
	case CHARGE_IOMMUFD_USER:
		ASSERT_GE(info.pinned_bytes, bytes);
		ASSERT_LT(info.locked_bytes, bytes);
		break;
	case CHARGE_IOMMUFD_MM:
		ASSERT_GE(info.locked_bytes, bytes);
		ASSERT_GE(info.pinned_bytes, bytes);
		break;
	}

	ASSERT_OK(grab_vfio_files(pid, pidfd, fds, MAX_FDS, &n_fds));
	ASSERT_GE(n_fds, 2);

	ASSERT_EQ(pidfd_send_signal(pidfd, SIGKILL, NULL, 0), 0);
	i_exit = mm_events_wait(&ev, info.handle, VFD_MM_EVENT_EXITED, EVENT_TIMEOUT_MS);
	ASSERT_GE(i_exit, 0);
	at_exit = ev.items[i_exit].info;
	TH_LOG("EXITED: locked %" PRIu64 " pinned %" PRIu64 " mm_refs %u", at_exit.locked_bytes,
	       at_exit.pinned_bytes, at_exit.mm_refs);
	EXPECT_EQ(at_exit.locked_bytes, info.locked_bytes);
	EXPECT_EQ(at_exit.pinned_bytes, info.pinned_bytes);

	/* The process is gone from /proc's point of view; the charge is not. */
	EXPECT_NE(mm_proc_locked_pinned(pid, &lck, &pin), 0);
	ASSERT_OK(vfd_mm_get(ev.client, info.handle, &got));
	EXPECT_EQ(got.state, VFD_MM_STATE_EXITED);
	EXPECT_EQ(got.locked_bytes, info.locked_bytes);
	EXPECT_EQ(got.pinned_bytes, info.pinned_bytes);
	EXPECT_GE(got.mm_refs, 1);
	/* Held by our descriptors: neither ZERO nor RELEASED may come. */
	EXPECT_EQ(mm_events_wait(&ev, info.handle, VFD_MM_EVENT_RELEASED, 2000), -ETIMEDOUT);
	EXPECT_EQ(mm_events_find(&ev, info.handle, VFD_MM_EVENT_ZERO), -ENOENT);

	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	i_rel = mm_events_wait(&ev, info.handle, VFD_MM_EVENT_RELEASED, EVENT_TIMEOUT_MS);
	ASSERT_GE(i_rel, 0);
	got = ev.items[i_rel].info;
	TH_LOG("RELEASED: locked %" PRIu64 " pinned %" PRIu64 ", ZERO %s", got.locked_bytes,
	       got.pinned_bytes,
	       mm_events_find(&ev, info.handle, VFD_MM_EVENT_ZERO) >= 0 ? "seen" : "not seen");
	EXPECT_EQ(got.mm_refs, 0);
	switch (ch) {
	case CHARGE_TYPE1:
		/* vfio_lock_acct(): mmget_not_zero() fails, nothing uncharged */
		EXPECT_EQ(got.locked_bytes, at_exit.locked_bytes);
		EXPECT_EQ(mm_events_find(&ev, info.handle, VFD_MM_EVENT_ZERO), -ENOENT);
		break;
	case CHARGE_IOMMUFD_USER:
		/* pinned_vm is subtracted without the mm */
		EXPECT_EQ(got.pinned_bytes, 0);
		EXPECT_GE(mm_events_find(&ev, info.handle, VFD_MM_EVENT_ZERO), 0);
		EXPECT_LT(mm_events_find(&ev, info.handle, VFD_MM_EVENT_ZERO), i_rel);
		break;
	case CHARGE_IOMMUFD_MM:
		/* update_mm_locked_vm() fails first, so pinned_vm is left too */
		EXPECT_EQ(got.locked_bytes, at_exit.locked_bytes);
		EXPECT_EQ(got.pinned_bytes, at_exit.pinned_bytes);
		EXPECT_EQ(mm_events_find(&ev, info.handle, VFD_MM_EVENT_ZERO), -ENOENT);
		break;
	}
	ASSERT_OK(vfd_mm_get(ev.client, info.handle, &got));
	EXPECT_EQ(got.state, VFD_MM_STATE_RELEASED);
	ASSERT_OK(vfd_mm_untrack(ev.client, info.handle));
	close(pidfd);
	vfd_mm_client_free(ev.client);
}
