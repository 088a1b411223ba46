/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/host-root.c: which PCI functions carry the host's root file system,
 * against fixture sysfs trees laid out as the kernel lays them out: a
 * partition below its disk below its controller below a bridge, dm on a
 * partition, LVM on md on two controllers, and NVMe native multipath,
 * whose block devices sit below nvme-subsystem, not below a PCI function.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "vfd-test.h"
#include "vfiod/host-root.h"

#define NVME_PART "pci0000:00/0000:00:01.0/0000:01:00.0/nvme/nvme0/nvme0n1/nvme0n1p2"
#define SDA1 "pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1"
#define SDB1 "pci0000:00/0000:00:1c.0/0000:03:00.0/ata5/host4/target4:0:0/4:0:0:0/block/sdb/sdb1"

typedef struct tree {
	char *tmp;
	vfd_context *ctx;
} tree;

static void tree_new(tree *t)
{
	t->tmp = vfd_test_mkdtemp();

	/* nvme0n1p2 (259:2): a partition of a namespace of 0000:01:00.0, behind bridge 0000:00:01.0 */
	vfd_test_write_file(t->tmp, "sys/devices/" NVME_PART "/dev", "259:2\n");
	vfd_test_symlink(t->tmp, "sys/dev/block/259:2", "../../devices/" NVME_PART);
	vfd_test_symlink(t->tmp, "sys/class/block/nvme0n1p2", "../../devices/" NVME_PART);

	/* dm-0 (254:0): a LUKS or LVM volume on nvme0n1p2 */
	vfd_test_mkdir(t->tmp, "sys/devices/virtual/block/dm-0/slaves");
	vfd_test_symlink(t->tmp, "sys/dev/block/254:0", "../../devices/virtual/block/dm-0");
	vfd_test_symlink(t->tmp, "sys/devices/virtual/block/dm-0/slaves/nvme0n1p2",
			 "../../../../" NVME_PART);

	/* dm-1 (254:1): LVM on md0 (9:0), a mirror of sda1 (SATA 00:17.0) and sdb1 (an HBA 03:00.0) */
	vfd_test_mkdir(t->tmp, "sys/devices/virtual/block/dm-1/slaves");
	vfd_test_symlink(t->tmp, "sys/dev/block/254:1", "../../devices/virtual/block/dm-1");
	vfd_test_symlink(t->tmp, "sys/devices/virtual/block/dm-1/slaves/md0", "../../md0");
	vfd_test_symlink(t->tmp, "sys/class/block/md0", "../../devices/virtual/block/md0");
	vfd_test_mkdir(t->tmp, "sys/devices/virtual/block/md0/slaves");
	vfd_test_symlink(t->tmp, "sys/devices/virtual/block/md0/slaves/sda1", "../../../../" SDA1);
	vfd_test_symlink(t->tmp, "sys/devices/virtual/block/md0/slaves/sdb1", "../../../../" SDB1);
	vfd_test_symlink(t->tmp, "sys/class/block/sda1", "../../devices/" SDA1);
	vfd_test_symlink(t->tmp, "sys/class/block/sdb1", "../../devices/" SDB1);

	/*
	 * nvme1n1p1 (259:7) with native multipath (CONFIG_NVME_MULTIPATH, a
	 * controller that reports CMIC): the disk is nvme-subsys1's, whose
	 * controller nvme1 is PCI function 0000:05:00.0 (behind 00:1d.0)
	 */
	vfd_test_write_file(t->tmp, "sys/devices/virtual/nvme-subsystem/nvme-subsys1/nvme1n1/nvme1n1p1/dev",
			    "259:7\n");
	vfd_test_symlink(t->tmp, "sys/dev/block/259:7",
			 "../../devices/virtual/nvme-subsystem/nvme-subsys1/nvme1n1/nvme1n1p1");
	vfd_test_symlink(t->tmp, "sys/devices/virtual/nvme-subsystem/nvme-subsys1/nvme1",
			 "../../../pci0000:00/0000:00:1d.0/0000:05:00.0/nvme/nvme1");
	vfd_test_mkdir(t->tmp, "sys/devices/pci0000:00/0000:00:1d.0/0000:05:00.0/nvme/nvme1/nvme1c1n1");
	vfd_test_symlink(t->tmp, "sys/class/nvme-subsystem/nvme-subsys1",
			 "../../devices/virtual/nvme-subsystem/nvme-subsys1");

	ASSERT_OK(vfd_context_new(t->tmp, &t->ctx));
}

