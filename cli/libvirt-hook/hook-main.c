/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfiod-libvirt-hook: libvirt's QEMU hook (installed as
 * <sysconfdir>/libvirt/hooks/qemu.d/vfiod; libvirt >= 6.5 runs every
 * executable there). libvirt calls it as
 *
 *   vfiod-libvirt-hook DOMAIN OPERATION SUB-OPERATION EXTRA
 *
 * with the domain XML on standard input, and waits for it. It makes vfiod
 * hold the domain's host devices (docs/libvirt.md):
 *
 *   prepare            PrepareVM, AddDevice / CreateMdev for each
 *                      unmanaged PCI hostdev and mdev hostdev
 *   started            AttachVMM with a pidfd of QEMU
 *   release            Release (a VM vfiod does not hold: nothing to do)
 *   stopped            nothing: libvirt still restores the group nodes'
 *                      labels after it; release comes once it is done
 *   reconnect          re-adopt the VM when vfiod does not hold it
 *   anything else      nothing; standard input is not read
 *
 * A domain without such hostdevs is left alone. The XML is untrusted
 * (size-capped before parsing, no DTD or entities, depth-limited). Any
 * failure prints exactly one line on stderr, which libvirt shows in its
 * error, and exits 1; everything is checked before the first bus call,
 * and a failed prepare is rolled back by releasing the prepared VM.
 * prepare refuses a domain whose type1 containers would hold more DMA
 * mappings than vfio_iommu_type1's dma_entry_limit (docs/memlock.md), and
 * warns near it or behind a vIOMMU, before anything else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "bus-call.h"
#include "bus-errors.h"
#include "vfiod/domain-xml.h"
#include "hook-bus.h"
#include "hook-request.h"
#include "vfiod/inventory.h"
#include "vfiod/xml-untrusted.h"

#define EXIT_USAGE 2

/* one line, whatever the message holds (names come from the untrusted XML) */
static int fail(const char *op, const char *message)
{
	char line[512];

	snprintf(line, sizeof(line), "%s", message ? message : "out of memory");
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(stderr, "vfiod-libvirt-hook: %s: %s\n", op, line);
	return EXIT_FAILURE;
}

/* vfio_iommu_type1's dma_entry_limit; 0 when it cannot be read (not loaded yet) */
static uint64_t host_dma_entry_limit(void)
{
	_cleanup_(vfd_context_freep) vfd_context *ctx = NULL;
	uint64_t v;

	if (vfd_context_new(NULL, &ctx) < 0 ||
	    vfd_root_read_u64(ctx, "sys/module/vfio_iommu_type1/parameters/dma_entry_limit", &v) < 0)
		return 0;
	return v;
}

static int run(sd_bus *bus, HookOp op, const HookVM *vm, char **error_message)
{
	switch (op) {
	case HOOK_OP_PREPARE:
		return hook_bus_prepare(bus, vm, error_message);
	case HOOK_OP_STARTED:
		return hook_bus_attach(bus, vm, HOOK_QEMU_STATE_DIR, error_message);
	case HOOK_OP_RELEASE:
		return hook_bus_release(bus, vm, error_message);
	case HOOK_OP_RECONNECT:
		return hook_bus_reconnect(bus, vm, HOOK_QEMU_STATE_DIR, error_message);
	case HOOK_OP_STOPPED:
	case HOOK_OP_OTHER:
		break;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(hook_vm_freep) HookVM *vm = NULL;
	_cleanup_free_ char *xml = NULL, *message = NULL;
	const char *op_name;
	char line[256];
	size_t size = 0;
	HookOp op;
	int r;

	if (argc != 5) {
		fprintf(stderr, "vfiod-libvirt-hook: usage: vfiod-libvirt-hook DOMAIN OPERATION SUB-OPERATION EXTRA "
				"(run by libvirt, the domain XML on standard input)\n");
		return EXIT_USAGE;
	}
	op = hook_op_from_string(argv[2]);
	/* libvirt calls every hook for many operations: the others are none of vfiod's business */
	if (op == HOOK_OP_OTHER || op == HOOK_OP_STOPPED)
		return EXIT_SUCCESS;
	op_name = argv[2];

	if (hook_check_name_arg(argv[1], &message) < 0)
		return fail(op_name, message);
	r = vfd_xml_read_bounded("-", VFD_DOMAIN_XML_MAX_BYTES, &xml, &size, &message);
	if (r == -EFBIG) {
		/* read no further than one byte past the cap, parsed nothing */
		snprintf(line, sizeof(line), "the domain XML on standard input is larger than %u bytes",
			 VFD_DOMAIN_XML_MAX_BYTES);
		return fail(op_name, line);
	}
	if (r < 0)
		return fail(op_name, message);
	if (hook_vm_from_xml(argv[1], xml, size, &vm, &message) < 0)
		return fail(op_name, message);
	if (op == HOOK_OP_PREPARE) {
		/* type1's dma_entry_limit: refused here, before vfiod claims anything */
		_cleanup_free_ char *warning = NULL;

		r = hook_vm_check_dma_budget(vm, host_dma_entry_limit(), &vm->dma_mappings, &warning, &message);
		if (r < 0)
			return fail(op_name, message);
		if (warning)
			fprintf(stderr, "vfiod-libvirt-hook: %s: warning: %s\n", op_name, warning);
	}
	if (!hook_vm_has_devices(vm))
		return EXIT_SUCCESS;
	if (!vfd_vm_name_is_valid(vm->name)) {
		/* such a VM was never prepared: nothing to give back */
		if (op == HOOK_OP_RELEASE)
			return EXIT_SUCCESS;
		snprintf(line, sizeof(line), "vfiod cannot hold a VM named '%.80s': its names are 1-%d of "
			 "[A-Za-z0-9_.-], starting with a letter or digit", vm->name, VFD_VM_NAME_MAX);
		return fail(op_name, line);
	}

	r = vfd_bus_errors_register();
	if (r >= 0)
		r = bus_call_connect(NULL, &bus);
	if (r < 0) {
		errno = -r;
		snprintf(line, sizeof(line), "cannot connect to the system bus: %m");
		return fail(op_name, line);
	}
	if (run(bus, op, vm, &message) < 0)
		return fail(op_name, message);
	return EXIT_SUCCESS;
}
