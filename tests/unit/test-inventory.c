/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The inventory vfiod keeps in memory (daemon/inventory.c) against a fresh
 * read of the same fixture, after changes the simulator makes as the
 * kernel would (sysfs-sim.h): what is noted stale is re-read with what its
 * change touches, what is not noted stays as it was (so the comparison can
 * fail), a device gone before its re-read vanishes, and a lost event
 * (inventory_note_all) reads everything. The real-kernel version, with
 * uevents: tests/vm/cases/vm-inventory-cache.sh.
 *
 * Two contexts on one tree: the inventory's, which never writes (so a
 * fixture's "re-read after vfiod's own writes" does not hide a missing
 * note), and the one the changes are made through.
 */
#include <stdio.h>
#include <unistd.h>

#include "inventory.h"
#include "sysfs-sim.h"
#include "vfd-test.h"
#include "vfiod/fault.h"
#include "vfiod/inventory.h"

#define MDEV_UUID "5f0f4d4e-2a6b-4c1e-9d3a-0b1c2d3e4f50"
#define MTTY2_CREATE "sys/class/mdev_bus/mtty/mdev_supported_types/mtty-2/create"

typedef struct fixture {
	char *root;
	vfd_context *reader, *writer;
	sim *sim;
	Inventory *inv;
} fixture;

static fixture setup(void)
{
	fixture f;

	f.root = tree_copy(vfd_test_synthetic_host());
	ASSERT_OK(vfd_context_new(f.root, &f.reader));
	ASSERT_OK(vfd_context_new(f.root, &f.writer));
	f.sim = sim_new(f.root);
	vfd_context_set_write_hook(f.writer, sim_write_hook, f.sim);
	ASSERT_OK(inventory_new(f.reader, false, &f.inv));
	ASSERT_OK(inventory_refresh(f.inv));
	return f;
}

static void teardown(fixture *f)
{
	inventory_free(f->inv);
	vfd_context_free(f->reader);
	vfd_context_free(f->writer);
	sim_free(f->sim);
	vfd_test_rm_rf(f->root);
	free(f->root);
}

static void dump_device(FILE *o, const vfd_pci_device *d)
{
	fprintf(o, "dev %s %04x:%04x class %06x driver %s override %s group %d bridge %d vfs %u/%u",
		d->name, d->vendor_id, d->device_id, d->class_code, d->driver ? d->driver : "-",
		d->driver_override ? d->driver_override : "-", d->iommu_group, d->is_bridge,
		d->sriov_numvfs, d->sriov_totalvfs);
	for (size_t i = 0; i < d->n_virtfns; i++) {
		char a[VFD_PCI_ADDRESS_STRLEN];

		fprintf(o, " vf %s", vfd_pci_address_format(&d->virtfns[i], a));
	}
	if (d->is_virtfn) {
		char a[VFD_PCI_ADDRESS_STRLEN];

		fprintf(o, " pf %s", vfd_pci_address_format(&d->physfn, a));
	}
	fputc('\n', o);
}

static void dump_group(FILE *o, const vfd_iommu_group *g)
{
	fprintf(o, "group %u viable %d:", g->id, g->viable);
	for (size_t i = 0; i < g->n_members; i++)
		fprintf(o, " %s/%s/%s/%d", g->members[i].name, g->members[i].bus,
			g->members[i].driver ? g->members[i].driver : "-", g->members[i].state);
	fputc('\n', o);
}

static void dump_parent(FILE *o, const vfd_mdev_parent *p)
{
	fprintf(o, "parent %s driver %s:", p->name, p->driver ? p->driver : "-");
	for (size_t i = 0; i < p->n_types; i++)
		fprintf(o, " %s=%u", p->types[i]->id, p->types[i]->available_instances);
	fputc('\n', o);
}

static void dump_mdev(FILE *o, const vfd_mdev *m)
{
	fprintf(o, "mdev %s %s/%s driver %s group %d\n", m->uuid, m->parent, m->type_id,
		m->driver ? m->driver : "-", m->iommu_group);
}

