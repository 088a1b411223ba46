/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiod's bus contract, shared by vfiod, vfioctl and the libvirt hook:
 * the well-known name, the objects and their interfaces (the contract is
 * docs/org.vfiod1.Manager.xml and docs/org.vfiod1.VM.xml), and the polkit
 * actions (systemd/org.vfiod1.policy). The stable error names and their
 * errno: bus-errors.h.
 */
#pragma once

#define VFD_BUS_NAME       "org.vfiod1"

/* the manager */
#define VFD_BUS_PATH       "/org/vfiod1"
#define VFD_BUS_INTERFACE  "org.vfiod1.Manager"

/* the VMs, one object each at VFD_VM_PATH_PREFIX "/<id>" */
#define VFD_VM_PATH_PREFIX "/org/vfiod1/vm"
#define VFD_VM_INTERFACE   "org.vfiod1.VM"

/* the polkit actions */
#define POLKIT_ACTION_MANAGE_VMS       "org.vfiod1.manage-vms"
/* a VM registered or prepared by another uid (daemon/vm-identity.h) */
#define POLKIT_ACTION_MANAGE_OTHER_VMS "org.vfiod1.manage-other-vms"
#define POLKIT_ACTION_BIND             "org.vfiod1.bind-devices"
#define POLKIT_ACTION_MANAGE_MDEV      "org.vfiod1.manage-mdevs"
/* ApplyConfig (daemon/manager-dbus-config.c) */
#define POLKIT_ACTION_APPLY_CONFIG     "org.vfiod1.apply-config"
/* ClearQuarantine (daemon/manager-dbus-quarantine.c) */
#define POLKIT_ACTION_CLEAR_QUARANTINE "org.vfiod1.clear-quarantine"
