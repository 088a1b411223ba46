/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt hook (cli/libvirt-hook) without a daemon: what it reads from
 * a domain XML (hook-request.c), and the installed program's answers to
 * every input it must settle before any bus call, run with a system bus
 * address that does not exist so that a call it should not make fails
 * loudly ("cannot connect").
 *
 * VFIOD_LIBVIRT_HOOK names the built program (set by meson).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook-request.h"
#include "vfd-test.h"
#include "vfiod/inventory.h"

#define UUID "6b1b6a2c-0e6f-4b3a-9c1d-2e3f4a5b6c7d"
#define HEAD(name) "<domain type='qemu'><name>" name "</name><uuid>" UUID "</uuid>" \
		   "<memory unit='MiB'>32</memory><devices>"
#define TAIL "</devices></domain>"
#define EDU_NO "<hostdev mode='subsystem' type='pci' managed='no'><source>" \
	       "<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>"
#define MDEV "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>" \
	     "<address uuid='7D5A3F2E-1C4B-4E8A-9F60-0A1B2C3D4E5F'/></source></hostdev>"

static int from_xml(const char *name, const char *xml, HookVM **ret, char **err)
{
	*err = NULL;
	return hook_vm_from_xml(name, xml, strlen(xml), ret, err);
}

static void test_ops(void)
{
	ASSERT_EQ(hook_op_from_string("prepare"), HOOK_OP_PREPARE);
	ASSERT_EQ(hook_op_from_string("started"), HOOK_OP_STARTED);
	ASSERT_EQ(hook_op_from_string("stopped"), HOOK_OP_STOPPED);
	ASSERT_EQ(hook_op_from_string("release"), HOOK_OP_RELEASE);
	ASSERT_EQ(hook_op_from_string("reconnect"), HOOK_OP_RECONNECT);
	/* the ones vfiod has no part in, and near misses */
	ASSERT_EQ(hook_op_from_string("start"), HOOK_OP_OTHER);
	ASSERT_EQ(hook_op_from_string("migrate"), HOOK_OP_OTHER);
	ASSERT_EQ(hook_op_from_string("Prepare"), HOOK_OP_OTHER);
	ASSERT_EQ(hook_op_from_string("prepare "), HOOK_OP_OTHER);
	ASSERT_EQ(hook_op_from_string(""), HOOK_OP_OTHER);
	ASSERT_EQ(hook_op_from_string(NULL), HOOK_OP_OTHER);
}

static void test_names(void)
{
	char n64[65], n65[66], arg[HOOK_ARG_NAME_MAX + 2];
	char *err = NULL;

	memset(n64, 'a', 64);
	n64[64] = '\0';
	memset(n65, 'a', 65);
	n65[65] = '\0';
	ASSERT_TRUE(vfd_vm_name_is_valid("vm1"));
	ASSERT_TRUE(vfd_vm_name_is_valid("0.a_b-c"));
	ASSERT_TRUE(vfd_vm_name_is_valid(n64));
	ASSERT_FALSE(vfd_vm_name_is_valid(n65));
	ASSERT_FALSE(vfd_vm_name_is_valid(""));
	ASSERT_FALSE(vfd_vm_name_is_valid(NULL));
	ASSERT_FALSE(vfd_vm_name_is_valid("-vm"));
	ASSERT_FALSE(vfd_vm_name_is_valid(".vm"));
	ASSERT_FALSE(vfd_vm_name_is_valid("a b"));
	ASSERT_FALSE(vfd_vm_name_is_valid("a/b"));
	ASSERT_FALSE(vfd_vm_name_is_valid("grüße"));

	/* libvirt allows more than vfiod: only empty, huge and control bytes are refused outright */
	ASSERT_OK(hook_check_name_arg("a b/c", &err));
	ASSERT_ERRNO(hook_check_name_arg("", &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "empty"));
	free(err);
	err = NULL;
	ASSERT_ERRNO(hook_check_name_arg("a\nb", &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "control"));
	free(err);
	err = NULL;
	memset(arg, 'a', sizeof(arg) - 1);
	arg[HOOK_ARG_NAME_MAX] = '\0';
	ASSERT_OK(hook_check_name_arg(arg, &err));
	arg[HOOK_ARG_NAME_MAX] = 'a';
	arg[HOOK_ARG_NAME_MAX + 1] = '\0';
	ASSERT_ERRNO(hook_check_name_arg(arg, &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "longer"));
	free(err);
}

