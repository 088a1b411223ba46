/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Vendor vGPUs on SR-IOV VFs for VMs (VM.CreateVgpu): the vGPU 17+
 * interface of lib/include/vfiod/vendor-vgpu.h.
 *
 * vm_create_vgpu() picks a VF of the parent (any PF with such VFs when
 * none is named) that is owned by nobody and either offers the type as
 * creatable or is unbound (then the claim binds it to its VFIO driver by
 * alias: the vendor's). It adds the VF to the VM as vm_add_pci() adds any
 * PCI function (the same claim, journal and memlock accounting) with one
 * step more between the claim and the backend's open: current_vgpu_type
 * is set (vgpu_take()). The type goes back to 0 only when the VF leaves
 * the VM: at its give-back (vm-release.c), in the rollback of a failed
 * add, or, after a crash, in recovery from the journal (the device's
 * "vgpu_type", the transaction's). A VF that turns out not to take the
 * type after its claim (no interface on the driver it got, the driver
 * refused) is given back and the next one tried.
 *
 * Errors (negative errno, vfd_op_error says why):
 *   -ECHRNG      no VF of the parent offers the type (NoSuchVgpuType)
 *   -ENOSR       the type is known, but no free VF can take it (NoFreeVF)
 *   -EREMOTEIO   the vendor's driver refused the type (VgpuTypeRefused)
 *   -ENXIO       the parent is no PF with VFs, or there is none at all
 *   and the errors of vm_add_pci().
 */
#pragma once

#include "vm.h"

int vm_create_vgpu(VM *vm, const char *parent, unsigned type, vfd_op_error *error,
		   char ret_name[VFD_PCI_ADDRESS_STRLEN]);

/*
 * sets the claimed VF's type, before the backend's open (the vendor's driver
 * opens no VF without one); -EREMOTEIO the driver refused, -ENOPROTOOPT no interface
 */
int vgpu_take(Manager *m, const char *vf, unsigned type, vfd_op_error *error);
/* the VF's type back to 0 (vgpu_reset() logs a failure); a VF gone or off the vendor's driver has none left: 0 */
int vgpu_reset_ctx(vfd_context *ctx, const char *vf);
int vgpu_reset(Manager *m, const char *vf);
/* vgpu_reset() of d when vfiod set a type on it, else nothing */
int vgpu_reset_device(Manager *m, const VMDevice *d);
/* the inventory re-reads the VF, its PF and its siblings: a type write has no uevent */
void vgpu_note_changed(Manager *m, const char *vf);
