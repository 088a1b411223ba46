/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Early binding's udev rules (lib/udev-rule.c): the text for fixture
 * configurations, the refusals of values that would inject udev keys or
 * rules (whether or not the parser caught them first), and the atomic
 * replace of the file.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfd-test.h"
#include "vfiod/config.h"
#include "vfiod/udev-rule.h"

/* a config from vfiod.json text, through the real parser */
static vfd_config *parse(const char *json)
{
	vfd_config *c = NULL;
	vfd_op_error e = {};

	ASSERT_OK(vfd_config_new(&c));
	ASSERT_OK(vfd_config_parse_vfiod(c, json, VFD_CONFIG_FILE, &e));
	return c;
}

/* every line is a comment, empty, or one whole rule of ours */
static void assert_only_our_lines(const char *text, size_t n_rules)
{
	size_t rules = 0;
	char *copy = strdup(text), *save = NULL;

	ASSERT_NOT_NULL(copy);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#')
			continue;
		static const char start[] = "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"";

		ASSERT_TRUE(strncmp(l, start, strlen(start)) == 0);
		/* exactly the keys of one rule: 4 assignments/matches after ACTION, 12 quotes */
		size_t quotes = 0;
		for (const char *p = l; *p; p++)
			quotes += *p == '"';
		ASSERT_EQ(quotes, (size_t)12);
		rules++;
	}
	ASSERT_EQ(rules, n_rules);
	free(copy);
}

static void test_rule_for_vfio_pci_and_variant(void)
{
	_cleanup_(vfd_config_freep) vfd_config *c = parse(
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\" },"
		"  { \"device\": \"0000:0A:1f.7\", \"driver\": \"vfiod-edu-vfio\" } ] }");
	_cleanup_free_ char *text = NULL;
	vfd_op_error e = {};
	size_t n = 99;

	ASSERT_OK(vfd_udev_rules_format(c, &e, &text, &n));
	ASSERT_EQ(n, (size_t)2);
	ASSERT_NOT_NULL(strstr(text,
		"ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:02:00.0\", "
		"ATTR{driver_override}=\"vfio-pci\", "
		"ATTR{[subsystem/pci]drivers_probe}=\"0000:02:00.0\", "
		"RUN{builtin}+=\"kmod load vfio_pci\"\n"));
	/*
	 * the kernel's lower-case name; the driver as the kernel names it
	 * (a variant registers as KBUILD_MODNAME, '_'): driver_override is
	 * compared byte for byte, "vfiod-edu-vfio" would match no driver
	 */
	ASSERT_NOT_NULL(strstr(text,
		"KERNEL==\"0000:0a:1f.7\", ATTR{driver_override}=\"vfiod_edu_vfio\", "
		"ATTR{[subsystem/pci]drivers_probe}=\"0000:0a:1f.7\", "
		"RUN{builtin}+=\"kmod load vfiod_edu_vfio\"\n"));
	assert_only_our_lines(text, 2);
}

static void test_rule_names_the_driver_as_the_kernel_does(void)
{
	_cleanup_(vfd_config_freep) vfd_config *c = parse(
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\", \"driver\": \"vfio_pci\" } ] }");
	_cleanup_free_ char *text = NULL;
	vfd_op_error e = {};

	/* vfio-pci's module is vfio_pci, its driver vfio-pci */
	ASSERT_OK(vfd_udev_rules_format(c, &e, &text, NULL));
	ASSERT_NOT_NULL(strstr(text, "ATTR{driver_override}=\"vfio-pci\", "));
	ASSERT_NOT_NULL(strstr(text, "RUN{builtin}+=\"kmod load vfio_pci\""));
}

static void test_no_bindings_is_a_header(void)
{
	_cleanup_(vfd_config_freep) vfd_config *c = parse("{ \"bindings\": [] }");
	_cleanup_free_ char *text = NULL;
	vfd_op_error e = {};
	size_t n = 99;

	ASSERT_OK(vfd_udev_rules_format(c, &e, &text, &n));
	ASSERT_EQ(n, (size_t)0);
	ASSERT_TRUE(text[0] == '#');
	assert_only_our_lines(text, 0);
}

static void test_driverctl_bindings_are_left_to_driverctl(void)
{
	_cleanup_(vfd_config_freep) vfd_config *c = parse("{ \"bindings\": [ { \"device\": \"0000:02:00.0\" } ] }");
	_cleanup_free_ char *text = NULL;
	vfd_op_error e = {};
	size_t n = 0;

	c->bindings[0].source = VFD_CONFIG_SOURCE_DRIVERCTL;
	ASSERT_OK(vfd_udev_rules_format(c, &e, &text, &n));
	ASSERT_EQ(n, (size_t)0);
	ASSERT_NULL(strstr(text, "KERNEL=="));
}

