/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PCI functions as sysfs shows them under sys/bus/pci/devices. */
#include <string.h>

#include "vfd-internal.h"
#include "vfiod/inventory.h"
#include "vfiod/vendor-vgpu.h"

#define PCI_DEVICES_DIR "sys/bus/pci/devices"

/* PCI config space: header type byte; bit 7 is "multi-function" */
#define PCI_HEADER_TYPE_OFFSET 0x0e
#define PCI_HEADER_TYPE_MASK 0x7f
#define PCI_HEADER_TYPE_BRIDGE 1
#define PCI_HEADER_TYPE_CARDBUS 2

/* class codes (base class << 8 | subclass) of PCI-to-PCI and CardBus bridges */
#define PCI_CLASS_BRIDGE_PCI 0x0604
#define PCI_CLASS_BRIDGE_CARDBUS 0x0607

vfd_pci_device *vfd_pci_device_free(vfd_pci_device *d)
{
	if (!d)
		return NULL;
	free(d->driver);
	free(d->driver_override);
	free(d->reset_method);
	free(d->virtfns);
	vfd_vgpu_info_free(d->vgpu);
	free(d);
	return NULL;
}

VFD_DEFINE_ARRAY_FREE(vfd_pci_device_array_free, vfd_pci_device, vfd_pci_device_free)

/*
 * The header type says what the function is; the class code is only what
 * it claims to be. Unprivileged readers see the first 64 bytes of config,
 * which include the header type; fall back to the class only when config
 * cannot be read at all.
 */
static int fd_is_bridge(int dfd, uint32_t class_code, bool *ret)
{
	uint8_t header_type;

	if (vfd_dir_pread(dfd, "config", &header_type, 1, PCI_HEADER_TYPE_OFFSET) == 1) {
		header_type &= PCI_HEADER_TYPE_MASK;
		*ret = header_type == PCI_HEADER_TYPE_BRIDGE ||
		       header_type == PCI_HEADER_TYPE_CARDBUS;
		return 0;
	}

	*ret = (class_code >> 8) == PCI_CLASS_BRIDGE_PCI ||
	       (class_code >> 8) == PCI_CLASS_BRIDGE_CARDBUS;
	return 0;
}

int vfd_pci_dir_is_bridge(vfd_context *ctx, const char *dir, uint32_t class_code, bool *ret)
{
	_cleanup_close_ int dfd = -1;

	dfd = vfd_root_open_dir(ctx, dir);
	if (dfd < 0) {
		/* as before: no config to read, the class decides */
		*ret = (class_code >> 8) == PCI_CLASS_BRIDGE_PCI ||
		       (class_code >> 8) == PCI_CLASS_BRIDGE_CARDBUS;
		return 0;
	}
	return fd_is_bridge(dfd, class_code, ret);
}

