/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager's side of the vfiod_mm kernel helper (lib/include/vfiod/mm.h,
 * docs/vfiod-mm.md): one client for the daemon, its events on the
 * manager's loop, routed to the VM whose VMM mm a handle tracks.
 *
 * The helper is optional. Without it vfiod works as before and reads the
 * VMM's counters from /proc while the VMM lives; what was pinned after
 * its exit is then unknown (Manager.MmHelper says "absent").
 *
 * A VM released while its VMM's mm is still referenced by a pin holder
 * leaves its handle here ("draining") until the helper reports RELEASED:
 * that event is the proof that every pin charged to the VM is gone, and it
 * is logged with the counters the kernel left behind.
 *
 * RELEASED has no upper time bound (docs/vfiod-mm.md): an idle CPU may keep
 * the dead mm as its lazy TLB mm for as long as it stays idle, and a pin
 * holder outside vfiod for as long as it likes. Nothing a caller waits for
 * depends on it: Release and the VMM's exit complete, and reply, without
 * it; VMMState "released" is information only. A draining handle has a
 * deadline (MM_RELEASED_DEADLINE_USEC); when it passes, vfiod logs what
 * still references the dead mm and untracks the handle: the fallback is
 * "unproven", never a wait.
 */
#pragma once

#include <stdint.h>

#include "vfiod/mm.h"

typedef struct Manager Manager;
typedef struct VM VM;

/* How long a released VM's handle waits for RELEASED before vfiod lets go. */
#define MM_RELEASED_DEADLINE_USEC (60ULL * 1000000ULL)

/* a released VM's VMM mm that a pin holder still references */
typedef struct MmDraining {
	uint32_t handle;
	char *vm_name;
	sd_event_source *deadline; /* MM_RELEASED_DEADLINE_USEC after the VM's release */
} MmDraining;

typedef enum MmHelperStatus {
	MM_HELPER_ABSENT,           /* module not loaded (or another network namespace) */
	MM_HELPER_AVAILABLE,
	MM_HELPER_VERSION_MISMATCH, /* the module speaks another family version */
	MM_HELPER_FAILED,           /* present, but the client could not use it (log says why) */
	_MM_HELPER_STATUS_MAX,
} MmHelperStatus;

/* "absent", "available", "version-mismatch", "failed" */
const char *mm_helper_status_to_string(MmHelperStatus s);

/* Connects to the helper and subscribes on m->event; never fails the daemon. */
void manager_mm_start(Manager *m);
void manager_mm_stop(Manager *m);

/* Tracks the VMM of vm (vm->mm_handle); failures are logged, vm falls back to /proc. */
void manager_mm_track_vm(Manager *m, VM *vm);
/*
 * Called when vm is freed: a handle whose mm is already RELEASED (or that
 * never exited) is untracked now, any other waits for RELEASED or its
 * deadline, whichever comes first. Nothing waits for it.
 */
void manager_mm_forget_vm(Manager *m, VM *vm);
/* The helper's current record of vm's VMM mm; -ENOENT when it is not tracked. */
int manager_mm_get(Manager *m, const VM *vm, vfd_mm_info *ret);
