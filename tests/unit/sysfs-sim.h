/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A kernel-reaction simulator for fixture sysfs trees (test code only).
 *
 * libvfiod writes sysfs attributes through vfd_root_write_string(); in a
 * fixture those writes land in plain files and nothing reacts. Installed
 * as the context's write hook (vfd_context_set_write_hook()), the
 * simulator does in the fixture what Linux 6.12 does on a real host:
 *
 *   devices/<bdf>/driver_override  stores the name ("\n" or "" clears it,
 *                                  shown as "(null)")
 *   drivers/<d>/unbind             removes the driver links, -ENODEV when
 *                                  the device is not bound to d
 *   drivers/<d>/bind               binds when d matches (driver_override,
 *                                  else the device's native driver),
 *                                  -ENODEV otherwise, -EBUSY when bound,
 *                                  and reports a failing probe
 *   drivers_probe                  binds an unbound device to the matching
 *                                  driver; a failing probe leaves it
 *                                  unbound and still succeeds, like
 *                                  really_probe(); vfio-pci refuses bridges
 *   <type>/create                  makes the mdev (device dir, links, its
 *                                  own IOMMU group, attribute files),
 *                                  -EEXIST, -EUSERS with no instance left
 *   <mdev>/remove                  removes it again
 *   anything else                  the file holds exactly the value written
 *
 * A device's native driver is the one it is bound to when the simulator
 * starts (what the kernel would pick by ID table); sim_set_native()
 * changes it. Every write is logged as "path=value".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct sim sim;

/* root: absolute path of a fixture tree that the simulator may change */
sim *sim_new(const char *root);
void sim_free(sim *s);

/* The write hook: pass s as userdata. */
int sim_write_hook(const char *path, const char *value, void *userdata);

/* Probing driver on bdf fails with err (a positive errno, as probe() returns it). */
void sim_fail_probe(sim *s, const char *bdf, const char *driver, int err);
/* A write to path (root-relative, as libvfiod writes it) is refused with -err. */
void sim_fail_write(sim *s, const char *path, int err);
void sim_clear_failures(sim *s);
/* NULL driver: the device matches no driver by ID */
void sim_set_native(sim *s, const char *bdf, const char *driver);
/* Attribute files that new mdevs of type_id get, NULL-terminated. */
void sim_set_mdev_attrs(sim *s, const char *type_id, const char *const *names);

size_t sim_n_writes(const sim *s);
const char *sim_write_at(const sim *s, size_t i);
/* true when some logged write's path ends with suffix */
bool sim_wrote_path_suffix(const sim *s, const char *suffix);

/* ---- fixture tree helpers ---- */

/* A fresh copy of the tree src (files, directories, symlinks as they are). */
char *tree_copy(const char *src);
/* Every entry of the tree with its type, link target or content, sorted. */
char *tree_snapshot(const char *root);
/* Fails the test with the first differing line when a != b. */
void tree_assert_same(const char *a, const char *b);

/* The device's driver (basename of its driver link) or NULL; free it. */
char *fixture_pci_driver(const char *root, const char *bdf);
/* The device's driver_override file content without the newline; free it. */
char *fixture_pci_override(const char *root, const char *bdf);
/* The content of root/rel without a trailing newline; free it. NULL when absent. */
char *fixture_read(const char *root, const char *rel);
bool fixture_exists(const char *root, const char *rel);
