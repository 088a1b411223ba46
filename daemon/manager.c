/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "manager-dbus.h"
#include "manager.h"

Manager *manager_free(Manager *m)
{
	if (!m)
		return NULL;

	inventory_monitor_free(m->monitor);
	sd_bus_flush_close_unref(m->bus);
	vfd_context_free(m->ctx);
	sd_event_unref(m->event);
	free(m->root);
	free(m->bus_address);
	free(m);
	return NULL;
}

int manager_new(const char *root, const char *bus_address, Manager **ret)
{
	_cleanup_(manager_freep) Manager *m = NULL;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;

	if (root) {
		m->root = strdup(root);
		if (!m->root)
			return -ENOMEM;
	}

	if (bus_address) {
		m->bus_address = strdup(bus_address);
		if (!m->bus_address)
			return -ENOMEM;
	}

	r = vfd_context_new(m->root, &m->ctx);
	if (r < 0)
		return r;

	r = sd_event_default(&m->event);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(m);
	return 0;
}

static void on_inventory_changed(const char *kind, const char *action,
				  const char *name, void *userdata)
{
	Manager *m = userdata;

	manager_send_inventory_changed(m, kind, action, name);
}

int manager_startup(Manager *m)
{
	int r;

	/* SIGTERM/SIGINT become events that end the loop; they must be blocked first */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(errno, "Failed to block signals: %m");

	r = sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
	if (r < 0)
		return log_error_errno(r, "Failed to watch SIGTERM: %m");

	r = sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);
	if (r < 0)
		return log_error_errno(r, "Failed to watch SIGINT: %m");

	/*
	 * udev events describe the real system. With a fixture root they
	 * would name devices the fixture does not have, so only the real
	 * system is watched.
	 */
	if (!m->root) {
		r = inventory_monitor_new(m->event, on_inventory_changed, m, &m->monitor);
		if (r < 0)
			return log_error_errno(r, "Failed to start the udev monitor: %m");
	} else
		log_info("Using root %s; not watching udev.", m->root);

	/* last: once the name is requested, callers may come */
	return manager_connect_bus(m);
}

int manager_run(Manager *m)
{
	/*
	 * The loop ends with 0 on SIGTERM/SIGINT, or with the negative errno
	 * a fatal failure passed to sd_event_exit() after logging it.
	 */
	return sd_event_loop(m->event);
}

int manager_get_device(Manager *m, const vfd_pci_address *addr, vfd_pci_device **ret)
{
	return vfd_pci_device_load(m->ctx, addr, ret);
}

int manager_get_group(Manager *m, unsigned id, vfd_iommu_group **ret)
{
	int r;

	r = vfd_iommu_group_load(m->ctx, id, ret);
	/* the library reports a missing group directory as either */
	if (r == -ENODEV)
		return -ENOENT;
	return r;
}

int manager_get_mdev_parents(Manager *m, const char *name,
			     vfd_mdev_parent ***ret, size_t *ret_n)
{
	vfd_mdev_parent **parents = NULL;
	size_t n = 0;
	int r;

	r = vfd_mdev_parent_enumerate(m->ctx, &parents, &n);
	if (r < 0)
		return r;

	if (name && *name) {
		size_t keep = n;

		/* move the one match to the front, free the rest */
		for (size_t i = 0; i < n; i++)
			if (strcmp(parents[i]->name, name) == 0) {
				keep = i;
				break;
			}

		if (keep == n) {
			vfd_mdev_parent_array_free(parents, n);
			return -ENXIO;
		}

		for (size_t i = 0; i < n; i++)
			if (i != keep) {
				vfd_mdev_parent_free(parents[i]);
				parents[i] = NULL;
			}
		parents[0] = parents[keep];
		if (keep != 0)
			parents[keep] = NULL;
		n = 1;
	}

	*ret = parents;
	*ret_n = n;
	return 0;
}