/* the kept inventory, every record, one line each */
static char *dump_kept(Inventory *inv)
{
	vfd_pci_device *const *d;
	vfd_iommu_group *const *g;
	vfd_mdev_parent *const *p;
	vfd_mdev *const *m;
	char *s = NULL;
	size_t n, len;
	FILE *o;

	o = open_memstream(&s, &len);
	ASSERT_NOT_NULL(o);
	inventory_devices(inv, &d, &n);
	for (size_t i = 0; i < n; i++)
		dump_device(o, d[i]);
	inventory_groups(inv, &g, &n);
	for (size_t i = 0; i < n; i++)
		dump_group(o, g[i]);
	inventory_mdev_parents(inv, &p, &n);
	for (size_t i = 0; i < n; i++)
		dump_parent(o, p[i]);
	inventory_mdevs(inv, &m, &n);
	for (size_t i = 0; i < n; i++)
		dump_mdev(o, m[i]);
	fclose(o);
	return s;
}

/* the same from a fresh read of the tree */
static char *dump_fresh(vfd_context *ctx)
{
	vfd_pci_device **d;
	vfd_iommu_group **g;
	vfd_mdev_parent **p;
	vfd_mdev **m;
	size_t nd, ng, np, nm, len;
	char *s = NULL;
	FILE *o;

	ASSERT_OK(vfd_pci_device_enumerate(ctx, &d, &nd));
	ASSERT_OK(vfd_iommu_group_enumerate(ctx, &g, &ng));
	ASSERT_OK(vfd_mdev_parent_enumerate(ctx, &p, &np));
	ASSERT_OK(vfd_mdev_enumerate(ctx, &m, &nm));
	o = open_memstream(&s, &len);
	ASSERT_NOT_NULL(o);
	for (size_t i = 0; i < nd; i++)
		dump_device(o, d[i]);
	for (size_t i = 0; i < ng; i++)
		dump_group(o, g[i]);
	for (size_t i = 0; i < np; i++)
		dump_parent(o, p[i]);
	for (size_t i = 0; i < nm; i++)
		dump_mdev(o, m[i]);
	fclose(o);
	vfd_pci_device_array_free(d, nd);
	vfd_iommu_group_array_free(g, ng);
	vfd_mdev_parent_array_free(p, np);
	vfd_mdev_array_free(m, nm);
	return s;
}

static void assert_kept_is_fresh(fixture *f)
{
	char *kept, *fresh;

	ASSERT_OK(inventory_refresh(f->inv));
	kept = dump_kept(f->inv);
	fresh = dump_fresh(f->reader);
	ASSERT_STREQ(kept, fresh);
	free(kept);
	free(fresh);
}

static void assert_kept_is_stale(fixture *f)
{
	char *kept, *fresh;

	ASSERT_OK(inventory_refresh(f->inv));
	kept = dump_kept(f->inv);
	fresh = dump_fresh(f->reader);
	ASSERT_TRUE(strcmp(kept, fresh) != 0);
	free(kept);
	free(fresh);
}

/* a bridge-free function bound to a host driver in the synthetic host */
static const char *bound_function(fixture *f)
{
	vfd_pci_device *const *d;
	size_t n;

	inventory_devices(f->inv, &d, &n);
	for (size_t i = 0; i < n; i++)
		if (d[i]->driver && strcmp(d[i]->driver, "vfio-pci") != 0 && !d[i]->is_bridge &&
		    d[i]->iommu_group >= 0 && !d[i]->is_virtfn && d[i]->sriov_totalvfs == 0)
			return d[i]->name;
	return NULL;
}

static void test_starts_equal(void)
{
	fixture f = setup();
	size_t n;
	vfd_pci_device *const *d;

	inventory_devices(f.inv, &d, &n);
	ASSERT_TRUE(n > 0);
	assert_kept_is_fresh(&f);
	teardown(&f);
}

static void test_unbind_and_bind_reread_device_and_group(void)
{
	fixture f = setup();
	char path[256], bdf[VFD_PCI_ADDRESS_STRLEN];
	const vfd_pci_device *before;
	vfd_pci_address a;

	ASSERT_NOT_NULL(bound_function(&f));
	snprintf(bdf, sizeof(bdf), "%s", bound_function(&f));
	ASSERT_OK(vfd_pci_address_parse(bdf, &a));
	before = inventory_device(f.inv, &a);
	ASSERT_NOT_NULL(before);

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver/unbind", bdf);
	ASSERT_OK(vfd_root_write_string(f.writer, path, bdf));
	/* no note: the copy is kept, not re-read (and the comparison can fail) */
	assert_kept_is_stale(&f);
	inventory_note_pci(f.inv, bdf);
	assert_kept_is_fresh(&f);
	ASSERT_NULL(inventory_device(f.inv, &a)->driver);

	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver_override", bdf);
	ASSERT_OK(vfd_root_write_string(f.writer, path, "vfio-pci"));
	ASSERT_OK(vfd_root_write_string(f.writer, "sys/bus/pci/drivers_probe", bdf));
	inventory_note_pci(f.inv, bdf);
	assert_kept_is_fresh(&f);
	ASSERT_STREQ(inventory_device(f.inv, &a)->driver, "vfio-pci");
	teardown(&f);
}

