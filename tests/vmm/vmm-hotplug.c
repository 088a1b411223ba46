/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VM accounting helper's addition to vfd-vmm: device hotplug with vfiod
 * (the vm-reaccount-* cases). Steps, each answered with one line:
 *
 *   hotadd VM DEVICE   ask vfiod for DEVICE's descriptors (VM.GetDeviceFds);
 *                      type1: attach its group to our container
 *                      (VFIO_GROUP_SET_CONTAINER: the attach rule wants the
 *                      VMM's own mm for the replay of our mappings) and open
 *                      the device; iommufd: bind the cdev and attach it to
 *                      our IOAS. Then VM.ConfirmAttached.
 *   hotremove DEVICE   type1: close the device, then
 *                      VFIO_GROUP_UNSET_CONTAINER (refused by the kernel
 *                      while a device of the group is open) and close the
 *                      group; iommufd: close the device's cdev (the detach
 *                      from the IOAS happens on close); works for the
 *                      device given at setup as well.
 *
 * The hot-added devices are kept here until removed or the VMM exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vfiod/vfio-uapi.h"
#include "vmm.h"
#include "vfd-bus.h"

#define HOTPLUG_MAX 8

typedef struct hot_device {
	char name[64];
	int group;  /* type1 */
	int device;
} hot_device;

static hot_device hot[HOTPLUG_MAX];
static size_t n_hot;

static int reply(const char *step, int r, const char *what)
{
	if (r >= 0)
		printf("%s ok\n", step);
	else {
		const char *n = strerrorname_np(-r);

		printf("%s err=%s %s\n", step, n ? n : "EUNKNOWN", what);
	}
	fflush(stdout);
	return r < 0 ? r : 0;
}

static int dup_fd(int fd)
{
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	return n < 0 ? negative_errno() : n;
}

static int vm_call(sd_bus *bus, const char *vm, const char *member, sd_bus_message **ret,
		   const char *device)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	r = vmm_vfiod_vm(bus, vm, &path);
	if (r < 0)
		return r;
	r = sd_bus_call_method(bus, VFD_BUS_NAME, path, VFD_VM_INTERFACE, member, &error, ret, "s",
			       device);
	if (r >= 0)
		return r;
	fprintf(stderr, "vfd-vmm: %s: %s (%s)\n", member, error.message ? error.message : strerror(-r),
		error.name ? error.name : "");
	return r;
}

/* the group (type1) and the device descriptor of a GetDeviceFds reply; -1 when absent */
static int read_fds(sd_bus_message *m, int *ret_group, int *ret_device)
{
	const char *name;
	uint32_t g;
	int32_t gi;
	int fd, r;

	*ret_group = *ret_device = -1;
	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(uh)");
	while (r >= 0 && (r = sd_bus_message_read(m, "(uh)", &g, &fd)) > 0)
		if (*ret_group < 0 && (*ret_group = dup_fd(fd)) < 0)
			return *ret_group;
	if (r >= 0)
		r = sd_bus_message_exit_container(m);
	if (r >= 0)
		r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "(sih)");
	while (r >= 0 && (r = sd_bus_message_read(m, "(sih)", &name, &gi, &fd)) > 0)
		if (*ret_device < 0 && (*ret_device = dup_fd(fd)) < 0)
			return *ret_device;
	return r < 0 ? r : 0;
}

