/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The iommufd backend and VFIO device cdevs, see lib/include/vfiod/vfio.h.
 * uAPI: include/uapi/linux/iommufd.h and vfio.h; kernel side
 * drivers/iommu/iommufd/ioas.c (iommufd_option_rlimit_mode) and
 * drivers/vfio/device_cdev.c (Linux 6.12).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "vfd-internal.h"
#include "vfiod/fault.h"
#include "vfiod/vfio-uapi.h"
#include "vfiod/vfio.h"
#include "vfiod/inventory.h"

#define IOMMUFD_NODE "dev/iommu"
#define VFIO_CDEV_DIR "dev/vfio/devices"

int vfd_iommufd_available(vfd_context *ctx)
{
	return vfd_root_exists(ctx, IOMMUFD_NODE);
}

static int iommu_option(int iommufd, uint16_t op, uint64_t *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = op,
		.object_id = 0, /* the rlimit mode belongs to the whole context */
		.val64 = *val,
	};
	int r;

	do
		r = ioctl(iommufd, IOMMU_OPTION, &cmd);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return negative_errno();
	*val = cmd.val64;
	return 0;
}

int vfd_iommufd_set_rlimit_mode(int iommufd, bool per_process)
{
	uint64_t v = per_process ? 1 : 0;

	if (iommufd < 0)
		return -EBADF;
	return iommu_option(iommufd, IOMMU_OPTION_OP_SET, &v);
}

int vfd_iommufd_get_rlimit_mode(int iommufd, bool *ret_per_process)
{
	uint64_t v = 0;
	int r;

	if (iommufd < 0)
		return -EBADF;
	if (!ret_per_process)
		return -EINVAL;
	r = iommu_option(iommufd, IOMMU_OPTION_OP_GET, &v);
	if (r < 0)
		return r;
	*ret_per_process = v == 1;
	return 0;
}

