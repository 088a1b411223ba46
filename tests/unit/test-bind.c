/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Group claim and release (lib/bind.c) against a copy of the synthetic
 * host, with the kernel-reaction simulator (sysfs-sim.h) as write hook.
 *
 * The groups used (see tests/fixtures/make-synthetic-host.sh):
 *   2: 0000:01:00.0 + 0000:01:00.1, both vfio-pci
 *   5: 0000:02:00.0 igb PF        7: 0000:02:10.2 igbvf VF
 *   8: 0000:00:1e.0 PCIe-to-PCI bridge (unbound), 0000:03:00.0 e1000e,
 *      0000:03:01.0 vfio-pci, 0000:03:02.0 unbound
 *   9: 0000:00:03.0 on the variant driver nvgrace_gpu_vfio_pci
 *   0000:00:1f.4 has no group; 0000:00:1e.0 and 0000:00:01.0 are bridges
 */
#include <json-c/json.h>

#include "sysfs-sim.h"
#include "vfd-test.h"
#include "vfiod/bind.h"
#include "vfiod/fault.h"
#include "vfiod/inventory.h"

typedef struct fixture {
	char *root;
	vfd_context *ctx;
	sim *sim;
} fixture;

static fixture setup(void)
{
	fixture f;

	f.root = tree_copy(vfd_test_synthetic_host());
	ASSERT_OK(vfd_context_new(f.root, &f.ctx));
	f.sim = sim_new(f.root);
	vfd_context_set_write_hook(f.ctx, sim_write_hook, f.sim);
	return f;
}

static void teardown(fixture *f)
{
	vfd_context_free(f->ctx);
	sim_free(f->sim);
	vfd_test_rm_rf(f->root);
	free(f->root);
}

static vfd_pci_address addr(const char *s)
{
	vfd_pci_address a;

	if (vfd_pci_address_parse(s, &a) < 0)
		vfd_test_fail(__FILE__, __LINE__, "bad address %s", s);
	return a;
}

static int claim_one(fixture *f, const char *bdf, const vfd_bind_options *opts,
		     vfd_op_error *error, vfd_bind_record **ret)
{
	vfd_pci_address a = addr(bdf);

	vfd_op_error_clear(error);
	return vfd_bind_claim(f->ctx, &a, 1, opts, error, ret);
}

static void assert_driver(const fixture *f, const char *bdf, const char *want)
{
	char *d = fixture_pci_driver(f->root, bdf);

	if (want)
		ASSERT_STREQ(d, want);
	else if (d)
		vfd_test_fail(__FILE__, __LINE__, "%s: expected unbound, bound to %s", bdf, d);
	free(d);
}

static void assert_override(const fixture *f, const char *bdf, const char *want)
{
	char *o = fixture_pci_override(f->root, bdf);

	ASSERT_STREQ(o, want);
	free(o);
}

static const vfd_bind_member *member(const vfd_bind_record *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_members; i++)
		if (strcmp(r->members[i].name, name) == 0)
			return &r->members[i];
	vfd_test_fail(__FILE__, __LINE__, "%s not in the record", name);
}

/* Before a test that needs three members to move: 0000:03:01.0 unbound too. */
static void unbind_0301(fixture *f)
{
	ASSERT_OK(sim_write_hook("sys/bus/pci/drivers/vfio-pci/unbind", "0000:03:01.0", f->sim));
	sim_set_native(f->sim, "0000:03:01.0", NULL);
	assert_driver(f, "0000:03:01.0", NULL);
}

/* ---- claims that succeed ---- */

