/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The memlock model's settings for the VMs vfiod accounts: the precise
 * policy's headroom and the pin budgets of mdev types whose vendor driver
 * the operator knows (e.g. "mdev-budget nvidia-63 = 512M"), read once at
 * start from etc/vfiod/memlock.conf.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memlock-settings.h"
#include "vfiod/util.h"

/* a settings file is a few lines: anything larger is not one */
#define MEMLOCK_SETTINGS_MAX_BYTES (64 * 1024)

int memlock_settings_load(vfd_context *ctx, vfd_memlock_config **ret, char **ret_message)
{
	_cleanup_(vfd_memlock_config_freep) vfd_memlock_config *cfg = NULL, *defaults = NULL;
	_cleanup_free_ char *text = NULL, *why = NULL;
	size_t size;
	int r, k;

	*ret_message = NULL;
	r = vfd_memlock_config_new(&defaults);
	if (r < 0)
		return r;

	r = vfd_root_read_string(ctx, MEMLOCK_SETTINGS_FILE, &text);
	if (r == -ENOENT) {
		*ret = TAKE_PTR(defaults);
		return 0;
	}
	if (r < 0) {
		k = asprintf(ret_message, "%s: cannot read: %s", MEMLOCK_SETTINGS_FILE, strerror(-r));
		goto use_defaults;
	}
	size = strlen(text);
	if (size > MEMLOCK_SETTINGS_MAX_BYTES) {
		r = -EFBIG;
		k = asprintf(ret_message, "%s: larger than %d bytes", MEMLOCK_SETTINGS_FILE,
			     MEMLOCK_SETTINGS_MAX_BYTES);
		goto use_defaults;
	}
	r = vfd_memlock_config_new(&cfg);
	if (r < 0)
		return r;
	r = vfd_memlock_config_parse(cfg, text, size, &why);
	if (r < 0) {
		k = asprintf(ret_message, "%s: %s", MEMLOCK_SETTINGS_FILE, why ? why : strerror(-r));
		goto use_defaults;
	}
	*ret = TAKE_PTR(cfg);
	return 0;

use_defaults:
	if (k < 0)
		*ret_message = NULL;
	*ret = TAKE_PTR(defaults);
	return r;
}
