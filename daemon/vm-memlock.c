/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"
#include "vfiod/fault.h"
#include "manager.h"
#include "vm-dbus.h"
#include "vm-journal.h"
#include "vm-memlock.h"
#include "vm-private.h"

#define MiB(b) ((double) (b) / (1024.0 * 1024.0))

static vfd_memlock_device_kind device_kind(const VMDevice *d)
{
	return d->is_mdev ? VFD_MEMLOCK_DEVICE_MDEV : VFD_MEMLOCK_DEVICE_PCI;
}

/*
 * The device's address space: behind a vIOMMU QEMU gives every device
 * one of its own, but a group can be in one container (type1) or attached
 * to one page table (iommufd) only, so it is one per IOMMU group; without
 * a vIOMMU all devices share the system address space.
 */
static int device_space(const VM *vm, const VMDevice *d)
{
	return vm->viommu && d->iommu_group >= 0 ? d->iommu_group : VFD_MEMLOCK_SPACE_AUTO;
}

/*
 * Only devices the VMM has attached charge: nothing is mapped through
 * vfiod's descriptors before the VMM has them (GetFds), and a device it
 * attaches itself (hot-add, a vIOMMU's further containers) counts once it
 * confirmed the attach. A VMM that opens its groups itself is trusted to
 * use every device.
 */
static bool device_charged(const VM *vm, const VMDevice *d)
{
	return d->in_use || vm->vmm_opens_groups;
}

/*
 * An mdev's type names its pin budget in the memlock settings: read from
 * the mdev's sysfs entry when the settings have any budget by type (an
 * mdev gone already takes the default budget, the larger one).
 */
static int spec_add(vfd_memlock_spec *spec, const VM *vm, const VMDevice *d)
{
	const vfd_memlock_config *cfg = manager_memlock_config(vm->manager);
	_cleanup_(vfd_mdev_freep) vfd_mdev *mdev = NULL;

	if (d->is_mdev && cfg && cfg->n_mdev_budgets > 0)
		(void) vfd_mdev_load(vm->manager->ctx, d->name, &mdev);
	return vfd_memlock_spec_add_device(spec, device_kind(d), d->name, mdev ? mdev->type_id : NULL,
					   device_space(vm, d));
}

/*
 * The model's spec of vm with extra added and without left out (either
 * may be NULL), with the charge observed now as its floor; charged_only:
 * the devices that charge now, no floor (the expected charge).
 */
static int build_spec(const VM *vm, const VMDevice *extra, const VMDevice *without, bool charged_only,
		      vfd_memlock_spec **ret)
{
	_cleanup_(vfd_memlock_spec_freep) vfd_memlock_spec *spec = NULL;
	int r;

	r = vfd_memlock_spec_new(&spec);
	if (r < 0)
		return r;
	spec->memory_kib = (vm->memory_bytes + 1023) / 1024;
	spec->kvm = true;
	spec->viommu = vm->viommu;
	spec->backend = vm->backend == VM_BACKEND_IOMMUFD ? VFD_MEMLOCK_BACKEND_IOMMUFD :
			VFD_MEMLOCK_BACKEND_TYPE1;
	/* vfiod sets IOMMU_OPTION_RLIMIT_MODE 1 on the iommufds it opens */
	spec->iommufd_accounting = VFD_MEMLOCK_IOMMUFD_PER_PROCESS;
	/* the VMM's own statement of what it maps besides guest memory */
	spec->has_headroom = vm->memlock.headroom_set;
	spec->headroom_bytes = vm->memlock.headroom_bytes;

	for (size_t i = 0; i < vm->n_devices; i++) {
		const VMDevice *d = &vm->devices[i];

		if (d == without || (charged_only && !device_charged(vm, d)))
			continue;
		r = spec_add(spec, vm, d);
		if (r < 0)
			return r;
	}
	if (extra) {
		r = spec_add(spec, vm, extra);
		if (r < 0)
			return r;
	}

	if (!charged_only && !vm->vmm_exited) {
		spec->has_observed = true;
		(void) vm_observed_memory(vm, &spec->observed_locked_bytes, &spec->observed_pinned_bytes);
	}

	*ret = TAKE_PTR(spec);
	return 0;
}