static void tree_free(tree *t)
{
	vfd_context_free(t->ctx);
	vfd_test_rm_rf(t->tmp);
	free(t->tmp);
}

static int carries(tree *t, const char *pci, dev_t root)
{
	dev_t got = makedev(0, 0);
	int r = vfd_pci_carries_host_root(t->ctx, pci, &root, 1, &got);

	if (r > 0)
		ASSERT_EQ(got, root);
	return r;
}

/* sys/dev/block of a partition resolves below its disk, controller and bridge */
static void test_partition_behind_a_bridge(void)
{
	tree t;

	tree_new(&t);
	ASSERT_EQ(carries(&t, "0000:01:00.0", makedev(259, 2)), 1);
	ASSERT_EQ(carries(&t, "0000:00:01.0", makedev(259, 2)), 1);
	/* no false positive: a sibling function, a prefix of the address, another controller */
	ASSERT_EQ(carries(&t, "0000:01:00.1", makedev(259, 2)), 0);
	ASSERT_EQ(carries(&t, "0000:01:00", makedev(259, 2)), 0);
	ASSERT_EQ(carries(&t, "0000:00:17.0", makedev(259, 2)), 0);
	tree_free(&t);
}

static void test_dm_on_a_partition(void)
{
	tree t;

	tree_new(&t);
	ASSERT_EQ(carries(&t, "0000:01:00.0", makedev(254, 0)), 1);
	ASSERT_EQ(carries(&t, "0000:03:00.0", makedev(254, 0)), 0);
	tree_free(&t);
}

/* LVM on md on two controllers: each controller carries the root */
static void test_lvm_on_md_on_two_controllers(void)
{
	tree t;

	tree_new(&t);
	ASSERT_EQ(carries(&t, "0000:00:17.0", makedev(254, 1)), 1);
	ASSERT_EQ(carries(&t, "0000:03:00.0", makedev(254, 1)), 1);
	ASSERT_EQ(carries(&t, "0000:00:1c.0", makedev(254, 1)), 1);
	ASSERT_EQ(carries(&t, "0000:01:00.0", makedev(254, 1)), 0);
	/* md0 itself, as sys/dev/block/9:0 would name it */
	vfd_test_symlink(t.tmp, "sys/dev/block/9:0", "../../devices/virtual/block/md0");
	ASSERT_EQ(carries(&t, "0000:03:00.0", makedev(9, 0)), 1);
	tree_free(&t);
}

/* a multipath NVMe disk sits below nvme-subsystem: its controllers carry it */
static void test_nvme_native_multipath(void)
{
	tree t;

	tree_new(&t);
	ASSERT_EQ(carries(&t, "0000:05:00.0", makedev(259, 7)), 1);
	ASSERT_EQ(carries(&t, "0000:00:1d.0", makedev(259, 7)), 1);
	ASSERT_EQ(carries(&t, "0000:01:00.0", makedev(259, 7)), 0);
	tree_free(&t);
}

/*
 * btrfs: st_dev of "/" is anonymous (major 0), so the guard looked at no
 * disk at all. Its members, from sys/fs/btrfs/FSID/devices, are the disks:
 * a raid1 on nvme0n1p2 and sda1 carries the root on both controllers.
 */
