/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See device-proof.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device-proof.h"
#include "vfiod/fault.h"
#include "vfiod/util.h"
#include "vfiod/vfio.h"

/* the scan of /proc is bounded: a host with more is named "unknown" past it */
#define PROOF_MAX_PROCESSES 32768
#define PROOF_MAX_FDS_PER_PROCESS 4096
#define PROOF_MAX_HOLDERS 4
#define PROOF_MAX_NODES 17

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

typedef struct ProofNodes {
	char path[PROOF_MAX_NODES][64]; /* absolute node paths, as /proc/PID/fd links read */
	size_t n;
} ProofNodes;

static void nodes_add(ProofNodes *nodes, const char *path)
{
	if (nodes->n < PROOF_MAX_NODES)
		snprintf(nodes->path[nodes->n++], sizeof(nodes->path[0]), "/%s", path);
}

static bool nodes_has(const ProofNodes *nodes, const char *link)
{
	for (size_t i = 0; i < nodes->n; i++)
		if (strcmp(nodes->path[i], link) == 0)
			return true;
	return false;
}

static void append_holder(char *buf, size_t size, long pid, const char *comm)
{
	size_t len = strlen(buf);

	if (len < size)
		snprintf(buf + len, size - len, "%spid %ld (%s)", len ? ", " : "", pid, comm);
}

/*
 * The processes with one of nodes open, as "pid N (comm), ..." in buf;
 * returns how many were found. Only on the real root: a fixture tree has
 * no processes of its own.
 */
static size_t find_holders(const ProofNodes *nodes, char *buf, size_t size)
{
	_cleanup_(closedirp) DIR *proc = NULL;
	struct dirent *de;
	size_t found = 0, scanned = 0;

	buf[0] = '\0';
	if (nodes->n == 0)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while ((de = readdir(proc)) && found < PROOF_MAX_HOLDERS && scanned++ < PROOF_MAX_PROCESSES) {
		_cleanup_(closedirp) DIR *fds = NULL;
		char path[64], link[64], comm[32] = "?";
		struct dirent *fe;
		size_t n_fds = 0;
		char *end;
		long pid;

		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == (long) getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue; /* gone, or not ours to read (no CAP_SYS_PTRACE) */
		while ((fe = readdir(fds)) && n_fds++ < PROOF_MAX_FDS_PER_PROCESS) {
			ssize_t l;

			if (fe->d_name[0] == '.')
				continue;
			l = readlinkat(dirfd(fds), fe->d_name, link, sizeof(link) - 1);
			if (l <= 0)
				continue;
			link[l] = '\0';
			if (!nodes_has(nodes, link))
				continue;

			snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
			FILE *f = fopen(path, "re");
			if (f) {
				if (fgets(comm, sizeof(comm), f))
					comm[strcspn(comm, "\n")] = '\0';
				fclose(f);
			}
			append_holder(buf, size, pid, comm);
			found++;
			break;
		}
	}
	return found;
}

/* the cdev node of a target, "dev/vfio/devices/vfioN"; -ENODEV: none */
static int target_cdev(vfd_context *ctx, const DeviceProofTarget *t, char **ret)
{
	return vfd_vfio_cdev_path(ctx, t->is_mdev ? "mdev" : "pci", t->name, ret);
}

/*
 * The helper's verdict on one PCI function: 0 free, 1 held (count in
 * *ret_files), negative when it cannot tell.
 */
static int helper_verdict(vfd_mm_client *mm, const char *name, unsigned *ret_files)
{
	vfd_mm_device_users u;
	int r;

	r = vfd_mm_device_users_get(mm, name, &u);
	if (r == -EOPNOTSUPP || r == -ENODEV)
		return 0; /* not on a VFIO driver, or gone: no unbind waits for anybody */
	if (r < 0)
		return r;
	if (vfd_mm_device_users_none(&u))
		return 0;
	*ret_files = u.registrations - 1;
	return 1;
}

