/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host-side parts of lib/vfio-type1.c and lib/vfio-iommufd.c that need
 * no IOMMU: finding a device's cdev through sysfs, checking that a node is
 * the character device it claims to be, group node ownership, and the
 * errors of the ioctl wrappers on nodes that are not VFIO. The ioctls
 * themselves are exercised in the nested VM (tests/vfio-probe).
 *
 * Character device nodes are made with mknod (major 1, minor 3 is
 * /dev/null's number, so nothing real is touched); that needs root, and
 * those checks are skipped with a note otherwise.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sysfs-sim.h"
#include "vfd-test.h"
#include "vfiod/vfio.h"
#include "vfiod/inventory.h"

#define GPU "0000:01:00.0"
#define MDEV "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"

typedef struct fixture {
	char *root;
	vfd_context *ctx;
} fixture;

static fixture setup(void)
{
	fixture f;

	f.root = tree_copy(vfd_test_synthetic_host());
	ASSERT_OK(vfd_context_new(f.root, &f.ctx));
	return f;
}

static void teardown(fixture *f)
{
	vfd_context_free(f->ctx);
	vfd_test_rm_rf(f->root);
	free(f->root);
}

static unsigned count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned n = 0;

	ASSERT_NOT_NULL(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* A character device node root/rel with /dev/null's number; false without privilege. */
static bool make_null_node(const fixture *f, const char *rel)
{
	char path[4096];

	vfd_test_write_file(f->root, rel, "");
	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	unlink(path);
	if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) < 0) {
		if (errno == EPERM) {
			printf("# skipping the character device checks: mknod needs root\n");
			return false;
		}
		vfd_test_fail(__FILE__, __LINE__, "mknod(%s): %s", path, strerror(errno));
	}
	return true;
}

/* ---- device cdevs ---- */

static void test_cdev_path_from_sysfs(void)
{
	fixture f = setup();
	char *path = NULL;

	vfd_test_write_file(f.root, "sys/bus/pci/devices/" GPU "/vfio-dev/vfio3/dev", "511:3\n");
	ASSERT_OK(vfd_vfio_cdev_path(f.ctx, "pci", GPU, &path));
	ASSERT_STREQ(path, "dev/vfio/devices/vfio3");
	free(path);

	vfd_test_write_file(f.root, "sys/bus/mdev/devices/" MDEV "/vfio-dev/vfio4/dev", "511:4\n");
	path = NULL;
	ASSERT_OK(vfd_vfio_cdev_path(f.ctx, "mdev", MDEV, &path));
	ASSERT_STREQ(path, "dev/vfio/devices/vfio4");
	free(path);
	teardown(&f);
}

static void test_cdev_path_refusals(void)
{
	fixture f = setup();
	char *path = NULL;

	/* bound to a host driver: no vfio-dev directory */
	ASSERT_ERRNO(vfd_vfio_cdev_path(f.ctx, "pci", "0000:02:00.0", &path), -ENODEV);
	ASSERT_ERRNO(vfd_vfio_cdev_path(f.ctx, "pci", "0000:09:00.0", &path), -ENODEV);
	ASSERT_ERRNO(vfd_vfio_cdev_path(f.ctx, "..", GPU, &path), -EINVAL);
	ASSERT_ERRNO(vfd_vfio_cdev_path(f.ctx, "pci", "../../..", &path), -EINVAL);
	ASSERT_ERRNO(vfd_vfio_cdev_path(f.ctx, "pci", GPU, NULL), -EINVAL);

	/* a device registers one cdev; two entries are not something to guess from */
	vfd_test_write_file(f.root, "sys/bus/pci/devices/" GPU "/vfio-dev/vfio3/dev", "511:3\n");
	vfd_test_write_file(f.root, "sys/bus/pci/devices/" GPU "/vfio-dev/vfio5/dev", "511:5\n");
	ASSERT_ERRNO(vfd_vfio_cdev_path(f.ctx, "pci", GPU, &path), -ENODEV);
	ASSERT_NULL(path);
	teardown(&f);
}

static void test_cdev_open_checks_the_node(void)
{
	fixture f = setup();
	unsigned fds = count_open_fds();
	struct stat st;
	int fd = -1;

	vfd_test_write_file(f.root, "sys/bus/pci/devices/" GPU "/vfio-dev/vfio3/dev", "1:3\n");
	/* no node */
	ASSERT_ERRNO(vfd_vfio_cdev_open(f.ctx, "pci", GPU, &fd), -ENODEV);
	/* a plain file of that name is not the device */
	vfd_test_write_file(f.root, "dev/vfio/devices/vfio3", "");
	ASSERT_ERRNO(vfd_vfio_cdev_open(f.ctx, "pci", GPU, &fd), -ENODEV);
	ASSERT_EQ(fd, -1);
	ASSERT_EQ(count_open_fds(), fds);

	if (make_null_node(&f, "dev/vfio/devices/vfio3")) {
		ASSERT_OK(vfd_vfio_cdev_open(f.ctx, "pci", GPU, &fd));
		ASSERT_TRUE(fd >= 0);
		ASSERT_OK(fstat(fd, &st));
		ASSERT_EQ(st.st_rdev, makedev(1, 3));
		ASSERT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
		ASSERT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
		close(fd);

		/* sysfs names another device number: a stale node */
		fd = -1;
		vfd_test_write_file(f.root, "sys/bus/pci/devices/" GPU "/vfio-dev/vfio3/dev", "1:5\n");
		ASSERT_ERRNO(vfd_vfio_cdev_open(f.ctx, "pci", GPU, &fd), -ENODEV);
		ASSERT_EQ(fd, -1);
		ASSERT_EQ(count_open_fds(), fds);
	}
	teardown(&f);
}

