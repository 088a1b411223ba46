/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device aliases of a live domain XML (lib/domain-xml.c
 * vfd_domain_hostdev_aliases) and the per-domain alias table of the
 * daemon (daemon/libvirt-devices.c) that resolves libvirt's
 * DEVICE_REMOVED events after the device left the XML.
 */
#include "domain-xml.h"
#include "libvirt-devices.h"
#include "vfd-test.h"

/* what libvirt 9.0 shows for a running q35 domain with hot-plugged devices */
static const char live_xml[] =
	"<domain type='qemu' id='1'>\n"
	"  <name>guest1</name>\n"
	"  <memory unit='KiB'>262144</memory>\n"
	"  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>\n"
	"  <devices>\n"
	"    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
	"    <controller type='pci' index='0' model='pcie-root'><alias name='pcie.0'/></controller>\n"
	"    <hostdev mode='subsystem' type='pci' managed='no'>\n"
	"      <driver name='vfio'/>\n"
	"      <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>\n"
	"      <alias name='hostdev0'/>\n"
	"      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>\n"
	"    </hostdev>\n"
	"    <hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci'>\n"
	"      <source><address uuid='8C5B6A2E-0F1D-4C3B-9A7E-1D2C3B4A5F60'/></source>\n"
	"      <alias name='ua-vgpu'/>\n"
	"    </hostdev>\n"
	"    <interface type='hostdev' managed='yes'>\n"
	"      <source><address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source>\n"
	"      <alias name='hostdev1'/>\n"
	"    </interface>\n"
	"    <hostdev mode='subsystem' type='usb'>\n"
	"      <source><vendor id='0x1234'/><product id='0xbeef'/></source>\n"
	"      <alias name='hostdev2'/>\n"
	"    </hostdev>\n"
	"    <hostdev mode='subsystem' type='pci'>\n"
	"      <driver name='kvm'/>\n"
	"      <source><address domain='0x0000' bus='0x04' slot='0x00' function='0x0'/></source>\n"
	"      <alias name='hostdev3'/>\n"
	"    </hostdev>\n"
	"    <hostdev mode='subsystem' type='pci'>\n"
	"      <source><address domain='0x0000' bus='0x05' slot='0x00' function='0x0'/></source>\n"
	"    </hostdev>\n"
	"    <interface type='network'><source network='default'/><alias name='net0'/></interface>\n"
	"  </devices>\n"
	"</domain>\n";

static void test_aliases_of_vfio_hostdevs(void)
{
	vfd_domain_alias *a = NULL;
	char name[VFD_PCI_ADDRESS_STRLEN];
	size_t n = 0;

	ASSERT_OK(vfd_domain_hostdev_aliases(live_xml, sizeof(live_xml) - 1, &a, &n, NULL));
	/* USB, <driver name='kvm'>, the one without an alias and the plain NIC are left out */
	ASSERT_EQ(n, 3);
	ASSERT_STREQ(a[0].alias, "hostdev0");
	ASSERT_EQ(a[0].kind, VFD_DOMAIN_HOSTDEV_PCI);
	ASSERT_FALSE(a[0].managed);
	ASSERT_STREQ(vfd_pci_address_format(&a[0].pci, name), "0000:01:00.0");
	ASSERT_STREQ(a[1].alias, "ua-vgpu");
	ASSERT_EQ(a[1].kind, VFD_DOMAIN_HOSTDEV_MDEV);
	ASSERT_STREQ(a[1].mdev_uuid, "8c5b6a2e-0f1d-4c3b-9a7e-1d2c3b4a5f60");
	ASSERT_STREQ(a[2].alias, "hostdev1");
	ASSERT_STREQ(vfd_pci_address_format(&a[2].pci, name), "0000:03:00.1");
	/* libvirt's own: it moves the function to vfio-pci and back itself */
	ASSERT_TRUE(a[2].managed);
	vfd_domain_aliases_free(a, n);
}

