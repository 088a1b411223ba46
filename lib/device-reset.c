/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A PCI function reset through VFIO, and the proof it took
 * (lib/include/vfiod/device-reset.h). Config space is read and the
 * marker written through sysfs "config" (root-relative), which reaches
 * the function itself; VFIO's config region would not: vfio-pci keeps a
 * virtual copy of the MSI and MSI-X registers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vfd-internal.h"
#include "vfiod/device-reset.h"
#include "vfiod/vfio-uapi.h"
#include "vfiod/vfio.h"

#define CFG_HEADER_SIZE 64
/* revision id and class code: what a VF answers of its identity (offset 0 reads all ones) */
#define ID_OFFSET_VF 8
#define CFG_SIZE 256
#define CFG_STATUS 0x06
#define CFG_STATUS_CAP_LIST 0x10
#define CFG_CAP_POINTER 0x34
#define CAP_ID_MSI 0x05
#define CAP_ID_MSIX 0x11
#define MSI_FLAGS_ENABLE 0x0001
#define MSI_FLAGS_64BIT 0x0080
#define MSI_FLAGS_MASKBIT 0x0100
#define MSIX_FLAGS_MASKALL 0x4000
#define MSIX_FLAGS_ENABLE 0x8000

static const char *const check_names[_VFD_RESET_CHECK_MAX] = {
	[VFD_RESET_CHECK_NONE] = "none",
	[VFD_RESET_CHECK_IDENTITY] = "identity",
	[VFD_RESET_CHECK_MSIX_MASK] = "msix-function-mask",
	[VFD_RESET_CHECK_MSI_MASK] = "msi-mask-bits",
	[VFD_RESET_CHECK_MSI_DATA] = "msi-data",
	[VFD_RESET_CHECK_OFF_VFIO] = "off-vfio",
};

const char *vfd_reset_check_to_string(vfd_reset_check c)
{
	return c >= 0 && c < _VFD_RESET_CHECK_MAX ? check_names[c] : NULL;
}

typedef vfd_reset_marker Marker;

static uint32_t get_le(const uint8_t *p, unsigned width)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, unsigned width, uint32_t v)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int config_path(const char *device, char path[VFD_PATH_MAX])
{
	if (!vfd_name_is_component(device))
		return -EINVAL;
	return vfd_pathf(path, VFD_PATH_MAX, "sys/bus/pci/devices/%s/config", device);
}

static int register_read(vfd_context *ctx, const char *path, unsigned offset, unsigned width,
			 uint32_t *ret)
{
	uint8_t b[4];
	int r;

	r = vfd_root_pread(ctx, path, b, width, offset);
	if (r < 0)
		return r;
	if ((unsigned)r != width)
		return -EIO;
	*ret = get_le(b, width);
	return 0;
}

static int register_write(vfd_context *ctx, const char *path, unsigned offset, unsigned width,
			  uint32_t v)
{
	uint8_t b[4];

	put_le(b, width, v);
	return vfd_root_pwrite(ctx, path, b, width, offset);
}

/*
 * The register to mark in cfg (CFG_SIZE bytes as read): MSI-X Function
 * Mask, MSI Mask Bits, MSI Message Data, whichever comes first in that
 * order; none while the interrupts are enabled (nobody should have them
 * now: a marker there would be live). 0 and *ret, or -ENOENT. A register
 * found holding the marker already is marked all the same: the last
 * user's value, which a reset clears; passing it by would let a function
 * whose reset does not take go on with its identity as the only check.
 */
