/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The root-relative filesystem layer: path rules, reads, writes, links and
 * directory listings, against a small tree built per test.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfd-test.h"
#include "vfiod/inventory.h"

/*
 * tmp/
 *   outside/secret            a file next to the root, never reachable
 *   root/                     the context's root
 *     sys/a/...               attribute files and links
 */
typedef struct tree {
	char *tmp;
	char root[4096];
	vfd_context *ctx;
} tree;

static void tree_new(tree *t)
{
	char abs_target[4096 + 32];

	t->tmp = vfd_test_mkdtemp();
	snprintf(t->root, sizeof(t->root), "%s/root", t->tmp);

	vfd_test_write_file(t->tmp, "outside/secret", "secret\n");
	vfd_test_write_file(t->root, "sys/a/file", "hello\n");
	vfd_test_write_file(t->root, "sys/a/two_newlines", "x\n\n");
	vfd_test_write_file(t->root, "sys/a/no_newline", "abc");
	vfd_test_write_file(t->root, "sys/a/empty", "");
	vfd_test_write_data(t->root, "sys/a/nul", "a\0b\n", 4);
	vfd_test_write_file(t->root, "sys/b/target", "target\n");
	vfd_test_write_file(t->root, "sys/bus/pci/drivers/e1000e/bind", "");

	/* links that stay inside the root */
	vfd_test_symlink(t->root, "sys/a/rel_link", "file");
	vfd_test_symlink(t->root, "sys/a/up_link", "../b/target");
	vfd_test_symlink(t->root, "sys/a/driver", "../bus/pci/drivers/e1000e");
	vfd_test_symlink(t->root, "sys/a/trailing_slash", "../bus/pci/drivers/igb/");
	vfd_test_symlink(t->root, "sys/a/dot", ".");
	vfd_test_symlink(t->root, "sys/a/dangling", "../nowhere");
	vfd_test_symlink(t->root, "sys/a/dir_link", "../b");

	/* links that leave it */
	vfd_test_symlink(t->root, "sys/a/escape", "../../../outside/secret");
	vfd_test_symlink(t->root, "sys/esc_dir", "../..");
	vfd_test_symlink(t->root, "sys/a/abs_outside", "/etc/hostname");
	snprintf(abs_target, sizeof(abs_target), "%s/sys/a/file", t->root);
	vfd_test_symlink(t->root, "sys/a/abs_inside", abs_target);

	ASSERT_OK(vfd_context_new(t->root, &t->ctx));
}

static void tree_free(tree *t)
{
	vfd_context_free(t->ctx);
	vfd_test_rm_rf(t->tmp);
	free(t->tmp);
}

static void test_context(void)
{
	vfd_context *ctx = (vfd_context *)0x1;
	tree t;

	tree_new(&t);
	ASSERT_STREQ(vfd_context_root(t.ctx), t.root);

	ASSERT_ERRNO(vfd_context_new("/nonexistent-vfiod-root", &ctx), -ENOENT);
	ASSERT_TRUE(ctx == (vfd_context *)0x1);
	ASSERT_ERRNO(vfd_context_new("", &ctx), -EINVAL);
	ASSERT_TRUE(ctx == (vfd_context *)0x1);
	ASSERT_ERRNO(vfd_context_new(NULL, NULL), -EINVAL);

	/* a regular file is no root */
	{
		char file[4200];

		snprintf(file, sizeof(file), "%s/sys/a/file", t.root);
		ASSERT_ERRNO(vfd_context_new(file, &ctx), -ENOTDIR);
	}

	/* NULL means the real system */
	ASSERT_OK(vfd_context_new(NULL, &ctx));
	ASSERT_STREQ(vfd_context_root(ctx), "/");
	ASSERT_NULL(vfd_context_free(ctx));
	ASSERT_NULL(vfd_context_free(NULL));
	tree_free(&t);
}