static void test_mdev_create_and_remove_reread_parent_and_group(void)
{
	fixture f = setup();
	size_t n_before, n;
	vfd_mdev *const *m;

	inventory_mdevs(f.inv, &m, &n_before);
	ASSERT_OK(vfd_root_write_string(f.writer, MTTY2_CREATE, MDEV_UUID));
	assert_kept_is_stale(&f);
	inventory_note_mdev(f.inv, MDEV_UUID);
	/* the mdev, its parent's available_instances and its new group */
	assert_kept_is_fresh(&f);
	inventory_mdevs(f.inv, &m, &n);
	ASSERT_EQ(n, n_before + 1);

	ASSERT_OK(vfd_root_write_string(f.writer, "sys/bus/mdev/devices/" MDEV_UUID "/remove", "1"));
	inventory_note_mdev(f.inv, MDEV_UUID);
	assert_kept_is_fresh(&f);
	inventory_mdevs(f.inv, &m, &n);
	ASSERT_EQ(n, n_before);
	teardown(&f);
}

/* the device is gone when its note is read: it leaves, and so do its group's traces */
static void test_a_device_gone_before_its_reread_vanishes(void)
{
	fixture f = setup();
	char bdf[VFD_PCI_ADDRESS_STRLEN], rel[512], *link, *dir;
	vfd_pci_device *const *d;
	vfd_pci_address a;
	size_t n_before, n;
	int group;

	snprintf(bdf, sizeof(bdf), "%s", bound_function(&f));
	ASSERT_OK(vfd_pci_address_parse(bdf, &a));
	group = inventory_device(f.inv, &a)->iommu_group;
	inventory_devices(f.inv, &d, &n_before);

	/* noted first, removed after: as a uevent read late */
	inventory_note_pci(f.inv, bdf);
	ASSERT_TRUE(asprintf(&link, "%s/sys/bus/pci/devices/%s", f.root, bdf) > 0);
	dir = realpath(link, NULL);
	ASSERT_NOT_NULL(dir);
	snprintf(rel, sizeof(rel), "%s/sys/kernel/iommu_groups/%d/devices/%s", f.root, group, bdf);
	ASSERT_OK(unlink(rel) < 0 ? -errno : 0);
	ASSERT_OK(unlink(link) < 0 ? -errno : 0);
	vfd_test_rm_rf(dir);

	assert_kept_is_fresh(&f);
	ASSERT_NULL(inventory_device(f.inv, &a));
	inventory_devices(f.inv, &d, &n);
	ASSERT_EQ(n, n_before - 1);
	free(link);
	free(dir);
	teardown(&f);
}

/* a VF leaves: its PF's virtfn links and numvfs are re-read with it */
static void test_a_vf_leaving_rereads_its_pf(void)
{
	fixture f = setup();
	vfd_pci_device *const *d;
	const vfd_pci_device *vf = NULL;
	char pf[VFD_PCI_ADDRESS_STRLEN], vfname[VFD_PCI_ADDRESS_STRLEN], path[512];
	char *link, *dir, **entries;
	size_t n;

	inventory_devices(f.inv, &d, &n);
	for (size_t i = 0; i < n && !vf; i++)
		if (d[i]->is_virtfn)
			vf = d[i];
	ASSERT_NOT_NULL(vf); /* the synthetic host has VFs of an SR-IOV PF */
	vfd_pci_address_format(&vf->physfn, pf);
	snprintf(vfname, sizeof(vfname), "%s", vf->name);

	/* the PF's virtfnN link naming this VF, then the VF itself */
	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s", pf);
	ASSERT_OK(vfd_root_list_dir(f.reader, path, &entries));
	for (char **e = entries; *e; e++) {
		char *target = NULL;

		if (strncmp(*e, "virtfn", 6) != 0)
			continue;
		snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/%s", pf, *e);
		ASSERT_OK(vfd_root_readlink_basename(f.reader, path, &target));
		if (strcmp(target, vfname) == 0) {
			char abs[1024];

			snprintf(abs, sizeof(abs), "%s/%s", f.root, path);
			ASSERT_OK(unlink(abs) < 0 ? -errno : 0);
		}
		free(target);
	}
	vfd_strv_free(entries);
	ASSERT_TRUE(asprintf(&link, "%s/sys/bus/pci/devices/%s", f.root, vfname) > 0);
	dir = realpath(link, NULL);
	ASSERT_NOT_NULL(dir);
	{
		vfd_pci_address a;
		int group;
		char rel[512];

		ASSERT_OK(vfd_pci_address_parse(vfname, &a));
		group = inventory_device(f.inv, &a)->iommu_group;
		snprintf(rel, sizeof(rel), "%s/sys/kernel/iommu_groups/%d/devices/%s", f.root, group, vfname);
		(void) unlink(rel);
	}
	ASSERT_OK(unlink(link) < 0 ? -errno : 0);
	vfd_test_rm_rf(dir);

	/* only the VF is named, as its uevent would */
	inventory_note_pci(f.inv, vfname);
	assert_kept_is_fresh(&f);
	free(link);
	free(dir);
	teardown(&f);
}