static int compute_limit(const VM *vm, const VMDevice *extra, const VMDevice *without,
			 uint64_t *ret)
{
	_cleanup_(vfd_memlock_spec_freep) vfd_memlock_spec *spec = NULL;
	_cleanup_(vfd_memlock_plan_freep) vfd_memlock_plan *plan = NULL;
	_cleanup_free_ char *msg = NULL;
	int r;

	r = build_spec(vm, extra, without, false, &spec);
	if (r < 0)
		return r;
	r = vfd_memlock_plan_compute(spec, manager_memlock_config(vm->manager), vm->memlock.policy, &plan, &msg);
	if (r < 0) {
		log_warning_errno(r, "VM %s: the memlock model refused the VM: %s", vm->name,
				  msg ? msg : "(no message)");
		return r;
	}
	*ret = plan->limit_bytes;
	return 0;
}

/*
 * The charge the kernel should report for vm's devices now, from the
 * model's own address spaces (lib's vfd_memlock_expected_charge()): guest
 * memory once per space with an IOMMU-backed device the VMM attached,
 * e.g. twice for two passthrough devices behind a vIOMMU; mdev-only spaces
 * charge vendor pins, at most their budget: the slack.
 */
static int expected_charge(const VM *vm, uint64_t *ret_expected, uint64_t *ret_slack)
{
	_cleanup_(vfd_memlock_spec_freep) vfd_memlock_spec *spec = NULL;
	int r;

	r = build_spec(vm, NULL, NULL, true, &spec);
	if (r < 0)
		return r;
	return vfd_memlock_expected_charge(spec, manager_memlock_config(vm->manager), ret_expected, ret_slack);
}

static void move_forget(VM *vm);

static rlim_t to_rlim(uint64_t v)
{
	return v == VFD_MEMLOCK_UNLIMITED ? RLIM_INFINITY : (rlim_t) v;
}

static uint64_t from_rlim(rlim_t v)
{
	return v == RLIM_INFINITY ? VFD_MEMLOCK_UNLIMITED : (uint64_t) v;
}

/*
 * Sets soft and hard limit (hard = soft unless restoring the original).
 * prlimit() takes a pid, not a pidfd, and holding a pidfd does not keep
 * a pid from being reused: a pid is free again once its process is
 * reaped, and a pidfd becomes readable at the exit, before the reap. So
 * the pidfd is checked before the call (a readable one: the pid may name
 * another process already, -ESRCH and no call) and after it (the process
 * exited meanwhile: -ESRCH). What is left is an exit, a reap and a reuse
 * of the pid all between the two, in the microseconds of one prlimit().
 */
static int set_process_limit(VM *vm, const VMMProcess *p, uint64_t soft, uint64_t hard)
{
	struct rlimit rl = { .rlim_cur = to_rlim(soft), .rlim_max = to_rlim(hard) };
	int r;

	r = vfd_fault_step(vm->manager->ctx, "memlock-set");
	if (r < 0)
		return r;
	r = vmm_process_exited(p);
	if (r < 0)
		return r;
	if (r > 0)
		return -ESRCH;
	if (prlimit(p->pid, RLIMIT_MEMLOCK, &rl, NULL) < 0)
		return negative_errno();
	r = vmm_process_exited(p);
	if (r < 0)
		return r;
	return r > 0 ? -ESRCH : 0;
}

static int set_limit(VM *vm, uint64_t soft, uint64_t hard)
{
	int r;

	r = set_process_limit(vm, &vm->vmm, soft, hard);
	if (r < 0)
		return r;
	vm->memlock.applied = soft;
	return 0;
}

#define MEMLOCK_RETRY_USEC (1 * UINT64_C(1000000))

static int on_memlock_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	VM *vm = userdata;

	retry_timer_disarm(&vm->memlock.retry);
	vm_memlock_after_change(vm, "retry");
	return 0;
}

/*
 * A lower (or a restore) that failed leaves the limit higher than the
 * plan, never below the charge: set again on a timer until it takes.
 */
static void retry_later(VM *vm, int error)
{
	/* -EPERM: vfiod lacks CAP_SYS_RESOURCE (a fixture test); no try will do better */
	if (error == -EPERM)
		return;
	/* every second: a limit is cheap to set, and the VMM runs above the plan meanwhile */
	if (retry_timer_arm(&vm->memlock.retry, vm->manager->event, MEMLOCK_RETRY_USEC,
			    MEMLOCK_RETRY_USEC, on_memlock_retry, vm) < 0)
		log_error("VM %s: cannot arm the limit's next try; the next change sets it.", vm->name);
}