/* ---- nodes that are not VFIO: the ioctls fail, nothing leaks ---- */

static void test_missing_nodes(void)
{
	fixture f = setup();
	int fd = -1;

	ASSERT_ERRNO(vfd_type1_container_open(f.ctx, &fd), -ENODEV);
	ASSERT_ERRNO(vfd_type1_group_open(f.ctx, 2, &fd), -ENODEV);
	ASSERT_ERRNO(vfd_iommufd_open(f.ctx, &fd), -ENODEV);
	ASSERT_EQ(vfd_iommufd_available(f.ctx), 0);
	ASSERT_EQ(fd, -1);
	teardown(&f);
}

static void test_wrong_nodes_fail_in_the_ioctl(void)
{
	fixture f = setup();
	unsigned fds = count_open_fds();
	vfd_type1 *t = NULL;
	int fd = -1;

	if (!make_null_node(&f, "dev/vfio/vfio") || !make_null_node(&f, "dev/vfio/2") ||
	    !make_null_node(&f, "dev/iommu")) {
		teardown(&f);
		return;
	}
	ASSERT_EQ(vfd_iommufd_available(f.ctx), 1);
	ASSERT_ERRNO(vfd_type1_container_open(f.ctx, &fd), -ENOTTY);
	ASSERT_ERRNO(vfd_type1_group_open(f.ctx, 2, &fd), -ENOTTY);
	ASSERT_ERRNO(vfd_iommufd_open(f.ctx, &fd), -ENOTTY);
	ASSERT_ERRNO(vfd_type1_new(f.ctx, &t), -ENOTTY);
	ASSERT_NULL(t);
	ASSERT_EQ(fd, -1);
	ASSERT_EQ(count_open_fds(), fds);
	teardown(&f);
}

static void test_ioctl_wrappers_check_arguments(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC), out = -1;
	bool mode;

	ASSERT_TRUE(fd >= 0);
	ASSERT_ERRNO(vfd_type1_group_set_container(-1, fd), -EBADF);
	ASSERT_ERRNO(vfd_type1_group_set_container(fd, -1), -EBADF);
	ASSERT_ERRNO(vfd_type1_container_set_iommu(-1), -EBADF);
	ASSERT_ERRNO(vfd_type1_group_get_device_fd(-1, GPU, &out), -EBADF);
	ASSERT_ERRNO(vfd_type1_group_get_device_fd(fd, "../x", &out), -EINVAL);
	ASSERT_ERRNO(vfd_type1_group_get_device_fd(fd, NULL, &out), -EINVAL);
	ASSERT_ERRNO(vfd_iommufd_set_rlimit_mode(-1, true), -EBADF);
	ASSERT_ERRNO(vfd_iommufd_get_rlimit_mode(fd, NULL), -EINVAL);
	/* a real descriptor that is not VFIO: the kernel's answer comes back */
	ASSERT_ERRNO(vfd_type1_container_set_iommu(fd), -ENOTTY);
	ASSERT_ERRNO(vfd_type1_group_set_container(fd, fd), -ENOTTY);
	ASSERT_ERRNO(vfd_type1_group_get_device_fd(fd, GPU, &out), -ENOTTY);
	ASSERT_ERRNO(vfd_iommufd_set_rlimit_mode(fd, true), -ENOTTY);
	ASSERT_ERRNO(vfd_iommufd_get_rlimit_mode(fd, &mode), -ENOTTY);
	ASSERT_EQ(out, -1);
	close(fd);
}

/* ---- group node ownership ---- */

static void test_group_grant_and_revoke(void)
{
	fixture f = setup();
	vfd_node_owner prev = { 42, 42 };
	char path[4096];
	struct stat st;

	ASSERT_ERRNO(vfd_type1_group_grant(f.ctx, 7, 1000, 1000, &prev), -ENODEV);
	vfd_test_write_file(f.root, "dev/vfio/7", "");
	ASSERT_ERRNO(vfd_type1_group_grant(f.ctx, 7, 1000, 1000, &prev), -ENOTTY);
	ASSERT_EQ(prev.uid, 42);

	if (make_null_node(&f, "dev/vfio/7")) {
		snprintf(path, sizeof(path), "%s/dev/vfio/7", f.root);
		ASSERT_OK(chown(path, 0, 0));
		ASSERT_OK(vfd_type1_group_grant(f.ctx, 7, 1000, 1001, &prev));
		ASSERT_EQ(prev.uid, 0);
		ASSERT_EQ(prev.gid, 0);
		ASSERT_OK(stat(path, &st));
		ASSERT_EQ(st.st_uid, 1000);
		ASSERT_EQ(st.st_gid, 1001);
		/* the mode stays what the kernel made it */
		ASSERT_EQ(st.st_mode & 07777, 0600);

		ASSERT_OK(vfd_type1_group_revoke(f.ctx, 7, &prev));
		ASSERT_OK(stat(path, &st));
		ASSERT_EQ(st.st_uid, 0);
		ASSERT_EQ(st.st_gid, 0);
	}
	ASSERT_ERRNO(vfd_type1_group_revoke(f.ctx, 7, NULL), -EINVAL);
	teardown(&f);
}

VFD_TEST_MAIN(
	VFD_TEST(test_cdev_path_from_sysfs),
	VFD_TEST(test_cdev_path_refusals),
	VFD_TEST(test_cdev_open_checks_the_node),
	VFD_TEST(test_missing_nodes),
	VFD_TEST(test_wrong_nodes_fail_in_the_ioctl),
	VFD_TEST(test_ioctl_wrappers_check_arguments),
	VFD_TEST(test_group_grant_and_revoke),
)
