/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hardened libvirt domain XML reader (lib/domain-xml.c): what it reads
 * from real-looking domains, libvirt's units, and every way an untrusted
 * document could make it misbehave: empty, too large, too deep, entity
 * expansion, external entities, other encodings, malformed, wrong root.
 *
 * VFD_DOMAIN_FIXTURES names tests/fixtures/domains (set by meson).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vfiod/domain-xml.h"
#include "vfd-test.h"

/* the harness's ASSERT_EQ prints signed; sizes read better unsigned */
#define ASSERT_EQ_U64(a, b)                                                         \
	do {                                                                        \
		unsigned long long a_ = (a), b_ = (b);                              \
		if (a_ != b_)                                                       \
			vfd_test_fail(__FILE__, __LINE__, "%s == %s: %llu != %llu",  \
				      #a, #b, a_, b_);                              \
	} while (0)

static const char *fixtures(void)
{
	const char *p = getenv("VFD_DOMAIN_FIXTURES");

	if (!p)
		vfd_test_skip("VFD_DOMAIN_FIXTURES is not set");
	return p;
}

/* Parses tests/fixtures/domains/NAME.xml; any error fails the test. */
static vfd_domain *parse_fixture(const char *name)
{
	vfd_domain *d = NULL;
	char path[PATH_MAX];
	char *err = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/%s.xml", fixtures(), name);
	r = vfd_domain_parse_file(path, &d, &err);
	if (r < 0)
		vfd_test_fail(__FILE__, __LINE__, "%s: %s (%d)", name, err ? err : "?", r);
	free(err);
	return d;
}

/* Parses a string; returns the error (0 on success) and keeps the message. */
static int parse_string(const char *xml, vfd_domain **ret, char **err)
{
	vfd_domain *d = NULL;
	int r;

	*err = NULL;
	r = vfd_domain_parse_xml(xml, strlen(xml), &d, err);
	if (ret)
		*ret = d;
	else
		vfd_domain_free(d);
	return r;
}

static int parse_error(const char *xml, char **err)
{
	return parse_string(xml, NULL, err);
}

/* ---- what gets read ---- */

static void test_libvirt_cases_read(void)
{
	static const struct {
		const char *name;
		const char *virt_type, *arch;
		bool hard_limit, locked;
		size_t hostdevs;
	} cases[] = {
		{ "pc-kvm", "kvm", "x86_64", false, false, 0 },
		{ "pc-tcg", "qemu", "x86_64", false, false, 0 },
		{ "pc-hardlimit", "kvm", "x86_64", true, false, 0 },
		{ "pc-locked", "kvm", "x86_64", false, true, 0 },
		{ "pc-hostdev", "kvm", "x86_64", false, false, 1 },
		{ "pc-hardlimit+locked", "kvm", "x86_64", true, true, 0 },
		{ "pc-hardlimit+hostdev", "kvm", "x86_64", true, false, 1 },
		{ "pc-hardlimit+locked+hostdev", "kvm", "x86_64", true, true, 1 },
		{ "pc-locked+hostdev", "kvm", "x86_64", false, true, 1 },
		{ "pseries-kvm", "kvm", "ppc64", false, false, 0 },
		{ "pseries-tcg", "qemu", "ppc64", false, false, 0 },
		{ "pseries-hardlimit", "kvm", "ppc64", true, false, 0 },
		{ "pseries-locked", "kvm", "ppc64", false, true, 0 },
		{ "pseries-hostdev", "kvm", "ppc64", false, false, 1 },
		{ "pseries-hardlimit+locked", "kvm", "ppc64", true, true, 0 },
		{ "pseries-hardlimit+hostdev", "kvm", "ppc64", true, false, 1 },
		{ "pseries-hardlimit+locked+hostdev", "kvm", "ppc64", true, true, 1 },
		{ "pseries-locked+hostdev", "kvm", "ppc64", false, true, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vfd_domain *d = parse_fixture(cases[i].name);

		/* every one says 1 GiB, in a different unit */
		ASSERT_EQ_U64(d->memory_kib, 1048576);
		ASSERT_STREQ(d->virt_type, cases[i].virt_type);
		ASSERT_TRUE(d->arch && strcmp(d->arch, cases[i].arch) == 0);
		ASSERT_TRUE(d->has_hard_limit == cases[i].hard_limit);
		if (cases[i].hard_limit)
			ASSERT_EQ_U64(d->hard_limit_kib, 2097152);
		ASSERT_TRUE(d->memory_locked == cases[i].locked);
		ASSERT_EQ_U64(d->n_hostdevs, cases[i].hostdevs);
		if (d->n_hostdevs == 1) {
			const vfd_domain_hostdev *h = &d->hostdevs[0];

			ASSERT_TRUE(h->kind == VFD_DOMAIN_HOSTDEV_PCI);
			ASSERT_TRUE(h->vfio);
			ASSERT_TRUE(!h->from_interface);
			ASSERT_TRUE(h->source.domain == 2 && h->source.bus == 3 && h->source.slot == 0 &&
			      h->source.function == 1);
			ASSERT_TRUE(!h->has_guest_pci_address);
		}
		ASSERT_TRUE(d->iommu_model == NULL);
		ASSERT_EQ_U64(d->n_nvme_disks, 0);
		ASSERT_EQ_U64(d->n_vdpa_devices, 0);
		vfd_domain_free(d);
	}
}

static void test_read_viommu_hostdevs(void)
{
	vfd_domain *d = parse_fixture("q35-viommu-hostdevs");

	ASSERT_TRUE(d->name && strcmp(d->name, "viommu-two") == 0);
	ASSERT_TRUE(d->iommu_model && strcmp(d->iommu_model, "intel") == 0);
	ASSERT_EQ_U64(d->memory_kib, 4ULL << 20);
	ASSERT_EQ_U64(d->n_hostdevs, 2);
	if (d->n_hostdevs == 2) {
		ASSERT_TRUE(d->hostdevs[0].has_guest_pci_address && d->hostdevs[0].guest_pci_bus == 1);
		ASSERT_TRUE(d->hostdevs[1].from_interface && d->hostdevs[1].vfio);
		ASSERT_TRUE(d->hostdevs[1].source.bus == 0x3c && d->hostdevs[1].source.slot == 2 &&
		      d->hostdevs[1].source.function == 3);
	}
	/* pcie-root is not a pSeries PHB */
	ASSERT_EQ_U64(d->n_pci_root_indexes, 0);
	ASSERT_TRUE(d->guest_bus_used[0] == 0x02);
	vfd_domain_free(d);
}

static void test_read_nvme_disk(void)
{
	vfd_domain *d = parse_fixture("virt-viommu-hostdevs-nvme");

	ASSERT_STREQ(d->iommu_model, "virtio");
	ASSERT_STREQ(d->arch, "aarch64");
	ASSERT_EQ_U64(d->n_nvme_disks, 1);
	ASSERT_TRUE(d->nvme_disks[0].target && strcmp(d->nvme_disks[0].target, "vdc") == 0);
	ASSERT_TRUE(d->nvme_disks[0].source.bus == 6);
	ASSERT_EQ_U64(d->n_hostdevs, 2);
	vfd_domain_free(d);
}

static void test_read_mdev(void)
{
	vfd_domain *d = parse_fixture("q35-mdev");

	ASSERT_EQ_U64(d->n_hostdevs, 1);
	ASSERT_TRUE(d->hostdevs[0].kind == VFD_DOMAIN_HOSTDEV_MDEV);
	/* the UUID is stored the way sysfs spells it */
	ASSERT_STREQ(d->hostdevs[0].mdev_uuid, "b1e2c3d4-0000-4000-8000-00000000a0a0");
	ASSERT_STREQ(d->hostdevs[0].mdev_model, "vfio-pci");
	vfd_domain_free(d);
}

static void test_read_vdpa_interface(void)
{
	vfd_domain *d = parse_fixture("q35-vdpa");

	ASSERT_EQ_U64(d->n_vdpa_devices, 1);
	ASSERT_STREQ(d->vdpa_devices[0].device, "/dev/vhost-vdpa-0");
	ASSERT_TRUE(!d->vdpa_devices[0].is_disk);
	ASSERT_EQ_U64(d->n_hostdevs, 0);
	vfd_domain_free(d);
}

static void test_read_vdpa_disk(void)
{
	vfd_domain *d = parse_fixture("q35-vhostvdpa-disk");

	ASSERT_EQ_U64(d->n_vdpa_devices, 1);
	ASSERT_TRUE(d->vdpa_devices[0].is_disk);
	ASSERT_EQ_U64(d->n_nvme_disks, 0);
	vfd_domain_free(d);
}

static void test_read_pseries_phbs(void)
{
	vfd_domain *d = parse_fixture("pseries-two-groups");

	ASSERT_TRUE(strcmp(d->arch, "ppc64le") == 0 && strcmp(d->machine, "pseries-7.2") == 0);
	ASSERT_EQ_U64(d->n_pci_root_indexes, 2);
	ASSERT_TRUE(d->pci_root_indexes[0] == 0 && d->pci_root_indexes[1] == 1);
	ASSERT_EQ_U64(d->n_hostdevs, 4);
	/* only bus 0 is named by a guest address */
	ASSERT_TRUE(d->guest_bus_used[0] == 0x01);
	ASSERT_TRUE(d->hostdevs[3].has_guest_pci_address && d->hostdevs[3].guest_pci_bus == 0);
	vfd_domain_free(d);
}

#define DOMAIN_HEAD "<domain type='kvm'><name>t</name>"
#define DOMAIN_TAIL "<os><type arch='x86_64'>hvm</type></os></domain>"

/* Parses a string that must be accepted. */
static vfd_domain *parse_ok(const char *xml)
{
	vfd_domain *d = NULL;
	char *err = NULL;

	if (parse_string(xml, &d, &err) < 0)
		vfd_test_fail(__FILE__, __LINE__, "%s: %s", xml, err ? err : "?");
	free(err);
	return d;
}

static void test_read_unindexed_controllers(void)
{
	vfd_domain *d;

	/* two pci-root controllers without an index: libvirt numbers them 0 and 1 */
	d = parse_ok(DOMAIN_HEAD "<memory>1</memory><devices><controller type='pci' model='pci-root'/>"
		     "<controller type='pci' model='pci-root'/></devices>" DOMAIN_TAIL);
	ASSERT_EQ_U64(d->n_pci_root_indexes, 2);
	ASSERT_TRUE(d->pci_root_indexes[0] == 0 && d->pci_root_indexes[1] == 1);
	ASSERT_EQ_U64(d->n_pci_controllers, 2);
	ASSERT_TRUE(!d->pci_controllers[0].index_given && !d->pci_controllers[1].index_given);
	vfd_domain_free(d);

	/* the lowest index no PCI controller has, counting those written later, of any model */
	d = parse_ok(DOMAIN_HEAD "<memory>1</memory><devices><controller type='pci' model='pci-root'/>"
		     "<controller type='pci' index='0' model='pci-root'/>"
		     "<controller type='pci' index='2' model='pci-bridge'/>"
		     "<controller type='usb' model='qemu-xhci'/>"
		     "<controller type='pci' model='pci-root'/></devices>" DOMAIN_TAIL);
	ASSERT_EQ_U64(d->n_pci_controllers, 4);
	ASSERT_TRUE(d->pci_controllers[0].index == 1 && d->pci_controllers[1].index == 0 &&
		    d->pci_controllers[2].index == 2 && d->pci_controllers[3].index == 3);
	ASSERT_STREQ(d->pci_controllers[2].model, "pci-bridge");
	ASSERT_EQ_U64(d->n_pci_root_indexes, 3);
	vfd_domain_free(d);

	/* q35: pcie-root and root ports without indexes; none is a pSeries PHB */
	d = parse_ok(DOMAIN_HEAD "<memory>1</memory><devices><controller type='pci' model='pcie-root'/>"
		     "<controller type='pci' model='pcie-root-port'/><controller type='pci' model='pcie-root-port'/>"
		     "</devices>" DOMAIN_TAIL);
	ASSERT_TRUE(d->n_pci_controllers == 3 && d->pci_controllers[0].index == 0 &&
		    d->pci_controllers[1].index == 1 && d->pci_controllers[2].index == 2);
	ASSERT_EQ_U64(d->n_pci_root_indexes, 0);
	vfd_domain_free(d);

	/* a controller without a model is kept, model NULL, for the machine's default */
	d = parse_ok(DOMAIN_HEAD "<memory>1</memory><devices><controller type='pci' index='1'/></devices>"
		     DOMAIN_TAIL);
	ASSERT_TRUE(d->n_pci_controllers == 1 && d->pci_controllers[0].index == 1 &&
		    d->pci_controllers[0].index_given && !d->pci_controllers[0].model);
	vfd_domain_free(d);

	/* numbering can still collide with an explicit index: refused as libvirt does */
	vfd_domain *none = NULL;
	char *err = NULL;

	ASSERT_ERRNO(parse_string(DOMAIN_HEAD "<memory>1</memory><devices><controller type='pci' model='pci-root'/>"
				  "<controller type='pci' model='pci-root' index='0x0'/>"
				  "<controller type='pci' model='pci-root' index='0'/></devices>" DOMAIN_TAIL,
				  &none, &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "two PCI root controllers with index 0"));
	free(err);
	vfd_domain_free(none);
}

static void test_read_network_interfaces(void)
{
	vfd_domain *d = parse_ok(DOMAIN_HEAD "<memory>1</memory><devices>"
				 "<interface type='network'><source network='default'/></interface>"
				 "<interface type='bridge'><source bridge='br0'/></interface>"
				 "<interface type='network'><source network='pool'/></interface></devices>" DOMAIN_TAIL);

	ASSERT_EQ_U64(d->n_network_interfaces, 2);
	ASSERT_EQ_U64(d->n_hostdevs, 0);
	vfd_domain_free(d);
}

static void test_read_numa_dimm_memory(void)
{
	vfd_domain *d = parse_fixture("pc-numa-dimm");

	/* 512 MiB + 524288 KiB of NUMA cells + a 512 MiB DIMM */
	ASSERT_EQ_U64(d->memory_kib, 1572864);
	ASSERT_EQ_U64(d->max_memory_kib, 8ULL << 20);
	/* what the type1 mapping count needs: slots, cells, each memory device */
	ASSERT_EQ(d->max_memory_slots, 4);
	ASSERT_EQ_U64(d->n_numa_cells, 2);
	ASSERT_EQ_U64(d->n_memory_devices, 1);
	ASSERT_STREQ(d->memory_devices[0].model, "dimm");
	ASSERT_EQ_U64(d->memory_devices[0].size_kib, 512 * 1024);
	ASSERT_EQ_U64(d->memory_devices[0].block_kib, 0);
	vfd_domain_free(d);

	d = parse_fixture("q35-virtio-mem+hostdev");
	ASSERT_EQ_U64(d->n_memory_devices, 1);
	ASSERT_STREQ(d->memory_devices[0].model, "virtio-mem");
	ASSERT_EQ_U64(d->memory_devices[0].size_kib, 128ULL << 20);
	ASSERT_EQ_U64(d->memory_devices[0].block_kib, 2048);
	ASSERT_EQ_U64(d->n_numa_cells, 1);
	ASSERT_EQ(d->max_memory_slots, 2);
	vfd_domain_free(d);
}

static void test_read_memory_device_errors(void)
{
	static const char *const bad[] = {
		/* QEMU takes 256 slots at most */
		"<domain type='kvm'><maxMemory slots='257' unit='GiB'>8</maxMemory><memory>1024</memory></domain>",
		"<domain type='kvm'><maxMemory slots='-1' unit='GiB'>8</maxMemory><memory>1024</memory></domain>",
		"<domain type='kvm'><maxMemory slots='x' unit='GiB'>8</maxMemory><memory>1024</memory></domain>",
		/* a block size that is no size */
		"<domain type='kvm'><memory unit='GiB'>4</memory><devices><memory model='virtio-mem'><target>"
		"<size unit='GiB'>1</size><block unit='parsec'>2</block></target></memory></devices></domain>",
		"<domain type='kvm'><memory unit='GiB'>4</memory><devices><memory model='virtio-mem'><target>"
		"<size unit='GiB'>1</size><block>two</block></target></memory></devices></domain>",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		vfd_domain *d = NULL;
		char *err = NULL;

		if (vfd_domain_parse_xml(bad[i], strlen(bad[i]), &d, &err) != -EINVAL)
			vfd_test_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
		ASSERT_NULL(d);
		ASSERT_NOT_NULL(err);
		free(err);
	}
}

static void test_read_non_vfio_hostdevs(void)
{
	vfd_domain *d = parse_fixture("pc-legacy-kvm-assign");

	/* the USB hostdev is not kept; the PCI one is, marked not VFIO */
	ASSERT_EQ_U64(d->n_hostdevs, 1);
	ASSERT_TRUE(!d->hostdevs[0].vfio);
	vfd_domain_free(d);
}

/* ---- libvirt's units ---- */

static void test_units(void)
{
	static const struct {
		const char *value, *unit;
		uint64_t kib;
	} good[] = {
		{ "1", NULL, 1 },
		{ "1", "", 1 },
		{ " 42\n", NULL, 42 },
		{ "1", "b", 1 },         /* one byte rounds up to a KiB */
		{ "1024", "bytes", 1 },
		{ "1025", "B", 2 },
		{ "3", "byte", 1 },
		{ "1", "k", 1 },
		{ "1", "KiB", 1 },
		{ "7", "kib", 7 },       /* suffixes are case-insensitive */
		{ "1", "KB", 1 },        /* 1000 bytes */
		{ "2", "MB", 1954 },     /* 2000000 bytes = 1953.125 KiB */
		{ "1", "M", 1024 },
		{ "1", "MiB", 1024 },
		{ "1", "G", 1048576 },
		{ "1", "GiB", 1048576 },
		{ "1", "GB", 976563 },   /* 10^9 / 1024 = 976562.5 */
		{ "1", "T", 1ULL << 30 },
		{ "1", "TB", 976562500 },
		{ "1", "PiB", 1ULL << 40 },
		{ "1", "EiB", 1ULL << 50 },
		{ "0", "GiB", 0 },
	};
	static const struct {
		const char *value, *unit;
		int error;
	} bad[] = {
		{ "8", "EiB", -ERANGE },                      /* 2^63 bytes: beyond off_t */
		{ "9223372036854775807", "b", 0 },            /* LLONG_MAX bytes is the edge: fine */
		{ "9223372036854775808", "b", -ERANGE },
		{ "18446744073709551615", "KiB", -ERANGE },
		{ "18446744073709551616", NULL, -ERANGE },     /* does not even fit 64 bits */
		{ "99999999999999999999999", "GiB", -ERANGE },
		{ "1", "XB", -EINVAL },
		{ "1", "Mi", -EINVAL },
		{ "1", "MiBs", -EINVAL },
		{ "1", "kilobytes", -EINVAL },
		{ "-1", NULL, -EINVAL },
		{ "+1", NULL, -EINVAL },
		{ "1.5", "GiB", -EINVAL },
		{ "", NULL, -EINVAL },
		{ "0x10", NULL, -EINVAL },
		{ "1 2", NULL, -EINVAL },
	};
	uint64_t kib;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		kib = UINT64_MAX;
		ASSERT_OK(vfd_domain_scale_to_kib(good[i].value, good[i].unit, (uint64_t)LLONG_MAX, &kib));
		if (kib != good[i].kib)
			vfd_test_fail(__FILE__, __LINE__, "'%s' '%s': %llu KiB, expected %llu", good[i].value,
				      good[i].unit ? good[i].unit : "(null)", (unsigned long long)kib,
				      (unsigned long long)good[i].kib);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = vfd_domain_scale_to_kib(bad[i].value, bad[i].unit, (uint64_t)LLONG_MAX, &kib);

		if (r != bad[i].error)
			vfd_test_fail(__FILE__, __LINE__, "'%s' '%s' gave %d, expected %d", bad[i].value,
				      bad[i].unit ? bad[i].unit : "(null)", r, bad[i].error);
	}
}


static void test_memory_values(void)
{
	vfd_domain *d = NULL;
	char *err = NULL;

	/* sizes that overflow once scaled */
	ASSERT_ERRNO(parse_error(DOMAIN_HEAD "<memory unit='EiB'>16</memory>" DOMAIN_TAIL, &err), -ERANGE);
	ASSERT_TRUE(err && strstr(err, "<memory>") && strstr(err, "too large"));
	free(err);
	ASSERT_ERRNO(parse_error(DOMAIN_HEAD "<memory>18014398509481984</memory>" DOMAIN_TAIL, &err), -ERANGE);
	free(err);
	ASSERT_TRUE(parse_error(DOMAIN_HEAD "<memory>1048576</memory><memtune><hard_limit unit='EiB'>9</hard_limit>"
			  "</memtune>" DOMAIN_TAIL, &err) == -ERANGE);
	ASSERT_TRUE(err && strstr(err, "hard_limit"));
	free(err);
	ASSERT_ERRNO(parse_error(DOMAIN_HEAD "<memory unit='furlongs'>1</memory>" DOMAIN_TAIL, &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "unknown unit 'furlongs'"));
	free(err);
	ASSERT_ERRNO(parse_error(DOMAIN_HEAD "<memory>lots</memory>" DOMAIN_TAIL, &err), -EINVAL);
	free(err);
	/* no size at all */
	ASSERT_ERRNO(parse_error(DOMAIN_HEAD DOMAIN_TAIL, &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "memory size"));
	free(err);
	/* DIMMs larger than the total */
	ASSERT_TRUE(parse_error(DOMAIN_HEAD "<memory unit='GiB'>1</memory><devices><memory model='dimm'><target>"
			  "<size unit='GiB'>2</size></target></memory></devices>" DOMAIN_TAIL, &err) == -EINVAL);
	free(err);

	/* hard_limit at libvirt's "unlimited" is no limit; 0 is a limit of 0 */
	ASSERT_TRUE(parse_string(DOMAIN_HEAD "<memory>1048576</memory><memtune><hard_limit>9007199254740991"
			   "</hard_limit></memtune>" DOMAIN_TAIL, &d, &err) == 0);
	ASSERT_TRUE(d && !d->has_hard_limit);
	d = vfd_domain_free(d);
	free(err);
	ASSERT_TRUE(parse_string(DOMAIN_HEAD "<memory>1048576</memory><memtune><hard_limit>9007199254740990"
			   "</hard_limit></memtune>" DOMAIN_TAIL, &d, &err) == 0);
	ASSERT_TRUE(d && d->has_hard_limit && d->hard_limit_kib == 9007199254740990ULL);
	d = vfd_domain_free(d);
	free(err);
	ASSERT_TRUE(parse_string(DOMAIN_HEAD "<memory>1048576</memory><memtune><hard_limit>0</hard_limit>"
			   "</memtune>" DOMAIN_TAIL, &d, &err) == 0);
	ASSERT_TRUE(d && d->has_hard_limit && d->hard_limit_kib == 0);
	d = vfd_domain_free(d);
	free(err);
}

static void test_bad_devices(void)
{
	char *err = NULL;

	ASSERT_TRUE(parse_error(DOMAIN_HEAD "<memory>1</memory><devices><hostdev mode='subsystem' type='mdev'>"
			  "<source><address uuid='not-a-uuid'/></source></hostdev></devices>" DOMAIN_TAIL,
			  &err) == -EINVAL);
	ASSERT_TRUE(err && strstr(err, "not a UUID"));
	free(err);
	ASSERT_TRUE(parse_error(DOMAIN_HEAD "<memory>1</memory><devices><hostdev mode='subsystem' type='pci'/>"
			  "</devices>" DOMAIN_TAIL, &err) == -EINVAL);
	free(err);
	ASSERT_TRUE(parse_error(DOMAIN_HEAD "<memory>1</memory><devices><hostdev mode='subsystem' type='pci'>"
			  "<source><address bus='0x100' slot='0'/></source></hostdev></devices>" DOMAIN_TAIL,
			  &err) == -EINVAL);
	ASSERT_TRUE(err && strstr(err, "bus"));
	free(err);
	ASSERT_TRUE(parse_error(DOMAIN_HEAD "<memory>1</memory><devices><hostdev mode='subsystem' type='pci'>"
			  "<source><address slot='0x20'/></source></hostdev></devices>" DOMAIN_TAIL,
			  &err) == -EINVAL);
	free(err);
	ASSERT_TRUE(parse_error(DOMAIN_HEAD "<memory>1</memory><devices><disk type='nvme'><source type='pci'/>"
			  "</disk></devices>" DOMAIN_TAIL, &err) == -EINVAL);
	free(err);
	ASSERT_TRUE(parse_error(DOMAIN_HEAD "<memory>1</memory><devices><controller type='pci' model='pci-root' "
			  "index='0'/><controller type='pci' model='pci-root' index='0'/></devices>" DOMAIN_TAIL,
			  &err) == -EINVAL);
	free(err);
	ASSERT_ERRNO(parse_error("<domain><memory>1</memory></domain>", &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "type"));
	free(err);
}

/* ---- identity and managed (the libvirt hook, cli/libvirt-hook) ---- */

static void test_read_uuid_and_managed(void)
{
	vfd_domain *d = NULL;
	char *err = NULL;

	ASSERT_OK(parse_string(DOMAIN_HEAD "<uuid>6B1B6A2C-0E6F-4B3A-9C1D-2E3F4A5B6C7D</uuid><memory>1</memory>"
			       "<devices>"
			       "<hostdev mode='subsystem' type='pci' managed='no'><source>"
			       "<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>"
			       "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
			       "<address bus='0x02'/></source></hostdev>"
			       "<hostdev mode='subsystem' type='pci'><source><address bus='0x03'/></source></hostdev>"
			       "<interface type='hostdev' managed='yes'><source><address type='pci' bus='0x04'/>"
			       "</source></interface>"
			       "</devices>" DOMAIN_TAIL, &d, &err));
	ASSERT_STREQ(d->uuid, "6b1b6a2c-0e6f-4b3a-9c1d-2e3f4a5b6c7d");
	ASSERT_EQ_U64(d->n_hostdevs, 4);
	if (d->n_hostdevs == 4) {
		ASSERT_FALSE(d->hostdevs[0].managed);
		ASSERT_TRUE(d->hostdevs[1].managed);
		/* libvirt's default */
		ASSERT_FALSE(d->hostdevs[2].managed);
		ASSERT_TRUE(d->hostdevs[3].managed && d->hostdevs[3].from_interface);
	}
	d = vfd_domain_free(d);
	free(err);

	/* no <uuid>: NULL, not an error (libvirt always writes one; a file may not) */
	ASSERT_OK(parse_string(DOMAIN_HEAD "<memory>1</memory>" DOMAIN_TAIL, &d, &err));
	ASSERT_NULL(d->uuid);
	d = vfd_domain_free(d);
	free(err);

	ASSERT_ERRNO(parse_error(DOMAIN_HEAD "<uuid>6b1b6a2c0e6f4b3a9c1d2e3f4a5b6c7d</uuid><memory>1</memory>"
				 DOMAIN_TAIL, &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "<uuid>"));
	free(err);
	ASSERT_ERRNO(parse_error(DOMAIN_HEAD "<uuid/><memory>1</memory>" DOMAIN_TAIL, &err), -EINVAL);
	free(err);
	ASSERT_ERRNO(parse_error(DOMAIN_HEAD "<memory>1</memory><devices><hostdev mode='subsystem' type='pci' "
				 "managed='maybe'><source><address bus='1'/></source></hostdev></devices>"
				 DOMAIN_TAIL, &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "managed") && strstr(err, "maybe"));
	free(err);
}

/* ---- hostile documents ---- */

static void test_empty_and_size(void)
{
	vfd_domain *d = NULL;
	char *err = NULL, *big;
	size_t cap = VFD_DOMAIN_XML_MAX_BYTES, head, tail;
	const char *h = DOMAIN_HEAD "<memory>1</memory><!--", *t = "-->" DOMAIN_TAIL;

	ASSERT_ERRNO(vfd_domain_parse_xml("", 0, &d, &err), -ENODATA);
	ASSERT_TRUE(err != NULL);
	free(err);
	err = NULL;

	/* a valid document of exactly the cap parses; one byte more does not */
	head = strlen(h);
	tail = strlen(t);
	big = malloc(cap + 1);
	ASSERT_TRUE(big != NULL);
	if (!big)
		return;
	memcpy(big, h, head);
	memset(big + head, 'x', cap + 1 - head - tail);
	memcpy(big + cap + 1 - tail, t, tail);
	ASSERT_ERRNO(vfd_domain_parse_xml(big, cap + 1, &d, &err), -EFBIG);
	ASSERT_TRUE(err && strstr(err, "larger"));
	free(err);
	err = NULL;
	memmove(big + cap - tail, t, tail);
	ASSERT_TRUE(vfd_domain_parse_xml(big, cap, &d, &err) == 0);
	ASSERT_TRUE(d && d->memory_kib == 1);
	d = vfd_domain_free(d);
	free(err);
	free(big);
}

static char *nested(unsigned levels)
{
	static const char open[] = "<x>", close[] = "</x>";
	size_t size = strlen(DOMAIN_HEAD) + 32 + levels * 7 + strlen(DOMAIN_TAIL) + 1;
	char *s = malloc(size), *p;

	if (!s)
		return NULL;
	p = s + sprintf(s, "%s<memory>1</memory>", DOMAIN_HEAD);
	for (unsigned i = 0; i < levels; i++)
		p = stpcpy(p, open);
	for (unsigned i = 0; i < levels; i++)
		p = stpcpy(p, close);
	strcpy(p, DOMAIN_TAIL);
	return s;
}

static void test_depth(void)
{
	char *err = NULL, *s;

	/* <domain> is level 1: 63 more levels are the most accepted */
	s = nested(VFD_DOMAIN_XML_MAX_DEPTH - 1);
	ASSERT_TRUE(s && parse_error(s, &err) == 0);
	free(s);
	free(err);
	s = nested(VFD_DOMAIN_XML_MAX_DEPTH);
	ASSERT_TRUE(s && parse_error(s, &err) == -ELOOP);
	ASSERT_TRUE(err && strstr(err, "deeper"));
	free(s);
	free(err);
	/* far deeper than libxml2's own limit: refused there, without a crash */
	s = nested(100000);
	ASSERT_TRUE(s && parse_error(s, &err) == -EBADMSG);
	free(s);
	free(err);
}

static void test_billion_laughs(void)
{
	static const char lol[] =
		"<?xml version='1.0'?>\n"
		"<!DOCTYPE domain [\n"
		" <!ENTITY lol 'lol'>\n"
		" <!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n"
		" <!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>\n"
		" <!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>\n"
		" <!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>\n"
		" <!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>\n"
		" <!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>\n"
		" <!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>\n"
		" <!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>\n"
		" <!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>\n"
		"]>\n"
		"<domain type='kvm'><name>&lol9;</name><memory>1</memory></domain>\n";
	char *err = NULL;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	ASSERT_ERRNO(parse_error(lol, &err), -EPERM);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ASSERT_TRUE(err && strstr(err, "DOCTYPE"));
	/* refused before any expansion: well under a second */
	ASSERT_TRUE(b.tv_sec - a.tv_sec < 2);
	free(err);

	/* a DOCTYPE is refused even without entities, and an ENTITY anywhere too */
	ASSERT_ERRNO(parse_error("<!DOCTYPE domain><domain type='kvm'><memory>1</memory></domain>", &err), -EPERM);
	free(err);
	ASSERT_ERRNO(parse_error(DOMAIN_HEAD "<memory>1</memory><!-- <!ENTITY x 'y'> -->" DOMAIN_TAIL, &err), -EPERM);
	free(err);
}

static void test_external_entity(void)
{
	char *dir = vfd_test_mkdtemp();
	char secret_path[PATH_MAX], xml[PATH_MAX + 256];
	vfd_domain *d = NULL;
	char *err = NULL;

	/* a file the document asks to include: its content must never show up */
	vfd_test_write_file(dir, "secret", "SECRET-4711");
	snprintf(secret_path, sizeof(secret_path), "%s/secret", dir);

	snprintf(xml, sizeof(xml),
		 "<?xml version='1.0'?>\n"
		 "<!DOCTYPE domain [ <!ENTITY xxe SYSTEM 'file://%s%s'> ]>\n"
		 "<domain type='kvm'><name>&xxe;</name><memory>1</memory></domain>\n",
		 secret_path[0] == '/' ? "" : "/", secret_path);
	ASSERT_ERRNO(parse_string(xml, &d, &err), -EPERM);
	ASSERT_TRUE(d == NULL);
	ASSERT_TRUE(err && !strstr(err, "SECRET"));
	free(err);

	/* the classic target, and a parameter entity pulling an external DTD */
	ASSERT_TRUE(parse_error("<!DOCTYPE domain [ <!ENTITY x SYSTEM 'file:///etc/passwd'> ]>"
			  "<domain type='kvm'><name>&x;</name><memory>1</memory></domain>", &err) == -EPERM);
	free(err);
	ASSERT_TRUE(parse_error("<!DOCTYPE domain SYSTEM 'http://127.0.0.1:9/x.dtd'>"
			  "<domain type='kvm'><memory>1</memory></domain>", &err) == -EPERM);
	free(err);
	/* an undeclared entity reference is simply malformed */
	ASSERT_TRUE(parse_error(DOMAIN_HEAD "<memory>1</memory><description>&xxe;</description>" DOMAIN_TAIL,
			  &err) == -EBADMSG);
	free(err);
	vfd_test_rm_rf(dir);
	free(dir);
}

static void test_encodings(void)
{
	static const char utf16[] = "<\0d\0o\0m\0a\0i\0n\0/\0>\0";
	static const char utf7[] =
		"<?xml version='1.0' encoding='UTF-7'?>"
		"+ADw-!DOCTYPE domain +AFs- +ADw-!ENTITY x SYSTEM 'file:///etc/passwd'+AD4- +AF0-+AD4-"
		"<domain type='kvm'><name>x</name><memory>1</memory></domain>";
	vfd_domain *d = NULL;
	char *err = NULL;

	/* UTF-16 (NUL bytes) is refused before the parser could decode a hidden DOCTYPE */
	ASSERT_ERRNO(vfd_domain_parse_xml(utf16, sizeof(utf16) - 1, &d, &err), -EBADMSG);
	ASSERT_TRUE(err && strstr(err, "NUL"));
	free(err);
	/* a declared UTF-7 is ignored: the '+ADw-' text before the root is malformed UTF-8 XML */
	ASSERT_ERRNO(parse_error(utf7, &err), -EBADMSG);
	free(err);
	/* invalid UTF-8 */
	ASSERT_TRUE(parse_error(DOMAIN_HEAD "<memory>1</memory><description>\xff\xfe</description>" DOMAIN_TAIL,
			  &err) == -EBADMSG);
	free(err);
	/* an honest UTF-8 declaration is fine */
	ASSERT_TRUE(parse_string("<?xml version='1.0' encoding='UTF-8'?>" DOMAIN_HEAD "<memory>1</memory>"
			   "<description>grüße</description>" DOMAIN_TAIL, &d, &err) == 0);
	vfd_domain_free(d);
	free(err);
}

static void test_malformed_and_root(void)
{
	char *err = NULL;

	ASSERT_ERRNO(parse_error("<domain type='kvm'><memory>1</memory>", &err), -EBADMSG);
	ASSERT_TRUE(err && strstr(err, "line"));
	free(err);
	ASSERT_ERRNO(parse_error("not xml at all", &err), -EBADMSG);
	free(err);
	ASSERT_ERRNO(parse_error("<domain type='kvm'><memory>1</memory></domain><domain/>", &err), -EBADMSG);
	free(err);
	ASSERT_TRUE(parse_error("<!doctype domain><domain type='kvm'/>", &err) < 0);
	free(err);

	ASSERT_ERRNO(parse_error("<network><name>default</name></network>", &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "<network>"));
	free(err);
	ASSERT_ERRNO(parse_error("<x:domain xmlns:x='urn:x' type='kvm'><memory>1</memory></x:domain>", &err), -EINVAL);
	free(err);
	/* XInclude is not processed: the element is just unknown */
	ASSERT_TRUE(parse_error(DOMAIN_HEAD "<memory>1</memory><xi:include xmlns:xi='http://www.w3.org/2001/XInclude' "
			  "href='file:///etc/passwd' parse='text'/>" DOMAIN_TAIL, &err) == 0);
	free(err);
}

static void test_parse_file(void)
{
	char *dir = vfd_test_mkdtemp();
	char path[PATH_MAX];
	vfd_domain *d = NULL;
	char *err = NULL;
	int fd, pfd[2], saved;
	pid_t pid;

	ASSERT_ERRNO(vfd_domain_parse_file("/nonexistent/domain.xml", &d, &err), -ENOENT);
	ASSERT_TRUE(err && strstr(err, "/nonexistent/domain.xml"));
	free(err);
	ASSERT_ERRNO(vfd_domain_parse_file(fixtures(), &d, &err), -EISDIR);
	free(err);

	/* a 4 GiB sparse file is refused by its size, without reading it */
	snprintf(path, sizeof(path), "%s/sparse.xml", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_TRUE(ftruncate(fd, 4LL << 30) == 0);
	close(fd);
	ASSERT_ERRNO(vfd_domain_parse_file(path, &d, &err), -EFBIG);
	free(err);
	vfd_test_rm_rf(dir);
	free(dir);

	/* a pipe has no size: reading stops one byte past the cap */
	ASSERT_TRUE(pipe(pfd) == 0);
	pid = fork();
	if (pid == 0) {
		static char block[65536];

		close(pfd[0]);
		memset(block, ' ', sizeof(block));
		signal(SIGPIPE, SIG_DFL);
		/* endless: only the reader's stop ends this */
		for (;;)
			if (write(pfd[1], block, sizeof(block)) < 0)
				_exit(0);
	}
	close(pfd[1]);
	saved = dup(STDIN_FILENO);
	ASSERT_TRUE(dup2(pfd[0], STDIN_FILENO) == STDIN_FILENO);
	close(pfd[0]);
	ASSERT_ERRNO(vfd_domain_parse_file("-", &d, &err), -EFBIG);
	free(err);
	ASSERT_TRUE(dup2(saved, STDIN_FILENO) == STDIN_FILENO);
	close(saved);
	if (pid > 0) {
		int status;

		/* the writer dies of SIGPIPE once our end is closed */
		ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
	}
}

VFD_TEST_MAIN(
	VFD_TEST(test_libvirt_cases_read),
	VFD_TEST(test_read_viommu_hostdevs),
	VFD_TEST(test_read_nvme_disk),
	VFD_TEST(test_read_mdev),
	VFD_TEST(test_read_vdpa_interface),
	VFD_TEST(test_read_vdpa_disk),
	VFD_TEST(test_read_pseries_phbs),
	VFD_TEST(test_read_unindexed_controllers),
	VFD_TEST(test_read_network_interfaces),
	VFD_TEST(test_read_numa_dimm_memory),
	VFD_TEST(test_read_non_vfio_hostdevs),
	VFD_TEST(test_units),
	VFD_TEST(test_memory_values),
	VFD_TEST(test_bad_devices),
	VFD_TEST(test_read_uuid_and_managed),
	VFD_TEST(test_empty_and_size),
	VFD_TEST(test_depth),
	VFD_TEST(test_billion_laughs),
	VFD_TEST(test_external_entity),
	VFD_TEST(test_encodings),
	VFD_TEST(test_malformed_and_root),
	VFD_TEST(test_parse_file),
	VFD_TEST(test_read_memory_device_errors),
)