static void test_claim_single_function_group(void)
{
	fixture f = setup();
	vfd_bind_record *r = NULL;
	vfd_op_error e;

	ASSERT_OK(claim_one(&f, "0000:02:10.2", NULL, &e, &r));
	ASSERT_EQ(e.error, 0);
	ASSERT_EQ(r->n_members, 1);
	ASSERT_STREQ(r->members[0].name, "0000:02:10.2");
	ASSERT_EQ(r->members[0].group, 7);
	ASSERT_TRUE(r->members[0].requested);
	ASSERT_TRUE(r->members[0].changed);
	ASSERT_STREQ(r->members[0].original_driver, "igbvf");
	ASSERT_NULL(r->members[0].original_override);

	assert_driver(&f, "0000:02:10.2", "vfio-pci");
	assert_override(&f, "0000:02:10.2", "vfio-pci");
	/* driver_override only: new_id would capture every device with these IDs */
	ASSERT_FALSE(sim_wrote_path_suffix(f.sim, "new_id"));
	/* the override is set before the host driver lets go */
	ASSERT_STREQ(sim_write_at(f.sim, 0), "sys/bus/pci/devices/0000:02:10.2/driver_override=vfio-pci");
	ASSERT_STREQ(sim_write_at(f.sim, 1), "sys/bus/pci/drivers/igbvf/unbind=0000:02:10.2");
	ASSERT_STREQ(sim_write_at(f.sim, 2), "sys/bus/pci/drivers_probe=0000:02:10.2");
	ASSERT_EQ(sim_n_writes(f.sim), 3);

	vfd_bind_record_free(r);
	teardown(&f);
}

static void test_claim_group_with_bridge_and_unbound_member(void)
{
	fixture f = setup();
	vfd_bind_record *r = NULL;
	vfd_op_error e;

	ASSERT_OK(claim_one(&f, "0000:03:00.0", NULL, &e, &r));
	ASSERT_EQ(r->n_members, 4);
	/* by name within the group */
	ASSERT_STREQ(r->members[0].name, "0000:00:1e.0");
	ASSERT_STREQ(r->members[1].name, "0000:03:00.0");
	ASSERT_STREQ(r->members[2].name, "0000:03:01.0");
	ASSERT_STREQ(r->members[3].name, "0000:03:02.0");

	/* the bridge is never bound; the vfio-pci member is left alone */
	ASSERT_FALSE(r->members[0].changed);
	ASSERT_FALSE(r->members[2].changed);
	ASSERT_NULL(r->members[0].original_driver);
	ASSERT_STREQ(r->members[2].original_driver, "vfio-pci");
	ASSERT_FALSE(r->members[0].requested);
	assert_driver(&f, "0000:00:1e.0", NULL);
	assert_override(&f, "0000:00:1e.0", "(null)");
	assert_driver(&f, "0000:03:01.0", "vfio-pci");

	/* the requested function leaves its host driver */
	ASSERT_TRUE(r->members[1].changed);
	ASSERT_TRUE(r->members[1].requested);
	ASSERT_STREQ(r->members[1].original_driver, "e1000e");
	assert_driver(&f, "0000:03:00.0", "vfio-pci");

	/* the unbound endpoint goes to vfio-pci so no host driver can take it */
	ASSERT_TRUE(r->members[3].changed);
	ASSERT_FALSE(r->members[3].requested);
	ASSERT_NULL(r->members[3].original_driver);
	assert_driver(&f, "0000:03:02.0", "vfio-pci");

	vfd_bind_record_free(r);
	teardown(&f);
}

static void test_claim_group_already_on_vfio_changes_nothing(void)
{
	fixture f = setup();
	vfd_bind_record *r = NULL;
	char *before = tree_snapshot(f.root), *after;
	vfd_op_error e;

	ASSERT_OK(claim_one(&f, "0000:01:00.1", NULL, &e, &r));
	ASSERT_EQ(r->n_members, 2);
	ASSERT_FALSE(r->members[0].changed);
	ASSERT_FALSE(r->members[1].changed);
	ASSERT_FALSE(r->members[0].requested);
	ASSERT_TRUE(r->members[1].requested);
	ASSERT_EQ(sim_n_writes(f.sim), 0);

	/* and releasing it gives nothing back that vfiod did not take */
	ASSERT_OK(vfd_bind_release(f.ctx, r, &e));
	ASSERT_EQ(sim_n_writes(f.sim), 0);
	after = tree_snapshot(f.root);
	tree_assert_same(before, after);

	free(before);
	free(after);
	vfd_bind_record_free(r);
	teardown(&f);
}