void vm_memlock_done(VM *vm)
{
	retry_timer_reset(&vm->memlock.retry);
}

/* 0, or why the limit could not be set (logged) */
static int apply(VM *vm, uint64_t limit, const char *step)
{
	uint64_t hard = limit;
	int r;

	if (!vm->memlock.apply || !vm_has_vmm(vm) || vm->vmm_exited)
		return 0;
	if (limit == 0) {
		/* no device: the model leaves the limit alone; undo ours */
		if (vm->memlock.applied == 0 || !vm->memlock.original_known)
			return 0;
		limit = vm->memlock.original;
		hard = vm->memlock.original_hard;
		r = set_limit(vm, limit, hard);
		if (r < 0) {
			log_warning_errno(r, "VM %s (%s): cannot restore the VMM's RLIMIT_MEMLOCK: %m; "
					  "trying again.", vm->name, step);
			retry_later(vm, r);
			return r;
		}
		vm->memlock.applied = 0;
		vm_memlock_done(vm);
		log_info("VM %s (%s): RLIMIT_MEMLOCK of the VMM (pid %d) restored to %" PRIu64
			 " bytes (no device left).", vm->name, step, (int) vm->vmm.pid, limit);
		return 0;
	}
	if (limit == vm->memlock.applied)
		return 0;

	r = set_limit(vm, limit, hard);
	if (r < 0) {
		log_warning_errno(r, "VM %s (%s): cannot set the VMM's RLIMIT_MEMLOCK to %" PRIu64
				  " bytes: %m", vm->name, step, limit);
		/* a raise fails its step (the caller undoes it); a lower is tried again */
		if (limit < vm->memlock.applied)
			retry_later(vm, r);
		return r;
	}
	vm_memlock_done(vm);
	log_info("VM %s (%s): RLIMIT_MEMLOCK of the VMM (pid %d) set to %" PRIu64 " bytes (%.1f MiB, "
		 "policy %s).", vm->name, step, (int) vm->vmm.pid, limit, MiB(limit),
		 vfd_memlock_policy_to_string(vm->memlock.policy));
	return 0;
}

void vm_memlock_register(VM *vm)
{
	uint64_t limit = 0;
	struct rlimit rl;

	/* read while the pidfd holds the process: kept to be restored */
	if (prlimit(vm->vmm.pid, RLIMIT_MEMLOCK, NULL, &rl) >= 0 && vmm_process_exited(&vm->vmm) == 0) {
		vm->memlock.original = from_rlim(rl.rlim_cur);
		vm->memlock.original_hard = from_rlim(rl.rlim_max);
		vm->memlock.original_known = true;
	}
	if (compute_limit(vm, NULL, NULL, &limit) >= 0)
		(void) apply(vm, limit, "register");
	(void) vm_memlock_check(vm, "register");
}

int vm_memlock_before_add(VM *vm, const VMDevice *d, vfd_op_error *error)
{
	uint64_t limit;
	int r;

	/* the move checks the charge against the devices of its start: one change at a time */
	if (vm_change_process_target(vm) != 0)
		return vfd_op_error_set(error, -EBUSY, d->name, "the charge of VM %s is moving to pid "
					"%d: a device change waits for the move's end", vm->name,
					(int) vm_change_process_target(vm));
	r = compute_limit(vm, d, NULL, &limit);
	if (r < 0)
		return vfd_op_error_set(error, r, d->name, "cannot compute the VM's memlock limit");
	if (limit != 0 && limit > vm->memlock.cap)
		return vfd_op_error_set(error, -EDQUOT, d->name,
					"with this device VM %s needs a memlock limit of %" PRIu64
					" bytes, above its cap of %" PRIu64 " bytes", vm->name, limit,
					vm->memlock.cap);
	return 0;
}

int vm_memlock_after_add(VM *vm, const char *device, vfd_op_error *error)
{
	uint64_t limit;
	int r = 0;

	/* raise only: the device is in the VM's list, the VMM has no descriptor for it yet */
	if (compute_limit(vm, NULL, NULL, &limit) >= 0 && limit > vm->memlock.applied)
		r = apply(vm, limit, "add");
	/*
	 * Without the raise the device goes back: the VMM must never hold a
	 * device its limit does not cover. -EPERM is vfiod without
	 * CAP_SYS_RESOURCE (tests on a fixture root, never the shipped unit):
	 * it cannot set any limit, says so (apply()) and goes on.
	 */
	if (r < 0 && r != -EPERM)
		return vfd_op_error_set(error, r, device, "cannot raise the VMM's RLIMIT_MEMLOCK to "
					"%" PRIu64 " bytes for it; the device is given back", limit);
	(void) vm_memlock_check(vm, "add");
	return 0;
}

