/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "manager-mm.h"
#include "vfiod/kernel-features.h"
#include "vfiod/process.h"
#include "vm-dbus.h"
#include "vm-identity.h"
#include "vm-journal.h"
#include "vm-private.h"
#include "vm.h"

int vm_secret_generate(char ret[VM_SECRET_STRLEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char bytes[(VM_SECRET_STRLEN - 1) / 2];
	size_t got = 0;

	while (got < sizeof(bytes)) {
		ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t) n;
	}
	for (size_t i = 0; i < sizeof(bytes); i++) {
		ret[2 * i] = hex[bytes[i] >> 4];
		ret[2 * i + 1] = hex[bytes[i] & 0xf];
	}
	ret[VM_SECRET_STRLEN - 1] = '\0';
	return 0;
}

bool vm_secret_is_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= VM_SECRET_STRLEN - 1 || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == VM_SECRET_STRLEN - 1;
}

/* every byte compared whatever the first difference: no timing oracle */
static bool secrets_equal(const char *a, const char *b)
{
	unsigned char diff = 0;

	for (size_t i = 0; i < VM_SECRET_STRLEN - 1; i++)
		diff |= (unsigned char) (a[i] ^ b[i]);
	return diff == 0;
}

/*
 * The caller's pid and uid are the live VMM's. The uid is the VMM's now:
 * a VMM may be named while it still runs as root and drop privileges
 * before it asks (as QEMU's -run-with user= does).
 */
static bool is_vmm_process(const VM *vm, pid_t pid, uid_t uid)
{
	uid_t now;

	/* a pid is not reused while its process lives: the read below checks its pidfd after */
	if (!vm_has_vmm(vm) || vm->vmm_exited || pid != vm->vmm.pid)
		return false;
	if (vmm_process_current_uid(&vm->vmm, &now) < 0)
		return false; /* exited, or unreadable: no proof */
	return now == uid;
}

int vm_authenticate_vmm(VM *vm, pid_t pid, uid_t uid, const char *sender, const char *secret)
{
	unsigned bad = 0;
	char *copy;

	if (!vm_has_vmm(vm) || vm->vmm_exited)
		return -ESRCH;
	/* the form first: secrets_equal() reads exactly 32 characters */
	if (!vm_secret_is_valid(secret))
		return -EPERM;
	/* both checks always run, so that a wrong pid and a wrong secret take the same time */
	bad |= !secrets_equal(secret, vm->identity.vmm_secret);
	bad |= !is_vmm_process(vm, pid, uid);
	if (bad)
		return -EPERM;

	copy = strdup(sender);
	if (!copy)
		return -ENOMEM;
	free(vm->identity.vmm_sender);
	vm->identity.vmm_sender = copy;
	return 0;
}

bool vm_is_vmm(const VM *vm, pid_t pid, uid_t uid, const char *sender)
{
	return vm->identity.vmm_sender && sender && strcmp(vm->identity.vmm_sender, sender) == 0 &&
	       is_vmm_process(vm, pid, uid);
}

void vm_forget_vmm_sender(VM *vm)
{
	free(vm->identity.vmm_sender);
	vm->identity.vmm_sender = NULL;
}

int vmm_runs_as(const VMMProcess *p, uid_t uid)
{
	uid_t now;
	int r;

	r = vmm_process_current_uid(p, &now);
	if (r < 0)
		return r;
	return now == uid;
}

uid_t vm_get_owner_uid(const VM *vm)
{
	return vm->identity.owner_uid;
}

const char *vm_get_vmm_secret(const VM *vm)
{
	return vm->identity.vmm_secret;
}

int vm_identity_init(VM *vm, const VMConfig *config)
{
	vm->identity.owner_uid = config->owner_uid;
	vm->identity.change.target = (VMMProcess) VMM_PROCESS_NULL;
	return vm_secret_generate(vm->identity.vmm_secret);
}

static int change_end(VM *vm, const char *why, bool decide);

