/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "manager-mm.h"
#include "manager.h"
#include "vm-dbus.h"
#include "vm.h"

static const char *const mm_helper_status_names[_MM_HELPER_STATUS_MAX] = {
	[MM_HELPER_ABSENT]           = "absent",
	[MM_HELPER_AVAILABLE]        = "available",
	[MM_HELPER_VERSION_MISMATCH] = "version-mismatch",
	[MM_HELPER_FAILED]           = "failed",
};

const char *mm_helper_status_to_string(MmHelperStatus s)
{
	return s >= 0 && s < _MM_HELPER_STATUS_MAX ? mm_helper_status_names[s] : NULL;
}

#define MiB(b) ((double) (b) / (1024.0 * 1024.0))

static VM *vm_by_handle(Manager *m, uint32_t handle)
{
	for (size_t i = 0; i < m->n_vms; i++)
		if (vm_mm_handle(m->vms[i]) == handle)
			return m->vms[i];
	return NULL;
}

static MmDraining *draining_by_handle(Manager *m, uint32_t handle)
{
	for (size_t i = 0; i < m->n_mm_draining; i++)
		if (m->mm_draining[i].handle == handle)
			return &m->mm_draining[i];
	return NULL;
}

static void draining_drop(Manager *m, MmDraining *d)
{
	size_t i = (size_t) (d - m->mm_draining);
	int r;

	r = vfd_mm_untrack(m->mm, d->handle);
	if (r < 0 && r != -ENOENT)
		log_warning_errno(r, "vfiod_mm: cannot untrack handle %u of VM %s: %m", d->handle, d->vm_name);
	sd_event_source_disable_unref(d->deadline);
	free(d->vm_name);
	memmove(&m->mm_draining[i], &m->mm_draining[i + 1], (m->n_mm_draining - i - 1) * sizeof(*d));
	m->n_mm_draining--;
}

static void log_released(const char *vm_name, const vfd_mm_info *info)
{
	/*
	 * The proof that nothing pins for this VM any more. type1 and
	 * iommufd per-process accounting never uncharge a dead mm: the
	 * counters that still read non-zero here are stale, not pins.
	 */
	log_info("VM %s: vfiod_mm reports RELEASED: no pin holder of the VMM's memory is left "
		 "(locked %.1f MiB, pinned %.1f MiB stay charged to the dead mm: stale).",
		 vm_name, MiB(info->locked_bytes), MiB(info->pinned_bytes));
}

/*
 * The fallback: RELEASED did not come in time. Whatever still references
 * the dead mm (a pin holder outside vfiod, or an idle CPU's lazy TLB
 * reference) is not vfiod's to wait for; the handle goes, and with it
 * vfiod's own reference to the mm_struct.
 */
static int on_released_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	Manager *m = userdata;
	vfd_mm_info info;
	MmDraining *d = NULL;

	for (size_t i = 0; i < m->n_mm_draining; i++)
		if (m->mm_draining[i].deadline == s)
			d = &m->mm_draining[i];
	if (!d)
		return 0;

	if (vfd_mm_get(m->mm, d->handle, &info) < 0)
		log_warning("VM %s: vfiod_mm did not report RELEASED within %" PRIu64 " s and the "
			    "handle is gone; no longer waiting.", d->vm_name,
			    m->mm_released_deadline_usec / 1000000);
	else if (info.state == VFD_MM_STATE_RELEASED)
		log_released(d->vm_name, &info); /* the event was lost */
	else
		log_warning("VM %s: vfiod_mm did not report RELEASED within %" PRIu64 " s: %u "
			    "reference(s) to the dead VMM's mm remain (a pin holder outside vfiod, or "
			    "an idle CPU's lazy TLB reference); no longer waiting. Unproven: locked "
			    "%.1f MiB, pinned %.1f MiB.", d->vm_name,
			    m->mm_released_deadline_usec / 1000000, info.mm_refs,
			    MiB(info.locked_bytes), MiB(info.pinned_bytes));
	draining_drop(m, d);
	return 0;
}

