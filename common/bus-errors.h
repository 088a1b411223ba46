/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stable D-Bus error names of vfiod (docs/org.vfiod1.Manager.xml) and
 * the errno each one stands for. vfiod, vfioctl and the libvirt hook
 * register the one table, so a reply's error name turns into the same errno on either side
 * (sd_bus_call() returns it; sd_bus_error_get_errno() reads it).
 */
#pragma once

#include <systemd/sd-bus.h>

#define VFD_ERROR_NO_SUCH_DEVICE "org.vfiod1.Error.NoSuchDevice"
#define VFD_ERROR_NO_SUCH_GROUP  "org.vfiod1.Error.NoSuchGroup"
#define VFD_ERROR_NO_SUCH_PARENT "org.vfiod1.Error.NoSuchParent"

/* VM ownership (docs/org.vfiod1.VM.xml) */
#define VFD_ERROR_NO_SUCH_VM              "org.vfiod1.Error.NoSuchVM"
#define VFD_ERROR_NO_SUCH_MDEV_TYPE       "org.vfiod1.Error.NoSuchMdevType"
#define VFD_ERROR_NO_IOMMU_GROUP          "org.vfiod1.Error.NoIOMMUGroup"
#define VFD_ERROR_VM_EXISTS               "org.vfiod1.Error.VMExists"
#define VFD_ERROR_DEVICE_BUSY             "org.vfiod1.Error.DeviceBusy"
#define VFD_ERROR_NOT_ENDPOINT            "org.vfiod1.Error.NotEndpoint"
#define VFD_ERROR_OWNED_BY_OTHER_VM       "org.vfiod1.Error.OwnedByOtherVM"
#define VFD_ERROR_MDEV_CLAIMED            "org.vfiod1.Error.MdevClaimed"
#define VFD_ERROR_ALREADY_IN_VM           "org.vfiod1.Error.AlreadyInVM"
#define VFD_ERROR_MDEV_EXISTS             "org.vfiod1.Error.MdevExists"
#define VFD_ERROR_NO_AVAILABLE_INSTANCES  "org.vfiod1.Error.NoAvailableInstances"
#define VFD_ERROR_DRIVER_NOT_LOADED       "org.vfiod1.Error.DriverNotLoaded"
#define VFD_ERROR_BACKEND_UNAVAILABLE     "org.vfiod1.Error.BackendUnavailable"
#define VFD_ERROR_NOT_VMM                 "org.vfiod1.Error.NotVMM"
#define VFD_ERROR_VMM_EXITED              "org.vfiod1.Error.VMMExited"
#define VFD_ERROR_CONTAINER_SEALED        "org.vfiod1.Error.ContainerSealed"
#define VFD_ERROR_VM_NOT_ACTIVE           "org.vfiod1.Error.VMNotActive"
#define VFD_ERROR_NOT_BOUND               "org.vfiod1.Error.NotBound"
#define VFD_ERROR_HOST_CHANGED            "org.vfiod1.Error.HostChanged"
#define VFD_ERROR_NOT_SUPPORTED           "org.vfiod1.Error.NotSupported"
#define VFD_ERROR_NOT_VFIO_DRIVER         "org.vfiod1.Error.NotVFIODriver"
/* memlock limits (vm-memlock.c) */
#define VFD_ERROR_MEMLOCK_CAP_EXCEEDED    "org.vfiod1.Error.MemlockCapExceeded"
/* type1's dma_entry_limit (vm-dma-budget.c) */
#define VFD_ERROR_DMA_ENTRY_LIMIT         "org.vfiod1.Error.DmaEntryLimitExceeded"
#define VFD_ERROR_NOT_ATTACHED            "org.vfiod1.Error.NotAttached"
#define VFD_ERROR_VMM_ATTACHED            "org.vfiod1.Error.VMMAttached"
/* limits before authorization (bus-limits.h) */
#define VFD_ERROR_ARGUMENT_TOO_LARGE      "org.vfiod1.Error.ArgumentTooLarge"
#define VFD_ERROR_TOO_MANY_REQUESTS       "org.vfiod1.Error.TooManyRequests"
/* a VM's charge moved to another process (VM.ChangeProcess) */
#define VFD_ERROR_PROCESS_CHANGE_PENDING  "org.vfiod1.Error.ProcessChangePending"
#define VFD_ERROR_NO_PROCESS_CHANGE       "org.vfiod1.Error.NoProcessChange"
#define VFD_ERROR_CHARGE_NOT_MOVED        "org.vfiod1.Error.ChargeNotMoved"
#define VFD_ERROR_NO_SUCH_VGPU_TYPE       "org.vfiod1.Error.NoSuchVgpuType"
#define VFD_ERROR_NO_FREE_VF              "org.vfiod1.Error.NoFreeVF"
#define VFD_ERROR_VGPU_TYPE_REFUSED       "org.vfiod1.Error.VgpuTypeRefused"
/* SR-IOV: a VF count change while a VF of the PF is owned (daemon/sriov.h) */
#define VFD_ERROR_VFS_IN_USE              "org.vfiod1.Error.VFsInUse"
/* a function whose reset between VMs failed (daemon/quarantine.h) */
#define VFD_ERROR_QUARANTINED             "org.vfiod1.Error.Quarantined"
#define VFD_ERROR_NOT_QUARANTINED         "org.vfiod1.Error.NotQuarantined"

extern const sd_bus_error_map vfd_bus_errors[];

/* Makes sd-bus translate the names above to errno; idempotent. */
int vfd_bus_errors_register(void);

/* The stable name for a domain errno, NULL when the errno has none. */
const char *vfd_bus_error_name_from_errno(int error);