void vm_identity_done(VM *vm)
{
	/* the VM is freed: its journal is final (or gone with the VM) */
	(void) change_end(vm, "vfiod lets go of the VM", false);
	free(vm->identity.vmm_sender);
	vm->identity.vmm_sender = NULL;
}

void vm_identity_restore(VM *vm, const VMJournalSaved *saved)
{
	if (saved->vmm_secret)
		memcpy(vm->identity.vmm_secret, saved->vmm_secret, VM_SECRET_STRLEN);
}

/* ---- moving the VM's charge to another VMM process (vm.h) ---- */

#define CHANGE_PROCESS_TIMEOUT_USEC (60 * UINT64_C(1000000))
#define CHANGE_PROCESS_TIMEOUT_MAX_USEC (600 * UINT64_C(1000000))
/* moves of one VM that may end without a commit (vm_change_process_begin()) */
#define CHANGE_PROCESS_MAX_UNCOMMITTED 4U

pid_t vm_change_process_target(const VM *vm)
{
	return vm->identity.change.target.pidfd >= 0 ? vm->identity.change.target.pid : 0;
}

VM *manager_find_move_target(Manager *m, pid_t pid)
{
	for (size_t i = 0; i < m->n_vms; i++)
		if (pid > 0 && vm_change_process_target(m->vms[i]) == pid)
			return m->vms[i];
	return NULL;
}

int vm_refuse_move_target(const VM *vm, const VMMProcess *vmm, vfd_op_error *error)
{
	VM *other = manager_find_move_target(vm->manager, vmm->pid);

	if (!other)
		return 0;
	return vfd_op_error_set(error, -EINPROGRESS, vm->name,
				"pid %d is where the charge of VM %s is moving: it cannot be the VMM of VM %s too",
				(int) vmm->pid, vm_get_name(other), vm->name);
}

static void change_forget(VM *vm)
{
	VMProcessChange *c = &vm->identity.change;

	c->timeout = sd_event_source_disable_unref(c->timeout);
	c->target_exit = sd_event_source_disable_unref(c->target_exit);
	vmm_process_done(&c->target);
	c->target = (VMMProcess) VMM_PROCESS_NULL;
	c->start_time = 0;
	c->old_locked = c->old_pinned = c->new_locked = c->new_pinned = 0;
}

static int check_moved(VM *vm, vfd_op_error *error, uint64_t *ret_moved);
static int change_switch(VM *vm, uint64_t moved, vfd_op_error *error);

/*
 * The end of a move that is not a successful commit (an abort, the
 * deadline, a failed commit, either process's exit). The kernel may have
 * moved the charge all the same: the target's ioctl does not ask vfiod.
 * So both sides are read again (decide):
 *  - the charge moved as a commit requires (check_moved()): the move is
 *    committed (1);
 *  - else the target's limit is set back; and if the old VMM's VmPin
 *    dropped at all, part of the charge left it for a process vfiod
 *    cannot prove holds it: the VMM's limit is set back too and the VM's
 *    charge stranded (vm_memlock_strand(): no limit set, no more moves,
 *    until the VM is released). Neither process keeps a raised limit.
 * Without decide (the VM is freed at vfiod's stop) the target's limit is
 * set back only; the journal, left as it was, makes the next start decide
 * (vm_memlock_move_recover()).
 */
