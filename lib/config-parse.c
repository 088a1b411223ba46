/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfiod.json and the JSON pieces it shares with mdevctl (lib/include/vfiod/config.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config-internal.h"
#include "vfd-internal.h"
#include "vfiod/vfio-variant.h"

static void json_putp(json_object **j)
{
	if (*j)
		json_object_put(*j);
}

int vfd_config_json_parse(const char *text, const char *origin, vfd_op_error *error,
			  json_object **ret)
{
	json_tokener *tok;
	json_object *j;
	size_t len = strlen(text);
	size_t end;
	enum json_tokener_error jerr;

	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	j = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (!j || jerr != json_tokener_success) {
		json_object_put(j);
		return vfd_op_error_set(error, -EINVAL, origin, "not valid JSON: %s",
					jerr == json_tokener_continue ? "unexpected end of file" :
					json_tokener_error_desc(jerr));
	}
	for (; end < len; end++)
		if (!isspace((unsigned char)text[end])) {
			json_object_put(j);
			return vfd_op_error_set(error, -EINVAL, origin,
						"unexpected data after the JSON object at byte %zu", end);
		}
	if (!json_object_is_type(j, json_type_object)) {
		json_object_put(j);
		return vfd_op_error_set(error, -EINVAL, origin, "expected a JSON object at the top");
	}
	*ret = j;
	return 0;
}

/* relative, no "..", no empty component: it becomes a path below the mdev */
static bool attr_name_is_valid(const char *name)
{
	const char *p = name;

	if (!*name || *name == '/' || strlen(name) > 255)
		return false;
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.'))
			return false;
		p += n;
		if (*p == '/')
			p++;
		else
			break;
	}
	return name[strlen(name) - 1] != '/';
}

static void attrs_free(vfd_mdev_attr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)a[i].name);
		free((char *)a[i].value);
	}
	free(a);
}

int vfd_config_parse_attrs(json_object *a, const char *origin, vfd_op_error *error,
			   vfd_mdev_attr **ret, size_t *ret_n)
{
	vfd_mdev_attr *attrs = NULL;
	size_t n;

	if (!json_object_is_type(a, json_type_array))
		return vfd_op_error_set(error, -EINVAL, origin, "\"attrs\" must be an array");

	n = json_object_array_length(a);
	if (n > 0) {
		attrs = calloc(n, sizeof(*attrs));
		if (!attrs)
			return -ENOMEM;
	}

	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(a, i);
		const char *value;

		/* one key per object: the array keeps the order the kernel needs */
		if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) != 1) {
			attrs_free(attrs, i);
			return vfd_op_error_set(error, -EINVAL, origin,
						"attrs[%zu] must be an object with exactly one key", i);
		}
		json_object_object_foreach(o, key, v) {
			if (!attr_name_is_valid(key)) {
				attrs_free(attrs, i);
				return vfd_op_error_set(error, -EINVAL, origin,
							"attrs[%zu]: invalid attribute name '%.64s'", i, key);
			}
			/* mdevctl writes strings; numbers are accepted as their decimal text */
			if (json_object_is_type(v, json_type_string))
				value = json_object_get_string(v);
			else if (json_object_is_type(v, json_type_int))
				value = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
			else {
				attrs_free(attrs, i);
				return vfd_op_error_set(error, -EINVAL, origin,
							"attrs[%zu]: the value of '%.64s' must be a string",
							i, key);
			}
			attrs[i].name = strdup(key);
			attrs[i].value = strdup(value);
			if (!attrs[i].name || !attrs[i].value) {
				attrs_free(attrs, i + 1);
				return -ENOMEM;
			}
		}
	}

	*ret = attrs;
	*ret_n = n;
	return 0;
}

static int get_bool(json_object *o, const char *origin, const char *what, vfd_op_error *error,
		    bool *ret)
{
	if (!json_object_is_type(o, json_type_boolean))
		return vfd_op_error_set(error, -EINVAL, origin, "%s must be true or false", what);
	*ret = json_object_get_boolean(o);
	return 0;
}

static int get_string(json_object *o, const char *origin, const char *what, vfd_op_error *error,
		      const char **ret)
{
	if (!json_object_is_type(o, json_type_string))
		return vfd_op_error_set(error, -EINVAL, origin, "%s must be a string", what);
	*ret = json_object_get_string(o);
	return 0;
}

