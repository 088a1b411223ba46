/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VM registered with vfiod: its VMM process, the devices vfiod claimed
 * for it and the VFIO context vfiod opened for it. No D-Bus here;
 * vm-dbus.c is the adaptor (the split of systemd's machine.c and
 * machine-dbus.c).
 *
 * Lifecycle (State):
 *   prepared    no VMM yet (PrepareVM: libvirt's prepare hook runs before
 *               QEMU exists); devices can be added and removed; AttachVMM
 *               names the VMM and makes it registered
 *   registered  devices can be added and removed; no descriptor handed out
 *   active      the VMM received its descriptors (GetFds)
 *   releasing   release asked; vfiod closed its own descriptors and gives
 *               the devices back one at a time, last added first. Each
 *               device is proven free first (device-proof.h: nobody, the
 *               VMM, a child that inherited a descriptor or a socket
 *               with one in flight, holds it); while one is held the
 *               release waits (BusyDevice "busy"; Release answers
 *               DeviceBusy) and proves again on the VMM's exit and on a
 *               timer (backoff up to 10 s). The unbind itself runs on
 *               the unbind worker (unbind-worker.h) with a deadline;
 *               past it the device is "stuck" and the worker's end
 *               finishes the release.
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
 *            device descriptors. With a vIOMMU (QEMU: an address space,
 *            so a container, per device) only the first group joins
 *            vfiod's container; the others come unattached like a
 *            hot-added one and the VMM attaches each to a container of
 *            its own. The container is sealed when handed out:
 *            a group attached later by vfiod would have the VMM's
 *            mappings replayed with vfiod's mm (see lib/include/vfiod/vfio.h).
 *            A device added after that (hot-add) has its group claimed
 *            and opened, unattached: the VMM gets it (GetDeviceFds),
 *            attaches it to its container itself and says so
 *            (ConfirmAttached, checked with the kernel). For a hot-remove
 *            the VMM closes the device and detaches the group
 *            (VFIO_GROUP_UNSET_CONTAINER, refused by the kernel while a
 *            device of the group is open): a group in no container is
 *            the proof vfiod needs before it unbinds.
 *
 * Memory: vm-memlock.c sets and verifies the VMM's RLIMIT_MEMLOCK;
 * manager-mm.c follows the VMM's mm through the vfiod_mm helper.
 *   type1 with vmm_opens_groups (QEMU): vfiod only gives the group nodes
 *            to the VMM's uid and holds nothing open.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "pidfd-watch.h"
#include "vm-identity.h"
#include "vfiod/bind.h"
#include "vfiod/mdev-ctl.h"
#include "vfiod/memlock.h"
#include "vfiod/mm.h"
#include "vfiod/op-error.h"
#include "vfiod/vfio.h"
#include "vfiod/inventory.h"

typedef struct Manager Manager;