void vm_memlock_after_change(VM *vm, const char *step)
{
	uint64_t limit;
	int r;

	if (compute_limit(vm, NULL, NULL, &limit) >= 0) {
		r = apply(vm, limit, step);
		/* a raise outside an add (recovery, libvirt's attach): tried again too */
		if (r < 0 && limit > vm->memlock.applied)
			retry_later(vm, r);
	}
	(void) vm_memlock_check(vm, step);
}

/*
 * CheckCharge runs the check for anyone, as often as they like: the lines
 * of its "check" step share one rate limit. The steps vfiod takes itself
 * (add, remove, exit) are always logged.
 */
static LogRatelimit check_step_lines = LOG_RATELIMIT_INIT("VM %s (check): ...");
#define log_charge(step, level, error, ...)                                                \
	((void) (strcmp((step), "check") != 0 || log_ratelimit_pass(&check_step_lines, (level)) \
			 ? log_internal((level), (error), __VA_ARGS__) : 0))

int vm_memlock_check(VM *vm, const char *step)
{
	uint64_t locked = 0, pinned = 0, expected, slack, limit;
	const char *source;
	bool match, changed;
	int r;

	r = expected_charge(vm, &expected, &slack);
	if (r < 0) {
		log_charge(step, LOG_WARNING, r, "VM %s (%s): cannot compute the expected charge: %m",
			   vm->name, step);
		expected = slack = 0;
	}
	/*
	 * What the VMM maps besides guest memory (QEMU: its firmware ROMs,
	 * 256 KiB of SeaBIOS), per address space that charges guest memory:
	 * a tolerance, declared at registration, not a guess of vfiod's.
	 */
	if (vm->memory_bytes > 0)
		slack += vm->memlock.extra_charge_bytes * (expected / vm->memory_bytes);
	source = vm_observed_memory(vm, &locked, &pinned);
	limit = vm_memlock_limit(vm);

	match = locked >= expected && locked - expected <= slack;
	/*
	 * CheckCharge may come from anyone, as often as they like: its check
	 * signals only what changed, so it cannot be turned into a flood of
	 * signals to every listener.
	 */
	changed = vm->memlock.expected_charge != expected || vm->memlock.observed_charge != locked ||
		  vm->memlock.charge_matches != match;
	vm->memlock.expected_charge = expected;
	vm->memlock.expected_slack = slack;
	/* type1 and per-process iommufd both charge mm->locked_vm */
	vm->memlock.observed_charge = locked;
	vm->memlock.charge_matches = match;

	if (vm->vmm_exited)
		log_charge(step, LOG_INFO, 0, "VM %s (%s): VMM exited; %" PRIu64 " bytes still charged to its mm (%s).",
			 vm->name, step, locked, source);
	else if (!match)
		log_charge(step, LOG_WARNING, 0, "VM %s (%s): charge MISMATCH: expected %" PRIu64 " bytes%s, observed %"
			    PRIu64 " bytes locked (%s); limit %" PRIu64 ".", vm->name, step, expected,
			    slack ? " plus vendor pins" : "", locked, source, limit);
	else
		log_charge(step, LOG_INFO, 0, "VM %s (%s): charge as expected: %" PRIu64 " bytes locked (%s), limit %" PRIu64
			 ".", vm->name, step, locked, source, limit);
	if (!vm->vmm_exited && limit != UINT64_MAX && limit < locked)
		log_charge(step, LOG_WARNING, 0, "VM %s (%s): the VMM's RLIMIT_MEMLOCK %" PRIu64 " is below its charge %"
			    PRIu64 ".", vm->name, step, limit, locked);

	if (changed || strcmp(step, "check") != 0)
		vm_send_charge_checked(vm, step);
	return match;
}

uint64_t vm_memlock_limit(const VM *vm)
{
	uint64_t limit;

	if (!vm_has_vmm(vm) || vm->vmm_exited || vmm_process_memlock_limit(&vm->vmm, &limit) < 0)
		return UINT64_MAX;
	return limit;
}

