/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by lib/config*.c only: JSON helpers both file formats use. */
#pragma once

#include <json-c/json.h>

#include "vfiod/config.h"

/*
 * Parses text as exactly one JSON object (trailing bytes other than
 * whitespace are an error). -EINVAL with error set.
 */
int vfd_config_json_parse(const char *text, const char *origin, vfd_op_error *error,
			  json_object **ret);

/*
 * mdevctl's attribute list: an array of objects of one key each, in
 * order. Names must be relative paths without "..". Appends nothing on
 * failure.
 */
int vfd_config_parse_attrs(json_object *a, const char *origin, vfd_op_error *error,
			   vfd_mdev_attr **ret, size_t *ret_n);

/*
 * vfiod.json's "sriov" array: objects {"device": PF, "num_vfs": N}, each
 * PF once. A new array in *ret (n entries) or -EINVAL with error set.
 */
int vfd_config_parse_sriov(json_object *a, const char *origin, vfd_op_error *error,
			   vfd_config_sriov **ret, size_t *ret_n);
