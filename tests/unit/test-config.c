/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Persistent configuration (lib/config*.c): vfiod.json, mdevctl.d and
 * driverctl.d, each parser alone and the merged load from a root tree.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfd-test.h"
#include "vfiod/config.h"
#include "vfiod/inventory.h"

#define UUID_A "5f0f4d4e-2a6b-4c1e-9d3a-0b1c2d3e4f50"
#define UUID_B "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"
#define UUID_C "0a1b2c3d-0000-4000-8000-000000000003"

/* ---- a root tree with etc/ files ---- */

static char *make_root(void)
{
	return vfd_test_mkdtemp(); /* below $TMPDIR */
}

static void mkdir_p(const char *root, const char *rel)
{
	char *path, *p;

	ASSERT_TRUE(asprintf(&path, "%s/%s", root, rel) > 0);
	for (p = path + strlen(root) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			(void) mkdir(path, 0755);
			*p = '/';
		}
	(void) mkdir(path, 0755);
	free(path);
}

static void put(const char *root, const char *rel, const char *text)
{
	char *path, *dir, *slash;
	FILE *f;

	dir = strdup(rel);
	ASSERT_NOT_NULL(dir);
	slash = strrchr(dir, '/');
	ASSERT_NOT_NULL(slash);
	*slash = '\0';
	mkdir_p(root, dir);
	free(dir);
	ASSERT_TRUE(asprintf(&path, "%s/%s", root, rel) > 0);
	f = fopen(path, "w");
	ASSERT_NOT_NULL(f);
	fputs(text, f);
	ASSERT_EQ(fclose(f), 0);
	free(path);
}

static vfd_config *load_ok(const char *root)
{
	vfd_context *ctx = NULL;
	vfd_config *c = NULL;
	vfd_op_error e = {};
	int r;

	ASSERT_OK(vfd_context_new(root, &ctx));
	r = vfd_config_load(ctx, &e, &c);
	if (r < 0)
		vfd_test_fail(__FILE__, __LINE__, "load: %d %s: %s", r, e.subject, e.message);
	vfd_context_free(ctx);
	return c;
}

static int load_err(const char *root, vfd_op_error *e)
{
	vfd_context *ctx = NULL;
	vfd_config *c = NULL;
	int r;

	ASSERT_OK(vfd_context_new(root, &ctx));
	r = vfd_config_load(ctx, e, &c);
	ASSERT_NULL(c);
	vfd_context_free(ctx);
	return r;
}

/* ---- vfiod.json ---- */

static void test_vfiod_json_full(void)
{
	vfd_config *c = NULL;
	vfd_op_error e = {};

	ASSERT_OK(vfd_config_new(&c));
	ASSERT_OK(vfd_config_parse_vfiod(c,
		"{ \"bindings\": [ { \"device\": \"0000:01:00.0\" },\n"
		"                  { \"device\": \"0000:0A:1f.7\", \"unbind_host_members\": true } ],\n"
		"  \"mdevs\": [ { \"uuid\": \"5F0F4D4E-2A6B-4C1E-9D3A-0B1C2D3E4F50\", \"parent\": \"mtty\",\n"
		"               \"type\": \"mtty-2\", \"attrs\": [ {\"b\": \"2\"}, {\"a\": \"1\"}, {\"sub/c\": 3} ] },\n"
		"             { \"uuid\": \"" UUID_B "\", \"parent\": \"0000:00:02.0\",\n"
		"               \"type\": \"i915-GVTg_V5_4\", \"autostart\": false } ],\n"
		"  \"import\": { \"mdevctl\": false } }\n",
		"etc/vfiod/vfiod.json", &e));

	ASSERT_EQ(c->n_bindings, 2);
	ASSERT_STREQ(c->bindings[0].name, "0000:01:00.0");
	ASSERT_FALSE(c->bindings[0].unbind_host_members);
	/* canonical lower case */
	ASSERT_STREQ(c->bindings[1].name, "0000:0a:1f.7");
	ASSERT_TRUE(c->bindings[1].unbind_host_members);
	ASSERT_EQ(c->bindings[1].source, VFD_CONFIG_SOURCE_VFIOD);
	ASSERT_STREQ(c->bindings[1].origin, "etc/vfiod/vfiod.json");

	ASSERT_EQ(c->n_mdevs, 2);
	ASSERT_STREQ(c->mdevs[0].uuid, UUID_A);
	ASSERT_STREQ(c->mdevs[0].parent, "mtty");
	ASSERT_STREQ(c->mdevs[0].type, "mtty-2");
	ASSERT_TRUE(c->mdevs[0].autostart); /* vfiod's default */
	/* order as written, not sorted */
	ASSERT_EQ(c->mdevs[0].n_attrs, 3);
	ASSERT_STREQ(c->mdevs[0].attrs[0].name, "b");
	ASSERT_STREQ(c->mdevs[0].attrs[1].name, "a");
	ASSERT_STREQ(c->mdevs[0].attrs[1].value, "1");
	ASSERT_STREQ(c->mdevs[0].attrs[2].name, "sub/c");
	ASSERT_STREQ(c->mdevs[0].attrs[2].value, "3");
	ASSERT_FALSE(c->mdevs[1].autostart);
	ASSERT_EQ(c->mdevs[1].n_attrs, 0);

	ASSERT_FALSE(c->import_mdevctl);
	ASSERT_TRUE(c->import_driverctl);
	ASSERT_TRUE(vfd_config_find_mdev(c, "5f0f4d4e-2a6b-4c1e-9d3a-0b1c2d3e4f50") == &c->mdevs[0]);
	ASSERT_TRUE(vfd_config_find_binding(c, "0000:0a:1f.7") == &c->bindings[1]);
	ASSERT_NULL(vfd_config_find_binding(c, "0000:0a:1f.6"));
	vfd_config_free(c);
}

