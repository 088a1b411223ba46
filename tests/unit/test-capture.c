/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tests/fixtures/capture-sysfs.sh: a captured tree must give libvfiod the
 * same inventory as the tree it was captured from. Checked against the
 * synthetic host (which has groups, SR-IOV and mdevs) and against this
 * machine's own /sys (real kernel output), each run once with the system
 * shell and once under busybox with only the applets the script may use.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfd-test.h"
#include "vfiod/inventory.h"

static const char *capture_script(void)
{
	const char *p = getenv("VFD_CAPTURE_SCRIPT");

	if (!p || !*p)
		vfd_test_fail(__FILE__, __LINE__, "VFD_CAPTURE_SCRIPT is not set (run through meson test)");
	return p;
}

/* busybox on PATH, or NULL */
static char *find_busybox(void)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if (!path)
		return NULL;
	copy = strdup(path);
	ASSERT_NOT_NULL(copy);
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *candidate;

		ASSERT_TRUE(asprintf(&candidate, "%s/busybox", dir) >= 0);
		if (access(candidate, X_OK) == 0) {
			found = candidate;
			break;
		}
		free(candidate);
	}
	free(copy);
	return found;
}

/*
 * Runs the capture script into out. With busybox, PATH holds nothing but
 * the applets the script is allowed to use, so any other tool fails it.
 */
