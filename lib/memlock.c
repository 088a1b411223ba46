/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The memlock model's objects: the VM spec, the result (plan) with its
 * breakdown, the policy dispatch and the names used on the command line
 * and on the bus. The arithmetic lives in memlock-libvirt.c and
 * memlock-precise.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "memlock-internal.h"
#include "vfiod/process.h"

#define streq(a, b) (strcmp((a), (b)) == 0)

/* ---- spec ---- */

int vfd_memlock_spec_new(vfd_memlock_spec **ret)
{
	vfd_memlock_spec *spec;

	if (!ret)
		return -EINVAL;
	spec = calloc(1, sizeof(*spec));
	if (!spec)
		return -ENOMEM;
	spec->backend = VFD_MEMLOCK_BACKEND_TYPE1;
	spec->iommufd_accounting = VFD_MEMLOCK_IOMMUFD_PER_USER;
	*ret = spec;
	return 0;
}

vfd_memlock_spec *vfd_memlock_spec_free(vfd_memlock_spec *spec)
{
	if (!spec)
		return NULL;
	for (size_t i = 0; i < spec->n_devices; i++) {
		free(spec->devices[i].name);
		free(spec->devices[i].mdev_type);
	}
	free(spec->devices);
	free(spec->memory_devices);
	for (size_t i = 0; i < spec->n_notes; i++)
		free(spec->notes[i]);
	free(spec->notes);
	free(spec);
	return NULL;
}

