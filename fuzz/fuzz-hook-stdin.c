/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the libvirt QEMU hook reads before any bus call
 * (cli/libvirt-hook/hook-main.c): the domain name libvirt passes as its
 * first argument, then the domain XML on standard input, read bounded
 * (lib/xml-untrusted.c) and turned into the VM vfiod should hold
 * (cli/libvirt-hook/hook-request.c). The first line of the input is the
 * argument, the rest arrives on standard input, as in the hook.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfiod/domain-xml.h"
#include "fuzz-util.h"
#include "hook-request.h"
#include "vfiod/xml-untrusted.h"

static int stdin_file = -1;

/* standard input is a memory file that each input is written into */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	stdin_file = memfd_create("fuzz-hook-stdin", MFD_CLOEXEC);
	if (stdin_file < 0 || dup2(stdin_file, STDIN_FILENO) < 0) {
		perror("fuzz-hook-stdin: standard input");
		exit(EXIT_FAILURE);
	}
	return 0;
}

static void feed_stdin(const uint8_t *data, size_t size)
{
	if (ftruncate(stdin_file, 0) < 0 || pwrite(stdin_file, data, size, 0) != (ssize_t)size ||
	    lseek(stdin_file, 0, SEEK_SET) != 0) {
		perror("fuzz-hook-stdin: writing standard input");
		abort();
	}
}

static void check_vm(const HookVM *vm, const char *name_arg)
{
	vfd_pci_address a;

	FUZZ_CHECK(vm->name && strcmp(vm->name, name_arg) == 0);
	FUZZ_CHECK(vm->uuid && vfd_uuid_validate(vm->uuid) == 0);
	for (size_t i = 0; i < vm->n_pci_devices; i++)
		FUZZ_CHECK(vfd_pci_address_parse(vm->pci_devices[i], &a) == 0);
	for (size_t i = 0; i < vm->n_mdevs; i++)
		FUZZ_CHECK(vfd_uuid_validate(vm->mdevs[i]) == 0);
	(void)hook_vm_has_devices(vm);
	(void)vfd_vm_name_is_valid(vm->name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t name_len = nl ? (size_t)(nl - data) : size;
	_cleanup_free_ char *name = fuzz_string(data, name_len), *message = NULL, *xml = NULL;
	_cleanup_(hook_vm_freep) HookVM *vm = NULL;
	size_t xml_size = 0;

	if (!name)
		return 0;
	if (hook_check_name_arg(name, &message) < 0) {
		FUZZ_CHECK(message);
		return 0;
	}
	FUZZ_CHECK(!message && *name);

	feed_stdin(nl ? nl + 1 : data + size, nl ? size - name_len - 1 : 0);
	if (vfd_xml_read_bounded("-", VFD_DOMAIN_XML_MAX_BYTES, &xml, &xml_size, &message) < 0) {
		FUZZ_CHECK(message);
		return 0;
	}
	FUZZ_CHECK(xml_size == (nl ? size - name_len - 1 : 0));

	if (hook_vm_from_xml(name, xml, xml_size, &vm, &message) < 0) {
		FUZZ_CHECK(message && !vm);
		return 0;
	}
	check_vm(vm, name);
	return 0;
}
