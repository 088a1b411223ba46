/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Vendor vGPUs on VFs: the nvidia/ sysfs interface (vfiod/vendor-vgpu.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfd-internal.h"
#include "vfiod/vendor-vgpu.h"

#define PCI_DEVICES_DIR "sys/bus/pci/devices"
#define VGPU_CURRENT "nvidia/current_vgpu_type"
#define VGPU_CREATABLE "nvidia/creatable_vgpu_types"

/*
 * The driver's text is input: a name reaches D-Bus (which takes UTF-8
 * only: one bad name would fail every inventory reply) and the logs. A
 * sysfs page holds ~1000 short lines; NVIDIA's names are ~30 characters.
 */
#define VGPU_NAME_MAX  128
#define VGPU_TYPES_MAX 1024

void vfd_vgpu_types_free(vfd_vgpu_type *t, size_t n)
{
	for (size_t i = 0; t && i < n; i++)
		free(t[i].name);
	free(t);
}

vfd_vgpu_info *vfd_vgpu_info_free(vfd_vgpu_info *v)
{
	if (!v)
		return NULL;
	vfd_vgpu_types_free(v->creatable, v->n_creatable);
	free(v);
	return NULL;
}

static char *strip(char *s)
{
	char *e;

	while (isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

/* printable UTF-8 of at most VGPU_NAME_MAX bytes: no control character, no invalid sequence */
static bool name_is_valid(const char *name)
{
	const unsigned char *p = (const unsigned char *) name;

	if (strlen(name) > VGPU_NAME_MAX)
		return false;
	while (*p) {
		unsigned len, cp;

		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0)
			len = 2, cp = *p & 0x1f;
		else if ((*p & 0xf0) == 0xe0)
			len = 3, cp = *p & 0x0f;
		else if ((*p & 0xf8) == 0xf0)
			len = 4, cp = *p & 0x07;
		else
			return false;
		for (unsigned i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* overlong forms, surrogates, beyond Unicode, C1 controls */
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0))
			return false;
		p += len;
	}
	return true;
}

/* "<id> : <name>"; 0 and the fields, -EBADMSG, or 1 for the header line */
static int parse_line(char *line, unsigned *ret_id, char **ret_name)
{
	char *colon = strchr(line, ':'), *id, *name;
	unsigned v;

	if (!colon)
		return -EBADMSG;
	*colon = '\0';
	id = strip(line);
	name = strip(colon + 1);
	if (strcmp(id, "ID") == 0)
		return 1;
	if (vfd_parse_unsigned(id, &v) < 0 || v == 0 || !*name || !name_is_valid(name))
		return -EBADMSG;
	*ret_id = v;
	*ret_name = name;
	return 0;
}

int vfd_vgpu_parse_types(const char *text, vfd_vgpu_type **ret, size_t *ret_n)
{
	_cleanup_free_ char *copy = NULL;
	vfd_vgpu_type *types = NULL;
	size_t n = 0;
	char *save = NULL;
	bool first = true;
	int r = 0;

	if (!text || !ret || !ret_n)
		return -EINVAL;
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		vfd_vgpu_type *grown;
		unsigned id;
		char *name;

		if (!*strip(line))
			continue;
		r = parse_line(line, &id, &name);
		if (r == 1 && first) {
			first = false;
			continue;
		}
		first = false;
		if (r != 0 || n >= VGPU_TYPES_MAX) {
			r = -EBADMSG;
			goto fail;
		}
		/* an id twice would count the VF twice in the free count */
		for (size_t k = 0; k < n; k++)
			if (types[k].id == id) {
				r = -EBADMSG;
				goto fail;
			}
		grown = realloc(types, (n + 1) * sizeof(*types));
		if (!grown) {
			r = -ENOMEM;
			goto fail;
		}
		types = grown;
		types[n].id = id;
		types[n].name = strdup(name);
		if (!types[n].name) {
			r = -ENOMEM;
			goto fail;
		}
		n++;
	}
	*ret = types;
	*ret_n = n;
	return 0;
fail:
	vfd_vgpu_types_free(types, n);
	return r;
}

int vfd_vgpu_read(vfd_context *ctx, const char *name, vfd_vgpu_info **ret)
{
	_cleanup_(vfd_vgpu_info_freep) vfd_vgpu_info *v = NULL;
	_cleanup_free_ char *text = NULL;
	char path[VFD_PATH_MAX], dir[VFD_PATH_MAX];
	uint64_t current;
	int r;

	if (!ctx || !name || !ret || !vfd_name_is_component(name))
		return -EINVAL;
	r = vfd_pathf(dir, sizeof(dir), PCI_DEVICES_DIR "/%s", name);
	if (r < 0)
		return r;
	r = vfd_pathf(path, sizeof(path), "%s/" VGPU_CURRENT, dir);
	if (r < 0)
		return r;
	r = vfd_root_read_u64(ctx, path, &current);
	if (r == -ENOENT || r == -ENOTDIR)
		return vfd_root_exists(ctx, dir) == 1 ? -ENOENT : -ENODEV;
	if (r < 0)
		return r;
	if (current > UINT32_MAX)
		return -EBADMSG;

	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->current_type = (unsigned) current;

	r = vfd_pathf(path, sizeof(path), "%s/" VGPU_CREATABLE, dir);
	if (r < 0)
		return r;
	r = vfd_root_read_string(ctx, path, &text);
	if (r < 0)
		return r;
	r = vfd_vgpu_parse_types(text, &v->creatable, &v->n_creatable);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(v);
	return 0;
}

const char *vfd_vgpu_info_type_name(const vfd_vgpu_info *v, unsigned type)
{
	for (size_t i = 0; v && i < v->n_creatable; i++)
		if (v->creatable[i].id == type)
			return v->creatable[i].name;
	return NULL;
}