uint64_t vm_memlock_expected(const VM *vm)
{
	return vm->memlock.expected_charge;
}

uint64_t vm_memlock_observed(const VM *vm)
{
	return vm->memlock.observed_charge;
}

bool vm_memlock_matches(const VM *vm)
{
	return vm->memlock.charge_matches;
}

void vm_memlock_resync(VM *vm, const char *what)
{
	uint64_t now = vm_memlock_limit(vm);

	if (now == UINT64_MAX || vm->memlock.applied == 0 || now == vm->memlock.applied)
		return;
	log_info("VM %s: libvirt changed the VMM's RLIMIT_MEMLOCK on %s from %" PRIu64 " to %" PRIu64
		 " bytes; vfiod applies its plan again.", vm->name, what, vm->memlock.applied, now);
	vm->memlock.applied = now;
}

void vm_memlock_init(VM *vm, const VMConfig *config)
{
	vm->memlock.apply = config->apply_memlock;
	vm->memlock.policy = config->memlock_policy;
	vm->memlock.cap = config->memlock_cap;
	vm->memlock.extra_charge_bytes = config->extra_charge_bytes;
	vm->memlock.headroom_set = config->memlock_headroom_set;
	vm->memlock.headroom_bytes = config->memlock_headroom_bytes;
	vm->memlock.charge_matches = true;
}

void vm_memlock_restore(VM *vm, const VMJournalSaved *saved)
{
	vm->memlock.original_known = saved->memlock_original_known;
	vm->memlock.original = saved->memlock_original;
	vm->memlock.original_hard = saved->memlock_original_hard;
	vm->memlock.applied = saved->memlock_applied;
	vm->memlock.move_stale_pid = saved->change_pid;
	vm->memlock.move_stale_start_time = saved->change_start_time;
	vm->memlock.move_stale_old_pinned = saved->change_old_pinned;
	vm->memlock.move_stale_old_pinned_known = saved->change_old_pinned_known;
	vm->memlock.stranded = saved->charge_stranded;
	if (saved->charge_stranded)
		vm->memlock.apply = false;
	vm->memlock.move_original = saved->change_original;
	vm->memlock.move_original_hard = saved->change_original_hard;
}

/*
 * The previous vfiod had raised the limit of a process the VM's charge
 * was moving to, and died before the move ended: the move ends here, the
 * VM stays with its VMM, and that limit is set back if the pid still
 * names the same process (its start time).
 */
void vm_memlock_move_recover(VM *vm)
{
	_cleanup_(vmm_process_done) VMMProcess p = VMM_PROCESS_NULL;
	uint64_t start = 0, locked, pinned;
	uid_t uid;
	int r;

	if (vm->memlock.move_stale_pid == 0)
		return;
	r = vmm_process_from_pid(vm->memlock.move_stale_pid, &p);
	if (r >= 0)
		r = vmm_process_observe(&p, &start, &uid);
	if (r >= 0 && start == vm->memlock.move_stale_start_time) {
		r = set_process_limit(vm, &p, vm->memlock.move_original, vm->memlock.move_original_hard);
		if (r < 0)
			log_warning_errno(r, "VM %s (recover): cannot set the RLIMIT_MEMLOCK of pid %d back "
					  "to %" PRIu64 " bytes: %m", vm->name, (int) p.pid,
					  vm->memlock.move_original);
		else
			log_info("VM %s (recover): the move of its charge to pid %d ended with the "
				 "previous vfiod; its RLIMIT_MEMLOCK is %" PRIu64 " bytes again.", vm->name,
				 (int) p.pid, vm->memlock.move_original);
	} else
		log_info("VM %s (recover): the process its charge was moving to (pid %d) is gone.",
			 vm->name, (int) vm->memlock.move_stale_pid);
	/*
	 * The VMM pins less than at the move's start: the kernel moved (some
	 * of) the charge to the target while no vfiod watched. Nothing
	 * proves where it is now: the VMM's limit is lowered too, and the
	 * VM's charge stranded (vm_memlock_strand()).
	 */
	if (vm->memlock.move_stale_old_pinned_known && vm_has_vmm(vm) &&
	    vmm_process_read_memory(&vm->vmm, &locked, &pinned) >= 0 &&
	    pinned < vm->memlock.move_stale_old_pinned)
		vm_memlock_strand(vm, "recover");
	vm->memlock.move_stale_old_pinned_known = false;
	vm->memlock.move_stale_old_pinned = 0;
	vm->memlock.move_stale_pid = 0;
	vm->memlock.move_stale_start_time = 0;
	move_forget(vm);
}

