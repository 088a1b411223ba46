/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a VM's VFIO backend does, one ops table per mode (vm.h, "Backends"):
 *
 *   vm-backend-iommufd.c     /dev/iommu with per-process accounting and
 *                            each device's cdev; the VMM binds itself
 *   vm-backend-type1.c       a container and groups vfiod opens and
 *                            attaches; the VMM gets them (GetFds)
 *   vm-backend-vmm-groups.c  type1 where the VMM opens the groups itself
 *                            (QEMU under libvirt): vfiod gives it the
 *                            group nodes and holds nothing open
 *
 * vm.c keeps the lifecycle, the devices and the transactions, and calls
 * these at fixed points; the backend's state (VMBackendState, VMDevice's
 * backend fields) is touched only by these files and the journal.
 * Every op may be NULL where the mode has nothing to do.
 */
#pragma once

#include "vm-private.h"

struct VMBackendOps {
	const char *name; /* for logs */
	/* vm_new(): the VM's own VFIO context; -EPROTONOSUPPORT: the kernel lacks the mode */
	int (*open)(VM *vm);
	/* release and free: every descriptor vfiod holds for the VM is closed */
	void (*close)(VM *vm);
	/* a prepared VM got its VMM (vm_attach_vmm()); on failure nothing is left changed */
	int (*attach_vmm)(VM *vm, vfd_op_error *error);
	/* d's group is on VFIO now: what the mode opens or grants for it */
	int (*prepare)(VM *vm, VMDevice *d, vfd_op_error *error);
	/* undoes prepare; the group node is given back */
	int (*unprepare)(VM *vm, VMDevice *d);
	/*
	 * GetFds: fills f (allocated for every device) with the VM's
	 * descriptors. NULL (with get_device_fds): the mode hands out none,
	 * GetFds answers -EMEDIUMTYPE.
	 */
	int (*get_fds)(VM *vm, VMFds *f);
	/* GetDeviceFds: the same for one device (hot-add); f has room for one */
	int (*get_device_fds)(VM *vm, VMDevice *d, VMFds *f);
	/* ConfirmAttached: checked with the kernel where the mode can */
	int (*confirm_attached)(VM *vm, VMDevice *d, vfd_op_error *error);
	/*
	 * Hot-remove before the VMM's exit: the proof that it let go of d
	 * (-EBUSY with error naming why not). Asked after every other check:
	 * it may close vfiod's own descriptor of d.
	 */
	int (*prove_detached)(VM *vm, VMDevice *d, vfd_op_error *error);
	/*
	 * Before d is proven free for its give-back (vm_device_prove_free()):
	 * vfiod lets go of what it keeps of the VMM's descriptors of d, where
	 * that is safe; -EBUSY with error naming why not yet. NULL: nothing.
	 */
	int (*let_go_of_handed)(VM *vm, VMDevice *d, vfd_op_error *error);
	/*
	 * 1: the VMM is seen to have let go of d, 0: it holds d; without
	 * changing anything (vm_vmm_let_go(), for libvirt's detach events)
	 */
	int (*vmm_let_go)(VM *vm, VMDevice *d);
	/*
	 * after a restart, first (vm_recover()): the descriptors vfiod held
	 * before, taken back from the fd store (vm_backend_take()), each
	 * checked to be what its name says; what is missing or wrong stays
	 * as vm_new() opened it. NULL: the mode holds nothing.
	 */
	void (*adopt)(VM *vm);
	/* after a restart (vm_recover()): what vfiod held and did not get back is opened again */
	void (*reopen)(VM *vm);
};

extern const VMBackendOps vm_backend_iommufd;
/* a duplicate of the VM's iommufd (close-on-exec); -EBADF: none open */
int vm_backend_iommufd_dup(VM *vm);
extern const VMBackendOps vm_backend_type1;
extern const VMBackendOps vm_backend_vmm_groups;

/* the ops for a configuration */
const VMBackendOps *vm_backend_ops(VMBackend backend, bool vmm_opens_groups);

/* another device of vm than except in group */
bool vm_has_group(const VM *vm, int group, const VMDevice *except);

/*
 * The vfiod_mm helper's proof that nobody but vfiod's registration holds
 * PCI function d (vfiod's own cdev file, if any, closed first and opened
 * again on a refusal). iommufd hot-remove, and type1 when vfiod holds no
 * group of d (adopted after a restart). In vm-backend-iommufd.c.
 */
int vm_backend_prove_closed_by_helper(VM *vm, VMDevice *d, vfd_op_error *error);
/*
 * Nobody holds d (device-proof.h: the group's exclusive open, the helper
 * where loaded, /proc), whether or not its give-back will unbind it;
 * vfiod's own descriptors of d must be closed first.
 */
int vm_backend_prove_unheld(VM *vm, VMDevice *d, vfd_op_error *error);
int vm_backend_let_go_of_handed(VM *vm, VMDevice *d, vfd_op_error *error);

/* fcntl(F_DUPFD_CLOEXEC) or a negative errno */
int vm_backend_dup_fd(int fd);

/*
 * The fd store (fdstore.h): every descriptor vfiod holds for a VM is
 * stored as "vm-<id>-<kind>", kind "container", "iommufd",
 * "group-<N>" or "cdev-<device>" (':' as '_'), when opened, and removed
 * when closed for good; a restart (SIGTERM or a crash) leaves them
 * stored. A removal before a proof waits for the manager (sync).
 */
#define VM_STORE_KIND_MAX 48
void vm_backend_group_kind(int group, char buf[VM_STORE_KIND_MAX]);
void vm_backend_cdev_kind(const VMDevice *d, char buf[VM_STORE_KIND_MAX]);
/* the cdev files handed to the VMM whose copies vfiod keeps (VMDevice.handed) */
unsigned vm_device_n_handed(const VMDevice *d);
unsigned vm_device_handed_slots(const VMDevice *d);
/* vm_free(): every descriptor vfiod holds for the VM closed (the store keeps its own) */
void vm_backend_free(VM *vm);
/* a copy of a cdev file handed to the VMM (VMDevice.handed[slot]) */
void vm_backend_handed_kind(const VMDevice *d, unsigned slot, char buf[VM_STORE_KIND_MAX]);
/* 0 also when there is no store (the journal alone carries the VM) */
int vm_backend_store(VM *vm, const char *kind, int fd);
void vm_backend_unstore(VM *vm, const char *kind, bool sync);
/* returns once the copies the store let go of are closed (fdstore_sync()) */
void vm_backend_store_sync(VM *vm);
/* the descriptor the previous process stored as kind; -ENOENT none */
int vm_backend_take(VM *vm, const char *kind);
/*
 * A taken descriptor failed its check (r): closed, the store forgets it
 * and keeps fresh instead (-1: nothing).
 */
void vm_backend_refuse_taken(VM *vm, const char *kind, int fd, int r, int fresh);