static void test_aliases_hardened(void)
{
	static const char doctype[] =
		"<!DOCTYPE domain [<!ENTITY x 'hostdev9'>]><domain type='kvm'><devices>"
		"<hostdev mode='subsystem' type='pci'><source><address bus='1'/></source>"
		"<alias name='&x;'/></hostdev></devices></domain>";
	static const char bad_uuid[] =
		"<domain type='kvm'><devices><hostdev mode='subsystem' type='mdev'>"
		"<source><address uuid='not-a-uuid'/></source><alias name='hostdev0'/></hostdev>"
		"</devices></domain>";
	static const char bad_bus[] =
		"<domain type='kvm'><devices><hostdev mode='subsystem' type='pci'>"
		"<source><address bus='0x1ff'/></source><alias name='hostdev0'/></hostdev>"
		"</devices></domain>";
	static const char not_domain[] = "<network><name>x</name></network>";
	vfd_domain_alias *a = NULL;
	char *msg = NULL;
	size_t n = 0;

	ASSERT_ERRNO(vfd_domain_hostdev_aliases(doctype, sizeof(doctype) - 1, &a, &n, NULL), -EPERM);
	ASSERT_ERRNO(vfd_domain_hostdev_aliases(bad_uuid, sizeof(bad_uuid) - 1, &a, &n, &msg), -EINVAL);
	ASSERT_NOT_NULL(msg);
	free(msg);
	ASSERT_ERRNO(vfd_domain_hostdev_aliases(bad_bus, sizeof(bad_bus) - 1, &a, &n, NULL), -EINVAL);
	ASSERT_ERRNO(vfd_domain_hostdev_aliases(not_domain, sizeof(not_domain) - 1, &a, &n, NULL), -EINVAL);
	ASSERT_ERRNO(vfd_domain_hostdev_aliases("", 0, &a, &n, NULL), -ENODATA);
	ASSERT_NULL(a);
}

static void test_table_learn_and_resolve_after_removal(void)
{
	_cleanup_(libvirt_devices_freep) LibvirtDevices *t = NULL;
	LibvirtDevice d;

	ASSERT_OK(libvirt_devices_new(&t));
	ASSERT_OK(libvirt_devices_learn(t, "guest1", live_xml, sizeof(live_xml) - 1, "ua-vgpu", &d, NULL));
	ASSERT_TRUE(d.is_mdev);
	ASSERT_STREQ(d.name, "8c5b6a2e-0f1d-4c3b-9a7e-1d2c3b4a5f60");
	ASSERT_EQ(libvirt_devices_count(t, "guest1"), 3);

	/* DEVICE_REMOVED: the XML no longer has it, the table does */
	ASSERT_OK(libvirt_devices_get(t, "guest1", "hostdev0", &d));
	ASSERT_FALSE(d.is_mdev);
	ASSERT_STREQ(d.name, "0000:01:00.0");
	libvirt_devices_forget(t, "guest1", "hostdev0");
	ASSERT_ERRNO(libvirt_devices_get(t, "guest1", "hostdev0", &d), -ENOENT);
	ASSERT_EQ(libvirt_devices_count(t, "guest1"), 2);

	/* aliases are per domain */
	ASSERT_ERRNO(libvirt_devices_get(t, "guest2", "hostdev1", &d), -ENOENT);
	ASSERT_OK(libvirt_devices_learn(t, "guest2", live_xml, sizeof(live_xml) - 1, NULL, NULL, NULL));
	ASSERT_EQ(libvirt_devices_count(t, "guest2"), 3);
	libvirt_devices_forget_domain(t, "guest1");
	ASSERT_EQ(libvirt_devices_count(t, "guest1"), 0);
	ASSERT_OK(libvirt_devices_get(t, "guest2", "hostdev1", &d));
	ASSERT_STREQ(d.name, "0000:03:00.1");
	ASSERT_TRUE(d.libvirt_managed);
	ASSERT_OK(libvirt_devices_get(t, "guest2", "hostdev0", &d));
	ASSERT_FALSE(d.libvirt_managed);
}

