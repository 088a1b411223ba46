/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The files of mdevctl (etc/mdevctl.d/<parent>/<uuid>) and driverctl
 * (etc/driverctl.d/pci-<address>) read as vfiod configuration entries.
 */
#include <string.h>

#include "config-internal.h"
#include "vfd-internal.h"

static void json_putp(json_object **j)
{
	if (*j)
		json_object_put(*j);
}

int vfd_config_parse_mdevctl(const char *parent, const char *uuid, const char *text,
			     const char *origin, vfd_op_error *error, vfd_config_mdev *ret)
{
	_cleanup_(json_putp) json_object *j = NULL;
	vfd_config_mdev m = { .source = VFD_CONFIG_SOURCE_MDEVCTL };
	const char *type = NULL, *start = NULL;
	json_object *attrs = NULL;
	int r;

	if (!parent || !uuid || !text || !origin || !ret)
		return -EINVAL;
	if (!vfd_name_is_component(parent))
		return vfd_op_error_set(error, -EINVAL, origin, "invalid parent name");
	if (vfd_uuid_normalize(uuid, m.uuid) < 0)
		return vfd_op_error_set(error, -EINVAL, origin, "the file name is not a UUID");

	r = vfd_config_json_parse(text, origin, error, &j);
	if (r < 0)
		return r;

	/*
	 * Keys mdevctl does not write are ignored, unlike in vfiod.json:
	 * newer mdevctl versions may add some, and the file is theirs.
	 */
	json_object_object_foreach(j, key, v) {
		if (strcmp(key, "mdev_type") == 0) {
			if (!json_object_is_type(v, json_type_string))
				return vfd_op_error_set(error, -EINVAL, origin, "\"mdev_type\" must be a string");
			type = json_object_get_string(v);
		} else if (strcmp(key, "start") == 0) {
			if (!json_object_is_type(v, json_type_string))
				return vfd_op_error_set(error, -EINVAL, origin, "\"start\" must be a string");
			start = json_object_get_string(v);
		} else if (strcmp(key, "attrs") == 0)
			attrs = v;
	}

	if (!type || !vfd_name_is_component(type))
		return vfd_op_error_set(error, -EINVAL, origin, "no valid \"mdev_type\"");
	if (!start || strcmp(start, "manual") == 0)
		m.autostart = false; /* mdevctl's default */
	else if (strcmp(start, "auto") == 0)
		m.autostart = true;
	else
		return vfd_op_error_set(error, -EINVAL, origin,
					"\"start\" must be \"auto\" or \"manual\", not '%.32s'", start);

	if (attrs) {
		r = vfd_config_parse_attrs(attrs, origin, error, &m.attrs, &m.n_attrs);
		if (r < 0)
			return r;
	}

	m.parent = strdup(parent);
	m.type = strdup(type);
	m.origin = strdup(origin);
	if (!m.parent || !m.type || !m.origin) {
		vfd_config_mdev_done(&m);
		return -ENOMEM;
	}
	*ret = m;
	return 0;
}

int vfd_config_parse_driverctl(const char *filename, const char *text, const char *origin,
			       vfd_op_error *error, vfd_config_binding *ret)
{
	vfd_config_binding b = { .source = VFD_CONFIG_SOURCE_DRIVERCTL };
	size_t len;

	if (!filename || !text || !origin || !ret)
		return -EINVAL;

	/* driverctl names its files <bus>-<device>; vfiod only knows PCI */
	if (strncmp(filename, "pci-", 4) != 0)
		return vfd_op_error_set(error, -EINVAL, origin, "not a PCI override (pci-<address>)");
	if (vfd_pci_address_parse(filename + 4, &b.address) < 0)
		return vfd_op_error_set(error, -EINVAL, origin, "invalid PCI address in the file name");

	/* the driver name and at most one newline, as driverctl writes it */
	len = strlen(text);
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len == 0 || len > 64 || memchr(text, '/', len) || strcspn(text, " \t\n") < len)
		return vfd_op_error_set(error, -EINVAL, origin, "does not hold one driver name");

	if (len != strlen("vfio-pci") || strncmp(text, "vfio-pci", len) != 0)
		return 0;

	vfd_pci_address_format(&b.address, b.name);
	b.origin = strdup(origin);
	if (!b.origin)
		return -ENOMEM;
	*ret = b;
	return 1;
}
