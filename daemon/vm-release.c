/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Releasing a VM (state "releasing" in vm.h): vfiod's own descriptors
 * closed, then each device proven free (device-proof.h) and given back on
 * the unbind worker (unbind-worker.h), last added first. A held device
 * makes the release wait, not vfiod: it proves again when the VMM exits
 * and on a timer, and finishes when the last holder is gone.
 *
 * Before a PCI function is given back it is reset and the reset checked
 * (lib/include/vfiod/device-reset.h), on the worker, through the group the
 * proof holds: a function whose reset fails or does not take is
 * quarantined (quarantine.h) and goes to no VM until an administrator
 * clears it. It is given back all the same: where it came from (its host
 * driver, or no driver) is where vfiod's journal says it belongs.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device-proof.h"
#include "vfiod/device-reset.h"
#include "log.h"
#include "manager.h"
#include "quarantine.h"
#include "unbind-worker.h"
#include "vm-dbus.h"
#include "vm-backend.h"
#include "vm-private.h"
#include "vm-journal.h"
#include "vm.h"
#include "vgpu.h"

#define RELEASE_RETRY_FIRST_USEC (200 * UINT64_C(1000))
#define RELEASE_RETRY_MAX_USEC (10 * UINT64_C(1000000))

/* what a give-back writes, owned by the worker's thread meanwhile */
typedef struct GiveBack {
	char name[VFD_UUID_STRLEN];
	vfd_bind_record *bind; /* a copy of the device's record: the thread clears changed */
	bool remove_mdev;
	bool mdev_removed;
	bool reset_vgpu;   /* a vGPU vfiod set: its type back to 0, before the unbind */
	bool vgpu_reset;
	/* a PCI function is reset before the unbind, through the proof's guard */
	bool reset;
	int guard;       /* the group held since the proof (the worker closes it after us); -1 */
	int iommu_group; /* to open it when no proof was needed (nothing unbinds); -1 */
	int reset_r;     /* < 0: the reset failed or did not take, reset_error says why */
	const char *quarantine_dir; /* the manager's, constant while vfiod runs; NULL: none */
	char vm_name[QUARANTINE_VM_MAX];
	vfd_op_error reset_error;
	vfd_reset_check reset_check;
} GiveBack;

static void give_back_free(void *p)
{
	GiveBack *g = p;

	if (!g)
		return;
	vfd_bind_record_free(g->bind);
	free(g);
}

/*
 * On the worker's thread: the reset and its check, before the function
 * leaves VFIO. Without a guard (no proof was needed: nothing unbinds),
 * the reset holds the group itself.
 */
static void reset_work(vfd_context *ctx, GiveBack *g)
{
	vfd_op_error_clear(&g->reset_error);
	g->reset_r = vfd_pci_reset_and_verify(ctx, g->name, g->guard, g->iommu_group, &g->reset_error,
					      &g->reset_check);
	/* on disk before the unbind: a vfiod killed before the loop hears of it still knows */
	if (g->reset_r < 0 && g->quarantine_dir)
		(void) quarantine_record_write(g->quarantine_dir, g->name, g->vm_name,
					       g->reset_error.message);
}

/* on the worker's thread */
static int give_back_work(vfd_context *ctx, void *data, vfd_op_error *error)
{
	GiveBack *g = data;
	int r, first = 0;

	if (g->reset)
		reset_work(ctx, g);

	/* closed by everyone (proven): the only point where the type may change */
	if (g->reset_vgpu) {
		r = vgpu_reset_ctx(ctx, g->name);
		if (r < 0)
			return vfd_op_error_set(error, r, g->name, "cannot set the vGPU type back to 0: %s",
						strerror(-r));
		g->vgpu_reset = true;
	}
	if (g->bind) {
		r = vfd_bind_release(ctx, g->bind, error);
		if (r < 0)
			first = r;
	}
	if (g->remove_mdev) {
		r = vfd_mdev_remove(ctx, g->name, error);
		if (r >= 0 || r == -ENODEV)
			g->mdev_removed = true;
		else if (first == 0)
			first = r;
	}
	return first;
}