bool vfd_vgpu_info_can_take(const vfd_vgpu_info *v, unsigned type)
{
	return v && v->current_type == 0 && type != 0 && vfd_vgpu_info_type_name(v, type);
}

int vfd_vgpu_set_type(vfd_context *ctx, const char *name, unsigned type)
{
	char path[VFD_PATH_MAX], value[16];
	int r;

	if (!ctx || !name || !vfd_name_is_component(name))
		return -EINVAL;
	r = vfd_pathf(path, sizeof(path), PCI_DEVICES_DIR "/%s/" VGPU_CURRENT, name);
	if (r < 0)
		return r;
	snprintf(value, sizeof(value), "%u", type);
	return vfd_root_write_string(ctx, path, value);
}

/* ---- a parent and its VFs ---- */

static int is_owned(vfd_vgpu_owned_fn owned, void *userdata, const char *name)
{
	return owned ? owned(name, userdata) : 0;
}

int vfd_vgpu_pick(vfd_context *ctx, const char *parent, unsigned type, vfd_vgpu_owned_fn owned,
		  void *userdata, vfd_op_error *error, vfd_pci_address *ret, size_t n_ret)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *pf = NULL;
	_cleanup_free_ vfd_pci_address *unbound = NULL;
	size_t n_free = 0, n_unbound = 0, n_offering = 0, n_running = 0;
	bool listed = false;
	vfd_pci_address addr;
	int r;

	if (!ctx || !parent || !ret)
		return -EINVAL;
	if (vfd_pci_address_parse(parent, &addr) < 0)
		return vfd_op_error_set(error, -ENODEV, parent, "not a PCI address");
	r = vfd_pci_device_load(ctx, &addr, &pf);
	if (r < 0)
		return vfd_op_error_set(error, r, parent, r == -ENODEV ? "no such PCI function" :
					"cannot read the PCI function");
	if (pf->n_virtfns == 0)
		return vfd_op_error_set(error, -ENOTSUP, pf->name, "not an SR-IOV PF with VFs");
	unbound = calloc(pf->n_virtfns, sizeof(*unbound));
	if (!unbound)
		return -ENOMEM;

	for (size_t i = 0; i < pf->n_virtfns; i++) {
		_cleanup_(vfd_vgpu_info_freep) vfd_vgpu_info *v = NULL;
		_cleanup_(vfd_pci_device_freep) vfd_pci_device *vf = NULL;
		char name[VFD_PCI_ADDRESS_STRLEN];

		vfd_pci_address_format(&pf->virtfns[i], name);
		r = vfd_vgpu_read(ctx, name, &v);
		if (r == -ENODEV)
			continue; /* went away meanwhile */
		if (r == -ENOENT) {
			/* no interface: usable only when nobody drives it */
			r = vfd_pci_device_load(ctx, &pf->virtfns[i], &vf);
			if (r == -ENODEV)
				continue;
			if (r < 0)
				return vfd_op_error_set(error, r, name, "cannot read the VF");
			if (!vf->driver && is_owned(owned, userdata, name) == 0)
				unbound[n_unbound++] = pf->virtfns[i];
			continue;
		}
		if (r < 0)
			return vfd_op_error_set(error, r, name, "cannot read the VF's vGPU interface");
		n_offering++;
		if (v->current_type != 0)
			n_running++;
		if (v->current_type == type || vfd_vgpu_info_type_name(v, type))
			listed = true;
		if (!vfd_vgpu_info_can_take(v, type))
			continue;
		r = is_owned(owned, userdata, name);
		if (r < 0)
			return vfd_op_error_set(error, r, name, "cannot tell whether the VF is owned");
		if (r == 0 && n_free < n_ret)
			ret[n_free++] = pf->virtfns[i];
	}

	if (n_free == 0 && n_unbound == 0) {
		if (n_offering == 0)
			return vfd_op_error_set(error, -ENOENT, pf->name,
						"no VF of %s offers vGPU types (vendor driver not bound)",
						pf->name);
		if (!listed && n_running == 0)
			return vfd_op_error_set(error, -ENOENT, pf->name,
						"no VF of %s offers vGPU type %u", pf->name, type);
		return vfd_op_error_set(error, -ENOSPC, pf->name,
					"no free VF of %s can take vGPU type %u now", pf->name, type);
	}
	for (size_t i = 0; i < n_unbound && n_free < n_ret; i++)
		ret[n_free++] = unbound[i];
	return (int) n_free;
}

void vfd_vgpu_counts_free(vfd_vgpu_type_count *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i].name);
	free(c);
}

int vfd_vgpu_count_add(vfd_vgpu_type_count **counts, size_t *n, const vfd_vgpu_info *v)
{
	if (!counts || !n || !v)
		return -EINVAL;
	for (size_t i = 0; i < v->n_creatable; i++) {
		const vfd_vgpu_type *t = &v->creatable[i];
		vfd_vgpu_type_count *c = NULL, *grown;
		size_t at = 0;

		while (at < *n && (*counts)[at].id < t->id)
			at++;
		if (at < *n && (*counts)[at].id == t->id) {
			c = &(*counts)[at];
		} else {
			char *name = strdup(t->name);

			if (!name)
				return -ENOMEM;
			grown = realloc(*counts, (*n + 1) * sizeof(**counts));
			if (!grown) {
				free(name);
				return -ENOMEM;
			}
			*counts = grown;
			memmove(&grown[at + 1], &grown[at], (*n - at) * sizeof(*grown));
			(*n)++;
			c = &grown[at];
			*c = (vfd_vgpu_type_count) { .id = t->id, .name = name };
		}
		if (v->current_type == 0)
			c->free++;
	}
	return 0;
}
