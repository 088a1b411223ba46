/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* See bus-mdev-request.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-mdev-request.h"
#include "vfiod/inventory.h"

int bus_read_mdev_request(sd_bus_message *message, bool from_config, char **ret_parent,
			  char **ret_type, char **ret_uuid, vfd_mdev_attr **ret_attrs, size_t *ret_n,
			  sd_bus_error *error)
{
	const char *parent, *type_id, *uuid, *name, *value;
	vfd_mdev_attr *attrs = NULL;
	bool configured;
	size_t n = 0;
	int r;

	r = sd_bus_message_read(message, "sss", &parent, &type_id, &uuid);
	if (r < 0)
		return r;
	configured = from_config && !*parent && !*type_id;
	if (configured && vfd_uuid_validate(uuid) < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid UUID '%.64s': an mdev from vfiod's configuration is "
					 "named by its UUID", uuid);
	/* configured: parent, type and attributes come from the configuration */
	if (!configured && !vfd_device_name_is_valid(parent))
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid mdev parent name '%.64s': expected a device name", parent);
	if (!configured && !vfd_device_name_is_valid(type_id))
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid mdev type '%.64s': expected a type id such as mtty-2", type_id);
	if (*uuid && vfd_uuid_validate(uuid) < 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "Invalid UUID '%.64s': expected 8-4-4-4-12 hex digits, or \"\" "
					 "for a new one", uuid);

	r = sd_bus_message_enter_container(message, SD_BUS_TYPE_ARRAY, "(ss)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(message, "(ss)", &name, &value)) > 0) {
		vfd_mdev_attr *na = realloc(attrs, (n + 1) * sizeof(*na));

		if (!na)
			goto oom;
		attrs = na;
		attrs[n].name = strdup(name);
		attrs[n].value = strdup(value);
		n++;
		if (!attrs[n - 1].name || !attrs[n - 1].value)
			goto oom;
	}
	if (r < 0)
		goto fail;
	r = sd_bus_message_exit_container(message);
	if (r < 0)
		goto fail;
	if (configured && n > 0) {
		r = sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
				      "An mdev from vfiod's configuration takes its attributes from there");
		goto fail;
	}

	*ret_parent = strdup(parent);
	*ret_type = strdup(type_id);
	*ret_uuid = strdup(uuid);
	*ret_attrs = attrs;
	*ret_n = n;
	if (!*ret_parent || !*ret_type || !*ret_uuid)
		return -ENOMEM; /* the caller frees what it got */
	return 0;
oom:
	r = -ENOMEM;
fail:
	vfd_mdev_attrs_free(attrs, n);
	return r;
}