int device_prove_unused(vfd_context *ctx, vfd_mm_client *mm, int group, const char *name,
			vfd_op_error *error)
{
	_cleanup_close_ int guard = -1;
	unsigned files = 0;
	int r;

	if (group >= 0) {
		r = vfd_vfio_group_open_exclusive(ctx, (unsigned) group, &guard);
		if (r == -EBUSY)
			return vfd_op_error_set_held(error, name, "in use outside vfiod: IOMMU group %d is "
						     "open (a VMM vfiod did not start, such as QEMU of a "
						     "libvirt domain, or another program)", group);
	}
	if (mm && helper_verdict(mm, name, &files) > 0)
		return vfd_op_error_set_held(error, name, "in use outside vfiod: %u open file(s) of the "
					     "device (vfiod_mm), by a VMM vfiod did not start or another "
					     "program", files);
	return 0;
}

int device_prove_free(vfd_context *ctx, vfd_mm_client *mm, int group,
		      const DeviceProofTarget *targets, size_t n, vfd_op_error *error, int *ret_guard)
{
	_cleanup_close_ int guard = -1;
	ProofNodes nodes = {};
	char holders[200], why[160] = "";
	const char *busy = NULL;
	bool real_root = strcmp(vfd_context_root(ctx), "/") == 0;
	bool group_held = false, held = false;
	int r;

	r = vfd_fault_step(ctx, "device-proof");
	if (r < 0)
		return vfd_op_error_set(error, r, targets[0].name, "cannot prove that nobody holds "
					"the device (a test fault)");
	if (group >= 0) {
		char node[32];

		snprintf(node, sizeof(node), "dev/vfio/%d", group);
		nodes_add(&nodes, node);
		r = vfd_vfio_group_open_exclusive(ctx, (unsigned) group, &guard);
		if (r == -EBUSY)
			group_held = true;
		else if (r < 0 && r != -ENODEV) {
			busy = targets[0].name;
			snprintf(why, sizeof(why), "cannot open group %d to prove it free: %s", group,
				 strerror(-r));
		}
	}

	for (size_t i = 0; i < n && !busy; i++) {
		const DeviceProofTarget *t = &targets[i];
		_cleanup_free_ char *cdev = NULL;
		unsigned files = 0;
		char cdev_holders[sizeof(holders)];

		if (target_cdev(ctx, t, &cdev) >= 0)
			nodes_add(&nodes, cdev);

		/*
		 * A held group is busy whatever the helper says: whoever holds it
		 * can open a device descriptor at any moment, between the proof
		 * and the unbind (the helper's count is a snapshot). Only the
		 * exclusive open, kept until the unbind is done, shuts them out.
		 */
		if (group_held) {
			busy = t->name;
			held = true;
			snprintf(why, sizeof(why), "group %d is open (a device descriptor, the group "
				 "itself, or a bound cdev)", group);
			break;
		}
		if (mm && !t->is_mdev) {
			r = helper_verdict(mm, t->name, &files);
			if (r == 0)
				continue;
			busy = t->name;
			held = r > 0;
			if (r > 0)
				snprintf(why, sizeof(why), "%u open file(s) of the device (vfiod_mm)", files);
			else
				snprintf(why, sizeof(why), "the vfiod_mm helper cannot tell who holds it (%s)",
					 strerror(-r));
			break;
		}
		/*
		 * No helper, group free: a cdev opened and never bound to an
		 * iommufd blocks the unbind without blocking the group. Only
		 * /proc can show it (not in flight).
		 */
		if (cdev && real_root) {
			ProofNodes one = {};

			nodes_add(&one, cdev);
			if (find_holders(&one, cdev_holders, sizeof(cdev_holders)) > 0) {
				busy = t->name;
				held = true;
				snprintf(why, sizeof(why), "its cdev /%s is open", cdev);
			}
		}
	}

	if (busy) {
		if (!real_root || find_holders(&nodes, holders, sizeof(holders)) == 0)
			snprintf(holders, sizeof(holders), "unknown holder (a process vfiod may not "
				 "inspect, a descriptor in flight, or a last close still running)");
		if (held)
			return vfd_op_error_set_held(error, busy, "still in use: %s; held by %s", why, holders);
		return vfd_op_error_set(error, -EBUSY, busy, "still in use: %s; held by %s", why,
					holders);
	}

	*ret_guard = TAKE_FD(guard);
	return 0;
}