static int change_end(VM *vm, const char *why, bool decide)
{
	VMProcessChange *c = &vm->identity.change;
	uint64_t moved = 0, locked, pinned;
	bool old_dropped = false;
	vfd_op_error op;

	if (c->target.pidfd < 0)
		return 0;
	if (decide) {
		vfd_op_error_clear(&op);
		if (check_moved(vm, &op, &moved) >= 0) {
			log_warning("VM %s: the move of its charge to pid %d ends (%s), but the kernel moved "
				    "the charge already: the move is committed.", vm->name,
				    (int) c->target.pid, why);
			vfd_op_error_clear(&op);
			if (change_switch(vm, moved, &op) >= 0)
				return 1;
			log_warning("VM %s: %s.", vm->name, op.message);
		}
		old_dropped = vmm_process_read_memory(&vm->vmm, &locked, &pinned) >= 0 &&
			      pinned < c->old_pinned;
	}
	log_info("VM %s: the move of its charge to pid %d ends (%s); the VMM stays pid %d.",
		 vm->name, (int) c->target.pid, why, (int) vm->vmm.pid);
	vm->identity.uncommitted_moves++;
	vm_memlock_move_undo(vm, &c->target);
	change_forget(vm);
	if (old_dropped)
		vm_memlock_strand(vm, "change-process");
	if (decide)
		(void) vm_journal_save(vm);
	return 0;
}

int vm_change_process_abort(VM *vm, const char *why)
{
	return change_end(vm, why, true);
}

static int on_change_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	VM *vm = userdata;

	log_warning("VM %s: the move of its charge to pid %d was not committed in time.", vm->name,
		    (int) vm->identity.change.target.pid);
	(void) vm_change_process_abort(vm, "deadline passed");
	return 0;
}

/*
 * The target's pidfd became readable: it exited, and its pid is free once
 * it is reaped. The move ends at once, and no prlimit() names that pid
 * again (set_process_limit() refuses a readable pidfd). After a commit
 * this source is the VMM's exit watch (vm->vmm_exit).
 */
static int on_change_target_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	VM *vm = userdata;

	if (vm->vmm_exit == s)
		return vm_on_vmm_exit(s, fd, revents, userdata);
	log_warning("VM %s: pid %d, which its charge was moving to, exited.", vm->name,
		    (int) vm->identity.change.target.pid);
	(void) vm_change_process_abort(vm, "the target exited");
	return 0;
}

/* the kernel moves a charge only on iommufd and with IOMMU_IOAS_CHANGE_PROCESS */
static int change_supported(VM *vm, vfd_op_error *error)
{
	vfd_kernel_features f;
	int r;

	r = vfd_kernel_features_probe(vm->manager->ctx, &f);
	if (r < 0 || !f.ioas_change_process)
		return vfd_op_error_set(error, -EMEDIUMTYPE, "", "IOMMU_IOAS_CHANGE_PROCESS is not "
					"supported by this kernel: the charge of VM %s cannot move to "
					"another process", vm->name);
	if (vm->backend != VM_BACKEND_IOMMUFD)
		return vfd_op_error_set(error, -EMEDIUMTYPE, "", "VM %s uses the %s backend: only an "
					"iommufd VM's charge can move to another process", vm->name,
					vm_backend_to_string(vm->backend));
	return 0;
}

/* the target may take the VM over: alive, not vfiod, not the VMM, the VMM's uid, nobody else's */
static int check_target(VM *vm, const VMMProcess *target, vfd_op_error *error)
{
	uid_t vmm_uid, target_uid;
	int r;

	if (target->pid == getpid())
		return vfd_op_error_set(error, -EPERM, "", "pid %d is vfiod itself", (int) target->pid);
	if (target->pid == vm->vmm.pid)
		return vfd_op_error_set(error, -EINVAL, "", "pid %d is the VMM of VM %s already",
					(int) target->pid, vm->name);
	r = vmm_process_current_uid(target, &target_uid);
	if (r < 0)
		return vfd_op_error_set(error, -ESRCH, "", "pid %d has exited", (int) target->pid);
	r = vmm_process_current_uid(&vm->vmm, &vmm_uid);
	if (r < 0)
		return vfd_op_error_set(error, -ESRCH, "", "the VMM of VM %s (pid %d) has exited",
					vm->name, (int) vm->vmm.pid);
	if (target_uid != vmm_uid)
		return vfd_op_error_set(error, -EPERM, "", "pid %d runs as uid %u, the VMM of VM %s as "
					"uid %u", (int) target->pid, (unsigned) target_uid, vm->name,
					(unsigned) vmm_uid);
	/* pids are thread-group ids on both sides: identify() refuses a thread's pidfd */
	for (size_t i = 0; i < vm->manager->n_vms; i++) {
		const VM *other = vm->manager->vms[i];

		if (other == vm)
			continue;
		if (vm_has_vmm(other) && !other->vmm_exited && other->vmm.pid == target->pid)
			return vfd_op_error_set(error, -EPERM, "", "pid %d is the VMM of VM %s",
						(int) target->pid, other->name);
		if (vm_change_process_target(other) == target->pid)
			return vfd_op_error_set(error, -EPERM, "", "pid %d is where the charge of VM %s "
						"is moving", (int) target->pid, other->name);
	}
	return 0;
}

