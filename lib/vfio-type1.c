/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The legacy VFIO container (type1 IOMMU backend), see lib/include/vfiod/vfio.h.
 * uAPI: include/uapi/linux/vfio.h; kernel side drivers/vfio/container.c,
 * group.c and vfio_iommu_type1.c (Linux 6.12).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "vfd-internal.h"
#include "vfiod/fault.h"
#include "vfiod/vfio-uapi.h"
#include "vfiod/vfio.h"
#include "vfiod/inventory.h"

#define VFIO_CONTAINER_NODE "dev/vfio/vfio"

static int ioctl_errno(int fd, unsigned long request, void *arg)
{
	int r;

	do
		r = ioctl(fd, request, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? negative_errno() : r;
}

int vfd_type1_container_open(vfd_context *ctx, int *ret_fd)
{
	int r;

	if (!ctx || !ret_fd)
		return -EINVAL;
	r = vfd_fault_step(ctx, "type1-container-open");
	if (r < 0)
		return r;
	return vfd_type1_container_open_unfaulted(ctx, ret_fd);
}

int vfd_type1_container_open_unfaulted(vfd_context *ctx, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (!ctx || !ret_fd)
		return -EINVAL;
	fd = vfd_root_open(ctx, VFIO_CONTAINER_NODE, O_RDWR | O_NOCTTY);
	if (fd == -ENOENT)
		return -ENODEV;
	if (fd < 0)
		return fd;

	r = ioctl_errno(fd, VFIO_GET_API_VERSION, NULL);
	if (r < 0)
		return r;
	if (r != VFIO_API_VERSION)
		return -EPROTO;

	/* VFIO_CHECK_EXTENSION takes the extension as the argument value itself */
	do
		r = ioctl(fd, VFIO_CHECK_EXTENSION, (unsigned long)VFIO_TYPE1v2_IOMMU);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return negative_errno();
	if (r == 0)
		return -ENOTSUP;

	*ret_fd = TAKE_FD(fd);
	return 0;
}

int vfd_vfio_group_open_exclusive(vfd_context *ctx, unsigned group, int *ret_fd)
{
	char path[32];
	int fd, r;

	if (!ctx || !ret_fd)
		return -EINVAL;
	r = vfd_pathf(path, sizeof(path), "dev/vfio/%u", group);
	if (r >= 0)
		r = vfd_fault_step(ctx, "type1-group-open");
	if (r < 0)
		return r;
	fd = vfd_root_open(ctx, path, O_RDWR | O_NOCTTY);
	if (fd == -ENOENT)
		return -ENODEV;
	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

int vfd_type1_group_open(vfd_context *ctx, unsigned group, int *ret_fd)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	_cleanup_close_ int fd = -1;
	int r;

	r = vfd_vfio_group_open_exclusive(ctx, group, &fd);
	if (r < 0)
		return r;

	r = ioctl_errno(fd, VFIO_GROUP_GET_STATUS, &status);
	if (r < 0)
		return r;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;

	*ret_fd = TAKE_FD(fd);
	return 0;
}

int vfd_type1_group_set_container(int group_fd, int container_fd)
{
	int r;

	if (group_fd < 0 || container_fd < 0)
		return -EBADF;
	/* the argument is a pointer to the container's descriptor */
	r = ioctl_errno(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd);
	return r < 0 ? r : 0;
}

int vfd_type1_container_set_iommu(int container_fd)
{
	int r;

	if (container_fd < 0)
		return -EBADF;
	do
		r = ioctl(container_fd, VFIO_SET_IOMMU, (unsigned long)VFIO_TYPE1v2_IOMMU);
	while (r < 0 && errno == EINTR);
	return r < 0 ? negative_errno() : 0;
}

int vfd_type1_group_get_device_fd(int group_fd, const char *device, int *ret_fd)
{
	int r;

	if (group_fd < 0)
		return -EBADF;
	if (!device || !ret_fd || !vfd_name_is_component(device))
		return -EINVAL;
	/* the argument is the device's name; the result is a new descriptor */
	r = ioctl_errno(group_fd, VFIO_GROUP_GET_DEVICE_FD, (void *)device);
	if (r < 0)
		return r;
	*ret_fd = r;
	return 0;
}

/* ---- the VM's container ---- */

typedef struct type1_group {
	unsigned id;
	int fd;
} type1_group;

struct vfd_type1 {
	vfd_context *ctx;
	int container_fd;
	type1_group *groups;
	size_t n_groups;
	bool iommu_set; /* VFIO_SET_IOMMU done: it needs the first group */
	bool sealed;    /* the container was handed out; no more attaching here */
};

int vfd_type1_new(vfd_context *ctx, vfd_type1 **ret)
{
	_cleanup_close_ int fd = -1;
	vfd_type1 *t;
	int r;

	if (!ctx || !ret)
		return -EINVAL;
	r = vfd_type1_container_open(ctx, &fd);
	if (r < 0)
		return r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ctx = ctx;
	t->container_fd = TAKE_FD(fd);
	*ret = t;
	return 0;
}

vfd_type1 *vfd_type1_free(vfd_type1 *t)
{
	size_t i;

	if (!t)
		return NULL;
	/* closing the last group descriptor detaches it from the container */
	for (i = 0; i < t->n_groups; i++)
		close(t->groups[i].fd);
	free(t->groups);
	if (t->container_fd >= 0)
		close(t->container_fd);
	free(t);
	return NULL;
}

int vfd_type1_group_fd(const vfd_type1 *t, unsigned group)
{
	size_t i;

	if (!t)
		return -EINVAL;
	for (i = 0; i < t->n_groups; i++)
		if (t->groups[i].id == group)
			return t->groups[i].fd;
	return -ENOENT;
}

int vfd_type1_add_group(vfd_type1 *t, unsigned group)
{
	_cleanup_close_ int fd = -1;
	type1_group *ng;
	int r;

	if (!t)
		return -EINVAL;
	if (vfd_type1_group_fd(t, group) >= 0)
		return 0;
	/* once the VMM may have mapped memory, only the VMM may attach */
	if (t->sealed)
		return -EPERM;

	ng = realloc(t->groups, (t->n_groups + 1) * sizeof(*ng));
	if (!ng)
		return -ENOMEM;
	t->groups = ng;

	r = vfd_type1_group_open(t->ctx, group, &fd);
	if (r < 0)
		return r;
	r = vfd_fault_step(t->ctx, "type1-set-container");
	if (r >= 0)
		r = vfd_type1_group_set_container(fd, t->container_fd);
	if (r < 0)
		return r;
	if (!t->iommu_set) {
		r = vfd_fault_step(t->ctx, "type1-set-iommu");
		if (r >= 0)
			r = vfd_type1_container_set_iommu(t->container_fd);
		if (r < 0) {
			/* leave the container as it was: no group, no IOMMU */
			(void)ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
			return r;
		}
		t->iommu_set = true;
	}

	t->groups[t->n_groups++] = (type1_group){ .id = group, .fd = TAKE_FD(fd) };
	return 0;
}

/* --- VM accounting: a group given back before the container is closed --- */
int vfd_type1_remove_group(vfd_type1 *t, unsigned group)
{
	size_t i;

	if (!t)
		return -EINVAL;
	for (i = 0; i < t->n_groups; i++)
		if (t->groups[i].id == group)
			break;
	if (i == t->n_groups)
		return -ENOENT;
	/*
	 * Closing our only descriptor of the group detaches it; a group fd
	 * kept across the unbind of its last device would name a dead
	 * vfio_group (ENODEV for every device opened from it later).
	 */
	close(t->groups[i].fd);
	memmove(&t->groups[i], &t->groups[i + 1], (t->n_groups - i - 1) * sizeof(*t->groups));
	t->n_groups--;
	/* the kernel drops the container's IOMMU with its last group */
	if (t->n_groups == 0)
		t->iommu_set = false;
	return 0;
}
int vfd_type1_add_group_detached(vfd_type1 *t, unsigned group)
{
	_cleanup_close_ int fd = -1;
	type1_group *ng;
	int r;

	if (!t)
		return -EINVAL;
	if (vfd_type1_group_fd(t, group) >= 0)
		return 0;
	ng = realloc(t->groups, (t->n_groups + 1) * sizeof(*ng));
	if (!ng)
		return -ENOMEM;
	t->groups = ng;
	r = vfd_type1_group_open(t->ctx, group, &fd);
	if (r < 0)
		return r;
	t->groups[t->n_groups++] = (type1_group){ .id = group, .fd = TAKE_FD(fd) };
	return 0;
}

int vfd_type1_group_in_container(int group_fd)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int r;

	r = ioctl_errno(group_fd, VFIO_GROUP_GET_STATUS, &status);
	if (r < 0)
		return r;
	return !!(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
}
/* --- end VM accounting --- */

int vfd_type1_container_fd(const vfd_type1 *t)
{
	return t ? t->container_fd : -EINVAL;
}

void vfd_type1_seal(vfd_type1 *t)
{
	if (t)
		t->sealed = true;
}

bool vfd_type1_is_sealed(const vfd_type1 *t)
{
	return t && t->sealed;
}

/* ---- descriptors taken back after a restart ---- */

int vfd_fd_check_chr_rw(int fd, dev_t want)
{
	struct stat st;
	int flags;

	if (fd < 0)
		return -EBADF;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return negative_errno();
	if ((flags & O_ACCMODE) != O_RDWR || (flags & O_PATH))
		return -EACCES;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISCHR(st.st_mode) || st.st_rdev != want)
		return -ENOTTY;
	return 0;
}