static void test_lost_events_read_everything(void)
{
	fixture f = setup();
	const char *bdf = bound_function(&f);
	char path[256], name[VFD_PCI_ADDRESS_STRLEN];
	unsigned long g;

	snprintf(name, sizeof(name), "%s", bdf);
	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver/unbind", name);
	ASSERT_OK(vfd_root_write_string(f.writer, path, name));
	ASSERT_OK(vfd_root_write_string(f.writer, MTTY2_CREATE, MDEV_UUID));
	assert_kept_is_stale(&f);

	g = inventory_generation(f.inv);
	inventory_note_all(f.inv);
	assert_kept_is_fresh(&f);
	ASSERT_TRUE(inventory_generation(f.inv) != g);
	/* and nothing more to do until the next change */
	g = inventory_generation(f.inv);
	ASSERT_OK(inventory_refresh(f.inv));
	ASSERT_EQ(inventory_generation(f.inv), g);
	teardown(&f);
}

/* with a fixture root, vfiod's own writes are the changes: it reads all after one */
static void test_fixture_rereads_after_its_own_writes(void)
{
	fixture f = setup();
	Inventory *inv;
	char path[256], name[VFD_PCI_ADDRESS_STRLEN];

	ASSERT_OK(inventory_new(f.writer, false, &inv));
	ASSERT_OK(inventory_refresh(inv));
	snprintf(name, sizeof(name), "%s", bound_function(&f));
	snprintf(path, sizeof(path), "sys/bus/pci/devices/%s/driver/unbind", name);
	ASSERT_OK(vfd_root_write_string(f.writer, path, name));
	ASSERT_OK(inventory_refresh(inv));
	{
		char *kept = dump_kept(inv), *fresh = dump_fresh(f.reader);

		ASSERT_STREQ(kept, fresh);
		free(kept);
		free(fresh);
	}
	inventory_free(inv);
	teardown(&f);
}

/* driver_override has no uevent: its writes are watched (inotify) */
static void test_a_driver_override_write_is_seen(void)
{
	fixture f = setup();
	char bdf[VFD_PCI_ADDRESS_STRLEN], path[1024];
	vfd_pci_address a;
	FILE *o;

	snprintf(bdf, sizeof(bdf), "%s", bound_function(&f));
	ASSERT_OK(vfd_pci_address_parse(bdf, &a));
	ASSERT_OK(inventory_watch_overrides(f.inv));
	assert_kept_is_fresh(&f); /* reads all, watches every function's override */
	ASSERT_NULL(inventory_device(f.inv, &a)->driver_override);

	/* written behind the inventory's back, noted by no one */
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/driver_override", f.root, bdf);
	o = fopen(path, "w");
	ASSERT_NOT_NULL(o);
	fputs("vfio-pci\n", o);
	ASSERT_OK(fclose(o));
	assert_kept_is_fresh(&f);
	ASSERT_STREQ(inventory_device(f.inv, &a)->driver_override, "vfio-pci");
	teardown(&f);
}

VFD_TEST_MAIN(
	VFD_TEST(test_starts_equal),
	VFD_TEST(test_unbind_and_bind_reread_device_and_group),
	VFD_TEST(test_mdev_create_and_remove_reread_parent_and_group),
	VFD_TEST(test_a_device_gone_before_its_reread_vanishes),
	VFD_TEST(test_a_vf_leaving_rereads_its_pf),
	VFD_TEST(test_lost_events_read_everything),
	VFD_TEST(test_fixture_rereads_after_its_own_writes),
	VFD_TEST(test_a_driver_override_write_is_seen),
)