static void busy_set(VM *vm, const char *device, const char *status, const char *detail)
{
	if (device != vm->release.busy_device)
		snprintf(vm->release.busy_device, sizeof(vm->release.busy_device), "%s", device);
	vm->release.busy_status = status;
	if (detail != vm->release.busy_detail)
		snprintf(vm->release.busy_detail, sizeof(vm->release.busy_detail), "%s", detail);
	vm_send_busy_changed(vm);
}

static void busy_clear(VM *vm)
{
	if (!vm->release.busy_device[0])
		return;
	vm->release.busy_device[0] = '\0';
	vm->release.busy_status = NULL;
	vm->release.busy_detail[0] = '\0';
	vm_send_busy_changed(vm);
}

int vm_device_prove_free(VM *vm, VMDevice *d, vfd_op_error *error, int *ret_guard)
{
	DeviceProofTarget targets[16];
	/* files of it went to the VMM that vfiod did not open from a group it holds */
	bool handed = vm->backend == VM_BACKEND_IOMMUFD && (vm->fds_handed_out || vm_device_n_handed(d) > 0);
	size_t n = 0;
	int r;

	*ret_guard = -1;
	/* what vfiod keeps of the VMM's files first: its copies would hold the device too */
	r = vm_backend_let_go_of_handed(vm, d, error);
	if (r < 0)
		return r;

	for (size_t i = 0; d->bind && i < d->bind->n_members && n < 15; i++)
		if (d->bind->members[i].changed)
			targets[n++] = (DeviceProofTarget) { .name = d->bind->members[i].name };
	if (d->is_mdev && d->created)
		targets[n++] = (DeviceProofTarget) { .name = d->name, .is_mdev = true };
	/*
	 * Nothing of it is unbound or removed, yet a file the VMM kept would
	 * keep the device, bound to vfio-pci, after it left the VM: proven too.
	 */
	if (n == 0 && handed)
		targets[n++] = (DeviceProofTarget) { .name = d->name, .is_mdev = d->is_mdev };

	if (n == 0)
		return 0; /* nothing of it is unbound or removed */
	return device_prove_free(vm->manager->ctx, vm->manager->mm, d->iommu_group, targets, n,
				 error, ret_guard);
}

/* a Release waiting for its answer gets it now */
static void answer_waiter(VM *vm, VMState s, const vfd_op_error *error)
{
	VMReleaseDone done = vm->release.done;

	if (!done)
		return;
	vm->release.done = NULL;
	done(vm, s, error, TAKE_PTR(vm->release.userdata));
}

static void answer_remover(VM *vm, int r, const vfd_op_error *error)
{
	VMRemoveDone done = vm->release.remove_done;

	if (!done)
		return;
	vm->release.remove_done = NULL;
	done(vm, r, error, TAKE_PTR(vm->release.remove_userdata));
}

static int release_step(VM *vm, vfd_op_error *error);

/* the release went on without a caller: answered, and the VM dropped once released */
static void release_went_on(VM *vm, int s, const vfd_op_error *error)
{
	if (s == VM_STATE_RELEASING && !(error && error->error))
		return; /* a give-back runs: its end goes on */
	answer_waiter(vm, (VMState) s, error);
	if (s == VM_STATE_RELEASED)
		manager_vm_gone(vm->manager, vm);
}

static int on_release_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	VM *vm = userdata;
	vfd_op_error error;

	retry_timer_disarm(&vm->release.retry);
	if (vm->state != VM_STATE_RELEASING || vm->release.giveback)
		return 0;
	vfd_op_error_clear(&error);
	release_went_on(vm, release_step(vm, &error), &error);
	return 0;
}

static void retry_later(VM *vm)
{
	if (retry_timer_arm(&vm->release.retry, vm->manager->event, RELEASE_RETRY_FIRST_USEC,
			    RELEASE_RETRY_MAX_USEC, on_release_retry, vm) < 0)
		log_error("VM %s: cannot arm the release's next proof; the VMM's exit or Release "
			  "retries.", vm->name);
}