int vfd_reset_marker_find(const uint8_t cfg[static CFG_SIZE], Marker *ret)
{
	unsigned pos, msi = 0, msix = 0;

	if (!(get_le(cfg + CFG_STATUS, 2) & CFG_STATUS_CAP_LIST))
		return -ENOENT;
	pos = cfg[CFG_CAP_POINTER] & ~3u;
	/* a list with a loop ends after as many entries as fit */
	for (unsigned n = 0; n < (CFG_SIZE - CFG_HEADER_SIZE) / 4 && pos >= CFG_HEADER_SIZE &&
	     pos <= CFG_SIZE - 4; n++) {
		if (cfg[pos] == CAP_ID_MSI && !msi)
			msi = pos;
		else if (cfg[pos] == CAP_ID_MSIX && !msix)
			msix = pos;
		pos = cfg[pos + 1] & ~3u;
	}

	if (msix) {
		uint32_t flags = get_le(cfg + msix + 2, 2);

		if (!(flags & MSIX_FLAGS_ENABLE)) {
			*ret = (Marker) { VFD_RESET_CHECK_MSIX_MASK, msix + 2, 2, flags | MSIX_FLAGS_MASKALL,
					  flags };
			return 0; /* already masked: a marker in place, the reset clears it */
		}
	}
	if (msi) {
		uint32_t flags = get_le(cfg + msi + 2, 2);
		unsigned data = msi + (flags & MSI_FLAGS_64BIT ? 12 : 8);

		if (flags & MSI_FLAGS_ENABLE || data + 2 > CFG_SIZE)
			return -ENOENT;
		if (flags & MSI_FLAGS_MASKBIT) {
			/* Mask Bits follows the data register (and its reserved half) */
			unsigned mask = data + 4;

			if (mask + 4 > CFG_SIZE)
				return -ENOENT;
			*ret = (Marker) { VFD_RESET_CHECK_MSI_MASK, mask, 4, 1, get_le(cfg + mask, 4) };
			return 0;
		}
		*ret = (Marker) { VFD_RESET_CHECK_MSI_DATA, data, 2, VFD_RESET_MSI_DATA_MARKER,
				  get_le(cfg + data, 2) };
		return 0;
	}
	return -ENOENT;
}

/* the marker is still there: the reset did not take */
bool vfd_reset_marker_still_set(const Marker *m, uint32_t v)
{
	if (m->check == VFD_RESET_CHECK_MSIX_MASK)
		return v & MSIX_FLAGS_MASKALL;
	if (m->check == VFD_RESET_CHECK_MSI_MASK)
		return v & 1;
	return v == m->value;
}

/*
 * The opens below pass no fault step (vfiod/fault.h) on purpose: the
 * fault sweep fails each host change of a VM's life in turn, and a failed
 * reset is no host change to undo but a quarantine that would end every
 * later claim of the sweep.
 */
static int cdev_open_bound(vfd_context *ctx, const char *device, int *ret_fd, int *ret_iommufd)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	_cleanup_close_ int fd = -1, iommufd = -1;
	_cleanup_free_ char *node = NULL;
	int r;

	r = vfd_vfio_cdev_path(ctx, "pci", device, &node);
	if (r < 0)
		return r;
	fd = vfd_root_open(ctx, node, O_RDWR | O_NOCTTY);
	if (fd < 0)
		return fd;
	/* the node is the device sysfs names, not a stale one of the same name */
	r = vfd_vfio_cdev_check_fd(ctx, "pci", device, fd);
	if (r < 0)
		return r;
	iommufd = vfd_root_open(ctx, "dev/iommu", O_RDWR | O_NOCTTY);
	if (iommufd < 0)
		return iommufd;
	bind.iommufd = iommufd;
	if (ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return negative_errno();
	*ret_fd = TAKE_FD(fd);
	*ret_iommufd = TAKE_FD(iommufd);
	return 0;
}

/*
 * A device descriptor of device, for the reset: through group_fd attached
 * to a type1 container of its own (*ret_aux: the container), else its cdev
 * bound to a fresh iommufd (*ret_aux: the iommufd).
 */