static void test_claim_variant_driver_left_alone(void)
{
	fixture f = setup();
	vfd_bind_record *r = NULL;
	vfd_op_error e;

	ASSERT_OK(claim_one(&f, "0000:00:03.0", NULL, &e, &r));
	ASSERT_EQ(r->n_members, 1);
	ASSERT_FALSE(r->members[0].changed);
	assert_driver(&f, "0000:00:03.0", "nvgrace_gpu_vfio_pci");
	ASSERT_EQ(sim_n_writes(f.sim), 0);

	vfd_bind_record_free(r);
	teardown(&f);
}

static void test_claim_several_groups_sorted_by_group(void)
{
	fixture f = setup();
	vfd_pci_address a[] = { addr("0000:02:10.2"), addr("0000:02:00.0"), addr("0000:02:10.2") };
	vfd_bind_record *r = NULL;
	vfd_op_error e = { 0 };

	ASSERT_OK(vfd_bind_claim(f.ctx, a, 3, NULL, &e, &r));
	ASSERT_EQ(r->n_members, 2);
	ASSERT_STREQ(r->members[0].name, "0000:02:00.0");
	ASSERT_EQ(r->members[0].group, 5);
	ASSERT_STREQ(r->members[0].original_driver, "igb");
	ASSERT_STREQ(r->members[1].name, "0000:02:10.2");
	ASSERT_EQ(r->members[1].group, 7);
	assert_driver(&f, "0000:02:00.0", "vfio-pci");
	assert_driver(&f, "0000:02:10.2", "vfio-pci");

	vfd_bind_record_free(r);
	teardown(&f);
}

static void test_claim_host_member_when_allowed(void)
{
	fixture f = setup();
	vfd_bind_options opts = { .unbind_host_members = true };
	vfd_bind_record *r = NULL;
	vfd_op_error e;

	ASSERT_OK(claim_one(&f, "0000:03:02.0", &opts, &e, &r));
	ASSERT_TRUE(member(r, "0000:03:00.0")->changed);
	ASSERT_FALSE(member(r, "0000:03:00.0")->requested);
	assert_driver(&f, "0000:03:00.0", "vfio-pci");
	assert_driver(&f, "0000:03:02.0", "vfio-pci");

	vfd_bind_record_free(r);
	teardown(&f);
}

/* ---- refusals: a stable errno, the member named, nothing changed ---- */

static void assert_refused(const char *bdf, const vfd_bind_options *opts, int err,
			   const char *subject)
{
	fixture f = setup();
	char *before = tree_snapshot(f.root), *after;
	vfd_bind_record *r = NULL;
	vfd_op_error e;

	ASSERT_ERRNO(claim_one(&f, bdf, opts, &e, &r), err);
	ASSERT_NULL(r);
	ASSERT_EQ(e.error, err);
	ASSERT_STREQ(e.subject, subject);
	ASSERT_TRUE(e.message[0] != '\0');
	ASSERT_EQ(sim_n_writes(f.sim), 0);
	after = tree_snapshot(f.root);
	tree_assert_same(before, after);

	free(before);
	free(after);
	teardown(&f);
}

static void test_refuse_group_with_host_used_member(void)
{
	/* 0000:03:00.0 (e1000e) is not requested: the host uses it */
	assert_refused("0000:03:02.0", NULL, -EBUSY, "0000:03:00.0");
}

static void test_refuse_bridge(void)
{
	assert_refused("0000:00:1e.0", NULL, -ENOTSUP, "0000:00:1e.0");
	/* a root port on pcieport as well */
	assert_refused("0000:00:01.0", NULL, -ENOTSUP, "0000:00:01.0");
}

static void test_refuse_missing_address(void)
{
	assert_refused("0000:09:00.0", NULL, -ENODEV, "0000:09:00.0");
}

static void test_refuse_function_without_group(void)
{
	assert_refused("0000:00:1f.4", NULL, -ENXIO, "0000:00:1f.4");
}

static int owned_0301(const char *name, void *userdata)
{
	(*(unsigned *)userdata)++;
	return strcmp(name, "0000:03:01.0") == 0;
}

static void test_refuse_member_owned_by_another_vm(void)
{
	unsigned calls = 0;
	vfd_bind_options opts = { .owned_elsewhere = owned_0301, .userdata = &calls };

	assert_refused("0000:03:00.0", &opts, -EADDRINUSE, "0000:03:01.0");
}

