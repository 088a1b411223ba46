/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bus side of VMs: the org.vfiod1.VM objects at /org/vfiod1/vm/<id>
 * (docs/org.vfiod1.VM.xml is their contract), served from one fallback
 * vtable with an object enumerator, like machined's machine objects.
 */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"
#include "vfd-bus.h"
#include "vm.h"

extern const sd_bus_vtable vm_vtable[];

/* exports the VM objects of m on bus */
int vm_dbus_register(sd_bus *bus, Manager *m);


/* StateChanged and PropertiesChanged(State); failures are logged */
void vm_send_state_changed(VM *vm);
/* PropertiesChanged(Devices) */
void vm_send_devices_changed(VM *vm);
/* PropertiesChanged(BusyDevice) */
void vm_send_busy_changed(VM *vm);
/* PropertiesChanged(VMMState, ExitLockedBytes, ExitPinnedBytes) */
void vm_send_memory_changed(VM *vm);
/* ChargeChecked and PropertiesChanged(ExpectedChargeBytes, ObservedChargeBytes, ChargeMatches) */
void vm_send_charge_checked(VM *vm, const char *step);
