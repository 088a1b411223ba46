/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfd-vmm: the reference VMM of vfiod's nested-VM tests (see vmm.h).
 *
 * Setup, in the order a privileged launcher and QEMU would do it:
 *   1. as root: obtain the VFIO descriptors (vmm-source.c), set the iommufd
 *      RLIMIT_MODE (needs CAP_SYS_RESOURCE) and RLIMIT_MEMLOCK;
 *   2. drop to the VMM user with no capabilities at all;
 *   3. as that user: attach the device (container/IOAS), allocate memory.
 * Then it runs steps, from --script ("a; b; c") or one per line on stdin,
 * and answers every step with exactly one line:
 *   "<step> ok [key=value ...]"  or  "<step> err=<ERRNO NAME> [what]"
 * so that a test can drive it through a pair of FIFOs and read a reply per
 * request without sleeping.
 *
 * Steps:
 *   status                 uid, CapEff, VmLck_kB, VmPin_kB, memlock
 *   map IOVA SIZE [OFFSET] map guest memory [OFFSET, OFFSET+SIZE) at IOVA;
 *                          first tags each page (see VMM_PAGE_TAG)
 *   unmap IOVA SIZE
 *   read32 REGION OFFSET   one register of a device region (pread)
 *   edu-dma IOVA LEN       edu: copy LEN bytes at IOVA through the device
 *                          to IOVA+LEN and compare (LEN < 4096)
 *   edu-blocked IOVA LEN   edu: DMA to and from an IOVA that was mapped and
 *                          is unmapped now must reach no memory
 *   wait [TEXT]            with --script: block until a line on stdin
 *   fork-hold, close-vfio, release, grab-unbound VM DEVICE, drop-inflight
 *                          descriptors kept or let go (vmm-hold.c)
 *   handover SOCKET        live update: iommufd, device and guest memfd to
 *                          the VMM listening on SOCKET (--receive), which
 *                          answers "accept"; this VMM closes its own
 *   accept                 --receive: take them over (and the mappings)
 *   ioas-change-process    IOMMU_IOAS_CHANGE_PROCESS on the iommufd taken over
 *   change-process VM PID|dead|tid:TID [TIMEOUT_S], commit-change VM, abort-change VM
 *                          the VM's ChangeProcess methods (vmm-handover.c)
 *   take-change VM [TIMEOUT_S]  as the new process: ChangeProcessToCaller with
 *                          the iommufd taken over (vmm-handover.c)
 *   grab-many VM DEVICE N  GetDeviceFds N times in a row (vmm-handover.c)
 *   thread                 starts an idle thread: "thread ok tid=N"
 *   quit
 * Numbers: decimal or 0x hex, with an optional K, M or G (binary) suffix.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vmm-exec.h" /* launcher: --exec (vmm-exec.c) */
#include "vmm.h"

/*
 * The first 8 bytes of every mapped page hold a tag derived from the
 * page's IOVA: "vfd-" in the high half, the page frame number of the IOVA
 * in the low half. Whoever reads a pinned page (the test vGPU reports it)
 * can tell it resolved this VMM's memory at that IOVA.
 */
#define VMM_PAGE_TAG(iova) ((UINT64_C(0x7666642d) << 32) | (((iova) >> 12) & 0xffffffffu))

#define VMM_MAX_MAPPINGS 64
#define VMM_MAX_ARGS 8

typedef struct vmm_mapping {
	uint64_t iova;
	uint64_t size;
	uint64_t offset; /* into guest memory */
	bool mapped;     /* false: unmapped, kept for edu-blocked */
} vmm_mapping;

typedef struct vmm_options {
	const char *device;
	vmm_backend backend;
	const char *user;
	uint64_t memlock;
	bool set_memlock;
	uint64_t rlimit_mode;
	bool set_rlimit_mode;
	uint64_t mem_size;
	bool memfd;
	const char *script;
	const char *vfiod_vm; /* VM ownership: descriptors from vfiod (vmm-source-vfiod.c) */
	char **exec_argv;     /* launcher: --exec -- PROGRAM ARGS (vmm-exec.c) */
	bool viommu;          /* an address space per device (vmm-spaces.c) */
	bool map_file;        /* iommufd: IOMMU_IOAS_MAP_FILE from the memfd (vmm-iommufd.c) */
	const char *receive;  /* live update: a new VMM, listening here (vmm-handover.c) */
} vmm_options;

