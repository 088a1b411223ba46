/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device aliases of a live domain XML (lib/domain-xml.c
 * vfd_domain_hostdev_aliases) and the per-domain alias table of the
 * daemon (daemon/libvirt/libvirt-devices.c) that resolves libvirt's
 * DEVICE_REMOVED events after the device left the XML. The trust
 * boundary (docs/libvirt.md): an alias never names a host device by
 * itself, only a hostdev of the live XML does.
 */
#include "vfiod/domain-xml.h"
#include "libvirt/libvirt-devices.h"
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

static const char reused_xml[] =
	"<domain type='qemu'><devices>"
	"<hostdev mode='subsystem' type='pci' managed='no'>"
	"<source><address domain='0x0000' bus='0x09' slot='0x00' function='0x0'/></source>"
	"<alias name='hostdev0'/></hostdev>"
	"</devices></domain>";

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

	/* libvirt reuses an alias after a removal: the newer XML wins */
	ASSERT_OK(libvirt_devices_learn(t, "guest1", reused_xml, sizeof(reused_xml) - 1, "hostdev0", &d, NULL));
	ASSERT_STREQ(d.name, other.name);
	ASSERT_OK(libvirt_devices_get(t, "guest1", "hostdev0", &d));
	ASSERT_STREQ(d.name, "0000:09:00.0");
	/* and the aliases it no longer has are forgotten (their DEVICE_REMOVED was lost) */
	ASSERT_EQ(libvirt_devices_count(t, "guest1"), 1);
	ASSERT_ERRNO(libvirt_devices_get(t, "guest1", "ua-vgpu", &d), -ENOENT);

	/* a broken XML changes nothing */
	ASSERT_ERRNO(libvirt_devices_learn(t, "guest3", "<domain", 7, NULL, NULL, NULL), -EBADMSG);
	ASSERT_EQ(libvirt_devices_count(t, "guest3"), 0);
}

/*
 * What a libvirt client that may attach devices can put into a live
 * domain: every element with vfioctl's alias for PCI function 0000:02:00.0
 * (the lab's e1000e) or for an mdev, and a hostdev whose alias names
 * another device than its source.
 */
static const char hostile_xml[] =
	"<domain type='qemu' id='3'>\n"
	"  <name>guest1</name>\n"
	"  <devices>\n"
	"    <disk type='file' device='disk'>\n"
	"      <source file='/var/lib/libvirt/images/x.img'/><target dev='vdb' bus='virtio'/>\n"
	"      <alias name='ua-vfiod-0000-02-00-0'/>\n"
	"      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>\n"
	"    </disk>\n"
	"    <interface type='user'><model type='virtio'/>\n"
	"      <alias name='ua-vfiod-0000-02-00-1'/>\n"
	"      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x1'/>\n"
	"    </interface>\n"
	"    <interface type='network'><source network='default'/>\n"
	"      <alias name='ua-vfiod-8c5b6a2e-0f1d-4c3b-9a7e-1d2c3b4a5f60'/></interface>\n"
	"    <hostdev mode='subsystem' type='usb'>\n"
	"      <source><vendor id='0x8086'/><product id='0x10d3'/><address bus='2' device='0'/></source>\n"
	"      <alias name='ua-vfiod-0000-02-00-2'/>\n"
	"    </hostdev>\n"
	"    <controller type='pci' model='pcie-root-port'>\n"
	"      <alias name='ua-vfiod-0000-02-00-3'/>\n"
	"    </controller>\n"
	"    <hostdev mode='subsystem' type='pci' managed='no'>\n"
	"      <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>\n"
	"      <alias name='ua-vfiod-0000-02-00-4'/>\n"
	"    </hostdev>\n"
	"  </devices>\n"
	"  <metadata><hostdev mode='subsystem' type='pci'>\n"
	"    <source><address domain='0x0000' bus='0x02' slot='0x00' function='0x5'/></source>\n"
	"    <alias name='ua-vfiod-0000-02-00-5'/></hostdev></metadata>\n"
	"</domain>\n";

static void test_alias_alone_names_no_device(void)
{
	static const char *const not_hostdevs[] = {
		"ua-vfiod-0000-02-00-0", "ua-vfiod-0000-02-00-1",
		"ua-vfiod-8c5b6a2e-0f1d-4c3b-9a7e-1d2c3b4a5f60", "ua-vfiod-0000-02-00-2",
		"ua-vfiod-0000-02-00-3", "ua-vfiod-0000-02-00-5",
	};
	_cleanup_(libvirt_devices_freep) LibvirtDevices *t = NULL;
	LibvirtDevice d = { .name = "untouched" };

	ASSERT_OK(libvirt_devices_new(&t));
	/* a disk, NICs, a USB device, a controller, XML in <metadata>: none is a VFIO host device */
	for (size_t i = 0; i < ELEMENTSOF(not_hostdevs); i++) {
		ASSERT_ERRNO(libvirt_devices_learn(t, "uuid-1", hostile_xml, sizeof(hostile_xml) - 1,
						   not_hostdevs[i], &d, NULL), -ENOENT);
		ASSERT_STREQ(d.name, "untouched");
		ASSERT_ERRNO(libvirt_devices_get(t, "uuid-1", not_hostdevs[i], &d), -ENOENT);
	}
	/* so a DEVICE_REMOVED of any of them has nothing to give back */
	ASSERT_EQ(libvirt_devices_count(t, "uuid-1"), 1);
	for (unsigned f = 0; f < 6; f++) {
		char name[VFD_PCI_ADDRESS_STRLEN];

		snprintf(name, sizeof(name), "0000:02:00.%u", f);
		ASSERT_EQ(libvirt_devices_xml_has(hostile_xml, sizeof(hostile_xml) - 1, name, NULL), 0);
	}
	ASSERT_EQ(libvirt_devices_xml_has(hostile_xml, sizeof(hostile_xml) - 1,
					  "8c5b6a2e-0f1d-4c3b-9a7e-1d2c3b4a5f60", NULL), 0);
}