/* Reads attr of the device directory dfd; an absent attribute is not an error when optional. */
static int read_attr_u64(int dfd, const char *attr, bool optional, uint64_t max, uint64_t *ret)
{
	uint64_t v;
	int r;

	r = vfd_dir_read_u64(dfd, attr, &v);
	if (r == -ENOENT && optional) {
		*ret = 0;
		return 0;
	}
	if (r < 0)
		return r;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* Reads a symlink's basename; absent link gives NULL. */
static int read_link_optional(int dfd, const char *link, char **ret)
{
	char *s = NULL;
	int r;

	r = vfd_dir_readlink_basename(dfd, link, &s);
	if (r < 0 && r != -ENOENT)
		return r;
	*ret = s;
	return 0;
}

static int read_driver_override(int dfd, char **ret)
{
	_cleanup_free_ char *s = NULL;
	int r;

	r = vfd_dir_read_string(dfd, "driver_override", &s);
	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return r;
	/* the kernel prints "(null)" when no override is set */
	if (s[0] == '\0' || strcmp(s, "(null)") == 0) {
		*ret = NULL;
		return 0;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

/* absent (no method: the kernel hides the attribute) or empty: NULL */
static int read_reset_method(int dfd, char **ret)
{
	_cleanup_free_ char *s = NULL;
	int r;

	r = vfd_dir_read_string(dfd, "reset_method", &s);
	if (r == -ENOENT || (r >= 0 && s[0] == '\0')) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

static int read_numa_node(int dfd, int *ret)
{
	int r, v;

	r = vfd_dir_read_int(dfd, "numa_node", &v);
	if (r == -ENOENT) {
		*ret = -1;
		return 0;
	}
	if (r < 0)
		return r;
	*ret = v < -1 ? -1 : v;
	return 0;
}

static int read_iommu_group(int dfd, int *ret)
{
	_cleanup_free_ char *name = NULL;
	unsigned id;
	int r;

	r = read_link_optional(dfd, "iommu_group", &name);
	if (r < 0)
		return r;
	if (!name) {
		*ret = -1;
		return 0;
	}
	r = vfd_parse_unsigned(name, &id);
	if (r < 0 || id > INT32_MAX)
		return -EBADMSG;
	*ret = (int)id;
	return 0;
}

static int read_physfn(int dfd, bool *ret_is_vf, vfd_pci_address *ret)
{
	_cleanup_free_ char *name = NULL;
	vfd_pci_address a;
	int r;

	r = read_link_optional(dfd, "physfn", &name);
	if (r < 0)
		return r;
	if (!name) {
		*ret_is_vf = false;
		return 0;
	}
	if (vfd_pci_address_parse(name, &a) < 0)
		return -EBADMSG;
	*ret_is_vf = true;
	*ret = a;
	return 0;
}

static bool is_virtfn_link_name(const char *s)
{
	if (strncmp(s, "virtfn", 6) != 0 || s[6] == '\0')
		return false;
	for (s += 6; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int cmp_address(const void *a, const void *b)
{
	return vfd_pci_address_compare(a, b);
}

static int read_virtfns(vfd_context *ctx, const char *dir, int dfd,
			vfd_pci_address **ret, size_t *ret_n)
{
	_cleanup_(vfd_strv_freep) char **entries = NULL;
	_cleanup_free_ vfd_pci_address *vfs = NULL;
	size_t n = 0;
	char **e;
	int r;

	r = vfd_root_list_dir(ctx, dir, &entries);
	if (r < 0)
		return r;

	for (e = entries; *e; e++) {
		_cleanup_free_ char *name = NULL;
		vfd_pci_address *nvfs;

		if (!is_virtfn_link_name(*e))
			continue;
		r = read_link_optional(dfd, *e, &name);
		if (r < 0)
			return r;
		if (!name)
			continue; /* VF disabled while we were looking */

		nvfs = realloc(vfs, (n + 1) * sizeof(*vfs));
		if (!nvfs)
			return -ENOMEM;
		vfs = nvfs;
		if (vfd_pci_address_parse(name, &vfs[n]) < 0)
			return -EBADMSG;
		n++;
	}

	if (n > 1)
		qsort(vfs, n, sizeof(*vfs), cmp_address);
	*ret = TAKE_PTR(vfs);
	*ret_n = n;
	return 0;
}

/*
 * -ENODEV when the device went away, the original error otherwise. An
 * attribute of a removed sysfs directory reads as ENOENT (or ENODEV);
 * whether the device is still listed decides.
 */
static int gone_or(vfd_context *ctx, const char *dir, int r)
{
	if ((r == -ENOENT || r == -ENODEV) && vfd_root_exists(ctx, dir) == 0)
		return -ENODEV;
	return r;
}

/* everything of the function but its address, from its opened directory */
static int read_function(vfd_context *ctx, const char *dir, int dfd, vfd_pci_device *d)
{
	uint64_t v;
	int r;

	r = read_attr_u64(dfd, "vendor", false, UINT16_MAX, &v);
	if (r < 0)
		return r;
	d->vendor_id = (uint16_t)v;
	r = read_attr_u64(dfd, "device", false, UINT16_MAX, &v);
	if (r < 0)
		return r;
	d->device_id = (uint16_t)v;
	r = read_attr_u64(dfd, "class", false, 0xffffff, &v);
	if (r < 0)
		return r;
	d->class_code = (uint32_t)v;
	r = read_attr_u64(dfd, "subsystem_vendor", true, UINT16_MAX, &v);
	if (r < 0)
		return r;
	d->subsystem_vendor_id = (uint16_t)v;
	r = read_attr_u64(dfd, "subsystem_device", true, UINT16_MAX, &v);
	if (r < 0)
		return r;
	d->subsystem_device_id = (uint16_t)v;

	r = read_link_optional(dfd, "driver", &d->driver);
	if (r < 0)
		return r;
	r = read_driver_override(dfd, &d->driver_override);
	if (r < 0)
		return r;
	r = read_numa_node(dfd, &d->numa_node);
	if (r < 0)
		return r;
	r = read_reset_method(dfd, &d->reset_method);
	if (r < 0)
		return r;
	r = read_iommu_group(dfd, &d->iommu_group);
	if (r < 0)
		return r;
	r = fd_is_bridge(dfd, d->class_code, &d->is_bridge);
	if (r < 0)
		return r;

	/* sriov_numvfs and the virtfn links exist only beside sriov_totalvfs */
	r = read_attr_u64(dfd, "sriov_totalvfs", true, UINT16_MAX, &v);
	if (r < 0)
		return r;
	d->sriov_totalvfs = (unsigned)v;
	if (d->sriov_totalvfs > 0) {
		r = read_attr_u64(dfd, "sriov_numvfs", true, UINT16_MAX, &v);
		if (r < 0)
			return r;
		d->sriov_numvfs = (unsigned)v;
		/* absent before Linux 4.12, which probed every VF */
		r = vfd_dir_read_u64(dfd, "sriov_drivers_autoprobe", &v);
		if (r == -ENOENT)
			v = 1;
		else if (r < 0)
			return r;
		d->sriov_drivers_autoprobe = v != 0;
		r = read_virtfns(ctx, dir, dfd, &d->virtfns, &d->n_virtfns);
		if (r < 0)
			return r;
	}
	r = read_physfn(dfd, &d->is_virtfn, &d->physfn);
	if (r < 0 || !d->is_virtfn)
		return r;
	/* a VF's vendor vGPU interface; a driver offering none, or garbage, shows none */
	r = vfd_vgpu_read(ctx, d->name, &d->vgpu);
	return r == -ENOMEM ? r : 0;
}

int vfd_pci_device_load(vfd_context *ctx, const vfd_pci_address *addr, vfd_pci_device **ret)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *d = NULL;
	_cleanup_close_ int dfd = -1;
	char dir[VFD_PATH_MAX];
	int r;

	if (!ctx || !addr || !ret)
		return -EINVAL;
	if (addr->slot > 0x1f || addr->function > 7)
		return -EINVAL;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->address = *addr;
	vfd_pci_address_format(addr, d->name);

	r = vfd_pathf(dir, sizeof(dir), PCI_DEVICES_DIR "/%s", d->name);
	if (r < 0)
		return r;

	/* the one root-relative resolution; every attribute is read relative to it */
	dfd = vfd_root_open_dir(ctx, dir);
	if (dfd == -ENOENT || dfd == -ENOTDIR)
		return -ENODEV;
	if (dfd < 0)
		return dfd;

	r = read_function(ctx, dir, dfd, d);
	if (r < 0)
		return gone_or(ctx, dir, r);

	*ret = TAKE_PTR(d);
	return 0;
}

static int cmp_device(const void *a, const void *b)
{
	const vfd_pci_device *const *x = a, *const *y = b;

	return vfd_pci_address_compare(&(*x)->address, &(*y)->address);
}

int vfd_pci_device_enumerate(vfd_context *ctx, vfd_pci_device ***ret, size_t *ret_n)
{
	_cleanup_(vfd_strv_freep) char **names = NULL;
	vfd_pci_device **a = NULL;
	size_t n = 0, i;
	int r;

	if (!ctx || !ret || !ret_n)
		return -EINVAL;

	/* no PCI bus at all: an empty inventory, not an error */
	r = vfd_root_list_dir_or_empty(ctx, PCI_DEVICES_DIR, &names);
	if (r < 0)
		return r;

	/* one spare slot keeps the array NULL-terminated */
	a = calloc(vfd_strv_length(names) + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;

	for (i = 0; names[i]; i++) {
		vfd_pci_address addr;

		/* sysfs names every entry canonically; anything else is not a function */
		if (vfd_pci_address_parse(names[i], &addr) < 0)
			continue;
		r = vfd_pci_device_load(ctx, &addr, &a[n]);
		if (r == -ENODEV)
			continue; /* hot-unplugged while we listed */
		if (r < 0) {
			vfd_pci_device_array_free(a, n);
			return r;
		}
		n++;
	}

	if (n > 1)
		qsort(a, n, sizeof(*a), cmp_device);
	*ret = a;
	*ret_n = n;
	return 0;
}
