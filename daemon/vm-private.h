/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VM object's inside, shared by the files that make up the VM (vm.c,
 * vm-release.c, vm-journal.c, vm-memlock.c, vm-identity.c, vm-mm.c and
 * the backends vm-backend-*.c); no other file includes this.
 */
#pragma once

#include "retry-timer.h"
#include "vm.h"
#include "vm-journal.h"

typedef struct VMBackendOps VMBackendOps;

/*
 * A device change in progress, journaled (vm-journal.c) before its first
 * host change, so that a vfiod that dies midway undoes it at its next
 * start: an add is undone (the plan of the claim given back, an mdev vfiod
 * was creating removed), a remove whose proof was given is finished.
 */
typedef enum VMTxnOp {
	VM_TXN_NONE,
	VM_TXN_ADD,
	VM_TXN_REMOVE,
} VMTxnOp;

typedef struct VMTxn {
	VMTxnOp op;
	char device[VFD_UUID_STRLEN];
	bool creates_mdev;         /* add: vfiod creates this mdev */
	unsigned vgpu_type;        /* add: vfiod sets this vGPU type on the VF (vgpu.h), 0 none */
	vfd_bind_record *planned;  /* add of a PCI function: the claim's plan */
} VMTxn;

struct UnbindJob;

/* RLIMIT_MEMLOCK (vm-memlock.c) */
typedef struct VMMemlock {
	bool apply;
	vfd_memlock_policy policy;
	uint64_t cap;
	uint64_t extra_charge_bytes;
	bool headroom_set;        /* the VM's own headroom, not the configured one */
	uint64_t headroom_bytes;
	bool original_known;
	uint64_t original;        /* the VMM's limit before vfiod set one (soft, hard) */
	uint64_t original_hard;
	uint64_t applied;         /* the last limit vfiod set; 0: none yet */
	uint64_t expected_charge; /* after the last step */
	uint64_t expected_slack;  /* vendor pins the model cannot predict, at most this */
	uint64_t observed_charge;
	bool charge_matches;
	RetryTimer retry;         /* a limit that did not take, set again */
	/* a move of the charge to another process (vm-identity.c): that process's own limit */
	bool move_original_known;
	uint64_t move_original, move_original_hard;
	bool move_raised;         /* vfiod raised it: set back unless the move completes */
	/* after a restart: a move the old vfiod had under way (journal), its raise set back */
	pid_t move_stale_pid;
	uint64_t move_stale_start_time;
	bool move_stale_old_pinned_known;
	uint64_t move_stale_old_pinned; /* the VMM's VmPin at that move's start */
	/* the charge left the VMM without a commit (vm_memlock_strand()): no limit set, no move */
	bool stranded;
} VMMemlock;

/*
 * The vfiod_mm helper's view of the VMM's mm (vm-mm.c, fed by
 * manager-mm.c): handle 0 when not tracked. After the exit the counters
 * of that moment stay.
 */
typedef struct VMMm {
	uint32_t handle;
	vfd_mm_state state;
	bool have_exit_counters;
	uint64_t exit_locked_bytes;
	uint64_t exit_pinned_bytes;
} VMMm;

/*
 * A move of the VM's charge to another VMM process under way (vm-identity.c,
 * VM.ChangeProcess): the process it goes to and the counters of both at the
 * start, against which the commit checks that the kernel moved exactly it.
 */
typedef struct VMProcessChange {
	VMMProcess target;      /* pidfd -1: no move under way */
	uint64_t start_time;    /* the target's, journaled: a restart finds its limit to set back */
	uint64_t old_locked, old_pinned;
	uint64_t new_locked, new_pinned;
	sd_event_source *timeout;
	sd_event_source *target_exit; /* the target's pidfd: its exit ends the move */
} VMProcessChange;

/* who owns the VM and who proved to be its VMM (vm-identity.c) */
typedef struct VMIdentity {
	uid_t owner_uid;
	char vmm_secret[VM_SECRET_STRLEN];
	char *vmm_sender; /* the unique bus name that proved it, NULL: none yet */
	VMProcessChange change;
	/*
	 * moves that ended without a commit: each raised a target's limit,
	 * which its children keep (rlimits cannot be taken back); capped
	 * (vm-identity.c), for the life of this vfiod
	 */
	unsigned uncommitted_moves;
} VMIdentity;