static bool retrack(Manager *m, VM *vm)
{
	uint32_t old = vm_mm_handle(vm);
	vfd_mm_info info;

	if (vmm_process_exited(vm_get_vmm(vm)) != 0)
		return false;
	if (vfd_mm_track_pidfd(m->mm, vm_get_vmm(vm)->pidfd, &info) < 0)
		return false;
	(void) vfd_mm_untrack(m->mm, old);
	vm_mm_tracked(vm, &info);
	log_info("VM %s: the VMM (pid %d) exec'd; vfiod_mm tracks its new mm as handle %u.",
		 vm_get_name(vm), (int) vm_get_vmm(vm)->pid, info.handle);
	return true;
}

/* one handle's news, from an event or a resync */
static void on_mm_record(Manager *m, vfd_mm_event_type type, const vfd_mm_info *info)
{
	MmDraining *d;
	VM *vm;

	vm = vm_by_handle(m, info->handle);
	if (vm) {
		/*
		 * An exec ends the address space too (the VMM may have been
		 * registered before it exec'd, as a launcher does): the
		 * process then still has an mm, the new one, and is tracked
		 * again. After a real exit TRACK fails (ESRCH): exit_mm()
		 * ran, even if the pidfd does not say so yet.
		 */
		if (info->state != VFD_MM_STATE_ALIVE && !vm_get_vmm_exited(vm) && retrack(m, vm))
			return;
		vm_mm_update(vm, type, info);
		return;
	}

	d = draining_by_handle(m, info->handle);
	if (!d || info->state != VFD_MM_STATE_RELEASED)
		return;
	log_released(d->vm_name, info);
	draining_drop(m, d);
}

