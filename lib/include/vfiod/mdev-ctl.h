/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Creating and removing mediated devices (lib/mdev-ctl.c).
 *
 * Creation writes the UUID to
 *   sys/class/mdev_bus/<parent>/mdev_supported_types/<type>/create
 * after checking the type's available_instances, then writes the optional
 * attributes, in the order given, to the new device's own attribute files
 * (sys/bus/mdev/devices/<uuid>/<name>), the way mdevctl configures vfio-ap
 * matrices. Any failure after the device exists removes it again, so a
 * failed create leaves no mdev behind.
 *
 * Errors (negative errno; the vfd_op_error says which object and why):
 *   -ENODEV   the parent does not exist (create), the mdev does not (remove)
 *   -ENOENT   the parent offers no such type
 *   -ENOSPC   the type has no available instances
 *   -EEXIST   an mdev with this UUID exists already
 *   -EINVAL   a malformed UUID, parent, type or attribute name, or an
 *             attribute this mdev does not have
 *   other     the kernel refused a write (its errno)
 */
#pragma once

#include <stddef.h>

#include "vfiod/op-error.h"
#include "vfiod/inventory.h"

typedef struct vfd_mdev_attr {
	/* relative to the mdev's directory; "/" separates subdirectories */
	const char *name;
	const char *value;
} vfd_mdev_attr;

/* frees the names and values of attrs[0..n) (owned by whoever built them) and attrs */
void vfd_mdev_attrs_free(vfd_mdev_attr *attrs, size_t n);

/* A random (version 4) UUID in lower case, from getrandom(2). */
int vfd_mdev_uuid_generate(char ret[VFD_UUID_STRLEN]);

/*
 * uuid NULL: a new random one. attrs may be NULL when n_attrs is 0.
 * error may be NULL. On success ret_uuid holds the mdev's UUID in lower
 * case (the kernel names the device that way whatever the input case).
 */
int vfd_mdev_create(vfd_context *ctx, const char *parent, const char *type_id, const char *uuid,
		    const vfd_mdev_attr *attrs, size_t n_attrs, vfd_op_error *error,
		    char ret_uuid[VFD_UUID_STRLEN]);

/*
 * Writes 1 to sys/bus/mdev/devices/<uuid>/remove and checks the device is
 * gone. The kernel refuses (-EBUSY) while a VMM has the device open.
 */
int vfd_mdev_remove(vfd_context *ctx, const char *uuid, vfd_op_error *error);