static int owner_lookup_fails(const char *name, void *userdata)
{
	return -EIO;
}

static void test_refuse_when_owner_unknown(void)
{
	vfd_bind_options opts = { .owned_elsewhere = owner_lookup_fails };

	assert_refused("0000:02:10.2", &opts, -EIO, "0000:02:10.2");
}

static void test_refuse_without_vfio_pci_driver(void)
{
	fixture f = setup();
	vfd_bind_record *r = NULL;
	char *path, *before, *after;
	vfd_op_error e;

	if (asprintf(&path, "%s/sys/bus/pci/drivers/vfio-pci", f.root) < 0)
		vfd_test_fail(__FILE__, __LINE__, "out of memory");
	vfd_test_rm_rf(path);
	free(path);
	before = tree_snapshot(f.root);

	ASSERT_ERRNO(claim_one(&f, "0000:02:10.2", NULL, &e, &r), -ENOPKG);
	ASSERT_STREQ(e.subject, "vfio-pci");
	ASSERT_EQ(sim_n_writes(f.sim), 0);
	after = tree_snapshot(f.root);
	tree_assert_same(before, after);

	free(before);
	free(after);
	teardown(&f);
}

/* a driver named for the claim must be a VFIO one: e1000e is not, whatever its sysfs looks like */
static void test_refuse_named_non_vfio_driver(void)
{
	vfd_bind_options opts = { .driver = "e1000e" };
	fixture f = setup();
	vfd_bind_record *r = NULL;
	char *before, *after;
	vfd_op_error e;

	vfd_test_mkdir(f.root, "sys/bus/pci/drivers/e1000e");
	before = tree_snapshot(f.root);
	ASSERT_ERRNO(claim_one(&f, "0000:02:10.2", &opts, &e, &r), -ENOEXEC);
	ASSERT_STREQ(e.subject, "0000:02:10.2");
	ASSERT_TRUE(strstr(e.message, "e1000e is not a VFIO driver") != NULL);
	ASSERT_NULL(r);
	ASSERT_EQ(sim_n_writes(f.sim), 0);
	after = tree_snapshot(f.root);
	tree_assert_same(before, after);

	/* nor a name that is none: it would be written to driver_override */
	opts.driver = "vfio-pci\nigbvf";
	ASSERT_ERRNO(claim_one(&f, "0000:02:10.2", &opts, &e, &r), -EINVAL);
	ASSERT_EQ(sim_n_writes(f.sim), 0);

	free(before);
	free(after);
	teardown(&f);
}

/* vfio-pci named explicitly: bound to it, and the record says so */
static void test_claim_named_vfio_pci(void)
{
	vfd_bind_options opts = { .driver = "vfio_pci" };
	struct json_object *j = NULL;
	vfd_bind_record *r = NULL, *back = NULL;
	fixture f = setup();
	vfd_op_error e;

	ASSERT_OK(claim_one(&f, "0000:02:10.2", &opts, &e, &r));
	assert_driver(&f, "0000:02:10.2", "vfio-pci");
	ASSERT_STREQ(member(r, "0000:02:10.2")->vfio_driver, "vfio-pci");
	ASSERT_OK(vfd_bind_record_to_json(r, &j));
	ASSERT_OK(vfd_bind_record_from_json(j, &back));
	ASSERT_STREQ(member(back, "0000:02:10.2")->vfio_driver, "vfio-pci");
	json_object_put(j);
	vfd_bind_record_free(back);
	ASSERT_OK(vfd_bind_release(f.ctx, r, &e));
	assert_driver(&f, "0000:02:10.2", "igbvf");
	vfd_bind_record_free(r);
	teardown(&f);
}

static void test_refuse_invalid_arguments(void)
{
	fixture f = setup();
	vfd_pci_address a = addr("0000:02:10.2");
	vfd_bind_record *r = NULL;
	vfd_op_error e = { 0 };

	ASSERT_ERRNO(vfd_bind_claim(NULL, &a, 1, NULL, &e, &r), -EINVAL);
	ASSERT_ERRNO(vfd_bind_claim(f.ctx, NULL, 1, NULL, NULL, &r), -EINVAL);
	ASSERT_ERRNO(vfd_bind_claim(f.ctx, &a, 0, NULL, NULL, &r), -EINVAL);
	ASSERT_ERRNO(vfd_bind_claim(f.ctx, &a, 1, NULL, NULL, NULL), -EINVAL);
	ASSERT_ERRNO(vfd_bind_release(f.ctx, NULL, NULL), -EINVAL);
	ASSERT_EQ(sim_n_writes(f.sim), 0);
	teardown(&f);
}

