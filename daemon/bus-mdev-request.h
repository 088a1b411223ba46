/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The arguments of CreateMdev, read off the bus once for both adaptors. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "vfiod/mdev-ctl.h"

/*
 * Reads the (parent, type, uuid, attributes) arguments of a CreateMdev
 * call (VM and Manager), validated; uuid "" asks for a new one. With
 * from_config, parent and type "" with a UUID and no attributes are
 * accepted too: the definition comes from vfiod's configuration. On
 * failure the ret_* strings may be set: the caller frees them.
 */
int bus_read_mdev_request(sd_bus_message *message, bool from_config, char **ret_parent,
			  char **ret_type, char **ret_uuid, vfd_mdev_attr **ret_attrs, size_t *ret_n,
			  sd_bus_error *error);