static void on_give_back_late(void *userdata)
{
	VM *vm = userdata;
	vfd_op_error error;

	if (vm->release.removes) {
		log_error("VM %s: removing %s is stuck in the kernel: a holder the proof did not see "
			  "keeps the device open. vfiod goes on; the remove ends when it is closed.",
			  vm->name, vm->release.busy_device);
		busy_set(vm, vm->release.busy_device, "stuck", "the unbind waits in the kernel for the "
			 "device's last open file");
		vfd_op_error_clear(&error);
		vfd_op_error_set(&error, -ETIMEDOUT, vm->release.busy_device, "the unbind is stuck in the "
				 "kernel until the device's last open file is closed; the remove "
				 "finishes then");
		answer_remover(vm, -ETIMEDOUT, &error);
		/* a Release waiting for this give-back hears it too: it finishes later */
		vfd_op_error_clear(&error);
		vfd_op_error_set(&error, -EBUSY, vm->release.busy_device, "the unbind is stuck in the kernel "
				 "until the device's last open file is closed; VM %s stays releasing and "
				 "finishes then", vm->name);
		answer_waiter(vm, VM_STATE_RELEASING, &error);
		return;
	}

	log_error("VM %s: giving back %s is stuck in the kernel: a holder the proof did not see "
		  "keeps the device open. vfiod goes on; the release ends when it is closed.",
		  vm->name, vm->release.busy_device);
	busy_set(vm, vm->release.busy_device, "stuck", "the unbind waits in the kernel for the device's "
		 "last open file");
	vfd_op_error_clear(&error);
	vfd_op_error_set(&error, -EBUSY, vm->release.busy_device, "the unbind is stuck in the kernel until "
			 "the device's last open file is closed; VM %s stays releasing and finishes "
			 "then", vm->name);
	answer_waiter(vm, VM_STATE_RELEASING, &error);
}

static void on_give_back_done(void *userdata, void *data, int r, const vfd_op_error *error)
{
	VM *vm = userdata;
	GiveBack *g = data;
	VMDevice *d = vm_find_device(vm, g->name);
	vfd_op_error next;

	vm->release.giveback = NULL;
	busy_clear(vm);
	if (g->reset && g->reset_r < 0)
		manager_quarantine_device(vm->manager, g->name, vm->name, g->reset_error.message);
	else if (g->reset && g->reset_check == VFD_RESET_CHECK_NONE)
		log_warning("VM %s: %s has no reset method; it goes on without a reset.", vm->name,
			    g->name);
	else if (g->reset && g->reset_check == VFD_RESET_CHECK_OFF_VFIO)
		log_info("VM %s: %s is on no VFIO driver any more: its give-back resumes, and its "
			 "reset was done before the give-back's first unbind.", vm->name, g->name);
	else if (g->reset)
		log_info("VM %s: %s reset, and the reset checked (%s).", vm->name, g->name,
			 vfd_reset_check_to_string(g->reset_check));
	if (d) {
		/* the record as the thread left it: what was restored is no longer changed */
		vfd_bind_record_free(d->bind);
		d->bind = TAKE_PTR(g->bind);
		if (g->mdev_removed)
			d->created = false;
		if (g->vgpu_reset)
			d->vgpu_type = 0;
	}
	if (g->reset_vgpu)
		vgpu_note_changed(vm->manager, g->name);
	give_back_free(g);

	if (vm->release.removes) {
		/* a RemoveDevice's give-back: vm.c finishes its transaction, the caller hears */
		vm->release.removes = false;
		vfd_op_error_clear(&next);
		r = vm_remove_given_back(vm, d, r, error, &next);
		answer_remover(vm, r, r < 0 ? &next : NULL);
		/* a Release asked meanwhile waited for this give-back: it goes on now */
		if (vm->state == VM_STATE_RELEASING) {
			vfd_op_error_clear(&next);
			release_went_on(vm, release_step(vm, &next), &next);
		}
		return;
	}

	if (r < 0) {
		log_error("VM %s: giving back %s failed: %s", vm->name, d ? d->name : "?",
			  error->message[0] ? error->message : "see the kernel log");
		vm_set_state(vm, VM_STATE_FAILED);
		answer_waiter(vm, VM_STATE_FAILED, error);
		return;
	}
	if (d) {
		log_info("VM %s: gave %s back.", vm->name, d->name);
		vm_drop_device(vm, d);
		vm_send_devices_changed(vm);
		(void) vm_journal_save(vm);
	}
	vfd_op_error_clear(&next);
	release_went_on(vm, release_step(vm, &next), &next);
}