/* ---- failures midway roll the whole claim back ---- */

static void assert_claim_rolls_back(fixture *f, const char *bdf, int err, const char *subject)
{
	char *before = tree_snapshot(f->root), *after;
	vfd_bind_record *r = NULL;
	vfd_op_error e;

	ASSERT_ERRNO(claim_one(f, bdf, NULL, &e, &r), err);
	ASSERT_NULL(r);
	ASSERT_EQ(e.error, err);
	ASSERT_STREQ(e.subject, subject);
	/* something was changed, and all of it was undone */
	ASSERT_TRUE(sim_n_writes(f->sim) > 0);
	after = tree_snapshot(f->root);
	tree_assert_same(before, after);
	free(before);
	free(after);
}

static void test_injected_fault_on_member_2_of_3_rolls_back(void)
{
	fixture f = setup();

	unbind_0301(&f);
	/* moves 0000:03:00.0, then 0000:03:01.0 (fails), then would do 0000:03:02.0 */
	ASSERT_OK(vfd_fault_arm(f.ctx, VFD_FAULT_BIND_MEMBER, 2, 0));
	assert_claim_rolls_back(&f, "0000:03:00.0", -EIO, "0000:03:01.0");
	assert_driver(&f, "0000:03:00.0", "e1000e");
	assert_override(&f, "0000:03:00.0", "(null)");
	assert_driver(&f, "0000:03:01.0", NULL);
	assert_driver(&f, "0000:03:02.0", NULL);
	/* the third member was never touched */
	ASSERT_FALSE(sim_wrote_path_suffix(f.sim, "0000:03:02.0/driver_override"));
	teardown(&f);
}

static void test_fault_fires_once(void)
{
	fixture f = setup();
	vfd_bind_record *r = NULL;
	vfd_op_error e;

	ASSERT_OK(vfd_fault_arm_from_string(f.ctx, "bind-member:1:28"));
	ASSERT_ERRNO(claim_one(&f, "0000:02:10.2", NULL, &e, &r), -ENOSPC);
	assert_driver(&f, "0000:02:10.2", "igbvf");
	ASSERT_OK(claim_one(&f, "0000:02:10.2", NULL, &e, &r));
	assert_driver(&f, "0000:02:10.2", "vfio-pci");
	vfd_bind_record_free(r);
	teardown(&f);
}

static void test_probe_failure_on_last_member_rolls_back(void)
{
	fixture f = setup();

	unbind_0301(&f);
	/* drivers_probe succeeds but vfio-pci's probe fails: the link says so */
	sim_fail_probe(f.sim, "0000:03:02.0", "vfio-pci", EINVAL);
	assert_claim_rolls_back(&f, "0000:03:00.0", -EIO, "0000:03:02.0");
	assert_driver(&f, "0000:03:00.0", "e1000e");
	teardown(&f);
}

static void test_unbind_refused_on_first_member_rolls_back(void)
{
	fixture f = setup();

	sim_fail_write(f.sim, "sys/bus/pci/drivers/e1000e/unbind", EBUSY);
	assert_claim_rolls_back(&f, "0000:03:00.0", -EBUSY, "0000:03:00.0");
	teardown(&f);
}

static void test_failure_in_second_group_rolls_back_first(void)
{
	fixture f = setup();
	vfd_pci_address a[] = { addr("0000:02:00.0"), addr("0000:02:10.2") };
	char *before = tree_snapshot(f.root), *after;
	vfd_bind_record *r = NULL;
	vfd_op_error e = { 0 };

	sim_fail_probe(f.sim, "0000:02:10.2", "vfio-pci", ENOMEM);
	ASSERT_ERRNO(vfd_bind_claim(f.ctx, a, 2, NULL, &e, &r), -EIO);
	ASSERT_STREQ(e.subject, "0000:02:10.2");
	ASSERT_TRUE(sim_wrote_path_suffix(f.sim, "0000:02:00.0/driver_override"));
	assert_driver(&f, "0000:02:00.0", "igb");
	after = tree_snapshot(f.root);
	tree_assert_same(before, after);

	free(before);
	free(after);
	teardown(&f);
}

