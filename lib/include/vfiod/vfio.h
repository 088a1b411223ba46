/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Opening VFIO for a VM: the two IOMMU backends.
 *
 * type1 (lib/vfio-type1.c), the legacy container: vfiod opens
 * /dev/vfio/vfio and the VM's groups /dev/vfio/<N>, attaches the groups
 * and sets the type1v2 IOMMU, then hands the VMM the container and the
 * group or device descriptors. For VMMs that open groups themselves
 * (QEMU), vfiod only gives the VM's user the group nodes.
 *
 * The type1 attach rule: when a group joins a container that already
 * has DMA mappings, the kernel replays them (vfio_iommu_replay()) pinning
 * with the attaching process's mm while charging the mapper's. A group
 * must therefore never be attached by vfiod once the VMM may have mapped
 * anything: a vfd_type1 is sealed when its container is handed out, and
 * after that vfd_type1_add_group() refuses; the VMM attaches later groups
 * itself.
 *
 * iommufd (lib/vfio-iommufd.c), kernels with /dev/iommu: vfiod opens
 * /dev/iommu for the VM and switches it to per-process memory accounting
 * (IOMMU_OPTION_RLIMIT_MODE = 1) before any object exists, so the VMM's
 * pins are charged to its own mm and checked against its own
 * RLIMIT_MEMLOCK rather than summed over every VM of one user. It opens
 * the VFIO device cdev of each device (/dev/vfio/devices/vfioN, named by
 * the device's sysfs vfio-dev/ directory). The VMM binds the device fds to
 * the iommufd itself (QEMU: -object iommufd,id=ID,fd=N and
 * -device vfio-pci,iommufd=ID,fd=M); vfiod keeps its own descriptors.
 *
 * Every node is opened through the root layer (vfd_root_open), so tests
 * can point a context at a fixture tree. The ioctl wrappers are thin:
 * they return the ioctl's negative errno.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "vfiod/inventory.h"

/* ---- type1: single steps (lib/vfio-type1.c) ---- */

/*
 * Opens dev/vfio/vfio and checks the API version and the type1v2
 * extension: -EPROTO for another API version, -ENOTSUP without type1v2.
 */
int vfd_type1_container_open(vfd_context *ctx, int *ret_fd);
/* the same without the fault step "type1-container-open" (the device reset's: no host change) */
int vfd_type1_container_open_unfaulted(vfd_context *ctx, int *ret_fd);
/*
 * Opens dev/vfio/<group> and checks VFIO_GROUP_FLAGS_VIABLE: -EBUSY when a
 * member is still bound to a host driver, -ENODEV when the node is missing
 * (group not bound to VFIO). The kernel itself answers -EBUSY when the
 * group is open elsewhere.
 */
int vfd_type1_group_open(vfd_context *ctx, unsigned group, int *ret_fd);
/*
 * Opens dev/vfio/<group> with no check at all, for the proof that nobody
 * holds the group (daemon/device-proof.c). The kernel keeps one file of a
 * group at a time and refuses another open (-EBUSY) while the group is
 * open anywhere: a device descriptor taken from the group holds the
 * group's file, and a device cdev bound to an iommufd blocks the group
 * too. -ENODEV: no node (the group is not on VFIO, or the kernel has no
 * VFIO_GROUP).
 */
int vfd_vfio_group_open_exclusive(vfd_context *ctx, unsigned group, int *ret_fd);
int vfd_type1_group_set_container(int group_fd, int container_fd);
/* VFIO_SET_IOMMU with VFIO_TYPE1v2_IOMMU; needs a group attached first */
int vfd_type1_container_set_iommu(int container_fd);
/* VFIO_GROUP_GET_DEVICE_FD; the group must be attached and the IOMMU set */
int vfd_type1_group_get_device_fd(int group_fd, const char *device, int *ret_fd);

/* ---- type1: the VM's container, enforcing the attach rule ---- */

typedef struct vfd_type1 vfd_type1;

int vfd_type1_new(vfd_context *ctx, vfd_type1 **ret);
vfd_type1 *vfd_type1_free(vfd_type1 *t);
VFD_DEFINE_CLEANUP(vfd_type1, vfd_type1_free)
/*
 * Opens group, attaches it and, for the first group, sets the IOMMU type.
 * Adding a group twice is a no-op. -EPERM once sealed.
 */
int vfd_type1_add_group(vfd_type1 *t, unsigned group);
/*
 * VM accounting: closes vfiod's descriptor of group, which detaches it,
 * for a device given back (no device descriptor of the group may be open).
 * -ENOENT when the group is not in the container.
 */
int vfd_type1_remove_group(vfd_type1 *t, unsigned group);
/*
 * VM accounting, type1 hot-add: opens group for the VM without attaching
 * it (the VMM attaches it to its container itself: the attach rule).
 */
int vfd_type1_add_group_detached(vfd_type1 *t, unsigned group);
/*
 * 1 when the group is in a container (VFIO_GROUP_GET_STATUS). 0 proves no
 * device descriptor of the group is open: VFIO_GROUP_UNSET_CONTAINER
 * refuses while one is, and none can be opened without a container.
 */
int vfd_type1_group_in_container(int group_fd);
int vfd_type1_container_fd(const vfd_type1 *t);
/* -ENOENT when group was not added */
int vfd_type1_group_fd(const vfd_type1 *t, unsigned group);
/* Call before handing the container to the VMM (see the attach rule). */
void vfd_type1_seal(vfd_type1 *t);
bool vfd_type1_is_sealed(const vfd_type1 *t);

/*
 * Descriptors taken back after a restart (the daemon's fd store,
 * daemon/fdstore.h): each is untrusted until checked here. 0 when fd is
 * an open read-write file of the character device at the root-relative
 * node (dev/iommu, dev/vfio/vfio, dev/vfio/<N>); -EBADF not open,
 * -EACCES not read-write, -ENOTTY another file (or the node is missing).
 */
int vfd_vfio_node_check_fd(vfd_context *ctx, const char *node, int fd);
/*
 * A vfd_type1 around a container taken back (checked: dev/vfio/vfio, the
 * VFIO API version, type1v2). Takes container_fd on success.
 */
int vfd_type1_adopt(vfd_context *ctx, int container_fd, vfd_type1 **ret);
/*
 * Group taken back into t as it is, attached or not (checked:
 * dev/vfio/<group>). An attached group means the IOMMU type was set.
 * Takes group_fd on success; -EEXIST when t has the group already.
 */
int vfd_type1_adopt_group(vfd_type1 *t, unsigned group, int group_fd);

/* ---- type1: group node access for VMMs that open groups themselves ---- */

typedef struct vfd_node_owner {
	uid_t uid;
	gid_t gid;
} vfd_node_owner;

/*
 * Gives dev/vfio/<group> to uid:gid (the node keeps its mode, 0600 from
 * the kernel) and returns the previous owner for vfd_type1_group_revoke().
 * -ENODEV when the node is missing, -ENOTTY when it is not a character
 * device.
 */
int vfd_type1_group_grant(vfd_context *ctx, unsigned group, uid_t uid, gid_t gid,
			  vfd_node_owner *ret_previous);
int vfd_type1_group_revoke(vfd_context *ctx, unsigned group, const vfd_node_owner *previous);

/* ---- iommufd (lib/vfio-iommufd.c) ---- */

/* 1 when dev/iommu exists, 0 when not */
int vfd_iommufd_available(vfd_context *ctx);
/*
 * Opens dev/iommu and sets per-process accounting on it (needs
 * CAP_SYS_RESOURCE). -ENODEV without iommufd.
 */
int vfd_iommufd_open(vfd_context *ctx, int *ret_fd);
/* IOMMU_OPTION_RLIMIT_MODE; the kernel answers -EBUSY once objects exist */
int vfd_iommufd_set_rlimit_mode(int iommufd, bool per_process);
int vfd_iommufd_get_rlimit_mode(int iommufd, bool *ret_per_process);

/*
 * The device cdev of bus/device ("pci", "0000:01:00.0"; "mdev", UUID) as a
 * root-relative path "dev/vfio/devices/vfioN", from its sysfs vfio-dev/
 * directory. -ENODEV when the device has no cdev (not bound to a VFIO
 * driver, or a kernel without VFIO_DEVICE_CDEV).
 */
int vfd_vfio_cdev_path(vfd_context *ctx, const char *bus, const char *device, char **ret);
/*
 * A descriptor taken back after a restart: 0 when fd is an open
 * read-write file of the cdev sysfs names for bus/device (vfio-dev/vfioN/dev);
 * -ENODEV, -EBADF, -EACCES, -ENOTTY otherwise.
 */
int vfd_vfio_cdev_check_fd(vfd_context *ctx, const char *bus, const char *device, int fd);
/*
 * Opens the cdev read-write and checks that the node is the character
 * device sysfs names (vfio-dev/vfioN/dev), -ENODEV otherwise.
 */
int vfd_vfio_cdev_open(vfd_context *ctx, const char *bus, const char *device, int *ret_fd);
/*
 * Whether the cdev file fd is bound to an iommufd (VFIO_DEVICE_BIND_IOMMUFD
 * was done on this very file): 1 bound, 0 not, a negative errno when the
 * kernel's answer says neither. The kernel refuses every device ioctl but
 * the bind with -EINVAL on a file not bound yet; asked is a PROBE of the
 * migration feature, which the VFIO core answers itself on a bound file
 * (0, or -ENOTTY for a device that does not migrate), whatever the driver.
 * A bound file stays bound until it is released: there is no unbind.
 */
int vfd_vfio_cdev_is_bound(int fd);
/*
 * VFIO_DEVICE_BIND_IOMMUFD of the cdev file fd to iommufd (the device is
 * opened: vfio-pci enables and resets it). -EINVAL: this file is bound
 * already, or another file of the device is (the kernel lets one cdev
 * file of a device be bound at a time); -EBUSY: the device's group is
 * open through /dev/vfio/N.
 */
int vfd_vfio_cdev_bind(vfd_context *ctx, int fd, int iommufd);
