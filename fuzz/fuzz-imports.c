/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The files of other tools that vfiod imports (lib/config-import.c): an
 * mdevctl definition etc/mdevctl.d/<parent>/<uuid> and a driverctl
 * override etc/driverctl.d/pci-<address>. The file's name is as untrusted
 * as its contents, so the input carries both: the first line is the name
 * below etc/ ("mdevctl.d/PARENT/UUID" or "driverctl.d/NAME"; any other
 * first line is tried both ways), the rest the file's text.
 */
#include "fuzz-util.h"
#include "vfiod/config.h"

static void mdevctl(const char *parent, const char *uuid, const char *text)
{
	vfd_config_mdev m = {};
	vfd_op_error e = {};
	int r;

	r = vfd_config_parse_mdevctl(parent, uuid, text, "etc/mdevctl.d/fuzz", &e, &m);
	if (r < 0) {
		FUZZ_CHECK(r == -ENOMEM || e.error == r);
		return;
	}
	FUZZ_CHECK(vfd_uuid_validate(m.uuid) == 0 && strspn(m.uuid, "0123456789abcdef-") == 36);
	FUZZ_CHECK(strcmp(m.parent, parent) == 0 && fuzz_path_stays_below(m.parent) &&
		   !strchr(m.parent, '/'));
	FUZZ_CHECK(m.type && fuzz_path_stays_below(m.type) && !strchr(m.type, '/'));
	for (size_t k = 0; k < m.n_attrs; k++)
		FUZZ_CHECK(fuzz_path_stays_below(m.attrs[k].name) && m.attrs[k].value);
	vfd_config_mdev_done(&m);
}

static void driverctl(const char *name, const char *text)
{
	vfd_config_binding b = {};
	vfd_op_error e = {};
	vfd_pci_address a;
	int r;

	r = vfd_config_parse_driverctl(name, text, "etc/driverctl.d/fuzz", &e, &b);
	if (r < 0) {
		FUZZ_CHECK(r == -ENOMEM || e.error == r);
		return;
	}
	if (r == 0)
		return;
	FUZZ_CHECK(r == 1);
	FUZZ_CHECK(strncmp(text, "vfio-pci", 8) == 0 && (!text[8] || strcmp(text + 8, "\n") == 0));
	FUZZ_CHECK(vfd_pci_address_parse(b.name, &a) == 0 && vfd_pci_address_compare(&a, &b.address) == 0);
	vfd_config_binding_done(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = fuzz_string(data, size);
	char *text, *name, *slash;

	if (!s)
		return 0;
	name = fuzz_first_line(s, &text);

	if (strncmp(name, "driverctl.d/", 12) == 0) {
		driverctl(name + 12, text);
		return 0;
	}
	if (strncmp(name, "mdevctl.d/", 10) == 0)
		name += 10;
	else
		driverctl(name, text);
	/* PARENT/UUID; without a slash the whole line is tried as both */
	slash = strrchr(name, '/');
	if (slash) {
		*slash = '\0';
		mdevctl(name, slash + 1, text);
	} else
		mdevctl(name, name, text);
	return 0;
}