static void test_path_rules(void)
{
	static const char *const bad[] = {
		"",
		"/sys/a/file",
		"/",
		"..",
		"../root/sys/a/file",
		"sys/../sys/a/file",
		"sys/a/..",
		"sys/a/../a/file",
		"sys//../a/file",
	};
	char *s = (char *)"untouched";
	size_t i;
	tree t;

	tree_new(&t);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char **l = NULL;
		uint64_t u = 7;

		if (vfd_root_read_string(t.ctx, bad[i], &s) != -EINVAL)
			vfd_test_fail(__FILE__, __LINE__, "read of \"%s\" not refused", bad[i]);
		ASSERT_STREQ(s, "untouched");
		ASSERT_ERRNO(vfd_root_exists(t.ctx, bad[i]), -EINVAL);
		ASSERT_ERRNO(vfd_root_read_u64(t.ctx, bad[i], &u), -EINVAL);
		ASSERT_EQ(u, 7);
		ASSERT_ERRNO(vfd_root_list_dir(t.ctx, bad[i], &l), -EINVAL);
		ASSERT_NULL(l);
		ASSERT_ERRNO(vfd_root_open(t.ctx, bad[i], O_RDONLY), -EINVAL);
		ASSERT_ERRNO(vfd_root_write_string(t.ctx, bad[i], "1"), -EINVAL);
		ASSERT_ERRNO(vfd_root_readlink_basename(t.ctx, bad[i], &s), -EINVAL);
	}
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, NULL, &s), -EINVAL);
	ASSERT_ERRNO(vfd_root_read_string(NULL, "sys/a/file", &s), -EINVAL);
	ASSERT_STREQ(s, "untouched");

	/* ".." only matters as a whole component; doubled slashes are fine */
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/a/..file", &s), -ENOENT);
	ASSERT_OK(vfd_root_read_string(t.ctx, "sys//a/file", &s));
	ASSERT_STREQ(s, "hello");
	free(s);
	tree_free(&t);
}

static void test_read_string(void)
{
	char *s = NULL;
	tree t;

	tree_new(&t);
	ASSERT_OK(vfd_root_read_string(t.ctx, "sys/a/file", &s));
	ASSERT_STREQ(s, "hello");
	free(s);
	/* exactly one trailing newline is stripped */
	ASSERT_OK(vfd_root_read_string(t.ctx, "sys/a/two_newlines", &s));
	ASSERT_STREQ(s, "x\n");
	free(s);
	ASSERT_OK(vfd_root_read_string(t.ctx, "sys/a/no_newline", &s));
	ASSERT_STREQ(s, "abc");
	free(s);
	ASSERT_OK(vfd_root_read_string(t.ctx, "sys/a/empty", &s));
	ASSERT_STREQ(s, "");
	free(s);

	s = (char *)"untouched";
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/a/missing", &s), -ENOENT);
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/missing/file", &s), -ENOENT);
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/a/nul", &s), -EBADMSG);
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/a", &s), -EISDIR);
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/a/file/x", &s), -ENOTDIR);
	ASSERT_STREQ(s, "untouched");
	tree_free(&t);
}

static void test_read_size_cap(void)
{
	const size_t cap = 64 * 1024;
	char *content, *s = NULL;
	tree t;

	tree_new(&t);
	content = malloc(cap + 2);
	ASSERT_NOT_NULL(content);
	memset(content, 'a', cap + 1);

	/* 64 KiB exactly is accepted... */
	content[cap] = '\0';
	vfd_test_write_file(t.root, "sys/a/at_cap", content);
	ASSERT_OK(vfd_root_read_string(t.ctx, "sys/a/at_cap", &s));
	ASSERT_EQ(strlen(s), cap);
	free(s);

	/* ...one byte more is not, newline or not */
	content[cap] = 'a';
	content[cap + 1] = '\0';
	vfd_test_write_file(t.root, "sys/a/over_cap", content);
	s = (char *)"untouched";
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/a/over_cap", &s), -EFBIG);
	content[cap] = '\n';
	vfd_test_write_file(t.root, "sys/a/over_cap_nl", content);
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/a/over_cap_nl", &s), -EFBIG);
	ASSERT_STREQ(s, "untouched");

	free(content);
	tree_free(&t);
}

