/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Claiming the IOMMU groups of PCI functions for a VM (lib/bind.c).
 *
 * A claim takes a list of requested PCI functions, loads the IOMMU group of
 * each, decides for every member of those groups what has to happen, and
 * refuses before touching anything when one of the rules below says no.
 * Then it moves every member that has to move to its VFIO driver (vfio-pci
 * or a variant driver, lib/include/vfiod/vfio-variant.h), through
 * driver_override and drivers_probe (never new_id, which would capture
 * every device with the same IDs), and records each moved member's
 * original driver and driver_override. A failure midway restores every
 * member already moved, so a claim either succeeds completely or leaves
 * the host as it was. Release restores the recorded originals.
 *
 * The rules, member by member (state as lib/driver.c classifies it):
 *   - requested function that is a bridge (or has no IOMMU group): refused.
 *   - member owned by another VM (the caller's owned_elsewhere callback):
 *     refused.
 *   - already on vfio-pci or a VFIO variant driver: left alone.
 *   - requested function on any other driver (a host driver, pci-stub) or
 *     unbound: moved to vfio-pci. The operator named it, so unbinding its
 *     host driver is the point of the request.
 *   - other member on a driver_managed_dma driver (pcieport on a bridge,
 *     pci-stub) or an unbound bridge: left alone; bridges are never bound.
 *   - other unbound endpoint: moved to vfio-pci, so that no host driver
 *     can take it while the VM owns the group.
 *   - other member on a host driver (one that does DMA): the group is in
 *     use by the host and the claim is refused, unless the caller sets
 *     unbind_host_members. A network card or disk controller the operator
 *     did not name is never taken from the host silently.
 *
 * Errors (negative errno; the vfd_op_error says which member and why):
 *   -ENODEV      a requested address does not exist
 *   -ENOTSUP     a requested function is a bridge, not an endpoint
 *   -ENXIO       a requested function has no IOMMU group (no IOMMU)
 *   -EBUSY       a group member is in use by the host
 *   -EADDRINUSE  a group member is owned by another VM
 *   -ENOPKG      a member has to move but its VFIO driver is not loaded: the
 *                one named explicitly, or vfio-pci (a variant chosen by
 *                alias that is not loaded gives way to vfio-pci)
 *   -ENOEXEC     the driver named in the options is not a VFIO driver for
 *                a requested function
 *   -EAGAIN      the host changed between two reads (a function left its
 *                group); nothing was changed, try again
 *   -EINVAL      bad arguments
 *   other        the kernel refused a step (the sysfs write's errno), or
 *                -EIO when a probe left the device unbound (vfio-pci's
 *                probe failed; the kernel log says why)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "vfiod/op-error.h"
#include "vfiod/inventory.h"

struct json_object;

typedef struct vfd_bind_member {
	char name[VFD_PCI_ADDRESS_STRLEN]; /* canonical PCI address */
	unsigned group;
	bool requested;          /* named by the caller, not just a group member */
	char *original_driver;   /* driver at claim time; NULL when unbound */
	char *original_override; /* driver_override at claim time; NULL when unset */
	char *vfio_driver;       /* the VFIO driver it is (to be) bound to; NULL: vfio-pci */
	/*
	 * vfiod changed this member (its driver_override at least); release
	 * restores the originals. False for members left alone.
	 */
	bool changed;
} vfd_bind_member;

typedef struct vfd_bind_record {
	vfd_bind_member *members; /* every member of every claimed group, by group then name */
	size_t n_members;
} vfd_bind_record;

vfd_bind_record *vfd_bind_record_free(vfd_bind_record *r);
VFD_DEFINE_CLEANUP(vfd_bind_record, vfd_bind_record_free)

/* 1 when name is owned by another VM, 0 when not, negative errno on failure */
typedef int (*vfd_bind_owner_fn)(const char *name, void *userdata);

typedef struct vfd_bind_options {
	/* Also unbind host drivers from group members that were not requested. */
	bool unbind_host_members;
	/*
	 * The VFIO driver for the requested functions, chosen by the operator
	 * (vfio-pci or a variant whose vfio_pci: alias matches; anything else
	 * is refused). NULL: the best match by alias, vfio-pci otherwise.
	 */
	const char *driver;
	/* NULL: no member is owned elsewhere. */
	vfd_bind_owner_fn owned_elsewhere;
	/*
	 * Called once everything is checked, before the first change, with
	 * the plan as a record: every member with its original driver and
	 * driver_override, changed set on those about to move. A caller that
	 * journals it can undo a claim its process did not live to finish
	 * (vfd_bind_release() of the plan also undoes a half-done move). A
	 * negative return aborts the claim with nothing changed.
	 */
	int (*planned)(const vfd_bind_record *plan, void *userdata);
	void *userdata;
} vfd_bind_options;

/*
 * Claims the IOMMU groups of devices[0..n_devices) (duplicates are fine).
 * opts may be NULL for the defaults. error may be NULL; on failure it
 * names the member concerned. On success *ret lists every member of the
 * claimed groups and which ones were changed.
 */
int vfd_bind_claim(vfd_context *ctx, const vfd_pci_address *devices, size_t n_devices,
		   const vfd_bind_options *opts, vfd_op_error *error, vfd_bind_record **ret);

/*
 * Restores every changed member of r, last changed first: unbinds it from
 * vfio-pci, puts its original driver_override back (or clears it) and
 * binds its original driver again. Goes on past failures, clears changed
 * on each member it restored (so a retry only redoes the rest) and returns
 * the first error. Devices must not be open by a VMM any more: the kernel
 * blocks a vfio-pci unbind until the device is released.
 */
int vfd_bind_release(vfd_context *ctx, vfd_bind_record *r, vfd_op_error *error);

/*
 * The record as JSON, for a state file that outlives the daemon:
 * {"members":[{"name":"0000:03:00.0","group":8,"requested":true,
 *   "original_driver":"e1000e","original_driver_override":null,"changed":true,
 *   "vfio_driver":"vfio-pci"}]}
 * ("vfio_driver" absent in records of older versions means vfio-pci.)
 * from_json validates everything it reads (-EINVAL otherwise).
 */
int vfd_bind_record_to_json(const vfd_bind_record *r, struct json_object **ret);
int vfd_bind_record_from_json(struct json_object *j, vfd_bind_record **ret);