typedef struct vmm {
	vmm_iommu io;
	vmm_memory mem;
	vmm_mapping maps[VMM_MAX_MAPPINGS];
	size_t n_maps;
	bool script_mode;
	bool has_rlimit_mode;
	uint64_t rlimit_mode;
	unsigned dma_seq; /* varies the edu patterns between steps */
	bool edu_ready;
	const char *device; /* VM accounting: the setup device, for hotremove */
	int listen_fd;      /* --receive */
	char received_device[64];
} vmm;

static const char *errno_name(int r)
{
	const char *n = strerrorname_np(r < 0 ? -r : r);

	return n ? n : "EUNKNOWN";
}

static int parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -EINVAL;
	if (*end) {
		switch (*end) {
		case 'K':
			mult = UINT64_C(1) << 10;
			break;
		case 'M':
			mult = UINT64_C(1) << 20;
			break;
		case 'G':
			mult = UINT64_C(1) << 30;
			break;
		default:
			return -EINVAL;
		}
		if (end[1])
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*ret = (uint64_t)v * mult;
	return 0;
}

/* ---- replies ---- */

static int reply_err(const char *step, int r, const char *what)
{
	printf("%s err=%s%s%s\n", step, errno_name(r), what ? " " : "", what ? what : "");
	return r;
}

static int print_status(const vmm *v, const char *step)
{
	vmm_proc_status st;
	struct rlimit rl;
	char memlock[32];
	int r;

	r = vmm_proc_status_read(&st);
	if (r < 0)
		return reply_err(step, r, "proc-status");
	if (getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		return reply_err(step, negative_errno(), "getrlimit");
	if (rl.rlim_cur == RLIM_INFINITY)
		snprintf(memlock, sizeof(memlock), "unlimited");
	else
		snprintf(memlock, sizeof(memlock), "%llu", (unsigned long long)rl.rlim_cur);

	printf("%s ok backend=%s uid=%u CapEff=%016llx VmLck_kB=%llu VmPin_kB=%llu memlock=%s",
	       step, vmm_backend_to_string(v->io.backend), (unsigned)st.uid,
	       (unsigned long long)st.cap_eff, (unsigned long long)st.vm_lck_kb,
	       (unsigned long long)st.vm_pin_kb, memlock);
	if (v->has_rlimit_mode)
		printf(" rlimit_mode=%llu", (unsigned long long)v->rlimit_mode);
	printf("\n");
	return 0;
}

/* ---- guest memory and the mapping table ---- */

static uint8_t *host_addr(vmm *v, uint64_t offset, uint64_t size)
{
	if (offset > v->mem.size || size > v->mem.size - offset)
		return NULL;
	return v->mem.base + offset;
}

/* host address of [iova, iova+size) when it lies in one active mapping */
static uint8_t *iova_to_host(vmm *v, uint64_t iova, uint64_t size)
{
	for (size_t i = 0; i < v->n_maps; i++) {
		const vmm_mapping *m = &v->maps[i];

		if (m->mapped && iova >= m->iova && size <= m->size &&
		    iova - m->iova <= m->size - size)
			return host_addr(v, m->offset + (iova - m->iova), size);
	}
	return NULL;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool iova_is_mapped(const vmm *v, uint64_t iova, uint64_t size)
{
	for (size_t i = 0; i < v->n_maps; i++)
		if (v->maps[i].mapped &&
		    ranges_overlap(v->maps[i].iova, v->maps[i].size, iova, size))
			return true;
	return false;
}

static void tag_pages(uint8_t *host, uint64_t iova, uint64_t size)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	for (uint64_t off = 0; off + sizeof(uint64_t) <= size; off += page) {
		uint64_t tag = VMM_PAGE_TAG(iova + off);

		memcpy(host + off, &tag, sizeof(tag));
	}
}

static int step_map(vmm *v, char **argv, int argc)
{
	uint64_t iova, size, offset = 0;
	vmm_mapping *slot = NULL;
	uint8_t *host;
	int r;

	if (argc < 3 || argc > 4 || parse_u64(argv[1], &iova) < 0 ||
	    parse_u64(argv[2], &size) < 0 ||
	    (argc == 4 && parse_u64(argv[3], &offset) < 0))
		return reply_err("map", -EINVAL, "usage: map IOVA SIZE [OFFSET]");
	host = host_addr(v, offset, size);
	if (!host || size == 0)
		return reply_err("map", -ERANGE, "outside guest memory");

	/* reuse the record of an unmapped range, else append */
	for (size_t i = 0; i < v->n_maps && !slot; i++)
		if (!v->maps[i].mapped && v->maps[i].iova == iova)
			slot = &v->maps[i];
	if (!slot) {
		if (v->n_maps == VMM_MAX_MAPPINGS)
			return reply_err("map", -ENOSPC, "mapping table full");
		slot = &v->maps[v->n_maps];
	}

	tag_pages(host, iova, size);
	r = vmm_iommu_map(&v->io, iova, host, size);
	if (r < 0)
		return reply_err("map", r, NULL);

	if (slot == &v->maps[v->n_maps])
		v->n_maps++;
	*slot = (vmm_mapping) { .iova = iova, .size = size, .offset = offset, .mapped = true };
	printf("map ok iova=0x%llx size=%llu\n", (unsigned long long)iova,
	       (unsigned long long)size);
	return 0;
}

static int step_unmap(vmm *v, char **argv, int argc)
{
	uint64_t iova, size;
	int r;

	if (argc != 3 || parse_u64(argv[1], &iova) < 0 || parse_u64(argv[2], &size) < 0)
		return reply_err("unmap", -EINVAL, "usage: unmap IOVA SIZE");

	r = vmm_iommu_unmap(&v->io, iova, size);
	if (r < 0)
		return reply_err("unmap", r, NULL);

	for (size_t i = 0; i < v->n_maps; i++)
		if (v->maps[i].mapped && v->maps[i].iova >= iova &&
		    v->maps[i].iova + v->maps[i].size <= iova + size)
			v->maps[i].mapped = false;
	printf("unmap ok iova=0x%llx size=%llu\n", (unsigned long long)iova,
	       (unsigned long long)size);
	return 0;
}

static int step_read32(vmm *v, char **argv, int argc)
{
	uint64_t region, off;
	uint32_t val;
	int r;

	if (argc != 3 || parse_u64(argv[1], &region) < 0 || parse_u64(argv[2], &off) < 0 ||
	    region > UINT32_MAX)
		return reply_err("read32", -EINVAL, "usage: read32 REGION OFFSET");

	r = vmm_device_read32(v->io.device, (uint32_t)region, off, &val);
	if (r < 0)
		return reply_err("read32", r, NULL);
	printf("read32 ok value=0x%08x\n", val);
	return 0;
}

/* ---- edu DMA ---- */

/* xorshift: distinct, non-zero patterns per seed */
static void fill_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)(x >> 7);
	}
}