static int device_open(vfd_context *ctx, const char *device, int group_fd, vfd_op_error *error,
		       int *ret_device, int *ret_aux)
{
	_cleanup_close_ int aux = -1, fd = -1;
	int r;

	if (group_fd >= 0) {
		r = vfd_type1_container_open_unfaulted(ctx, &aux);
		if (r < 0)
			return vfd_op_error_set(error, r, device, "cannot open a VFIO container for the "
						"reset: %s", strerror(-r));
		r = vfd_type1_group_set_container(group_fd, aux);
		if (r >= 0) {
			r = vfd_type1_container_set_iommu(aux);
			if (r >= 0)
				r = vfd_type1_group_get_device_fd(group_fd, device, &fd);
			if (r < 0)
				(void) ioctl(group_fd, VFIO_GROUP_UNSET_CONTAINER);
		}
		if (r < 0)
			return vfd_op_error_set(error, r, device, "cannot open it through its group for "
						"the reset: %s", strerror(-r));
	} else {
		r = cdev_open_bound(ctx, device, &fd, &aux);
		if (r < 0)
			return vfd_op_error_set(error, r, device, "cannot open its VFIO cdev for the "
						"reset: %s", strerror(-r));
	}
	*ret_device = TAKE_FD(fd);
	*ret_aux = TAKE_FD(aux);
	return 0;
}

static int device_reset(int fd)
{
	int r;

	do
		r = ioctl(fd, VFIO_DEVICE_RESET);
	while (r < 0 && errno == EINTR);
	return r < 0 ? negative_errno() : 0;
}

