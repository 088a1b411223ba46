/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfiod.json's "sriov" entries; see lib/include/vfiod/config.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"

static int parse_entry(json_object *o, size_t i, const char *origin, vfd_op_error *error,
		       vfd_config_sriov *ret)
{
	vfd_config_sriov e = {};
	bool have_device = false, have_count = false;

	if (!json_object_is_type(o, json_type_object))
		return vfd_op_error_set(error, -EINVAL, origin, "sriov[%zu] must be an object", i);
	json_object_object_foreach(o, key, v) {
		if (strcmp(key, "device") == 0) {
			if (!json_object_is_type(v, json_type_string) ||
			    vfd_pci_address_parse(json_object_get_string(v), &e.address) < 0)
				return vfd_op_error_set(error, -EINVAL, origin,
							"sriov[%zu].device must be a PCI address "
							"(DDDD:BB:SS.F)", i);
			have_device = true;
		} else if (strcmp(key, "num_vfs") == 0) {
			int64_t n;

			/* an integer, not a string or a double: "2" or 2.5 are mistakes */
			if (!json_object_is_type(v, json_type_int))
				return vfd_op_error_set(error, -EINVAL, origin,
							"sriov[%zu].num_vfs must be an integer", i);
			n = json_object_get_int64(v);
			if (n < 0 || n > UINT16_MAX)
				return vfd_op_error_set(error, -EINVAL, origin,
							"sriov[%zu].num_vfs must be 0 to %u", i,
							UINT16_MAX);
			e.num_vfs = (unsigned)n;
			have_count = true;
		} else
			return vfd_op_error_set(error, -EINVAL, origin,
						"sriov[%zu]: unknown key '%.32s' (known: device, num_vfs)",
						i, key);
	}
	if (!have_device || !have_count)
		return vfd_op_error_set(error, -EINVAL, origin, "sriov[%zu] needs \"device\" and \"num_vfs\"",
					i);
	vfd_pci_address_format(&e.address, e.name);
	*ret = e;
	return 0;
}

int vfd_config_parse_sriov(json_object *a, const char *origin, vfd_op_error *error,
			   vfd_config_sriov **ret, size_t *ret_n)
{
	_cleanup_free_ vfd_config_sriov *l = NULL;
	size_t n;
	int r;

	if (!json_object_is_type(a, json_type_array))
		return vfd_op_error_set(error, -EINVAL, origin, "\"sriov\" must be an array");
	n = json_object_array_length(a);
	l = calloc(n + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = parse_entry(json_object_array_get_idx(a, i), i, origin, error, &l[i]);
		if (r < 0)
			return r;
		for (size_t k = 0; k < i; k++)
			if (strcmp(l[k].name, l[i].name) == 0)
				return vfd_op_error_set(error, -EINVAL, origin,
							"sriov[%zu]: %s is listed twice", i, l[i].name);
	}
	*ret = TAKE_PTR(l);
	*ret_n = n;
	return 0;
}
