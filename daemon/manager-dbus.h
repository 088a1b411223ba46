/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus side of the manager: the org.vfiod1.Manager object at
 * /org/vfiod1 (docs/org.vfiod1.Manager.xml is its contract).
 */
#pragma once

#include "manager.h"
#include "vfd-bus.h"

extern const sd_bus_vtable manager_vtable[];

/* the methods that change the host (manager-dbus-vm.c) */
int method_register_vm(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_register_vm_with_pid(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_prepare_vm(sd_bus_message *message, void *userdata, sd_bus_error *error);
/* manager-dbus-libvirt.c: the iommufd broker (libvirt/libvirt-broker.h) */
int method_start_libvirt_domain(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_list_vms(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_get_vm(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_bind(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_unbind(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_create_mdev(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_remove_mdev(sd_bus_message *message, void *userdata, sd_bus_error *error);

/*
 * Opens the bus (m->bus_address or the system bus), exports the object,
 * requests org.vfiod1 asynchronously and notifies READY=1 once the name
 * is ours.
 */
int manager_connect_bus(Manager *m);

/* Emits InventoryChanged; failures are logged, not fatal. */
void manager_send_inventory_changed(Manager *m, const char *kind,
				    const char *action, const char *name);