/*
 * Before the first transfer: enable memory decoding and bus mastering (a
 * device that may not master cannot DMA at all, which would make the
 * isolation check pass for the wrong reason), and make sure it is an edu.
 */
static int edu_prepare(vmm *v, const char *step)
{
	int r;

	if (v->edu_ready)
		return 0;
	r = vmm_device_enable(v->io.device);
	if (r < 0)
		return reply_err(step, r, "enable");
	r = vmm_edu_check(v->io.device);
	if (r < 0)
		return reply_err(step, r, "not an edu device");
	v->edu_ready = true;
	return 0;
}

static int parse_edu_args(vmm *v, const char *step, char **argv, int argc,
			  uint64_t *ret_iova, uint32_t *ret_len)
{
	uint64_t iova, len;
	int r;

	if (argc != 3 || parse_u64(argv[1], &iova) < 0 || parse_u64(argv[2], &len) < 0)
		return reply_err(step, -EINVAL, "usage: IOVA LEN");
	if (len == 0 || len >= VMM_EDU_BUFFER_SIZE)
		return reply_err(step, -EINVAL, "LEN must be 1..4095");
	r = edu_prepare(v, step);
	if (r < 0)
		return r;
	*ret_iova = iova;
	*ret_len = (uint32_t)len;
	return 0;
}

static int step_edu_dma(vmm *v, char **argv, int argc)
{
	uint8_t *src, *dst;
	uint64_t iova;
	uint32_t len;
	int r;

	r = parse_edu_args(v, "edu-dma", argv, argc, &iova, &len);
	if (r < 0)
		return r;
	src = iova_to_host(v, iova, 2 * (uint64_t)len);
	if (!src)
		return reply_err("edu-dma", -ENOENT, "IOVA..IOVA+2*LEN not mapped");
	dst = src + len;

	fill_pattern(src, len, ++v->dma_seq);
	memset(dst, 0, len);

	r = vmm_edu_dma(v->io.device, iova, len, false);
	if (r < 0)
		return reply_err("edu-dma", r, "to-device");
	r = vmm_edu_dma(v->io.device, iova + len, len, true);
	if (r < 0)
		return reply_err("edu-dma", r, "to-ram");
	if (memcmp(src, dst, len) != 0)
		return reply_err("edu-dma", -EIO, "mismatch");

	printf("edu-dma ok bytes=%u\n", len);
	return 0;
}

/*
 * The IOMMU check: memory that was mapped at IOVA and is unmapped now must
 * be out of the device's reach in both directions. Positive control: the
 * same transfers to a mapped scratch range do arrive.
 */
