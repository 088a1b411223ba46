/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which PCI functions carry the host's root file systems: the block
 * devices of "/" and "/usr" followed through sysfs (sys/dev/block, and the
 * slaves of dm and md devices, the controllers of an NVMe subsystem) to
 * the PCI function below them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vfiod/host-root.h"
#include "vfiod/util.h"
#include "vfd-internal.h"

int vfd_btrfs_member_devices(vfd_context *ctx, const char *fsid, dev_t *ret, size_t max, size_t *n)
{
	char dir[VFD_PATH_MAX];
	char **names = NULL;
	int r;

	if (!ctx || !fsid || !n || (!ret && max > 0) || !vfd_name_is_component(fsid))
		return -EINVAL;
	r = vfd_pathf(dir, sizeof(dir), "sys/fs/btrfs/%s/devices", fsid);
	if (r < 0)
		return r;
	r = vfd_root_list_dir(ctx, dir, &names);
	if (r < 0)
		return r;
	for (size_t i = 0; names[i] && *n < max; i++) {
		_cleanup_free_ char *text = NULL;
		char attr[VFD_PATH_MAX];
		unsigned maj, min;
		dev_t dev;
		bool known = false;

		if (!vfd_name_is_component(names[i]) ||
		    vfd_pathf(attr, sizeof(attr), "%s/%s/dev", dir, names[i]) < 0 ||
		    vfd_root_read_string(ctx, attr, &text) < 0 || sscanf(text, "%u:%u", &maj, &min) != 2)
			continue;
		dev = makedev(maj, min);
		for (size_t k = 0; k < *n && !known; k++)
			known = ret[k] == dev;
		if (!known)
			ret[(*n)++] = dev;
	}
	vfd_strv_free(names);
	return 0;
}

/*
 * btrfs gives its file systems an anonymous st_dev (major 0): the block
 * devices are the members of the file system whose fsid BTRFS_IOC_FS_INFO
 * names, listed in sys/fs/btrfs/FSID/devices.
 */
