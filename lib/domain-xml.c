/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The memory-locking-relevant parts of a libvirt domain XML. The document
 * is untrusted and parsed by lib/xml-untrusted.c (size cap, no DOCTYPE or
 * entities, no network, depth limit); here we only pick values out of the
 * tree, the way libvirt reads them (units, defaults, what counts as a
 * VFIO device), because the libvirt memlock policy must give libvirt's
 * numbers for the same document.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "vfiod/domain-xml.h"
#include "vfiod/error-message.h"
#include "vfiod/xml-untrusted.h"

#define streq(a, b) (strcmp((a), (b)) == 0)

vfd_domain *vfd_domain_free(vfd_domain *d)
{
	size_t i;

	if (!d)
		return NULL;
	free(d->name);
	free(d->uuid);
	free(d->virt_type);
	free(d->arch);
	free(d->machine);
	free(d->iommu_model);
	free(d->pci_root_indexes);
	for (i = 0; i < d->n_pci_controllers; i++)
		free(d->pci_controllers[i].model);
	free(d->pci_controllers);
	for (i = 0; i < d->n_hostdevs; i++) {
		free(d->hostdevs[i].mdev_uuid);
		free(d->hostdevs[i].mdev_model);
	}
	free(d->hostdevs);
	for (i = 0; i < d->n_nvme_disks; i++)
		free(d->nvme_disks[i].target);
	free(d->nvme_disks);
	for (i = 0; i < d->n_vdpa_devices; i++)
		free(d->vdpa_devices[i].device);
	free(d->vdpa_devices);
	for (i = 0; i < d->n_memory_devices; i++)
		free(d->memory_devices[i].model);
	free(d->memory_devices);
	free(d);
	return NULL;
}

/* ---- numbers ---- */

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

static int parse_number_base0(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0, base = 10;
	const char *p = skip_space(s);
	bool any = false;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1] >= '0' && p[1] <= '9') {
		base = 8;
		p++;
	}
	for (;; p++) {
		uint64_t d;

		if (*p >= '0' && *p <= '9')
			d = (uint64_t)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (uint64_t)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (uint64_t)(*p - 'A' + 10);
		else
			break;
		if (d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
		any = true;
	}
	if (!any || *skip_space(p))
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static void free_doc(xmlDoc **doc)
{
	vfd_xml_doc_free(*doc);
}

/* ---- tree helpers: plain (namespace-less) elements only, like libvirt ---- */

static bool is_element(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !n->ns && streq((const char *)n->name, name);
}

static xmlNode *first_child(const xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is_element(c, name))
			return c;
	return NULL;
}

/* A copy of the attribute (malloc'ed, NULL when absent); -ENOMEM on failure. */
static int get_attr(const xmlNode *n, const char *name, char **ret)
{
	return vfd_xml_get_prop(n, name, ret);
}

static int get_text(const xmlNode *n, char **ret)
{
	return vfd_xml_get_content(n, ret);
}

/* Appends one zeroed element to a malloc'ed array; returns it or NULL. */
static void *grow(void **array, size_t *n, size_t elsize)
{
	void *a;

	if (*n >= SIZE_MAX / elsize - 1)
		return NULL;
	a = realloc(*array, (*n + 1) * elsize);
	if (!a)
		return NULL;
	*array = a;
	memset((char *)a + *n * elsize, 0, elsize);
	return (char *)a + (*n)++ * elsize;
}

/* ---- memory ---- */

/* libvirt's virMemoryMaxValue(capped) on a 64-bit host: off_t's range */
#define MEMORY_MAX_BYTES ((uint64_t)LLONG_MAX)