typedef enum VMState {
	VM_STATE_REGISTERED,
	VM_STATE_ACTIVE,
	VM_STATE_RELEASING,
	VM_STATE_RELEASED,
	VM_STATE_FAILED,
	VM_STATE_PREPARED,
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

/* cdev files handed out for one device and not yet seen bound, at most */
#define VM_HANDED_MAX 8 /* at most 10: one digit in the fd store (vm_backend_handed_kind()) */
/* an initializer of VMDevice.handed: every slot free */
#define VM_HANDED_NONE { -1, -1, -1, -1, -1, -1, -1, -1 }
_Static_assert(VM_HANDED_MAX == 8, "VM_HANDED_NONE names every slot");

typedef struct VMDevice {
	char name[VFD_UUID_STRLEN]; /* canonical PCI address or lower-case mdev UUID */
	bool is_mdev;
	int iommu_group;
	bool created;          /* an mdev vfiod created: removed at release */
	vfd_bind_record *bind; /* PCI: what claiming its group changed */
	int cdev_fd;           /* iommufd: vfiod's own open of the device cdev */
	/*
	 * iommufd: vfiod's copy of each cdev file handed to the VMM that is
	 * not seen bound yet (-1: a free slot; vm-backend-iommufd.c). A bound
	 * file shows in the group's exclusive open, one never bound does not,
	 * and the unbind would wait for it. handed_known false: files were
	 * handed out before a restart that did not give their copies back.
	 */
	int handed[VM_HANDED_MAX];
	bool handed_known;
	unsigned handed_journaled; /* a restart: the slots the journal names, a bit each */
	bool granted;          /* type1 + vmm_opens_groups: this device's grant */
	vfd_node_owner previous_owner;
	/*
	 * type1 hot-add after GetFds: vfiod holds the group unattached and the
	 * VMM attaches it to its container (the attach rule), then calls
	 * ConfirmAttached.
	 */
	bool vmm_attaches;
	bool in_use;           /* the VMM has it attached: counted in the expected charge */
	unsigned vgpu_type;    /* a vGPU type vfiod set on this VF (vgpu.h): 0 again at release */
	/*
	 * this add of the device, among every add of this vfiod (recovered
	 * ones too): a wait for the device's detach is for this add only,
	 * not for the device added again under the same name (never 0)
	 */
	uint64_t serial;
} VMDevice;

typedef struct VMConfig {
	const char *name;
	uid_t owner_uid; /* who registers or prepares the VM (vm-identity.h) */
	const char *uuid;
	uint64_t memory_bytes;
	bool viommu;
	VMBackend backend;
	bool vmm_opens_groups;
	/* vmm_opens_groups: give the group nodes to the VMM's uid (false: libvirt's DAC driver does) */
	bool grant_group_nodes;
	/* false: the VM outlives its VMM's exit until Release (post-mortem accounting) */
	bool release_on_exit;
	/* RLIMIT_MEMLOCK policy (vm-memlock.c); apply_memlock false: leave the limit alone */
	bool apply_memlock;
	vfd_memlock_policy memlock_policy;
	uint64_t memlock_cap; /* VFD_MEMLOCK_UNLIMITED: no cap */
	/* the VMM maps this much besides guest memory per address space (QEMU's ROMs): tolerated */
	uint64_t extra_charge_bytes;
	/*
	 * memlock_headroom_set: the caller knows what its VMM maps besides
	 * guest memory, and the precise limit adds memlock_headroom_bytes per
	 * address space instead of the configured headroom (64 MiB)
	 */
	bool memlock_headroom_set;
	uint64_t memlock_headroom_bytes;
	/* type1: DMA mappings the caller predicts (option dma_mappings), 0 unknown (vm-dma-budget.h) */
	uint64_t dma_mappings;
} VMConfig;

typedef struct VM VM;
/*
 * A Release whose answer waits (vm_release()): state RELEASED or FAILED,
 * or RELEASING with error -EBUSY (a device is held, or stuck in the
 * kernel). Called once; the VM is dropped right after when RELEASED.
 */
typedef void (*VMReleaseDone)(VM *vm, VMState state, const vfd_op_error *error, void *userdata);
/* a RemoveDevice's end: r, error says why when negative */
typedef void (*VMRemoveDone)(VM *vm, int r, const vfd_op_error *error, void *userdata);

/* ---- reading a VM: its fields are private (vm-private.h) ---- */

Manager *vm_get_manager(const VM *vm);
unsigned vm_get_id(const VM *vm);
const char *vm_get_name(const VM *vm);
const char *vm_get_path(const VM *vm);
const char *vm_get_uuid(const VM *vm);
VMState vm_get_state(const VM *vm);
VMBackend vm_get_backend(const VM *vm);
bool vm_get_viommu(const VM *vm);
uint64_t vm_get_memory_bytes(const VM *vm);
/* the VMM; pid 0 and pidfd -1 while prepared */
const VMMProcess *vm_get_vmm(const VM *vm);
/* the VMM has exited (its pidfd said so) */
bool vm_get_vmm_exited(const VM *vm);
size_t vm_get_n_devices(const VM *vm);
const VMDevice *vm_get_device(const VM *vm, size_t i);
/* the device called name, NULL when the VM has none */
const VMDevice *vm_lookup_device(const VM *vm, const char *name);
/* a device is being given back (a VM changes one device at a time) */
bool vm_is_giving_back(const VM *vm);
/*
 * 1 when the VMM is seen to have let go of device name, 0 when it still
 * holds it, where the backend can tell without changing anything (type1
 * with groups opened by the VMM: the group opens); 1 elsewhere, where
 * vm_remove_device() has its own proof.
 */
int vm_vmm_let_go(VM *vm, const char *name);
/* BusyDevice (vm-release.c): the device the release waits for, "" none */
void vm_get_busy(const VM *vm, const char **ret_device, const char **ret_status,
		 const char **ret_detail);
/* the VMM's locked and pinned bytes at its exit, as vfiod_mm reported them (vm-mm.c) */
void vm_get_exit_memory(const VM *vm, uint64_t *ret_locked, uint64_t *ret_pinned);

/*
 * Takes vmm (cleared in *vmm on success). Name and UUID are checked by the
 * caller. vmm NULL: a prepared VM, whose VMM comes with vm_attach_vmm().
 */
int vm_new(Manager *m, unsigned id, const VMConfig *config, VMMProcess *vmm, VM **ret);
/*
 * Names the VMM of a prepared VM (takes vmm, cleared on success): follows
 * its exit and gives it the group nodes (vmm_opens_groups with
 * grant_group_nodes). -EBADFD: the VM is not prepared. The caller then
 * tracks the mm and applies the memlock limit (manager_attach_vmm()).
 */
int vm_attach_vmm(VM *vm, VMMProcess *vmm, vfd_op_error *error);
/* the VM has a VMM (not prepared) */
bool vm_has_vmm(const VM *vm);
VM *vm_free(VM *vm);
VFD_DEFINE_CLEANUP(VM, vm_free)

/*
 * Devices. PCI functions: the whole IOMMU group is claimed (see
 * lib/include/vfiod/bind.h for the refusals), then prepared for the backend; a
 * failure in between rolls the claim back. mdevs: an existing one
 * (-ENODEV when there is none, -EALREADY when a VM holds it), or one
 * created here and removed again at release.
 * -EISCONN: the VM has the device already; -ESHUTDOWN: the VM is
 * releasing, released or failed. type1 after the container was handed
 * out: the group is claimed and opened but not attached; the VMM gets it
 * with vm_get_device_fds() and attaches it itself.
 */
/*
 * vm_add_pci() of a VF that becomes a vendor vGPU (vgpu.h): once claimed
 * (on the vendor's driver, by alias when it was unbound) the VF's type is
 * set to vgpu_type before the backend opens it; a failure from there
 * sets it back to 0 and gives the claim back. The journal names the type
 * from before the claim on.
 */
int vm_add_pci_full(VM *vm, const vfd_pci_address *addr, unsigned vgpu_type, bool prove_unused,
		    vfd_op_error *error);
/* proven unused first: a VF another process has open is not the vGPU's (vgpu.c takes the next) */
static inline int vm_add_pci_vgpu(VM *vm, const vfd_pci_address *addr, unsigned vgpu_type,
				  vfd_op_error *error)
{
	return vm_add_pci_full(vm, addr, vgpu_type, true, error);
}
/*
 * The caller is root (a root caller's AddDevice, the libvirt hook, the
 * iommufd broker), or the VM's own VMM uses the function already (libvirt
 * attached it to QEMU before vfiod heard of it: accounted after the
 * fact): no proof that nobody outside vfiod uses it.
 */
static inline int vm_add_pci(VM *vm, const vfd_pci_address *addr, vfd_op_error *error)
{
	return vm_add_pci_full(vm, addr, 0, false, error);
}
/*
 * A caller that is not root: a function that somebody outside vfiod uses
 * through VFIO (the group open, an open file of it) is refused, -EBUSY
 * (manager_prove_unused()).
 */
static inline int vm_add_pci_checked(VM *vm, const vfd_pci_address *addr, vfd_op_error *error)
{
	return vm_add_pci_full(vm, addr, 0, true, error);
}
int vm_add_mdev(VM *vm, const char *uuid, vfd_op_error *error);
int vm_create_mdev(VM *vm, const char *parent, const char *type_id, const char *uuid,
		   const vfd_mdev_attr *attrs, size_t n_attrs, vfd_op_error *error,
		   char ret_uuid[VFD_UUID_STRLEN]);
/*
 * -ENODEV: not a device of this VM; -EBUSY: the VMM may still use it: a
 * type1 group still in a container (the VMM detaches it first with
 * VFIO_GROUP_UNSET_CONTAINER, which the kernel refuses while a device
 * descriptor of the group is open); iommufd, or type1 when vfiod holds no
 * group of the device (adopted after a restart): the vfiod_mm helper
 * reports an open file of the device besides its registration, or is not
 * loaded (no proof); or someone holds the group (device_prove_free()).
 * The remove is journaled once proven (vm-journal.h). 0: the give-back
 * runs on the unbind worker, and done hears its end once (also -ETIMEDOUT:
 * stuck in the kernel, finished later). Negative: refused, done is not
 * called.
 */
int vm_remove_device(VM *vm, const char *name, VMRemoveDone done, void *userdata,
		     vfd_op_error *error);

/*
 * Device name of the VM is a claimed PCI function whose IOMMU group
 * another device of the VM shares: vm_remove_device() refuses it (-EBUSY)
 * until that device is gone, whoever closes what.
 */
bool vm_device_shares_group(const VM *vm, const char *name);

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
/*
 * iommufd: a duplicate of the VM's iommufd for a VMM that opens the
 * devices' cdevs itself (libvirt's client-supplied iommufd: libvirt opens
 * the cdevs, vfiod hands only the context). Counts every device as in
 * use. -EMEDIUMTYPE: not the iommufd backend; -ESHUTDOWN: releasing.
 */
int vm_dup_iommufd(VM *vm, int *ret_fd);

/*
 * The descriptors of one device for a running VMM (hot-add): type1: its
 * group (unattached when the VMM attaches it itself: then no device
 * descriptor); iommufd: its cdev. -ENODEV: not a device of this VM.
 */
int vm_get_device_fds(VM *vm, const char *name, VMFds *ret);
/*
 * The VMM says it attached device name (hot-add). type1: checked with the
 * kernel, -ENOTCONN when the group is in no container. Runs the charge check.
 */
int vm_confirm_attached(VM *vm, const char *name, vfd_op_error *error);


/* ---- moving the VM's charge to another VMM process (vm-identity.c) ---- */

/*
 * QEMU's live update (cpr-transfer): a new VMM process takes over the
 * VM's iommufd from the running one, and IOMMU_IOAS_CHANGE_PROCESS,
 * called by the new process, moves the pinned-page charge of every
 * mapping to it. The kernel charges its caller, so vfiod cannot make the
 * call; it brackets it:
 *
 *   begin   target (a pidfd of a process, not of a thread) must be alive,
 *           not vfiod, not the VMM, not another VM's VMM or move target,
 *           run as the VMM's uid, and hold the VM's iommufd already
 *           (target_iommufd >= 0: the target is the caller and sent this
 *           descriptor, which must be the very open file of the VM's
 *           iommufd; < 0: its /proc/PID/fd, by kcmp(2) only); the
 *           VM must be on iommufd, registered or active, with no device
 *           change under way and no stranded charge, on a kernel that has
 *           the ioctl. The move is journaled, then the target's limit
 *           raised to the VM's (the hard limit only if it is lower), a
 *           deadline armed (timeout_usec, 0: 60 s, at most 600 s) and the
 *           target's exit watched.
 *   ...     the target calls IOMMU_IOAS_CHANGE_PROCESS on the iommufd
 *           the old VMM passed it;
 *   commit  the charge is checked on both sides from /proc: the target's
 *           VmPin and VmLck grew by the VM's expected charge, the old
 *           VMM's dropped by exactly as much. Only then is the target the
 *           VM's VMM (its exit releases the VM, the old one's does not;
 *           it authenticates anew with the VM's secret), journaled, and
 *           the old VMM's limit set back.
 *
 * A commit whose check fails, an abort, the deadline, a Release and
 * either process's exit end the move after reading both sides again: a
 * charge that moved is committed; otherwise the VM stays on the old VMM,
 * the target's limit is set back, and if the old VMM's VmPin dropped the
 * VM's charge is stranded (vm_memlock_strand(): the old VMM's limit set
 * back, no limit applied, no further move). Errors: -EMEDIUMTYPE the kernel or backend cannot; -EINPROGRESS a
 * move is under way; -ENOMSG none is; -EBUSY a device change is under
 * way; -ESHUTDOWN the VM is not registered or active; -ESRCH a process
 * exited; -EPERM the target is vfiod, another VM's VMM or move target, runs as
 * another uid or holds no iommufd of the VM; -EXDEV also: the charge is
 * stranded; -EINVAL the
 * target is the VMM; -EXDEV the kernel did not move the charge (error
 * says what each side holds). A move under way is journaled with the
 * target's pid, start time and original limit: a vfiod that stops ends
 * the move, and one that died sets that limit back at its next start.
 */
int vm_change_process_begin(VM *vm, VMMProcess *target, int target_iommufd, uint64_t timeout_usec,
			    vfd_op_error *error);
/* ret_moved: the bytes of charge that moved */
int vm_change_process_commit(VM *vm, vfd_op_error *error, uint64_t *ret_moved);
/*
 * ends a move under way, if any (why: for the log): 1 when the kernel had
 * moved the charge already and the move is committed instead, 0 when the
 * VM stays with its VMM (see vm-identity.c, change_end())
 */
int vm_change_process_abort(VM *vm, const char *why);
/* the pid a move under way goes to, 0 when none */
pid_t vm_change_process_target(const VM *vm);
/*
 * The VM whose charge is moving to pid, or NULL. Such a process may not
 * become another VM's VMM (RegisterVM, AttachVMM: -EINPROGRESS) until the
 * move ends: one process's limit would then be set and set back for two
 * VMs at once, and the commit's checks of its counters mix both charges.
 */
VM *manager_find_move_target(Manager *m, pid_t pid);
/* 0, or -EINPROGRESS with error set when vmm is another VM's move target (AttachVMM) */
int vm_refuse_move_target(const VM *vm, const VMMProcess *vmm, vfd_op_error *error);

/* ---- restart ---- */

/*
 * A VM adopted from its journal (vm-journal.c), devices and transaction
 * restored: finishes or undoes the transaction, releases the VM when its
 * VMM is gone (vmm_exited), else reopens what vfiod holds and sets the
 * limit. Returns the state reached (RELEASED: the caller drops the VM).
 */
int vm_recover(VM *vm, bool vmm_alive, vfd_op_error *error);
struct VMJournalRecord;
/*
 * Before vm_recover(): what the old process journaled (takes the record's
 * devices and transaction). vmm_alive: the journal's VMM still runs.
 */
void vm_restore(VM *vm, struct VMJournalRecord *j, bool vmm_alive);

/* ---- release ---- */

/*
 * Starts or retries the release. Returns the state reached: RELEASED
 * (the caller drops the VM right after, see manager_vm_gone()), FAILED
 * (error says why), or RELEASING: error -EBUSY when a device is held
 * (error names it and its holder), else a give-back runs on the worker.
 * In that last case, with done non-NULL and no other Release waiting,
 * returns -EINPROGRESS instead: done() gets the outcome. A release that
 * ends later on its own drops the VM itself (manager_vm_gone()).
 */
int vm_release(VM *vm, VMReleaseDone done, void *userdata, vfd_op_error *error);

/*
 * The observed memory of the VMM: from the vfiod_mm helper when it tracks
 * the VMM (also after the exit: what the kernel still charges to the dead
 * mm), else /proc while it lives, else 0. Returns the source: "vfiod_mm",
 * "proc" or "none".
 */
const char *vm_observed_memory(const VM *vm, uint64_t *ret_locked, uint64_t *ret_pinned);
/* "alive", "exited" or "released" (the last only with the helper: no pin holder left) */
const char *vm_vmm_state(const VM *vm);
/* news about the VMM's mm from the helper (manager-mm.c) */
void vm_mm_update(VM *vm, vfd_mm_event_type type, const vfd_mm_info *info);
/* manager-mm.c tracks the VMM's mm with the helper as this handle; 0: not tracked */
uint32_t vm_mm_handle(const VM *vm);
void vm_mm_tracked(VM *vm, const vfd_mm_info *info);
void vm_mm_untracked(VM *vm);
/* the VMM's RLIMIT_MEMLOCK, UINT64_MAX when unlimited or unknown */
uint64_t vm_memlock_limit(const VM *vm);
