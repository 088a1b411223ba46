/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfioctl memlock plan, run as a user would: the real binary (VFIOCTL),
 * the domains of tests/fixtures/domains (VFD_DOMAIN_FIXTURES), host facts
 * from the synthetic sysfs tree (VFD_SYNTHETIC_HOST) through --root, and
 * no D-Bus anywhere. JSON is checked with json-c, field by field.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "vfd-test.h"

#define GiB (1024ULL * 1024 * 1024)
#define MiB (1024ULL * 1024)

static const char *env_or_skip(const char *name)
{
	const char *p = getenv(name);

	if (!p || !*p)
		vfd_test_skip(name);
	return p;
}

static char *fixture(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s.xml", env_or_skip("VFD_DOMAIN_FIXTURES"), name) < 0)
		vfd_test_fail(__FILE__, __LINE__, "out of memory");
	return p;
}

static char *slurp(int fd)
{
	size_t size = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	ASSERT_NOT_NULL(buf);
	ASSERT_TRUE(lseek(fd, 0, SEEK_SET) == 0);
	while ((n = read(fd, buf + size, cap - size - 1)) > 0) {
		size += (size_t)n;
		if (cap - size < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			ASSERT_NOT_NULL(buf);
		}
	}
	buf[size] = '\0';
	return buf;
}

/*
 * Runs vfioctl with args (NULL-terminated) and returns its exit status;
 * stdout and stderr in *out and *err. No bus is reachable: both bus
 * addresses point at a socket that does not exist.
 */
static int run(const char *dir, char **out, char **err, const char *const *args)
{
	const char *vfioctl = env_or_skip("VFIOCTL");
	char path_out[PATH_MAX], path_err[PATH_MAX], nobus[PATH_MAX + 16];
	const char *argv[32];
	int fo, fe, status;
	size_t n = 0;
	pid_t pid;

	argv[n++] = vfioctl;
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;

	snprintf(path_out, sizeof(path_out), "%s/stdout", dir);
	snprintf(path_err, sizeof(path_err), "%s/stderr", dir);
	snprintf(nobus, sizeof(nobus), "unix:path=%s/no-bus", dir);
	fo = open(path_out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fe = open(path_err, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_TRUE(fo >= 0 && fe >= 0);

	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		if (dup2(fo, STDOUT_FILENO) < 0 || dup2(fe, STDERR_FILENO) < 0)
			_exit(127);
		setenv("DBUS_SYSTEM_BUS_ADDRESS", nobus, 1);
		setenv("DBUS_SESSION_BUS_ADDRESS", nobus, 1);
		execv(vfioctl, (char *const *)argv);
		_exit(127);
	}
	ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
	ASSERT_TRUE(WIFEXITED(status));
	*out = slurp(fo);
	*err = slurp(fe);
	close(fo);
	close(fe);
	return WEXITSTATUS(status);
}

/* vfioctl memlock plan --json ARGS...: the parsed object; fails on error */
static json_object *plan_json(const char *dir, const char *const *args)
{
	const char *argv[32] = { "memlock", "plan", "--json" };
	char *out = NULL, *err = NULL;
	json_object *o;
	size_t n = 3;
	int rc;

	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	rc = run(dir, &out, &err, argv);
	if (rc != 0)
		vfd_test_fail(__FILE__, __LINE__, "vfioctl exited %d: %s", rc, err);
	ASSERT_STREQ(err, "");
	o = json_tokener_parse(out);
	if (!o)
		vfd_test_fail(__FILE__, __LINE__, "not JSON: %s", out);
	free(out);
	free(err);
	return o;
}

static json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		vfd_test_fail(__FILE__, __LINE__, "no field '%s' in %s", key, json_object_to_json_string(o));
	return v;
}

static uint64_t limit_of(json_object *o)
{
	return json_object_get_uint64(field(o, "limit_bytes"));
}

/* the counted breakdown rows add up to limit_bytes */
static void check_sum(json_object *o)
{
	json_object *rows = field(o, "breakdown");
	uint64_t sum = 0;

	ASSERT_TRUE(json_object_array_length(rows) > 0);
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *row = json_object_array_get_idx(rows, i);

		ASSERT_TRUE(json_object_get_string_len(field(row, "rule")) > 0);
		ASSERT_TRUE(json_object_get_string_len(field(row, "detail")) > 0);
		if (json_object_get_boolean(field(row, "counted")))
			sum += json_object_get_uint64(field(row, "bytes"));
	}
	if (!json_object_get_boolean(field(o, "unlimited")))
		ASSERT_EQ(sum, limit_of(o));
}