static void test_read_numbers(void)
{
	static const struct {
		const char *content;
		int r;
		uint64_t value;
	} u64_cases[] = {
		{ "42\n", 0, 42 },
		{ "0\n", 0, 0 },
		{ "0x8086\n", 0, 0x8086 },
		{ "0X1F\n", 0, 0x1f },
		{ "0xffffffffffffffff\n", 0, UINT64_MAX },
		{ "18446744073709551615\n", 0, UINT64_MAX },
		{ "010\n", 0, 10 }, /* decimal, never octal */
		{ "18446744073709551616\n", -ERANGE, 0 },
		{ "0x10000000000000000\n", -ERANGE, 0 },
		{ "\n", -EINVAL, 0 },
		{ "0x\n", -EINVAL, 0 },
		{ "-1\n", -EINVAL, 0 },
		{ "+1\n", -EINVAL, 0 },
		{ " 1\n", -EINVAL, 0 },
		{ "1 \n", -EINVAL, 0 },
		{ "12a\n", -EINVAL, 0 },
		{ "0x12g\n", -EINVAL, 0 },
		{ "1\n\n", -EINVAL, 0 },
	};
	static const struct {
		const char *content;
		int r;
		int value;
	} int_cases[] = {
		{ "-1\n", 0, -1 },
		{ "0\n", 0, 0 },
		{ "2147483647\n", 0, INT_MAX },
		{ "-2147483648\n", 0, INT_MIN },
		{ "0x10\n", 0, 16 },
		{ "2147483648\n", -ERANGE, 0 },
		{ "-2147483649\n", -ERANGE, 0 },
		{ "-\n", -EINVAL, 0 },
		{ "--1\n", -EINVAL, 0 },
		{ "1.5\n", -EINVAL, 0 },
	};
	size_t i;
	tree t;

	tree_new(&t);
	for (i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
		uint64_t v = 777;

		vfd_test_write_file(t.root, "sys/a/num", u64_cases[i].content);
		ASSERT_ERRNO(vfd_root_read_u64(t.ctx, "sys/a/num", &v), u64_cases[i].r);
		ASSERT_TRUE(v == (u64_cases[i].r == 0 ? u64_cases[i].value : 777));
	}
	for (i = 0; i < sizeof(int_cases) / sizeof(int_cases[0]); i++) {
		int v = 777;

		vfd_test_write_file(t.root, "sys/a/num", int_cases[i].content);
		ASSERT_ERRNO(vfd_root_read_int(t.ctx, "sys/a/num", &v), int_cases[i].r);
		ASSERT_EQ(v, int_cases[i].r == 0 ? int_cases[i].value : 777);
	}
	tree_free(&t);
}

static void test_symlinks_inside(void)
{
	struct stat a, b;
	char *s = NULL;
	tree t;

	tree_new(&t);
	ASSERT_OK(vfd_root_read_string(t.ctx, "sys/a/rel_link", &s));
	ASSERT_STREQ(s, "hello");
	free(s);
	ASSERT_OK(vfd_root_read_string(t.ctx, "sys/a/up_link", &s));
	ASSERT_STREQ(s, "target");
	free(s);
	ASSERT_OK(vfd_root_read_string(t.ctx, "sys/a/dir_link/target", &s));
	ASSERT_STREQ(s, "target");
	free(s);

	ASSERT_OK(vfd_root_stat(t.ctx, "sys/a/up_link", &a));
	ASSERT_OK(vfd_root_stat(t.ctx, "sys/b/target", &b));
	ASSERT_TRUE(a.st_ino == b.st_ino && a.st_dev == b.st_dev);

	ASSERT_EQ(vfd_root_exists(t.ctx, "sys/a/rel_link"), 1);
	ASSERT_EQ(vfd_root_exists(t.ctx, "sys/a/dangling"), 0);
	ASSERT_EQ(vfd_root_exists(t.ctx, "sys/a/missing"), 0);
	ASSERT_EQ(vfd_root_exists(t.ctx, "sys/a/file/below_a_file"), 0);
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/a/dangling", &s), -ENOENT);
	tree_free(&t);
}

static void test_symlinks_escaping(void)
{
	char **l = (char **)0x1;
	char *s = (char *)"untouched";
	struct stat st;
	tree t;

	tree_new(&t);
	/* a relative link climbing above the root */
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/a/escape", &s), -EXDEV);
	ASSERT_ERRNO(vfd_root_exists(t.ctx, "sys/a/escape"), -EXDEV);
	ASSERT_ERRNO(vfd_root_stat(t.ctx, "sys/a/escape", &st), -EXDEV);
	ASSERT_ERRNO(vfd_root_open(t.ctx, "sys/a/escape", O_RDONLY), -EXDEV);
	ASSERT_ERRNO(vfd_root_write_string(t.ctx, "sys/a/escape", "x"), -EXDEV);
	ASSERT_ERRNO(vfd_root_list_dir(t.ctx, "sys/esc_dir", &l), -EXDEV);
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/esc_dir/outside/secret", &s), -EXDEV);
	ASSERT_ERRNO(vfd_root_readlink_basename(t.ctx, "sys/esc_dir/root/sys/a/driver", &s), -EXDEV);

	/* absolute links are never followed, even to a place inside the tree */
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/a/abs_outside", &s), -EXDEV);
	ASSERT_ERRNO(vfd_root_read_string(t.ctx, "sys/a/abs_inside", &s), -EXDEV);
	ASSERT_STREQ(s, "untouched");
	ASSERT_TRUE(l == (char **)0x1);

	/* the secret is still there: the refusal was ours, not a missing file */
	{
		char path[4200];

		snprintf(path, sizeof(path), "%s/outside/secret", t.tmp);
		ASSERT_EQ(access(path, R_OK), 0);
	}
	tree_free(&t);
}

