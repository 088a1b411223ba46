/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Vendor vGPUs on SR-IOV VFs (lib/vendor-vgpu.c): the sysfs interface of
 * NVIDIA's vGPU manager from vGPU 17 on, where a vGPU is a VF on the
 * vendor's VFIO variant driver, not an mdev. The VF's driver offers, in
 * the VF's folder:
 *
 *   nvidia/creatable_vgpu_types  "ID    : vGPU Name" then "<id> : <name>"
 *                                per type the VF can take now; only the
 *                                header once it has a type or its PF is full
 *   nvidia/current_vgpu_type     the VF's type, 0 for none; written to set
 *
 * The driver decides what is creatable (a maximum per PF, one type per PF
 * at a time); the list shrinks and empties as VFs take types. A type
 * change is refused while the VF's VFIO device is open, and the device
 * cannot be opened while the type is 0.
 *
 * Free count of a type on a PF, as vfiod shows it: the VFs of the PF
 * that offer the interface, have no type, and list the type as creatable.
 * A driver capping a type below that many VFs lists it on every free VF
 * until the cap is reached: the count is then an upper bound, and the
 * write that goes over the cap is the driver's refusal.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "vfiod/inventory.h"
#include "vfiod/op-error.h"

typedef struct vfd_vgpu_type {
	unsigned id;
	char *name;
} vfd_vgpu_type;

/* one VF's view of the interface */
typedef struct vfd_vgpu_info {
	unsigned current_type;   /* 0: none */
	vfd_vgpu_type *creatable; /* in the driver's order */
	size_t n_creatable;
} vfd_vgpu_info;

vfd_vgpu_info *vfd_vgpu_info_free(vfd_vgpu_info *v);
VFD_DEFINE_CLEANUP(vfd_vgpu_info, vfd_vgpu_info_free)

/*
 * Parses a creatable_vgpu_types text: an optional "ID : vGPU Name" header,
 * then one "<decimal id> : <name>" per line (blank lines skipped). -EBADMSG
 * on anything else (an id of 0 or twice, a name missing, longer than 128
 * bytes, not printable UTF-8; more than 1024 types). ret_n may be 0.
 */
int vfd_vgpu_parse_types(const char *text, vfd_vgpu_type **ret, size_t *ret_n);
void vfd_vgpu_types_free(vfd_vgpu_type *t, size_t n);

/*
 * The interface of PCI function name: -ENOENT when its driver offers none
 * (no nvidia/current_vgpu_type), -ENODEV when the function is gone.
 */
int vfd_vgpu_read(vfd_context *ctx, const char *name, vfd_vgpu_info **ret);

/* the VF has no type and may take type now */
bool vfd_vgpu_info_can_take(const vfd_vgpu_info *v, unsigned type);
/* the type's name in the VF's creatable list, NULL when not there */
const char *vfd_vgpu_info_type_name(const vfd_vgpu_info *v, unsigned type);

/*
 * Writes current_vgpu_type (0: none). The driver's refusals come back as
 * they are: -EBUSY (the VF is open, or has another type), -ENOSPC (its PF
 * cannot take the type now), -EINVAL (unknown type); -ENOENT when the VF's
 * driver offers no interface.
 */
int vfd_vgpu_set_type(vfd_context *ctx, const char *name, unsigned type);

/* ---- a parent (PF) and its VFs ---- */

/* 1 when name is owned (by a VM, a binding): never picked. NULL: none is. */
typedef int (*vfd_vgpu_owned_fn)(const char *name, void *userdata);

typedef enum vfd_vgpu_vf_state {
	VFD_VGPU_VF_FREE,       /* offers the interface, no type, lists the type: ready */
	VFD_VGPU_VF_UNBOUND,    /* on no driver: binding it to the vendor's driver may offer it */
	VFD_VGPU_VF_UNUSABLE,   /* owned, on another driver, or cannot take the type */
} vfd_vgpu_vf_state;

/*
 * The VFs of parent that may become a vGPU of type, in the order to try
 * them: the free ones first, then the unbound ones (not owned); at most
 * ret's size. Returns the count (0: none) or:
 *   -ENODEV   no such parent
 *   -ENOTSUP  parent is no SR-IOV PF with VFs
 *   -ENOENT   no VF of parent offers the interface and none is unbound, or
 *             type is unknown: no VF lists it or runs it while no VF runs
 *             any type
 *   -ENOSPC   type is known, but no VF can take it now
 * error names the parent and says why.
 */
int vfd_vgpu_pick(vfd_context *ctx, const char *parent, unsigned type, vfd_vgpu_owned_fn owned,
		  void *userdata, vfd_op_error *error, vfd_pci_address *ret, size_t n_ret);

/* per type of a parent: its free count (see above), summed from its VFs' interface */
typedef struct vfd_vgpu_type_count {
	unsigned id;
	char *name;
	unsigned free;
} vfd_vgpu_type_count;

/*
 * Adds VF v's creatable types to *counts (free count +1 for each when v
 * has no type). Keeps *counts sorted by id.
 */
int vfd_vgpu_count_add(vfd_vgpu_type_count **counts, size_t *n, const vfd_vgpu_info *v);
void vfd_vgpu_counts_free(vfd_vgpu_type_count *c, size_t n);