/*
 * d's give-back on the unbind worker: a copy of its claim's record for the
 * thread, the group guard handed on. 0, or negative with error set (guard
 * closed).
 */
static int give_back_start(VM *vm, const VMDevice *d, int guard, vfd_op_error *error)
{
	GiveBack *g;
	int r;

	g = calloc(1, sizeof(*g));
	if (!g) {
		if (guard >= 0)
			close(guard);
		return vfd_op_error_set(error, -ENOMEM, d->name, "out of memory");
	}
	snprintf(g->name, sizeof(g->name), "%s", d->name);
	g->remove_mdev = d->created;
	g->reset_vgpu = d->vgpu_type != 0;
	g->reset = !d->is_mdev;
	g->guard = guard;
	g->iommu_group = d->iommu_group;
	g->quarantine_dir = quarantine_dir(vm->manager->quarantine);
	snprintf(g->vm_name, sizeof(g->vm_name), "%s", vm->name);
	if (d->bind) {
		struct json_object *j = NULL;

		/* the record's state-file form is its deep copy */
		r = vfd_bind_record_to_json(d->bind, &j);
		if (r >= 0)
			r = vfd_bind_record_from_json(j, &g->bind);
		json_object_put(j);
		if (r < 0) {
			give_back_free(g);
			if (guard >= 0)
				close(guard);
			return vfd_op_error_set(error, r, d->name, "cannot copy the claim's record");
		}
	}
	r = unbind_worker_start(vm->manager->unbind, give_back_work, g, give_back_free, guard,
				on_give_back_done, on_give_back_late, vm, &vm->release.giveback);
	if (r < 0) {
		give_back_free(g);
		return vfd_op_error_set(error, r, d->name, "cannot start the give-back");
	}
	busy_set(vm, d->name, "unbinding", "");
	return 0;
}

int vm_remove_give_back_start(VM *vm, VMDevice *d, int guard, VMRemoveDone done, void *userdata,
			      vfd_op_error *error)
{
	int r;

	r = give_back_start(vm, d, guard, error);
	if (r < 0)
		return r;
	vm->release.remove_done = done;
	vm->release.remove_userdata = userdata;
	vm->release.removes = true;
	return 0;
}


/*
 * Gives the last device back, or starts to: RELEASED when none is left,
 * RELEASING with error -EBUSY when one is held (a retry is armed), or
 * RELEASING while its give-back runs on the worker; FAILED.
 */
static int release_step(VM *vm, vfd_op_error *error)
{
	while (vm->n_devices > 0) {
		VMDevice *d = &vm->devices[vm->n_devices - 1];
		int r, guard;

		r = vm_backend_unprepare(vm, d);
		if (r < 0) {
			vfd_op_error_set(error, r, d->name, "cannot give the group node back");
			vm_set_state(vm, VM_STATE_FAILED);
			return VM_STATE_FAILED;
		}

		r = vm_device_prove_free(vm, d, error, &guard);
		if (r == -EBUSY) {
			if (strcmp(vm->release.busy_device, d->name) != 0 || vm->release.retry.next_usec == 0)
				log_warning("VM %s: %s %s; the release waits for it.", vm->name, d->name,
					    error->message);
			busy_set(vm, d->name, "busy", error->message);
			retry_later(vm);
			return VM_STATE_RELEASING;
		}
		if (r < 0) {
			vm_set_state(vm, VM_STATE_FAILED);
			return VM_STATE_FAILED;
		}
		vm->release.retry.next_usec = 0;

		r = give_back_start(vm, d, guard, error);
		if (r < 0) {
			vm_set_state(vm, VM_STATE_FAILED);
			return VM_STATE_FAILED;
		}
		busy_set(vm, d->name, "unbinding", "");
		return VM_STATE_RELEASING;
	}

	vm->vmm_exit = sd_event_source_disable_unref(vm->vmm_exit);
	retry_timer_disarm(&vm->release.retry);
	vm_set_state(vm, VM_STATE_RELEASED);
	return VM_STATE_RELEASED;
}