static void test_readlink(void)
{
	char *s = NULL;
	tree t;

	tree_new(&t);
	ASSERT_OK(vfd_root_readlink_basename(t.ctx, "sys/a/driver", &s));
	ASSERT_STREQ(s, "e1000e");
	free(s);
	ASSERT_OK(vfd_root_readlink(t.ctx, "sys/a/driver", &s));
	ASSERT_STREQ(s, "../bus/pci/drivers/e1000e");
	free(s);
	ASSERT_OK(vfd_root_readlink_basename(t.ctx, "sys/a/trailing_slash", &s));
	ASSERT_STREQ(s, "igb");
	free(s);
	/* the text of a dangling or escaping link can still be read */
	ASSERT_OK(vfd_root_readlink_basename(t.ctx, "sys/a/dangling", &s));
	ASSERT_STREQ(s, "nowhere");
	free(s);
	ASSERT_OK(vfd_root_readlink_basename(t.ctx, "sys/a/dir_link", &s));
	ASSERT_STREQ(s, "b");
	free(s);

	s = (char *)"untouched";
	ASSERT_ERRNO(vfd_root_readlink_basename(t.ctx, "sys/a/dot", &s), -EINVAL);
	ASSERT_ERRNO(vfd_root_readlink_basename(t.ctx, "sys/a/file", &s), -EINVAL);
	ASSERT_ERRNO(vfd_root_readlink_basename(t.ctx, "sys/a/missing", &s), -ENOENT);
	ASSERT_ERRNO(vfd_root_readlink_basename(t.ctx, "sys/a/", &s), -EINVAL);
	ASSERT_STREQ(s, "untouched");
	tree_free(&t);
}

static void test_list_dir(void)
{
	char **l = NULL;
	tree t;

	tree_new(&t);
	vfd_test_write_file(t.root, "sys/list/c", "");
	vfd_test_write_file(t.root, "sys/list/a", "");
	vfd_test_write_file(t.root, "sys/list/b/x", "");
	vfd_test_symlink(t.root, "sys/list/0000:00:1f.0", "a");
	vfd_test_write_file(t.root, "sys/empty/.keep", "");

	ASSERT_OK(vfd_root_list_dir(t.ctx, "sys/list", &l));
	ASSERT_EQ(vfd_strv_length(l), 4);
	ASSERT_STREQ(l[0], "0000:00:1f.0");
	ASSERT_STREQ(l[1], "a");
	ASSERT_STREQ(l[2], "b");
	ASSERT_STREQ(l[3], "c");
	ASSERT_NULL(l[4]);
	ASSERT_NULL(vfd_strv_free(l));

	/* a listing through a link inside the root */
	ASSERT_OK(vfd_root_list_dir(t.ctx, "sys/a/dir_link", &l));
	ASSERT_EQ(vfd_strv_length(l), 1);
	ASSERT_STREQ(l[0], "target");
	vfd_strv_free(l);

	ASSERT_OK(vfd_root_list_dir(t.ctx, "sys/empty", &l));
	ASSERT_EQ(vfd_strv_length(l), 1); /* ".keep" only; "." and ".." never */
	ASSERT_STREQ(l[0], ".keep");
	vfd_strv_free(l);

	l = (char **)0x1;
	ASSERT_ERRNO(vfd_root_list_dir(t.ctx, "sys/missing", &l), -ENOENT);
	ASSERT_ERRNO(vfd_root_list_dir(t.ctx, "sys/a/file", &l), -ENOTDIR);
	ASSERT_TRUE(l == (char **)0x1);
	ASSERT_EQ(vfd_strv_length(NULL), 0);
	ASSERT_NULL(vfd_strv_free(NULL));
	tree_free(&t);
}

