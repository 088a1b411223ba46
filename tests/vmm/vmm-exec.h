/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfd-vmm --vfiod VM --exec -- PROGRAM ARGS...: the launch path of a real
 * VMM (vmm-exec.c). The process vfiod knows as the VM's VMM asks for its
 * descriptors (org.vfiod1.VM.GetFds) and then execs PROGRAM, typically
 * QEMU, under the same pid with exactly those descriptors inherited.
 */
#pragma once

/*
 * Placeholders in ARGS, replaced by descriptor numbers:
 *   @IOMMUFD@        GetFds' iommu descriptor (iommufd; type1: the container)
 *   @DEVFD:<name>@   the descriptor of the VM's device <name> (a PCI address
 *                    or an mdev UUID)
 * Prints "exec ok pid=... uid=... CapEff=... iommufd=N <name>=M..." on
 * stdout just before exec(); returns only on failure (negative errno).
 */
int vmm_exec_vfiod(const char *vm, char **argv);
