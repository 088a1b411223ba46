/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SR-IOV VF counts (lib/sriov.c) against a copy of the synthetic host,
 * whose 0000:02:00.0 is an igb PF (totalvfs 7, numvfs 2, VFs 02:10.0 on
 * vfio-pci and 02:10.2 on igbvf). The simulator (sysfs-sim.h) logs every
 * write; sriov_numvfs and sriov_drivers_autoprobe hold what was written,
 * so the final files are the PF's state as the kernel would show it.
 */
#include "sysfs-sim.h"
#include "vfd-test.h"
#include "vfiod/fault.h"
#include "vfiod/inventory.h"
#include "vfiod/sriov.h"

#define PF "0000:02:00.0"
#define PF_DIR "sys/bus/pci/devices/" PF

typedef struct fixture {
	char *root;
	vfd_context *ctx;
	sim *sim;
} fixture;

static fixture setup(void)
{
	fixture f;

	f.root = tree_copy(vfd_test_synthetic_host());
	vfd_test_write_file(f.root, PF_DIR "/sriov_drivers_autoprobe", "1\n");
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

static void assert_file(fixture *f, const char *rel, const char *want)
{
	char *s = fixture_read(f->root, rel);

	ASSERT_STREQ(s, want);
	free(s);
}

static void test_read_state(void)
{
	fixture f = setup();
	vfd_pci_address pf = addr(PF);
	vfd_sriov_state s;

	ASSERT_OK(vfd_sriov_read(f.ctx, &pf, NULL, &s));
	ASSERT_EQ(s.total_vfs, 7);
	ASSERT_EQ(s.num_vfs, 2);
	ASSERT_TRUE(s.drivers_autoprobe);
	teardown(&f);
}

/* from 2 VFs to 3: autoprobe off first, through 0, nothing else written */
static void test_set_goes_through_zero_with_autoprobe_off(void)
{
	fixture f = setup();
	vfd_pci_address pf = addr(PF);

	ASSERT_OK(vfd_sriov_set_num_vfs(f.ctx, &pf, 3, NULL));
	ASSERT_EQ(sim_n_writes(f.sim), 3);
	ASSERT_STREQ(sim_write_at(f.sim, 0), PF_DIR "/sriov_numvfs=0");
	ASSERT_STREQ(sim_write_at(f.sim, 1), PF_DIR "/sriov_drivers_autoprobe=0");
	ASSERT_STREQ(sim_write_at(f.sim, 2), PF_DIR "/sriov_numvfs=3");
	/* already so: nothing to write */
	ASSERT_OK(vfd_sriov_set_num_vfs(f.ctx, &pf, 3, NULL));
	ASSERT_EQ(sim_n_writes(f.sim), 3);
	teardown(&f);
}

static void test_set_refuses_hostile_input(void)
{
	fixture f = setup();
	vfd_pci_address pf = addr(PF), vf = addr("0000:02:10.2"), plain = addr("0000:03:00.0"),
			none = addr("0000:07:00.0");
	vfd_op_error e;

	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_sriov_set_num_vfs(f.ctx, &pf, 8, &e), -ERANGE);
	ASSERT_STREQ(e.subject, PF);
	ASSERT_ERRNO(vfd_sriov_set_num_vfs(f.ctx, &pf, 4294967295u, NULL), -ERANGE);
	ASSERT_ERRNO(vfd_sriov_set_num_vfs(f.ctx, &vf, 1, NULL), -EMEDIUMTYPE);
	ASSERT_ERRNO(vfd_sriov_set_num_vfs(f.ctx, &plain, 1, NULL), -EMEDIUMTYPE);
	ASSERT_ERRNO(vfd_sriov_set_num_vfs(f.ctx, &none, 1, NULL), -ENODEV);
	ASSERT_EQ(sim_n_writes(f.sim), 0);
	teardown(&f);
}

static void test_set_refuses_a_pf_on_vfio_or_unbound(void)
{
	fixture f = setup();
	vfd_pci_address pf = addr(PF);
	vfd_op_error e;
	size_t n;

	ASSERT_OK(sim_write_hook("sys/bus/pci/drivers/igb/unbind", PF, f.sim));
	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_sriov_set_num_vfs(f.ctx, &pf, 1, &e), -ENOPKG);
	ASSERT_OK(sim_write_hook(PF_DIR "/driver_override", "vfio-pci", f.sim));
	ASSERT_OK(sim_write_hook("sys/bus/pci/drivers_probe", PF, f.sim));
	n = sim_n_writes(f.sim);
	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_sriov_set_num_vfs(f.ctx, &pf, 1, &e), -EBUSY);
	ASSERT_TRUE(strstr(e.message, "vfio-pci") != NULL);
	ASSERT_EQ(sim_n_writes(f.sim), n);
	assert_file(&f, PF_DIR "/sriov_numvfs", "2");
	teardown(&f);
}