int vfd_memlock_spec_add_note(vfd_memlock_spec *spec, const char *fmt, ...)
{
	char *note = NULL, **a;
	va_list ap;
	int k;

	if (!spec || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	k = vasprintf(&note, fmt, ap);
	va_end(ap);
	if (k < 0)
		return -ENOMEM;
	if (spec->n_notes >= SIZE_MAX / sizeof(*a) - 1) {
		free(note);
		return -ENOMEM;
	}
	a = realloc(spec->notes, (spec->n_notes + 1) * sizeof(*a));
	if (!a) {
		free(note);
		return -ENOMEM;
	}
	spec->notes = a;
	spec->notes[spec->n_notes++] = note;
	return 0;
}

int vfd_memlock_spec_add_memory_device(vfd_memlock_spec *spec, bool virtio_mem, uint64_t size_bytes,
				       uint64_t block_bytes)
{
	vfd_memlock_memory_device *a;

	if (!spec)
		return -EINVAL;
	if (spec->n_memory_devices >= SIZE_MAX / sizeof(*a) - 1)
		return -ENOMEM;
	a = realloc(spec->memory_devices, (spec->n_memory_devices + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	spec->memory_devices = a;
	spec->memory_devices[spec->n_memory_devices++] = (vfd_memlock_memory_device){
		.virtio_mem = virtio_mem,
		.size_bytes = size_bytes,
		.block_bytes = block_bytes,
	};
	return 0;
}

int vfd_memlock_spec_add_device(vfd_memlock_spec *spec, vfd_memlock_device_kind kind,
				const char *name, const char *mdev_type, int address_space)
{
	_cleanup_free_ char *n = NULL, *t = NULL;
	vfd_memlock_device *a;

	if (!spec || (unsigned)kind >= _VFD_MEMLOCK_DEVICE_MAX || address_space < VFD_MEMLOCK_SPACE_AUTO)
		return -EINVAL;
	if (spec->n_devices >= SIZE_MAX / sizeof(*a) - 1)
		return -ENOMEM;
	if (name && !(n = strdup(name)))
		return -ENOMEM;
	if (mdev_type && !(t = strdup(mdev_type)))
		return -ENOMEM;
	a = realloc(spec->devices, (spec->n_devices + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	spec->devices = a;
	spec->devices[spec->n_devices++] = (vfd_memlock_device){
		.kind = kind,
		.name = TAKE_PTR(n),
		.mdev_type = TAKE_PTR(t),
		.address_space = address_space,
	};
	return 0;
}

int vfd_memlock_spec_validate(const vfd_memlock_spec *spec, char **error_message)
{
	if (!spec)
		return vfd_error_setf(error_message, -EINVAL, "no VM description");
	if (spec->memory_kib == 0)
		return vfd_error_setf(error_message, -EINVAL, "the VM has no memory");
	/* every rule works in bytes: the sizes must fit once multiplied out */
	if (spec->memory_kib > UINT64_MAX / KIB || spec->max_memory_kib > UINT64_MAX / KIB ||
	    (spec->has_hard_limit && spec->hard_limit_kib > UINT64_MAX / KIB))
		return vfd_error_setf(error_message, -EINVAL, "a memory size does not fit in 64 bits of bytes");
	if ((unsigned)spec->backend >= _VFD_MEMLOCK_BACKEND_MAX)
		return vfd_error_setf(error_message, -EINVAL, "unknown VFIO backend %d", (int)spec->backend);
	if ((unsigned)spec->iommufd_accounting >= _VFD_MEMLOCK_IOMMUFD_MAX)
		return vfd_error_setf(error_message, -EINVAL, "unknown iommufd accounting mode %d",
					(int)spec->iommufd_accounting);
	if ((unsigned)spec->machine >= _VFD_MEMLOCK_MACHINE_MAX)
		return vfd_error_setf(error_message, -EINVAL, "unknown machine layout %d", (int)spec->machine);
	if (spec->n_memory_devices > 0 && !spec->memory_devices)
		return vfd_error_setf(error_message, -EINVAL, "memory device list missing");
	if (spec->n_devices > 0 && !spec->devices)
		return vfd_error_setf(error_message, -EINVAL, "device list missing");
	for (size_t i = 0; i < spec->n_devices; i++) {
		const vfd_memlock_device *d = &spec->devices[i];

		if ((unsigned)d->kind >= _VFD_MEMLOCK_DEVICE_MAX)
			return vfd_error_setf(error_message, -EINVAL, "device %zu: unknown kind %d", i, (int)d->kind);
		if (d->address_space < VFD_MEMLOCK_SPACE_AUTO)
			return vfd_error_setf(error_message, -EINVAL, "device %zu: bad address space %d",
						i, d->address_space);
	}
	return 0;
}

void vfd_memlock_count_devices(const vfd_memlock_spec *spec, vfd_memlock_counts *ret)
{
	*ret = (vfd_memlock_counts){};
	for (size_t i = 0; i < spec->n_devices; i++)
		switch (spec->devices[i].kind) {
		case VFD_MEMLOCK_DEVICE_PCI:
			ret->pci++;
			break;
		case VFD_MEMLOCK_DEVICE_MDEV:
			ret->mdev++;
			break;
		case VFD_MEMLOCK_DEVICE_NVME:
			ret->nvme++;
			break;
		case VFD_MEMLOCK_DEVICE_VDPA:
			ret->vdpa++;
			if (spec->devices[i].vdpa_disk)
				ret->vdpa_disks++;
			break;
		case _VFD_MEMLOCK_DEVICE_MAX:
			break;
		}
}

int vfd_memlock_spec_observe_status(vfd_memlock_spec *spec, const char *status_text)
{
	uint64_t locked, pinned;
	int r;

	if (!spec || !status_text)
		return -EINVAL;
	/* the kernel's status lines: lib/process.c; a missing one is malformed here */
	r = vfd_process_parse_status_bytes(status_text, "VmLck", &locked);
	if (r < 0)
		return r == -ENODATA ? -EBADMSG : r;
	r = vfd_process_parse_status_bytes(status_text, "VmPin", &pinned);
	if (r < 0)
		return r == -ENODATA ? -EBADMSG : r;
	spec->has_observed = true;
	spec->observed_locked_bytes = locked;
	spec->observed_pinned_bytes = pinned;
	return 0;
}

/* ---- plan ---- */

vfd_memlock_plan *vfd_memlock_plan_free(vfd_memlock_plan *plan)
{
	if (!plan)
		return NULL;
	for (size_t i = 0; i < plan->n_entries; i++) {
		free(plan->entries[i].rule);
		free(plan->entries[i].detail);
	}
	free(plan->entries);
	free(plan);
	return NULL;
}

int vfd_memlock_plan_add(vfd_memlock_plan *plan, const char *rule, uint64_t bytes, bool counted,
			 const char *fmt, ...)
{
	_cleanup_free_ char *r = NULL, *detail = NULL;
	vfd_memlock_entry *a;
	va_list ap;
	int k;

	r = strdup(rule);
	if (!r)
		return -ENOMEM;
	va_start(ap, fmt);
	k = vasprintf(&detail, fmt, ap);
	va_end(ap);
	if (k < 0) {
		detail = NULL;
		return -ENOMEM;
	}
	if (plan->n_entries >= SIZE_MAX / sizeof(*a) - 1)
		return -ENOMEM;
	a = realloc(plan->entries, (plan->n_entries + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	plan->entries = a;
	plan->entries[plan->n_entries++] = (vfd_memlock_entry){
		.rule = TAKE_PTR(r),
		.bytes = bytes,
		.detail = TAKE_PTR(detail),
		.counted = counted,
	};
	return 0;
}

int vfd_memlock_plan_compute(const vfd_memlock_spec *spec, const vfd_memlock_config *cfg,
			     vfd_memlock_policy policy, vfd_memlock_plan **ret, char **error_message)
{
	_cleanup_(vfd_memlock_config_freep) vfd_memlock_config *defaults = NULL;
	_cleanup_(vfd_memlock_plan_freep) vfd_memlock_plan *plan = NULL;
	int r;

	if (!ret)
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	r = vfd_memlock_spec_validate(spec, error_message);
	if (r < 0)
		return r;
	if (!cfg) {
		r = vfd_memlock_config_new(&defaults);
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
		cfg = defaults;
	}
	if ((unsigned)cfg->libvirt_compat >= _VFD_MEMLOCK_LIBVIRT_MAX)
		return vfd_error_setf(error_message, -EINVAL, "unknown libvirt formula %d",
					(int)cfg->libvirt_compat);

	plan = calloc(1, sizeof(*plan));
	if (!plan)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	plan->policy = policy;
	plan->libvirt_compat = cfg->libvirt_compat;

	switch (policy) {
	case VFD_MEMLOCK_POLICY_LIBVIRT:
		r = vfd_memlock_libvirt_compute(spec, cfg->libvirt_compat, plan, error_message);
		break;
	case VFD_MEMLOCK_POLICY_PRECISE:
		r = vfd_memlock_precise_compute(spec, cfg, plan, error_message);
		break;
	default:
		return vfd_error_setf(error_message, -EINVAL, "unknown policy %d", (int)policy);
	}
	if (r < 0)
		return r;

	for (size_t i = 0; i < spec->n_notes; i++) {
		r = vfd_memlock_plan_add(plan, "input-note", 0, false, "%s", spec->notes[i]);
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
	}

	*ret = TAKE_PTR(plan);
	return 0;
}

/* ---- names ---- */

static const char *const policy_names[_VFD_MEMLOCK_POLICY_MAX] = {
	[VFD_MEMLOCK_POLICY_PRECISE] = "precise",
	[VFD_MEMLOCK_POLICY_LIBVIRT] = "libvirt",
};
static const char *const compat_names[_VFD_MEMLOCK_LIBVIRT_MAX] = {
	[VFD_MEMLOCK_LIBVIRT_9_0] = "9.0",
	[VFD_MEMLOCK_LIBVIRT_LATER] = "later",
};
static const char *const backend_names[_VFD_MEMLOCK_BACKEND_MAX] = {
	[VFD_MEMLOCK_BACKEND_TYPE1] = "type1",
	[VFD_MEMLOCK_BACKEND_IOMMUFD] = "iommufd",
};
static const char *const accounting_names[_VFD_MEMLOCK_IOMMUFD_MAX] = {
	[VFD_MEMLOCK_IOMMUFD_PER_USER] = "user",
	[VFD_MEMLOCK_IOMMUFD_PER_PROCESS] = "process",
};
static const char *const kind_names[_VFD_MEMLOCK_DEVICE_MAX] = {
	[VFD_MEMLOCK_DEVICE_PCI] = "pci",
	[VFD_MEMLOCK_DEVICE_MDEV] = "mdev",
	[VFD_MEMLOCK_DEVICE_NVME] = "nvme",
	[VFD_MEMLOCK_DEVICE_VDPA] = "vdpa",
};

static int lookup(const char *const *names, size_t n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (names[i] && streq(names[i], s))
			return (int)i;
	return -EINVAL;
}

#define NAME(table, v) ((unsigned)(v) < ELEMENTSOF(table) ? table[(unsigned)(v)] : NULL)

const char *vfd_memlock_policy_to_string(vfd_memlock_policy p) { return NAME(policy_names, p); }
int vfd_memlock_policy_from_string(const char *s) { return lookup(policy_names, ELEMENTSOF(policy_names), s); }

const char *vfd_memlock_libvirt_compat_to_string(vfd_memlock_libvirt_compat c) { return NAME(compat_names, c); }
int vfd_memlock_libvirt_compat_from_string(const char *s) { return lookup(compat_names, ELEMENTSOF(compat_names), s); }

const char *vfd_memlock_backend_to_string(vfd_memlock_backend b) { return NAME(backend_names, b); }
int vfd_memlock_backend_from_string(const char *s) { return lookup(backend_names, ELEMENTSOF(backend_names), s); }

const char *vfd_memlock_iommufd_accounting_to_string(vfd_memlock_iommufd_accounting a)
{
	return NAME(accounting_names, a);
}

int vfd_memlock_iommufd_accounting_from_string(const char *s)
{
	return lookup(accounting_names, ELEMENTSOF(accounting_names), s);
}

const char *vfd_memlock_device_kind_to_string(vfd_memlock_device_kind k) { return NAME(kind_names, k); }
int vfd_memlock_device_kind_from_string(const char *s) { return lookup(kind_names, ELEMENTSOF(kind_names), s); }