static void btrfs_devices(vfd_context *ctx, const char *path, dev_t *ret, size_t max, size_t *n)
{
	struct btrfs_ioctl_fs_info_args info = {};
	char fsid[VFD_UUID_STRLEN];
	const uint8_t *u = info.fsid;
	struct statfs sfs;
	_cleanup_close_ int fd = -1;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstatfs(fd, &sfs) < 0 || sfs.f_type != BTRFS_SUPER_MAGIC ||
	    ioctl(fd, BTRFS_IOC_FS_INFO, &info) < 0)
		return;
	snprintf(fsid, sizeof(fsid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
	(void) vfd_btrfs_member_devices(ctx, fsid, ret, max, n);
}

/* a small file of the running system (/proc/swaps), NUL-terminated */
static int read_small_file(const char *path, char **ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t size = 65536, len = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t k = read(fd, buf + len, size - 1 - len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0 || (len += (size_t) k) == size - 1)
			break;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

int vfd_swaps_parse(const char *text, char ***ret)
{
	char **paths = NULL;
	size_t n = 0;
	int r;

	if (!text || !ret)
		return -EINVAL;
	paths = calloc(1, sizeof(char *));
	if (!paths)
		return -ENOMEM;
	/* "Filename Type Size Used Priority", then one line per area; blanks in a name are \040 */
	for (const char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
		const char *p = line + 1;
		size_t len = strcspn(p, " \t\n");
		char *path;
		size_t k = 0;

		if (len == 0 || *p != '/')
			continue;
		path = malloc(len + 1);
		if (!path) {
			vfd_strv_free(paths);
			return -ENOMEM;
		}
		for (size_t i = 0; i < len; i++) {
			if (p[i] == '\\' && i + 3 < len + 1 && is_octal(p[i + 1]) && p[i + 1] <= '3' &&
			    is_octal(p[i + 2]) && is_octal(p[i + 3])) {
				path[k++] = (char) ((p[i + 1] - '0') << 6 | (p[i + 2] - '0') << 3 | (p[i + 3] - '0'));
				i += 3;
			} else
				path[k++] = p[i];
		}
		path[k] = '\0';
		r = vfd_strv_push(&paths, &n, path);
		if (r < 0) {
			vfd_strv_free(paths);
			return r;
		}
	}
	*ret = paths;
	return 0;
}

static void add_dev(dev_t dev, dev_t ret[static VFD_HOST_ROOT_DEVS_MAX], size_t *n)
{
	for (size_t k = 0; k < *n; k++)
		if (ret[k] == dev)
			return;
	if (*n < VFD_HOST_ROOT_DEVS_MAX)
		ret[(*n)++] = dev;
}

/* the block devices of the file system at path, or the device path itself (swap) */
static void path_devices(vfd_context *ctx, const char *path, bool device_node,
			 dev_t ret[static VFD_HOST_ROOT_DEVS_MAX], size_t *n)
{
	struct stat st;

	/* an automount point (/efi, /boot) is not mounted for this: its autofs says nothing */
	if (fstatat(AT_FDCWD, path, &st, AT_NO_AUTOMOUNT) < 0)
		return;
	if (device_node && S_ISBLK(st.st_mode)) {
		add_dev(st.st_rdev, ret, n);
		return;
	}
	if (major(st.st_dev) != 0)
		add_dev(st.st_dev, ret, n);
	else if (ctx)
		/* no block device of its own: btrfs (its members), or nothing to tell */
		btrfs_devices(ctx, path, ret, VFD_HOST_ROOT_DEVS_MAX, n);
}

size_t vfd_host_root_devices_at(vfd_context *ctx, const char *dir, dev_t ret[static VFD_HOST_ROOT_DEVS_MAX])
{
	/* what the host cannot lose while it runs: its root, /usr, /var, its boot files */
	static const char *const names[] = { "", "usr", "var", "boot", "boot/efi", "efi" };
	const char *base = dir && strcmp(dir, "/") != 0 ? dir : "";
	char **swaps = NULL;
	char path[VFD_PATH_MAX];
	_cleanup_free_ char *text = NULL;
	size_t n = 0;

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", base, names[i]) >= (int) sizeof(path))
			continue;
		path_devices(ctx, path, false, ret, &n);
	}

	/* the swap areas: a swapped-out page of the host's is on them (a partition, or a file's disk) */
	if (snprintf(path, sizeof(path), "%s/proc/swaps", base) < (int) sizeof(path) &&
	    read_small_file(path, &text) >= 0 && vfd_swaps_parse(text, &swaps) >= 0) {
		for (size_t i = 0; swaps[i]; i++) {
			if (snprintf(path, sizeof(path), "%s%s", base, swaps[i]) < (int) sizeof(path))
				path_devices(ctx, path, true, ret, &n);
		}
		vfd_strv_free(swaps);
	}
	return n;
}

size_t vfd_host_root_devices(dev_t ret[static VFD_HOST_ROOT_DEVS_MAX])
{
	/* the running system's devices, so its own sysfs too (not a fixture root) */
	_cleanup_(vfd_context_freep) vfd_context *host = NULL;

	if (vfd_context_new("/", &host) < 0)
		host = NULL;
	return vfd_host_root_devices_at(host, "", ret);
}

/* the link target names PCI function pci as one of its components */
static bool link_passes_through(const char *target, const char *pci)
{
	size_t n = strlen(pci);

	for (const char *p = target; (p = strstr(p, pci)); p += n)
		if ((p == target || p[-1] == '/') && (p[n] == '/' || p[n] == '\0'))
			return true;
	return false;
}

/* "nvme" and a number: a controller's link in an NVMe subsystem's directory */
static bool is_nvme_controller_name(const char *name)
{
	if (strncmp(name, "nvme", 4) != 0 || !name[4])
		return false;
	for (const char *c = name + 4; *c; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

/*
 * NVMe native multipath: the block device of a namespace that more than
 * one controller may reach is the subsystem's (devices/virtual/
 * nvme-subsystem/nvme-subsysN/nvmeXnY), below no PCI function and with no
 * slaves. The subsystem's directory links each of its controllers, and a
 * controller is below its PCI function: any of them carries the disk.
 */
static int nvme_subsystem_below_pci(vfd_context *ctx, const char *target, const char *pci)
{
	static const char marker[] = "/nvme-subsystem/";
	const char *p = strstr(target, marker);
	char subsys[64], dir[VFD_PATH_MAX];
	char **names = NULL;
	size_t len;
	int r, found = 0;

	if (!p)
		return 0;
	p += strlen(marker);
	len = strcspn(p, "/");
	if (len == 0 || len >= sizeof(subsys))
		return 0;
	memcpy(subsys, p, len);
	subsys[len] = '\0';
	if (!vfd_name_is_component(subsys))
		return 0;
	r = vfd_pathf(dir, sizeof(dir), "sys/class/nvme-subsystem/%s", subsys);
	if (r < 0)
		return r;
	r = vfd_root_list_dir_or_empty(ctx, dir, &names);
	if (r < 0)
		return r;
	for (size_t i = 0; names[i] && !found; i++) {
		_cleanup_free_ char *ctrl = NULL;
		char link[VFD_PATH_MAX];

		if (!is_nvme_controller_name(names[i]))
			continue;
		/* one controller that cannot be read does not hide the others */
		if (vfd_pathf(link, sizeof(link), "%s/%s", dir, names[i]) < 0 ||
		    vfd_root_readlink(ctx, link, &ctrl) < 0)
			continue;
		found = link_passes_through(ctrl, pci);
	}
	vfd_strv_free(names);
	return found;
}

/*
 * Whether the block device whose sysfs entry is link (root-relative: a
 * sys/dev/block or sys/class/block symlink) sits below PCI function pci,
 * itself or through the devices it is built on (slaves: dm, md, ...).
 */
static int block_below_pci(vfd_context *ctx, const char *link, const char *pci, unsigned depth)
{
	_cleanup_free_ char *target = NULL;
	char path[VFD_PATH_MAX];
	char **slaves = NULL;
	int r;

	if (depth > 8)
		return 0; /* no stack is that deep; a loop is not ours to follow */
	r = vfd_root_readlink(ctx, link, &target);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	if (link_passes_through(target, pci))
		return 1;
	r = nvme_subsystem_below_pci(ctx, target, pci);
	if (r != 0)
		return r;

	r = vfd_pathf(path, sizeof(path), "%s/slaves", link);
	if (r < 0)
		return r;
	r = vfd_root_list_dir_or_empty(ctx, path, &slaves);
	if (r < 0)
		return r;
	for (size_t i = 0; slaves[i] && r == 0; i++) {
		char sl[VFD_PATH_MAX];

		if (!vfd_name_is_component(slaves[i]))
			continue;
		r = vfd_pathf(sl, sizeof(sl), "sys/class/block/%s", slaves[i]);
		if (r >= 0)
			r = block_below_pci(ctx, sl, pci, depth + 1);
	}
	vfd_strv_free(slaves);
	return r;
}

int vfd_pci_carries_host_root(vfd_context *ctx, const char *pci, const dev_t *devs, size_t n_devs,
			      dev_t *ret_dev)
{
	if (!ctx || !pci || (!devs && n_devs > 0))
		return -EINVAL;
	for (size_t k = 0; k < n_devs; k++) {
		char link[64];

		if (major(devs[k]) == 0)
			continue; /* no block device (tmpfs, btrfs subvolume...): cannot tell */
		snprintf(link, sizeof(link), "sys/dev/block/%u:%u", major(devs[k]), minor(devs[k]));
		/* unreadable: the check is a guard, not a requirement */
		if (block_below_pci(ctx, link, pci, 0) > 0) {
			if (ret_dev)
				*ret_dev = devs[k];
			return 1;
		}
	}
	return 0;
}
