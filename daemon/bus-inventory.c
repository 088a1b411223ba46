/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bus-inventory.h"
#include "bus-record.h"
#include "vfiod/vendor-vgpu.h"

static int append_address_array(sd_bus_message *m, const char *key,
				const vfd_pci_address *a, size_t n)
{
	char buf[VFD_PCI_ADDRESS_STRLEN];
	int r;

	r = bus_record_open_entry(m, key, "as");
	if (r < 0)
		return r;

	r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "s");
	if (r < 0)
		return r;

	for (size_t i = 0; i < n; i++) {
		r = sd_bus_message_append_basic(m, SD_BUS_TYPE_STRING,
						vfd_pci_address_format(&a[i], buf));
		if (r < 0)
			return r;
	}

	r = sd_bus_message_close_container(m);
	if (r < 0)
		return r;

	return bus_record_close_entry(m);
}

/* vgpu_creatable a(us): a VF's creatable vGPU types (vfiod/vendor-vgpu.h) */
static int append_vgpu_creatable(sd_bus_message *m, const vfd_vgpu_info *v)
{
	int r;

	r = bus_record_open_entry(m, "vgpu_creatable", "a(us)");
	if (r < 0)
		return r;
	r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "(us)");
	for (size_t i = 0; r >= 0 && i < v->n_creatable; i++)
		r = sd_bus_message_append(m, "(us)", v->creatable[i].id, v->creatable[i].name);
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	return r < 0 ? r : bus_record_close_entry(m);
}

/*
 * vgpu_types a(usu) of a PF whose VFs offer vGPU types: per type its id,
 * name and free count (the VFs without a type that list it), from the
 * inventory's records of the VFs. Absent when no VF offers any.
 */
static int append_vgpu_types(sd_bus_message *m, const Inventory *inv, const vfd_pci_device *pf)
{
	vfd_vgpu_type_count *counts = NULL;
	size_t n = 0;
	bool any = false;
	int r = 0;

	for (size_t i = 0; r >= 0 && i < pf->n_virtfns; i++) {
		const vfd_pci_device *vf = inventory_device(inv, &pf->virtfns[i]);

		if (!vf || !vf->vgpu)
			continue;
		any = true;
		r = vfd_vgpu_count_add(&counts, &n, vf->vgpu);
	}
	if (r >= 0 && any) {
		r = bus_record_open_entry(m, "vgpu_types", "a(usu)");
		if (r >= 0)
			r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "(usu)");
		for (size_t i = 0; r >= 0 && i < n; i++)
			r = sd_bus_message_append(m, "(usu)", counts[i].id, counts[i].name, counts[i].free);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
		if (r >= 0)
			r = bus_record_close_entry(m);
	}
	vfd_vgpu_counts_free(counts, n);
	return r;
}

int bus_append_device_record(sd_bus_message *m, const Inventory *inv, const vfd_pci_device *d)
{
	return bus_append_device_record_extras(m, inv, d, &(DeviceRecordExtras) {});
}

