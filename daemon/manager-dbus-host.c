/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Manager's properties that say what this kernel offers for VFIO
 * (lib/include/vfiod/kernel-features.h; docs/org.vfiod1.Manager.xml). A
 * vtable of its own on /org/vfiod1, after the configuration's. Each Get
 * probes anew: a module loaded later (iommufd, vfio_iommu_type1) or a
 * changed module parameter shows at once; nothing is signalled.
 */
#include "manager-dbus-host.h"
#include "vfd-bus.h"
#include "vfiod/kernel-features.h"

static int get_features(Manager *m, vfd_kernel_features *f, sd_bus_error *error)
{
	int r = vfd_kernel_features_probe(m->ctx, f);

	return r < 0 ? sd_bus_error_set_errnof(error, r, "Cannot probe the kernel: %m") : 0;
}

static int property_get_feature(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	const struct {
		const char *name;
		size_t offset;
	} flags[] = {
		{ "Iommufd", offsetof(vfd_kernel_features, iommufd) },
		{ "VfioCdev", offsetof(vfd_kernel_features, vfio_cdev) },
		{ "IommufdRlimitMode", offsetof(vfd_kernel_features, rlimit_mode) },
		{ "IoasMapFile", offsetof(vfd_kernel_features, ioas_map_file) },
		{ "IoasChangeProcess", offsetof(vfd_kernel_features, ioas_change_process) },
		{ "Viommu", offsetof(vfd_kernel_features, viommu) },
		{ "Type1", offsetof(vfd_kernel_features, type1) },
	};
	vfd_kernel_features f;
	int r;

	r = get_features(userdata, &f, error);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(property, flags[i].name) == 0)
			return sd_bus_message_append(reply, "b", *(const bool *) ((const char *) &f + flags[i].offset));
	if (strcmp(property, "Noiommu") == 0)
		return sd_bus_message_append(reply, "s", vfd_noiommu_to_string(f.noiommu));
	if (strcmp(property, "Type1DmaEntryLimit") == 0)
		return sd_bus_message_append(reply, "t", f.dma_entry_limit);
	if (strcmp(property, "DefaultBackend") == 0)
		return sd_bus_message_append(reply, "s", vfd_kernel_features_backend(&f));
	return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "No property %s", property);
}

#define FEATURE(name, type) SD_BUS_PROPERTY(name, type, property_get_feature, 0, 0)

/* in the order of docs/org.vfiod1.Manager.xml */
static const sd_bus_vtable manager_host_vtable[] = {
	SD_BUS_VTABLE_START(0),
	FEATURE("Iommufd", "b"),
	FEATURE("VfioCdev", "b"),
	FEATURE("IommufdRlimitMode", "b"),
	FEATURE("IoasMapFile", "b"),
	FEATURE("IoasChangeProcess", "b"),
	FEATURE("Viommu", "b"),
	FEATURE("Type1", "b"),
	FEATURE("Noiommu", "s"),
	FEATURE("Type1DmaEntryLimit", "t"),
	FEATURE("DefaultBackend", "s"),
	SD_BUS_VTABLE_END
};

int manager_dbus_host_register(sd_bus *bus, Manager *m)
{
	return sd_bus_add_object_vtable(bus, NULL, VFD_BUS_PATH, VFD_BUS_INTERFACE,
					manager_host_vtable, m);
}

int manager_default_backend(Manager *m, const char **ret)
{
	vfd_kernel_features f;
	int r;

	r = vfd_kernel_features_probe(m->ctx, &f);
	if (r < 0)
		return r;
	*ret = vfd_kernel_features_backend(&f);
	return 0;
}