/* each write of the change failing in turn: the PF ends as it was */
static void test_set_failure_midway_restores_the_pf(void)
{
	static const struct {
		const char *step;
		unsigned nth;
	} faults[] = {
		{ "sysfs-sriov-numvfs", 1 },    /* removing the 2 VFs */
		{ "sysfs-sriov-autoprobe", 1 }, /* autoprobe off */
		{ "sysfs-sriov-numvfs", 2 },    /* creating 3 */
	};

	for (size_t i = 0; i < ELEMENTSOF(faults); i++) {
		fixture f = setup();
		vfd_pci_address pf = addr(PF);
		vfd_op_error e;

		ASSERT_OK(vfd_fault_arm_step(f.ctx, faults[i].step, faults[i].nth, -ENOMEM));
		vfd_op_error_clear(&e);
		ASSERT_ERRNO(vfd_sriov_set_num_vfs(f.ctx, &pf, 3, &e), -ENOMEM);
		ASSERT_EQ(e.error, -ENOMEM); /* the first error, not the rollback's */
		assert_file(&f, PF_DIR "/sriov_numvfs", "2");
		assert_file(&f, PF_DIR "/sriov_drivers_autoprobe", "1");
		teardown(&f);
	}
}

static void test_restore_brings_back_count_and_autoprobe(void)
{
	fixture f = setup();
	vfd_pci_address pf = addr(PF);
	vfd_sriov_state original, now;

	ASSERT_OK(vfd_sriov_read(f.ctx, &pf, NULL, &original));
	ASSERT_OK(vfd_sriov_set_num_vfs(f.ctx, &pf, 5, NULL));
	ASSERT_OK(vfd_sriov_read(f.ctx, &pf, NULL, &now));
	ASSERT_EQ(now.num_vfs, 5);
	ASSERT_FALSE(now.drivers_autoprobe);

	ASSERT_OK(vfd_sriov_restore(f.ctx, &pf, &original, NULL));
	ASSERT_OK(vfd_sriov_read(f.ctx, &pf, NULL, &now));
	ASSERT_EQ(now.num_vfs, 2);
	ASSERT_TRUE(now.drivers_autoprobe);
	/* autoprobe back on before the original VFs come: they meet their host driver again */
	ASSERT_STREQ(sim_write_at(f.sim, sim_n_writes(f.sim) - 3), PF_DIR "/sriov_numvfs=0");
	ASSERT_STREQ(sim_write_at(f.sim, sim_n_writes(f.sim) - 2), PF_DIR "/sriov_drivers_autoprobe=1");
	ASSERT_STREQ(sim_write_at(f.sim, sim_n_writes(f.sim) - 1), PF_DIR "/sriov_numvfs=2");
	teardown(&f);
}

/* a kernel without sriov_drivers_autoprobe (before 4.12) probes every VF */
static void test_read_without_autoprobe_attribute(void)
{
	fixture f = setup();
	vfd_pci_address pf = addr(PF);
	vfd_sriov_state s;
	char *p;

	if (asprintf(&p, "%s/" PF_DIR "/sriov_drivers_autoprobe", f.root) < 0)
		vfd_test_fail(__FILE__, __LINE__, "out of memory");
	ASSERT_EQ(unlink(p), 0);
	free(p);
	ASSERT_OK(vfd_sriov_read(f.ctx, &pf, NULL, &s));
	ASSERT_TRUE(s.drivers_autoprobe);
	teardown(&f);
}

VFD_TEST_MAIN(
	VFD_TEST(test_read_state),
	VFD_TEST(test_set_goes_through_zero_with_autoprobe_off),
	VFD_TEST(test_set_refuses_hostile_input),
	VFD_TEST(test_set_refuses_a_pf_on_vfio_or_unbound),
	VFD_TEST(test_set_failure_midway_restores_the_pf),
	VFD_TEST(test_restore_brings_back_count_and_autoprobe),
	VFD_TEST(test_read_without_autoprobe_attribute),
)