static void resync(Manager *m)
{
	_cleanup_free_ vfd_mm_info *list = NULL;
	size_t n = 0;
	int r;

	r = vfd_mm_list(m->mm, &list, &n);
	if (r < 0) {
		log_warning_errno(r, "vfiod_mm: cannot re-read the handles after lost events: %m");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (list[i].owned)
			on_mm_record(m, list[i].state == VFD_MM_STATE_RELEASED ? VFD_MM_EVENT_RELEASED :
				     list[i].state == VFD_MM_STATE_EXITED ? VFD_MM_EVENT_EXITED :
				     VFD_MM_EVENT_LOST, &list[i]);
}

static void on_mm_event(vfd_mm_client *c, vfd_mm_event_type type, const vfd_mm_info *info,
			void *userdata)
{
	Manager *m = userdata;

	if (type == VFD_MM_EVENT_LOST) {
		log_warning("vfiod_mm: events were lost (socket overflow); re-reading every handle.");
		resync(m);
		return;
	}
	if (!info)
		return;
	log_debug("vfiod_mm: %s for handle %u (locked %" PRIu64 ", pinned %" PRIu64 ", refs %u).",
		  vfd_mm_event_type_to_string(type), info->handle, info->locked_bytes,
		  info->pinned_bytes, info->mm_refs);
	on_mm_record(m, type, info);
}

void manager_mm_start(Manager *m)
{
	_cleanup_(vfd_mm_client_freep) vfd_mm_client *c = NULL;
	const char *e;
	int r;

	m->mm_released_deadline_usec = MM_RELEASED_DEADLINE_USEC;
	/* test-only: a shorter wait for RELEASED, so that a test can see the fallback */
	e = getenv("VFIOD_TEST_MM_RELEASED_DEADLINE_SEC");
	if (e && *e) {
		unsigned long sec = strtoul(e, NULL, 10);

		if (sec > 0 && sec < 3600) {
			m->mm_released_deadline_usec = (uint64_t) sec * 1000000ULL;
			log_warning("TEST: vfiod_mm RELEASED deadline %lu s. This daemon is for tests "
				    "only.", sec);
		}
	}

	r = vfd_mm_client_new(&c);
	if (r == -ENOENT) {
		m->mm_status = MM_HELPER_ABSENT;
		log_info("vfiod_mm: accounting after exit unavailable (vfiod_mm not loaded).");
		return;
	}
	if (r == -EPROTONOSUPPORT) {
		m->mm_status = MM_HELPER_VERSION_MISMATCH;
		log_warning("vfiod_mm: accounting after exit unavailable (vfiod_mm speaks another "
			    "version).");
		return;
	}
	if (r < 0) {
		m->mm_status = MM_HELPER_FAILED;
		log_warning_errno(r, "vfiod_mm: accounting after exit unavailable (cannot connect: %m).");
		return;
	}

	r = vfd_mm_client_subscribe(c, on_mm_event, m);
	if (r >= 0)
		r = vfd_mm_client_attach_event(c, m->event, 0);
	if (r < 0) {
		m->mm_status = MM_HELPER_FAILED;
		log_warning_errno(r, "vfiod_mm: accounting after exit unavailable (cannot join the "
				  "events: %m).");
		return;
	}

	m->mm = TAKE_PTR(c);
	m->mm_status = MM_HELPER_AVAILABLE;
	log_info("vfiod_mm: connected (family version %u); VMM memory is accounted after exit.",
		 vfd_mm_client_family_version(m->mm));
}

void manager_mm_stop(Manager *m)
{
	for (size_t i = 0; i < m->n_mm_draining; i++) {
		sd_event_source_disable_unref(m->mm_draining[i].deadline);
		free(m->mm_draining[i].vm_name);
	}
	free(m->mm_draining);
	m->mm_draining = NULL;
	m->n_mm_draining = 0;
	/* the handles die with the client's socket */
	m->mm = vfd_mm_client_free(m->mm);
}

void manager_mm_track_vm(Manager *m, VM *vm)
{
	vfd_mm_info info;
	int r;

	if (!m->mm)
		return;

	r = vfd_mm_track_pidfd(m->mm, vm_get_vmm(vm)->pidfd, &info);
	if (r < 0) {
		const char *kmsg = vfd_mm_client_last_error(m->mm);

		log_warning_errno(r, "VM %s: vfiod_mm cannot track the VMM (pid %d): %m%s%s; "
				  "its memory is read from /proc while it lives.", vm_get_name(vm),
				  (int) vm_get_vmm(vm)->pid, kmsg ? ": " : "", kmsg ? kmsg : "");
		return;
	}
	vm_mm_tracked(vm, &info);
	log_info("VM %s: vfiod_mm tracks the VMM's mm as handle %u.", vm_get_name(vm), info.handle);
}

void manager_mm_forget_vm(Manager *m, VM *vm)
{
	MmDraining *n, d;
	vfd_mm_info info;
	int r;

	if (!m->mm || vm_mm_handle(vm) == 0)
		return;

	r = vfd_mm_get(m->mm, vm_mm_handle(vm), &info);
	/*
	 * A live VMM (vfiod lets go of a VM whose VMM runs on: vfiod exits, or
	 * the VM was released before the VMM started) or a mm that is already
	 * released: nothing to wait for.
	 */
	if (r < 0 || info.state != VFD_MM_STATE_EXITED) {
		if (r >= 0 && info.state == VFD_MM_STATE_RELEASED)
			log_released(vm_get_name(vm), &info);
		(void) vfd_mm_untrack(m->mm, vm_mm_handle(vm));
		vm_mm_untracked(vm);
		return;
	}

	/*
	 * Nobody waits for this: the VM is gone already. The handle stays
	 * until RELEASED or the deadline, whichever comes first.
	 */
	n = realloc(m->mm_draining, (m->n_mm_draining + 1) * sizeof(*n));
	if (!n)
		goto fail;
	m->mm_draining = n;
	d = (MmDraining) { .handle = vm_mm_handle(vm), .vm_name = strdup(vm_get_name(vm)) };
	if (!d.vm_name)
		goto fail;
	r = sd_event_add_time_relative(m->event, &d.deadline, CLOCK_MONOTONIC,
				       m->mm_released_deadline_usec, 0, on_released_deadline, m);
	if (r < 0) {
		free(d.vm_name);
		goto fail;
	}
	n[m->n_mm_draining++] = d;
	log_info("VM %s: waiting up to %" PRIu64 " s for vfiod_mm to report the VMM's mm RELEASED "
		 "(%u reference(s) left).", vm_get_name(vm), m->mm_released_deadline_usec / 1000000,
		 info.mm_refs);
	vm_mm_untracked(vm);
	return;

fail:
	log_warning("VM %s: cannot wait for vfiod_mm's RELEASED (out of resources); untracking "
		    "the dead VMM's mm now.", vm_get_name(vm));
	(void) vfd_mm_untrack(m->mm, vm_mm_handle(vm));
	vm_mm_untracked(vm);
}

int manager_mm_get(Manager *m, const VM *vm, vfd_mm_info *ret)
{
	if (!m->mm || vm_mm_handle(vm) == 0)
		return -ENOENT;
	return vfd_mm_get(m->mm, vm_mm_handle(vm), ret);
}