static void expect_bad(const char *text, const char *fragment)
{
	vfd_config *c = NULL;
	vfd_op_error e = {};

	ASSERT_OK(vfd_config_new(&c));
	ASSERT_EQ(vfd_config_parse_vfiod(c, text, "etc/vfiod/vfiod.json", &e), -EINVAL);
	ASSERT_EQ(e.error, -EINVAL);
	ASSERT_STREQ(e.subject, "etc/vfiod/vfiod.json");
	if (!strstr(e.message, fragment))
		vfd_test_fail(__FILE__, __LINE__, "message '%s' lacks '%s' (input %s)", e.message,
			      fragment, text);
	/* nothing half-applied */
	ASSERT_EQ(c->n_sriov, 0);
	ASSERT_EQ(c->n_bindings, 0);
	ASSERT_EQ(c->n_mdevs, 0);
	ASSERT_TRUE(c->import_mdevctl);
	vfd_config_free(c);
}

static void test_vfiod_json_rejects(void)
{
	expect_bad("", "not valid JSON");
	expect_bad("{", "not valid JSON");
	expect_bad("[]", "JSON object at the top");
	expect_bad("{} x", "unexpected data");
	expect_bad("{\"binding\": []}", "unknown key 'binding'");
	expect_bad("{\"bindings\": {}}", "must be an array");
	expect_bad("{\"bindings\": [ {\"device\": \"1:00.0\"} ]}", "invalid PCI address");
	expect_bad("{\"bindings\": [ {\"device\": \"0000:01:00.0/../x\"} ]}", "invalid PCI address");
	expect_bad("{\"bindings\": [ {} ]}", "has no \"device\"");
	expect_bad("{\"bindings\": [ {\"device\": \"0000:01:00.0\", \"force\": true} ]}", "unknown key 'force'");
	expect_bad("{\"bindings\": [ {\"device\": \"0000:01:00.0\", \"unbind_host_members\": 1} ]}",
		   "must be true or false");
	expect_bad("{\"bindings\": [ {\"device\": \"0000:01:00.0\"}, {\"device\": \"0000:01:00.0\"} ]}",
		   "listed twice");
	/* a bad mdev after good bindings: nothing at all is taken */
	expect_bad("{\"bindings\": [ {\"device\": \"0000:01:00.0\"} ],"
		   " \"mdevs\": [ {\"parent\": \"mtty\", \"type\": \"mtty-1\"} ]}", "valid \"uuid\"");
	expect_bad("{\"mdevs\": [ {\"uuid\": \"" UUID_A "\", \"parent\": \"../x\", \"type\": \"t\"} ]}",
		   "\"parent\" device name");
	expect_bad("{\"mdevs\": [ {\"uuid\": \"" UUID_A "\", \"parent\": \"p\"} ]}", "needs a \"type\"");
	expect_bad("{\"mdevs\": [ {\"uuid\": \"" UUID_A "\", \"parent\": \"p\", \"type\": \"t\","
		   " \"attrs\": {\"a\": \"1\"}} ]}", "must be an array");
	expect_bad("{\"mdevs\": [ {\"uuid\": \"" UUID_A "\", \"parent\": \"p\", \"type\": \"t\","
		   " \"attrs\": [ {\"a\": \"1\", \"b\": \"2\"} ]} ]}", "exactly one key");
	expect_bad("{\"mdevs\": [ {\"uuid\": \"" UUID_A "\", \"parent\": \"p\", \"type\": \"t\","
		   " \"attrs\": [ {\"../remove\": \"1\"} ]} ]}", "invalid attribute name");
	expect_bad("{\"mdevs\": [ {\"uuid\": \"" UUID_A "\", \"parent\": \"p\", \"type\": \"t\","
		   " \"attrs\": [ {\"a\": [1]} ]} ]}", "must be a string");
	expect_bad("{\"mdevs\": [ {\"uuid\": \"" UUID_A "\", \"parent\": \"p\", \"type\": \"t\"},"
		   " {\"uuid\": \"" UUID_A "\", \"parent\": \"q\", \"type\": \"t\"} ]}", "listed twice");
	expect_bad("{\"import\": {\"lsmdev\": true}}", "unknown key 'lsmdev'");
	expect_bad("{\"import\": {\"mdevctl\": \"yes\"}}", "true or false");
}

