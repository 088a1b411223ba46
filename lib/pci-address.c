/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI addresses "DDDD:BB:SS.F". The parser is strict because addresses
 * arrive from D-Bus callers and end up as sysfs path components: whatever
 * it accepts must be exactly one canonical device name.
 */
#include <stdio.h>
#include <string.h>

#include "vfiod/inventory.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses exactly n hex digits at s. */
static int parse_hex(const char *s, size_t n, unsigned *ret)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		int d = hex_digit(s[i]);

		if (d < 0)
			return -EINVAL;
		v = (v << 4) | (unsigned)d;
	}
	*ret = v;
	return 0;
}

int vfd_pci_address_parse(const char *s, vfd_pci_address *ret)
{
	unsigned domain, bus, slot, function;

	if (!s || !ret)
		return -EINVAL;
	/* strnlen: an overlong string is refused without reading all of it */
	if (strnlen(s, VFD_PCI_ADDRESS_STRLEN) != VFD_PCI_ADDRESS_STRLEN - 1)
		return -EINVAL;
	if (s[4] != ':' || s[7] != ':' || s[10] != '.')
		return -EINVAL;
	if (parse_hex(s, 4, &domain) < 0 || parse_hex(s + 5, 2, &bus) < 0 ||
	    parse_hex(s + 8, 2, &slot) < 0 || parse_hex(s + 11, 1, &function) < 0)
		return -EINVAL;
	if (slot > 0x1f || function > 7)
		return -EINVAL;

	*ret = (vfd_pci_address){
		.domain = (uint16_t)domain,
		.bus = (uint8_t)bus,
		.slot = (uint8_t)slot,
		.function = (uint8_t)function,
	};
	return 0;
}

char *vfd_pci_address_format(const vfd_pci_address *a, char *buf)
{
	if (!a || !buf)
		return NULL;
	snprintf(buf, VFD_PCI_ADDRESS_STRLEN, "%04x:%02x:%02x.%x",
		 a->domain, a->bus, a->slot & 0x1fu, a->function & 7u);
	return buf;
}

int vfd_pci_address_compare(const vfd_pci_address *a, const vfd_pci_address *b)
{
	if (a->domain != b->domain)
		return a->domain < b->domain ? -1 : 1;
	if (a->bus != b->bus)
		return a->bus < b->bus ? -1 : 1;
	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	if (a->function != b->function)
		return a->function < b->function ? -1 : 1;
	return 0;
}
