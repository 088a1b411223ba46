/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vfd-internal.h"
#include "vfiod/sriov.h"

static int attr_path(const vfd_pci_address *pf, const char *attr, char buf[VFD_PATH_MAX])
{
	char name[VFD_PCI_ADDRESS_STRLEN];

	return vfd_pathf(buf, VFD_PATH_MAX, "sys/bus/pci/devices/%s/%s",
			 vfd_pci_address_format(pf, name), attr);
}

static int write_attr(vfd_context *ctx, const vfd_pci_address *pf, const char *attr,
		      unsigned value, vfd_op_error *error)
{
	char path[VFD_PATH_MAX], name[VFD_PCI_ADDRESS_STRLEN], v[16];
	int r;

	r = attr_path(pf, attr, path);
	if (r < 0)
		return r;
	snprintf(v, sizeof(v), "%u", value);
	r = vfd_root_write_string(ctx, path, v);
	if (r < 0)
		return vfd_op_error_set(error, r, vfd_pci_address_format(pf, name),
					"writing %s to %s failed", v, attr);
	return 0;
}

int vfd_sriov_read(vfd_context *ctx, const vfd_pci_address *pf, vfd_op_error *error,
		   vfd_sriov_state *ret)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *d = NULL;
	char path[VFD_PATH_MAX];
	vfd_sriov_state s = { 0 };
	int r, autoprobe;

	if (!ctx || !pf || !ret)
		return -EINVAL;
	r = vfd_pci_device_load(ctx, pf, &d);
	if (r == -ENODEV) {
		char name[VFD_PCI_ADDRESS_STRLEN];

		return vfd_op_error_set(error, r, vfd_pci_address_format(pf, name), "no such PCI device");
	}
	if (r < 0)
		return r;
	if (d->is_virtfn || d->sriov_totalvfs == 0)
		return vfd_op_error_set(error, -EMEDIUMTYPE, d->name,
					d->is_virtfn ? "a virtual function, not an SR-IOV physical function"
						     : "not an SR-IOV physical function (no sriov_totalvfs)");
	s.total_vfs = d->sriov_totalvfs;
	s.num_vfs = d->sriov_numvfs;

	/* absent before Linux 4.12: the kernel probed every VF then */
	r = attr_path(pf, "sriov_drivers_autoprobe", path);
	if (r < 0)
		return r;
	r = vfd_root_read_int(ctx, path, &autoprobe);
	if (r == -ENOENT)
		autoprobe = 1;
	else if (r < 0)
		return vfd_op_error_set(error, r, d->name, "cannot read sriov_drivers_autoprobe");
	s.drivers_autoprobe = autoprobe != 0;

	*ret = s;
	return 0;
}

/* the PF may change its VFs: not on VFIO, and on a driver that can enable them */
static int check_pf_driver(vfd_context *ctx, const vfd_pci_address *pf, vfd_op_error *error)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *d = NULL;
	int r;

	r = vfd_pci_device_load(ctx, pf, &d);
	if (r < 0)
		return r;
	if (!d->driver)
		return vfd_op_error_set(error, -ENOPKG, d->name,
					"the PF has no driver; the kernel enables VFs through the PF's "
					"own driver (load it first)");
	r = vfd_driver_is_vfio(ctx, d->driver);
	if (r < 0)
		return r;
	if (r > 0)
		return vfd_op_error_set(error, -EBUSY, d->name,
					"the PF is bound to %s (a VFIO driver): its VFs cannot change",
					d->driver);
	return 0;
}

/*
 * count VFs with autoprobe set to autoprobe during the change; from a
 * known state cur. Does not roll back: the callers do.
 */
static int change(vfd_context *ctx, const vfd_pci_address *pf, const vfd_sriov_state *cur,
		  unsigned count, bool autoprobe, vfd_op_error *error)
{
	int r;

	if (cur->num_vfs != 0 && cur->num_vfs != count) {
		r = write_attr(ctx, pf, "sriov_numvfs", 0, error);
		if (r < 0)
			return r;
	}
	if (cur->drivers_autoprobe != autoprobe) {
		r = write_attr(ctx, pf, "sriov_drivers_autoprobe", autoprobe, error);
		if (r < 0)
			return r;
	}
	if (count != 0 && cur->num_vfs != count) {
		r = write_attr(ctx, pf, "sriov_numvfs", count, error);
		if (r < 0)
			return r;
	}
	return 0;
}

/* puts the PF back to was after a failed change, whatever it reached; first error wins */
static void roll_back(vfd_context *ctx, const vfd_pci_address *pf, const vfd_sriov_state *was,
		      vfd_op_error *error)
{
	vfd_sriov_state now;

	if (vfd_sriov_read(ctx, pf, error, &now) < 0)
		return;
	(void) change(ctx, pf, &now, was->num_vfs, was->drivers_autoprobe, error);
}

int vfd_sriov_set_num_vfs(vfd_context *ctx, const vfd_pci_address *pf, unsigned num_vfs,
			  vfd_op_error *error)
{
	vfd_sriov_state cur;
	int r;

	r = vfd_sriov_read(ctx, pf, error, &cur);
	if (r < 0)
		return r;
	if (num_vfs > cur.total_vfs) {
		char name[VFD_PCI_ADDRESS_STRLEN];

		return vfd_op_error_set(error, -ERANGE, vfd_pci_address_format(pf, name),
					"%u VFs asked for, the PF supports at most %u", num_vfs,
					cur.total_vfs);
	}
	r = check_pf_driver(ctx, pf, error);
	if (r < 0)
		return r;
	if (cur.num_vfs == num_vfs && !cur.drivers_autoprobe)
		return 0;

	r = change(ctx, pf, &cur, num_vfs, false, error);
	if (r < 0)
		roll_back(ctx, pf, &cur, error);
	return r;
}

int vfd_sriov_restore(vfd_context *ctx, const vfd_pci_address *pf, const vfd_sriov_state *original,
		      vfd_op_error *error)
{
	vfd_sriov_state cur;
	int r;

	if (!original)
		return -EINVAL;
	r = vfd_sriov_read(ctx, pf, error, &cur);
	if (r < 0)
		return r;
	if (original->num_vfs > cur.total_vfs) {
		char name[VFD_PCI_ADDRESS_STRLEN];

		return vfd_op_error_set(error, -ERANGE, vfd_pci_address_format(pf, name),
					"the original count %u is above sriov_totalvfs %u",
					original->num_vfs, cur.total_vfs);
	}
	if (cur.num_vfs == original->num_vfs && cur.drivers_autoprobe == original->drivers_autoprobe)
		return 0;
	r = check_pf_driver(ctx, pf, error);
	if (r < 0)
		return r;

	r = change(ctx, pf, &cur, original->num_vfs, original->drivers_autoprobe, error);
	if (r < 0)
		roll_back(ctx, pf, &cur, error);
	return r;
}