void vm_memlock_recover(VM *vm)
{
	/*
	 * A raise the old process made but did not journal shows in the
	 * VMM's limit: that is the one vfiod set last.
	 */
	if (vm->memlock.apply) {
		uint64_t now = vm_memlock_limit(vm);
		uint64_t journaled = vm->memlock.applied ? vm->memlock.applied : vm->memlock.original;

		if (now != UINT64_MAX && now != journaled)
			vm->memlock.applied = now;
	}
	vm_memlock_after_change(vm, "recover");
}

/* ---- a move of the charge to another process (vm-identity.c) ---- */

int vm_memlock_expected_now(VM *vm, uint64_t *ret_expected, uint64_t *ret_slack)
{
	uint64_t expected, slack;
	int r;

	r = expected_charge(vm, &expected, &slack);
	if (r < 0)
		return r;
	/* as vm_memlock_check(): the VMM's extra mappings per space that charges guest memory */
	if (vm->memory_bytes > 0)
		slack += vm->memlock.extra_charge_bytes * (expected / vm->memory_bytes);
	*ret_expected = expected;
	*ret_slack = slack;
	return 0;
}

bool vm_memlock_stranded(const VM *vm)
{
	return vm->memlock.stranded;
}

void vm_memlock_strand(VM *vm, const char *step)
{
	int r;

	vm->memlock.stranded = true;
	if (vm->memlock.apply && vm->memlock.applied != 0 && vm->memlock.original_known &&
	    vm_has_vmm(vm)) {
		/*
		 * Set back, but never above what vfiod had confined the VMM to
		 * (soft = hard = applied): a VMM whose launcher gave it more
		 * must not win it back by stranding its own charge.
		 */
		uint64_t cap = vm->memlock.applied;
		uint64_t soft = vm->memlock.original < cap ? vm->memlock.original : cap;
		uint64_t hard = vm->memlock.original_hard < cap ? vm->memlock.original_hard : cap;

		r = set_process_limit(vm, &vm->vmm, soft, hard);
		if (r < 0 && r != -ESRCH)
			log_warning_errno(r, "VM %s (%s): cannot set the RLIMIT_MEMLOCK of the VMM (pid %d) "
					  "back to %" PRIu64 " bytes: %m", vm->name, step,
					  (int) vm->vmm.pid, soft);
		else if (r == 0)
			log_warning("VM %s (%s): RLIMIT_MEMLOCK of the VMM (pid %d) set back to %" PRIu64
				    " bytes.", vm->name, step, (int) vm->vmm.pid, soft);
	}
	vm->memlock.applied = 0;
	vm->memlock.apply = false;
	retry_timer_disarm(&vm->memlock.retry);
	log_warning("VM %s (%s): part of its charge left the VMM (pid %d) without a commit: vfiod "
		    "sets no RLIMIT_MEMLOCK for the VM any more, and refuses another move of its "
		    "charge, until the VM is released.", vm->name, step, (int) vm->vmm.pid);
}

static void move_forget(VM *vm)
{
	vm->memlock.move_original_known = false;
	vm->memlock.move_original = vm->memlock.move_original_hard = 0;
	vm->memlock.move_raised = false;
}

int vm_memlock_move_prepare(VM *vm, const VMMProcess *target, vfd_op_error *error)
{
	struct rlimit rl;

	move_forget(vm);
	/* read while the pidfd holds the process (checked before and after): what is set back */
	if (vmm_process_exited(target) != 0 || prlimit(target->pid, RLIMIT_MEMLOCK, NULL, &rl) < 0 ||
	    vmm_process_exited(target) != 0)
		return vfd_op_error_set(error, -ESRCH, "", "cannot read the RLIMIT_MEMLOCK of pid %d",
					(int) target->pid);
	vm->memlock.move_original = from_rlim(rl.rlim_cur);
	vm->memlock.move_original_hard = from_rlim(rl.rlim_max);
	vm->memlock.move_original_known = true;
	/* vfiod sets no limit for this VM: the target's own is what the kernel checks */
	vm->memlock.move_raised = vm->memlock.apply && vm->memlock.applied != 0;
	return 0;
}