static int step_edu_blocked(vmm *v, char **argv, int argc)
{
	const vmm_mapping *gone = NULL;
	uint8_t *watch, *scratch = NULL;
	uint64_t iova, scratch_iova = 0;
	_cleanup_free_ uint8_t *expect = NULL;
	uint32_t len;
	int r;

	r = parse_edu_args(v, "edu-blocked", argv, argc, &iova, &len);
	if (r < 0)
		return r;
	if (iova_is_mapped(v, iova, len))
		return reply_err("edu-blocked", -EBUSY, "IOVA is mapped");
	for (size_t i = 0; i < v->n_maps && !gone; i++)
		if (!v->maps[i].mapped && iova >= v->maps[i].iova &&
		    iova + len <= v->maps[i].iova + v->maps[i].size)
			gone = &v->maps[i];
	if (!gone)
		return reply_err("edu-blocked", -ENOENT, "IOVA was never mapped");
	watch = host_addr(v, gone->offset + (iova - gone->iova), len);

	/* a mapped scratch range whose memory is not the watched memory */
	for (size_t i = 0; i < v->n_maps && !scratch; i++) {
		const vmm_mapping *m = &v->maps[i];

		if (m->mapped && m->size >= len &&
		    !ranges_overlap(m->offset, len, gone->offset + (iova - gone->iova), len)) {
			scratch_iova = m->iova;
			scratch = host_addr(v, m->offset, len);
		}
	}
	if (!scratch || !watch)
		return reply_err("edu-blocked", -ENOENT, "no mapped scratch range");

	expect = malloc(len);
	if (!expect)
		return reply_err("edu-blocked", -ENOMEM, NULL);

	/* Load the device buffer with P through the scratch mapping. */
	fill_pattern(scratch, len, ++v->dma_seq);
	r = vmm_edu_dma(v->io.device, scratch_iova, len, false);
	if (r < 0)
		return reply_err("edu-blocked", r, "load");

	/* Write P to the unmapped IOVA: the old memory must keep Q. */
	fill_pattern(watch, len, ++v->dma_seq);
	memcpy(expect, watch, len);
	r = vmm_edu_dma(v->io.device, iova, len, true);
	if (r < 0)
		return reply_err("edu-blocked", r, "write");
	if (memcmp(watch, expect, len) != 0)
		return reply_err("edu-blocked", -EFAULT, "device wrote unmapped memory");

	/* Read from the unmapped IOVA, then show the buffer: it must not be Q. */
	r = vmm_edu_dma(v->io.device, iova, len, false);
	if (r < 0)
		return reply_err("edu-blocked", r, "read");
	memset(scratch, 0, len);
	r = vmm_edu_dma(v->io.device, scratch_iova, len, true);
	if (r < 0)
		return reply_err("edu-blocked", r, "readback");
	if (memcmp(scratch, expect, len) == 0)
		return reply_err("edu-blocked", -EFAULT, "device read unmapped memory");

	printf("edu-blocked ok bytes=%u\n", len);
	return 0;
}

/* ---- live update (vmm-handover.c) ---- */

/* old VMM: "DEVICE MEMSIZE IOAS DEVID N IOVA SIZE OFFSET..." and the descriptors */
static int step_handover(vmm *v, char **argv, int argc)
{
	char text[2048];
	int fds[VMM_HANDOVER_FDS] = { v->io.iommufd, v->io.device, v->mem.memfd };
	size_t len, n = 0;
	pid_t peer = 0;
	int r;

	if (argc != 2)
		return reply_err("handover", -EINVAL, "usage: handover SOCKET");
	if (v->io.backend != VMM_BACKEND_IOMMUFD || v->io.device < 0 || v->mem.memfd < 0)
		return reply_err("handover", -EINVAL, "needs iommufd, a device and --memfd");
	for (size_t i = 0; i < v->n_maps; i++)
		n += v->maps[i].mapped;
	len = (size_t)snprintf(text, sizeof(text), "%s %zu %u %u %zu", v->device, v->mem.size,
			       v->io.ioas_id, v->io.devid, n);
	for (size_t i = 0; i < v->n_maps && len < sizeof(text); i++)
		if (v->maps[i].mapped)
			len += (size_t)snprintf(text + len, sizeof(text) - len, " %llu %llu %llu",
						(unsigned long long)v->maps[i].iova,
						(unsigned long long)v->maps[i].size,
						(unsigned long long)v->maps[i].offset);
	if (len >= sizeof(text))
		return reply_err("handover", -E2BIG, "too many mappings");
	r = vmm_handover_send(argv[1], fds, text, &peer);
	if (r < 0)
		return reply_err("handover", r, NULL);
	/* as the old QEMU, which exits: the device and the iommufd are the new VMM's only */
	close(v->io.device);
	close(v->io.iommufd);
	v->io.device = v->io.iommufd = -1;
	v->edu_ready = false;
	printf("handover ok peer=%d\n", (int)peer);
	return 0;
}

