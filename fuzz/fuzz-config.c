/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /etc/vfiod/vfiod.json (lib/config-parse.c): strict, all or nothing.
 * What it accepts must be usable as it stands: canonical device names,
 * valid lower-case UUIDs, an error that says where when it refuses.
 */
#include "fuzz-util.h"
#include "vfiod/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(vfd_config_freep) vfd_config *c = NULL;
	_cleanup_free_ char *text = fuzz_string(data, size);
	vfd_op_error e = {};
	int r;

	if (!text || vfd_config_new(&c) < 0)
		return 0;
	r = vfd_config_parse_vfiod(c, text, VFD_CONFIG_FILE, &e);
	if (r < 0) {
		FUZZ_CHECK(r == -ENOMEM || (e.error == r && strcmp(e.subject, VFD_CONFIG_FILE) == 0));
		return 0;
	}
	FUZZ_CHECK(!vfd_op_error_is_set(&e));
	for (size_t i = 0; i < c->n_bindings; i++) {
		vfd_pci_address a;

		FUZZ_CHECK(vfd_pci_address_parse(c->bindings[i].name, &a) == 0);
		FUZZ_CHECK(vfd_pci_address_compare(&a, &c->bindings[i].address) == 0);
		FUZZ_CHECK(vfd_config_find_binding(c, c->bindings[i].name));
	}
	for (size_t i = 0; i < c->n_mdevs; i++) {
		const vfd_config_mdev *m = &c->mdevs[i];

		FUZZ_CHECK(vfd_uuid_validate(m->uuid) == 0);
		FUZZ_CHECK(m->parent && !strchr(m->parent, '/') && m->type && !strchr(m->type, '/'));
		for (size_t k = 0; k < m->n_attrs; k++)
			FUZZ_CHECK(fuzz_path_stays_below(m->attrs[k].name) && m->attrs[k].value);
		FUZZ_CHECK(vfd_config_find_mdev(c, m->uuid));
	}
	return 0;
}