int vfd_vfio_node_check_fd(vfd_context *ctx, const char *node, int fd)
{
	_cleanup_close_ int path_fd = -1;
	struct stat st;

	if (!ctx || !node)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	/* O_PATH: the node's device number, without opening the device */
	path_fd = vfd_root_open(ctx, node, O_PATH);
	if (path_fd < 0)
		return path_fd == -ENOENT ? -ENOTTY : path_fd;
	if (fstat(path_fd, &st) < 0)
		return negative_errno();
	if (!S_ISCHR(st.st_mode))
		return -ENOTTY;
	return vfd_fd_check_chr_rw(fd, st.st_rdev);
}

int vfd_type1_adopt(vfd_context *ctx, int container_fd, vfd_type1 **ret)
{
	vfd_type1 *t;
	int r;

	if (!ctx || !ret)
		return -EINVAL;
	r = vfd_vfio_node_check_fd(ctx, VFIO_CONTAINER_NODE, container_fd);
	if (r < 0)
		return r;
	r = ioctl_errno(container_fd, VFIO_GET_API_VERSION, NULL);
	if (r < 0)
		return r;
	if (r != VFIO_API_VERSION)
		return -EPROTO;
	do
		r = ioctl(container_fd, VFIO_CHECK_EXTENSION, (unsigned long)VFIO_TYPE1v2_IOMMU);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return negative_errno();
	if (r == 0)
		return -ENOTSUP;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ctx = ctx;
	t->container_fd = container_fd;
	*ret = t;
	return 0;
}