/* new VMM: the descriptors, guest memory (the same memfd) and the mapping table */
static int step_accept(vmm *v)
{
	int fds[VMM_HANDOVER_FDS] = { -1, -1, -1 };
	char text[2048], *p, *end;
	unsigned long long vals[3];
	size_t mem_size, n;
	unsigned ioas, devid;
	pid_t peer = 0;
	void *base;
	int r, used;

	if (v->listen_fd < 0)
		return reply_err("accept", -EINVAL, "not started with --receive");
	r = vmm_handover_receive(v->listen_fd, fds, text, sizeof(text), &peer);
	if (r < 0)
		return reply_err("accept", r, NULL);
	if (sscanf(text, "%63s %zu %u %u %zu%n", v->received_device, &mem_size, &ioas, &devid, &n,
		   &used) != 5 || n > VMM_MAX_MAPPINGS) {
		r = -EBADMSG;
		goto fail;
	}
	base = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[2], 0);
	if (base == MAP_FAILED) {
		r = negative_errno();
		goto fail;
	}
	p = text + used;
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 3; k++) {
			vals[k] = strtoull(p, &end, 10);
			p = end;
		}
		v->maps[i] = (vmm_mapping) { .iova = vals[0], .size = vals[1], .offset = vals[2],
					     .mapped = true };
	}
	v->n_maps = n;
	v->mem = (vmm_memory) { .base = base, .size = mem_size, .memfd = fds[2] };
	vmm_iommufd_map_from_file(fds[2], base);
	v->io = (vmm_iommu) VMM_IOMMU_INIT;
	v->io.backend = VMM_BACKEND_IOMMUFD;
	v->io.iommufd = fds[0];
	v->io.device = fds[1];
	v->io.ioas_id = ioas;
	v->io.devid = devid;
	v->device = v->received_device;
	printf("accept ok peer=%d device=%s mem=%zu maps=%zu\n", (int)peer, v->device, mem_size, n);
	return 0;
fail:
	for (int k = 0; k < VMM_HANDOVER_FDS; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	return reply_err("accept", r, "handover message");
}

static int step_ioas_change_process(vmm *v)
{
	int r;

	if (v->io.iommufd < 0)
		return reply_err("ioas-change-process", -EBADF, "no iommufd");
	r = vmm_ioas_change_process(v->io.iommufd);
	if (r < 0)
		return reply_err("ioas-change-process", r, NULL);
	printf("ioas-change-process ok\n");
	return 0;
}

/* ---- step loop ---- */

