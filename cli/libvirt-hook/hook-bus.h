/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hook's calls to vfiod (docs/org.vfiod1.Manager.xml, org.vfiod1.VM.xml)
 * for one domain. Each returns 0 or a negative errno with one sentence in
 * *error_message saying which step failed and vfiod's answer; none prints.
 */
#pragma once

#include <systemd/sd-bus.h>

#include "hook-request.h"

/* Where libvirt's QEMU driver writes <name>.pid (its stateDir for qemu:///system). */
#define HOOK_QEMU_STATE_DIR "/run/libvirt/qemu"

/*
 * prepare: PrepareVM, then AddDevice for every PCI function and mdev, or
 * CreateMdev from vfiod's configuration for an mdev that does not exist.
 * On a failure the prepared VM is released (vfiod rolls everything back).
 */
int hook_bus_prepare(sd_bus *bus, const HookVM *vm, char **error_message);

/*
 * started: AttachVMM with a pidfd of the QEMU process named by libvirt's
 * pidfile (state_dir/<name>.pid).
 */
int hook_bus_attach(sd_bus *bus, const HookVM *vm, const char *state_dir, char **error_message);

/* release: Release the VM; a VM vfiod does not hold is no error. */
int hook_bus_release(sd_bus *bus, const HookVM *vm, char **error_message);

/*
 * reconnect (libvirtd restarted): nothing when vfiod holds the VM, else
 * prepare and attach again (vfiod restarted meanwhile, or lost it).
 */
int hook_bus_reconnect(sd_bus *bus, const HookVM *vm, const char *state_dir, char **error_message);