/* what the VM's backend holds (vm-backend-*.c) */
typedef struct VMBackendState {
	int iommufd;      /* iommufd */
	vfd_type1 *type1; /* type1 held by vfiod */
} VMBackendState;

/* the release under way (vm-release.c), one device at a time */
typedef struct VMRelease {
	struct UnbindJob *giveback;  /* the give-back on the unbind worker */
	RetryTimer retry;            /* the next proof of a held device */
	VMReleaseDone done;          /* the Release waiting for its answer */
	void *userdata;
	bool removes;                /* the give-back is a RemoveDevice's */
	VMRemoveDone remove_done;    /* the RemoveDevice waiting for its answer */
	void *remove_userdata;
	/* BusyDevice: the device the release waits for ("" none) */
	char busy_device[VFD_UUID_STRLEN];
	const char *busy_status;     /* "busy", "unbinding", "stuck" */
	char busy_detail[256];
} VMRelease;

/* what a VM's journal restores (vm-journal.c reads it, vm_restore() takes it) */
struct VMJournalSaved {
	const char *vmm_secret; /* the VMM's proof (vm-identity.h), kept across restarts */
	VMState state;
	bool fds_handed_out;
	bool memlock_original_known;
	uint64_t memlock_original, memlock_original_hard, memlock_applied;
	/* a move of the charge under way (vm-identity.c): the limit vfiod raised on that process */
	pid_t change_pid;
	uint64_t change_start_time;
	uint64_t change_original, change_original_hard;
	bool change_old_pinned_known;
	uint64_t change_old_pinned;
	bool charge_stranded;
	VMDevice *devices;
	size_t n_devices;
	VMTxn txn;
};

/* the journal file (vm-journal.c): a write that failed is tried again */
typedef struct VMJournal {
	RetryTimer retry;
} VMJournal;

/*
 * Each group of fields below is written only by the file named with it
 * (and read by the journal, which saves and restores every concern);
 * tests/unit/test-walls.sh holds the daemon to that.
 */
struct VM {
	/* vm.c: identity, configuration, lifecycle, devices, transactions */
	Manager *manager;
	const VMBackendOps *ops; /* vm-backend.h */
	unsigned id;
	char *path; /* /org/vfiod1/vm/<id> */
	char *name;
	char uuid[VFD_UUID_STRLEN];
	uint64_t memory_bytes;
	bool viommu;
	VMBackend backend;
	bool vmm_opens_groups;
	bool grant_group_nodes;
	bool release_on_exit;

	VMMProcess vmm;   /* pidfd -1 while prepared */
	sd_event_source *vmm_exit;
	bool vmm_exited;

	VMState state;
	bool fds_handed_out;

	VMDevice *devices;
	size_t n_devices;

	VMTxn txn; /* the device change in progress (journaled) */

	VMIdentity identity;  /* vm-identity.c */
	VMMm mm;              /* vm-mm.c */
	VMMemlock memlock;    /* vm-memlock.c */
	VMBackendState be;    /* vm-backend-*.c */
	VMRelease release;    /* vm-release.c */
	VMJournal journal;    /* vm-journal.c */
};


void vm_set_state(VM *vm, VMState s);
/* vm_new()'s part of each concern */
void vm_backend_init(VM *vm);
void vm_memlock_init(VM *vm, const VMConfig *config);
int vm_identity_init(VM *vm, const VMConfig *config);
void vm_identity_done(VM *vm);
/* vm_restore()'s part of each concern: what the journal saved */
void vm_memlock_restore(VM *vm, const VMJournalSaved *saved);
/* vm_recover()'s last step: the limit set again for the devices there are now */
void vm_memlock_recover(VM *vm);
void vm_identity_restore(VM *vm, const VMJournalSaved *saved);
/* vm.c: the VMM's pidfd became readable (exported for a VMM named by a move) */
int vm_on_vmm_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* ---- vm-memlock.c: the limits around a move of the charge (vm-identity.c) ---- */