#define FSID "5f0c7d1e-3a2b-4c8d-9e6f-0a1b2c3d4e5f"
static void test_btrfs_members(void)
{
	dev_t devs[VFD_HOST_ROOT_DEVS_MAX] = {}, anon = makedev(0, 35);
	size_t n = 0;
	tree t;

	tree_new(&t);
	vfd_test_write_file(t.tmp, "sys/devices/" SDA1 "/dev", "8:1\n");
	vfd_test_symlink(t.tmp, "sys/fs/btrfs/" FSID "/devices/nvme0n1p2", "../../../../devices/" NVME_PART);
	vfd_test_symlink(t.tmp, "sys/fs/btrfs/" FSID "/devices/sda1", "../../../../devices/" SDA1);
	vfd_test_symlink(t.tmp, "sys/dev/block/8:1", "../../devices/" SDA1);

	/* the anonymous device alone tells nothing */
	ASSERT_EQ(carries(&t, "0000:01:00.0", anon), 0);

	devs[n++] = makedev(259, 2); /* a member already listed is not listed twice */
	ASSERT_OK(vfd_btrfs_member_devices(t.ctx, FSID, devs, VFD_HOST_ROOT_DEVS_MAX, &n));
	ASSERT_EQ(n, 2);
	ASSERT_TRUE(devs[1] == makedev(8, 1));
	ASSERT_EQ(vfd_pci_carries_host_root(t.ctx, "0000:00:17.0", devs, n, NULL), 1);
	ASSERT_EQ(vfd_pci_carries_host_root(t.ctx, "0000:01:00.0", devs, n, NULL), 1);
	ASSERT_EQ(vfd_pci_carries_host_root(t.ctx, "0000:03:00.0", devs, n, NULL), 0);

	/* no room: nothing written past max */
	n = 0;
	ASSERT_OK(vfd_btrfs_member_devices(t.ctx, FSID, devs, 1, &n));
	ASSERT_EQ(n, 1);
	/* an fsid is a name, never a path */
	ASSERT_ERRNO(vfd_btrfs_member_devices(t.ctx, "../../etc", devs, 1, &n), -EINVAL);
	ASSERT_ERRNO(vfd_btrfs_member_devices(t.ctx, "0a0b0c0d-0000-0000-0000-000000000000", devs, 1, &n),
		     -ENOENT);
	tree_free(&t);
}

/* /proc/swaps: a partition, a file whose name has a blank, the header alone */
static void test_swaps_parse(void)
{
	static const char swaps[] =
		"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
		"/dev/nvme1n1p3                          partition\t8388604\t\t0\t\t-2\n"
		"/var/swap\\040file                       file\t\t1048572\t\t0\t\t-3\n";
	char **paths = NULL;

	ASSERT_OK(vfd_swaps_parse(swaps, &paths));
	ASSERT_STREQ(paths[0], "/dev/nvme1n1p3");
	ASSERT_STREQ(paths[1], "/var/swap file");
	ASSERT_NULL(paths[2]);
	vfd_strv_free(paths);
	ASSERT_OK(vfd_swaps_parse("Filename\tType\tSize\tUsed\tPriority\n", &paths));
	ASSERT_NULL(paths[0]);
	vfd_strv_free(paths);
	ASSERT_OK(vfd_swaps_parse("", &paths));
	ASSERT_NULL(paths[0]);
	vfd_strv_free(paths);
}

/* no block device (major 0), an unknown one, an empty list: nothing refused */
static void test_unknown_devices_pass(void)
{
	dev_t none[] = { makedev(0, 31), makedev(8, 99) };
	tree t;

	tree_new(&t);
	ASSERT_EQ(vfd_pci_carries_host_root(t.ctx, "0000:01:00.0", none, 2, NULL), 0);
	ASSERT_EQ(vfd_pci_carries_host_root(t.ctx, "0000:01:00.0", NULL, 0, NULL), 0);
	ASSERT_ERRNO(vfd_pci_carries_host_root(t.ctx, "0000:01:00.0", NULL, 1, NULL), -EINVAL);
	tree_free(&t);
}

VFD_TEST_MAIN(VFD_TEST(test_partition_behind_a_bridge), VFD_TEST(test_dm_on_a_partition),
	      VFD_TEST(test_lvm_on_md_on_two_controllers), VFD_TEST(test_nvme_native_multipath),
	      VFD_TEST(test_btrfs_members), VFD_TEST(test_swaps_parse),
	      VFD_TEST(test_unknown_devices_pass))
