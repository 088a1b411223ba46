/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "bus-errors.h"

/*
 * One errno per name, each distinct, so the mapping works both ways. The
 * errnos are what the core reports for "not found": libvfiod returns
 * -ENODEV for a missing PCI function and -ENOENT for a missing IOMMU
 * group; the manager returns -ENXIO for an unknown mdev parent.
 */
const sd_bus_error_map vfd_bus_errors[] = {
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_SUCH_DEVICE, ENODEV),
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_SUCH_GROUP,  ENOENT),
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_SUCH_PARENT, ENXIO),
	/*
	 * VM ownership. The errnos are lib/include/vfiod/bind.h's and
	 * lib/include/vfiod/mdev-ctl.h's where those are distinct; the core
	 * translates the ones that would collide (a missing mdev type is
	 * -ENOENT in the library, a function without IOMMU group -ENXIO).
	 */
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_SUCH_VM,             ENOMEDIUM),
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_SUCH_MDEV_TYPE,      EDOM),
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_IOMMU_GROUP,         ENOTBLK),
	SD_BUS_ERROR_MAP(VFD_ERROR_VM_EXISTS,              ENOTUNIQ),
	SD_BUS_ERROR_MAP(VFD_ERROR_DEVICE_BUSY,            EBUSY),
	SD_BUS_ERROR_MAP(VFD_ERROR_NOT_ENDPOINT,           ENOTSUP),
	SD_BUS_ERROR_MAP(VFD_ERROR_OWNED_BY_OTHER_VM,      EADDRINUSE),
	SD_BUS_ERROR_MAP(VFD_ERROR_MDEV_CLAIMED,           EALREADY),
	SD_BUS_ERROR_MAP(VFD_ERROR_ALREADY_IN_VM,          EISCONN),
	SD_BUS_ERROR_MAP(VFD_ERROR_MDEV_EXISTS,            EEXIST),
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_AVAILABLE_INSTANCES, ENOSPC),
	SD_BUS_ERROR_MAP(VFD_ERROR_DRIVER_NOT_LOADED,      ENOPKG),
	SD_BUS_ERROR_MAP(VFD_ERROR_BACKEND_UNAVAILABLE,    EPROTONOSUPPORT),
	SD_BUS_ERROR_MAP(VFD_ERROR_NOT_VMM,                EPERM),
	SD_BUS_ERROR_MAP(VFD_ERROR_VMM_EXITED,             ESRCH),
	SD_BUS_ERROR_MAP(VFD_ERROR_CONTAINER_SEALED,       EROFS),
	SD_BUS_ERROR_MAP(VFD_ERROR_VM_NOT_ACTIVE,          ESHUTDOWN),
	SD_BUS_ERROR_MAP(VFD_ERROR_NOT_BOUND,              ENOLINK),
	SD_BUS_ERROR_MAP(VFD_ERROR_HOST_CHANGED,           EAGAIN),
	SD_BUS_ERROR_MAP(VFD_ERROR_NOT_SUPPORTED,          EMEDIUMTYPE),
	/* a driver named for a device is not a VFIO driver for it (vfio-variant.h) */
	SD_BUS_ERROR_MAP(VFD_ERROR_NOT_VFIO_DRIVER,        ENOEXEC),
	/* VM accounting: the limit a device needs is above the VM's cap */
	SD_BUS_ERROR_MAP(VFD_ERROR_MEMLOCK_CAP_EXCEEDED,   EDQUOT),
	/* a type1 VM predicted over vfio_iommu_type1's dma_entry_limit */
	SD_BUS_ERROR_MAP(VFD_ERROR_DMA_ENTRY_LIMIT,        EXFULL),
	/* type1 hot-add: ConfirmAttached of a group that is in no container */
	SD_BUS_ERROR_MAP(VFD_ERROR_NOT_ATTACHED,           ENOTCONN),
	/* AttachVMM on a VM that has its VMM (not "prepared") */
	SD_BUS_ERROR_MAP(VFD_ERROR_VMM_ATTACHED,           EBADFD),
	/* limits a call meets before authorization (bus-limits.h) */
	SD_BUS_ERROR_MAP(VFD_ERROR_ARGUMENT_TOO_LARGE,     E2BIG),
	SD_BUS_ERROR_MAP(VFD_ERROR_TOO_MANY_REQUESTS,      ETOOMANYREFS),
	/* VM.ChangeProcess: a move under way, none under way, the kernel did not move the charge */
	SD_BUS_ERROR_MAP(VFD_ERROR_PROCESS_CHANGE_PENDING, EINPROGRESS),
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_PROCESS_CHANGE,      ENOMSG),
	SD_BUS_ERROR_MAP(VFD_ERROR_CHARGE_NOT_MOVED,       EXDEV),
	/* VM.CreateVgpu (daemon/vgpu.h): no VF offers the type, none is free, the driver refused */
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_SUCH_VGPU_TYPE,      ECHRNG),
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_FREE_VF,             ENOSR),
	SD_BUS_ERROR_MAP(VFD_ERROR_VGPU_TYPE_REFUSED,      EREMOTEIO),
	/* SR-IOV: the VF count of a PF with an owned VF (daemon/sriov.h) */
	SD_BUS_ERROR_MAP(VFD_ERROR_VFS_IN_USE,             ETXTBSY),
	/* claims of a quarantined function; ClearQuarantine of one that is not */
	SD_BUS_ERROR_MAP(VFD_ERROR_QUARANTINED,            EKEYREVOKED),
	SD_BUS_ERROR_MAP(VFD_ERROR_NOT_QUARANTINED,        ENOKEY),
	SD_BUS_ERROR_MAP_END
};

int vfd_bus_errors_register(void)
{
	int r;

	/* sd-bus keeps the pointer and answers 0 when it already has it */
	r = sd_bus_error_add_map(vfd_bus_errors);
	return r < 0 ? r : 0;
}

const char *vfd_bus_error_name_from_errno(int error)
{
	const sd_bus_error_map *m;

	if (error < 0)
		error = -error;

	/* the end marker is the only entry with a NULL name */
	for (m = vfd_bus_errors; m->name; m++)
		if (m->code == error)
			return m->name;

	return NULL;
}
