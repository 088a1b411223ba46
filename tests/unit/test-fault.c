/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault steps (lib/include/vfiod/fault.h): arming by spec, one pass of one
 * step failing, a kill, the trace a sweep enumerates the steps from, and a
 * sysfs write refused before it reaches the file.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vfd-test.h"
#include "vfiod/fault.h"
#include "vfiod/inventory.h"

static void test_specs(void)
{
	static const char *const bad[] = {
		"", "sysfs-bind", "sysfs-bind:", "sysfs-bind:0", "nope:1", "sysfs-bind:1:kil",
		"sysfs-bind:1:killx", "sysfs-bind:1:0", "sysfs-bind:1:4096", ":1",
		"a-step-name-longer-than-thirty-two-bytes:1",
	};
	vfd_context *ctx = NULL;
	vfd_fault *f;

	ASSERT_OK(vfd_context_new(vfd_test_synthetic_host(), &ctx));
	f = vfd_context_fault(ctx);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		if (vfd_fault_arm_from_string(ctx, bad[i]) != -EINVAL)
			vfd_test_fail(__FILE__, __LINE__, "accepted: \"%s\"", bad[i]);
		ASSERT_FALSE(f->armed);
	}
	ASSERT_OK(vfd_fault_arm_from_string(ctx, "journal-write:3:kill"));
	ASSERT_TRUE(f->armed);
	ASSERT_STREQ(f->step, "journal-write");
	ASSERT_EQ(f->nth, 3);
	ASSERT_EQ(f->error, VFD_FAULT_KILL);
	vfd_fault_disarm(ctx);
	ASSERT_FALSE(f->armed);
	/* every listed step can be armed */
	for (size_t i = 0; vfd_fault_steps[i]; i++)
		ASSERT_OK(vfd_fault_arm_step(ctx, vfd_fault_steps[i], 1, -EIO));
	vfd_context_free(ctx);
}

static void test_one_pass_fails(void)
{
	vfd_context *ctx = NULL;

	ASSERT_OK(vfd_context_new(vfd_test_synthetic_host(), &ctx));
	ASSERT_OK(vfd_fault_arm_from_string(ctx, "sysfs-unbind:2:28"));
	ASSERT_EQ(vfd_fault_step(ctx, "sysfs-bind"), 0);
	ASSERT_EQ(vfd_fault_step(ctx, "sysfs-unbind"), 0);
	ASSERT_EQ(vfd_fault_step(ctx, "sysfs-bind"), 0);
	ASSERT_ERRNO(vfd_fault_step(ctx, "sysfs-unbind"), -ENOSPC);
	/* once */
	ASSERT_EQ(vfd_fault_step(ctx, "sysfs-unbind"), 0);
	vfd_context_free(ctx);
}

static void test_trace_numbers_each_step(void)
{
	vfd_context *ctx = NULL;
	char buf[256] = "";
	int p[2];
	ssize_t n;

	ASSERT_OK(vfd_context_new(vfd_test_synthetic_host(), &ctx));
	ASSERT_OK(pipe(p));
	vfd_fault_trace(ctx, p[1]);
	ASSERT_EQ(vfd_fault_step(ctx, "sysfs-bind"), 0);
	ASSERT_EQ(vfd_fault_step(ctx, "mdev-attr"), 0);
	ASSERT_EQ(vfd_fault_step(ctx, "sysfs-bind"), 0);
	vfd_fault_trace(ctx, -1);
	ASSERT_EQ(vfd_fault_step(ctx, "sysfs-bind"), 0);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	ASSERT_TRUE(n > 0);
	ASSERT_STREQ(buf, "sysfs-bind 1\nmdev-attr 1\nsysfs-bind 2\n");
	close(p[0]);
	vfd_context_free(ctx);
}

static void test_kill_dies_at_the_step(void)
{
	vfd_context *ctx = NULL;
	int status;
	pid_t pid;

	ASSERT_OK(vfd_context_new(vfd_test_synthetic_host(), &ctx));
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		if (vfd_fault_arm_from_string(ctx, "memlock-set:2:kill") < 0)
			_exit(2);
		(void) vfd_fault_step(ctx, "memlock-set");
		(void) vfd_fault_step(ctx, "memlock-set"); /* dies here */
		_exit(3);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(WTERMSIG(status), SIGKILL);
	vfd_context_free(ctx);
}

static void test_sysfs_write_refused_before_the_file(void)
{
	_cleanup_free_ char *v = NULL;
	char *tmp = vfd_test_mkdtemp();
	vfd_context *ctx = NULL;

	vfd_test_write_file(tmp, "sys/bus/pci/devices/0000:00:01.0/driver_override", "(null)\n");
	ASSERT_OK(vfd_context_new(tmp, &ctx));
	ASSERT_OK(vfd_fault_arm_from_string(ctx, "sysfs-driver-override:1:16"));
	ASSERT_ERRNO(vfd_root_write_string(ctx, "sys/bus/pci/devices/0000:00:01.0/driver_override",
					   "vfio-pci"), -EBUSY);
	ASSERT_OK(vfd_root_read_string(ctx, "sys/bus/pci/devices/0000:00:01.0/driver_override", &v));
	ASSERT_STREQ(v, "(null)");
	ASSERT_OK(vfd_root_write_string(ctx, "sys/bus/pci/devices/0000:00:01.0/driver_override",
					"vfio-pci"));
	vfd_context_free(ctx);
	vfd_test_rm_rf(tmp);
	free(tmp);
}

VFD_TEST_MAIN(
	VFD_TEST(test_specs),
	VFD_TEST(test_one_pass_fails),
	VFD_TEST(test_trace_numbers_each_step),
	VFD_TEST(test_kill_dies_at_the_step),
	VFD_TEST(test_sysfs_write_refused_before_the_file),
)