int vm_release(VM *vm, VMReleaseDone done, void *userdata, vfd_op_error *error)
{
	int s;

	if (vm->state == VM_STATE_RELEASED)
		return VM_STATE_RELEASED;

	/* a move of the charge under way ends first (committed if the kernel moved it already) */
	(void) vm_change_process_abort(vm, "the VM is released");
	vm_set_state(vm, VM_STATE_RELEASING);
	if (vm_has_vmm(vm) && !vm->vmm_exited && vmm_process_exited(&vm->vmm) > 0)
		vm->vmm_exited = true;

	/* 1. vfiod's own VFIO descriptors: the kernel blocks unbinding while any is open */
	vm_backend_close(vm);

	/* 2. each device proven free and given back, last added first */
	if (vm->release.giveback)
		s = VM_STATE_RELEASING; /* under way: its end goes on */
	else {
		retry_timer_disarm(&vm->release.retry);
		s = release_step(vm, error);
	}
	if (s == VM_STATE_RELEASING && vm->release.giveback && done && !vm->release.done) {
		vm->release.done = done;
		vm->release.userdata = userdata;
		return -EINPROGRESS;
	}
	return s;
}

void vm_release_done_free(VM *vm)
{
	vfd_op_error error;

	retry_timer_disarm(&vm->release.retry);
	if (vm->release.giveback) {
		/* the thread finishes on its own; this vfiod no longer hears of it */
		unbind_job_abandon(vm->release.giveback);
		vm->release.giveback = NULL;
	}
	vfd_op_error_clear(&error);
	vfd_op_error_set(&error, -ESHUTDOWN, vm->name, "vfiod is exiting");
	answer_waiter(vm, VM_STATE_RELEASING, &error);
	answer_remover(vm, -ESHUTDOWN, &error);
}

void vm_get_busy(const VM *vm, const char **ret_device, const char **ret_status,
		 const char **ret_detail)
{
	*ret_device = vm->release.busy_device;
	*ret_status = vm->release.busy_status ? vm->release.busy_status : "";
	*ret_detail = vm->release.busy_detail;
}

bool vm_is_giving_back(const VM *vm)
{
	return vm->release.giveback;
}

/* ---- the VMM's exit ---- */

int vm_on_vmm_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	VM *vm = userdata;
	vfd_op_error error;
	int r;

	/* committed when the new process holds the VM's charge: the VMM is that one now, alive */
	if (vm_change_process_abort(vm, "the VMM exited") > 0)
		return 0;
	vm->vmm_exited = true;
	vm->vmm_exit = sd_event_source_disable_unref(vm->vmm_exit);
	vm_send_memory_changed(vm);
	if (!vm->release_on_exit) {
		uint64_t locked = 0, pinned = 0;
		const char *source = vm_observed_memory(vm, &locked, &pinned);

		/* post-mortem: vfiod keeps its references (and the pins) until Release */
		log_info("VM %s: VMM (pid %d) exited; kept until Release (release_on_exit off): "
			 "%" PRIu64 " bytes locked, %" PRIu64 " bytes pinned (%s).", vm->name,
			 (int) vm->vmm.pid, locked, pinned, source);
		return 0;
	}
	log_info("VM %s: VMM (pid %d) exited; releasing.", vm->name, (int) vm->vmm.pid);

	vfd_op_error_clear(&error);
	r = vm_release(vm, NULL, NULL, &error);
	if (r == VM_STATE_FAILED)
		log_error("VM %s: release after the VMM's exit failed: %s%s%s", vm->name,
			  error.subject, *error.subject ? ": " : "", error.message);
	if (r == VM_STATE_RELEASED)
		manager_vm_gone(vm->manager, vm);
	return 0;
}
