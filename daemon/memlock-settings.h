/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "vfiod/inventory.h"
#include "vfiod/memlock.h"

/* the memlock model's settings, relative to the root: headroom, mdev budgets */
#define MEMLOCK_SETTINGS_FILE "etc/vfiod/memlock.conf"

/*
 * Reads MEMLOCK_SETTINGS_FILE (vfd_memlock_config_parse()'s format, the
 * same file `vfioctl memlock --config` takes). No file: the defaults, and
 * 0. A file that cannot be read or parsed: the defaults as well, and the
 * error (< 0) with *ret_message saying why, for the caller to log: a bad
 * file must not stop vfiod, and the defaults are the larger limits.
 */
int memlock_settings_load(vfd_context *ctx, vfd_memlock_config **ret, char **ret_message);
