/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen-host OUTDIR FUNCTIONS MDEVS
 *
 * Writes a generated host of exactly FUNCTIONS PCI functions and MDEVS mdev
 * instances into OUTDIR/sys, laid out like the kernel's sysfs (the same
 * attributes, the same relative links) as far as vfiod and lspci read it:
 * vendor, device, subsystem ids, class, config (the 64 bytes an
 * unprivileged reader sees), numa_node, driver_override, driver and
 * iommu_group links, both sides of every bus/driver/group link, SR-IOV
 * physfn/virtfn links, mdev parents with mdev_supported_types and their
 * instances. tests/fixtures/make-synthetic-host.sh is the hand-written
 * model; this one is made for size.
 *
 * The host, deterministic for given sizes: per PCI domain a host bridge
 * (00:00.0) and up to 248 root ports on bus 00, each leading to one card on
 * its own bus. Cards cycle through kinds: GPU + HDMI audio on vfio-pci, a
 * dual-port e1000e NIC (one group, two functions), an NVMe SSD, an igb
 * SR-IOV PF with 4 VFs (each VF its own group, half on vfio-pci), an xHCI
 * controller, an unbound device. The first cards are i915-like mdev
 * parents (two types) that hold the MDEVS instances, 64 to a parent,
 * each in its own IOMMU group. Every root port is its own group.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_LEN 1024
#define MDEVS_PER_PARENT 64
#define ROOT_PORTS_PER_DOMAIN 248 /* slots 1..31, functions 0..7 */

static const char *out;
static unsigned next_group;

static void die(const char *what, const char *path)
{
	fprintf(stderr, "gen-host: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

/* pathf BUF FORMAT...: a path into a PATH_LEN buffer; too long is fatal */
static void pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *buf, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, PATH_LEN, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_LEN) {
		fprintf(stderr, "gen-host: path too long\n");
		exit(1);
	}
}