/*
 * Before the target process can take the charge: its limit read (to be
 * set back), and whether vfiod raises it (move_raised: journaled before
 * the raise). -errno with error set; nothing changed then.
 */
int vm_memlock_move_prepare(VM *vm, const VMMProcess *target, vfd_op_error *error);
/* the raise prepared: the soft limit to the VM's, the hard one only if it is lower */
int vm_memlock_move_raise(VM *vm, const VMMProcess *target, vfd_op_error *error);
/*
 * Part of the charge left the VMM without a commit: the VMM's limit set
 * back to its original, and vfiod sets none for the VM from here on
 * (memlock.apply off, journaled as charge_stranded); moves refused.
 */
void vm_memlock_strand(VM *vm, const char *step);
bool vm_memlock_stranded(const VM *vm);
/* vfiod's own copy of an iommufd VM's iommufd (a move's target must hold it), -1 none */
int vm_iommufd_fd(const VM *vm);
/* vm_recover()'s first step: a move the previous vfiod had under way, ended */
void vm_memlock_move_recover(VM *vm);
/* the move did not happen: the target's limit as it was */
void vm_memlock_move_undo(VM *vm, const VMMProcess *target);
/*
 * The move happened and vm->vmm is the target now: its limit is the VM's,
 * its original the one to restore at the end; old's limit set back.
 */
void vm_memlock_move_done(VM *vm, const VMMProcess *old);
/* the charge the VM's VMM should hold now, and the tolerance above it */
int vm_memlock_expected_now(VM *vm, uint64_t *ret_expected, uint64_t *ret_slack);
/* registered, active or prepared: the VM takes device changes */
bool vm_accepts_devices(const VM *vm);
/* device name of vm, while the VM takes device changes: -ENODEV, -ESHUTDOWN otherwise */
int vm_find_changeable_device(VM *vm, const char *name, vfd_op_error *error, VMDevice **ret);
/* the transaction ends (journaled by the caller) */
void vm_txn_end(VM *vm);
VMDevice *vm_find_device(const VM *vm, const char *name);
void vm_device_close(VMDevice *d);
/* the backend's prepare and unprepare of d (vm-backend.h) */
int vm_backend_prepare(VM *vm, VMDevice *d, vfd_op_error *error);
int vm_backend_unprepare(VM *vm, VMDevice *d);
/* release: the store lets go of the VM's descriptors, then the backend closes them */
void vm_backend_close(VM *vm);
/* vm_recover()'s first step: the backend takes back what it stored (vm-backend.h) */
void vm_backend_adopt(VM *vm);
void vm_drop_device(VM *vm, VMDevice *d);

/* ---- vm-release.c ---- */

/*
 * device_prove_free() for what giving d back unbinds or removes: the
 * members of its claim that vfiod moved to vfio-pci, or the mdev vfiod
 * created. 0 with *ret_guard (-1: nothing to guard) when free or when
 * nothing will be unbound; -EBUSY with error naming the holder.
 */
int vm_device_prove_free(VM *vm, VMDevice *d, vfd_op_error *error, int *ret_guard);
/* the VM is being freed: its give-back is abandoned, a waiting Release answered */
void vm_release_done_free(VM *vm);

/*
 * RemoveDevice's give-back (vm.c proved d free and journaled the remove):
 * on the unbind worker; vm_remove_given_back() then finishes the
 * transaction and done hears the result once (-ETIMEDOUT: stuck past the
 * deadline, finished later). Takes guard. -EBUSY when a give-back runs.
 */
int vm_remove_give_back_start(VM *vm, VMDevice *d, int guard, VMRemoveDone done, void *userdata,
			      vfd_op_error *error);
/* vm.c: the end of that give-back (d NULL: gone meanwhile); returns r or a later failure */
int vm_remove_given_back(VM *vm, VMDevice *d, int r, const vfd_op_error *error,
			 vfd_op_error *ret_error);