static void run_capture(const char *out, const char *src, const char *busybox, const char *bindir)
{
	pid_t pid;
	int status;

	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		const char *argv[6];
		int i = 0;

		if (busybox) {
			if (setenv("PATH", bindir, 1) < 0)
				_exit(127);
			argv[i++] = busybox;
			argv[i++] = "sh";
		} else {
			argv[i++] = "/bin/sh";
		}
		argv[i++] = capture_script();
		argv[i++] = out;
		argv[i++] = src;
		argv[i] = NULL;
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

static void make_busybox_bin(const char *busybox, const char *bindir)
{
	static const char *const applets[] = { "sh", "ls", "readlink", "cat", "mkdir", "ln", "cp", "find" };
	size_t i;

	for (i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
		char *path;

		ASSERT_TRUE(asprintf(&path, "%s/%s", bindir, applets[i]) >= 0);
		ASSERT_EQ(symlink(busybox, path), 0);
		free(path);
	}
}

/* ---- inventory comparison ---- */

static void assert_same_string(const char *a, const char *b, const char *what, const char *name)
{
	if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
		vfd_test_fail(__FILE__, __LINE__, "%s: %s differs: \"%s\" vs \"%s\"", name, what,
			      a ? a : "(null)", b ? b : "(null)");
}

static void assert_same_device(const vfd_pci_device *a, const vfd_pci_device *b)
{
	size_t i;

	ASSERT_STREQ(a->name, b->name);
	ASSERT_EQ(a->vendor_id, b->vendor_id);
	ASSERT_EQ(a->device_id, b->device_id);
	ASSERT_EQ(a->subsystem_vendor_id, b->subsystem_vendor_id);
	ASSERT_EQ(a->subsystem_device_id, b->subsystem_device_id);
	ASSERT_EQ(a->class_code, b->class_code);
	assert_same_string(a->driver, b->driver, "driver", a->name);
	assert_same_string(a->driver_override, b->driver_override, "driver_override", a->name);
	ASSERT_EQ(a->numa_node, b->numa_node);
	ASSERT_EQ(a->iommu_group, b->iommu_group);
	ASSERT_EQ(a->is_bridge, b->is_bridge);
	ASSERT_EQ(a->sriov_totalvfs, b->sriov_totalvfs);
	ASSERT_EQ(a->sriov_numvfs, b->sriov_numvfs);
	ASSERT_EQ(a->is_virtfn, b->is_virtfn);
	if (a->is_virtfn)
		ASSERT_EQ(vfd_pci_address_compare(&a->physfn, &b->physfn), 0);
	ASSERT_EQ(a->n_virtfns, b->n_virtfns);
	for (i = 0; i < a->n_virtfns; i++)
		ASSERT_EQ(vfd_pci_address_compare(&a->virtfns[i], &b->virtfns[i]), 0);
}

/* Returns the number of devices compared. */
static size_t assert_same_inventory(vfd_context *orig, vfd_context *copy)
{
	vfd_pci_device **da = NULL, **db = NULL;
	vfd_iommu_group **ga = NULL, **gb = NULL;
	vfd_mdev_parent **pa = NULL, **pb = NULL;
	vfd_mdev **ma = NULL, **mb = NULL;
	size_t na, nb, i, j;
	size_t n_devices;

	ASSERT_OK(vfd_pci_device_enumerate(orig, &da, &na));
	ASSERT_OK(vfd_pci_device_enumerate(copy, &db, &nb));
	/* every device of the original appears in the copy, and nothing else */
	ASSERT_EQ(na, nb);
	for (i = 0; i < na; i++)
		assert_same_device(da[i], db[i]);
	n_devices = na;
	vfd_pci_device_array_free(da, na);
	vfd_pci_device_array_free(db, nb);

	ASSERT_OK(vfd_iommu_group_enumerate(orig, &ga, &na));
	ASSERT_OK(vfd_iommu_group_enumerate(copy, &gb, &nb));
	ASSERT_EQ(na, nb);
	for (i = 0; i < na; i++) {
		ASSERT_EQ(ga[i]->id, gb[i]->id);
		ASSERT_EQ(ga[i]->viable, gb[i]->viable);
		ASSERT_EQ(ga[i]->n_members, gb[i]->n_members);
		for (j = 0; j < ga[i]->n_members; j++) {
			const vfd_group_member *x = &ga[i]->members[j], *y = &gb[i]->members[j];

			ASSERT_STREQ(x->name, y->name);
			ASSERT_STREQ(x->bus, y->bus);
			assert_same_string(x->driver, y->driver, "member driver", x->name);
			ASSERT_EQ(x->is_bridge, y->is_bridge);
			ASSERT_EQ(x->state, y->state);
			ASSERT_EQ(x->viable, y->viable);
			ASSERT_STREQ(x->reason, y->reason);
		}
	}
	vfd_iommu_group_array_free(ga, na);
	vfd_iommu_group_array_free(gb, nb);

	ASSERT_OK(vfd_mdev_parent_enumerate(orig, &pa, &na));
	ASSERT_OK(vfd_mdev_parent_enumerate(copy, &pb, &nb));
	ASSERT_EQ(na, nb);
	for (i = 0; i < na; i++) {
		ASSERT_STREQ(pa[i]->name, pb[i]->name);
		ASSERT_STREQ(pa[i]->bus, pb[i]->bus);
		assert_same_string(pa[i]->driver, pb[i]->driver, "parent driver", pa[i]->name);
		ASSERT_EQ(pa[i]->n_types, pb[i]->n_types);
		for (j = 0; j < pa[i]->n_types; j++) {
			const vfd_mdev_type *x = pa[i]->types[j], *y = pb[i]->types[j];

			ASSERT_STREQ(x->id, y->id);
			ASSERT_STREQ(x->parent, y->parent);
			assert_same_string(x->name, y->name, "type name", x->id);
			assert_same_string(x->description, y->description, "type description", x->id);
			ASSERT_STREQ(x->device_api, y->device_api);
			ASSERT_EQ(x->available_instances, y->available_instances);
		}
	}
	vfd_mdev_parent_array_free(pa, na);
	vfd_mdev_parent_array_free(pb, nb);

	ASSERT_OK(vfd_mdev_enumerate(orig, &ma, &na));
	ASSERT_OK(vfd_mdev_enumerate(copy, &mb, &nb));
	ASSERT_EQ(na, nb);
	for (i = 0; i < na; i++) {
		ASSERT_STREQ(ma[i]->uuid, mb[i]->uuid);
		ASSERT_STREQ(ma[i]->type_id, mb[i]->type_id);
		ASSERT_STREQ(ma[i]->parent, mb[i]->parent);
		assert_same_string(ma[i]->driver, mb[i]->driver, "mdev driver", ma[i]->uuid);
		ASSERT_EQ(ma[i]->iommu_group, mb[i]->iommu_group);
	}
	vfd_mdev_array_free(ma, na);
	vfd_mdev_array_free(mb, nb);
	return n_devices;
}

static size_t capture_and_compare(const char *orig_root, const char *src_arg, bool with_busybox)
{
	vfd_context *orig = NULL, *copy = NULL;
	char *tmp = vfd_test_mkdtemp(), *busybox = NULL;
	char out[4200], bindir[4200];
	size_t n;

	snprintf(out, sizeof(out), "%s/captured", tmp);
	snprintf(bindir, sizeof(bindir), "%s/bin", tmp);
	if (with_busybox) {
		busybox = find_busybox();
		if (!busybox) {
			vfd_test_rm_rf(tmp);
			vfd_test_skip("busybox is not installed");
		}
		ASSERT_EQ(mkdir(bindir, 0755), 0);
		make_busybox_bin(busybox, bindir);
	}

	run_capture(out, src_arg, busybox, bindir);
	ASSERT_OK(vfd_context_new(orig_root, &orig));
	ASSERT_OK(vfd_context_new(out, &copy));
	n = assert_same_inventory(orig, copy);

	vfd_context_free(orig);
	vfd_context_free(copy);
	vfd_test_rm_rf(tmp);
	free(tmp);
	free(busybox);
	return n;
}

static void test_capture_synthetic_host(void)
{
	const char *host = vfd_test_synthetic_host();

	ASSERT_EQ(capture_and_compare(host, host, false), 16);
}

static void test_capture_synthetic_host_busybox(void)
{
	const char *host = vfd_test_synthetic_host();

	ASSERT_EQ(capture_and_compare(host, host, true), 16);
}

static void require_real_pci(void)
{
	if (access("/sys/bus/pci/devices", R_OK) != 0)
		vfd_test_skip("this machine has no /sys/bus/pci");
}

static void test_capture_this_host(void)
{
	require_real_pci();
	/* SRCROOT "" is the real /sys; every device found there must come out */
	(void)capture_and_compare("/", "", false);
}

static void test_capture_this_host_busybox(void)
{
	require_real_pci();
	(void)capture_and_compare("/", "", true);
}

static void test_capture_usage(void)
{
	pid_t pid;
	int status;

	/* no OUTDIR: usage error, exit 2, nothing created */
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", "/bin/sh", capture_script(), (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 2);
}

VFD_TEST_MAIN(
	VFD_TEST(test_capture_synthetic_host),
	VFD_TEST(test_capture_synthetic_host_busybox),
	VFD_TEST(test_capture_this_host),
	VFD_TEST(test_capture_this_host_busybox),
	VFD_TEST(test_capture_usage),
)
