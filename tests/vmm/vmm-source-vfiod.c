/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Descriptors from vfiod: the VMM of a VM registered with vfiod asks for
 * them over D-Bus (org.vfiod1.VM.GetFds) instead of opening /dev itself.
 * vfiod checks that the caller is the VM's registered VMM (or root);
 * vfd-vmm asks after dropping its privileges, so only the first holds.
 *
 * type1: vfiod hands over the container with every group of the VM
 * attached and the type1v2 IOMMU set, the group descriptors, and a
 * device descriptor per device; the VMM only maps memory.
 * iommufd: vfiod hands over the iommufd (per-process accounting already
 * set) and each device's cdev; the VMM binds and attaches them itself,
 * as QEMU does with -object iommufd,fd=N and -device vfio-pci,fd=M.
 *
 * The descriptors of the VM's other devices (an mdev next to the device
 * the VMM drives) are kept open until exit, as a VMM using them would.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vfiod/vfio-uapi.h"
#include "vmm.h"
#include "vfd-bus.h"

#define HELD_MAX 16

static int held[HELD_MAX];
static size_t n_held;

/* our own copy: the message's descriptors close with the message */
static int dup_fd(int fd)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	return n < 0 ? negative_errno() : n;
}

static int hold(int fd)
{
	int n;

	if (n_held == HELD_MAX)
		return -ENOSPC;
	n = dup_fd(fd);
	if (n < 0)
		return n;
	held[n_held++] = n;
	return 0;
}

static const char *vfiod_vm; /* the VM of vmm_source_open_vfiod(), for the release step */

void vmm_source_vfiod_set_vm(const char *vm)
{
	vfiod_vm = vm;
}

/* vm-security-busy-device: the VMM asks for its own release ("release" step, vmm-hold.c) */
int vmm_source_vfiod_release(void)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *path = NULL;
	const char *state;
	int r;

	if (!vfiod_vm) {
		printf("release err=EINVAL not a VM of vfiod\n");
		return -EINVAL;
	}
	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = vmm_vfiod_vm(bus, vfiod_vm, &path);
	if (r >= 0)
		r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, "Release", &error,
				       &reply, NULL);
	if (r < 0) {
		const char *n = strerrorname_np(-r);

		printf("release err=%s name=%s\n", n ? n : "EUNKNOWN",
		       error.name ? error.name : "none");
		fprintf(stderr, "vfd-vmm: Release: %s\n", error.message ? error.message : strerror(-r));
		return r;
	}
	r = sd_bus_message_read(reply, "s", &state);
	if (r < 0)
		return r;
	printf("release ok state=%s\n", state);
	return 0;
}

int vmm_source_open_vfiod(const char *vm, vmm_backend backend, const char *device,
			  int *ret_iommu, int *ret_group, int *ret_device)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_close_ int iommu = -1, group = -1, dev = -1;
	_cleanup_free_ char *path = NULL;
	int device_group = -1, fd, r;
	const char *name;
	uint32_t gid;
	int32_t g;

	vfiod_vm = vm;
	r = sd_bus_open_system(&bus);
	if (r < 0)
		return r;
	r = vmm_vfiod_vm(bus, vm, &path);
	if (r < 0)
		return r;

	r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, "GetFds", &error, &reply, NULL);
	if (r < 0) {
		fprintf(stderr, "vfd-vmm: GetFds: %s (%s)\n", error.message ? error.message : strerror(-r),
			error.name ? error.name : "");
		return r;
	}

	r = sd_bus_message_read(reply, "h", &fd);
	if (r < 0)
		return r;
	iommu = dup_fd(fd);
	if (iommu < 0)
		return iommu;

	/* devices come after the groups: read them first to know the device's group */
	r = sd_bus_message_skip(reply, "a(uh)");
	if (r < 0)
		return r;
	r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(sih)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(reply, "(sih)", &name, &g, &fd)) > 0) {
		if (strcmp(name, device) == 0) {
			dev = dup_fd(fd);
			if (dev < 0)
				return dev;
			device_group = g;
		} else {
			r = hold(fd);
			if (r < 0)
				return r;
		}
	}
	if (r < 0)
		return r;
	if (dev < 0)
		return -ENODEV; /* not a device of this VM */

	r = sd_bus_message_rewind(reply, true);
	if (r >= 0)
		r = sd_bus_message_skip(reply, "h");
	if (r >= 0)
		r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(uh)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(reply, "(uh)", &gid, &fd)) > 0) {
		if ((int) gid == device_group && group < 0) {
			group = dup_fd(fd);
			if (group < 0)
				return group;
		} else {
			r = hold(fd);
			if (r < 0)
				return r;
		}
	}
	if (r < 0)
		return r;
	if (backend == VMM_BACKEND_TYPE1 && group < 0)
		return -EPROTO; /* a type1 VM without the device's group */

	*ret_iommu = TAKE_FD(iommu);
	*ret_group = TAKE_FD(group);
	*ret_device = TAKE_FD(dev);
	return 0;
}

/*
 * --viommu (vmm-spaces.c): a device the VMM takes again with GetDeviceFds
 * to give it an address space of its own. The copies held since GetFds
 * name the same open files (vfiod hands out duplicates of its own), and
 * an iommufd cdev is only released, unbound and detached, when its last
 * descriptor closes: so the held ones go, and the VMM keeps one of each.
 * A group node or device cdev is one character device: same st_rdev.
 */
void vmm_source_vfiod_release_same(int fd)
{
	struct stat st, held_st;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode))
		return;
	for (size_t i = 0; i < n_held;) {
		if (fstat(held[i], &held_st) == 0 && S_ISCHR(held_st.st_mode) &&
		    held_st.st_rdev == st.st_rdev) {
			close(held[i]);
			held[i] = held[--n_held];
		} else
			i++;
	}
}

int vmm_type1_adopt(vmm_iommu *io, int container, int group, int device)
{
	_cleanup_close_ int container_fd = container, group_fd = group, device_fd = device;
	struct vfio_group_status status = { .argsz = sizeof(status) };

	/* vfiod attached the group and set the IOMMU: check, do not redo */
	if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status) < 0)
		return negative_errno();
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;
	if (!(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
		return -ENOTCONN;

	*io = (vmm_iommu) VMM_IOMMU_INIT;
	io->backend = VMM_BACKEND_TYPE1;
	io->container = TAKE_FD(container_fd);
	io->group = TAKE_FD(group_fd);
	io->device = TAKE_FD(device_fd);
	return 0;
}