static void test_write(void)
{
	char *s = NULL;
	tree t;

	tree_new(&t);
	ASSERT_OK(vfd_root_write_string(t.ctx, "sys/bus/pci/drivers/e1000e/bind", "0000:00:01.0"));
	ASSERT_OK(vfd_root_read_string(t.ctx, "sys/bus/pci/drivers/e1000e/bind", &s));
	ASSERT_STREQ(s, "0000:00:01.0");
	free(s);
	/* through a link inside the root */
	ASSERT_OK(vfd_root_write_string(t.ctx, "sys/a/driver/bind", "x"));
	ASSERT_OK(vfd_root_read_string(t.ctx, "sys/bus/pci/drivers/e1000e/bind", &s));
	ASSERT_STREQ(s, "x");
	free(s);

	/* the layer never creates files: sysfs attributes exist or not */
	ASSERT_ERRNO(vfd_root_write_string(t.ctx, "sys/a/new_file", "x"), -ENOENT);
	ASSERT_EQ(vfd_root_exists(t.ctx, "sys/a/new_file"), 0);
	ASSERT_ERRNO(vfd_root_open(t.ctx, "sys/a/new_file", O_WRONLY | O_CREAT), -EINVAL);
	ASSERT_EQ(vfd_root_exists(t.ctx, "sys/a/new_file"), 0);
	ASSERT_ERRNO(vfd_root_write_string(t.ctx, "sys/a/file", NULL), -EINVAL);
	tree_free(&t);
}

static void test_pread(void)
{
	uint8_t buf[8] = { 0 };
	int fd;
	tree t;

	tree_new(&t);
	vfd_test_write_file(t.root, "sys/a/config", "0123456789abcdef");
	ASSERT_EQ(vfd_root_pread(t.ctx, "sys/a/config", buf, 1, 0x0e), 1);
	ASSERT_EQ(buf[0], 'e');
	ASSERT_EQ(vfd_root_pread(t.ctx, "sys/a/config", buf, 8, 12), 4); /* short at EOF */
	ASSERT_TRUE(memcmp(buf, "cdef", 4) == 0);
	ASSERT_EQ(vfd_root_pread(t.ctx, "sys/a/config", buf, 8, 100), 0);
	ASSERT_ERRNO(vfd_root_pread(t.ctx, "sys/a/missing", buf, 1, 0), -ENOENT);
	ASSERT_ERRNO(vfd_root_pread(t.ctx, "sys/a/config", NULL, 1, 0), -EINVAL);

	fd = vfd_root_open(t.ctx, "sys/a/config", O_RDONLY);
	ASSERT_OK(fd);
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	tree_free(&t);
}

/*
 * Attributes relative to one opened directory (what lib/pci-device.c reads
 * a function with): the same read rules as the root-relative calls, and
 * every resolution stays beneath the opened directory itself.
 */