static int read_scaled(const char *what, const char *value, const char *unit, uint64_t max_bytes,
		       uint64_t *ret_kib, char **error_message)
{
	int r;

	r = vfd_domain_scale_to_kib(value, unit, max_bytes, ret_kib);
	if (r == -ERANGE)
		return vfd_error_setf(error_message, r, "%s: '%s %s' is too large", what, value, unit ? unit : "KiB");
	if (r < 0) {
		if (unit && *unit && vfd_domain_scale_to_kib(value, NULL, UINT64_MAX, &(uint64_t){ 0 }) == 0)
			return vfd_error_setf(error_message, r, "%s: unknown unit '%s'", what, unit);
		return vfd_error_setf(error_message, r, "%s: '%s' is not a decimal size", what, value);
	}
	return 0;
}

/* <memory>-like element: text value with a unit attribute; 0 when absent. */
static int read_memory_element(const xmlNode *n, const char *what, uint64_t max_bytes,
			       uint64_t *ret_kib, bool *ret_present, char **error_message)
{
	_cleanup_free_ char *text = NULL, *unit = NULL;
	int r;

	*ret_present = false;
	if (!n)
		return 0;
	r = get_text(n, &text);
	if (r < 0)
		return vfd_error_setf(error_message, r, "out of memory");
	r = get_attr(n, "unit", &unit);
	if (r < 0)
		return vfd_error_setf(error_message, r, "out of memory");
	r = read_scaled(what, text, unit, max_bytes, ret_kib, error_message);
	if (r < 0)
		return r;
	*ret_present = true;
	return 0;
}