int vfd_pci_reset_and_verify(vfd_context *ctx, const char *device, int group_fd, int iommu_group,
			     vfd_op_error *error, vfd_reset_check *ret_check)
{
	_cleanup_free_ char *methods = NULL, *driver = NULL;
	_cleanup_close_ int fd = -1, aux = -1, own_group = -1;
	char path[VFD_PATH_MAX], attr[VFD_PATH_MAX];
	uint8_t cfg[CFG_SIZE];
	uint32_t id_before, id_after, v;
	unsigned id_offset;
	Marker marker = { .check = VFD_RESET_CHECK_IDENTITY };
	int r, n;

	if (!ctx || !device || !ret_check)
		return -EINVAL;
	r = config_path(device, path);
	if (r < 0)
		return r;
	/* on no VFIO driver: nothing to open it with (see VFD_RESET_CHECK_OFF_VFIO) */
	r = vfd_pathf(attr, sizeof(attr), "sys/bus/pci/devices/%s/driver", device);
	if (r < 0)
		return r;
	r = vfd_root_readlink_basename(ctx, attr, &driver);
	if (r >= 0)
		r = vfd_driver_is_vfio(ctx, driver);
	if (r == -ENOENT || r == 0) {
		*ret_check = VFD_RESET_CHECK_OFF_VFIO;
		return 0;
	}
	if (r < 0)
		return vfd_op_error_set(error, r, device, "cannot read its driver: %s", strerror(-r));
	r = vfd_pathf(attr, sizeof(attr), "sys/bus/pci/devices/%s/reset_method", device);
	if (r < 0)
		return r;

	/* no method: the kernel hides reset_method, and VFIO could only say EINVAL */
	r = vfd_root_read_string(ctx, attr, &methods);
	if (r == -ENOENT || (r >= 0 && methods[0] == '\0')) {
		*ret_check = VFD_RESET_CHECK_NONE;
		return 0;
	}
	if (r < 0)
		return vfd_op_error_set(error, r, device, "cannot read its reset methods: %s",
					strerror(-r));

	if (group_fd < 0 && iommu_group >= 0) {
		/* the kernel keeps one file of a group: this open holds it exclusively */
		r = vfd_pathf(attr, sizeof(attr), "dev/vfio/%d", iommu_group);
		if (r < 0)
			return r;
		own_group = vfd_root_open(ctx, attr, O_RDWR | O_NOCTTY);
		if (own_group < 0 && own_group != -ENOENT)
			return vfd_op_error_set(error, own_group, device, "cannot hold group %d for the "
						"reset: %s", iommu_group, strerror(-own_group));
		group_fd = own_group; /* -1 without group nodes: the cdev */
	}

	/* opening it resets it already (vfio-pci's enable): the marker goes in after */
	r = device_open(ctx, device, group_fd, error, &fd, &aux);
	if (r < 0)
		return r;

	/* fewer than 256 bytes: no CAP_SYS_ADMIN, the capabilities are out of sight */
	n = vfd_root_pread(ctx, path, cfg, sizeof(cfg), 0);
	if (n < 0) {
		r = vfd_op_error_set(error, n, device, "cannot read its config space: %s", strerror(-n));
		goto out;
	}
	if (n < CFG_HEADER_SIZE) {
		r = vfd_op_error_set(error, -EIO, device, "its config space reads short (%d bytes)", n);
		goto out;
	}
	/*
	 * The identity: vendor and device id, or for an SR-IOV VF, whose ids
	 * read all ones in hardware (the kernel takes them from the PF's
	 * SR-IOV capability), the revision and class code, which a VF has.
	 */
	r = vfd_pathf(attr, sizeof(attr), "sys/bus/pci/devices/%s/physfn", device);
	if (r < 0)
		goto out;
	id_offset = vfd_root_exists(ctx, attr) > 0 ? ID_OFFSET_VF : 0;
	id_before = get_le(cfg + id_offset, 4);
	if (n == CFG_SIZE && vfd_reset_marker_find(cfg, &marker) >= 0) {
		r = register_write(ctx, path, marker.offset, marker.width, marker.value);
		if (r >= 0)
			r = register_read(ctx, path, marker.offset, marker.width, &v);
		/* a register that does not keep what is written proves nothing */
		if (r < 0 || !vfd_reset_marker_still_set(&marker, v))
			marker.check = VFD_RESET_CHECK_IDENTITY;
	} else
		marker.check = VFD_RESET_CHECK_IDENTITY;

	r = device_reset(fd);
	if (r < 0) {
		vfd_op_error_set(error, r, device, "the kernel's reset failed: %s (reset methods: %s)",
				 strerror(-r), methods);
		goto restore;
	}

	r = register_read(ctx, path, id_offset, 4, &id_after);
	if (r < 0) {
		vfd_op_error_set(error, r, device, "cannot read it back after the reset: %s", strerror(-r));
		goto out;
	}
	if (id_after != id_before || id_after == 0xffffffff ||
	    (id_offset == 0 && (id_after & 0xffff) == 0xffff)) {
		r = vfd_op_error_set(error, -ENODEV, device, "it answers %08x after the reset, %08x "
				     "before: it did not come back", id_after, id_before);
		goto out;
	}
	if (marker.check != VFD_RESET_CHECK_IDENTITY) {
		r = register_read(ctx, path, marker.offset, marker.width, &v);
		if (r < 0) {
			vfd_op_error_set(error, r, device, "cannot read its %s after the reset: %s",
					 vfd_reset_check_to_string(marker.check), strerror(-r));
			goto out;
		}
		if (vfd_reset_marker_still_set(&marker, v)) {
			r = vfd_op_error_set(error, -ENOTRECOVERABLE, device, "the reset did not take: "
					     "%s (config 0x%x) still holds vfiod's marker 0x%x "
					     "(reset methods: %s)",
					     vfd_reset_check_to_string(marker.check), marker.offset,
					     marker.value, methods);
			goto restore;
		}
	}
	*ret_check = marker.check;
	r = 0;
	goto out;

restore:
	/* the function stays as it was found, marker aside */
	if (marker.check != VFD_RESET_CHECK_IDENTITY)
		(void) register_write(ctx, path, marker.offset, marker.width, marker.original);
out:
	/* the device first: the group leaves the container only without it */
	if (fd >= 0)
		close(TAKE_FD(fd));
	if (group_fd >= 0)
		(void) ioctl(group_fd, VFIO_GROUP_UNSET_CONTAINER);
	return r;
}
