/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libudev.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "inventory-monitor.h"
#include "log.h"

struct InventoryMonitor {
	struct udev *udev;
	struct udev_monitor *monitor;
	sd_event_source *io;
	bool all_subsystems; /* INVENTORY_MONITOR_KERNEL: "other" events too */
	inventory_changed_t cb;
	inventory_lost_t lost;
	void *userdata;
};

/* the udev subsystems whose events change what vfiod reports */
static const char *const watched_subsystems[] = {
	"pci",  /* functions appear, vanish, bind and unbind drivers */
	"mdev", /* mediated devices are created and removed */
	"vfio", /* /dev/vfio/<group> appears when a group becomes usable by VFIO */
};

static bool is_decimal(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

const char *inventory_event_classify(const char *subsystem, const char *sysname,
				     const char **ret_name)
{
	if (!subsystem || !sysname)
		return NULL;

	if (strcmp(subsystem, "pci") == 0) {
		*ret_name = sysname;
		return "pci";
	}

	if (strcmp(subsystem, "mdev") == 0) {
		*ret_name = sysname;
		return "mdev";
	}

	/*
	 * The vfio class holds the group nodes, named by group number, plus
	 * the "vfio" container node and "noiommu-N" groups, which are not
	 * IOMMU groups of the inventory.
	 */
	if (strcmp(subsystem, "vfio") == 0 && is_decimal(sysname)) {
		*ret_name = sysname;
		return "group";
	}

	return NULL;
}

static void dispatch_device(InventoryMonitor *mon, struct udev_device *dev)
{
	const char *kind, *name = NULL, *action;

	kind = inventory_event_classify(udev_device_get_subsystem(dev),
					udev_device_get_sysname(dev), &name);
	if (!kind) {
		/* any other device may be an mdev parent (mdev_register_parent()'s "change") */
		if (!mon->all_subsystems || !udev_device_get_sysname(dev))
			return;
		kind = "other";
		name = udev_device_get_sysname(dev);
	}

	action = udev_device_get_action(dev);
	if (!action)
		action = "change";

	log_debug("udev: %s %s %s", kind, action, name);
	mon->cb(kind, action, name, mon->userdata);
}

void inventory_monitor_drain(InventoryMonitor *mon)
{
	if (!mon)
		return;

	/* the socket is non-blocking: drain it, NULL means nothing left (or an unparsable message) */
	for (;;) {
		struct udev_device *dev;

		int error;

		errno = 0;
		dev = udev_monitor_receive_device(mon->monitor);
		error = errno;
		if (!dev) {
			/*
			 * EAGAIN: nothing left. ENOBUFS: the kernel dropped
			 * messages the socket had no room for. Anything else
			 * is not known to have lost nothing either.
			 */
			if (error == 0 || error == EAGAIN || error == EINTR)
				break;
			if (error == ENOBUFS)
				log_warning("udev monitor overflowed; some inventory changes were not reported");
			else
				(void) log_warning_errno(error, "Failed to receive from the udev monitor: %m");
			if (mon->lost)
				mon->lost(mon->userdata);
			/* ENOBUFS is reported once; what follows it is read as usual */
			if (error != ENOBUFS)
				break;
			continue;
		}

		dispatch_device(mon, dev);
		udev_device_unref(dev);
	}
}

static int on_monitor_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	inventory_monitor_drain(userdata);
	return 0;
}

InventoryMonitor *inventory_monitor_free(InventoryMonitor *mon)
{
	if (!mon)
		return NULL;

	sd_event_source_disable_unref(mon->io);
	udev_monitor_unref(mon->monitor);
	udev_unref(mon->udev);
	free(mon);
	return NULL;
}

int inventory_monitor_new(sd_event *event, InventoryMonitorSource source,
			  inventory_changed_t cb, inventory_lost_t lost, void *userdata,
			  InventoryMonitor **ret)
{
	_cleanup_(inventory_monitor_freep) InventoryMonitor *mon = NULL;
	int r;

	mon = calloc(1, sizeof(*mon));
	if (!mon)
		return -ENOMEM;

	mon->cb = cb;
	mon->lost = lost;
	mon->userdata = userdata;
	mon->all_subsystems = source == INVENTORY_MONITOR_KERNEL;

	mon->udev = udev_new();
	if (!mon->udev)
		return negative_errno();

	/*
	 * "udev": events after udevd processed them, so sysfs and rules are
	 * settled (device nodes exist). "kernel": the kernel's own uevents,
	 * queued on the socket before the write that caused them returns,
	 * with or without udevd; sysfs is what the event says by then.
	 */
	mon->monitor = udev_monitor_new_from_netlink(mon->udev,
						     source == INVENTORY_MONITOR_KERNEL ? "kernel" : "udev");
	if (!mon->monitor)
		return negative_errno();

	if (!mon->all_subsystems)
		for (size_t i = 0; i < ELEMENTSOF(watched_subsystems); i++) {
			r = udev_monitor_filter_add_match_subsystem_devtype(mon->monitor,
									    watched_subsystems[i], NULL);
			if (r < 0)
				return r;
		}

	r = udev_monitor_enable_receiving(mon->monitor);
	if (r < 0)
		return r;

	/* room for a burst (a rescan, SR-IOV VFs): overflowing costs a full re-read */
	(void) udev_monitor_set_receive_buffer_size(mon->monitor, 8 * 1024 * 1024);

	r = sd_event_add_io(event, &mon->io, udev_monitor_get_fd(mon->monitor), EPOLLIN,
			    on_monitor_io, mon);
	if (r < 0)
		return r;

	/* before bus messages ready at the same time: a change is known before a query */
	r = sd_event_source_set_priority(mon->io, SD_EVENT_PRIORITY_IMPORTANT);
	if (r < 0)
		return r;

	(void) sd_event_source_set_description(mon->io,
					       source == INVENTORY_MONITOR_KERNEL ? "uevent-monitor" : "udev-monitor");

	*ret = TAKE_PTR(mon);
	return 0;
}