/* ---- mdevctl ---- */

static void test_mdevctl_definition(void)
{
	vfd_config_mdev m;
	vfd_op_error e = {};

	ASSERT_OK(vfd_config_parse_mdevctl("0.0.26ab", UUID_B,
		"{\"mdev_type\": \"vfio_ap-passthrough\", \"start\": \"auto\",\n"
		" \"attrs\": [ {\"assign_adapter\": \"5\"}, {\"assign_domain\": \"0x47\"},\n"
		"              {\"assign_adapter\": \"6\"} ],\n"
		" \"future_key\": 1}", "etc/mdevctl.d/0.0.26ab/" UUID_B, &e, &m));
	ASSERT_STREQ(m.parent, "0.0.26ab");
	ASSERT_STREQ(m.type, "vfio_ap-passthrough");
	ASSERT_TRUE(m.autostart);
	ASSERT_EQ(m.source, VFD_CONFIG_SOURCE_MDEVCTL);
	/* repeated names keep their places: vfio-ap needs each write */
	ASSERT_EQ(m.n_attrs, 3);
	ASSERT_STREQ(m.attrs[0].name, "assign_adapter");
	ASSERT_STREQ(m.attrs[0].value, "5");
	ASSERT_STREQ(m.attrs[1].value, "0x47");
	ASSERT_STREQ(m.attrs[2].name, "assign_adapter");
	ASSERT_STREQ(m.attrs[2].value, "6");
	vfd_config_mdev_done(&m);

	/* start missing: manual, as mdevctl treats it */
	ASSERT_OK(vfd_config_parse_mdevctl("mtty", UUID_A, "{\"mdev_type\": \"mtty-1\"}", "x", &e, &m));
	ASSERT_FALSE(m.autostart);
	ASSERT_EQ(m.n_attrs, 0);
	vfd_config_mdev_done(&m);
}

static void test_mdevctl_rejects(void)
{
	vfd_config_mdev m;
	vfd_op_error e = {};

	ASSERT_EQ(vfd_config_parse_mdevctl("mtty", "not-a-uuid", "{\"mdev_type\": \"t\"}", "x", &e, &m), -EINVAL);
	vfd_op_error_clear(&e);
	ASSERT_EQ(vfd_config_parse_mdevctl("mtty", UUID_A, "{\"start\": \"auto\"}", "x", &e, &m), -EINVAL);
	ASSERT_TRUE(strstr(e.message, "mdev_type") != NULL);
	vfd_op_error_clear(&e);
	ASSERT_EQ(vfd_config_parse_mdevctl("mtty", UUID_A, "{\"mdev_type\": \"t\", \"start\": \"boot\"}",
					   "x", &e, &m), -EINVAL);
	ASSERT_TRUE(strstr(e.message, "auto") != NULL);
	vfd_op_error_clear(&e);
	ASSERT_EQ(vfd_config_parse_mdevctl("mtty", UUID_A, "{\"mdev_type\": \"t\", \"attrs\": [\"a\"]}",
					   "x", &e, &m), -EINVAL);
	vfd_op_error_clear(&e);
	ASSERT_EQ(vfd_config_parse_mdevctl("..", UUID_A, "{\"mdev_type\": \"t\"}", "x", &e, &m), -EINVAL);
}

