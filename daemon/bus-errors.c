/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "bus-errors.h"

/*
 * One errno per name, each distinct, so the mapping works both ways. The
 * errnos are what the core reports for "not found": libvfiod returns
 * -ENODEV for a missing PCI function and -ENOENT for a missing IOMMU
 * group; the manager returns -ENXIO for an unknown mdev parent.
 */
const sd_bus_error_map vfd_bus_errors[] = {
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_SUCH_DEVICE, ENODEV),
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_SUCH_GROUP,  ENOENT),
	SD_BUS_ERROR_MAP(VFD_ERROR_NO_SUCH_PARENT, ENXIO),
	SD_BUS_ERROR_MAP_END
};

int vfd_bus_errors_register(void)
{
	int r;

	/* sd-bus keeps the pointer and answers 0 when it already has it */
	r = sd_bus_error_add_map(vfd_bus_errors);
	return r < 0 ? r : 0;
}

const char *vfd_bus_error_name_from_errno(int error)
{
	const sd_bus_error_map *m;

	if (error < 0)
		error = -error;

	/* the end marker is the only entry with a NULL name */
	for (m = vfd_bus_errors; m->name; m++)
		if (m->code == error)
			return m->name;

	return NULL;
}
