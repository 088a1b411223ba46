/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test-only fault injection, see lib/include/vfiod/fault.h. */
#include <limits.h>
#include <string.h>

#include "vfd-internal.h"
#include "vfiod/fault.h"

static const char *const fault_kind_names[_VFD_FAULT_KIND_MAX] = {
	[VFD_FAULT_BIND_MEMBER] = "bind-member",
	[VFD_FAULT_MDEV_ATTR] = "mdev-attr",
};

const char *vfd_fault_kind_to_string(vfd_fault_kind k)
{
	if ((unsigned)k >= _VFD_FAULT_KIND_MAX)
		return NULL;
	return fault_kind_names[k];
}

int vfd_fault_kind_from_string(const char *s, vfd_fault_kind *ret)
{
	unsigned i;

	if (!s || !ret)
		return -EINVAL;
	for (i = 0; i < _VFD_FAULT_KIND_MAX; i++)
		if (strcmp(fault_kind_names[i], s) == 0) {
			*ret = (vfd_fault_kind)i;
			return 0;
		}
	return -EINVAL;
}

int vfd_fault_arm(vfd_context *ctx, vfd_fault_kind kind, unsigned nth, int error)
{
	vfd_fault *f = vfd_context_fault(ctx);

	if (!f || (unsigned)kind >= _VFD_FAULT_KIND_MAX || nth == 0 || error > 0)
		return -EINVAL;
	*f = (vfd_fault){
		.armed = true,
		.kind = kind,
		.nth = nth,
		.error = error ? error : -EIO,
	};
	return 0;
}

void vfd_fault_disarm(vfd_context *ctx)
{
	vfd_fault *f = vfd_context_fault(ctx);

	if (f)
		*f = (vfd_fault){ 0 };
}

int vfd_fault_arm_from_string(vfd_context *ctx, const char *spec)
{
	char kind_name[32];
	vfd_fault_kind kind;
	unsigned nth, err = EIO;
	const char *colon, *rest;
	size_t len;
	int r;

	if (!ctx || !spec)
		return -EINVAL;

	colon = strchr(spec, ':');
	if (!colon)
		return -EINVAL;
	len = (size_t)(colon - spec);
	if (len == 0 || len >= sizeof(kind_name))
		return -EINVAL;
	memcpy(kind_name, spec, len);
	kind_name[len] = '\0';
	r = vfd_fault_kind_from_string(kind_name, &kind);
	if (r < 0)
		return r;

	/* N, then optionally :ERRNO; both plain decimal */
	rest = colon + 1;
	colon = strchr(rest, ':');
	if (colon) {
		char num[16];

		len = (size_t)(colon - rest);
		if (len == 0 || len >= sizeof(num))
			return -EINVAL;
		memcpy(num, rest, len);
		num[len] = '\0';
		r = vfd_parse_unsigned(num, &nth);
		if (r < 0)
			return -EINVAL;
		r = vfd_parse_unsigned(colon + 1, &err);
		if (r < 0 || err == 0 || err > 4095)
			return -EINVAL;
	} else {
		r = vfd_parse_unsigned(rest, &nth);
		if (r < 0)
			return -EINVAL;
	}
	if (nth == 0 || nth > INT_MAX)
		return -EINVAL;

	return vfd_fault_arm(ctx, kind, nth, -(int)err);
}

int vfd_fault_check(vfd_context *ctx, vfd_fault_kind kind)
{
	vfd_fault *f = vfd_context_fault(ctx);

	if (!f || !f->armed || f->kind != kind)
		return 0;
	f->seen++;
	if (f->seen != f->nth)
		return 0;
	return f->error;
}