/* ---- driverctl ---- */

static void test_driverctl_override(void)
{
	vfd_config_binding b;
	vfd_op_error e = {};

	ASSERT_EQ(vfd_config_parse_driverctl("pci-0000:03:00.0", "vfio-pci\n", "o", &e, &b), 1);
	ASSERT_STREQ(b.name, "0000:03:00.0");
	ASSERT_EQ(b.source, VFD_CONFIG_SOURCE_DRIVERCTL);
	ASSERT_FALSE(b.unbind_host_members);
	vfd_config_binding_done(&b);

	/* another driver: not vfiod's */
	ASSERT_EQ(vfd_config_parse_driverctl("pci-0000:03:00.0", "uio_pci_generic\n", "o", &e, &b), 0);
	ASSERT_EQ(vfd_config_parse_driverctl("pci-0000:03:00.0", "vfio-pci-foo", "o", &e, &b), 0);
	ASSERT_FALSE(vfd_op_error_is_set(&e));

	ASSERT_EQ(vfd_config_parse_driverctl("usb-1-1", "vfio-pci\n", "o", &e, &b), -EINVAL);
	vfd_op_error_clear(&e);
	ASSERT_EQ(vfd_config_parse_driverctl("pci-03:00.0", "vfio-pci\n", "o", &e, &b), -EINVAL);
	vfd_op_error_clear(&e);
	ASSERT_EQ(vfd_config_parse_driverctl("pci-0000:03:00.0", "", "o", &e, &b), -EINVAL);
	vfd_op_error_clear(&e);
	ASSERT_EQ(vfd_config_parse_driverctl("pci-0000:03:00.0", "vfio-pci\nnvme\n", "o", &e, &b), -EINVAL);
	vfd_op_error_clear(&e);
	ASSERT_EQ(vfd_config_parse_driverctl("pci-0000:03:00.0", "../vfio-pci", "o", &e, &b), -EINVAL);
}

/* ---- the merged load ---- */

static void test_load_nothing(void)
{
	char *root = make_root();
	vfd_config *c = load_ok(root);

	ASSERT_EQ(c->n_bindings, 0);
	ASSERT_EQ(c->n_mdevs, 0);
	ASSERT_EQ(c->n_warnings, 0);
	ASSERT_TRUE(c->import_mdevctl);
	vfd_config_free(c);
	vfd_test_rm_rf(root);
	free(root);
}

