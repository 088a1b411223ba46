/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Test-only hooks of a vfd_context. Nothing here is used in production:
 * the daemon arms a fault only from a test option, and only unit tests
 * install a write hook.
 *
 * Fault injection: "fail (or die at) the Nth pass of step S", below. It
 * fires once, then stays quiet.
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

/*
 * Steps: every named point where vfiod changes the host (a sysfs write, a
 * VFIO open or ioctl, a node's owner, the VMM's limit, a journal write)
 * passes vfd_fault_step() first. A test arms one pass of one step to fail
 * there with an errno, as the kernel could, or to SIGKILL the process
 * right before it, and can trace every pass ("STEP N" per line) to learn
 * which steps an operation takes. N counts the passes of that step since
 * the fault was armed or the trace started (both at vfiod's start).
 * vfd_fault_steps lists every step name.
 */
#define VFD_FAULT_STEP_MAX 32   /* a step name's size, with its NUL */
#define VFD_FAULT_KILL (-10000) /* the action: SIGKILL at the step */

extern const char *const vfd_fault_steps[];

typedef struct vfd_fault_count {
	char step[VFD_FAULT_STEP_MAX];
	unsigned seen;
} vfd_fault_count;

typedef struct vfd_fault {
	bool armed;
	char step[VFD_FAULT_STEP_MAX];
	unsigned nth;   /* fires on this pass, counted from 1 */
	int error;      /* negative errno to inject, or VFD_FAULT_KILL */
	bool tracing;
	int trace_fd;   /* where passes are written while tracing */
	vfd_fault_count counts[64];
	unsigned n_counts;
} vfd_fault;

/*
 * 0, or the injected error (the step must not happen then, as if the
 * kernel had refused it). Kills the process when armed so. Thread-safe.
 */
int vfd_fault_step(vfd_context *ctx, const char *step);
/* nth >= 1; error a negative errno (0 means -EIO) or VFD_FAULT_KILL */
int vfd_fault_arm_step(vfd_context *ctx, const char *step, unsigned nth, int error);
void vfd_fault_disarm(vfd_context *ctx);
/*
 * Arms from a test option "STEP:N[:ERRNO|:kill]" such as "bind-member:2",
 * "mdev-attr:1:28" or "journal-write:3:kill" (ERRNO a positive number,
 * default EIO; STEP one of vfd_fault_steps). -EINVAL for anything else,
 * leaving the context as it was.
 */
int vfd_fault_arm_from_string(vfd_context *ctx, const char *spec);
/* every pass of every step from now on, as "STEP N\n", to fd (-1: stop) */
void vfd_fault_trace(vfd_context *ctx, int fd);
/* step is one of vfd_fault_steps */
bool vfd_fault_step_is_known(const char *step);

/* The two steps earlier tests armed by kind. */
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

const char *vfd_fault_kind_to_string(vfd_fault_kind k);
int vfd_fault_kind_from_string(const char *s, vfd_fault_kind *ret);
/* vfd_fault_arm_step() and vfd_fault_step() of the kind's step */
int vfd_fault_arm(vfd_context *ctx, vfd_fault_kind kind, unsigned nth, int error);
int vfd_fault_check(vfd_context *ctx, vfd_fault_kind kind);

/* The context's fault slot (lib/root.c); NULL only for a NULL context. */
vfd_fault *vfd_context_fault(vfd_context *ctx);

typedef int (*vfd_write_hook_fn)(const char *path, const char *value, void *userdata);

/* For tests only (lib/root.c). fn NULL removes the hook. */
void vfd_context_set_write_hook(vfd_context *ctx, vfd_write_hook_fn fn, void *userdata);