int vfd_iommufd_open(vfd_context *ctx, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (!ctx || !ret_fd)
		return -EINVAL;
	r = vfd_fault_step(ctx, "iommufd-open");
	if (r < 0)
		return r;
	fd = vfd_root_open(ctx, IOMMUFD_NODE, O_RDWR | O_NOCTTY);
	if (fd == -ENOENT)
		return -ENODEV;
	if (fd < 0)
		return fd;

	/*
	 * Now, while the context is empty: the kernel refuses the switch
	 * (-EBUSY) as soon as any object (IOAS, device binding) exists.
	 */
	r = vfd_fault_step(ctx, "iommufd-rlimit-mode");
	if (r >= 0)
		r = vfd_iommufd_set_rlimit_mode(fd, true);
	if (r < 0)
		return r;

	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* The one "vfioN" entry of the device's vfio-dev/ directory. */
static int cdev_name(vfd_context *ctx, const char *bus, const char *device, char **ret)
{
	_cleanup_(vfd_strv_freep) char **names = NULL;
	char path[VFD_PATH_MAX];
	char *name;
	int r;

	if (!vfd_name_is_component(bus) || !vfd_name_is_component(device))
		return -EINVAL;
	r = vfd_pathf(path, sizeof(path), "sys/bus/%s/devices/%s", bus, device);
	if (r < 0)
		return r;
	r = vfd_root_exists(ctx, path);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENODEV;

	r = vfd_pathf(path, sizeof(path), "sys/bus/%s/devices/%s/vfio-dev", bus, device);
	if (r < 0)
		return r;
	r = vfd_root_list_dir(ctx, path, &names);
	if (r == -ENOENT)
		return -ENODEV;
	if (r < 0)
		return r;
	/* a VFIO device registers exactly one cdev */
	if (vfd_strv_length(names) != 1 || strncmp(names[0], "vfio", 4) != 0 ||
	    !vfd_name_is_component(names[0]))
		return -ENODEV;

	name = strdup(names[0]);
	if (!name)
		return -ENOMEM;
	*ret = name;
	return 0;
}

int vfd_vfio_cdev_path(vfd_context *ctx, const char *bus, const char *device, char **ret)
{
	_cleanup_free_ char *name = NULL;
	char *path;
	int r;

	if (!ctx || !ret)
		return -EINVAL;
	r = cdev_name(ctx, bus, device, &name);
	if (r < 0)
		return r;
	if (asprintf(&path, VFIO_CDEV_DIR "/%s", name) < 0)
		return -ENOMEM;
	*ret = path;
	return 0;
}

/* "MAJ:MIN" from sysfs */
static int parse_devnum(const char *s, dev_t *ret)
{
	unsigned maj, min;
	char tail;

	if (sscanf(s, "%u:%u%c", &maj, &min, &tail) != 2)
		return -EINVAL;
	*ret = makedev(maj, min);
	return 0;
}

/* the cdev's name ("vfioN") and the device number sysfs gives it */
static int cdev_devnum(vfd_context *ctx, const char *bus, const char *device, char **ret_name,
		       dev_t *ret_devnum)
{
	_cleanup_free_ char *name = NULL, *devnum = NULL;
	char path[VFD_PATH_MAX];
	int r;

	r = cdev_name(ctx, bus, device, &name);
	if (r < 0)
		return r;
	r = vfd_pathf(path, sizeof(path), "sys/bus/%s/devices/%s/vfio-dev/%s/dev", bus, device, name);
	if (r < 0)
		return r;
	r = vfd_root_read_string(ctx, path, &devnum);
	if (r < 0)
		return r;
	r = parse_devnum(devnum, ret_devnum);
	if (r < 0)
		return r;
	*ret_name = TAKE_PTR(name);
	return 0;
}

int vfd_vfio_cdev_open(vfd_context *ctx, const char *bus, const char *device, int *ret_fd)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int fd = -1;
	char path[VFD_PATH_MAX];
	struct stat st;
	dev_t want;
	int r;

	if (!ctx || !ret_fd)
		return -EINVAL;
	r = cdev_devnum(ctx, bus, device, &name, &want);
	if (r < 0)
		return r;

	r = vfd_pathf(path, sizeof(path), VFIO_CDEV_DIR "/%s", name);
	if (r >= 0)
		r = vfd_fault_step(ctx, "vfio-cdev-open");
	if (r < 0)
		return r;
	fd = vfd_root_open(ctx, path, O_RDWR | O_NOCTTY);
	if (fd == -ENOENT)
		return -ENODEV;
	if (fd < 0)
		return fd;

	/* a stale or foreign node of the same name is not this device */
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISCHR(st.st_mode) || st.st_rdev != want)
		return -ENODEV;

	*ret_fd = TAKE_FD(fd);
	return 0;
}

int vfd_vfio_cdev_check_fd(vfd_context *ctx, const char *bus, const char *device, int fd)
{
	_cleanup_free_ char *name = NULL;
	dev_t want;
	int r;

	if (!ctx)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	/* the device as sysfs names it now, not a node a path could forge */
	r = cdev_devnum(ctx, bus, device, &name, &want);
	if (r < 0)
		return r;
	return vfd_fd_check_chr_rw(fd, want);
}

int vfd_vfio_cdev_is_bound(int fd)
{
	/* a PROBE of the migration feature: answered by the VFIO core for every driver */
	uint64_t buf[(sizeof(struct vfio_device_feature) + sizeof(struct vfio_device_feature_migration) + 7) / 8] = {};
	struct vfio_device_feature *f = (struct vfio_device_feature *) buf;

	if (fd < 0)
		return -EBADF;
	f->argsz = sizeof(buf);
	f->flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION;
	if (ioctl(fd, VFIO_DEVICE_FEATURE, f) == 0)
		return 1;
	if (errno == ENOTTY) /* bound; the device does not migrate */
		return 1;
	if (errno == EINVAL)
		return 0;
	return negative_errno();
}

int vfd_vfio_cdev_bind(vfd_context *ctx, int fd, int iommufd)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
	int r;

	if (!ctx || fd < 0 || iommufd < 0)
		return -EBADF;
	r = vfd_fault_step(ctx, "vfio-cdev-bind");
	if (r < 0)
		return r;
	if (ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return negative_errno();
	return 0;
}