static void test_table_unknown_alias_and_reuse(void)
{
	_cleanup_(libvirt_devices_freep) LibvirtDevices *t = NULL;
	LibvirtDevice d = { .name = "untouched" }, other = { .name = "0000:09:00.0" };

	ASSERT_OK(libvirt_devices_new(&t));
	/* not a VFIO host device (the NIC), or none at all: -ENOENT, ret untouched */
	ASSERT_ERRNO(libvirt_devices_learn(t, "guest1", live_xml, sizeof(live_xml) - 1, "net0", &d, NULL), -ENOENT);
	ASSERT_ERRNO(libvirt_devices_learn(t, "guest1", live_xml, sizeof(live_xml) - 1, "hostdev3", &d, NULL), -ENOENT);
	ASSERT_STREQ(d.name, "untouched");
	/* the VFIO ones were learnt all the same */
	ASSERT_EQ(libvirt_devices_count(t, "guest1"), 3);

	/* libvirt reuses an alias after a removal: the newer device wins */
	ASSERT_OK(libvirt_devices_set(t, "guest1", "hostdev0", &other));
	ASSERT_OK(libvirt_devices_get(t, "guest1", "hostdev0", &d));
	ASSERT_STREQ(d.name, "0000:09:00.0");
	ASSERT_EQ(libvirt_devices_count(t, "guest1"), 3);

	/* a broken XML changes nothing */
	ASSERT_ERRNO(libvirt_devices_learn(t, "guest3", "<domain", 7, NULL, NULL, NULL), -EBADMSG);
	ASSERT_EQ(libvirt_devices_count(t, "guest3"), 0);
}

static void test_vfioctl_aliases_name_the_device(void)
{
	LibvirtDevice d = { .name = "untouched" };

	ASSERT_OK(libvirt_device_from_vfiod_alias("ua-vfiod-0000-01-00-0", &d));
	ASSERT_FALSE(d.is_mdev);
	ASSERT_STREQ(d.name, "0000:01:00.0");
	ASSERT_OK(libvirt_device_from_vfiod_alias("ua-vfiod-00ab-1f-1e-7", &d));
	ASSERT_STREQ(d.name, "00ab:1f:1e.7");
	ASSERT_OK(libvirt_device_from_vfiod_alias("ua-vfiod-8C5B6A2E-0F1D-4C3B-9A7E-1D2C3B4A5F60", &d));
	ASSERT_TRUE(d.is_mdev);
	ASSERT_STREQ(d.name, "8c5b6a2e-0f1d-4c3b-9a7e-1d2c3b4a5f60");

	/* anything else needs the domain XML; ret stays as it was */
	d = (LibvirtDevice) { .name = "untouched" };
	ASSERT_ERRNO(libvirt_device_from_vfiod_alias("hostdev0", &d), -EINVAL);
	ASSERT_ERRNO(libvirt_device_from_vfiod_alias("ua-vfiod-", &d), -EINVAL);
	ASSERT_ERRNO(libvirt_device_from_vfiod_alias("ua-vfiod-0000-01-00-8", &d), -EINVAL);
	ASSERT_ERRNO(libvirt_device_from_vfiod_alias("ua-vfiod-0000-01-20-0", &d), -EINVAL);
	ASSERT_ERRNO(libvirt_device_from_vfiod_alias("ua-vfiod-0000:01:00.0", &d), -EINVAL);
	ASSERT_ERRNO(libvirt_device_from_vfiod_alias("ua-vfiod-0000-01-00-0-x", &d), -EINVAL);
	ASSERT_ERRNO(libvirt_device_from_vfiod_alias("ua-other-0000-01-00-0", &d), -EINVAL);
	ASSERT_STREQ(d.name, "untouched");
}

VFD_TEST_MAIN(
	VFD_TEST(test_aliases_of_vfio_hostdevs),
	VFD_TEST(test_vfioctl_aliases_name_the_device),
	VFD_TEST(test_aliases_hardened),
	VFD_TEST(test_table_learn_and_resolve_after_removal),
	VFD_TEST(test_table_unknown_alias_and_reuse),
)