static int parse_binding(json_object *o, size_t i, const char *origin, vfd_op_error *error,
			 vfd_config_binding *ret)
{
	vfd_config_binding b = { .source = VFD_CONFIG_SOURCE_VFIOD };
	_cleanup_free_ char *driver = NULL;
	char what[64];
	bool have_device = false;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return vfd_op_error_set(error, -EINVAL, origin, "bindings[%zu] must be an object", i);

	json_object_object_foreach(o, key, v) {
		if (strcmp(key, "device") == 0) {
			const char *s = NULL;

			snprintf(what, sizeof(what), "bindings[%zu].device", i);
			r = get_string(v, origin, what, error, &s);
			if (r < 0)
				return r;
			if (vfd_pci_address_parse(s, &b.address) < 0)
				return vfd_op_error_set(error, -EINVAL, origin,
							"bindings[%zu].device: invalid PCI address '%.32s' "
							"(expected DDDD:BB:SS.F)", i, s);
			have_device = true;
		} else if (strcmp(key, "unbind_host_members") == 0) {
			snprintf(what, sizeof(what), "bindings[%zu].unbind_host_members", i);
			r = get_bool(v, origin, what, error, &b.unbind_host_members);
			if (r < 0)
				return r;
		} else if (strcmp(key, "driver") == 0) {
			const char *s = NULL;

			snprintf(what, sizeof(what), "bindings[%zu].driver", i);
			r = get_string(v, origin, what, error, &s);
			if (r < 0)
				return r;
			/* whether it is a VFIO driver for the device is checked at bind time */
			if (!vfd_module_name_is_valid(s))
				return vfd_op_error_set(error, -EINVAL, origin,
							"bindings[%zu].driver: invalid driver name '%.32s' "
							"(letters, digits, '_' and '-', at most %d)", i, s,
							VFD_MODULE_NAME_MAX);
			free(driver);
			driver = strdup(s);
			if (!driver)
				return -ENOMEM;
		} else
			return vfd_op_error_set(error, -EINVAL, origin,
						"bindings[%zu]: unknown key '%.32s' "
						"(known: device, unbind_host_members, driver)", i, key);
	}
	if (!have_device)
		return vfd_op_error_set(error, -EINVAL, origin, "bindings[%zu] has no \"device\"", i);

	vfd_pci_address_format(&b.address, b.name);
	b.origin = strdup(origin);
	if (!b.origin)
		return -ENOMEM;
	b.driver = TAKE_PTR(driver);
	*ret = b;
	return 0;
}