/* mkdir -p OUT/rel */
static void mkdirs(const char *rel)
{
	char p[PATH_LEN];

	pathf(p, "%s/%s", out, rel);
	for (char *s = p + strlen(out) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			die("cannot create", p);
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		die("cannot create", p);
}

static void parent_dir(const char *rel, char *ret)
{
	char *slash;

	strcpy(ret, rel);
	slash = strrchr(ret, '/');
	if (slash)
		*slash = '\0';
	else
		ret[0] = '\0';
}

/* put REL FORMAT...: a text attribute with sysfs's trailing newline */
static void put(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *rel, const char *fmt, ...)
{
	char p[PATH_LEN];
	va_list ap;
	FILE *f;

	pathf(p, "%s/%s", out, rel);
	f = fopen(p, "we");
	if (!f && errno == ENOENT) {
		char dir[PATH_LEN];

		parent_dir(rel, dir);
		mkdirs(dir);
		f = fopen(p, "we");
	}
	if (!f)
		die("cannot write", p);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	if (fclose(f) != 0)
		die("cannot write", p);
}

static void touch(const char *rel)
{
	char p[PATH_LEN];
	int fd;

	pathf(p, "%s/%s", out, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die("cannot create", p);
	close(fd);
}

/*
 * link LINK TARGET, both relative to OUT: a relative symlink as sysfs has,
 * the leading components the link's directory and the target share dropped
 */
static void link_rel(const char *link, const char *target)
{
	char from[PATH_LEN], rel[PATH_LEN] = "", p[PATH_LEN];
	const char *f, *t;

	parent_dir(link, from);
	f = from;
	t = target;
	for (;;) {
		size_t n = strcspn(f, "/");

		if (n == 0 || strncmp(f, t, n) != 0 || (t[n] != '/' && t[n] != '\0'))
			break;
		f += n + (f[n] == '/');
		t += n + (t[n] == '/');
	}
	while (*f) {
		strcat(rel, "../");
		f += strcspn(f, "/");
		f += *f == '/';
	}
	strcat(rel, t);

	pathf(p, "%s/%s", out, link);
	if (symlink(rel, p) < 0) {
		if (errno != ENOENT)
			die("cannot link", p);
		mkdirs(from);
		if (symlink(rel, p) < 0)
			die("cannot link", p);
	}
}

/* the first 64 bytes of config space */
static void config(const char *dev, unsigned vendor, unsigned device, unsigned class,
		   unsigned header_type)
{
	unsigned char c[64] = { 0 };
	char rel[PATH_LEN], p[PATH_LEN];
	int fd;

	c[0] = vendor & 0xff;
	c[1] = vendor >> 8;
	c[2] = device & 0xff;
	c[3] = device >> 8;
	c[4] = 6;    /* command */
	c[6] = 16;   /* status: capability list */
	c[8] = 1;    /* revision */
	c[9] = class & 0xff;
	c[10] = (class >> 8) & 0xff;
	c[11] = class >> 16;
	c[14] = header_type;
	pathf(rel, "%s/config", dev);
	pathf(p, "%s/%s", out, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, c, sizeof(c)) != (ssize_t)sizeof(c))
		die("cannot write", p);
	close(fd);
}

static void driver(const char *bus, const char *name, const char *module)
{
	char rel[PATH_LEN], target[PATH_LEN];

	pathf(rel, "sys/bus/%s/drivers/%s", bus, name);
	mkdirs(rel);
	for (const char *const *a = (const char *const[]){ "bind", "unbind", "new_id",
							  "remove_id", NULL }; *a; a++) {
		char f[PATH_LEN];

		if (strcmp(bus, "pci") != 0 && (strcmp(*a, "new_id") == 0 ||
						strcmp(*a, "remove_id") == 0))
			continue;
		pathf(f, "%s/%s", rel, *a);
		touch(f);
	}
	if (module) {
		pathf(target, "sys/module/%s", module);
		mkdirs(target);
		pathf(rel, "sys/bus/%s/drivers/%s/module", bus, name);
		link_rel(rel, target);
	}
}

/* the device at DIR (named NAME) joins IOMMU group N */
static void group(unsigned n, const char *dir, const char *name)
{
	char rel[PATH_LEN], g[PATH_LEN];

	pathf(g, "sys/kernel/iommu_groups/%u", n);
	pathf(rel, "%s/devices", g);
	mkdirs(rel);
	pathf(rel, "%s/type", g);
	put(rel, "DMA");
	pathf(rel, "%s/devices/%s", g, name);
	link_rel(rel, dir);
	pathf(rel, "%s/iommu_group", dir);
	link_rel(rel, g);
}

struct func {
	unsigned vendor, device, subvendor, subdevice, class, header;
	const char *driver;
	bool override; /* driver_override set to the driver */
};

static unsigned functions_made, functions_wanted;

/* pci PARENT DOMAIN BUS DEVFN F GROUP: one function; its directory in ret */
static void pci(const char *parent, unsigned domain, unsigned bus, unsigned devfn,
		const struct func *f, unsigned grp, int numa, char *ret)
{
	char name[32], dir[PATH_LEN], rel[PATH_LEN], target[PATH_LEN];

	pathf(name, "%04x:%02x:%02x.%u", domain, bus, devfn >> 3, devfn & 7);
	pathf(dir, "%s/%s", parent, name);
	mkdirs(dir);

#define ATTR(attr, ...) do { pathf(rel, "%s/" attr, dir); put(rel, __VA_ARGS__); } while (0)
	ATTR("vendor", "0x%04x", f->vendor);
	ATTR("device", "0x%04x", f->device);
	ATTR("subsystem_vendor", "0x%04x", f->subvendor);
	ATTR("subsystem_device", "0x%04x", f->subdevice);
	ATTR("class", "0x%06x", f->class);
	ATTR("numa_node", "%d", numa);
	ATTR("enable", "1");
	ATTR("irq", "%u", 16 + functions_made % 200);
	ATTR("local_cpus", "ffffffff");
	ATTR("modalias", "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", f->vendor, f->device,
	     f->subvendor, f->subdevice, f->class >> 16, (f->class >> 8) & 0xff, f->class & 0xff);
	if (f->override)
		ATTR("driver_override", "%s", f->driver);
	else
		ATTR("driver_override", "(null)");
#undef ATTR
	config(dir, f->vendor, f->device, f->class, f->header);
	pathf(rel, "%s/resource", dir);
	put(rel, "0x00000000fe000000 0x00000000feffffff 0x0000000000040200");
	pathf(rel, "%s/remove", dir);
	touch(rel);

	pathf(rel, "%s/subsystem", dir);
	link_rel(rel, "sys/bus/pci");
	pathf(rel, "sys/bus/pci/devices/%s", name);
	link_rel(rel, dir);
	if (f->driver) {
		pathf(target, "sys/bus/pci/drivers/%s", f->driver);
		pathf(rel, "%s/driver", dir);
		link_rel(rel, target);
		pathf(rel, "sys/bus/pci/drivers/%s/%s", f->driver, name);
		link_rel(rel, dir);
	}
	group(grp, dir, name);

	functions_made++;
	if (ret)
		strcpy(ret, dir);
}

static bool room(void)
{
	return functions_made < functions_wanted;
}

static unsigned mdevs_made, mdevs_wanted;

static void mdev_type(const char *parent, const char *id, const char *name, unsigned avail)
{
	char rel[PATH_LEN];

	pathf(rel, "%s/mdev_supported_types/%s/devices", parent, id);
	mkdirs(rel);
#define TATTR(attr, ...) do { pathf(rel, "%s/mdev_supported_types/%s/" attr, parent, id); put(rel, __VA_ARGS__); } while (0)
	TATTR("name", "%s", name);
	TATTR("description", "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4");
	TATTR("device_api", "vfio-pci");
	TATTR("available_instances", "%u", avail);
#undef TATTR
	pathf(rel, "%s/mdev_supported_types/%s/create", parent, id);
	touch(rel);
}

/* an mdev parent at DIR named NAME, with up to MDEVS_PER_PARENT instances */
static void mdev_parent(const char *dir, const char *name, unsigned parent_index)
{
	static const char *const types[] = { "i915-GVTg_V5_4", "i915-GVTg_V5_8" };
	char rel[PATH_LEN], target[PATH_LEN];

	pathf(rel, "sys/class/mdev_bus/%s", name);
	link_rel(rel, dir);
	mdev_type(dir, types[0], "GVTg_V5_4", 8);
	mdev_type(dir, types[1], "GVTg_V5_8", 16);

	for (unsigned i = 0; i < MDEVS_PER_PARENT && mdevs_made < mdevs_wanted; i++) {
		const char *type = types[i % 2];
		char uuid[40], m[PATH_LEN];

		pathf(uuid, "83b8f4f2-509f-382f-%04x-%012x", parent_index, i);
		pathf(m, "%s/%s", dir, uuid);
		mkdirs(m);
		pathf(rel, "%s/remove", m);
		touch(rel);
		pathf(rel, "%s/mdev_type", m);
		pathf(target, "%s/mdev_supported_types/%s", dir, type);
		link_rel(rel, target);
		pathf(rel, "%s/mdev_supported_types/%s/devices/%s", dir, type, uuid);
		link_rel(rel, m);
		pathf(rel, "%s/subsystem", m);
		link_rel(rel, "sys/bus/mdev");
		pathf(rel, "%s/driver", m);
		link_rel(rel, "sys/bus/mdev/drivers/intel_vgpu_mdev");
		pathf(rel, "sys/bus/mdev/drivers/intel_vgpu_mdev/%s", uuid);
		link_rel(rel, m);
		pathf(rel, "sys/bus/mdev/devices/%s", uuid);
		link_rel(rel, m);
		group(next_group++, m, uuid);
		mdevs_made++;
	}
}

enum card_kind { CARD_GPU, CARD_NIC, CARD_NVME, CARD_SRIOV, CARD_XHCI, CARD_UNBOUND, CARD_KINDS };

static void card(const char *port, unsigned domain, unsigned bus, enum card_kind kind, int numa)
{
	static const struct func gpu = { 0x10de, 0x1e84, 0x1458, 0x37c2, 0x030000, 0x80, "vfio-pci", true };
	static const struct func hda = { 0x10de, 0x10f8, 0x1458, 0x37c2, 0x040300, 0x00, "vfio-pci", false };
	static const struct func nic0 = { 0x8086, 0x105e, 0x8086, 0x115e, 0x020000, 0x80, "e1000e", false };
	static const struct func nic1 = { 0x8086, 0x105e, 0x8086, 0x115e, 0x020000, 0x00, "e1000e", false };
	static const struct func nvme = { 0x144d, 0xa808, 0x144d, 0xa801, 0x010802, 0x00, "nvme", false };
	static const struct func pf = { 0x8086, 0x10c9, 0x8086, 0xa03c, 0x020000, 0x80, "igb", false };
	static const struct func vf_vfio = { 0x8086, 0x10ca, 0x8086, 0xa03c, 0x020000, 0x00, "vfio-pci", false };
	static const struct func vf_host = { 0x8086, 0x10ca, 0x8086, 0xa03c, 0x020000, 0x00, "igbvf", false };
	static const struct func xhci = { 0x1912, 0x0014, 0x1912, 0x0014, 0x0c0330, 0x00, "xhci_hcd", false };
	static const struct func unbound = { 0x13f6, 0x0111, 0x13f6, 0x0111, 0x040100, 0x00, NULL, false };
	char pfdir[PATH_LEN], vfdir[PATH_LEN], rel[PATH_LEN];
	unsigned g = next_group++;

	switch (kind) {
	case CARD_GPU:
		pci(port, domain, bus, 0, &gpu, g, numa, NULL);
		if (room())
			pci(port, domain, bus, 1, &hda, g, numa, NULL);
		break;
	case CARD_NIC:
		pci(port, domain, bus, 0, &nic0, g, numa, NULL);
		if (room())
			pci(port, domain, bus, 1, &nic1, g, numa, NULL);
		break;
	case CARD_NVME:
		pci(port, domain, bus, 0, &nvme, g, numa, NULL);
		break;
	case CARD_SRIOV: {
		unsigned vfs = 0;

		pci(port, domain, bus, 0, &pf, g, numa, pfdir);
		pathf(rel, "%s/sriov_totalvfs", pfdir);
		put(rel, "7");
		pathf(rel, "%s/sriov_offset", pfdir);
		put(rel, "128");
		pathf(rel, "%s/sriov_stride", pfdir);
		put(rel, "2");
		/* VFs sit next to their PF, one level below the root port */
		for (unsigned v = 0; v < 4 && room(); v++, vfs++) {
			pci(port, domain, bus, 0x80 + 2 * v, v % 2 ? &vf_host : &vf_vfio,
			    next_group++, numa, vfdir);
			pathf(rel, "%s/physfn", vfdir);
			link_rel(rel, pfdir);
			pathf(rel, "%s/virtfn%u", pfdir, v);
			link_rel(rel, vfdir);
		}
		pathf(rel, "%s/sriov_numvfs", pfdir);
		put(rel, "%u", vfs);
		break;
	}
	case CARD_XHCI:
		pci(port, domain, bus, 0, &xhci, g, numa, NULL);
		break;
	default:
		pci(port, domain, bus, 0, &unbound, g, numa, NULL);
		break;
	}
}

int main(int argc, char *argv[])
{
	static const struct func host_bridge = { 0x8086, 0x3e30, 0x1043, 0x8694, 0x060000, 0x00, NULL, false };
	static const struct func root_port = { 0x8086, 0x1901, 0x1043, 0x8694, 0x060400, 0x01, "pcieport", false };
	static const struct func igpu = { 0x8086, 0x3e92, 0x1043, 0x8694, 0x030000, 0x00, "i915", false };
	unsigned parents, parents_made = 0, cards = 0;
	char *end;

	if (argc != 4) {
		fprintf(stderr, "usage: %s OUTDIR FUNCTIONS MDEVS\n", argv[0]);
		return 2;
	}
	out = argv[1];
	functions_wanted = strtoul(argv[2], &end, 10);
	if (*end || functions_wanted < 2)
		return fprintf(stderr, "gen-host: FUNCTIONS must be a number >= 2\n"), 2;
	mdevs_wanted = strtoul(argv[3], &end, 10);
	if (*end)
		return fprintf(stderr, "gen-host: MDEVS must be a number\n"), 2;
	parents = (mdevs_wanted + MDEVS_PER_PARENT - 1) / MDEVS_PER_PARENT;
	if (parents * 2 + 1 > functions_wanted)
		return fprintf(stderr, "gen-host: too many mdevs for so few functions\n"), 2;

	if (mkdir(out, 0755) < 0 && errno != EEXIST)
		die("cannot create", out);
	mkdirs("sys/bus/pci/devices");
	mkdirs("sys/kernel/iommu_groups");
	mkdirs("sys/bus/mdev/devices");
	mkdirs("sys/class/mdev_bus");
	touch("sys/bus/pci/drivers_probe");
	put("sys/bus/pci/drivers_autoprobe", "1");
	driver("pci", "pcieport", NULL);
	driver("pci", "vfio-pci", "vfio_pci");
	driver("pci", "i915", "i915");
	driver("pci", "igb", "igb");
	driver("pci", "igbvf", "igbvf");
	driver("pci", "e1000e", "e1000e");
	driver("pci", "nvme", "nvme");
	driver("pci", "xhci_hcd", "xhci_pci");
	driver("mdev", "intel_vgpu_mdev", "kvmgt");
	mkdirs("sys/module/vfio_pci_core/holders");
	link_rel("sys/module/vfio_pci_core/holders/vfio_pci", "sys/module/vfio_pci");

	for (unsigned domain = 0; room(); domain++) {
		char rc[PATH_LEN];

		pathf(rc, "sys/devices/pci%04x:00", domain);
		mkdirs(rc);
		pci(rc, domain, 0, 0, &host_bridge, next_group++, domain % 2, NULL);

		for (unsigned p = 0; p < ROOT_PORTS_PER_DOMAIN && room(); p++) {
			unsigned devfn = 8 + p, bus = p + 1;
			char port[PATH_LEN], dev[PATH_LEN];

			pci(rc, domain, 0, devfn, &root_port, next_group++, domain % 2, port);
			if (!room())
				break;
			if (parents_made < parents) {
				char name[32];

				pci(port, domain, bus, 0, &igpu, next_group++, domain % 2, dev);
				pathf(name, "%04x:%02x:00.0", domain, bus);
				mdev_parent(dev, name, parents_made++);
				continue;
			}
			card(port, domain, bus, (enum card_kind)(cards++ % CARD_KINDS), domain % 2);
		}
	}
	if (mdevs_made != mdevs_wanted || functions_made != functions_wanted) {
		fprintf(stderr, "gen-host: made %u functions, %u mdevs\n", functions_made, mdevs_made);
		return 1;
	}
	return 0;
}