/* ---- release ---- */

static void test_release_restores_original_drivers(void)
{
	fixture f = setup();
	char *before = tree_snapshot(f.root), *after;
	vfd_bind_record *r = NULL;
	vfd_op_error e;

	ASSERT_OK(claim_one(&f, "0000:03:00.0", NULL, &e, &r));
	assert_driver(&f, "0000:03:00.0", "vfio-pci");

	vfd_op_error_clear(&e);
	ASSERT_OK(vfd_bind_release(f.ctx, r, &e));
	ASSERT_EQ(e.error, 0);
	assert_driver(&f, "0000:03:00.0", "e1000e");
	assert_override(&f, "0000:03:00.0", "(null)");
	assert_driver(&f, "0000:03:02.0", NULL);
	assert_override(&f, "0000:03:02.0", "(null)");
	ASSERT_FALSE(member(r, "0000:03:00.0")->changed);
	ASSERT_FALSE(member(r, "0000:03:02.0")->changed);
	/* the whole tree is as before the claim, driver links included */
	after = tree_snapshot(f.root);
	tree_assert_same(before, after);

	free(before);
	free(after);
	vfd_bind_record_free(r);
	teardown(&f);
}

static void test_release_restores_original_override(void)
{
	fixture f = setup();
	vfd_bind_record *r = NULL;
	char *before, *after;
	vfd_op_error e;

	/* an operator pinned the VF to igbvf with driver_override */
	ASSERT_OK(sim_write_hook("sys/bus/pci/devices/0000:02:10.2/driver_override", "igbvf", f.sim));
	before = tree_snapshot(f.root);

	ASSERT_OK(claim_one(&f, "0000:02:10.2", NULL, &e, &r));
	ASSERT_STREQ(r->members[0].original_override, "igbvf");
	assert_override(&f, "0000:02:10.2", "vfio-pci");
	ASSERT_OK(vfd_bind_release(f.ctx, r, &e));
	assert_override(&f, "0000:02:10.2", "igbvf");
	assert_driver(&f, "0000:02:10.2", "igbvf");
	after = tree_snapshot(f.root);
	tree_assert_same(before, after);

	free(before);
	free(after);
	vfd_bind_record_free(r);
	teardown(&f);
}

static void test_release_goes_on_past_a_failure(void)
{
	fixture f = setup();
	char *before = tree_snapshot(f.root), *after;
	vfd_bind_record *r = NULL;
	vfd_op_error e;

	ASSERT_OK(claim_one(&f, "0000:03:00.0", NULL, &e, &r));

	/* e1000e will not take the NIC back: bind and the probe fallback fail */
	sim_fail_probe(f.sim, "0000:03:00.0", "e1000e", EIO);
	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_bind_release(f.ctx, r, &e), -EIO);
	ASSERT_STREQ(e.subject, "0000:03:00.0");
	ASSERT_TRUE(member(r, "0000:03:00.0")->changed);
	/* the other member was restored all the same */
	ASSERT_FALSE(member(r, "0000:03:02.0")->changed);
	assert_driver(&f, "0000:03:02.0", NULL);

	/* a retry redoes only what is left */
	sim_clear_failures(f.sim);
	vfd_op_error_clear(&e);
	ASSERT_OK(vfd_bind_release(f.ctx, r, &e));
	assert_driver(&f, "0000:03:00.0", "e1000e");
	after = tree_snapshot(f.root);
	tree_assert_same(before, after);

	free(before);
	free(after);
	vfd_bind_record_free(r);
	teardown(&f);
}