int bus_append_device_record_extras(sd_bus_message *m, const Inventory *inv, const vfd_pci_device *d,
				    const DeviceRecordExtras *extras)
{
	const vfd_vfio_choice *vfio = extras->vfio;
	const char *vendor_name, *device_name;
	int r;

	inventory_device_names(inv, d, &vendor_name, &device_name);

	r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;

	if ((r = bus_record_append_string(m, "address", d->name)) < 0 ||
	    (r = bus_record_append_u16(m, "vendor_id", d->vendor_id)) < 0 ||
	    (r = bus_record_append_u16(m, "device_id", d->device_id)) < 0 ||
	    (r = bus_record_append_string_optional(m, "vendor_name", vendor_name)) < 0 ||
	    (r = bus_record_append_string_optional(m, "device_name", device_name)) < 0 ||
	    (r = bus_record_append_u16(m, "subsystem_vendor_id", d->subsystem_vendor_id)) < 0 ||
	    (r = bus_record_append_u16(m, "subsystem_device_id", d->subsystem_device_id)) < 0 ||
	    (r = bus_record_append_u32(m, "class", d->class_code)) < 0 ||
	    (r = bus_record_append_string_optional(m, "driver", d->driver)) < 0 ||
	    (r = bus_record_append_string_optional(m, "driver_override", d->driver_override)) < 0 ||
	    (r = bus_record_append_i32(m, "numa_node", d->numa_node)) < 0 ||
	    (r = bus_record_append_string_optional(m, "reset_method", d->reset_method)) < 0 ||
	    (r = bus_record_append_i32(m, "iommu_group", d->iommu_group)) < 0 ||
	    (r = bus_record_append_bool(m, "is_bridge", d->is_bridge)) < 0)
		return r;
	if (vfio &&
	    ((r = bus_record_append_string(m, "vfio_driver", vfio->driver)) < 0 ||
	     (r = bus_record_append_string(m, "vfio_driver_source",
					   vfd_vfio_choice_source_to_string(vfio->source))) < 0))
		return r;
	if (extras->quarantine_known) {
		bool q = extras->quarantine_reason != NULL;

		if ((r = bus_record_append_bool(m, "quarantined", q)) < 0 ||
		    (q && (r = bus_record_append_string(m, "quarantine_reason", extras->quarantine_reason)) < 0) ||
		    (q && (r = bus_record_append_string_optional(m, "quarantine_vm", extras->quarantine_vm)) < 0))
			return r;
	}

	/* the SR-IOV keys exist only where they mean something */
	if (d->sriov_totalvfs > 0) {
		if ((r = bus_record_append_u32(m, "sriov_totalvfs", d->sriov_totalvfs)) < 0 ||
		    (r = bus_record_append_u32(m, "sriov_numvfs", d->sriov_numvfs)) < 0 ||
		    (r = append_address_array(m, "virtfns", d->virtfns, d->n_virtfns)) < 0 ||
		    (r = bus_record_append_bool(m, "sriov_drivers_autoprobe",
						d->sriov_drivers_autoprobe)) < 0 ||
		    (r = append_vgpu_types(m, inv, d)) < 0)
			return r;
	}

	if (d->is_virtfn) {
		char buf[VFD_PCI_ADDRESS_STRLEN];

		r = bus_record_append_string(m, "physfn", vfd_pci_address_format(&d->physfn, buf));
		if (r < 0)
			return r;
	}
	/* the vendor vGPU keys only on a VF whose driver offers them */
	if (d->vgpu &&
	    ((r = bus_record_append_u32(m, "vgpu_type", d->vgpu->current_type)) < 0 ||
	     (r = append_vgpu_creatable(m, d->vgpu)) < 0))
		return r;

	return sd_bus_message_close_container(m);
}

static int append_members(sd_bus_message *m, const vfd_iommu_group *g)
{
	int r;

	r = bus_record_open_entry(m, "members", "a(sssbsbs)");
	if (r < 0)
		return r;

	r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "(sssbsbs)");
	if (r < 0)
		return r;

	for (size_t i = 0; i < g->n_members; i++) {
		const vfd_group_member *mb = &g->members[i];
		const char *state = vfd_member_state_to_string(mb->state);

		/* a tuple cannot omit a field: "" stands for "none" here */
		r = sd_bus_message_append(m, "(sssbsbs)",
					  mb->name,
					  mb->bus ? mb->bus : "",
					  mb->driver ? mb->driver : "",
					  (int) mb->is_bridge,
					  state ? state : "",
					  (int) mb->viable,
					  mb->reason ? mb->reason : "");
		if (r < 0)
			return r;
	}

	r = sd_bus_message_close_container(m);
	if (r < 0)
		return r;

	return bus_record_close_entry(m);
}

/*
 * The names of the PCI members, apart from the fixed member tuple so that
 * its signature stays: one (name, vendor_name, device_name) per member the
 * hardware database knows, "" for an unknown model. Left out when no
 * member has a name (no database below the root). The names are the
 * inventory's, of its record of each member: a group reply reads nothing
 * (neither sysfs nor the database) and names what ListDevices says.
 */