/* at most this many descriptors of the target are compared with the VM's iommufd */
#define CHANGE_PROCESS_MAX_FDS 4096U

/*
 * The target already holds the VM's iommufd (the old VMM handed it over):
 * a raised limit is only ever handed to a process that can make the
 * ioctl. Two proofs:
 *  - presented (>= 0): the target is the caller and sent its descriptor
 *    of the iommufd with the call (ChangeProcessToCaller); it is the very
 *    open file vfiod holds for the VM (vfd_same_open_file(): kcmp(2) on
 *    vfiod's own two descriptors, or the status-flag proof without kcmp).
 *    No /proc/PID/fd is read: that needs ptrace rights over the target,
 *    which vfiod lacks under its unit for a VMM of another uid.
 *  - presented < 0 (ChangeProcess names the target): the target's
 *    /proc/PID/fd compared by kcmp(2). Without kcmp that scan can only
 *    find an open of /dev/iommu, any iommufd: no proof, refused.
 */
static int check_target_holds_iommufd(VM *vm, const VMMProcess *target, int presented,
				      vfd_op_error *error)
{
	int iommufd = vm_iommufd_fd(vm), r;

	if (iommufd < 0)
		return vfd_op_error_set(error, -EPERM, "", "vfiod holds no iommufd of VM %s to compare "
					"pid %d's with", vm->name, (int) target->pid);
	if (presented >= 0) {
		r = vfd_same_open_file(iommufd, presented);
		if (r < 0)
			return vfd_op_error_set(error, r, "", "cannot compare the descriptor of pid %d "
						"with the iommufd of VM %s: %s", (int) target->pid,
						vm->name, strerror(-r));
		if (r == 0)
			return vfd_op_error_set(error, -EPERM, "", "the descriptor pid %d sent is not "
						"the iommufd of VM %s", (int) target->pid, vm->name);
		return 0;
	}
	r = vfd_process_holds_file(target->pid, iommufd, CHANGE_PROCESS_MAX_FDS);
	if (r >= 0 && vmm_process_exited(target) != 0)
		r = -ESRCH;
	if (r == -ESRCH)
		return vfd_op_error_set(error, -ESRCH, "", "pid %d has exited", (int) target->pid);
	if (r == -E2BIG)
		return vfd_op_error_set(error, -EPERM, "", "pid %d has more than %u descriptors: vfiod "
					"does not look for the VM's iommufd among them", (int) target->pid,
					CHANGE_PROCESS_MAX_FDS);
	if (r == -EACCES || r == -EPERM)
		return vfd_op_error_set(error, -EPERM, "", "vfiod may not read the descriptors of pid "
					"%d: the new process calls ChangeProcessToCaller with the "
					"iommufd itself", (int) target->pid);
	if (r == -ENOSYS)
		return vfd_op_error_set(error, -EPERM, "", "this kernel has no kcmp(2): vfiod cannot "
					"prove pid %d holds the iommufd of VM %s; the new process calls "
					"ChangeProcessToCaller with the iommufd itself",
					(int) target->pid, vm->name);
	if (r < 0)
		return vfd_op_error_set(error, r, "", "cannot read the descriptors of pid %d: %s",
					(int) target->pid, strerror(-r));
	if (r == 0)
		return vfd_op_error_set(error, -EPERM, "", "pid %d holds no iommufd of VM %s: the VMM "
					"hands it over before the move", (int) target->pid, vm->name);
	return 0;
}