static void test_precise_json(void)
{
	char *dir = vfd_test_mkdtemp(), *xml = fixture("pc-hostdev");
	json_object *o, *devices;

	o = plan_json(dir, (const char *const[]){ "--domain-xml", xml, NULL });
	ASSERT_STREQ(json_object_get_string(field(o, "policy")), "precise");
	ASSERT_EQ(limit_of(o), 1 * GiB + 64 * MiB);
	ASSERT_FALSE(json_object_get_boolean(field(o, "unlimited")));
	ASSERT_STREQ(json_object_get_string(field(o, "binding_counter")), "locked_vm");
	ASSERT_STREQ(json_object_get_string(field(o, "domain")), "memlock-pc-hostdev");
	ASSERT_EQ(json_object_get_uint64(field(o, "memory_bytes")), 1 * GiB);
	devices = field(o, "devices");
	ASSERT_EQ(json_object_array_length(devices), 1);
	ASSERT_STREQ(json_object_get_string(field(json_object_array_get_idx(devices, 0), "kind")), "pci");
	ASSERT_STREQ(json_object_get_string(field(json_object_array_get_idx(devices, 0), "name")), "0002:03:00.1");
	check_sum(o);
	json_object_put(o);

	/* a bigger headroom from the config file */
	vfd_test_write_file(dir, "memlock.conf", "# test\nheadroom = 256 MiB\n");
	{
		char conf[PATH_MAX];

		snprintf(conf, sizeof(conf), "%s/memlock.conf", dir);
		o = plan_json(dir, (const char *const[]){ "--domain-xml", xml, "--config", conf, NULL });
		ASSERT_EQ(limit_of(o), 1 * GiB + 256 * MiB);
		check_sum(o);
		json_object_put(o);
	}
	free(xml);
	vfd_test_rm_rf(dir);
	free(dir);
}

static void test_libvirt_json(void)
{
	static const struct {
		const char *fixture, *compat;
		uint64_t limit;
		bool unlimited;
	} cases[] = {
		/* libvirt 9.0 tests/qemumemlocktest.c values */
		{ "pc-kvm", NULL, 0, false },
		{ "pc-hostdev", NULL, 2147483648ULL, false },
		{ "pc-hardlimit+hostdev", NULL, 2147483648ULL, false },
		{ "pc-locked", NULL, UINT64_MAX, true },
		{ "pseries-kvm", NULL, 20971520ULL, false },
		{ "pseries-tcg", NULL, 0, false },
		/* later libvirt: pc-hostdev-nvme */
		{ "pc-hostdev-nvme", "later", 3221225472ULL, false },
		{ "pc-hostdev-nvme", "9.0", 2147483648ULL, false },
	};
	char *dir = vfd_test_mkdtemp();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *xml = fixture(cases[i].fixture);
		json_object *o;

		if (cases[i].compat)
			o = plan_json(dir, (const char *const[]){ "--domain-xml", xml, "--policy", "libvirt",
								  "--libvirt-compat", cases[i].compat, NULL });
		else
			o = plan_json(dir, (const char *const[]){ "--domain-xml", xml, "--policy", "libvirt", NULL });
		ASSERT_STREQ(json_object_get_string(field(o, "policy")), "libvirt");
		ASSERT_STREQ(json_object_get_string(field(o, "libvirt_compat")), cases[i].compat ? cases[i].compat : "9.0");
		if (limit_of(o) != cases[i].limit)
			vfd_test_fail(__FILE__, __LINE__, "%s: limit_bytes %llu, expected %llu", cases[i].fixture,
				      (unsigned long long)limit_of(o), (unsigned long long)cases[i].limit);
		ASSERT_EQ(json_object_get_boolean(field(o, "unlimited")), cases[i].unlimited);
		check_sum(o);
		json_object_put(o);
		free(xml);
	}
	vfd_test_rm_rf(dir);
	free(dir);
}