static int append_member_names(sd_bus_message *m, const Inventory *inv, const vfd_iommu_group *g)
{
	bool opened = false;
	int r;

	for (size_t i = 0; i < g->n_members; i++) {
		const vfd_group_member *mb = &g->members[i];
		const char *vendor_name, *device_name;
		const vfd_pci_device *d;
		vfd_pci_address addr;

		if (!mb->bus || strcmp(mb->bus, "pci") != 0 ||
		    vfd_pci_address_parse(mb->name, &addr) < 0)
			continue;
		/* a member the inventory does not list (gone, or not yet read) has no name */
		d = inventory_device(inv, &addr);
		if (!d)
			continue;
		inventory_device_names(inv, d, &vendor_name, &device_name);
		if (!vendor_name)
			continue;

		if (!opened) {
			r = bus_record_open_entry(m, "member_names", "a(sss)");
			if (r < 0)
				return r;
			r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "(sss)");
			if (r < 0)
				return r;
			opened = true;
		}
		r = sd_bus_message_append(m, "(sss)", mb->name, vendor_name,
					  device_name ? device_name : "");
		if (r < 0)
			return r;
	}

	if (!opened)
		return 0;
	r = sd_bus_message_close_container(m);
	if (r < 0)
		return r;
	return bus_record_close_entry(m);
}

int bus_append_group_record(sd_bus_message *m, const Inventory *inv, const vfd_iommu_group *g)
{
	int r;

	r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;

	if ((r = bus_record_append_u32(m, "group", g->id)) < 0 ||
	    (r = bus_record_append_bool(m, "viable", g->viable)) < 0 ||
	    (r = append_members(m, g)) < 0 ||
	    (r = append_member_names(m, inv, g)) < 0)
		return r;

	return sd_bus_message_close_container(m);
}

int bus_append_mdev_parent_record(sd_bus_message *m, const vfd_mdev_parent *p)
{
	int r;

	r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;

	if ((r = bus_record_append_string(m, "parent", p->name)) < 0 ||
	    (r = bus_record_append_string(m, "bus", p->bus ? p->bus : "")) < 0 ||
	    (r = bus_record_append_string_optional(m, "driver", p->driver)) < 0)
		return r;

	r = bus_record_open_entry(m, "types", "as");
	if (r < 0)
		return r;

	r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "s");
	if (r < 0)
		return r;

	for (size_t i = 0; i < p->n_types; i++) {
		r = sd_bus_message_append_basic(m, SD_BUS_TYPE_STRING, p->types[i]->id);
		if (r < 0)
			return r;
	}

	r = sd_bus_message_close_container(m);
	if (r < 0)
		return r;

	r = bus_record_close_entry(m);
	if (r < 0)
		return r;

	return sd_bus_message_close_container(m);
}

int bus_append_mdev_type_record(sd_bus_message *m, const vfd_mdev_type *t)
{
	int r;

	r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;

	if ((r = bus_record_append_string(m, "parent", t->parent)) < 0 ||
	    (r = bus_record_append_string(m, "type", t->id)) < 0 ||
	    (r = bus_record_append_string_optional(m, "name", t->name)) < 0 ||
	    (r = bus_record_append_string_optional(m, "description", t->description)) < 0 ||
	    (r = bus_record_append_string(m, "device_api", t->device_api ? t->device_api : "")) < 0 ||
	    (r = bus_record_append_u32(m, "available_instances", t->available_instances)) < 0)
		return r;

	return sd_bus_message_close_container(m);
}

int bus_append_mdev_record(sd_bus_message *m, const vfd_mdev *mdev)
{
	int r;

	r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;

	if ((r = bus_record_append_string(m, "uuid", mdev->uuid)) < 0 ||
	    (r = bus_record_append_string(m, "parent", mdev->parent)) < 0 ||
	    (r = bus_record_append_string(m, "type", mdev->type_id)) < 0 ||
	    (r = bus_record_append_string_optional(m, "driver", mdev->driver)) < 0 ||
	    (r = bus_record_append_i32(m, "iommu_group", mdev->iommu_group)) < 0)
		return r;

	return sd_bus_message_close_container(m);
}