static void test_hostdev_is_its_source_not_its_alias(void)
{
	_cleanup_(libvirt_devices_freep) LibvirtDevices *t = NULL;
	LibvirtDevice d, named;

	ASSERT_OK(libvirt_devices_new(&t));
	ASSERT_OK(libvirt_devices_learn(t, "uuid-1", hostile_xml, sizeof(hostile_xml) - 1,
					"ua-vfiod-0000-02-00-4", &d, NULL));
	ASSERT_FALSE(d.is_mdev);
	ASSERT_STREQ(d.name, "0000:01:00.0");
	/* the alias claims another function: libvirt-events.c warns and goes by the source */
	ASSERT_OK(libvirt_device_from_vfiod_alias("ua-vfiod-0000-02-00-4", &named));
	ASSERT_FALSE(strcmp(named.name, d.name) == 0);
	ASSERT_OK(libvirt_devices_get(t, "uuid-1", "ua-vfiod-0000-02-00-4", &d));
	ASSERT_STREQ(d.name, "0000:01:00.0");
	ASSERT_EQ(libvirt_devices_xml_has(hostile_xml, sizeof(hostile_xml) - 1, "0000:01:00.0", NULL), 1);
}

static void test_removal_needs_the_device_gone(void)
{
	char *msg = NULL;

	/* DEVICE_REMOVED is believed only when the live XML lacks the device, under any alias */
	ASSERT_EQ(libvirt_devices_xml_has(live_xml, sizeof(live_xml) - 1, "0000:01:00.0", NULL), 1);
	ASSERT_EQ(libvirt_devices_xml_has(live_xml, sizeof(live_xml) - 1,
					  "8c5b6a2e-0f1d-4c3b-9a7e-1d2c3b4a5f60", NULL), 1);
	ASSERT_EQ(libvirt_devices_xml_has(reused_xml, sizeof(reused_xml) - 1, "0000:01:00.0", NULL), 0);
	ASSERT_EQ(libvirt_devices_xml_has(reused_xml, sizeof(reused_xml) - 1, "0000:09:00.0", NULL), 1);
	/* legacy KVM assignment and USB are not VFIO devices of the domain */
	ASSERT_EQ(libvirt_devices_xml_has(live_xml, sizeof(live_xml) - 1, "0000:04:00.0", NULL), 0);
	/* an XML that cannot be read proves nothing: an error, never "gone" */
	ASSERT_ERRNO(libvirt_devices_xml_has("<domain", 7, "0000:01:00.0", &msg), -EBADMSG);
	ASSERT_NOT_NULL(msg);
	free(msg);
}

static void test_table_is_per_domain_uuid(void)
{
	_cleanup_(libvirt_devices_freep) LibvirtDevices *t = NULL;
	LibvirtDevice d;

	ASSERT_OK(libvirt_devices_new(&t));
	ASSERT_OK(libvirt_devices_learn(t, "11111111-1111-1111-1111-111111111111", live_xml,
					sizeof(live_xml) - 1, NULL, NULL, NULL));
	ASSERT_OK(libvirt_devices_learn(t, "22222222-2222-2222-2222-222222222222", reused_xml,
					sizeof(reused_xml) - 1, NULL, NULL, NULL));
	ASSERT_OK(libvirt_devices_get(t, "11111111-1111-1111-1111-111111111111", "hostdev0", &d));
	ASSERT_STREQ(d.name, "0000:01:00.0");
	ASSERT_OK(libvirt_devices_get(t, "22222222-2222-2222-2222-222222222222", "hostdev0", &d));
	ASSERT_STREQ(d.name, "0000:09:00.0");
	/* replacing one domain's devices leaves the other's */
	ASSERT_OK(libvirt_devices_replace(t, "11111111-1111-1111-1111-111111111111", NULL, 0));
	ASSERT_EQ(libvirt_devices_count(t, "11111111-1111-1111-1111-111111111111"), 0);
	ASSERT_EQ(libvirt_devices_count(t, "22222222-2222-2222-2222-222222222222"), 1);
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
	VFD_TEST(test_alias_alone_names_no_device),
	VFD_TEST(test_hostdev_is_its_source_not_its_alias),
	VFD_TEST(test_removal_needs_the_device_gone),
	VFD_TEST(test_table_is_per_domain_uuid),
)
