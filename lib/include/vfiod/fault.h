/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test-only hooks of a vfd_context. Nothing here is used in production:
 * the daemon arms a fault only from a test option, and only unit tests
 * install a write hook.
 *
 * Fault injection: "fail the Nth operation of kind K". The library calls
 * vfd_fault_check() at a few named points in the middle of multi-step
 * operations (where a real kernel can fail too), so tests can prove that
 * a failure there rolls everything back. Counting starts when the fault is
 * armed; it fires once, on the Nth operation of its kind, then stays quiet.
 *
 * Write hook: called after every successful vfd_root_write_string() with
 * the root-relative path and the value. Unit tests use it to imitate the
 * kernel's reaction in a fixture tree (binding a driver moves the device's
 * driver link, writing an mdev's UUID to create makes the device, ...), and
 * a non-zero return (negative errno) becomes the write's result, the way a
 * kernel store handler refuses a value.
 */
#pragma once

#include <stdbool.h>

#include "vfiod/inventory.h"

typedef enum vfd_fault_kind {
	/*
	 * "bind-member": moving one IOMMU group member to vfio-pci, after its
	 * driver_override is set and its host driver unbound, before the
	 * probe. Counted per member that has to move.
	 */
	VFD_FAULT_BIND_MEMBER,
	/* "mdev-attr": writing one attribute of a freshly created mdev */
	VFD_FAULT_MDEV_ATTR,
	_VFD_FAULT_KIND_MAX,
} vfd_fault_kind;

typedef struct vfd_fault {
	bool armed;
	vfd_fault_kind kind;
	unsigned nth;  /* fires on this operation, counted from 1 */
	unsigned seen; /* operations of this kind since arming */
	int error;     /* negative errno to inject */
} vfd_fault;

const char *vfd_fault_kind_to_string(vfd_fault_kind k);
int vfd_fault_kind_from_string(const char *s, vfd_fault_kind *ret);

/* nth >= 1; error a negative errno (0 means -EIO) */
int vfd_fault_arm(vfd_context *ctx, vfd_fault_kind kind, unsigned nth, int error);
void vfd_fault_disarm(vfd_context *ctx);
/*
 * Arms from a test option such as "bind-member:2" or "mdev-attr:1:28"
 * (KIND:N[:ERRNO], ERRNO a positive number, default EIO). -EINVAL for
 * anything else, leaving the context as it was.
 */
int vfd_fault_arm_from_string(vfd_context *ctx, const char *spec);

/* Library-internal: counts one operation of kind; 0, or the injected error. */
int vfd_fault_check(vfd_context *ctx, vfd_fault_kind kind);

/* The context's fault slot (lib/root.c); NULL only for a NULL context. */
vfd_fault *vfd_context_fault(vfd_context *ctx);

typedef int (*vfd_write_hook_fn)(const char *path, const char *value, void *userdata);

/* For tests only (lib/root.c). fn NULL removes the hook. */
void vfd_context_set_write_hook(vfd_context *ctx, vfd_write_hook_fn fn, void *userdata);
