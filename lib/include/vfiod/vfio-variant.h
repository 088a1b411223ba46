/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which VFIO driver claims a PCI function (lib/vfio-variant.c).
 *
 * Besides vfio-pci, a kernel may carry VFIO "variant" drivers: PCI drivers
 * built on vfio_pci_core with device-specific extras. They declare their
 * devices with PCI_DRIVER_OVERRIDE_DEVICE_VFIO, which the kernel never
 * binds on its own and for which depmod writes "vfio_pci:" aliases into
 * modules.alias. The candidates for a function are the modules with a
 * vfio_pci: alias that matches the function's modalias read with
 * "vfio_pci:" in place of "pci:"; the best one is the candidate whose
 * matching alias has the fewest wildcards ('*'), libvirt's rule since 10.0
 * (vfio_pci's own alias, vfio_pci:v*d*sv*sd*bc*sc*i*, has seven and
 * always loses to a variant). Ties go to the module name that sorts first,
 * so that the choice never depends on the order of an index.
 *
 * The order of precedence:
 *   1. an explicit choice (a binding item's "driver" in vfiod.json, or the
 *      driver option of Manager.Bind), which must be vfio-pci or one of
 *      the candidates: naming any other driver is refused (ENOEXEC), since
 *      driver_override to an arbitrary driver hands the device to a
 *      driver that is not VFIO's;
 *   2. the best candidate by alias;
 *   3. vfio-pci.
 *
 * Aliases come from the module directory of the running kernel,
 * ROOT/lib/modules/$(ROOT/proc/sys/kernel/osrelease) (or its view in
 * VFD_MODULES_DIR_SANDBOXED under vfiod's unit), read with libkmod
 * (modules.alias.bin, modules.dep.bin and the modules' own modinfo), so a
 * fixture tree made by depmod stands in for a real system. Configuration
 * aliases (modprobe.d) are not read, as libvirt does not read them.
 *
 * Driver names: a variant registers its PCI driver under its module name
 * (KBUILD_MODNAME), which is what driver_override must name; vfio_pci is
 * the one module whose driver is "vfio-pci". An explicit name is accepted
 * with '-' or '_' ("vfio_pci" and "vfio-pci" are the same driver).
 *
 * Errors (negative errno; the vfd_op_error says why):
 *   -ENODEV    no PCI function at the address
 *   -ENOEXEC   the named driver is not a VFIO driver for this function
 *   -EINVAL    bad arguments, a driver name that is no module name
 *   other      reading sysfs or the module directory failed
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "vfiod/inventory.h"
#include "vfiod/op-error.h"

#define VFD_VFIO_PCI_DRIVER "vfio-pci"
#define VFD_VFIO_PCI_MODULE "vfio_pci"
/*
 * Where vfiod's unit binds /usr/lib/modules read-only, since
 * ProtectKernelModules= hides it (relative to the context's root)
 */
#define VFD_MODULES_DIR_SANDBOXED "run/vfiod-kernel-modules"
/* module names: what kmod accepts and systemd's modprobe@ instance can carry */
#define VFD_MODULE_NAME_MAX 55

typedef enum vfd_vfio_choice_source {
	VFD_VFIO_CHOICE_EXPLICIT, /* named by the operator */
	VFD_VFIO_CHOICE_ALIAS,    /* the best vfio_pci: alias */
	VFD_VFIO_CHOICE_FALLBACK, /* vfio-pci, nothing better */
	_VFD_VFIO_CHOICE_SOURCE_MAX,
} vfd_vfio_choice_source;

const char *vfd_vfio_choice_source_to_string(vfd_vfio_choice_source s);

typedef struct vfd_vfio_candidate {
	char *module;     /* kmod's name, '_' only */
	char *alias;      /* its best alias matching the function */
	unsigned wildcards;
} vfd_vfio_candidate;

typedef struct vfd_vfio_choice {
	char *driver; /* the name driver_override gets */
	char *module; /* the module that provides it */
	vfd_vfio_choice_source source;
	char *alias;  /* VFD_VFIO_CHOICE_ALIAS: the alias that won; else NULL */
} vfd_vfio_choice;

void vfd_vfio_candidates_free(vfd_vfio_candidate *c, size_t n);
void vfd_vfio_choice_done(vfd_vfio_choice *c);

/* true for a plausible module or driver name: [A-Za-z0-9_-], 1..55 chars */
bool vfd_module_name_is_valid(const char *name);
/* the module of a VFIO driver name: "vfio-pci" -> "vfio_pci", '-' -> '_' */
int vfd_vfio_driver_module(const char *driver, char **ret);
/*
 * the name the kernel gives the VFIO driver a configuration names (what
 * driver_override must hold, what the driver link shows): "vfio-pci" for
 * vfio_pci, else its module's name ('_'; variants register as KBUILD_MODNAME)
 */
int vfd_vfio_driver_name(const char *driver, char **ret);

/*
 * The candidates for a modalias ("pci:v...", as in sysfs), best first.
 * None is not an error (*ret_n = 0): a kernel without module index, or
 * without variants, leaves vfio-pci.
 */
int vfd_vfio_candidates_for_modalias(vfd_context *ctx, const char *modalias,
				     vfd_vfio_candidate **ret, size_t *ret_n);

/*
 * The VFIO driver for the PCI function at address (canonical form).
 * requested: NULL, or the operator's explicit choice.
 */
int vfd_vfio_driver_choose(vfd_context *ctx, const char *address, const char *requested,
			   vfd_op_error *error, vfd_vfio_choice *ret);

/*
 * 1 when the driver is registered on the PCI bus (its module loaded, or
 * built in), 0 when not, negative errno on failure.
 */
int vfd_vfio_driver_is_loaded(vfd_context *ctx, const char *driver);

/* 1 when module is the module of a VFIO variant in the module index (any vfio_pci: alias), 0 if not */
int vfd_module_is_vfio_variant(vfd_context *ctx, const char *module);
/* the same, but -ENOENT when the running kernel has no such module (no file, not built in) */
int vfd_module_vfio_alias_or_unknown(vfd_context *ctx, const char *module);
