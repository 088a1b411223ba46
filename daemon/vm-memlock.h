/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RLIMIT_MEMLOCK of a VM's VMM: applying the memlock model
 * (lib/include/vfiod/memlock.h) and checking it against what the kernel charges.
 *
 * Applying. vfiod sets the soft and hard limit with prlimit() on the pid
 * behind the VMM's pidfd, and checks afterwards that the pidfd still names
 * a live process: then the pid was not reused by the time of the call.
 *   register  the model's limit for the registered devices (none: the
 *             limit is left alone);
 *   add       the limit with the new device is computed first; above the
 *             VM's cap the add is refused before anything changes
 *             (-EDQUOT). The raise happens once the device is claimed and
 *             before AddDevice answers: the VMM gets a device's
 *             descriptor (and can attach and pin through it) only after
 *             that, so it never pins for a device its limit does not
 *             cover. (vfiod's own type1 attach before GetFds pins
 *             nothing: the container has no mapping yet.) A raise that
 *             fails (vfiod without CAP_SYS_RESOURCE) is a warning and
 *             shows in the check: the VMM's mapping then fails cleanly
 *             with ENOMEM;
 *   remove    the limit is lowered AFTER the device is given back; the
 *             model never goes below what the kernel charges now, so a
 *             pin that is still there keeps its share of the limit.
 *   no device left: the VMM's original limit is restored.
 *
 * Verification. After each step (and on CheckCharge) vfiod compares the
 * charge it expects with the binding counter the kernel reports (type1
 * and iommufd per-process accounting: locked_vm; from vfiod_mm when it
 * tracks the VMM, else /proc). Expected: guest memory once per address
 * space with an IOMMU-backed device, once the VMM has its descriptors (it
 * maps all of guest memory); an address space with only mdevs charges
 * what the vendor driver pins on demand, which no model predicts: up to
 * its budget (the slack). A mismatch, or a limit below the charge, is
 * logged as a warning and signalled (ChargeChecked), never hidden.
 */
#pragma once

#include "vfiod/op-error.h"
#include "vm.h"

/* at registration, before the VMM can have any descriptor */
void vm_memlock_register(VM *vm);
/* before device d is claimed: -EDQUOT (error set) when the cap is exceeded; changes nothing */
int vm_memlock_before_add(VM *vm, const VMDevice *d, vfd_op_error *error);
/* once the device is in vm's list: raises the limit (-errno, error set: the caller
 * gives the device back), checks */
int vm_memlock_after_add(VM *vm, const char *device, vfd_op_error *error);
/* the VM is freed: no more tries */
void vm_memlock_done(VM *vm);
/* after a device was given back, or an add failed: lowers to the model's limit */
void vm_memlock_after_change(VM *vm, const char *step);
/* compares expected and observed charge; logs, signals; returns 1 when they match */
int vm_memlock_check(VM *vm, const char *step);
/* the last charge check: expected and observed bytes, and whether they matched */
uint64_t vm_memlock_expected(const VM *vm);
uint64_t vm_memlock_observed(const VM *vm);
bool vm_memlock_matches(const VM *vm);
/*
 * Someone else (libvirt, around its own hostdev attach and detach) set the
 * VMM's limit: vfiod's record of the limit it applied takes the process's
 * value, so that the next vm_memlock_after_change() sets vfiod's plan again.
 */
void vm_memlock_resync(VM *vm, const char *what);