/* <maxMemory slots=...>: how many memory devices the guest may have */
static int read_max_memory_slots(vfd_domain *d, const xmlNode *max_memory, char **error_message)
{
	_cleanup_free_ char *slots = NULL;
	uint64_t v;

	if (!max_memory)
		return 0;
	if (get_attr(max_memory, "slots", &slots) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	if (!slots)
		return 0;
	/* QEMU takes at most 256 slots (ACPI_MAX_RAM_SLOTS) */
	if (parse_number_base0(slots, 256, &v) < 0)
		return vfd_error_setf(error_message, -EINVAL, "<maxMemory slots='%.32s'>: not a number of 0-256",
				      slots);
	d->max_memory_slots = (unsigned)v;
	return 0;
}

/* a <memory> device whose size (kib) is read: its model and virtio-mem's block size */
static int add_memory_device(vfd_domain *d, const xmlNode *dev, uint64_t size_kib, char **error_message)
{
	vfd_domain_memory_device *m;
	bool present;
	int r;

	m = grow((void **)&d->memory_devices, &d->n_memory_devices, sizeof(*m));
	if (!m)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	m->size_kib = size_kib;
	if (get_attr(dev, "model", &m->model) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	r = read_memory_element(first_child(first_child(dev, "target"), "block"),
				"<memory><target><block>", MEMORY_MAX_BYTES, &m->block_kib, &present,
				error_message);
	if (r < 0)
		return r;
	return 0;
}

static int read_memory(vfd_domain *d, const xmlNode *root, char **error_message)
{
	const xmlNode *memtune, *backing, *cpu, *numa, *devices;
	uint64_t kib, total = 0, numa_kib = 0, hotplug_kib = 0;
	bool present;
	int r;

	r = read_memory_element(first_child(root, "memory"), "<memory>", MEMORY_MAX_BYTES,
				&total, &present, error_message);
	if (r < 0)
		return r;
	/* libvirt: a size must be below max/1024 KiB */
	if (present && total >= MEMORY_MAX_BYTES / 1024 + 1)
		return vfd_error_setf(error_message, -ERANGE, "<memory>: size value too large");

	r = read_memory_element(first_child(root, "maxMemory"), "<maxMemory>", MEMORY_MAX_BYTES,
				&d->max_memory_kib, &present, error_message);
	if (r < 0)
		return r;

	r = read_max_memory_slots(d, first_child(root, "maxMemory"), error_message);
	if (r < 0)
		return r;

	/* memory devices (DIMMs, virtio-mem, ...) are part of the total */
	devices = first_child(root, "devices");
	for (xmlNode *c = devices ? devices->children : NULL; c; c = c->next) {
		if (!is_element(c, "memory"))
			continue;
		r = read_memory_element(first_child(first_child(c, "target"), "size"),
					"<memory><target><size>", MEMORY_MAX_BYTES, &kib, &present,
					error_message);
		if (r < 0)
			return r;
		if (kib > UINT64_MAX - hotplug_kib)
			return vfd_error_setf(error_message, -ERANGE, "memory devices: total size too large");
		hotplug_kib += kib;
		r = add_memory_device(d, c, kib, error_message);
		if (r < 0)
			return r;
	}
	cpu = first_child(root, "cpu");
	numa = first_child(cpu, "numa");
	for (xmlNode *c = numa ? numa->children : NULL; c; c = c->next)
		if (is_element(c, "cell"))
			d->n_numa_cells++;

	/* libvirt infers the size from the NUMA cells only when <memory> is absent or 0 */
	if (total == 0) {
		for (xmlNode *c = numa ? numa->children : NULL; c; c = c->next) {
			_cleanup_free_ char *mem = NULL, *unit = NULL;

			if (!is_element(c, "cell"))
				continue;
			if (get_attr(c, "memory", &mem) < 0 || get_attr(c, "unit", &unit) < 0)
				return vfd_error_setf(error_message, -ENOMEM, "out of memory");
			if (!mem)
				return vfd_error_setf(error_message, -EINVAL, "<numa><cell> without a memory attribute");
			r = read_scaled("<numa><cell memory>", mem, unit, MEMORY_MAX_BYTES, &kib, error_message);
			if (r < 0)
				return r;
			if (kib > UINT64_MAX - numa_kib)
				return vfd_error_setf(error_message, -ERANGE, "NUMA cells: total size too large");
			numa_kib += kib;
		}
		if (numa_kib > 0) {
			if (hotplug_kib > UINT64_MAX - numa_kib)
				return vfd_error_setf(error_message, -ERANGE, "memory: total size too large");
			total = numa_kib + hotplug_kib;
		}
	}
	if (total == 0)
		return vfd_error_setf(error_message, -EINVAL,
			    "memory size must be given by <memory> or the NUMA cells");
	if (hotplug_kib > total)
		return vfd_error_setf(error_message, -EINVAL,
			    "memory devices (%llu KiB) exceed the total memory (%llu KiB)",
			    (unsigned long long)hotplug_kib, (unsigned long long)total);
	d->memory_kib = total;

	/* hard_limit: absent or >= libvirt's "unlimited" means not set */
	memtune = first_child(root, "memtune");
	r = read_memory_element(first_child(memtune, "hard_limit"), "<memtune><hard_limit>",
				VFD_LIBVIRT_MEMORY_UNLIMITED_KIB << 10, &kib, &present, error_message);
	if (r < 0)
		return r;
	d->has_hard_limit = present && kib < VFD_LIBVIRT_MEMORY_UNLIMITED_KIB;
	d->hard_limit_kib = d->has_hard_limit ? kib : 0;

	backing = first_child(root, "memoryBacking");
	d->memory_locked = first_child(backing, "locked") != NULL;
	return 0;
}

/* ---- identity ---- */

/* s is a validated UUID: only its hex letters change */
static void uuid_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
}

/* libvirt formats <uuid> canonically; anything else did not come from it */
static int read_uuid(vfd_domain *d, const xmlNode *root, char **error_message)
{
	const xmlNode *n = first_child(root, "uuid");
	_cleanup_free_ char *text = NULL;

	if (!n)
		return 0;
	if (get_text(n, &text) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	if (vfd_uuid_validate(text) < 0)
		return vfd_error_setf(error_message, -EINVAL, "<uuid>: '%.64s' is not a UUID", text);
	uuid_lower(text);
	d->uuid = TAKE_PTR(text);
	return 0;
}

/* ---- devices ---- */

/* managed='yes'|'no' on <hostdev> or <interface type='hostdev'>; libvirt's default is no */
static int read_managed(const xmlNode *dev, bool *ret, char **error_message)
{
	_cleanup_free_ char *v = NULL;

	if (get_attr(dev, "managed", &v) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	if (!v || streq(v, "no")) {
		*ret = false;
		return 0;
	}
	if (streq(v, "yes")) {
		*ret = true;
		return 0;
	}
	return vfd_error_setf(error_message, -EINVAL, "<%s>: managed is 'yes' or 'no', not '%.32s'",
			      (const char *)dev->name, v);
}

static int read_pci_address(const xmlNode *n, const char *what, vfd_pci_address *ret, char **error_message)
{
	static const struct {
		const char *attr;
		uint64_t max;
	} parts[] = {
		{ "domain", 0xffff }, { "bus", 0xff }, { "slot", 0x1f }, { "function", 7 },
	};
	uint64_t v[ELEMENTSOF(parts)] = { 0 };
	size_t i;
	int r;

	for (i = 0; i < ELEMENTSOF(parts); i++) {
		_cleanup_free_ char *s = NULL;

		/* libvirt defaults a missing part to 0 */
		if (get_attr(n, parts[i].attr, &s) < 0)
			return vfd_error_setf(error_message, -ENOMEM, "out of memory");
		if (!s)
			continue;
		r = parse_number_base0(s, parts[i].max, &v[i]);
		if (r < 0)
			return vfd_error_setf(error_message, -EINVAL, "%s: bad PCI %s '%s'", what, parts[i].attr, s);
	}
	*ret = (vfd_pci_address){
		.domain = (uint16_t)v[0], .bus = (uint8_t)v[1], .slot = (uint8_t)v[2], .function = (uint8_t)v[3],
	};
	return 0;
}

/* A direct <address type='pci' bus=.../> child: the device's place in the guest. */
static int read_guest_bus(vfd_domain *d, const xmlNode *dev, bool *ret_has, unsigned *ret_bus,
			  char **error_message)
{
	const xmlNode *a = first_child(dev, "address");
	_cleanup_free_ char *type = NULL, *bus = NULL;
	uint64_t v = 0;

	*ret_has = false;
	if (!a)
		return 0;
	if (get_attr(a, "type", &type) < 0 || get_attr(a, "bus", &bus) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	if (!type || !streq(type, "pci"))
		return 0;
	if (bus && parse_number_base0(bus, 0xff, &v) < 0)
		return vfd_error_setf(error_message, -EINVAL, "<%s><address>: bad PCI bus '%s'",
			    (const char *)dev->name, bus);
	d->guest_bus_used[v / 8] |= (uint8_t)(1u << (v % 8));
	*ret_has = true;
	*ret_bus = (unsigned)v;
	return 0;
}

static int add_pci_hostdev(vfd_domain *d, const xmlNode *dev, const xmlNode *source_address,
			   bool from_interface, char **error_message)
{
	_cleanup_free_ char *driver = NULL, *iommufd = NULL;
	vfd_domain_hostdev *h;
	int r;

	if (!source_address)
		return vfd_error_setf(error_message, -EINVAL, "<%s>: PCI host device without <source><address>",
			    (const char *)dev->name);
	h = grow((void **)&d->hostdevs, &d->n_hostdevs, sizeof(*h));
	if (!h)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	h->kind = VFD_DOMAIN_HOSTDEV_PCI;
	h->from_interface = from_interface;
	r = read_managed(dev, &h->managed, error_message);
	if (r < 0)
		return r;

	/* the QEMU driver assigns PCI hostdevs through VFIO unless told otherwise */
	if (get_attr(first_child(dev, "driver"), "name", &driver) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	h->vfio = !driver || streq(driver, "vfio") || streq(driver, "default");
	if (get_attr(first_child(dev, "driver"), "iommufd", &iommufd) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	h->iommufd = iommufd && streq(iommufd, "yes");

	r = read_pci_address(source_address, "<hostdev><source><address>", &h->source, error_message);
	if (r < 0)
		return r;
	return read_guest_bus(d, dev, &h->has_guest_pci_address, &h->guest_pci_bus, error_message);
}

static int read_hostdev(vfd_domain *d, const xmlNode *dev, char **error_message)
{
	_cleanup_free_ char *mode = NULL, *type = NULL, *uuid = NULL;
	vfd_domain_hostdev *h;
	const xmlNode *addr;
	int r;

	if (get_attr(dev, "mode", &mode) < 0 || get_attr(dev, "type", &type) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	/* mode='capabilities' (LXC) pins nothing */
	if (mode && !streq(mode, "subsystem"))
		return 0;
	if (!type)
		return vfd_error_setf(error_message, -EINVAL, "<hostdev> without a type");

	addr = first_child(first_child(dev, "source"), "address");
	if (streq(type, "pci"))
		return add_pci_hostdev(d, dev, addr, false, error_message);
	if (!streq(type, "mdev"))
		return 0; /* usb, scsi, scsi_host: no VFIO */

	if (addr && get_attr(addr, "uuid", &uuid) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	if (!uuid)
		return vfd_error_setf(error_message, -EINVAL, "<hostdev type='mdev'> without <source><address uuid=...>");
	if (vfd_uuid_validate(uuid) < 0)
		return vfd_error_setf(error_message, -EINVAL, "<hostdev type='mdev'>: '%s' is not a UUID", uuid);
	uuid_lower(uuid);

	h = grow((void **)&d->hostdevs, &d->n_hostdevs, sizeof(*h));
	if (!h)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	h->kind = VFD_DOMAIN_HOSTDEV_MDEV;
	h->mdev_uuid = TAKE_PTR(uuid);
	if (get_attr(dev, "model", &h->mdev_model) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	r = read_guest_bus(d, dev, &h->has_guest_pci_address, &h->guest_pci_bus, error_message);
	return r;
}

static int add_vdpa(vfd_domain *d, const xmlNode *source, bool is_disk, char **error_message)
{
	vfd_domain_vdpa *v;

	v = grow((void **)&d->vdpa_devices, &d->n_vdpa_devices, sizeof(*v));
	if (!v)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	v->is_disk = is_disk;
	if (source && get_attr(source, "dev", &v->device) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	return 0;
}

static int read_interface(vfd_domain *d, const xmlNode *dev, char **error_message)
{
	_cleanup_free_ char *type = NULL;
	bool has;
	unsigned bus;

	if (get_attr(dev, "type", &type) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	if (type && streq(type, "hostdev"))
		/* libvirt adds these to the domain's hostdevs when parsing */
		return add_pci_hostdev(d, dev, first_child(first_child(dev, "source"), "address"),
				       true, error_message);
	if (type && streq(type, "vdpa"))
		return add_vdpa(d, first_child(dev, "source"), false, error_message);
	if (type && streq(type, "network"))
		d->n_network_interfaces++;
	return read_guest_bus(d, dev, &has, &bus, error_message);
}

static int read_disk(vfd_domain *d, const xmlNode *dev, char **error_message)
{
	bool nvme = false, has;
	vfd_pci_address nvme_source = { 0 };
	unsigned bus;
	int r;

	/* the disk itself and its <backingStore> chain, like libvirt's chain walks */
	for (const xmlNode *s = dev; s; s = first_child(s, "backingStore")) {
		_cleanup_free_ char *type = NULL;

		if (get_attr(s, "type", &type) < 0)
			return vfd_error_setf(error_message, -ENOMEM, "out of memory");
		if (!type)
			continue;
		if (streq(type, "nvme") && !nvme) {
			const xmlNode *a = first_child(first_child(s, "source"), "address");

			if (!a)
				return vfd_error_setf(error_message, -EINVAL, "<disk type='nvme'> without <source><address>");
			r = read_pci_address(a, "<disk type='nvme'><source><address>", &nvme_source, error_message);
			if (r < 0)
				return r;
			nvme = true;
		} else if (streq(type, "vhostvdpa")) {
			r = add_vdpa(d, first_child(s, "source"), true, error_message);
			if (r < 0)
				return r;
		}
	}

	if (nvme) {
		vfd_domain_nvme_disk *n = grow((void **)&d->nvme_disks, &d->n_nvme_disks, sizeof(*n));

		if (!n)
			return vfd_error_setf(error_message, -ENOMEM, "out of memory");
		n->source = nvme_source;
		if (get_attr(first_child(dev, "target"), "dev", &n->target) < 0)
			return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	}
	return read_guest_bus(d, dev, &has, &bus, error_message);
}

static int read_controller(vfd_domain *d, const xmlNode *dev, char **error_message)
{
	_cleanup_free_ char *type = NULL, *model = NULL, *index = NULL;
	vfd_domain_pci_controller *c;
	uint64_t v = 0;
	bool has;
	unsigned bus;

	if (get_attr(dev, "type", &type) < 0 || get_attr(dev, "model", &model) < 0 ||
	    get_attr(dev, "index", &index) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");

	if (type && streq(type, "pci")) {
		/* libvirt's indexes are ints; bus numbers of a PCI domain stop at 255 anyway */
		if (index && parse_number_base0(index, INT_MAX, &v) < 0)
			return vfd_error_setf(error_message, -EINVAL, "<controller type='pci'>: bad index '%s'", index);
		c = grow((void **)&d->pci_controllers, &d->n_pci_controllers, sizeof(*c));
		if (!c)
			return vfd_error_setf(error_message, -ENOMEM, "out of memory");
		c->index = (unsigned)v;
		c->index_given = index != NULL;
		c->model = TAKE_PTR(model);
	}
	return read_guest_bus(d, dev, &has, &bus, error_message);
}

static int compare_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/*
 * libvirt's virDomainAssignControllerIndexes() for PCI controllers: in
 * document order, an unindexed one takes the lowest index that no PCI
 * controller has, counting those written later with an index too. The
 * indexes handed out so only grow: one pass over the sorted given ones
 * (a document may hold tens of thousands of controllers). Then the
 * pci-root controllers (pSeries PHBs) by their numbers; two with one
 * number are an error, as they are for libvirt.
 */
static int number_pci_controllers(vfd_domain *d, char **error_message)
{
	_cleanup_free_ unsigned *given = NULL, *roots = NULL;
	size_t n_given = 0, j = 0;
	unsigned next = 0;

	if (d->n_pci_controllers == 0)
		return 0;
	given = calloc(d->n_pci_controllers, sizeof(*given));
	if (!given)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	for (size_t i = 0; i < d->n_pci_controllers; i++)
		if (d->pci_controllers[i].index_given)
			given[n_given++] = d->pci_controllers[i].index;
	qsort(given, n_given, sizeof(*given), compare_unsigned);

	for (size_t i = 0; i < d->n_pci_controllers; i++) {
		vfd_domain_pci_controller *c = &d->pci_controllers[i];

		if (c->index_given)
			continue;
		for (;;) {
			while (j < n_given && given[j] < next)
				j++;
			if (j < n_given && given[j] == next)
				next++;
			else
				break;
		}
		c->index = next++;
	}

	for (size_t i = 0; i < d->n_pci_controllers; i++) {
		const vfd_domain_pci_controller *c = &d->pci_controllers[i];
		unsigned *slot;

		if (!c->model || !streq(c->model, "pci-root"))
			continue;
		slot = grow((void **)&d->pci_root_indexes, &d->n_pci_root_indexes, sizeof(*slot));
		if (!slot)
			return vfd_error_setf(error_message, -ENOMEM, "out of memory");
		*slot = c->index;
	}

	/* duplicates on a sorted copy: the document order stays in pci_root_indexes */
	if (d->n_pci_root_indexes < 2)
		return 0;
	roots = malloc(d->n_pci_root_indexes * sizeof(*roots));
	if (!roots)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	memcpy(roots, d->pci_root_indexes, d->n_pci_root_indexes * sizeof(*roots));
	qsort(roots, d->n_pci_root_indexes, sizeof(*roots), compare_unsigned);
	for (size_t i = 1; i < d->n_pci_root_indexes; i++)
		if (roots[i] == roots[i - 1])
			return vfd_error_setf(error_message, -EINVAL, "two PCI root controllers with index %u",
					      roots[i]);
	return 0;
}

static int read_devices(vfd_domain *d, const xmlNode *root, char **error_message)
{
	const xmlNode *devices = first_child(root, "devices");
	bool has;
	unsigned bus;
	int r;

	for (xmlNode *c = devices ? devices->children : NULL; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || c->ns)
			continue;

		if (is_element(c, "hostdev"))
			r = read_hostdev(d, c, error_message);
		else if (is_element(c, "interface"))
			r = read_interface(d, c, error_message);
		else if (is_element(c, "disk"))
			r = read_disk(d, c, error_message);
		else if (is_element(c, "controller"))
			r = read_controller(d, c, error_message);
		else if (is_element(c, "iommu")) {
			free(d->iommu_model);
			d->iommu_model = NULL;
			r = get_attr(c, "model", &d->iommu_model);
			if (r >= 0 && !d->iommu_model)
				r = vfd_error_setf(error_message, -EINVAL, "<iommu> without a model");
			else if (r < 0)
				r = vfd_error_setf(error_message, r, "out of memory");
		} else
			r = read_guest_bus(d, c, &has, &bus, error_message);
		if (r < 0)
			return r;
	}
	return number_pci_controllers(d, error_message);
}

static int read_os(vfd_domain *d, const xmlNode *root, char **error_message)
{
	const xmlNode *type = first_child(first_child(root, "os"), "type");

	if (get_attr(type, "arch", &d->arch) < 0 || get_attr(type, "machine", &d->machine) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	return 0;
}

/* the hardened parse (lib/xml-untrusted.c) and a <domain> root */
static int parse_domain_root(const char *xml, size_t size, xmlDoc **ret_doc, const xmlNode **ret_root,
			     char **error_message)
{
	const xmlNode *root;
	int r;

	r = vfd_xml_parse_untrusted(xml, size, VFD_DOMAIN_XML_MAX_BYTES, VFD_DOMAIN_XML_MAX_DEPTH, ret_doc,
				    error_message);
	if (r < 0)
		return r;
	root = vfd_xml_doc_root(*ret_doc);
	if (!is_element(root, "domain"))
		return vfd_error_setf(error_message, -EINVAL, "the root element is <%s>, not <domain>",
				      root ? (const char *)root->name : "(none)");
	*ret_root = root;
	return 0;
}

int vfd_domain_parse_xml(const char *xml, size_t size, vfd_domain **ret, char **error_message)
{
	_cleanup_(free_doc) xmlDoc *doc = NULL;
	_cleanup_(vfd_domain_freep) vfd_domain *d = NULL;
	const xmlNode *root, *name;
	int r;

	if (!ret)
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	r = parse_domain_root(xml, size, &doc, &root, error_message);
	if (r < 0)
		return r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	if (get_attr(root, "type", &d->virt_type) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	if (!d->virt_type)
		return vfd_error_setf(error_message, -EINVAL, "<domain> without a type attribute");
	name = first_child(root, "name");
	if (name && get_text(name, &d->name) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");

	r = read_uuid(d, root, error_message);
	if (r < 0)
		return r;
	r = read_os(d, root, error_message);
	if (r < 0)
		return r;
	r = read_memory(d, root, error_message);
	if (r < 0)
		return r;
	r = read_devices(d, root, error_message);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(d);
	return 0;
}

int vfd_domain_parse_file(const char *path, vfd_domain **ret, char **error_message)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	int r;

	if (!ret)
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	r = vfd_xml_read_bounded(path, VFD_DOMAIN_XML_MAX_BYTES, &buf, &size, error_message);
	if (r < 0)
		return r;
	return vfd_domain_parse_xml(buf, size, ret, error_message);
}

/* ---- device aliases of a live domain (libvirt events) ---- */

void vfd_domain_aliases_free(vfd_domain_alias *aliases, size_t n)
{
	for (size_t i = 0; aliases && i < n; i++) {
		free(aliases[i].alias);
		free(aliases[i].mdev_uuid);
	}
	free(aliases);
}

/* One VFIO host device with its alias into *a; 0 when dev is none (or has no alias). */
static int read_alias_entry(const xmlNode *dev, vfd_domain_alias *a, char **error_message)
{
	_cleanup_free_ char *type = NULL, *mode = NULL, *driver = NULL, *uuid = NULL, *managed = NULL;
	const xmlNode *source_address;
	bool interface = is_element(dev, "interface");
	int r;

	if (get_attr(dev, "type", &type) < 0 || get_attr(dev, "mode", &mode) < 0 ||
	    get_attr(dev, "managed", &managed) < 0 ||
	    get_attr(first_child(dev, "driver"), "name", &driver) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	if (!type || (interface ? !streq(type, "hostdev") : (mode && !streq(mode, "subsystem"))))
		return 0;
	/* a PCI host device through KVM's or Xen's legacy assignment has no VFIO group */
	if (driver && !streq(driver, "vfio") && !streq(driver, "default"))
		return 0;

	source_address = first_child(first_child(dev, "source"), "address");
	if (interface || streq(type, "pci")) {
		if (!source_address)
			return vfd_error_setf(error_message, -EINVAL, "<%s>: PCI host device without <source><address>",
					      (const char *)dev->name);
		a->kind = VFD_DOMAIN_HOSTDEV_PCI;
		/* libvirt's default is 'no' for <hostdev>, and for <interface type='hostdev'> too */
		a->managed = managed && streq(managed, "yes");
		r = read_pci_address(source_address, "<hostdev><source><address>", &a->pci, error_message);
		if (r < 0)
			return r;
	} else if (streq(type, "mdev")) {
		if (source_address && get_attr(source_address, "uuid", &uuid) < 0)
			return vfd_error_setf(error_message, -ENOMEM, "out of memory");
		if (!uuid || vfd_uuid_validate(uuid) < 0)
			return vfd_error_setf(error_message, -EINVAL, "<hostdev type='mdev'>: no valid <source><address uuid=...>");
		for (char *p = uuid; *p; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
		a->kind = VFD_DOMAIN_HOSTDEV_MDEV;
		a->mdev_uuid = TAKE_PTR(uuid);
	} else
		return 0; /* usb, scsi: no VFIO */

	/* libvirt names every device of a running domain; an inactive definition may not */
	if (get_attr(first_child(dev, "alias"), "name", &a->alias) < 0)
		return vfd_error_setf(error_message, -ENOMEM, "out of memory");
	return a->alias ? 1 : 0;
}

int vfd_domain_hostdev_aliases(const char *xml, size_t size, vfd_domain_alias **ret, size_t *ret_n,
			       char **error_message)
{
	_cleanup_(free_doc) xmlDoc *doc = NULL;
	vfd_domain_alias *aliases = NULL;
	const xmlNode *root;
	size_t n = 0;
	int r;

	if (!ret || !ret_n)
		return vfd_error_setf(error_message, -EINVAL, "invalid arguments");
	r = parse_domain_root(xml, size, &doc, &root, error_message);
	if (r < 0)
		return r;

	for (xmlNode *c = first_child(root, "devices") ? first_child(root, "devices")->children : NULL; c;
	     c = c->next) {
		vfd_domain_alias a = { 0 };

		if (!is_element(c, "hostdev") && !is_element(c, "interface"))
			continue;
		r = read_alias_entry(c, &a, error_message);
		if (r > 0 && !grow((void **)&aliases, &n, sizeof(*aliases)))
			r = vfd_error_setf(error_message, -ENOMEM, "out of memory");
		if (r <= 0) {
			free(a.alias);
			free(a.mdev_uuid);
			if (r < 0) {
				vfd_domain_aliases_free(aliases, n);
				return r;
			}
			continue;
		}
		aliases[n - 1] = a;
	}

	*ret = aliases;
	*ret_n = n;
	return 0;
}