/* the parser is the first wall: hostile vfiod.json never becomes a config */
static void test_parser_refuses_injection(void)
{
	static const char *const hostile[] = {
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\", \"driver\": \"vfio-pci\\\"\\nRUN+=\\\"/bin/sh\" } ] }",
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\", \"driver\": \"vfio-pci\\\", RUN+=\\\"/bin/sh\" } ] }",
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\", \"driver\": \"$kernel\" } ] }",
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\", \"driver\": \"%k\" } ] }",
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\", \"driver\": \"\" } ] }",
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\\\", RUN+=\\\"/bin/sh\" } ] }",
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\\n\" } ] }",
		"{ \"bindings\": [ { \"device\": \"02:00.0\" } ] }",
		"{ \"bindings\": [ { \"device\": \"0000:02:20.0\" } ] }",
	};

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		_cleanup_(vfd_config_freep) vfd_config *c = NULL;
		vfd_op_error e = {};

		ASSERT_OK(vfd_config_new(&c));
		ASSERT_ERRNO(vfd_config_parse_vfiod(c, hostile[i], VFD_CONFIG_FILE, &e), -EINVAL);
		ASSERT_TRUE(vfd_op_error_is_set(&e));
		ASSERT_EQ(c->n_bindings, (size_t)0);
	}
}

/*
 * The generator's own wall: a config built by other means (a future
 * source, a parser bug) with values that would break out of the quotes.
 */
static void refused(const char *name, const char *driver, const char *why)
{
	_cleanup_(vfd_config_freep) vfd_config *c = parse("{ \"bindings\": [ { \"device\": \"0000:02:00.0\" } ] }");
	char *text = (char *)"untouched";
	vfd_op_error e = {};
	size_t n = 42;

	if (name)
		snprintf(c->bindings[0].name, sizeof(c->bindings[0].name), "%s", name);
	if (driver) {
		c->bindings[0].driver = strdup(driver);
		ASSERT_NOT_NULL(c->bindings[0].driver);
	}
	ASSERT_ERRNO(vfd_udev_rules_format(c, &e, &text, &n), -EINVAL);
	ASSERT_STREQ(text, "untouched");
	ASSERT_EQ(n, (size_t)42);
	ASSERT_NOT_NULL(strstr(e.message, why));
	ASSERT_NOT_NULL(strstr(e.message, "no rule written"));
}

static void test_generator_refuses_hostile_values(void)
{
	refused(NULL, "vfio-pci\"\nACTION==\"add\", RUN+=\"/bin/sh -c id", "driver name");
	refused(NULL, "vfio-pci\", RUN+=\"/bin/sh", "driver name");
	refused(NULL, "vfio pci", "driver name");
	refused(NULL, "-vfio", "driver name");
	refused(NULL, "$env{X}", "driver name");
	refused("0000:02:00\"0", NULL, "canonical PCI address"); /* the name is a fixed 13-byte field */
	refused("0000:02:00.\n", NULL, "canonical PCI address");
	refused("0000:02:00.*", NULL, "canonical PCI address");
	refused("0000:02:00.1", NULL, "canonical PCI address"); /* not the parsed address */
	refused("0000:0A:00.0", NULL, "canonical PCI address"); /* the kernel's names are lower case */
}

static char *read_file(const char *path)
{
	char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k;

	ASSERT_TRUE(fd >= 0);
	k = read(fd, buf, sizeof(buf) - 1);
	ASSERT_TRUE(k >= 0);
	close(fd);
	buf[k] = '\0';
	return strdup(buf);
}

static void test_write_replaces_atomically(void)
{
	_cleanup_free_ char *tmp = vfd_test_mkdtemp(), *dir = NULL, *file = NULL, *got = NULL;
	struct stat st;
	DIR *d;
	size_t entries = 0;

	ASSERT_TRUE(asprintf(&dir, "%s/run/udev/rules.d", tmp) > 0);
	ASSERT_TRUE(asprintf(&file, "%s/" VFD_UDEV_RULES_FILE, dir) > 0);
	/* parents created (no /run/udev before udevd) */
	ASSERT_OK(vfd_udev_rules_write(dir, "# one\n"));
	ASSERT_OK(vfd_udev_rules_write(dir, "# two\n"));
	got = read_file(file);
	ASSERT_STREQ(got, "# two\n");
	ASSERT_OK(stat(file, &st));
	ASSERT_EQ(st.st_mode & 07777, (mode_t)0644);
	/* no temporary file left behind */
	d = opendir(dir);
	ASSERT_NOT_NULL(d);
	for (struct dirent *de; (de = readdir(d));)
		entries += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	ASSERT_EQ(entries, (size_t)1);
	/* a symlink planted as the directory is not followed */
	free(file);
	ASSERT_TRUE(asprintf(&file, "%s/link", tmp) > 0);
	ASSERT_OK(symlink(dir, file));
	{
		int r = vfd_udev_rules_write(file, "# three\n");

		ASSERT_TRUE(r == -ELOOP || r == -ENOTDIR);
	}
}

