/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DEVICE_USERS: the registration references of a PCI function's struct
 * vfio_device follow every open and close of its cdev, and every function
 * that is not a VFIO device is refused with its documented errno.
 *
 * Needs a PCI function bound to vfio-pci with a device cdev, named by
 * VFD_MM_TEST_VFIO_PCI (tests/vm/cases/vm-reaccount-iommufd.sh binds edu
 * and sets it); skipped without.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/vfiod_mm.h>

#include "mm-harness.h"
#include "mm-test.h"

FIXTURE(device_users) {
	vfd_mm_client *c;
	const char *device;
	char cdev[PATH_MAX];
};

FIXTURE_SETUP(device_users)
{
	vfd_mm_device_users u;
	int r;

	r = vfd_mm_client_new(&self->c);
	if (r == -ENOENT)
		SKIP("the vfiod_mm family is not registered (module not loaded)");
	ASSERT_OK(r);
	self->device = getenv("VFD_MM_TEST_VFIO_PCI");
	if (!self->device || !*self->device)
		SKIP("VFD_MM_TEST_VFIO_PCI names no PCI function bound to vfio-pci");
	ASSERT_OK(vfd_mm_device_users_get(self->c, self->device, &u));
	snprintf(self->cdev, sizeof(self->cdev), "/dev/vfio/devices/%s", u.vfio_dev);
	if (access(self->cdev, F_OK) < 0)
		SKIP("no device cdev (kernel without VFIO_DEVICE_CDEV)");
}

FIXTURE_TEARDOWN(device_users)
{
	vfd_mm_client_free(self->c);
}

TEST_F(device_users, registration_alone)
{
	vfd_mm_device_users u;

	ASSERT_OK(vfd_mm_device_users_get(self->c, self->device, &u));
	EXPECT_EQ(strcmp(u.name, self->device), 0);
	EXPECT_EQ(strcmp(u.driver, "vfio-pci"), 0);
	EXPECT_EQ(strncmp(u.vfio_dev, "vfio", 4), 0);
	EXPECT_EQ(u.registrations, 1u);
	EXPECT_EQ(u.open_count, 0u);
	EXPECT_TRUE(vfd_mm_device_users_none(&u));
}

TEST_F(device_users, every_open_file_counts_until_closed)
{
	vfd_mm_device_users u;
	int a, b, dup_a;

	a = open(self->cdev, O_RDWR | O_CLOEXEC);
	ASSERT_GE(a, 0);
	ASSERT_OK(vfd_mm_device_users_get(self->c, self->device, &u));
	EXPECT_EQ(u.registrations, 2u);
	EXPECT_FALSE(vfd_mm_device_users_none(&u));

	b = open(self->cdev, O_RDWR | O_CLOEXEC);
	ASSERT_GE(b, 0);
	ASSERT_OK(vfd_mm_device_users_get(self->c, self->device, &u));
	EXPECT_EQ(u.registrations, 3u);
	/* opened, not bound to an iommufd: not open for use */
	EXPECT_EQ(u.open_count, 0u);

	/* a duplicate shares its file: no new reference, and closing it releases none */
	dup_a = dup(a);
	ASSERT_GE(dup_a, 0);
	ASSERT_OK(vfd_mm_device_users_get(self->c, self->device, &u));
	EXPECT_EQ(u.registrations, 3u);
	close(a);
	ASSERT_OK(vfd_mm_device_users_get(self->c, self->device, &u));
	EXPECT_EQ(u.registrations, 3u);

	close(dup_a);
	ASSERT_OK(vfd_mm_device_users_get(self->c, self->device, &u));
	EXPECT_EQ(u.registrations, 2u);
	close(b);
	ASSERT_OK(vfd_mm_device_users_get(self->c, self->device, &u));
	EXPECT_EQ(u.registrations, 1u);
	EXPECT_TRUE(vfd_mm_device_users_none(&u));
}

/* a PCI function with (want_driver) or without a driver other than vfio-pci */
static int find_function(bool want_driver, char *ret, size_t size)
{
	struct dirent *de;
	DIR *d;
	int r = -ENOENT;

	d = opendir("/sys/bus/pci/devices");
	if (!d)
		return -errno;
	while (r < 0 && (de = readdir(d))) {
		char link[PATH_MAX], target[PATH_MAX];
		const char *driver;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/driver", de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0) {
			if (!want_driver) {
				snprintf(ret, size, "%s", de->d_name);
				r = 0;
			}
			continue;
		}
		target[n] = '\0';
		driver = strrchr(target, '/');
		driver = driver ? driver + 1 : target;
		if (want_driver && strcmp(driver, "vfio-pci") != 0) {
			snprintf(ret, size, "%s", de->d_name);
			r = 0;
		}
	}
	closedir(d);
	return r;
}

TEST_F(device_users, refusals)
{
	char other[NAME_MAX + 1], too_long[VFD_MM_DEV_NAME_MAX + 1];
	vfd_mm_device_users u;

	EXPECT_ERRNO(vfd_mm_device_users_get(self->c, "0000:ff:1f.7", &u), ENODEV);
	EXPECT_NE(vfd_mm_client_last_error(self->c), NULL);
	if (find_function(true, other, sizeof(other)) == 0) {
		TH_LOG("a function on another driver: %s", other);
		EXPECT_ERRNO(vfd_mm_device_users_get(self->c, other, &u), EOPNOTSUPP);
	}
	if (find_function(false, other, sizeof(other)) == 0) {
		TH_LOG("a function without a driver: %s", other);
		EXPECT_ERRNO(vfd_mm_device_users_get(self->c, other, &u), EOPNOTSUPP);
	}
	/* the client refuses what the kernel's policy would */
	memset(too_long, 'a', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	EXPECT_ERRNO(vfd_mm_device_users_get(self->c, too_long, &u), EINVAL);
	EXPECT_ERRNO(vfd_mm_device_users_get(self->c, "", &u), EINVAL);
}

TEST_F(device_users, policy_refusals)
{
	char buf[128], name[VFD_MM_DEV_NAME_MAX + 8];
	uint32_t handle = 1;
	size_t off = 0;
	mm_raw *raw;

	ASSERT_OK(mm_raw_open(&raw));
	/* no DEV_NAME */
	EXPECT_EQ(mm_raw_request(raw, VFIOD_MM_CMD_DEVICE_USERS, 0, NULL, 0), -EINVAL);
	/* another command's attribute */
	mm_attr(buf, sizeof(buf), &off, VFIOD_MM_A_HANDLE, &handle, sizeof(handle));
	EXPECT_EQ(mm_raw_request(raw, VFIOD_MM_CMD_DEVICE_USERS, 0, buf, off), -EINVAL);
	/* a name without its NUL within VFIOD_MM_DEV_NAME_MAX bytes */
	memset(name, 'a', sizeof(name));
	off = 0;
	mm_attr(buf, sizeof(buf), &off, VFIOD_MM_A_DEV_NAME, name, sizeof(name));
	EXPECT_EQ(mm_raw_request(raw, VFIOD_MM_CMD_DEVICE_USERS, 0, buf, off), -EINVAL);
	/* the same request, well formed, reaches the lookup */
	off = 0;
	mm_attr(buf, sizeof(buf), &off, VFIOD_MM_A_DEV_NAME, self->device,
		(uint16_t)(strlen(self->device) + 1));
	EXPECT_EQ(mm_raw_request(raw, VFIOD_MM_CMD_DEVICE_USERS, 0, buf, off), 0);
	mm_raw_close(raw);
}