static void test_host_lookups(void)
{
	const char *root = env_or_skip("VFD_SYNTHETIC_HOST");
	char *dir = vfd_test_mkdtemp();
	char xml[PATH_MAX], conf[PATH_MAX];
	json_object *o, *dev;

	/*
	 * pSeries with hostdevs from the synthetic host's IOMMU groups 2 (two
	 * functions) and 5: libvirt isolates each group on a PHB of its own,
	 * 3 PHBs with the default one:
	 * 1 GiB/128 + 3 * 4 MiB + 8 MiB + max(3 * 2 GiB, 1 GiB + 3 * 2 MiB + 8 MiB)
	 */
	vfd_test_write_file(dir, "pseries.xml",
		"<domain type='kvm'><name>p</name><memory unit='GiB'>1</memory>"
		"<os><type arch='ppc64' machine='pseries'>hvm</type></os><devices>"
		"<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>"
		"<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='1' slot='0' function='1'/></source></hostdev>"
		"<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='2' slot='0' function='0'/></source></hostdev>"
		"</devices></domain>");
	snprintf(xml, sizeof(xml), "%s/pseries.xml", dir);
	o = plan_json(dir, (const char *const[]){ "--domain-xml", xml, "--policy", "libvirt", "--root", root, NULL });
	ASSERT_EQ(json_object_get_int64(field(o, "pseries_phbs")), 3);
	ASSERT_EQ(limit_of(o), (8192ULL + 12288 + 8192 + 6291456) * 1024);
	check_sum(o);
	json_object_put(o);

	/* the mdev's type comes from sysfs, its budget from the config file */
	vfd_test_write_file(dir, "mdev.xml",
		"<domain type='kvm'><memory unit='GiB'>4</memory><devices>"
		"<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
		"<address uuid='83b8f4f2-509f-382f-3c1e-e6bfe0fa1001'/></source></hostdev>"
		"</devices></domain>");
	vfd_test_write_file(dir, "memlock.conf", "mdev-budget i915-GVTg_V5_4 = 100 MiB\n");
	snprintf(xml, sizeof(xml), "%s/mdev.xml", dir);
	snprintf(conf, sizeof(conf), "%s/memlock.conf", dir);
	o = plan_json(dir, (const char *const[]){ "--domain-xml", xml, "--config", conf, "--root", root, NULL });
	dev = json_object_array_get_idx(field(o, "devices"), 0);
	ASSERT_STREQ(json_object_get_string(field(dev, "kind")), "mdev");
	ASSERT_STREQ(json_object_get_string(field(dev, "mdev_type")), "i915-GVTg_V5_4");
	ASSERT_EQ(limit_of(o), 100 * MiB);
	check_sum(o);
	json_object_put(o);
	vfd_test_rm_rf(dir);
	free(dir);
}

static void test_pid_floor(void)
{
	char *dir = vfd_test_mkdtemp(), *xml = fixture("pc-hostdev");
	json_object *o, *rows;
	bool found = false;

	/* a root with a fake /proc: the VM already holds 3 GiB */
	vfd_test_write_file(dir, "root/proc/4242/status",
			    "Name:\tqemu-system-x86\nVmLck:\t 3145728 kB\nVmPin:\t       0 kB\n");
	{
		char root[PATH_MAX];

		snprintf(root, sizeof(root), "%s/root", dir);
		o = plan_json(dir, (const char *const[]){ "--domain-xml", xml, "--pid", "4242", "--root", root, NULL });
	}
	ASSERT_EQ(limit_of(o), 3 * GiB);
	rows = field(o, "breakdown");
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		if (strcmp(json_object_get_string(field(json_object_array_get_idx(rows, i), "rule")),
			   "observed-pins") == 0)
			found = true;
	ASSERT_TRUE(found);
	check_sum(o);
	json_object_put(o);
	free(xml);
	vfd_test_rm_rf(dir);
	free(dir);
}