static void test_load_merges_sources(void)
{
	char *root = make_root();
	vfd_config *c;

	put(root, "etc/vfiod/vfiod.json",
	    "{\"bindings\": [ {\"device\": \"0000:01:00.0\"},"
	    "                 {\"device\": \"0000:03:00.0\", \"unbind_host_members\": true} ],"
	    " \"mdevs\": [ {\"uuid\": \"" UUID_A "\", \"parent\": \"mtty\", \"type\": \"mtty-2\"} ]}");
	/* same UUID as vfiod.json: vfiod.json wins, a warning says so */
	put(root, "etc/mdevctl.d/mtty/" UUID_A, "{\"mdev_type\": \"mtty-1\", \"start\": \"auto\"}");
	put(root, "etc/mdevctl.d/mbochs/" UUID_B,
	    "{\"mdev_type\": \"mbochs-1\", \"start\": \"auto\", \"attrs\": []}");
	put(root, "etc/mdevctl.d/mbochs/" UUID_C, "{\"mdev_type\": \"mbochs-2\", \"start\": \"manual\"}");
	/* not a definition: ignored silently */
	put(root, "etc/mdevctl.d/mbochs/" UUID_C "~", "garbage");
	/* broken: a warning, the rest goes on */
	put(root, "etc/mdevctl.d/mdpy/" "11111111-2222-4333-8444-555555555555", "{\"mdev_type\": ");
	put(root, "etc/driverctl.d/pci-0000:03:00.0", "vfio-pci\n"); /* in vfiod.json too */
	put(root, "etc/driverctl.d/pci-0000:02:00.0", "vfio-pci\n");
	put(root, "etc/driverctl.d/pci-0000:04:00.0", "pci-stub\n");
	put(root, "etc/driverctl.d/pci-bogus", "vfio-pci\n");

	c = load_ok(root);

	ASSERT_EQ(c->n_bindings, 3);
	ASSERT_STREQ(c->bindings[0].name, "0000:01:00.0");
	ASSERT_STREQ(c->bindings[1].name, "0000:03:00.0");
	ASSERT_EQ(c->bindings[1].source, VFD_CONFIG_SOURCE_VFIOD);
	ASSERT_TRUE(c->bindings[1].unbind_host_members);
	ASSERT_STREQ(c->bindings[2].name, "0000:02:00.0");
	ASSERT_EQ(c->bindings[2].source, VFD_CONFIG_SOURCE_DRIVERCTL);
	ASSERT_STREQ(c->bindings[2].origin, "etc/driverctl.d/pci-0000:02:00.0");

	ASSERT_EQ(c->n_mdevs, 3);
	ASSERT_STREQ(c->mdevs[0].uuid, UUID_A);
	ASSERT_STREQ(c->mdevs[0].type, "mtty-2");
	ASSERT_EQ(c->mdevs[0].source, VFD_CONFIG_SOURCE_VFIOD);
	/* imports in sorted directory order: parents, then UUIDs */
	ASSERT_STREQ(c->mdevs[1].uuid, UUID_C);
	ASSERT_FALSE(c->mdevs[1].autostart);
	ASSERT_STREQ(c->mdevs[2].uuid, UUID_B);
	ASSERT_STREQ(c->mdevs[2].parent, "mbochs");
	ASSERT_TRUE(c->mdevs[2].autostart);
	ASSERT_STREQ(c->mdevs[2].origin, "etc/mdevctl.d/mbochs/" UUID_B);

	/* the duplicate UUID, the broken mdpy file, the bogus driverctl name */
	ASSERT_EQ(c->n_warnings, 3);
	{
		bool dup = false, broken = false, bogus = false;

		for (size_t i = 0; i < c->n_warnings; i++) {
			dup |= strstr(c->warnings[i], "defined already") != NULL;
			broken |= strstr(c->warnings[i], "etc/mdevctl.d/mdpy/") != NULL &&
				  strstr(c->warnings[i], "not valid JSON") != NULL;
			bogus |= strstr(c->warnings[i], "pci-bogus") != NULL;
		}
		ASSERT_TRUE(dup);
		ASSERT_TRUE(broken);
		ASSERT_TRUE(bogus);
	}
	vfd_config_free(c);
	vfd_test_rm_rf(root);
	free(root);
}

static void test_load_imports_off(void)
{
	char *root = make_root();
	vfd_config *c;

	put(root, "etc/vfiod/vfiod.json", "{\"import\": {\"mdevctl\": false, \"driverctl\": false}}");
	put(root, "etc/mdevctl.d/mtty/" UUID_A, "{\"mdev_type\": \"mtty-1\", \"start\": \"auto\"}");
	put(root, "etc/driverctl.d/pci-0000:02:00.0", "vfio-pci\n");
	c = load_ok(root);
	ASSERT_EQ(c->n_bindings, 0);
	ASSERT_EQ(c->n_mdevs, 0);
	vfd_config_free(c);
	vfd_test_rm_rf(root);
	free(root);
}

