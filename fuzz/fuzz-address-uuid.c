/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The strict name parsers that guard sysfs path components: PCI addresses
 * (lib/pci-address.c), UUIDs and VM names (lib/uuid.c). Beyond not
 * crashing, each must accept only the one canonical spelling it promises:
 * what it accepts formats back to the same text (case aside) and holds no
 * byte that could leave a path component.
 */
#include <ctype.h>
#include <stdbool.h>

#include "fuzz-util.h"
#include "vfiod/inventory.h"

static bool same_ignoring_case(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
	return *a == *b;
}

static void check_pci_address(const char *s)
{
	char buf[VFD_PCI_ADDRESS_STRLEN];
	vfd_pci_address a, again;

	if (vfd_pci_address_parse(s, &a) < 0)
		return;
	FUZZ_CHECK(strlen(s) == VFD_PCI_ADDRESS_STRLEN - 1);
	FUZZ_CHECK(a.slot <= 0x1f && a.function <= 7);
	FUZZ_CHECK(vfd_pci_address_format(&a, buf) == buf);
	FUZZ_CHECK(same_ignoring_case(s, buf));
	FUZZ_CHECK(vfd_pci_address_parse(buf, &again) == 0);
	FUZZ_CHECK(vfd_pci_address_compare(&a, &again) == 0);
}

static void check_uuid(const char *s)
{
	char lower[VFD_UUID_STRLEN];

	if (vfd_uuid_validate(s) < 0) {
		FUZZ_CHECK(vfd_uuid_normalize(s, lower) < 0);
		return;
	}
	FUZZ_CHECK(strlen(s) == VFD_UUID_STRLEN - 1);
	FUZZ_CHECK(strspn(s, "0123456789abcdefABCDEF-") == VFD_UUID_STRLEN - 1);
	FUZZ_CHECK(vfd_uuid_normalize(s, lower) == 0);
	FUZZ_CHECK(same_ignoring_case(s, lower));
	FUZZ_CHECK(strspn(lower, "0123456789abcdef-") == VFD_UUID_STRLEN - 1);
}

static void check_vm_name(const char *s)
{
	if (!vfd_vm_name_is_valid(s))
		return;
	FUZZ_CHECK(strlen(s) >= 1 && strlen(s) <= VFD_VM_NAME_MAX);
	FUZZ_CHECK(strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/'));
	FUZZ_CHECK(isalnum((unsigned char)s[0]));
}

/* s is an exact-size heap copy: ASan catches any read past its NUL */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);

	if (!s)
		return 0;
	check_pci_address(s);
	check_uuid(s);
	check_vm_name(s);
	free(s);
	return 0;
}