static void test_devices_read(void)
{
	HookVM *vm = NULL;
	char *err = NULL;

	ASSERT_OK(from_xml("lab", HEAD("lab") EDU_NO MDEV EDU_NO MDEV
			   /* libvirt's own: managed, legacy KVM assignment, USB */
			   "<hostdev mode='subsystem' type='pci' managed='yes'><source><address bus='2'/></source></hostdev>"
			   "<hostdev mode='subsystem' type='pci'><driver name='kvm'/><source><address bus='3'/></source>"
			   "</hostdev>"
			   "<hostdev mode='subsystem' type='usb'><source><vendor id='0x1'/></source></hostdev>"
			   "<interface type='hostdev'><source><address type='pci' bus='4' slot='1' function='2'/>"
			   "</source></interface>"
			   "<iommu model='intel'/>" TAIL, &vm, &err));
	ASSERT_STREQ(vm->name, "lab");
	ASSERT_STREQ(vm->uuid, UUID);
	ASSERT_EQ(vm->memory_bytes, 32 << 20);
	ASSERT_TRUE(vm->viommu);
	ASSERT_TRUE(hook_vm_has_devices(vm));
	/* duplicates once; the unmanaged interface hostdev too */
	ASSERT_EQ(vm->n_pci_devices, 2);
	if (vm->n_pci_devices == 2) {
		ASSERT_STREQ(vm->pci_devices[0], "0000:01:00.0");
		ASSERT_STREQ(vm->pci_devices[1], "0000:04:01.2");
	}
	ASSERT_EQ(vm->n_mdevs, 1);
	if (vm->n_mdevs == 1)
		ASSERT_STREQ(vm->mdevs[0], "7d5a3f2e-1c4b-4e8a-9f60-0a1b2c3d4e5f");
	ASSERT_EQ(vm->n_managed_skipped, 1);
	vm = hook_vm_free(vm);

	/* nothing for vfiod: no hostdev, or only libvirt-managed ones */
	ASSERT_OK(from_xml("lab", HEAD("lab") TAIL, &vm, &err));
	ASSERT_FALSE(hook_vm_has_devices(vm));
	ASSERT_FALSE(vm->viommu);
	vm = hook_vm_free(vm);
	ASSERT_OK(from_xml("lab", HEAD("lab") "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
			   "<address bus='2'/></source></hostdev>" TAIL, &vm, &err));
	ASSERT_FALSE(hook_vm_has_devices(vm));
	hook_vm_free(vm);
}

static void test_refusals(void)
{
	HookVM *vm = NULL;
	char *err = NULL;

	/* the XML must be the named domain's */
	ASSERT_ERRNO(from_xml("other", HEAD("lab") EDU_NO TAIL, &vm, &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "'lab'") && strstr(err, "'other'"));
	ASSERT_NULL(vm);
	free(err);
	ASSERT_ERRNO(from_xml("lab", "<domain type='qemu'><uuid>" UUID "</uuid><memory>1</memory></domain>",
			      &vm, &err), -EINVAL);
	ASSERT_TRUE(err && strstr(err, "<name>"));
	free(err);
	ASSERT_ERRNO(from_xml("lab", "<domain type='qemu'><name>lab</name><memory>1</memory></domain>", &vm, &err),
		     -EINVAL);
	ASSERT_TRUE(err && strstr(err, "<uuid>"));
	free(err);
	/* the hardened parser's refusals come through unchanged */
	ASSERT_ERRNO(from_xml("lab", "", &vm, &err), -ENODATA);
	free(err);
	ASSERT_ERRNO(from_xml("lab", "<!DOCTYPE d [<!ENTITY a 'b'>]>" HEAD("lab") TAIL, &vm, &err), -EPERM);
	free(err);
	ASSERT_ERRNO(from_xml("lab", HEAD("lab"), &vm, &err), -EBADMSG);
	free(err);
	ASSERT_ERRNO(from_xml("lab", HEAD("lab") "<hostdev mode='subsystem' type='pci' managed='1'><source>"
			      "<address bus='1'/></source></hostdev>" TAIL, &vm, &err), -EINVAL);
	free(err);
	ASSERT_NULL(vm);
}

