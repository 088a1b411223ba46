/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VM registered with vfiod: its VMM process, the devices vfiod claimed
 * for it and the VFIO context vfiod opened for it. No D-Bus here;
 * vm-dbus.c is the adaptor (the split of systemd's machine.c and
 * machine-dbus.c).
 *
 * Lifecycle (State):
 *   registered  devices can be added and removed; no descriptor handed out
 *   active      the VMM received its descriptors (GetFds)
 *   releasing   release asked while the VMM still holds descriptors: the
 *               kernel would block unbinding until it closes them, so the
 *               rest waits for the VMM's exit (its pidfd)
 *   released    everything given back; the object goes away
 *   failed      a release step failed; Release retries the steps left
 *
 * Release order: vfiod's own VFIO descriptors first, then the group node
 * grants, then every claimed group back to its original drivers
 * (vfd_bind_release, last claim first), then the mdevs vfiod created.
 *
 * Backends:
 *   iommufd  vfiod opens /dev/iommu with per-process accounting and the
 *            cdev of each device; the VMM gets both and binds itself.
 *   type1    vfiod opens the container and each group, attaches them and
 *            sets the IOMMU type; the VMM gets container, groups and
 *            device descriptors. The container is sealed when handed out:
 *            a group attached later by vfiod would have the VMM's
 *            mappings replayed with vfiod's mm (see lib/vfiod-vfio.h).
 *   type1 with vmm_opens_groups (QEMU): vfiod only gives the group nodes
 *            to the VMM's uid and holds nothing open.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "pidfd-watch.h"
#include "vfiod-bind.h"
#include "vfiod-mdev-ctl.h"
#include "vfiod-op-error.h"
#include "vfiod-vfio.h"
#include "vfiod.h"

typedef struct Manager Manager;

typedef enum VMState {
	VM_STATE_REGISTERED,
	VM_STATE_ACTIVE,
	VM_STATE_RELEASING,
	VM_STATE_RELEASED,
	VM_STATE_FAILED,
	_VM_STATE_MAX,
} VMState;

typedef enum VMBackend {
	VM_BACKEND_IOMMUFD,
	VM_BACKEND_TYPE1,
	_VM_BACKEND_MAX,
} VMBackend;

const char *vm_state_to_string(VMState s);
const char *vm_backend_to_string(VMBackend b);
int vm_backend_from_string(const char *s, VMBackend *ret);

typedef struct VMDevice {
	char name[VFD_UUID_STRLEN]; /* canonical PCI address or lower-case mdev UUID */
	bool is_mdev;
	int iommu_group;
	bool created;          /* an mdev vfiod created: removed at release */
	vfd_bind_record *bind; /* PCI: what claiming its group changed */
	int cdev_fd;           /* iommufd: vfiod's own open of the device cdev */
	bool granted;          /* type1 + vmm_opens_groups: this device's grant */
	vfd_node_owner previous_owner;
} VMDevice;

typedef struct VMConfig {
	const char *name;
	const char *uuid;
	uint64_t memory_bytes;
	bool viommu;
	VMBackend backend;
	bool vmm_opens_groups;
} VMConfig;

typedef struct VM {
	Manager *manager;
	unsigned id;
	char *path; /* /org/vfiod1/vm/<id> */
	char *name;
	char uuid[VFD_UUID_STRLEN];
	uint64_t memory_bytes;
	bool viommu;
	VMBackend backend;
	bool vmm_opens_groups;

	VMMProcess vmm;
	sd_event_source *vmm_exit;
	bool vmm_exited;

	VMState state;
	bool fds_handed_out;

	VMDevice *devices;
	size_t n_devices;

	int iommufd;      /* iommufd backend */
	vfd_type1 *type1; /* type1 backend, unless vmm_opens_groups */
} VM;

/* Takes vmm (cleared in *vmm on success). Name and UUID are checked by the caller. */
int vm_new(Manager *m, unsigned id, const VMConfig *config, VMMProcess *vmm, VM **ret);
VM *vm_free(VM *vm);
VFD_DEFINE_CLEANUP(VM, vm_free)

/*
 * Devices. PCI functions: the whole IOMMU group is claimed (see
 * lib/vfiod-bind.h for the refusals), then prepared for the backend; a
 * failure in between rolls the claim back. mdevs: an existing one
 * (-ENODEV when there is none, -EALREADY when a VM holds it), or one
 * created here and removed again at release.
 * -EISCONN: the VM has the device already; -ESHUTDOWN: the VM is
 * releasing, released or failed; -EROFS: type1 after the container was
 * handed out.
 */
int vm_add_pci(VM *vm, const vfd_pci_address *addr, vfd_op_error *error);
int vm_add_mdev(VM *vm, const char *uuid, vfd_op_error *error);
int vm_create_mdev(VM *vm, const char *parent, const char *type_id, const char *uuid,
		   const vfd_mdev_attr *attrs, size_t n_attrs, vfd_op_error *error,
		   char ret_uuid[VFD_UUID_STRLEN]);
/* -ENODEV: not a device of this VM; -EBUSY: the VMM has its descriptors */
int vm_remove_device(VM *vm, const char *name, vfd_op_error *error);

/* 1 when the VM holds name: one of its devices or a member of a group it claimed */
bool vm_holds(const VM *vm, const char *name);

/* ---- handing out descriptors ---- */

typedef struct VMFd {
	char name[VFD_UUID_STRLEN]; /* device name; or the group number for groups */
	unsigned group;
	int fd;                     /* owned by the VMFds */
} VMFd;

typedef struct VMFds {
	int iommu_fd;   /* container (type1) or iommufd */
	VMFd *groups;   /* type1 only */
	size_t n_groups;
	VMFd *devices;
	size_t n_devices;
} VMFds;

void vm_fds_done(VMFds *f);
/*
 * Duplicates of the VM's descriptors (type1 device descriptors are opened
 * from the groups). Marks the VM active and seals a type1 container.
 * -EMEDIUMTYPE with vmm_opens_groups (the VMM opens the groups itself).
 */
int vm_get_fds(VM *vm, VMFds *ret);

/* 1 when the sender (pid, uid) may have the VM's descriptors: root or the VMM itself */
bool vm_is_vmm(const VM *vm, pid_t pid);

/* ---- release ---- */

/*
 * Starts or retries the release. Returns the state reached: RELEASED
 * (the manager drops the VM right after, see manager_vm_gone()),
 * RELEASING (waiting for the VMM to exit) or FAILED (error says why).
 */
int vm_release(VM *vm, vfd_op_error *error);

/* The observed memory of the VMM; 0 once it has exited. */
void vm_observed_memory(const VM *vm, uint64_t *ret_locked, uint64_t *ret_pinned);
/* the VMM's RLIMIT_MEMLOCK, UINT64_MAX when unlimited or unknown */
uint64_t vm_memlock_limit(const VM *vm);
