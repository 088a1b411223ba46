/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test-only fault injection, see lib/include/vfiod/fault.h. */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vfd-internal.h"
#include "vfiod/fault.h"

const char *const vfd_fault_steps[] = {
	/* sysfs writes (lib/root.c), by the attribute written */
	"sysfs-driver-override",
	"sysfs-unbind",
	"sysfs-bind",
	"sysfs-drivers-probe",
	"sysfs-mdev-create",
	"sysfs-mdev-remove",
	"sysfs-sriov-numvfs",
	"sysfs-sriov-autoprobe",
	"sysfs-vgpu-type", /* a vendor vGPU type of a VF (lib/vendor-vgpu.c) */
	"sysfs-write",
	/* the claim's move of one member to vfio-pci, before its probe (lib/bind.c) */
	"bind-member",
	/* an attribute of a fresh mdev (lib/mdev-ctl.c) */
	"mdev-attr",
	/* VFIO (lib/vfio-iommufd.c, lib/vfio-type1.c) */
	"iommufd-open",
	"iommufd-rlimit-mode",
	"vfio-cdev-open",
	"vfio-cdev-bind",
	"type1-container-open",
	"type1-set-iommu",
	"type1-group-open",
	"type1-set-container",
	"group-grant",
	"group-revoke",
	/* the daemon */
	"memlock-set",     /* prlimit of the VMM (daemon/vm-memlock.c) */
	"journal-write",   /* a journal file (daemon/journal-file.c) */
	"device-proof",    /* nobody holds the device (daemon/device-proof.c) */
	NULL,
};

static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;

bool vfd_fault_step_is_known(const char *step)
{
	for (size_t i = 0; step && vfd_fault_steps[i]; i++)
		if (strcmp(vfd_fault_steps[i], step) == 0)
			return true;
	return false;
}

static unsigned count_pass(vfd_fault *f, const char *step)
{
	for (unsigned i = 0; i < f->n_counts; i++)
		if (strcmp(f->counts[i].step, step) == 0)
			return ++f->counts[i].seen;
	if (f->n_counts >= ELEMENTSOF(f->counts))
		return 0; /* more step names than there are: not counted */
	snprintf(f->counts[f->n_counts].step, sizeof(f->counts[0].step), "%s", step);
	f->counts[f->n_counts].seen = 1;
	return f->counts[f->n_counts++].seen;
}

int vfd_fault_step(vfd_context *ctx, const char *step)
{
	vfd_fault *f = vfd_context_fault(ctx);
	unsigned seen;
	int r = 0;

	if (!f || (!f->armed && !f->tracing))
		return 0;
	pthread_mutex_lock(&fault_lock);
	seen = count_pass(f, step);
	if (f->tracing) {
		char line[VFD_FAULT_STEP_MAX + 16];
		int n = snprintf(line, sizeof(line), "%s %u\n", step, seen);

		/* one write per line (O_APPEND): a kill right after leaves it whole */
		if (n > 0 && write(f->trace_fd, line, (size_t) n) < 0)
			f->tracing = false;
	}
	if (f->armed && seen == f->nth && strcmp(f->step, step) == 0) {
		f->armed = false;
		if (f->error == VFD_FAULT_KILL)
			(void) kill(getpid(), SIGKILL);
		r = f->error;
	}
	pthread_mutex_unlock(&fault_lock);
	return r;
}

int vfd_fault_arm_step(vfd_context *ctx, const char *step, unsigned nth, int error)
{
	vfd_fault *f = vfd_context_fault(ctx);

	if (!f || !vfd_fault_step_is_known(step) || nth == 0 ||
	    (error > 0 || (error < -4095 && error != VFD_FAULT_KILL)))
		return -EINVAL;
	pthread_mutex_lock(&fault_lock);
	f->armed = true;
	snprintf(f->step, sizeof(f->step), "%s", step);
	f->nth = nth;
	f->error = error ? error : -EIO;
	/* the passes count from here */
	f->n_counts = 0;
	pthread_mutex_unlock(&fault_lock);
	return 0;
}

void vfd_fault_disarm(vfd_context *ctx)
{
	vfd_fault *f = vfd_context_fault(ctx);

	if (!f)
		return;
	pthread_mutex_lock(&fault_lock);
	f->armed = false;
	pthread_mutex_unlock(&fault_lock);
}

void vfd_fault_trace(vfd_context *ctx, int fd)
{
	vfd_fault *f = vfd_context_fault(ctx);

	if (!f)
		return;
	pthread_mutex_lock(&fault_lock);
	f->tracing = fd >= 0;
	f->trace_fd = fd;
	pthread_mutex_unlock(&fault_lock);
}

int vfd_fault_arm_from_string(vfd_context *ctx, const char *spec)
{
	char step[VFD_FAULT_STEP_MAX], num[16];
	const char *colon, *rest, *action = NULL;
	unsigned nth, err = EIO;
	int error;
	size_t len;

	if (!ctx || !spec)
		return -EINVAL;

	colon = strchr(spec, ':');
	if (!colon)
		return -EINVAL;
	len = (size_t) (colon - spec);
	if (len == 0 || len >= sizeof(step))
		return -EINVAL;
	memcpy(step, spec, len);
	step[len] = '\0';
	if (!vfd_fault_step_is_known(step))
		return -EINVAL;

	/* N, then optionally :ERRNO or :kill; N and ERRNO plain decimal */
	rest = colon + 1;
	colon = strchr(rest, ':');
	len = colon ? (size_t) (colon - rest) : strlen(rest);
	if (len == 0 || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, rest, len);
	num[len] = '\0';
	if (vfd_parse_unsigned(num, &nth) < 0 || nth == 0 || nth > INT_MAX)
		return -EINVAL;
	if (colon)
		action = colon + 1;
	if (action && strcmp(action, "kill") == 0)
		error = VFD_FAULT_KILL;
	else {
		if (action && (vfd_parse_unsigned(action, &err) < 0 || err == 0 || err > 4095))
			return -EINVAL;
		error = -(int) err;
	}
	return vfd_fault_arm_step(ctx, step, nth, error);
}

/* ---- the kinds earlier tests arm ---- */

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
	const char *step = vfd_fault_kind_to_string(kind);

	if (!step || error == VFD_FAULT_KILL)
		return -EINVAL;
	return vfd_fault_arm_step(ctx, step, nth, error);
}

int vfd_fault_check(vfd_context *ctx, vfd_fault_kind kind)
{
	const char *step = vfd_fault_kind_to_string(kind);

	return step ? vfd_fault_step(ctx, step) : 0;
}