/* ---- the program, with no bus to talk to ---- */

typedef struct Run {
	int status; /* exit status, or 128 + signal */
	char err[4096];
	size_t out_len;
} Run;

/* runs the hook with argv and stdin from input (NULL: /dev/null) */
static void run_hook(const char *const argv[], const char *input, size_t input_len, Run *ret)
{
	const char *exe = getenv("VFIOD_LIBVIRT_HOOK");
	int in[2], out[2], errp[2], status;
	char buf[4096];
	ssize_t n;
	size_t err_len = 0;
	pid_t pid;

	if (!exe)
		vfd_test_skip("VFIOD_LIBVIRT_HOOK is not set");
	ASSERT_TRUE(pipe(in) == 0 && pipe(out) == 0 && pipe(errp) == 0);
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		close(in[1]);
		close(out[0]);
		close(errp[0]);
		setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/vfiod-test-bus", 1);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	/* the hook may stop reading early (huge input, ignored operation): no SIGPIPE here */
	signal(SIGPIPE, SIG_IGN);
	for (size_t off = 0; input && off < input_len;) {
		n = write(in[1], input + off, input_len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(in[1]);
	memset(ret, 0, sizeof(*ret));
	while ((n = read(out[0], buf, sizeof(buf))) > 0)
		ret->out_len += (size_t)n;
	while ((n = read(errp[0], ret->err + err_len, sizeof(ret->err) - 1 - err_len)) > 0)
		err_len += (size_t)n;
	close(out[0]);
	close(errp[0]);
	ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
	ret->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

#define RUN(status_, needle, input, ...)                                                        \
	do {                                                                                    \
		const char *const argv_[] = { "vfiod", __VA_ARGS__, NULL };                     \
		const char *in_ = (input);                                                      \
		Run r_;                                                                         \
		run_hook(argv_, in_, in_ ? strlen(in_) : 0, &r_);                               \
		if (r_.status != (status_))                                                     \
			vfd_test_fail(__FILE__, __LINE__, "exit %d, want %d: %s", r_.status,    \
				      (status_), r_.err);                                       \
		ASSERT_EQ(r_.out_len, 0);                                                       \
		if ((status_) == 0)                                                             \
			ASSERT_STREQ(r_.err, "");                                               \
		else {                                                                          \
			ASSERT_EQ(count_lines(r_.err), 1);                                      \
			if (!strstr(r_.err, (needle)))                                          \
				vfd_test_fail(__FILE__, __LINE__, "'%s' not in: %s", (needle), r_.err); \
		}                                                                               \
	} while (0)

/* what the hook reads as type1's dma_entry_limit on this machine: 65535 when absent */
static unsigned long long host_dma_entry_limit(void)
{
	FILE *f = fopen("/sys/module/vfio_iommu_type1/parameters/dma_entry_limit", "re");
	unsigned long long v = 65535;

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 65535;
		fclose(f);
	}
	return v;
}

static void test_program_settles_before_the_bus(void)
{
	static const char good[] = HEAD("lab") EDU_NO MDEV TAIL;
	char *huge;

	/* every operation vfiod has no part in: 0, stdin never read */
	RUN(0, "", "garbage", "lab", "migrate", "begin", "-");
	RUN(0, "", "garbage", "lab", "start", "begin", "-");
	RUN(0, "", NULL, "lab", "frobnicate", "x", "y");
	/* stopped: libvirt still needs the devices' nodes (labels), release follows */
	RUN(0, "", "garbage", "lab", "stopped", "end", "-");
	/* a domain without hostdevs for vfiod: 0 without a bus */
	RUN(0, "", HEAD("lab") TAIL, "lab", "prepare", "begin", "-");
	RUN(0, "", HEAD("lab") TAIL, "lab", "release", "end", "-");
	/* one that vfiod cannot hold was never prepared: nothing to release */
	RUN(0, "", HEAD("a b") EDU_NO TAIL, "a b", "release", "end", "-");

	RUN(2, "usage", good, "lab", "prepare");
	RUN(1, "empty", NULL, "lab", "prepare", "begin", "-");
	RUN(1, "DOCTYPE", "<!DOCTYPE d [<!ENTITY a 'b'>]><domain/>", "lab", "prepare", "begin", "-");
	RUN(1, "not well-formed", HEAD("lab"), "lab", "prepare", "begin", "-");
	RUN(1, "hook was called for 'lbb'", good, "lbb", "prepare", "begin", "-");
	RUN(1, "control character", good, "l\nb", "prepare", "begin", "-");
	RUN(1, "cannot hold a VM named 'a b'", HEAD("a b") EDU_NO TAIL, "a b", "prepare", "begin", "-");
	/* a newline in the XML's name stays on the one line */
	RUN(1, "'a?b'", "<domain type='qemu'><name>a\nb</name><memory>1</memory></domain>", "lab", "prepare",
	    "begin", "-");

	huge = malloc(3 << 20);
	ASSERT_NOT_NULL(huge);
	memset(huge, ' ', 3 << 20);
	huge[(3 << 20) - 1] = '\0';
	RUN(1, "larger than", huge, "lab", "prepare", "begin", "-");
	free(huge);

	/* a domain over type1's dma_entry_limit: refused before the bus (limit: this host's, or 65535) */
	if (host_dma_entry_limit() < 65553) {
		static const char over[] =
			"<domain type='kvm'><name>lab</name><uuid>" UUID "</uuid><memory unit='GiB'>132</memory>"
			"<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
			"<memory model='virtio-mem'><target><size unit='GiB'>128</size><block unit='MiB'>2</block>"
			"</target></memory>" EDU_NO TAIL;

		RUN(1, "would need about 65553 DMA mappings", over, "lab", "prepare", "begin", "-");
		/* only prepare judges it: release of such a domain still goes to vfiod */
		RUN(1, "cannot connect to the system bus", over, "lab", "release", "end", "-");
	}

	/* everything checked: only now the bus, which is not there */
	RUN(1, "cannot connect to the system bus", good, "lab", "prepare", "begin", "-");
	RUN(1, "cannot connect to the system bus", good, "lab", "started", "begin", "-");
	RUN(1, "cannot connect to the system bus", good, "lab", "release", "end", "-");
}

/* type1's dma_entry_limit: refused at prepare with count, limit and what to do */
static void test_dma_budget(void)
{
	static const char over_xml[] =
		"<domain type='kvm'><name>vm</name><uuid>" UUID "</uuid><memory unit='GiB'>132</memory>"
		"<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
		"<memory model='virtio-mem'><target><size unit='GiB'>128</size><block unit='MiB'>2</block>"
		"</target></memory>" EDU_NO TAIL;
	HookVM *vm = NULL;
	char *err = NULL, *warning = NULL;
	uint64_t n = 0;

	ASSERT_OK(from_xml("vm", over_xml, &vm, &err));
	ASSERT_ERRNO(hook_vm_check_dma_budget(vm, 0, &n, &warning, &err), -EXFULL);
	ASSERT_TRUE(err && strstr(err, "65553 DMA mappings") && strstr(err, "dma_entry_limit of 65535") &&
		    strstr(err, "iommufd='yes'") && strstr(err, "virtio-mem <block>"));
	ASSERT_NULL(warning);
	free(err);
	err = NULL;
	/* a host whose limit was raised takes it, with the count for vfiod */
	ASSERT_OK(hook_vm_check_dma_budget(vm, 1000000, &n, &warning, &err));
	ASSERT_TRUE(n == 65553);
	ASSERT_NULL(warning);
	hook_vm_free(vm);

	/* 32 MiB, one device: 16 mappings; a limit of 17 warns, of 15 refuses */
	ASSERT_OK(from_xml("vm", HEAD("vm") EDU_NO TAIL, &vm, &err));
	ASSERT_OK(hook_vm_check_dma_budget(vm, 17, &n, &warning, &err));
	ASSERT_TRUE(n == 16);
	ASSERT_TRUE(warning && strstr(warning, "90%"));
	free(warning);
	warning = NULL;
	ASSERT_ERRNO(hook_vm_check_dma_budget(vm, 15, &n, &warning, &err), -EXFULL);
	ASSERT_TRUE(err && strstr(err, "dma_entry_limit of 15:"));
	free(err);
	err = NULL;
	hook_vm_free(vm);

	/* libvirt 12's iommufd hostdevs: no type1 container, no limit, nothing for vfiod to check */
	{
		static const char iommufd_xml[] =
			"<domain type='kvm'><name>vm</name><uuid>" UUID "</uuid><memory unit='GiB'>132</memory>"
			"<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
			"<memory model='virtio-mem'><target><size unit='GiB'>128</size><block unit='MiB'>2</block>"
			"</target></memory><hostdev mode='subsystem' type='pci' managed='no'><driver iommufd='yes'/>"
			"<source><address domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></source></hostdev>"
			TAIL;

		ASSERT_OK(from_xml("vm", iommufd_xml, &vm, &err));
		n = 99;
		ASSERT_OK(hook_vm_check_dma_budget(vm, 64, &n, &warning, &err));
		ASSERT_TRUE(n == 0);
		ASSERT_NULL(warning);
		hook_vm_free(vm);
		/* one type1 hostdev beside it makes a container: refused again */
		ASSERT_OK(from_xml("vm", "<domain type='kvm'><name>vm</name><uuid>" UUID "</uuid>"
				   "<memory unit='GiB'>132</memory><devices><memory model='virtio-mem'><target>"
				   "<size unit='GiB'>128</size><block unit='MiB'>2</block></target></memory>"
				   "<hostdev mode='subsystem' type='pci' managed='no'><driver iommufd='yes'/><source>"
				   "<address domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></source></hostdev>"
				   EDU_NO TAIL, &vm, &err));
		ASSERT_ERRNO(hook_vm_check_dma_budget(vm, 0, &n, &warning, &err), -EXFULL);
		free(err);
		err = NULL;
		hook_vm_free(vm);
	}

	/* behind a vIOMMU: a warning, and no count for vfiod */
	ASSERT_OK(from_xml("vm", HEAD("vm") "<iommu model='intel'/>" EDU_NO TAIL, &vm, &err));
	n = 99;
	ASSERT_OK(hook_vm_check_dma_budget(vm, 1, &n, &warning, &err));
	ASSERT_TRUE(n == 0);
	ASSERT_TRUE(warning && strstr(warning, "vIOMMU"));
	free(warning);
	hook_vm_free(vm);
}

VFD_TEST_MAIN(
	VFD_TEST(test_dma_budget),
	VFD_TEST(test_ops),
	VFD_TEST(test_names),
	VFD_TEST(test_devices_read),
	VFD_TEST(test_refusals),
	VFD_TEST(test_program_settles_before_the_bus),
)
