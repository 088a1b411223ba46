/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Early binding (lib/udev-rule.c): the persistent bindings of vfiod.json
 * as a udev rules file, so that a configured PCI function gets its
 * driver_override at ACTION=="add", before any host driver can probe it
 * (driverctl's technique). For each binding:
 *
 *   ACTION=="add", SUBSYSTEM=="pci", KERNEL=="0000:02:00.0", \
 *     ATTR{driver_override}="vfio-pci", \
 *     ATTR{[subsystem/pci]drivers_probe}="0000:02:00.0", \
 *     RUN{builtin}+="kmod load vfio-pci"
 *
 * driver_override is written while udev processes the rules, so the kmod
 * load of the device's own MODALIAS (80-drivers.rules, a RUN, executed
 * after every rule) finds it set and the host driver's probe passes the
 * device by. drivers_probe binds it at once when the VFIO driver is
 * loaded already; otherwise the kmod load of that driver binds it
 * (driver_override is honoured when a driver registers).
 *
 * The driver is the one the binding names, else vfio-pci (the alias
 * choice of vfio-variant.h needs the device, which may not exist yet),
 * written as the kernel names it (vfd_vfio_driver_name(): "vfio-pci",
 * a variant's module name with '_'), since driver_override must equal it.
 * driverctl's imported overrides are left out: driverctl's own rule
 * handles those.
 *
 * The configuration is input: every value written into the rule is
 * checked again here (canonical PCI address, module name of letters,
 * digits, '_' and '-'), whatever the parser did; one bad entry refuses
 * the whole file (-EINVAL, error says which), and nothing is written.
 */
#pragma once

#include <sys/types.h>

#include "vfiod/config.h"
#include "vfiod/op-error.h"

/* where the generator writes at boot and on ApplyConfig (relative to /) */
#define VFD_UDEV_RULES_DIR  "/run/udev/rules.d"
/* before 80-drivers.rules, whose kmod load of the device's module it must precede */
#define VFD_UDEV_RULES_FILE "70-vfiod-bindings.rules"

/*
 * The rules text for c's bindings (a header comment only when there are
 * none). -EINVAL with error set when a value is not safe to write; *ret
 * untouched on failure. ret_n: the number of rules, may be NULL.
 */
int vfd_udev_rules_format(const vfd_config *c, vfd_op_error *error, char **ret, size_t *ret_n);

/*
 * Replaces dir/VFD_UDEV_RULES_FILE with text atomically (a temporary
 * file in dir, fsync, rename), creating dir and its parents when they
 * are missing. Mode 0644.
 */
int vfd_udev_rules_write(const char *dir, const char *text);

/*
 * A guard against a configuration that would leave the host without its
 * root file system at boot: -EBUSY (error names the binding) when a
 * binding's device is the PCI function a block device of host_devs (the
 * st_dev of "/", "/usr") sits on, directly or through dm/md slaves.
 * Devices that are no block device (major 0) and sysfs entries that cannot
 * be read are passed by.
 */
int vfd_udev_rules_check_host_critical(vfd_context *ctx, const vfd_config *c,
				       const dev_t *host_devs, size_t n_host_devs,
				       vfd_op_error *error);

/*
 * The driver a binding names must not be a host driver, as vfiod checks at
 * bind time: vfio-pci, a module of the running kernel (below ctx's root)
 * declaring a vfio_pci: alias, or a module it does not have at all (the
 * initramfs may be for another kernel; an override naming no driver keeps
 * the device from all). A module without vfio_pci: alias is -ENOEXEC
 * (error names the binding): its rule would give the device to it at boot.
 */
int vfd_udev_rules_check_drivers(vfd_context *ctx, const vfd_config *c, vfd_op_error *error);