int vfd_type1_adopt_group(vfd_type1 *t, unsigned group, int group_fd)
{
	type1_group *ng;
	char node[32];
	int r;

	if (!t)
		return -EINVAL;
	if (vfd_type1_group_fd(t, group) >= 0)
		return -EEXIST;
	r = vfd_pathf(node, sizeof(node), "dev/vfio/%u", group);
	if (r < 0)
		return r;
	r = vfd_vfio_node_check_fd(t->ctx, node, group_fd);
	if (r < 0)
		return r;
	r = vfd_type1_group_in_container(group_fd);
	if (r < 0)
		return r;
	ng = realloc(t->groups, (t->n_groups + 1) * sizeof(*ng));
	if (!ng)
		return -ENOMEM;
	t->groups = ng;
	/* vfiod sets the IOMMU type right after attaching the first group */
	if (r > 0)
		t->iommu_set = true;
	t->groups[t->n_groups++] = (type1_group){ .id = group, .fd = group_fd };
	return 0;
}

/* ---- group node ownership ---- */

static int open_group_node(vfd_context *ctx, unsigned group, struct stat *ret_st)
{
	_cleanup_close_ int fd = -1;
	char path[32];
	int r;

	r = vfd_pathf(path, sizeof(path), "dev/vfio/%u", group);
	if (r < 0)
		return r;
	/* O_PATH: the ownership of the node, without opening the group */
	fd = vfd_root_open(ctx, path, O_PATH);
	if (fd == -ENOENT)
		return -ENODEV;
	if (fd < 0)
		return fd;
	if (fstat(fd, ret_st) < 0)
		return negative_errno();
	if (!S_ISCHR(ret_st->st_mode))
		return -ENOTTY;
	return TAKE_FD(fd);
}

int vfd_type1_group_grant(vfd_context *ctx, unsigned group, uid_t uid, gid_t gid,
			  vfd_node_owner *ret_previous)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (!ctx || !ret_previous)
		return -EINVAL;
	fd = open_group_node(ctx, group, &st);
	if (fd < 0)
		return fd;
	r = vfd_fault_step(ctx, "group-grant");
	if (r < 0)
		return r;
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		return negative_errno();
	*ret_previous = (vfd_node_owner){ .uid = st.st_uid, .gid = st.st_gid };
	return 0;
}

int vfd_type1_group_revoke(vfd_context *ctx, unsigned group, const vfd_node_owner *previous)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (!ctx || !previous)
		return -EINVAL;
	fd = open_group_node(ctx, group, &st);
	if (fd < 0)
		return fd;
	r = vfd_fault_step(ctx, "group-revoke");
	if (r < 0)
		return r;
	if (fchownat(fd, "", previous->uid, previous->gid, AT_EMPTY_PATH) < 0)
		return negative_errno();
	return 0;
}