static void test_release_leaves_foreign_driver_alone(void)
{
	fixture f = setup();
	vfd_bind_record *r = NULL;
	vfd_op_error e;

	ASSERT_OK(claim_one(&f, "0000:02:10.2", NULL, &e, &r));
	/* someone else moved the VF to igbvf behind vfiod's back */
	ASSERT_OK(sim_write_hook("sys/bus/pci/drivers/vfio-pci/unbind", "0000:02:10.2", f.sim));
	ASSERT_OK(sim_write_hook("sys/bus/pci/devices/0000:02:10.2/driver_override", "\n", f.sim));
	ASSERT_OK(sim_write_hook("sys/bus/pci/drivers_probe", "0000:02:10.2", f.sim));
	assert_driver(&f, "0000:02:10.2", "igbvf");

	/* its original driver is bound again, so there is nothing to undo */
	ASSERT_OK(vfd_bind_release(f.ctx, r, &e));
	assert_driver(&f, "0000:02:10.2", "igbvf");
	ASSERT_FALSE(r->members[0].changed);

	vfd_bind_record_free(r);
	teardown(&f);
}

/* ---- the record in a state file ---- */

static void test_record_json_round_trip(void)
{
	fixture f = setup();
	vfd_bind_record *r = NULL, *back = NULL;
	struct json_object *j = NULL, *parsed;
	const char *text;
	vfd_op_error e;
	size_t i;

	ASSERT_OK(claim_one(&f, "0000:03:00.0", NULL, &e, &r));
	ASSERT_OK(vfd_bind_record_to_json(r, &j));
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	ASSERT_NOT_NULL(strstr(text, "\"original_driver\":\"e1000e\""));
	ASSERT_NOT_NULL(strstr(text, "\"original_driver_override\":null"));

	parsed = json_tokener_parse(text);
	ASSERT_NOT_NULL(parsed);
	ASSERT_OK(vfd_bind_record_from_json(parsed, &back));
	ASSERT_EQ(back->n_members, r->n_members);
	for (i = 0; i < r->n_members; i++) {
		ASSERT_STREQ(back->members[i].name, r->members[i].name);
		ASSERT_EQ(back->members[i].group, r->members[i].group);
		ASSERT_EQ(back->members[i].requested, r->members[i].requested);
		ASSERT_EQ(back->members[i].changed, r->members[i].changed);
		ASSERT_TRUE((back->members[i].original_driver == NULL) ==
			    (r->members[i].original_driver == NULL));
		if (r->members[i].original_driver)
			ASSERT_STREQ(back->members[i].original_driver, r->members[i].original_driver);
		ASSERT_NULL(back->members[i].original_override);
	}

	/* a record read back from the state file releases like the original */
	ASSERT_OK(vfd_bind_release(f.ctx, back, &e));
	assert_driver(&f, "0000:03:00.0", "e1000e");

	json_object_put(parsed);
	json_object_put(j);
	vfd_bind_record_free(back);
	vfd_bind_record_free(r);
	teardown(&f);
}

static void test_record_json_rejects_bad_input(void)
{
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"members\":{}}",
		/* not canonical: upper case, short form */
		"{\"members\":[{\"name\":\"0000:03:0A.0\",\"group\":8,\"requested\":true,\"changed\":true}]}",
		"{\"members\":[{\"name\":\"03:00.0\",\"group\":8,\"requested\":true,\"changed\":true}]}",
		"{\"members\":[{\"name\":\"0000:03:00.0\",\"group\":-1,\"requested\":true,\"changed\":true}]}",
		"{\"members\":[{\"name\":\"0000:03:00.0\",\"group\":\"8\",\"requested\":true,\"changed\":true}]}",
		"{\"members\":[{\"name\":\"0000:03:00.0\",\"group\":8,\"changed\":true}]}",
		/* driver names become path components */
		"{\"members\":[{\"name\":\"0000:03:00.0\",\"group\":8,\"requested\":true,\"changed\":true,"
		"\"original_driver\":\"../../x\"}]}",
		"{\"members\":[{\"name\":\"0000:03:00.0\",\"group\":8,\"requested\":true,\"changed\":true,"
		"\"original_driver_override\":\"a\\nb\"}]}",
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(bad); i++) {
		struct json_object *j = json_tokener_parse(bad[i]);
		vfd_bind_record *r = NULL;

		ASSERT_NOT_NULL(j);
		if (vfd_bind_record_from_json(j, &r) >= 0)
			vfd_test_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
		ASSERT_NULL(r);
		json_object_put(j);
	}
}