static void test_dir_relative(void)
{
	const size_t big = 4000; /* past the one-read buffer: the general path */
	char *content, *s = NULL;
	uint64_t u = 0;
	uint8_t byte = 0;
	int dfd, v = 0;
	tree t;

	tree_new(&t);
	vfd_test_write_file(t.root, "sys/a/number", "0x1af4\n");
	vfd_test_write_file(t.root, "sys/a/numa_node", "-1\n");
	vfd_test_write_file(t.root, "sys/a/config", "0123456789abcdef");
	content = malloc(big + 2);
	ASSERT_NOT_NULL(content);
	memset(content, 'b', big);
	content[big] = '\n';
	content[big + 1] = '\0';
	vfd_test_write_file(t.root, "sys/a/big", content);

	/* the directory itself obeys the root's rules */
	ASSERT_ERRNO(vfd_root_open_dir(t.ctx, "sys/esc_dir"), -EXDEV);
	ASSERT_ERRNO(vfd_root_open_dir(t.ctx, "sys/a/file"), -ENOTDIR);
	ASSERT_ERRNO(vfd_root_open_dir(t.ctx, "sys/../sys/a"), -EINVAL);
	dfd = vfd_root_open_dir(t.ctx, "sys/a");
	ASSERT_OK(dfd);
	ASSERT_TRUE(fcntl(dfd, F_GETFD) & FD_CLOEXEC);

	/* reads: one newline stripped, numbers as vfd_root_read_*() */
	ASSERT_OK(vfd_dir_read_string(dfd, "file", &s));
	ASSERT_STREQ(s, "hello");
	free(s);
	ASSERT_OK(vfd_dir_read_string(dfd, "empty", &s));
	ASSERT_STREQ(s, "");
	free(s);
	ASSERT_OK(vfd_dir_read_string(dfd, "big", &s));
	ASSERT_EQ(strlen(s), big);
	free(s);
	ASSERT_OK(vfd_dir_read_u64(dfd, "number", &u));
	ASSERT_EQ(u, 0x1af4);
	ASSERT_OK(vfd_dir_read_int(dfd, "numa_node", &v));
	ASSERT_EQ(v, -1);
	ASSERT_EQ(vfd_dir_pread(dfd, "config", &byte, 1, 0x0e), 1);
	ASSERT_EQ(byte, 'e');
	s = (char *)"untouched";
	ASSERT_ERRNO(vfd_dir_read_string(dfd, "nul", &s), -EBADMSG);
	ASSERT_ERRNO(vfd_dir_read_string(dfd, "missing", &s), -ENOENT);
	ASSERT_STREQ(s, "untouched");

	/* a link inside the directory resolves; every link out of it is refused */
	ASSERT_OK(vfd_dir_read_string(dfd, "rel_link", &s));
	ASSERT_STREQ(s, "hello");
	free(s);
	s = (char *)"untouched";
	ASSERT_ERRNO(vfd_dir_read_string(dfd, "up_link", &s), -EXDEV);
	ASSERT_ERRNO(vfd_dir_read_string(dfd, "escape", &s), -EXDEV);
	ASSERT_ERRNO(vfd_dir_read_string(dfd, "abs_outside", &s), -EXDEV);
	ASSERT_ERRNO(vfd_dir_read_string(dfd, "abs_inside", &s), -EXDEV);
	ASSERT_ERRNO(vfd_dir_pread(dfd, "escape", &byte, 1, 0), -EXDEV);
	ASSERT_STREQ(s, "untouched");

	/* names are one component: no paths, no "..", no "." */
	ASSERT_ERRNO(vfd_dir_read_string(dfd, "../b/target", &s), -EINVAL);
	ASSERT_ERRNO(vfd_dir_read_string(dfd, "..", &s), -EINVAL);
	ASSERT_ERRNO(vfd_dir_read_string(dfd, "", &s), -EINVAL);
	ASSERT_ERRNO(vfd_dir_read_string(-1, "file", &s), -EINVAL);
	ASSERT_ERRNO(vfd_dir_exists(dfd, "../a"), -EINVAL);

	/* links are read, not followed: their basename, whatever they point at */
	ASSERT_OK(vfd_dir_readlink_basename(dfd, "driver", &s));
	ASSERT_STREQ(s, "e1000e");
	free(s);
	ASSERT_OK(vfd_dir_readlink_basename(dfd, "trailing_slash", &s));
	ASSERT_STREQ(s, "igb");
	free(s);
	s = (char *)"untouched";
	ASSERT_ERRNO(vfd_dir_readlink_basename(dfd, "file", &s), -EINVAL);
	ASSERT_ERRNO(vfd_dir_readlink_basename(dfd, "missing", &s), -ENOENT);
	ASSERT_ERRNO(vfd_dir_readlink_basename(dfd, "dot", &s), -EINVAL);
	ASSERT_STREQ(s, "untouched");

	ASSERT_EQ(vfd_dir_exists(dfd, "file"), 1);
	ASSERT_EQ(vfd_dir_exists(dfd, "missing"), 0);
	ASSERT_ERRNO(vfd_dir_exists(dfd, "escape"), -EXDEV);

	close(dfd);
	free(content);
	tree_free(&t);
}

VFD_TEST_MAIN(
	VFD_TEST(test_context),
	VFD_TEST(test_path_rules),
	VFD_TEST(test_read_string),
	VFD_TEST(test_read_size_cap),
	VFD_TEST(test_read_numbers),
	VFD_TEST(test_symlinks_inside),
	VFD_TEST(test_symlinks_escaping),
	VFD_TEST(test_readlink),
	VFD_TEST(test_list_dir),
	VFD_TEST(test_write),
	VFD_TEST(test_pread),
	VFD_TEST(test_dir_relative),
)