int vm_change_process_begin(VM *vm, VMMProcess *target, int target_iommufd, uint64_t timeout_usec,
			    vfd_op_error *error)
{
	VMProcessChange *c = &vm->identity.change;
	uid_t uid;
	int r;

	r = change_supported(vm, error);
	if (r < 0)
		return r;
	if (vm->state != VM_STATE_REGISTERED && vm->state != VM_STATE_ACTIVE)
		return vfd_op_error_set(error, -ESHUTDOWN, "", "VM %s is %s: only a registered or "
					"active VM's charge can move", vm->name,
					vm_state_to_string(vm->state));
	if (!vm_has_vmm(vm) || vm->vmm_exited)
		return vfd_op_error_set(error, -ESRCH, "", "VM %s has no running VMM", vm->name);
	if (c->target.pidfd >= 0)
		return vfd_op_error_set(error, -EINPROGRESS, "", "the charge of VM %s is moving to pid "
					"%d already", vm->name, (int) c->target.pid);
	if (vm_memlock_stranded(vm))
		return vfd_op_error_set(error, -EXDEV, "", "part of the charge of VM %s left its VMM at "
					"an earlier move without a commit: no further move until the "
					"VM is released", vm->name);
	/*
	 * Each move that ended without a commit raised a target's limit for a
	 * while, and whatever that target forked meanwhile keeps it: a VMM
	 * could otherwise hand raised limits to processes of its uid without
	 * end. Bounded per VM.
	 */
	if (vm->identity.uncommitted_moves >= CHANGE_PROCESS_MAX_UNCOMMITTED)
		return vfd_op_error_set(error, -EXDEV, "", "%u moves of the charge of VM %s ended "
					"without a commit: no further move until the VM is released",
					vm->identity.uncommitted_moves, vm->name);
	if (vm->txn.op != VM_TXN_NONE || vm_is_giving_back(vm))
		return vfd_op_error_set(error, -EBUSY, "", "a device of VM %s is being changed",
					vm->name);
	r = check_target(vm, target, error);
	if (r < 0)
		return r;
	r = check_target_holds_iommufd(vm, target, target_iommufd, error);
	if (r < 0)
		return r;
	if (timeout_usec == 0)
		timeout_usec = CHANGE_PROCESS_TIMEOUT_USEC;
	timeout_usec = timeout_usec > CHANGE_PROCESS_TIMEOUT_MAX_USEC ? CHANGE_PROCESS_TIMEOUT_MAX_USEC :
									 timeout_usec;

	/* the counters both sides start from: the commit checks what moved against them */
	r = vmm_process_read_memory(&vm->vmm, &c->old_locked, &c->old_pinned);
	if (r >= 0)
		r = vmm_process_read_memory(target, &c->new_locked, &c->new_pinned);
	if (r >= 0)
		r = vmm_process_observe(target, &c->start_time, &uid);
	if (r < 0)
		return vfd_op_error_set(error, -ESRCH, "", "cannot read the memory counters of pid %d "
					"or %d: %s", (int) vm->vmm.pid, (int) target->pid, strerror(-r));

	/* the target's own limit, and whether vfiod raises it */
	r = vm_memlock_move_prepare(vm, target, error);
	if (r < 0)
		return r;
	r = sd_event_add_time_relative(vm->manager->event, &c->timeout, CLOCK_MONOTONIC, timeout_usec,
				       0, on_change_timeout, vm);
	if (r >= 0)
		r = pidfd_watch_add(vm->manager->event, target, on_change_target_exit, vm,
				    &c->target_exit);
	if (r < 0) {
		c->timeout = sd_event_source_disable_unref(c->timeout);
		vm_memlock_move_undo(vm, target);
		return vfd_op_error_set(error, r, "", "cannot arm the move's deadline or exit watch");
	}
	c->target = *target;
	*target = (VMMProcess) VMM_PROCESS_NULL;

	/* the intent in the journal before the raise: a crash after it sets the limit back */
	r = vm_journal_save(vm);
	if (r < 0) {
		vm_memlock_move_undo(vm, &c->target); /* raised nothing yet: forgets */
		change_forget(vm);
		return vfd_op_error_set(error, r, "", "cannot journal the move: %s", strerror(-r));
	}
	/* raise before: the target's ioctl is refused (ENOMEM) above its own limit */
	r = vm_memlock_move_raise(vm, &c->target, error);
	if (r < 0) {
		vm_memlock_move_undo(vm, &c->target);
		change_forget(vm);
		(void) vm_journal_save(vm);
		return r;
	}
	log_info("VM %s: its charge may move from the VMM (pid %d: %" PRIu64 " bytes locked, %" PRIu64
		 " pinned) to pid %d (%" PRIu64 " locked, %" PRIu64 " pinned) within %" PRIu64 " s.",
		 vm->name, (int) vm->vmm.pid, c->old_locked, c->old_pinned, (int) c->target.pid,
		 c->new_locked, c->new_pinned, timeout_usec / 1000000);
	return 0;
}