/* ---- the fault option ---- */

static void test_fault_spec_parsing(void)
{
	static const char *const bad[] = {
		"", "bind-member", "bind-member:", "bind-member:0", "bind-member:x", "nope:1",
		"bind-member:1:0", "bind-member:1:", "bind-member:1:5000", ":1", "bind-member:-1",
	};
	vfd_context *ctx = NULL;
	vfd_fault *fault;
	size_t i;

	ASSERT_OK(vfd_context_new(vfd_test_synthetic_host(), &ctx));
	fault = vfd_context_fault(ctx);
	ASSERT_FALSE(fault->armed);

	for (i = 0; i < ELEMENTSOF(bad); i++) {
		if (vfd_fault_arm_from_string(ctx, bad[i]) != -EINVAL)
			vfd_test_fail(__FILE__, __LINE__, "accepted: \"%s\"", bad[i]);
		ASSERT_FALSE(fault->armed);
	}

	ASSERT_OK(vfd_fault_arm_from_string(ctx, "mdev-attr:3:28"));
	ASSERT_TRUE(fault->armed);
	ASSERT_EQ(strcmp(fault->step, "mdev-attr"), 0);
	ASSERT_EQ(fault->nth, 3);
	ASSERT_EQ(fault->error, -ENOSPC);

	/* only its own kind counts, and it fires on the third one only */
	ASSERT_EQ(vfd_fault_check(ctx, VFD_FAULT_BIND_MEMBER), 0);
	ASSERT_EQ(vfd_fault_check(ctx, VFD_FAULT_MDEV_ATTR), 0);
	ASSERT_EQ(vfd_fault_check(ctx, VFD_FAULT_MDEV_ATTR), 0);
	ASSERT_EQ(vfd_fault_check(ctx, VFD_FAULT_MDEV_ATTR), -ENOSPC);
	ASSERT_EQ(vfd_fault_check(ctx, VFD_FAULT_MDEV_ATTR), 0);

	ASSERT_OK(vfd_fault_arm_from_string(ctx, "bind-member:1"));
	ASSERT_EQ(fault->error, -EIO);
	vfd_fault_disarm(ctx);
	ASSERT_EQ(vfd_fault_check(ctx, VFD_FAULT_BIND_MEMBER), 0);

	vfd_context_free(ctx);
}

VFD_TEST_MAIN(
	VFD_TEST(test_refuse_named_non_vfio_driver),
	VFD_TEST(test_claim_named_vfio_pci),
	VFD_TEST(test_claim_single_function_group),
	VFD_TEST(test_claim_group_with_bridge_and_unbound_member),
	VFD_TEST(test_claim_group_already_on_vfio_changes_nothing),
	VFD_TEST(test_claim_variant_driver_left_alone),
	VFD_TEST(test_claim_several_groups_sorted_by_group),
	VFD_TEST(test_claim_host_member_when_allowed),
	VFD_TEST(test_refuse_group_with_host_used_member),
	VFD_TEST(test_refuse_bridge),
	VFD_TEST(test_refuse_missing_address),
	VFD_TEST(test_refuse_function_without_group),
	VFD_TEST(test_refuse_member_owned_by_another_vm),
	VFD_TEST(test_refuse_when_owner_unknown),
	VFD_TEST(test_refuse_without_vfio_pci_driver),
	VFD_TEST(test_refuse_invalid_arguments),
	VFD_TEST(test_injected_fault_on_member_2_of_3_rolls_back),
	VFD_TEST(test_fault_fires_once),
	VFD_TEST(test_probe_failure_on_last_member_rolls_back),
	VFD_TEST(test_unbind_refused_on_first_member_rolls_back),
	VFD_TEST(test_failure_in_second_group_rolls_back_first),
	VFD_TEST(test_release_restores_original_drivers),
	VFD_TEST(test_release_restores_original_override),
	VFD_TEST(test_release_goes_on_past_a_failure),
	VFD_TEST(test_release_leaves_foreign_driver_alone),
	VFD_TEST(test_record_json_round_trip),
	VFD_TEST(test_record_json_rejects_bad_input),
	VFD_TEST(test_fault_spec_parsing),
)
