/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Creating and removing mediated devices, see lib/include/vfiod/mdev-ctl.h.
 *
 * Kernel side (drivers/vfio/mdev/mdev_sysfs.c, mdev_core.c in Linux 6.12):
 * create_store() takes 36 or 37 bytes (the UUID, maybe a newline) and
 * creates the device synchronously; it answers -EEXIST for a UUID in use
 * and -EUSERS when a parent without its own get_available() has no
 * instances left. remove_store() unregisters the device synchronously.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vfd-internal.h"
#include "vfiod/fault.h"
#include "vfiod/mdev-ctl.h"
#include "vfiod/inventory.h"

#define MDEV_BUS_CLASS_DIR "sys/class/mdev_bus"
#define MDEV_DEVICES_DIR "sys/bus/mdev/devices"

int vfd_mdev_uuid_generate(char ret[VFD_UUID_STRLEN])
{
	uint8_t b[16];
	size_t done = 0;

	if (!ret)
		return -EINVAL;
	while (done < sizeof(b)) {
		ssize_t n = getrandom(b + done, sizeof(b) - done, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		done += (size_t)n;
	}

	/* RFC 9562: version 4 (random), variant 10 */
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);

	snprintf(ret, VFD_UUID_STRLEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
		 b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* "a/b" with every part a plain component; no leading, trailing or double '/' */
static bool attr_name_is_valid(const char *name)
{
	const char *p = name;

	if (!name || name[0] == '\0' || strlen(name) > 255)
		return false;
	for (;;) {
		size_t len = strcspn(p, "/");

		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len;
		if (*p == '\0')
			return true;
		p++;
	}
}

/*
 * An attribute is a file of the mdev itself: "remove" is not one to set,
 * and no part of the name may be a link out of the device (mdev_type,
 * driver, subsystem, iommu_group), or "mdev_type/create" would make a
 * second device.
 */
static int check_attr_path(vfd_context *ctx, const char *uuid, const char *name)
{
	char path[VFD_PATH_MAX];
	size_t len;
	int r;

	if (strcmp(name, "remove") == 0)
		return -EINVAL;
	for (len = strcspn(name, "/");; len += 1 + strcspn(name + len + 1, "/")) {
		_cleanup_free_ char *target = NULL;

		r = vfd_pathf(path, sizeof(path), MDEV_DEVICES_DIR "/%s/%.*s", uuid, (int)len, name);
		if (r < 0)
			return r;
		r = vfd_root_readlink(ctx, path, &target);
		if (r >= 0)
			return -EINVAL;
		if (r != -EINVAL)
			/* EINVAL: not a link; ENOENT: the caller reports the missing file */
			return r == -ENOENT ? 0 : r;
		if (name[len] == '\0')
			return 0;
	}
}

static int mdev_exists(vfd_context *ctx, const char *uuid)
{
	char path[VFD_PATH_MAX];
	int r;

	r = vfd_pathf(path, sizeof(path), MDEV_DEVICES_DIR "/%s", uuid);
	if (r < 0)
		return r;
	return vfd_root_exists(ctx, path);
}

static int write_remove(vfd_context *ctx, const char *uuid)
{
	char path[VFD_PATH_MAX];
	int r;

	r = vfd_pathf(path, sizeof(path), MDEV_DEVICES_DIR "/%s/remove", uuid);
	if (r < 0)
		return r;
	return vfd_root_write_string(ctx, path, "1");
}

/* Checks that parent offers type_id with an instance left. */
static int check_type(vfd_context *ctx, const char *parent, const char *type_id, const char *dir,
		      vfd_op_error *error)
{
	char path[VFD_PATH_MAX];
	uint64_t available;
	int r;

	r = vfd_pathf(path, sizeof(path), MDEV_BUS_CLASS_DIR "/%s", parent);
	if (r < 0)
		return vfd_op_error_set(error, -EINVAL, parent, "parent name too long");
	r = vfd_root_exists(ctx, path);
	if (r < 0)
		return vfd_op_error_set(error, r, parent, "cannot look the parent up: %s", strerror(-r));
	if (r == 0)
		return vfd_op_error_set(error, -ENODEV, parent, "no mdev parent device of this name");

	r = vfd_root_exists(ctx, dir);
	if (r < 0)
		return vfd_op_error_set(error, r, type_id, "cannot look the type up: %s", strerror(-r));
	if (r == 0)
		return vfd_op_error_set(error, -ENOENT, type_id, "parent %s offers no mdev type "
					"of this name", parent);

	r = vfd_pathf(path, sizeof(path), "%s/available_instances", dir);
	if (r < 0)
		return vfd_op_error_set(error, r, type_id, "path too long");
	r = vfd_root_read_u64(ctx, path, &available);
	if (r < 0)
		return vfd_op_error_set(error, r, type_id, "cannot read available_instances: %s",
					strerror(-r));
	if (available == 0)
		return vfd_op_error_set(error, -ENOSPC, type_id, "no instances of this type "
					"are available on %s", parent);
	return 0;
}

/* Writes the attributes in order; the first failure ends it. */
static int write_attrs(vfd_context *ctx, const char *uuid, const vfd_mdev_attr *attrs,
		       size_t n_attrs, vfd_op_error *error)
{
	size_t i;

	for (i = 0; i < n_attrs; i++) {
		char path[VFD_PATH_MAX];
		int r;

		r = vfd_pathf(path, sizeof(path), MDEV_DEVICES_DIR "/%s/%s", uuid, attrs[i].name);
		if (r < 0)
			return vfd_op_error_set(error, -EINVAL, uuid, "attribute name %s too long",
						attrs[i].name);
		r = check_attr_path(ctx, uuid, attrs[i].name);
		if (r == -EINVAL)
			return vfd_op_error_set(error, r, uuid, "%s is not an attribute vfiod sets",
						attrs[i].name);
		if (r < 0)
			return vfd_op_error_set(error, r, uuid, "cannot look attribute %s up: %s",
						attrs[i].name, strerror(-r));
		r = vfd_root_exists(ctx, path);
		if (r < 0)
			return vfd_op_error_set(error, r, uuid, "cannot look attribute %s up: %s",
						attrs[i].name, strerror(-r));
		if (r == 0)
			return vfd_op_error_set(error, -EINVAL, uuid, "this mdev has no attribute %s",
						attrs[i].name);

		r = vfd_fault_check(ctx, VFD_FAULT_MDEV_ATTR);
		if (r < 0)
			return vfd_op_error_set(error, r, uuid, "injected test fault %s on attribute "
						"%s: %s", vfd_fault_kind_to_string(VFD_FAULT_MDEV_ATTR),
						attrs[i].name, strerror(-r));

		r = vfd_root_write_string(ctx, path, attrs[i].value);
		if (r < 0)
			return vfd_op_error_set(error, r, uuid, "writing attribute %s failed: %s",
						attrs[i].name, strerror(-r));
	}
	return 0;
}

int vfd_mdev_create(vfd_context *ctx, const char *parent, const char *type_id, const char *uuid,
		    const vfd_mdev_attr *attrs, size_t n_attrs, vfd_op_error *error,
		    char ret_uuid[VFD_UUID_STRLEN])
{
	char id[VFD_UUID_STRLEN], dir[VFD_PATH_MAX], path[VFD_PATH_MAX];
	size_t i;
	int r;

	if (!ctx || !ret_uuid || (n_attrs > 0 && !attrs))
		return vfd_op_error_set(error, -EINVAL, NULL, "invalid arguments");
	if (!vfd_name_is_component(parent))
		return vfd_op_error_set(error, -EINVAL, NULL, "invalid mdev parent name");
	if (!vfd_name_is_component(type_id))
		return vfd_op_error_set(error, -EINVAL, parent, "invalid mdev type name");
	for (i = 0; i < n_attrs; i++) {
		if (!attr_name_is_valid(attrs[i].name))
			return vfd_op_error_set(error, -EINVAL, attrs[i].name,
						"invalid mdev attribute name");
		if (!attrs[i].value)
			return vfd_op_error_set(error, -EINVAL, attrs[i].name,
						"mdev attribute without a value");
	}

	if (uuid) {
		if (vfd_uuid_validate(uuid) < 0)
			return vfd_op_error_set(error, -EINVAL, NULL, "invalid UUID");
		for (i = 0; i < VFD_UUID_STRLEN; i++)
			id[i] = (char)tolower((unsigned char)uuid[i]);
	} else {
		r = vfd_mdev_uuid_generate(id);
		if (r < 0)
			return vfd_op_error_set(error, r, NULL, "cannot generate a UUID: %s", strerror(-r));
	}

	r = vfd_pathf(dir, sizeof(dir), MDEV_BUS_CLASS_DIR "/%s/mdev_supported_types/%s",
		      parent, type_id);
	if (r < 0)
		return vfd_op_error_set(error, -EINVAL, type_id, "parent or type name too long");
	r = check_type(ctx, parent, type_id, dir, error);
	if (r < 0)
		return r;

	r = mdev_exists(ctx, id);
	if (r < 0)
		return vfd_op_error_set(error, r, id, "cannot look the mdev up: %s", strerror(-r));
	if (r > 0)
		return vfd_op_error_set(error, -EEXIST, id, "an mdev with this UUID exists already");

	r = vfd_pathf(path, sizeof(path), "%s/create", dir);
	if (r < 0)
		return vfd_op_error_set(error, r, type_id, "path too long");
	r = vfd_root_write_string(ctx, path, id);
	if (r == -EUSERS)
		/* the last instance went between the check and the write */
		return vfd_op_error_set(error, -ENOSPC, type_id, "no instances of this type "
					"are available on %s", parent);
	if (r == -EEXIST)
		return vfd_op_error_set(error, -EEXIST, id, "an mdev with this UUID exists already");
	if (r < 0)
		return vfd_op_error_set(error, r, type_id, "creating the mdev on %s failed: %s",
					parent, strerror(-r));

	r = mdev_exists(ctx, id);
	if (r <= 0)
		return vfd_op_error_set(error, r < 0 ? r : -EIO, id, "the kernel accepted the UUID "
					"but no mdev appeared");

	r = write_attrs(ctx, id, attrs, n_attrs, error);
	if (r < 0) {
		int q = write_remove(ctx, id);

		if (q < 0 && error) {
			size_t len = strlen(error->message);

			snprintf(error->message + len, sizeof(error->message) - len,
				 "; removing the mdev again also failed: %s", strerror(-q));
		}
		return r;
	}

	memcpy(ret_uuid, id, VFD_UUID_STRLEN);
	return 0;
}

int vfd_mdev_remove(vfd_context *ctx, const char *uuid, vfd_op_error *error)
{
	char id[VFD_UUID_STRLEN];
	size_t i;
	int r;

	if (!ctx)
		return vfd_op_error_set(error, -EINVAL, NULL, "invalid arguments");
	if (vfd_uuid_validate(uuid) < 0)
		return vfd_op_error_set(error, -EINVAL, NULL, "invalid UUID");
	for (i = 0; i < VFD_UUID_STRLEN; i++)
		id[i] = (char)tolower((unsigned char)uuid[i]);

	r = mdev_exists(ctx, id);
	if (r < 0)
		return vfd_op_error_set(error, r, id, "cannot look the mdev up: %s", strerror(-r));
	if (r == 0)
		return vfd_op_error_set(error, -ENODEV, id, "no mdev with this UUID");

	r = write_remove(ctx, id);
	if (r < 0)
		return vfd_op_error_set(error, r, id, "removing the mdev failed: %s", strerror(-r));

	r = mdev_exists(ctx, id);
	if (r < 0)
		return vfd_op_error_set(error, r, id, "cannot look the mdev up: %s", strerror(-r));
	if (r > 0)
		return vfd_op_error_set(error, -EIO, id, "the kernel accepted the removal but the "
					"mdev is still there");
	return 0;
}

void vfd_mdev_attrs_free(vfd_mdev_attr *attrs, size_t n)
{
	for (size_t i = 0; attrs && i < n; i++) {
		free((char *) attrs[i].name);
		free((char *) attrs[i].value);
	}
	free(attrs);
}
