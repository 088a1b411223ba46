/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfd-test.h"

void vfd_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	exit(EXIT_FAILURE);
}

#define EXIT_SKIP 77

void vfd_test_skip(const char *why)
{
	fprintf(stderr, "skipped: %s\n", why);
	fflush(stderr);
	exit(EXIT_SKIP);
}

/* 0 pass, 1 skip, -1 fail */
static int run_one(const vfd_test *t)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return -1;
	}
	if (pid == 0) {
		t->func();
		/* exit(), not _exit(): LeakSanitizer checks at exit */
		exit(EXIT_SUCCESS);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		return -1;
	}
	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == EXIT_SKIP)
			return 1;
		return WEXITSTATUS(status) == 0 ? 0 : -1;
	}
	fprintf(stderr, "%s: killed by signal %d\n", t->name, WTERMSIG(status));
	return -1;
}

int vfd_test_main(int argc, char **argv, const vfd_test *tests, size_t n)
{
	size_t i, failed = 0, run = 0;

	/* optional filter: run only the named tests */
	printf("TAP version 13\n");
	for (i = 0; i < n; i++) {
		bool selected = argc < 2;
		int j;

		for (j = 1; j < argc; j++)
			if (strcmp(argv[j], tests[i].name) == 0)
				selected = true;
		if (selected)
			run++;
	}
	printf("1..%zu\n", run);

	run = 0;
	for (i = 0; i < n; i++) {
		bool selected = argc < 2;
		int j, r;

		for (j = 1; j < argc; j++)
			if (strcmp(argv[j], tests[i].name) == 0)
				selected = true;
		if (!selected)
			continue;
		run++;
		r = run_one(&tests[i]);
		if (r < 0) {
			failed++;
			printf("not ok %zu - %s\n", run, tests[i].name);
		} else if (r > 0) {
			printf("ok %zu - %s # SKIP\n", run, tests[i].name);
		} else {
			printf("ok %zu - %s\n", run, tests[i].name);
		}
		fflush(stdout);
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

const char *vfd_test_synthetic_host(void)
{
	const char *p = getenv("VFD_SYNTHETIC_HOST");

	if (!p || !*p)
		vfd_test_fail(__FILE__, __LINE__, "VFD_SYNTHETIC_HOST is not set (run through meson test)");
	return p;
}

char *vfd_test_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *path;

	if (!tmp || !*tmp)
		tmp = P_tmpdir;
	if (asprintf(&path, "%s/vfd-test-XXXXXX", tmp) < 0)
		vfd_test_fail(__FILE__, __LINE__, "out of memory");
	if (!mkdtemp(path))
		vfd_test_fail(__FILE__, __LINE__, "mkdtemp(%s): %s", path, strerror(errno));
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

void vfd_test_rm_rf(const char *path)
{
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		vfd_test_fail(__FILE__, __LINE__, "removing %s: %s", path, strerror(errno));
}

static void mkdir_parents(const char *root, const char *rel)
{
	char path[4096];
	size_t i;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) >= sizeof(path))
		vfd_test_fail(__FILE__, __LINE__, "path too long");
	/* the root itself too, so a removed test tree can be refilled */
	for (i = 1; path[i]; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			vfd_test_fail(__FILE__, __LINE__, "mkdir(%s): %s", path, strerror(errno));
		path[i] = '/';
	}
}

void vfd_test_write_file(const char *root, const char *rel, const char *content)
{
	vfd_test_write_data(root, rel, content, strlen(content));
}

void vfd_test_write_data(const char *root, const char *rel, const void *content, size_t len)
{
	char path[4096];
	int fd;

	mkdir_parents(root, rel);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		vfd_test_fail(__FILE__, __LINE__, "open(%s): %s", path, strerror(errno));
	if (write(fd, content, len) != (ssize_t)len)
		vfd_test_fail(__FILE__, __LINE__, "write(%s): %s", path, strerror(errno));
	close(fd);
}

void vfd_test_mkdir(const char *root, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/", rel);
	mkdir_parents(root, path);
}

void vfd_test_symlink(const char *root, const char *rel, const char *target)
{
	char path[4096];

	mkdir_parents(root, rel);
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (symlink(target, path) < 0)
		vfd_test_fail(__FILE__, __LINE__, "symlink(%s): %s", path, strerror(errno));
}

/*
 * (tests of names: env VFD_HWDB_SOURCE and VFD_SYSTEMD_HWDB, else skipped)
 * A root with the fixture's database compiled into ROOT/etc/udev/hwdb.bin,
 * or with usr into the distribution's place (--usr: lib/udev for Debian 12's
 * systemd, usr/lib/udev for later ones; both are searched).
 */
char *vfd_test_root_with_hwdb(bool usr)
{
	const char *source = getenv("VFD_HWDB_SOURCE"), *tool = getenv("VFD_SYSTEMD_HWDB");
	char *root = vfd_test_mkdtemp(), *text = NULL, cmd[4096];
	size_t len = 0;
	FILE *f;

	if (!source || !tool)
		vfd_test_skip("VFD_HWDB_SOURCE or VFD_SYSTEMD_HWDB is not set");
	f = fopen(source, "re");
	ASSERT_TRUE(f != NULL);
	ASSERT_TRUE(getdelim(&text, &len, '\0', f) > 0);
	fclose(f);
	vfd_test_write_file(root, "etc/udev/hwdb.d/20-test.hwdb", text);
	free(text);

	snprintf(cmd, sizeof(cmd), "'%s' --root='%s' update%s", tool, root, usr ? " --usr" : "");
	ASSERT_EQ(system(cmd), 0);
	if (usr) {
		char lib[4096], usr_lib[4096];

		snprintf(lib, sizeof(lib), "%s/lib/udev/hwdb.bin", root);
		snprintf(usr_lib, sizeof(usr_lib), "%s/usr/lib/udev/hwdb.bin", root);
		ASSERT_TRUE(access(lib, R_OK) == 0 || access(usr_lib, R_OK) == 0);
		snprintf(cmd, sizeof(cmd), "%s/etc/udev/hwdb.bin", root);
		ASSERT_TRUE(access(cmd, F_OK) < 0);
	} else {
		snprintf(cmd, sizeof(cmd), "%s/etc/udev/hwdb.bin", root);
		ASSERT_EQ(access(cmd, R_OK), 0);
	}
	return root;
}