static int parse_mdev(json_object *o, size_t i, const char *origin, vfd_op_error *error,
		      vfd_config_mdev *ret)
{
	vfd_config_mdev m = { .source = VFD_CONFIG_SOURCE_VFIOD, .autostart = true };
	const char *uuid = NULL, *parent = NULL, *type = NULL;
	json_object *attrs = NULL;
	char what[64];
	int r;

	if (!json_object_is_type(o, json_type_object))
		return vfd_op_error_set(error, -EINVAL, origin, "mdevs[%zu] must be an object", i);

	json_object_object_foreach(o, key, v) {
		snprintf(what, sizeof(what), "mdevs[%zu].%.32s", i, key);
		if (strcmp(key, "uuid") == 0)
			r = get_string(v, origin, what, error, &uuid);
		else if (strcmp(key, "parent") == 0)
			r = get_string(v, origin, what, error, &parent);
		else if (strcmp(key, "type") == 0)
			r = get_string(v, origin, what, error, &type);
		else if (strcmp(key, "autostart") == 0)
			r = get_bool(v, origin, what, error, &m.autostart);
		else if (strcmp(key, "attrs") == 0) {
			attrs = v;
			r = 0;
		} else
			r = vfd_op_error_set(error, -EINVAL, origin,
					     "mdevs[%zu]: unknown key '%.32s' "
					     "(known: uuid, parent, type, attrs, autostart)", i, key);
		if (r < 0)
			return r;
	}

	/* a UUID is required: without one, each boot would make a different mdev */
	if (!uuid || vfd_uuid_normalize(uuid, m.uuid) < 0)
		return vfd_op_error_set(error, -EINVAL, origin, "mdevs[%zu] needs a valid \"uuid\"", i);
	if (!parent || !vfd_name_is_component(parent))
		return vfd_op_error_set(error, -EINVAL, origin,
					"mdevs[%zu] needs a \"parent\" device name", i);
	if (!type || !vfd_name_is_component(type))
		return vfd_op_error_set(error, -EINVAL, origin, "mdevs[%zu] needs a \"type\"", i);

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

static int parse_import(json_object *o, vfd_config *c, const char *origin, vfd_op_error *error)
{
	int r;

	if (!json_object_is_type(o, json_type_object))
		return vfd_op_error_set(error, -EINVAL, origin, "\"import\" must be an object");
	json_object_object_foreach(o, key, v) {
		if (strcmp(key, "mdevctl") == 0)
			r = get_bool(v, origin, "import.mdevctl", error, &c->import_mdevctl);
		else if (strcmp(key, "driverctl") == 0)
			r = get_bool(v, origin, "import.driverctl", error, &c->import_driverctl);
		else
			r = vfd_op_error_set(error, -EINVAL, origin,
					     "import: unknown key '%.32s' (known: mdevctl, driverctl)", key);
		if (r < 0)
			return r;
	}
	return 0;
}

int vfd_config_parse_vfiod(vfd_config *c, const char *text, const char *origin,
			   vfd_op_error *error)
{
	_cleanup_(json_putp) json_object *j = NULL;
	json_object *bindings = NULL, *mdevs = NULL, *import = NULL, *sriov = NULL;
	vfd_config_sriov *ns = NULL;
	size_t n_s = 0;
	vfd_config_binding *nb = NULL;
	vfd_config_mdev *nm = NULL;
	size_t n_b = 0, n_m = 0, i;
	int r;

	if (!c || !text || !origin)
		return -EINVAL;

	r = vfd_config_json_parse(text, origin, error, &j);
	if (r < 0)
		return r;

	json_object_object_foreach(j, key, v) {
		if (strcmp(key, "bindings") == 0)
			bindings = v;
		else if (strcmp(key, "mdevs") == 0)
			mdevs = v;
		else if (strcmp(key, "import") == 0)
			import = v;
		else if (strcmp(key, "sriov") == 0)
			sriov = v;
		else
			return vfd_op_error_set(error, -EINVAL, origin,
						"unknown key '%.32s' (known: bindings, mdevs, import, sriov)", key);
	}
	if (bindings && !json_object_is_type(bindings, json_type_array))
		return vfd_op_error_set(error, -EINVAL, origin, "\"bindings\" must be an array");
	if (mdevs && !json_object_is_type(mdevs, json_type_array))
		return vfd_op_error_set(error, -EINVAL, origin, "\"mdevs\" must be an array");

	if (sriov) {
		r = vfd_config_parse_sriov(sriov, origin, error, &ns, &n_s);
		if (r < 0)
			return r;
	}

	/* everything is parsed into new arrays first: c changes only on success */
	n_b = bindings ? json_object_array_length(bindings) : 0;
	n_m = mdevs ? json_object_array_length(mdevs) : 0;
	nb = calloc(n_b + 1, sizeof(*nb));
	nm = calloc(n_m + 1, sizeof(*nm));
	if (!nb || !nm) {
		r = -ENOMEM;
		goto fail;
	}

	for (i = 0; i < n_b; i++) {
		r = parse_binding(json_object_array_get_idx(bindings, i), i, origin, error, &nb[i]);
		if (r < 0)
			goto fail;
		for (size_t k = 0; k < i; k++)
			if (strcmp(nb[k].name, nb[i].name) == 0) {
				i++; /* nb[i] is filled: freed below */
				r = vfd_op_error_set(error, -EINVAL, origin,
						     "bindings[%zu]: %s is listed twice", i - 1, nb[i - 1].name);
				goto fail;
			}
	}
	n_b = i;
	for (i = 0; i < n_m; i++) {
		r = parse_mdev(json_object_array_get_idx(mdevs, i), i, origin, error, &nm[i]);
		if (r < 0)
			goto fail;
		for (size_t k = 0; k < i; k++)
			if (strcmp(nm[k].uuid, nm[i].uuid) == 0) {
				i++;
				r = vfd_op_error_set(error, -EINVAL, origin,
						     "mdevs[%zu]: UUID %s is listed twice", i - 1, nm[i - 1].uuid);
				goto fail;
			}
	}
	n_m = i;

	if (import) {
		bool im = c->import_mdevctl, id = c->import_driverctl;

		r = parse_import(import, c, origin, error);
		if (r < 0) {
			c->import_mdevctl = im;
			c->import_driverctl = id;
			goto fail;
		}
	}

	/* append */
	if (n_s > 0) {
		vfd_config_sriov *a = realloc(c->sriov, (c->n_sriov + n_s) * sizeof(*a));

		if (!a) {
			r = -ENOMEM;
			goto fail;
		}
		c->sriov = a;
		memcpy(c->sriov + c->n_sriov, ns, n_s * sizeof(*ns));
		c->n_sriov += n_s;
	}
	if (n_b > 0) {
		vfd_config_binding *a = realloc(c->bindings, (c->n_bindings + n_b) * sizeof(*a));

		if (!a) {
			r = -ENOMEM;
			goto fail;
		}
		c->bindings = a;
	}
	if (n_m > 0) {
		vfd_config_mdev *a = realloc(c->mdevs, (c->n_mdevs + n_m) * sizeof(*a));

		if (!a) {
			r = -ENOMEM;
			goto fail;
		}
		c->mdevs = a;
	}
	/* with nothing to append, the arrays may still be NULL: no memcpy from or to NULL */
	if (n_b > 0)
		memcpy(c->bindings + c->n_bindings, nb, n_b * sizeof(*nb));
	c->n_bindings += n_b;
	if (n_m > 0)
		memcpy(c->mdevs + c->n_mdevs, nm, n_m * sizeof(*nm));
	c->n_mdevs += n_m;
	free(nb);
	free(nm);
	free(ns);
	return 0;

fail:
	free(ns);
	/* entries before i of the failing array, and every entry of an earlier one, are filled */
	if (nb)
		for (size_t k = 0; k < n_b; k++)
			vfd_config_binding_done(&nb[k]);
	if (nm)
		for (size_t k = 0; k < n_m; k++)
			vfd_config_mdev_done(&nm[k]);
	free(nb);
	free(nm);
	return r;
}