static int step_hotadd(vmm_iommu *io, const char *vm, const char *device)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_close_ int group = -1, dev = -1;
	hot_device *h;
	int r;

	if (n_hot == HOTPLUG_MAX)
		return reply("hotadd", -ENOSPC, "too many hot-added devices");
	r = sd_bus_open_system(&bus);
	if (r < 0)
		return reply("hotadd", r, "stage=bus");
	r = vm_call(bus, vm, "GetDeviceFds", &m, device);
	if (r < 0)
		return reply("hotadd", r, "stage=GetDeviceFds");
	r = read_fds(m, &group, &dev);
	if (r < 0)
		return reply("hotadd", r, "stage=read");

	if (vmm_spaces_enabled()) { /* --viommu: an address space of its own (vmm-spaces.c) */
		r = vmm_space_attach(io, device, group, &dev);
		if (r < 0)
			return reply("hotadd", r, "stage=own-space");
	} else if (io->backend == VMM_BACKEND_TYPE1) {
		if (group < 0)
			return reply("hotadd", -EPROTO, "stage=no-group");
		if (dev < 0) {
			/* an unattached group: ours to attach, with our mm */
			if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &io->container) < 0)
				return reply("hotadd", negative_errno(), "stage=set-container");
			dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, device);
			if (dev < 0)
				return reply("hotadd", negative_errno(), "stage=get-device-fd");
		}
	} else {
		struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = io->iommufd };
		struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = io->ioas_id };

		if (dev < 0)
			return reply("hotadd", -EPROTO, "stage=no-device");
		if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
			return reply("hotadd", negative_errno(), "stage=bind");
		if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0)
			return reply("hotadd", negative_errno(), "stage=attach");
	}

	sd_bus_message_unref(m);
	m = NULL;
	r = vm_call(bus, vm, "ConfirmAttached", &m, device);
	if (r < 0)
		return reply("hotadd", r, "stage=ConfirmAttached");

	h = &hot[n_hot++];
	snprintf(h->name, sizeof(h->name), "%s", device);
	h->group = TAKE_FD(group);
	h->device = TAKE_FD(dev);
	return reply("hotadd", 0, NULL);
}

static int detach(int *group, int *device)
{
	if (*device >= 0)
		close(*device);
	*device = -1;
	if (*group >= 0) {
		if (ioctl(*group, VFIO_GROUP_UNSET_CONTAINER) < 0)
			return negative_errno();
		close(*group);
		*group = -1;
	}
	return 0;
}

/*
 * iommufd: closing the device's cdev is the whole hot-remove. The release
 * of our file detaches the device from its IOAS (or HWPT) and unbinds it
 * from our iommufd; the IOAS keeps its mappings, and pins them only while
 * a domain or an access still uses them.
 */
static int step_hotremove_iommufd(vmm_iommu *io, const char *device, bool is_setup_device)
{
	int *fd = NULL;

	/* the setup device, unless it was removed and hot-added again */
	if (is_setup_device && io->device >= 0)
		fd = &io->device;
	for (size_t i = 0; !fd && i < n_hot; i++)
		if (strcmp(hot[i].name, device) == 0)
			fd = &hot[i].device;
	if (!fd)
		return reply("hotremove", -ENODEV, "not a device of this VMM");
	if (*fd < 0)
		return reply("hotremove", -EBADF, "closed already");
	close(*fd);
	*fd = -1;
	vmm_space_forget(device); /* --viommu: its own IOAS, empty now */
	for (size_t i = 0; i < n_hot; i++)
		if (strcmp(hot[i].name, device) == 0) {
			hot[i] = hot[--n_hot];
			break;
		}
	return reply("hotremove", 0, NULL);
}

static int step_hotremove(vmm_iommu *io, const char *device, bool is_setup_device)
{
	int r;

	if (io->backend == VMM_BACKEND_IOMMUFD)
		return step_hotremove_iommufd(io, device, is_setup_device);
	if (is_setup_device)
		return reply("hotremove", detach(&io->group, &io->device), "stage=unset-container");
	for (size_t i = 0; i < n_hot; i++)
		if (strcmp(hot[i].name, device) == 0) {
			r = detach(&hot[i].group, &hot[i].device);
			if (r < 0)
				return reply("hotremove", r, "stage=unset-container");
			vmm_space_forget(device); /* --viommu: its container, empty now */
			hot[i] = hot[--n_hot];
			return reply("hotremove", 0, NULL);
		}
	return reply("hotremove", -ENODEV, "not a hot-added device");
}

int vmm_hotplug_step(vmm_iommu *io, const char *setup_device, char **argv, int argc)
{
	if (strcmp(argv[0], "hotadd") == 0) {
		if (argc != 3)
			return reply("hotadd", -EINVAL, "usage: hotadd VM DEVICE");
		return step_hotadd(io, argv[1], argv[2]);
	}
	if (argc != 2)
		return reply("hotremove", -EINVAL, "usage: hotremove DEVICE");
	return step_hotremove(io, argv[1], setup_device && strcmp(setup_device, argv[1]) == 0);
}