/*
 * The temporary file's name is predictable (the pid): whatever sits at it
 * (a hard link to another file, a leftover of a killed run) is never
 * opened and truncated, only replaced.
 */
static void test_write_never_writes_through_the_temporary_name(void)
{
	_cleanup_free_ char *tmp = vfd_test_mkdtemp(), *dir = NULL, *victim = NULL, *planted = NULL,
			    *got = NULL, *file = NULL;

	ASSERT_TRUE(asprintf(&dir, "%s/rules.d", tmp) > 0);
	ASSERT_OK(mkdir(dir, 0755));
	ASSERT_TRUE(asprintf(&victim, "%s/victim", dir) > 0);
	ASSERT_TRUE(asprintf(&planted, "%s/." VFD_UDEV_RULES_FILE ".%ld", dir, (long) getpid()) > 0);
	ASSERT_TRUE(asprintf(&file, "%s/" VFD_UDEV_RULES_FILE, dir) > 0);
	{
		int fd = open(victim, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		ASSERT_TRUE(fd >= 0);
		ASSERT_TRUE(write(fd, "secret\n", 7) == 7);
		close(fd);
	}
	ASSERT_OK(link(victim, planted));

	ASSERT_OK(vfd_udev_rules_write(dir, "# rules\n"));
	got = read_file(victim);
	ASSERT_STREQ(got, "secret\n");
	free(got);
	got = read_file(file);
	ASSERT_STREQ(got, "# rules\n");
	{
		struct stat st;

		/* the victim keeps its mode; the rules are a file of their own */
		ASSERT_OK(stat(victim, &st));
		ASSERT_EQ(st.st_mode & 07777, (mode_t)0600);
		ASSERT_EQ(st.st_nlink, (nlink_t)1);
	}
}

/*
 * A binding of the controller the host's root file system is on: udev
 * would take it from its driver at boot (in the initramfs too), and the
 * host would not come up. Refused, directly and through a dm device.
 */
static void test_refuses_the_root_file_systems_controller(void)
{
	_cleanup_free_ char *tmp = vfd_test_mkdtemp();
	_cleanup_(vfd_config_freep) vfd_config *disk = parse(
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\" }, { \"device\": \"0000:00:1f.2\" } ] }");
	_cleanup_(vfd_config_freep) vfd_config *nvme = parse(
		"{ \"bindings\": [ { \"device\": \"0000:03:00.0\" } ] }");
	_cleanup_(vfd_config_freep) vfd_config *other = parse(
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\" }, { \"device\": \"0000:00:1f.3\" } ] }");
	vfd_context *ctx = NULL;
	dev_t sda1 = makedev(8, 1), dm0 = makedev(253, 0), tmpfs = makedev(0, 42);
	dev_t both[] = { tmpfs, dm0 };
	vfd_op_error e = {};

	/* sda1 on the SATA controller 0000:00:1f.2; dm-0 on an NVMe partition of 0000:03:00.0 */
	vfd_test_symlink(tmp, "sys/dev/block/8:1",
			 "../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1");
	vfd_test_mkdir(tmp, "sys/devices/virtual/block/dm-0/slaves");
	vfd_test_symlink(tmp, "sys/dev/block/253:0", "../../devices/virtual/block/dm-0");
	vfd_test_symlink(tmp, "sys/devices/virtual/block/dm-0/slaves/nvme0n1p2",
			 "../../../../pci0000:00/0000:00:02.0/0000:03:00.0/nvme/nvme0/nvme0n1/nvme0n1p2");
	vfd_test_symlink(tmp, "sys/class/block/nvme0n1p2",
			 "../../devices/pci0000:00/0000:00:02.0/0000:03:00.0/nvme/nvme0/nvme0n1/nvme0n1p2");
	ASSERT_OK(vfd_context_new(tmp, &ctx));

	ASSERT_ERRNO(vfd_udev_rules_check_host_critical(ctx, disk, &sda1, 1, &e), -EBUSY);
	ASSERT_STREQ(e.subject, "0000:00:1f.2");
	vfd_op_error_clear(&e);
	ASSERT_ERRNO(vfd_udev_rules_check_host_critical(ctx, nvme, both, 2, &e), -EBUSY);
	ASSERT_STREQ(e.subject, "0000:03:00.0");
	/* other devices pass, a sibling function of the controller too */
	ASSERT_OK(vfd_udev_rules_check_host_critical(ctx, disk, &dm0, 1, &e));
	ASSERT_OK(vfd_udev_rules_check_host_critical(ctx, nvme, &sda1, 1, &e));
	ASSERT_OK(vfd_udev_rules_check_host_critical(ctx, other, both, 2, &e));
	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
}

/*
 * A binding naming a host driver (or any module): vfiod refuses it at bind
 * time, but its rule would give the device to that driver at every boot
 * and load that module. The modules: a depmod'ed fixture (test-vfio-variant.c).
 */
#define RELEASE "6.0.0-vfd-test"

static void test_refuses_a_driver_that_is_no_vfio_driver(void)
{
	const char *objs = getenv("VFD_KMOD_FIXTURES"), *depmod = getenv("VFD_DEPMOD");
	_cleanup_free_ char *root = vfd_test_mkdtemp();
	_cleanup_(vfd_config_freep) vfd_config *host_driver = parse(
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\", \"driver\": \"vfio-pci\" },"
		"  { \"device\": \"0000:03:00.0\", \"driver\": \"e1000e\" } ] }");
	_cleanup_(vfd_config_freep) vfd_config *missing = parse(
		"{ \"bindings\": [ { \"device\": \"0000:03:00.0\", \"driver\": \"usb-storage\" } ] }");
	_cleanup_(vfd_config_freep) vfd_config *good = parse(
		"{ \"bindings\": [ { \"device\": \"0000:02:00.0\" },"
		"  { \"device\": \"0000:03:00.0\", \"driver\": \"fx-edu-exact\" },"
		"  { \"device\": \"0000:04:00.0\", \"driver\": \"vfio_pci\" } ] }");
	static const char *const modules[] = { "vfio_pci", "fx_edu_exact", "e1000e" };
	vfd_context *ctx = NULL;
	vfd_op_error e = {};
	char cmd[4096];

	if (!objs || !depmod)
		vfd_test_fail(__FILE__, __LINE__, "VFD_KMOD_FIXTURES and VFD_DEPMOD must be set");
	vfd_test_write_file(root, "proc/sys/kernel/osrelease", RELEASE "\n");
	vfd_test_mkdir(root, "lib/modules/" RELEASE "/extra");
	vfd_test_write_file(root, "lib/modules/" RELEASE "/modules.order", "");
	vfd_test_write_file(root, "lib/modules/" RELEASE "/modules.builtin", "");
	vfd_test_write_file(root, "lib/modules/" RELEASE "/modules.builtin.modinfo", "");
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		snprintf(cmd, sizeof(cmd), "cp '%s/%s.ko' '%s/lib/modules/" RELEASE "/extra/'", objs,
			 modules[i], root);
		ASSERT_EQ(0, system(cmd));
	}
	snprintf(cmd, sizeof(cmd), "'%s' -b '%s' " RELEASE, depmod, root);
	ASSERT_EQ(0, system(cmd));
	ASSERT_OK(vfd_context_new(root, &ctx));

	ASSERT_ERRNO(vfd_udev_rules_check_drivers(ctx, host_driver, &e), -ENOEXEC);
	ASSERT_STREQ(e.subject, "0000:03:00.0");
	ASSERT_NOT_NULL(strstr(e.message, "e1000e is not a VFIO driver"));
	vfd_op_error_clear(&e);
	/* not in this kernel: the override names no driver, the device stays off all */
	ASSERT_OK(vfd_udev_rules_check_drivers(ctx, missing, &e));
	ASSERT_OK(vfd_udev_rules_check_drivers(ctx, good, &e));
	vfd_context_free(ctx);
	vfd_test_rm_rf(root);
}

VFD_TEST_MAIN(
	VFD_TEST(test_rule_for_vfio_pci_and_variant),
	VFD_TEST(test_rule_names_the_driver_as_the_kernel_does),
	VFD_TEST(test_no_bindings_is_a_header),
	VFD_TEST(test_driverctl_bindings_are_left_to_driverctl),
	VFD_TEST(test_parser_refuses_injection),
	VFD_TEST(test_generator_refuses_hostile_values),
	VFD_TEST(test_write_replaces_atomically),
	VFD_TEST(test_write_never_writes_through_the_temporary_name),
	VFD_TEST(test_refuses_the_root_file_systems_controller),
	VFD_TEST(test_refuses_a_driver_that_is_no_vfio_driver),
)