/* b - a where a <= b; else a mark that the counter went the wrong way */
static int64_t grown(uint64_t a, uint64_t b)
{
	return b >= a ? (int64_t) (b - a) : -(int64_t) (a - b);
}

/*
 * 0 when the kernel moved the VM's charge from old to the target:
 * the target gained, and the old VMM lost, the same bytes, in VmLck
 * (per-process accounting) and VmPin alike, and that is the VM's charge.
 */
static int check_moved(VM *vm, vfd_op_error *error, uint64_t *ret_moved)
{
	VMProcessChange *c = &vm->identity.change;
	uint64_t old_locked = 0, old_pinned = 0, new_locked, new_pinned, expected, slack;
	int64_t gain_locked, gain_pinned, drop_locked, drop_pinned;
	bool old_gone;
	int r;

	r = vmm_process_read_memory(&c->target, &new_locked, &new_pinned);
	if (r < 0)
		return vfd_op_error_set(error, -ESRCH, "", "pid %d has exited", (int) c->target.pid);
	/*
	 * The old VMM may have quit already (a live update's old process
	 * does once the new one runs): its counters went with its mm, and
	 * the new process's gain alone decides, checked as strictly.
	 */
	r = vmm_process_read_memory(&vm->vmm, &old_locked, &old_pinned);
	if (r < 0 && vmm_process_exited(&vm->vmm) <= 0)
		return vfd_op_error_set(error, -ESRCH, "", "cannot read the counters of the VMM (pid %d)",
					(int) vm->vmm.pid);
	old_gone = r < 0;
	r = vm_memlock_expected_now(vm, &expected, &slack);
	if (r < 0)
		return vfd_op_error_set(error, r, "", "cannot compute the VM's expected charge");

	gain_locked = grown(c->new_locked, new_locked);
	gain_pinned = grown(c->new_pinned, new_pinned);
	drop_locked = old_gone ? gain_locked : grown(old_locked, c->old_locked);
	drop_pinned = old_gone ? gain_pinned : grown(old_pinned, c->old_pinned);
	if (old_gone)
		old_locked = old_pinned = 0;
	log_info("VM %s (change-process): pid %d gained %" PRId64 " bytes locked, %" PRId64 " pinned; "
		 "the VMM (pid %d) lost %" PRId64 " locked, %" PRId64 " pinned; expected %" PRIu64
		 " (+%" PRIu64 ").", vm->name, (int) c->target.pid, gain_locked, gain_pinned,
		 (int) vm->vmm.pid, drop_locked, drop_pinned, expected, slack);

	if (gain_pinned <= 0 && drop_pinned <= 0)
		/* at most 255 characters (vfd_op_error) */
		return vfd_op_error_set(error, -EXDEV, "", "the charge did not move: pid %d has %"
					PRIu64 " bytes pinned, the VMM (pid %d) %" PRIu64 "; it moves by "
					"IOMMU_IOAS_CHANGE_PROCESS in the new process, refused unless "
					"every mapping is IOMMU_IOAS_MAP_FILE", (int) c->target.pid,
					new_pinned, (int) vm->vmm.pid, old_pinned);
	if (gain_pinned != drop_pinned || gain_locked != drop_locked || gain_locked != gain_pinned ||
	    (uint64_t) gain_pinned < expected || (uint64_t) gain_pinned - expected > slack)
		return vfd_op_error_set(error, -EXDEV, "", "the charge did not move as expected: pid %d "
					"gained %" PRId64 " bytes pinned (%" PRId64 " locked), the VMM "
					"(pid %d) lost %" PRId64 " (%" PRId64 " locked); the VM's charge "
					"is %" PRIu64 " bytes", (int) c->target.pid, gain_pinned,
					gain_locked, (int) vm->vmm.pid, drop_pinned, drop_locked, expected);
	*ret_moved = (uint64_t) gain_pinned;
	return 0;
}

