/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMM's memory as vfiod sees it: the vfiod_mm helper's view of its mm
 * (VMMm, fed by manager-mm.c), the counters at its exit, /proc while it
 * lives.
 */
#include <inttypes.h>

#include "log.h"
#include "manager.h"
#include "manager-mm.h"
#include "vm-dbus.h"
#include "vm-private.h"

const char *vm_observed_memory(const VM *vm, uint64_t *ret_locked, uint64_t *ret_pinned)
{
	vfd_mm_info info;

	if (manager_mm_get(vm->manager, vm, &info) >= 0) {
		*ret_locked = info.locked_bytes;
		*ret_pinned = info.pinned_bytes;
		return "vfiod_mm";
	}
	if (vm->mm.have_exit_counters) {
		/* the helper lost the handle (unloaded): the last counters it reported */
		*ret_locked = vm->mm.exit_locked_bytes;
		*ret_pinned = vm->mm.exit_pinned_bytes;
		return "vfiod_mm at exit";
	}
	if (vm_has_vmm(vm) && !vm->vmm_exited &&
	    vmm_process_read_memory(&vm->vmm, ret_locked, ret_pinned) >= 0)
		return "proc";
	*ret_locked = 0;
	*ret_pinned = 0;
	return "none";
}

const char *vm_vmm_state(const VM *vm)
{
	if (!vm_has_vmm(vm))
		return "none";
	if (vm->mm.handle != 0 && vm->mm.state == VFD_MM_STATE_RELEASED)
		return "released";
	if (vm->vmm_exited || (vm->mm.handle != 0 && vm->mm.state == VFD_MM_STATE_EXITED))
		return "exited";
	return "alive";
}

void vm_mm_update(VM *vm, vfd_mm_event_type type, const vfd_mm_info *info)
{
	vfd_mm_state old = vm->mm.state;

	vm->mm.state = info->state;
	if (info->state != VFD_MM_STATE_ALIVE && !vm->mm.have_exit_counters) {
		/* an EXITED event carries the counters of the exit; a resync those of now */
		vm->mm.have_exit_counters = true;
		vm->mm.exit_locked_bytes = info->locked_bytes;
		vm->mm.exit_pinned_bytes = info->pinned_bytes;
		log_info("VM %s: the VMM's address space is gone; %" PRIu64 " bytes locked, %" PRIu64
			 " bytes pinned at its exit (vfiod_mm handle %u, %u reference(s) held).",
			 vm->name, info->locked_bytes, info->pinned_bytes, info->handle, info->mm_refs);
	}
	if (type == VFD_MM_EVENT_ZERO)
		log_info("VM %s: the dead VMM's locked and pinned counters reached 0.", vm->name);
	if (info->state == VFD_MM_STATE_RELEASED && old != VFD_MM_STATE_RELEASED)
		log_info("VM %s: vfiod_mm reports RELEASED: no pin holder of the VMM's memory is left "
			 "(locked %" PRIu64 ", pinned %" PRIu64 " bytes stay charged to the dead mm: stale).",
			 vm->name, info->locked_bytes, info->pinned_bytes);
	vm_send_memory_changed(vm);
}

void vm_get_exit_memory(const VM *vm, uint64_t *ret_locked, uint64_t *ret_pinned)
{
	*ret_locked = vm->mm.exit_locked_bytes;
	*ret_pinned = vm->mm.exit_pinned_bytes;
}

uint32_t vm_mm_handle(const VM *vm)
{
	return vm->mm.handle;
}

void vm_mm_tracked(VM *vm, const vfd_mm_info *info)
{
	vm->mm.handle = info->handle;
	vm->mm.state = info->state;
}

void vm_mm_untracked(VM *vm)
{
	vm->mm.handle = 0;
}