static void test_load_bad_main_file_fails(void)
{
	char *root = make_root();
	vfd_op_error e = {};

	put(root, "etc/vfiod/vfiod.json", "{\"bindings\": [ {\"device\": \"nope\"} ]}");
	put(root, "etc/driverctl.d/pci-0000:02:00.0", "vfio-pci\n");
	ASSERT_EQ(load_err(root, &e), -EINVAL);
	ASSERT_STREQ(e.subject, "etc/vfiod/vfiod.json");
	ASSERT_TRUE(strstr(e.message, "invalid PCI address") != NULL);

	/* a symlink out of the root is refused like every root-relative read */
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/etc/vfiod/vfiod.json", root);
		ASSERT_EQ(unlink(path), 0);
		ASSERT_EQ(symlink("/etc/hostname", path), 0);
		vfd_op_error_clear(&e);
		ASSERT_EQ(load_err(root, &e), -EXDEV);
		ASSERT_STREQ(e.subject, "etc/vfiod/vfiod.json");
	}
	vfd_test_rm_rf(root);
	free(root);
}

/* "sriov": PF VF counts (daemon/sriov.h applies them) */
static void test_vfiod_json_sriov(void)
{
	vfd_config *c = NULL;
	vfd_op_error e = {};

	ASSERT_OK(vfd_config_new(&c));
	ASSERT_OK(vfd_config_parse_vfiod(c,
		"{ \"sriov\": [ { \"device\": \"0000:04:00.0\", \"num_vfs\": 2 },"
		"  { \"num_vfs\": 0, \"device\": \"0000:0A:00.1\" } ],"
		"  \"bindings\": [ { \"device\": \"0000:04:10.2\" } ] }",
		"etc/vfiod/vfiod.json", &e));
	ASSERT_EQ(c->n_sriov, 2);
	ASSERT_STREQ(c->sriov[0].name, "0000:04:00.0");
	ASSERT_EQ(c->sriov[0].num_vfs, 2);
	ASSERT_STREQ(c->sriov[1].name, "0000:0a:00.1");
	ASSERT_EQ(c->sriov[1].num_vfs, 0);
	ASSERT_EQ(c->n_bindings, 1);
	vfd_config_free(c);

	expect_bad("{ \"sriov\": {} }", "\"sriov\" must be an array");
	expect_bad("{ \"sriov\": [ 1 ] }", "sriov[0] must be an object");
	expect_bad("{ \"sriov\": [ { \"device\": \"0000:04:00.0\" } ] }", "needs \"device\" and \"num_vfs\"");
	expect_bad("{ \"sriov\": [ { \"device\": \"4:00.0\", \"num_vfs\": 1 } ] }", "sriov[0].device must be a PCI address");
	expect_bad("{ \"sriov\": [ { \"device\": \"0000:04:00.0\", \"num_vfs\": \"2\" } ] }", "must be an integer");
	expect_bad("{ \"sriov\": [ { \"device\": \"0000:04:00.0\", \"num_vfs\": 2.5 } ] }", "must be an integer");
	expect_bad("{ \"sriov\": [ { \"device\": \"0000:04:00.0\", \"num_vfs\": -1 } ] }", "must be 0 to 65535");
	expect_bad("{ \"sriov\": [ { \"device\": \"0000:04:00.0\", \"num_vfs\": 65536 } ] }", "must be 0 to 65535");
	expect_bad("{ \"sriov\": [ { \"device\": \"0000:04:00.0\", \"num_vfs\": 1, \"x\": 1 } ] }", "unknown key 'x'");
	expect_bad("{ \"sriov\": [ { \"device\": \"0000:04:00.0\", \"num_vfs\": 1 },"
		   " { \"device\": \"0000:04:00.0\", \"num_vfs\": 2 } ] }", "listed twice");
	/* a bad sriov entry fails the whole file, bindings included */
	expect_bad("{ \"bindings\": [ { \"device\": \"0000:04:10.2\" } ],"
		   " \"sriov\": [ { \"device\": \"0000:04:00.0\", \"num_vfs\": -3 } ] }", "must be 0 to 65535");
}

VFD_TEST_MAIN(
	VFD_TEST(test_vfiod_json_full),
	VFD_TEST(test_vfiod_json_sriov),
	VFD_TEST(test_vfiod_json_rejects),
	VFD_TEST(test_mdevctl_definition),
	VFD_TEST(test_mdevctl_rejects),
	VFD_TEST(test_driverctl_override),
	VFD_TEST(test_load_nothing),
	VFD_TEST(test_load_merges_sources),
	VFD_TEST(test_load_imports_off),
	VFD_TEST(test_load_bad_main_file_fails),
)