static int step_wait(vmm *v, char **argv, int argc)
{
	char line[256];

	printf("wait ok%s%s\n", argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
	fflush(stdout);
	/* In stdin mode the next line is the next step: nothing to wait for. */
	if (v->script_mode && !fgets(line, sizeof(line), stdin))
		return -EPIPE;
	return 0;
}

static int run_step(vmm *v, char *line, bool *ret_quit)
{
	char *argv[VMM_MAX_ARGS + 1];
	char *save = NULL, *tok;
	int argc = 0;

	for (tok = strtok_r(line, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (argc == VMM_MAX_ARGS)
			return reply_err("step", -E2BIG, "too many arguments");
		argv[argc++] = tok;
	}
	argv[argc] = NULL;
	if (argc == 0)
		return 0;

	if (strcmp(argv[0], "status") == 0)
		return print_status(v, "status");
	if (strcmp(argv[0], "map") == 0)
		return step_map(v, argv, argc);
	if (strcmp(argv[0], "unmap") == 0)
		return step_unmap(v, argv, argc);
	if (strcmp(argv[0], "read32") == 0)
		return step_read32(v, argv, argc);
	if (strcmp(argv[0], "edu-dma") == 0)
		return step_edu_dma(v, argv, argc);
	if (strcmp(argv[0], "edu-blocked") == 0)
		return step_edu_blocked(v, argv, argc);
	if (strcmp(argv[0], "wait") == 0)
		return step_wait(v, argv, argc);
	if (strcmp(argv[0], "hotadd") == 0 || strcmp(argv[0], "hotremove") == 0) /* VM accounting */
		return vmm_hotplug_step(&v->io, v->device, argv, argc);
	if (strcmp(argv[0], "fork-hold") == 0 || strcmp(argv[0], "close-vfio") == 0 ||
	    strcmp(argv[0], "release") == 0 || strcmp(argv[0], "grab-unbound") == 0 ||
	    strcmp(argv[0], "drop-inflight") == 0) /* vm-security-busy-device, vm-reaccount-iommufd */
		return vmm_hold_step(argv, argc);
	if (strcmp(argv[0], "handover") == 0)
		return step_handover(v, argv, argc);
	if (strcmp(argv[0], "accept") == 0)
		return step_accept(v);
	if (strcmp(argv[0], "ioas-change-process") == 0)
		return step_ioas_change_process(v);
	if (strcmp(argv[0], "thread") == 0)
		return vmm_thread_step();
	if (strcmp(argv[0], "take-change") == 0)
		return vmm_take_change_step(v->io.iommufd, argv, argc);
	if (strcmp(argv[0], "grab-many") == 0)
		return vmm_grab_many_step(argv, argc);
	if (strcmp(argv[0], "change-process") == 0 || strcmp(argv[0], "commit-change") == 0 ||
	    strcmp(argv[0], "abort-change") == 0)
		return vmm_change_process_step(argv, argc);
	if (strcmp(argv[0], "quit") == 0) {
		printf("quit ok\n");
		*ret_quit = true;
		return 0;
	}
	return reply_err(argv[0], -EOPNOTSUPP, "unknown step");
}

static int run_steps(vmm *v, const char *script)
{
	bool quit = false;
	int failed = 0;

	if (script) {
		_cleanup_free_ char *copy = strdup(script);
		char *save = NULL;

		if (!copy)
			return -ENOMEM;
		for (char *s = strtok_r(copy, ";", &save); s && !quit;
		     s = strtok_r(NULL, ";", &save))
			if (run_step(v, s, &quit) < 0)
				failed = 1;
	} else {
		char line[512];

		while (!quit && fgets(line, sizeof(line), stdin))
			if (run_step(v, line, &quit) < 0)
				failed = 1;
	}
	return failed;
}

/* ---- setup ---- */

static int setup_fail(const char *stage, int r)
{
	printf("setup err=%s stage=%s\n", errno_name(r), stage);
	return r;
}

static int vmm_setup(vmm *v, const vmm_options *o)
{
	_cleanup_close_ int fd_a = -1, fd_b = -1;
	_cleanup_close_ int fd_dev = -1; /* VM ownership: vfiod's device fd */
	uid_t uid = 0;
	gid_t gid = 0;
	int r;

	/* 1. privileged: descriptors, iommufd mode, memlock */
	if (o->user) {
		r = vmm_lookup_user(o->user, &uid, &gid);
		if (r < 0)
			return setup_fail("lookup-user", r);
	}
	if (o->vfiod_vm || o->receive) /* asked of vfiod, or of the running VMM, unprivileged */
		r = 0;
	else if (o->backend == VMM_BACKEND_TYPE1)
		r = vmm_source_open_type1(o->device, &fd_a, &fd_b);
	else
		r = vmm_source_open_iommufd(o->device, &fd_a, &fd_b);
	if (r < 0)
		return setup_fail("open", r);

	if (o->backend == VMM_BACKEND_IOMMUFD && !o->vfiod_vm /* VM ownership: vfiod sets it */ &&
	    !o->receive) {
		if (o->set_rlimit_mode) {
			r = vmm_iommufd_set_rlimit_mode(fd_a, o->rlimit_mode);
			if (r < 0)
				return setup_fail("rlimit-mode", r);
		}
		r = vmm_iommufd_get_rlimit_mode(fd_a, &v->rlimit_mode);
		if (r < 0)
			return setup_fail("rlimit-mode-get", r);
		v->has_rlimit_mode = true;
	}
	if (o->set_memlock) {
		r = vmm_set_memlock(o->memlock);
		if (r < 0)
			return setup_fail("memlock", r);
	}

	/* 2. become the VMM user */
	if (o->user) {
		r = vmm_drop_privileges(uid, gid);
		if (r < 0)
			return setup_fail("drop-privileges", r);
	}

	/* live update: a new VMM, whose descriptors come from the running one (step accept) */
	if (o->receive) {
		r = vmm_handover_listen(o->receive, &v->listen_fd);
		if (r < 0)
			return setup_fail("listen", r);
		v->io.backend = VMM_BACKEND_IOMMUFD;
		vmm_source_vfiod_set_vm(o->vfiod_vm);
		return print_status(v, "setup");
	}

	/* launcher: GetFds as the VM's VMM, then become the real VMM (vmm-exec.c) */
	if (o->exec_argv)
		return setup_fail("exec", vmm_exec_vfiod(o->vfiod_vm, o->exec_argv));

	/* 3. unprivileged: attach the device, allocate guest memory */
	if (o->vfiod_vm) { /* VM ownership: vfiod hands the descriptors to its VM's VMM only */
		r = vmm_source_open_vfiod(o->vfiod_vm, o->backend, o->device, &fd_a, &fd_b, &fd_dev);
		if (r < 0)
			return setup_fail("open", r);
		if (o->backend == VMM_BACKEND_IOMMUFD) {
			r = vmm_iommufd_get_rlimit_mode(fd_a, &v->rlimit_mode);
			if (r < 0)
				return setup_fail("rlimit-mode-get", r);
			v->has_rlimit_mode = true;
		}
	}
	if (o->vfiod_vm && o->backend == VMM_BACKEND_TYPE1) /* VM ownership: attached by vfiod */
		r = vmm_type1_adopt(&v->io, TAKE_FD(fd_a), TAKE_FD(fd_b), TAKE_FD(fd_dev));
	else if (o->vfiod_vm)
		r = vmm_iommufd_setup(&v->io, TAKE_FD(fd_a), TAKE_FD(fd_dev));
	else if (o->backend == VMM_BACKEND_TYPE1)
		r = vmm_type1_setup(&v->io, TAKE_FD(fd_a), TAKE_FD(fd_b), o->device);
	else
		r = vmm_iommufd_setup(&v->io, TAKE_FD(fd_a), TAKE_FD(fd_b));
	if (r < 0)
		return setup_fail("attach", r);

	r = vmm_memory_alloc(o->mem_size, o->memfd, &v->mem);
	if (r < 0)
		return setup_fail("memory", r);
	if (o->map_file)
		vmm_iommufd_map_from_file(v->mem.memfd, v->mem.base);

	return print_status(v, "setup");
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vfd-vmm (--type1|--iommufd) DEVICE [OPTIONS]\n"
		"  --type1 DEVICE       attach DEVICE (PCI address or mdev UUID) via a type1 container\n"
		"  --iommufd DEVICE     attach DEVICE via /dev/iommu and its VFIO cdev\n"
		"  --rlimit-mode N      iommufd: IOMMU_OPTION_RLIMIT_MODE (0 user, 1 process)\n"
		"  --memlock BYTES      RLIMIT_MEMLOCK to set before dropping privileges\n"
		"  --user USER          run as USER (name, UID or UID:GID) with no capabilities\n"
		"  --mem BYTES          guest memory size (default 64M)\n"
		"  --memfd              back guest memory with a memfd\n"
		"  --script STEPS       ';'-separated steps instead of reading stdin\n"
		"  --vfiod VM           take the descriptors of DEVICE from vfiod (GetFds of VM),\n"
		"                       after dropping privileges: as the VM's registered VMM\n"
		"  --viommu             each device in an address space of its own, as behind a\n"
		"                       vIOMMU: a hot-added device gets a new container (type1)\n"
		"                       or IOAS (iommufd); guest memory is mapped into each\n"
		"  --map-file           iommufd: map guest memory with IOMMU_IOAS_MAP_FILE from its\n"
		"                       memfd (implies --memfd), so that its charge can move\n"
		"  --receive SOCKET --vfiod VM\n"
		"                       live update: a new VMM, without DEVICE, that takes the\n"
		"                       descriptors of the running one on SOCKET (step accept)\n"
		"  --vfiod VM --exec -- PROGRAM ARGS...\n"
		"                       launcher: GetFds, then exec PROGRAM with the descriptors;\n"
		"                       @IOMMUFD@ and @DEVFD:<device>@ in ARGS become their numbers\n"
		"Steps: status, map IOVA SIZE [OFFSET], unmap IOVA SIZE, read32 REGION OFFSET,\n"
		"       edu-dma IOVA LEN, edu-blocked IOVA LEN, wait [TEXT], quit,\n"
		"       hotadd VM DEVICE, hotremove DEVICE (with vfiod; vmm-hotplug.c),\n"
		"       handover SOCKET, accept, ioas-change-process, change-process VM PID|dead\n"
		"       [TIMEOUT_S], commit-change VM, abort-change VM (vmm-handover.c)\n");
}

static int parse_options(int argc, char **argv, vmm_options *o)
{
	enum { OPT_TYPE1 = 0x100, OPT_IOMMUFD, OPT_RLIMIT_MODE, OPT_MEMLOCK,
	       OPT_USER, OPT_MEM, OPT_MEMFD, OPT_SCRIPT, OPT_HELP,
	       OPT_VFIOD /* VM ownership */, OPT_EXEC /* launcher */, OPT_VIOMMU,
	       OPT_MAP_FILE, OPT_RECEIVE /* live update */ };
	static const struct option longopts[] = {
		{ "type1", required_argument, NULL, OPT_TYPE1 },
		{ "iommufd", required_argument, NULL, OPT_IOMMUFD },
		{ "rlimit-mode", required_argument, NULL, OPT_RLIMIT_MODE },
		{ "memlock", required_argument, NULL, OPT_MEMLOCK },
		{ "user", required_argument, NULL, OPT_USER },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "memfd", no_argument, NULL, OPT_MEMFD },
		{ "script", required_argument, NULL, OPT_SCRIPT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "vfiod", required_argument, NULL, OPT_VFIOD }, /* VM ownership */
		{ "exec", no_argument, NULL, OPT_EXEC },          /* launcher */
		{ "viommu", no_argument, NULL, OPT_VIOMMU },      /* vmm-spaces.c */
		{ "map-file", no_argument, NULL, OPT_MAP_FILE },  /* vmm-iommufd.c */
		{ "receive", required_argument, NULL, OPT_RECEIVE }, /* vmm-handover.c */
		{}
	};
	int c;

	*o = (vmm_options) { .mem_size = UINT64_C(64) << 20 };
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
		switch (c) {
		case OPT_TYPE1:
		case OPT_IOMMUFD:
			if (o->device)
				return -EINVAL;
			o->device = optarg;
			o->backend = c == OPT_TYPE1 ? VMM_BACKEND_TYPE1 : VMM_BACKEND_IOMMUFD;
			break;
		case OPT_RLIMIT_MODE:
			if (parse_u64(optarg, &o->rlimit_mode) < 0)
				return -EINVAL;
			o->set_rlimit_mode = true;
			break;
		case OPT_MEMLOCK:
			if (parse_u64(optarg, &o->memlock) < 0)
				return -EINVAL;
			o->set_memlock = true;
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case OPT_MEM:
			if (parse_u64(optarg, &o->mem_size) < 0 || o->mem_size > SIZE_MAX)
				return -EINVAL;
			break;
		case OPT_MEMFD:
			o->memfd = true;
			break;
		case OPT_SCRIPT:
			o->script = optarg;
			break;
		case OPT_VFIOD: /* VM ownership */
			o->vfiod_vm = optarg;
			break;
		case OPT_EXEC: /* launcher: the command follows "--" */
			o->exec_argv = argv; /* a flag until the options end, see below */
			break;
		case OPT_VIOMMU:
			o->viommu = true;
			break;
		case OPT_MAP_FILE:
			o->map_file = true;
			o->memfd = true;
			break;
		case OPT_RECEIVE:
			o->receive = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			exit(EXIT_SUCCESS);
		default:
			return -EINVAL;
		}
	}
	if (o->exec_argv) { /* launcher: --vfiod VM --exec -- PROGRAM ARGS..., no DEVICE needed */
		if (!o->vfiod_vm || o->set_rlimit_mode || optind == argc ||
		    strcmp(argv[optind - 1], "--") != 0)
			return -EINVAL;
		o->exec_argv = argv + optind;
		return 0;
	}
	if (o->receive) /* live update: the device comes from the running VMM */
		return optind == argc && !o->device && o->vfiod_vm && !o->set_rlimit_mode ? 0 : -EINVAL;
	if (optind != argc || !o->device)
		return -EINVAL;
	if (o->map_file && o->backend != VMM_BACKEND_IOMMUFD)
		return -EINVAL;
	if (o->set_rlimit_mode && o->backend != VMM_BACKEND_IOMMUFD)
		return -EINVAL;
	if (o->set_rlimit_mode && o->vfiod_vm) /* VM ownership: vfiod sets the mode */
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	vmm v = { .io = VMM_IOMMU_INIT, .mem = { .memfd = -1 }, .listen_fd = -1 };
	vmm_options o;
	int r;

	/* one reply per line, visible at once through a pipe or FIFO */
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (parse_options(argc, argv, &o) < 0) {
		usage(stderr);
		return 2;
	}
	v.script_mode = o.script != NULL;
	v.device = o.device; /* VM accounting: hotremove of the setup device */
	if (o.viommu)
		vmm_spaces_enable();

	r = vmm_setup(&v, &o);
	if (r >= 0)
		r = run_steps(&v, o.script);

	vmm_iommu_close(&v.io);
	vmm_memory_free(&v.mem);
	return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
