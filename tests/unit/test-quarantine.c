/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * daemon/quarantine.c: the store of functions whose reset failed. Kept
 * across a reload (vfiod's restart), cleared only on request, and failing
 * closed: a record that cannot be trusted keeps its function quarantined.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "quarantine.h"
#include "vfd-test.h"

#define DEV_A "0000:01:00.0"
#define DEV_B "0000:02:00.0"

static char *temp_quarantine_dir(char **ret_root)
{
	char *root = vfd_test_mkdtemp(), *dir = NULL;

	ASSERT_TRUE(asprintf(&dir, "%s/run/vfiod/quarantine", root) > 0);
	*ret_root = root;
	return dir;
}

static bool file_exists(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void test_add_survives_reload_and_clear_removes(void)
{
	char *root, *dir = temp_quarantine_dir(&root);
	Quarantine *q = NULL;
	const QuarantineEntry *e;

	ASSERT_OK(quarantine_load(dir, &q)); /* no directory yet: empty */
	ASSERT_EQ(quarantine_count(q), 0);
	ASSERT_OK(quarantine_add(q, DEV_B, "vm-1", "the kernel's reset failed: Input/output error"));
	ASSERT_OK(quarantine_add(q, DEV_A, "", "the reset did not take"));
	ASSERT_TRUE(file_exists(dir, DEV_A ".json"));
	q = quarantine_free(q);

	/* what a restarted vfiod reads */
	ASSERT_OK(quarantine_load(dir, &q));
	ASSERT_EQ(quarantine_count(q), 2);
	ASSERT_STREQ(quarantine_get(q, 0)->device, DEV_A); /* by address */
	e = quarantine_find(q, DEV_B);
	ASSERT_NOT_NULL(e);
	ASSERT_STREQ(e->vm, "vm-1");
	ASSERT_STREQ(e->reason, "the kernel's reset failed: Input/output error");
	ASSERT_TRUE(e->since_usec > 0);
	ASSERT_NULL(quarantine_find(q, "0000:03:00.0"));

	ASSERT_OK(quarantine_clear(q, DEV_B));
	ASSERT_ERRNO(quarantine_clear(q, DEV_B), -ENOENT);
	ASSERT_FALSE(file_exists(dir, DEV_B ".json"));
	q = quarantine_free(q);
	ASSERT_OK(quarantine_load(dir, &q));
	ASSERT_EQ(quarantine_count(q), 1);
	ASSERT_NULL(quarantine_find(q, DEV_B));
	ASSERT_NOT_NULL(quarantine_find(q, DEV_A));
	quarantine_free(q);
	vfd_test_rm_rf(root);
	free(root);
	free(dir);
}

static void test_add_again_replaces_the_reason(void)
{
	char *root, *dir = temp_quarantine_dir(&root);
	Quarantine *q = NULL;

	ASSERT_OK(quarantine_load(dir, &q));
	ASSERT_OK(quarantine_add(q, DEV_A, "vm-1", "first"));
	ASSERT_OK(quarantine_add(q, DEV_A, "vm-2", "second"));
	ASSERT_EQ(quarantine_count(q), 1);
	ASSERT_STREQ(quarantine_find(q, DEV_A)->reason, "second");
	/* not a canonical address: refused, nothing written */
	ASSERT_ERRNO(quarantine_add(q, "0000:01:00.0/../x", "", "x"), -EINVAL);
	ASSERT_ERRNO(quarantine_add(q, "0000:01:00.A", "", "x"), -EINVAL);
	ASSERT_EQ(quarantine_count(q), 1);
	quarantine_free(q);
	vfd_test_rm_rf(root);
	free(root);
	free(dir);
}

/* a record that cannot be read keeps its function quarantined: fail closed */
static void test_corrupt_record_fails_closed(void)
{
	static const char *const bad[] = {
		"{\"device\":\"0000:01:00.0\",\"vm\":\"v\",\"reason\":\"r\"", /* cut short */
		"{\"device\":\"0000:09:00.0\",\"vm\":\"v\",\"reason\":\"r\",\"since_usec\":1}", /* another device */
		"{\"device\":\"0000:01:00.0\",\"vm\":1,\"reason\":\"r\",\"since_usec\":1}", /* wrong type */
		"",
		"[]",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *root, *dir = temp_quarantine_dir(&root), *rel = NULL;
		Quarantine *q = NULL;
		const QuarantineEntry *e;

		ASSERT_TRUE(asprintf(&rel, "run/vfiod/quarantine/%s.json", DEV_A) > 0);
		vfd_test_write_file(root, rel, bad[i]);
		/* not named after a PCI address: not a record, ignored */
		vfd_test_write_file(root, "run/vfiod/quarantine/notes.json", "{}");

		ASSERT_OK(quarantine_load(dir, &q));
		ASSERT_EQ(quarantine_count(q), 1);
		e = quarantine_find(q, DEV_A);
		ASSERT_NOT_NULL(e);
		ASSERT_TRUE(strstr(e->reason, "unreadable") != NULL);
		/* set aside for the operator, and a fresh record in its place */
		ASSERT_TRUE(file_exists(dir, DEV_A ".json.corrupt"));
		ASSERT_TRUE(file_exists(dir, DEV_A ".json"));
		q = quarantine_free(q);

		/* the next start reads the fresh record */
		ASSERT_OK(quarantine_load(dir, &q));
		ASSERT_EQ(quarantine_count(q), 1);
		ASSERT_TRUE(strstr(quarantine_find(q, DEV_A)->reason, "unreadable") != NULL);
		ASSERT_OK(quarantine_clear(q, DEV_A));
		quarantine_free(q);
		vfd_test_rm_rf(root);
		free(root);
		free(dir);
		free(rel);
	}
}

/* a symlink in place of a record is not followed, and fails closed too */
static void test_symlink_record_fails_closed(void)
{
	char *root, *dir = temp_quarantine_dir(&root);
	Quarantine *q = NULL;

	vfd_test_write_file(root, "elsewhere.json",
			    "{\"device\":\"0000:01:00.0\",\"vm\":\"\",\"reason\":\"fine\",\"since_usec\":1}");
	vfd_test_mkdir(root, "run/vfiod/quarantine");
	vfd_test_symlink(root, "run/vfiod/quarantine/" DEV_A ".json", "../../../elsewhere.json");
	ASSERT_OK(quarantine_load(dir, &q));
	ASSERT_NOT_NULL(quarantine_find(q, DEV_A));
	ASSERT_TRUE(strstr(quarantine_find(q, DEV_A)->reason, "unreadable") != NULL);
	quarantine_free(q);
	vfd_test_rm_rf(root);
	free(root);
	free(dir);
}

/* written from the unbind worker's thread, read at the next start */
static void test_record_written_alone_is_loaded(void)
{
	char *root, *dir = temp_quarantine_dir(&root);
	Quarantine *q = NULL;

	ASSERT_OK(quarantine_record_write(dir, DEV_A, "vm-9", "the kernel's reset failed"));
	ASSERT_ERRNO(quarantine_record_write(dir, "../../etc/x", "", "x"), -EINVAL);
	ASSERT_OK(quarantine_load(dir, &q));
	ASSERT_EQ(quarantine_count(q), 1);
	ASSERT_STREQ(quarantine_find(q, DEV_A)->vm, "vm-9");
	ASSERT_STREQ(quarantine_dir(q), dir);
	quarantine_free(q);
	vfd_test_rm_rf(root);
	free(root);
	free(dir);
}

/* no directory (NULL): in memory only */
static void test_in_memory(void)
{
	Quarantine *q = NULL;

	ASSERT_OK(quarantine_load(NULL, &q));
	ASSERT_OK(quarantine_add(q, DEV_A, "vm", "why"));
	ASSERT_NOT_NULL(quarantine_find(q, DEV_A));
	ASSERT_OK(quarantine_clear(q, DEV_A));
	ASSERT_EQ(quarantine_count(q), 0);
	quarantine_free(q);
}

VFD_TEST_MAIN(
	VFD_TEST(test_add_survives_reload_and_clear_removes),
	VFD_TEST(test_add_again_replaces_the_reason),
	VFD_TEST(test_corrupt_record_fails_closed),
	VFD_TEST(test_symlink_record_fails_closed),
	VFD_TEST(test_record_written_alone_is_loaded),
	VFD_TEST(test_in_memory),
)