static void test_human_output(void)
{
	char *dir = vfd_test_mkdtemp(), *xml = fixture("pc-hostdev"), *out, *err;

	ASSERT_EQ(run(dir, &out, &err, (const char *const[]){ "memlock", "plan", "--domain-xml", xml,
								"--policy", "libvirt", NULL }), 0);
	ASSERT_STREQ(err, "");
	ASSERT_NOT_NULL(strstr(out, "Policy:  libvirt (libvirt 9.0 formula)\n"));
	ASSERT_NOT_NULL(strstr(out, "Limit:   2147483648 bytes (2.00 GiB)\n"));
	ASSERT_NOT_NULL(strstr(out, "\nRULE "));
	ASSERT_NOT_NULL(strstr(out, "\nvfio-devices "));
	ASSERT_NOT_NULL(strstr(out, "\nmmio-window "));
	free(out);
	free(err);
	free(xml);

	xml = fixture("pc-kvm");
	ASSERT_EQ(run(dir, &out, &err, (const char *const[]){ "memlock", "plan", "--domain-xml", xml, NULL }), 0);
	ASSERT_NOT_NULL(strstr(out, "Limit:   0 (leave the limit alone)\n"));
	free(out);
	free(err);
	free(xml);
	vfd_test_rm_rf(dir);
	free(dir);
}

/* one line on stderr naming the problem, nothing on stdout, the exit status */
static void expect_error(const char *dir, int status, const char *needle, const char *const *args)
{
	char *out, *err;
	int rc = run(dir, &out, &err, args);

	if (rc != status)
		vfd_test_fail(__FILE__, __LINE__, "exit %d, expected %d; stderr: %s", rc, status, err);
	ASSERT_STREQ(out, "");
	ASSERT_TRUE(strncmp(err, "vfioctl: ", 9) == 0);
	ASSERT_TRUE(strchr(err, '\n') == err + strlen(err) - 1);
	if (!strstr(err, needle))
		vfd_test_fail(__FILE__, __LINE__, "stderr '%s' does not name '%s'", err, needle);
	free(out);
	free(err);
}

static void test_errors(void)
{
	char *dir = vfd_test_mkdtemp(), *xml = fixture("pc-kvm");
	char path[PATH_MAX], nofile[PATH_MAX];

	snprintf(nofile, sizeof(nofile), "%s/missing.xml", dir);
	expect_error(dir, 1, "missing.xml", (const char *const[]){ "memlock", "plan", "--domain-xml", nofile, NULL });
	expect_error(dir, 2, "--policy", (const char *const[]){ "memlock", "plan", "--domain-xml", xml,
								 "--policy", "generous", NULL });
	expect_error(dir, 2, "--backend", (const char *const[]){ "memlock", "plan", "--domain-xml", xml,
								  "--backend", "vfio", NULL });
	expect_error(dir, 2, "--pid", (const char *const[]){ "memlock", "plan", "--domain-xml", xml,
							      "--pid", "0", NULL });
	expect_error(dir, 2, "--frob", (const char *const[]){ "memlock", "plan", "--domain-xml", xml,
							       "--frob", NULL });
	expect_error(dir, 2, "needs --domain-xml", (const char *const[]){ "memlock", "plan", NULL });
	expect_error(dir, 2, "extra", (const char *const[]){ "memlock", "plan", "--domain-xml", xml, "extra", NULL });
	expect_error(dir, 2, "subcommand", (const char *const[]){ "memlock", "apply", NULL });

	/* hostile input: refused with the reason, nothing read */
	vfd_test_write_file(dir, "xxe.xml",
			    "<!DOCTYPE domain [ <!ENTITY x SYSTEM 'file:///etc/passwd'> ]>"
			    "<domain type='kvm'><name>&x;</name><memory>1</memory></domain>");
	snprintf(path, sizeof(path), "%s/xxe.xml", dir);
	expect_error(dir, 1, "not accepted", (const char *const[]){ "memlock", "plan", "--domain-xml", path, NULL });
	vfd_test_write_file(dir, "bad.conf", "headroom = plenty\n");
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	expect_error(dir, 1, "line 1", (const char *const[]){ "memlock", "plan", "--domain-xml", xml,
							       "--config", path, NULL });
	expect_error(dir, 1, "process 4243", (const char *const[]){ "memlock", "plan", "--domain-xml", xml,
								     "--pid", "4243", "--root", dir, NULL });
	free(xml);
	vfd_test_rm_rf(dir);
	free(dir);
}