/* the switch after a check that passed: from here the target is the VM's VMM */
static int change_switch(VM *vm, uint64_t moved, vfd_op_error *error)
{
	VMProcessChange *c = &vm->identity.change;
	_cleanup_(vmm_process_done) VMMProcess old = VMM_PROCESS_NULL;

	if (!c->target_exit)
		return vfd_op_error_set(error, -EBADF, "", "vfiod does not follow the exit of pid %d",
					(int) c->target.pid);
	manager_mm_forget_vm(vm->manager, vm);
	old = vm->vmm;
	vm->vmm = c->target;
	c->target = (VMMProcess) VMM_PROCESS_NULL;
	vm->vmm_exit = sd_event_source_disable_unref(vm->vmm_exit);
	/* the target's exit watch is the VMM's now (on_change_target_exit()) */
	vm->vmm_exit = TAKE_PTR(c->target_exit);
	/* the old connection proved the old process: the new one authenticates anew */
	vm_forget_vmm_sender(vm);
	change_forget(vm);
	manager_mm_track_vm(vm->manager, vm);
	/* journals the new VMM, then sets the old one's limit back */
	vm_memlock_move_done(vm, &old);
	vm_send_memory_changed(vm); /* VMMPid */
	log_info("VM %s: its VMM is pid %d now (was pid %d): %" PRIu64 " bytes of charge moved.",
		 vm->name, (int) vm->vmm.pid, (int) old.pid, moved);
	return 0;
}

int vm_change_process_commit(VM *vm, vfd_op_error *error, uint64_t *ret_moved)
{
	VMProcessChange *c = &vm->identity.change;
	uint64_t moved = 0;
	int r;

	if (c->target.pidfd < 0)
		return vfd_op_error_set(error, -ENOMSG, "", "no move of VM %s's charge is under way",
					vm->name);
	if (vm->state != VM_STATE_REGISTERED && vm->state != VM_STATE_ACTIVE) {
		r = vfd_op_error_set(error, -ESHUTDOWN, "", "VM %s is %s: its charge cannot move",
				     vm->name, vm_state_to_string(vm->state));
		(void) vm_change_process_abort(vm, "the VM is not registered or active");
		return r;
	}
	r = check_moved(vm, error, &moved);
	if (r >= 0)
		r = change_switch(vm, moved, error);
	if (r < 0) {
		if (r == -EXDEV)
			log_warning("VM %s: %s.", vm->name, error->message);
		/* decides again: a charge that left the old VMM strands the VM's charge (change_end()) */
		(void) change_end(vm, "the commit failed", true);
		return r;
	}
	*ret_moved = moved;
	return 0;
}