int vm_memlock_move_raise(VM *vm, const VMMProcess *target, vfd_op_error *error)
{
	uint64_t limit, hard;
	int r;

	if (!vm->memlock.move_raised)
		return 0;
	/* the soft limit is what the kernel checks; the hard one is raised only when it is lower */
	limit = vm->memlock.applied;
	hard = vm->memlock.move_original_hard >= limit ? vm->memlock.move_original_hard : limit;
	r = set_process_limit(vm, target, limit, hard);
	if (r < 0)
		return vfd_op_error_set(error, r, "", "cannot raise the RLIMIT_MEMLOCK of pid %d to %"
					PRIu64 " bytes before it takes the VM's charge: %s",
					(int) target->pid, limit, strerror(-r));
	log_info("VM %s (change-process): RLIMIT_MEMLOCK of pid %d raised from %" PRIu64 " to %"
		 PRIu64 " bytes (hard limit %" PRIu64 "%s) before it takes the VM's charge.", vm->name,
		 (int) target->pid, vm->memlock.move_original, limit, hard,
		 hard == vm->memlock.move_original_hard ? ", its own" : ", raised too");
	return 0;
}

void vm_memlock_move_undo(VM *vm, const VMMProcess *target)
{
	int r;

	if (vm->memlock.move_raised && vm->memlock.move_original_known) {
		r = set_process_limit(vm, target, vm->memlock.move_original,
				      vm->memlock.move_original_hard);
		if (r == -ESRCH)
			log_info("VM %s (change-process): pid %d exited; no limit to set back.",
				 vm->name, (int) target->pid);
		else if (r < 0)
			log_warning_errno(r, "VM %s (change-process): cannot set the RLIMIT_MEMLOCK of "
					  "pid %d back to %" PRIu64 " bytes: %m", vm->name,
					  (int) target->pid, vm->memlock.move_original);
		else
			log_info("VM %s (change-process): RLIMIT_MEMLOCK of pid %d set back to %" PRIu64
				 " bytes (the move did not happen).", vm->name, (int) target->pid,
				 vm->memlock.move_original);
	}
	move_forget(vm);
}

void vm_memlock_move_done(VM *vm, const VMMProcess *old)
{
	bool old_known = vm->memlock.original_known;
	uint64_t old_soft = vm->memlock.original, old_hard = vm->memlock.original_hard;
	int r;

	/* the new VMM's own limit is the one to restore when the VM has no device left */
	vm->memlock.original_known = vm->memlock.move_original_known;
	vm->memlock.original = vm->memlock.move_original;
	vm->memlock.original_hard = vm->memlock.move_original_hard;
	if (!vm->memlock.move_raised)
		vm->memlock.applied = 0;
	move_forget(vm);

	/* the journal names the new VMM before the old one's limit goes down (a crash between: recover) */
	(void) vm_journal_save(vm);
	/* the new VMM confined as any VMM (soft = hard = the limit): the move raised its soft limit only */
	if (vm->memlock.applied != 0 && vm_has_vmm(vm)) {
		r = set_process_limit(vm, &vm->vmm, vm->memlock.applied, vm->memlock.applied);
		if (r < 0 && r != -ESRCH)
			log_warning_errno(r, "VM %s (change-process): cannot set the hard RLIMIT_MEMLOCK of "
					  "the new VMM (pid %d) to %" PRIu64 " bytes: %m", vm->name,
					  (int) vm->vmm.pid, vm->memlock.applied);
	}
	/* lowered after the move, as after a remove: the old VMM holds none of the VM's charge now */
	if (vm->memlock.applied != 0 && old_known) {
		r = set_process_limit(vm, old, old_soft, old_hard);
		if (r < 0 && r != -ESRCH)
			log_warning_errno(r, "VM %s (change-process): cannot set the RLIMIT_MEMLOCK of the "
					  "old VMM (pid %d) back to %" PRIu64 " bytes: %m", vm->name,
					  (int) old->pid, old_soft);
		else if (r == 0)
			log_info("VM %s (change-process): RLIMIT_MEMLOCK of the old VMM (pid %d) set back "
				 "to %" PRIu64 " bytes.", vm->name, (int) old->pid, old_soft);
	}
	(void) vm_memlock_check(vm, "change-process");
}