/* type1's mapping budget: the host's dma_entry_limit through --root, or --dma-entry-limit */
static void test_dma_mappings(void)
{
	char *dir = vfd_test_mkdtemp(), *xml = fixture("q35-virtio-mem+hostdev");
	json_object *o, *b, *rows;
	uint64_t sum = 0;

	/* no vfio_iommu_type1 under the root: the default */
	o = plan_json(dir, (const char *const[]){ "--domain-xml", xml, "--root", dir, NULL });
	b = field(o, "dma_mappings");
	ASSERT_STREQ(json_object_get_string(field(b, "verdict")), "over");
	ASSERT_TRUE(json_object_get_boolean(field(b, "known")));
	ASSERT_EQ(json_object_get_uint64(field(b, "count")), 65554);
	ASSERT_EQ(json_object_get_uint64(field(b, "limit")), 65535);
	ASSERT_STREQ(json_object_get_string(field(b, "limit_source")), "default");
	ASSERT_NOT_NULL(strstr(json_object_get_string(field(b, "message")), "iommufd"));
	rows = field(b, "breakdown");
	for (size_t i = 0; i < json_object_array_length(rows); i++)
		sum += json_object_get_uint64(field(json_object_array_get_idx(rows, i), "count"));
	ASSERT_EQ(sum, 65554);
	json_object_put(o);

	/* the host's parameter, read below --root: raised far above the count */
	vfd_test_write_file(dir, "sys/module/vfio_iommu_type1/parameters/dma_entry_limit", "1000000\n");
	o = plan_json(dir, (const char *const[]){ "--domain-xml", xml, "--root", dir, NULL });
	b = field(o, "dma_mappings");
	ASSERT_STREQ(json_object_get_string(field(b, "verdict")), "ok");
	ASSERT_EQ(json_object_get_uint64(field(b, "limit")), 1000000);
	ASSERT_STREQ(json_object_get_string(field(b, "limit_source")), "host");
	ASSERT_TRUE(json_object_is_type(field(b, "message"), json_type_null));
	json_object_put(o);

	/* --dma-entry-limit wins over the host's */
	o = plan_json(dir, (const char *const[]){ "--domain-xml", xml, "--root", dir, "--dma-entry-limit", "70000",
						  NULL });
	b = field(o, "dma_mappings");
	ASSERT_STREQ(json_object_get_string(field(b, "verdict")), "near");
	ASSERT_STREQ(json_object_get_string(field(b, "limit_source")), "option");
	json_object_put(o);

	/* iommufd: no cap */
	o = plan_json(dir, (const char *const[]){ "--domain-xml", xml, "--backend", "iommufd", NULL });
	ASSERT_STREQ(json_object_get_string(field(field(o, "dma_mappings"), "verdict")), "none");
	json_object_put(o);

	expect_error(dir, 2, "--dma-entry-limit", (const char *const[]){ "memlock", "plan", "--domain-xml", xml,
									  "--dma-entry-limit", "0", NULL });
	expect_error(dir, 2, "--dma-entry-limit", (const char *const[]){ "memlock", "plan", "--domain-xml", xml,
									  "--dma-entry-limit", "-5", NULL });
	expect_error(dir, 2, "--dma-entry-limit", (const char *const[]){ "memlock", "plan", "--domain-xml", xml,
									  "--dma-entry-limit", "4294967296", NULL });
	free(xml);
	vfd_test_rm_rf(dir);
	free(dir);
}

/* global options go before the verb; the verb's own --json works too */
static void test_global_options(void)
{
	char *dir = vfd_test_mkdtemp(), *xml = fixture("pc-hostdev"), *out, *err;
	json_object *o;

	ASSERT_EQ(run(dir, &out, &err, (const char *const[]){ "--json", "memlock", "plan", "--domain-xml", xml,
							      "--policy", "libvirt", NULL }), 0);
	o = json_tokener_parse(out);
	ASSERT_NOT_NULL(o);
	ASSERT_EQ(limit_of(o), 2147483648ULL);
	json_object_put(o);
	free(out);
	free(err);
	/* a global option after the verb belongs to the verb, which does not know it */
	expect_error(dir, 2, "--bus-address", (const char *const[]){ "memlock", "plan", "--domain-xml", xml,
								      "--bus-address=unix:path=nowhere", NULL });
	free(xml);
	vfd_test_rm_rf(dir);
	free(dir);
}

VFD_TEST_MAIN(
	VFD_TEST(test_precise_json),
	VFD_TEST(test_libvirt_json),
	VFD_TEST(test_host_lookups),
	VFD_TEST(test_pid_floor),
	VFD_TEST(test_human_output),
	VFD_TEST(test_errors),
	VFD_TEST(test_global_options),
	VFD_TEST(test_dma_mappings),
)
