/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-probe: drives libvfiod's VM-ownership code (lib/bind.c,
 * lib/mdev-ctl.c, lib/vfio-type1.c, lib/vfio-iommufd.c) against a real
 * kernel, in the nested-VM guest. Each verb does one whole cycle and
 * checks the kernel's answers; it prints "vfio-probe: ok ..." lines and
 * exits 0, or prints the failure and exits 1 (77 when the kernel lacks the
 * feature, e.g. no /dev/iommu).
 *
 *   vfio-probe claim BDF...       claim the groups, print the record (JSON)
 *   vfio-probe release FILE       release a record printed by claim
 *   vfio-probe type1 BDF          claim, container + group + device fd, release
 *   vfio-probe iommufd BDF        claim, /dev/iommu with per-process accounting,
 *                                 device cdev bound to it, release
 *   vfio-probe fault SPEC BDF [all]
 *                                 arm a test fault (lib/include/vfiod/fault.h), claim
 *                                 must fail and change no driver; "all" also
 *                                 takes group members from host drivers
 *   vfio-probe mdev PARENT TYPE   create (with a generated UUID), check, remove
 *   vfio-probe type1-map-count BDF N
 *                                 claim, type1 container, then N separate
 *                                 4 KiB VFIO_IOMMU_MAP_DMA calls until one
 *                                 fails; prints the container's dma_avail
 *                                 before, how many succeeded and the
 *                                 errno of the first failure (the test
 *                                 judges: dma_entry_limit), unmaps, releases
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfiod/bind.h"
#include "vfiod/fault.h"
#include "vfiod/mdev-ctl.h"
#include "vfiod/vfio.h"
#include "vfiod/inventory.h"

/* the 6.12 uAPI Debian 12's headers lack: lib's one compat header */
#include "vfiod/vfio-uapi.h"

#define EXIT_SKIP 77

static int fail(const char *what, int r, const vfd_op_error *e)
{
	fprintf(stderr, "vfio-probe: FAIL %s: %s", what, strerror(r < 0 ? -r : r));
	if (e && e->error)
		fprintf(stderr, " [%s: %s]", e->subject, e->message);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

static int parse_addresses(char **args, int n, vfd_pci_address *ret)
{
	int i;

	for (i = 0; i < n; i++)
		if (vfd_pci_address_parse(args[i], &ret[i]) < 0) {
			fprintf(stderr, "vfio-probe: not a PCI address: %s\n", args[i]);
			return -EINVAL;
		}
	return 0;
}

static void print_record(const vfd_bind_record *r)
{
	struct json_object *j = NULL;

	if (vfd_bind_record_to_json(r, &j) < 0) {
		fprintf(stderr, "vfio-probe: cannot format the record\n");
		return;
	}
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
}

static int claim(vfd_context *ctx, const char *bdf, vfd_bind_record **ret)
{
	vfd_op_error e = { 0 };
	vfd_pci_address a;
	int r;

	if (vfd_pci_address_parse(bdf, &a) < 0)
		return fail("parsing the address", -EINVAL, NULL);
	r = vfd_bind_claim(ctx, &a, 1, NULL, &e, ret);
	if (r < 0)
		return fail("claim", r, &e);
	printf("vfio-probe: ok claimed the group of %s\n", bdf);
	return 0;
}

static int release(vfd_context *ctx, vfd_bind_record *rec)
{
	vfd_op_error e = { 0 };
	int r;

	r = vfd_bind_release(ctx, rec, &e);
	if (r < 0)
		return fail("release", r, &e);
	printf("vfio-probe: ok released\n");
	return 0;
}

static int verb_claim(vfd_context *ctx, char **args, int n)
{
	_cleanup_(vfd_bind_record_freep) vfd_bind_record *rec = NULL;
	vfd_pci_address a[64];
	vfd_op_error e = { 0 };
	int r;

	if (n < 1 || n > 64 || parse_addresses(args, n, a) < 0)
		return EXIT_FAILURE;
	r = vfd_bind_claim(ctx, a, (size_t)n, NULL, &e, &rec);
	if (r < 0)
		return fail("claim", r, &e);
	print_record(rec);
	return 0;
}

static int verb_release(vfd_context *ctx, char **args, int n)
{
	_cleanup_(vfd_bind_record_freep) vfd_bind_record *rec = NULL;
	struct json_object *j;
	int r;

	if (n != 1)
		return EXIT_FAILURE;
	j = json_object_from_file(args[0]);
	if (!j)
		return fail("reading the record", -EINVAL, NULL);
	r = vfd_bind_record_from_json(j, &rec);
	json_object_put(j);
	if (r < 0)
		return fail("parsing the record", r, NULL);
	return release(ctx, rec);
}

static int verb_type1(vfd_context *ctx, char **args, int n)
{
	_cleanup_(vfd_bind_record_freep) vfd_bind_record *rec = NULL;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	vfd_type1 *t = NULL;
	int r, device_fd = -1, ret = EXIT_FAILURE;
	unsigned group;

	if (n != 1)
		return EXIT_FAILURE;
	if (claim(ctx, args[0], &rec))
		return EXIT_FAILURE;
	group = rec->members[0].group;

	r = vfd_type1_new(ctx, &t);
	if (r < 0) {
		fail("opening the container", r, NULL);
		goto out;
	}
	r = vfd_type1_add_group(t, group);
	if (r < 0) {
		fail("attaching the group", r, NULL);
		goto out;
	}
	/* adding it again is a no-op, not a second open (which the kernel refuses) */
	r = vfd_type1_add_group(t, group);
	if (r < 0) {
		fail("adding the group twice", r, NULL);
		goto out;
	}
	printf("vfio-probe: ok container %d with group %u (type1v2)\n",
	       vfd_type1_container_fd(t), group);

	r = vfd_type1_group_get_device_fd(vfd_type1_group_fd(t, group), args[0], &device_fd);
	if (r < 0) {
		fail("getting the device fd", r, NULL);
		goto out;
	}
	if (ioctl(device_fd, VFIO_DEVICE_GET_INFO, &info) < 0) {
		fail("VFIO_DEVICE_GET_INFO", -errno, NULL);
		goto out;
	}
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI)) {
		fail("device flags", -EPROTO, NULL);
		goto out;
	}
	printf("vfio-probe: ok device fd: %u regions, %u irqs\n", info.num_regions, info.num_irqs);

	/* sealed: from now on only the VMM may attach groups */
	vfd_type1_seal(t);
	r = vfd_type1_add_group(t, group + 100000);
	if (r != -EPERM) {
		fail("sealed container still attaches", r ? r : -EPROTO, NULL);
		goto out;
	}
	printf("vfio-probe: ok sealed container refuses new groups\n");
	ret = 0;
out:
	if (device_fd >= 0)
		close(device_fd);
	vfd_type1_free(t);
	if (release(ctx, rec) != 0)
		ret = EXIT_FAILURE;
	return ret;
}

static int verb_iommufd(vfd_context *ctx, char **args, int n)
{
	_cleanup_(vfd_bind_record_freep) vfd_bind_record *rec = NULL;
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int r, iommufd = -1, device_fd = -1, ret = EXIT_FAILURE;
	_cleanup_free_ char *cdev = NULL;
	bool per_process = false;

	if (n != 1)
		return EXIT_FAILURE;
	r = vfd_iommufd_available(ctx);
	if (r <= 0) {
		printf("vfio-probe: skip: no /dev/iommu\n");
		return EXIT_SKIP;
	}
	if (claim(ctx, args[0], &rec))
		return EXIT_FAILURE;

	r = vfd_iommufd_open(ctx, &iommufd);
	if (r < 0) {
		fail("opening /dev/iommu", r, NULL);
		goto out;
	}
	r = vfd_iommufd_get_rlimit_mode(iommufd, &per_process);
	if (r < 0 || !per_process) {
		fail("per-process accounting is not on", r < 0 ? r : -EPROTO, NULL);
		goto out;
	}
	printf("vfio-probe: ok iommufd with per-process accounting\n");

	r = vfd_vfio_cdev_path(ctx, "pci", args[0], &cdev);
	if (r < 0) {
		fail("finding the device cdev", r, NULL);
		goto out;
	}
	r = vfd_vfio_cdev_open(ctx, "pci", args[0], &device_fd);
	if (r < 0) {
		fail("opening the device cdev", r, NULL);
		goto out;
	}
	/* what QEMU does with -device vfio-pci,iommufd=ID,fd=M */
	bind.iommufd = iommufd;
	if (ioctl(device_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0) {
		fail("VFIO_DEVICE_BIND_IOMMUFD", -errno, NULL);
		goto out;
	}
	printf("vfio-probe: ok %s bound to the iommufd as device %u\n", cdev, bind.out_devid);

	/* once an object exists the mode is fixed: the kernel answers EBUSY */
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc) < 0) {
		fail("IOMMU_IOAS_ALLOC", -errno, NULL);
		goto out;
	}
	r = vfd_iommufd_set_rlimit_mode(iommufd, false);
	if (r != -EBUSY) {
		fail("rlimit mode still changeable with objects", r ? r : -EPROTO, NULL);
		goto out;
	}
	printf("vfio-probe: ok rlimit mode fixed once objects exist\n");
	ret = 0;
out:
	if (device_fd >= 0)
		close(device_fd);
	if (iommufd >= 0)
		close(iommufd);
	if (release(ctx, rec) != 0)
		ret = EXIT_FAILURE;
	return ret;
}

/* every member's driver, one string, for a before/after comparison */
static int group_drivers(vfd_context *ctx, unsigned group, char *buf, size_t size)
{
	_cleanup_(vfd_iommu_group_freep) vfd_iommu_group *g = NULL;
	size_t i, len = 0;
	int r;

	r = vfd_iommu_group_load(ctx, group, &g);
	if (r < 0)
		return r;
	buf[0] = '\0';
	for (i = 0; i < g->n_members && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s=%s ", g->members[i].name,
					g->members[i].driver ? g->members[i].driver : "-");
	return 0;
}

static int verb_fault(vfd_context *ctx, char **args, int n)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *d = NULL;
	vfd_bind_options opts = { 0 };
	vfd_bind_record *rec = NULL;
	char before[4096], after[4096];
	vfd_op_error e = { 0 };
	vfd_pci_address a;
	int r;

	if (n < 2 || n > 3 || vfd_pci_address_parse(args[1], &a) < 0)
		return EXIT_FAILURE;
	if (n == 3) {
		if (strcmp(args[2], "all") != 0)
			return EXIT_FAILURE;
		opts.unbind_host_members = true;
	}
	r = vfd_pci_device_load(ctx, &a, &d);
	if (r < 0 || d->iommu_group < 0)
		return fail("loading the device", r < 0 ? r : -ENXIO, NULL);
	r = group_drivers(ctx, (unsigned)d->iommu_group, before, sizeof(before));
	if (r < 0)
		return fail("reading the group", r, NULL);

	r = vfd_fault_arm_from_string(ctx, args[0]);
	if (r < 0)
		return fail("arming the fault", r, NULL);
	r = vfd_bind_claim(ctx, &a, 1, &opts, &e, &rec);
	if (r >= 0) {
		vfd_bind_release(ctx, rec, NULL);
		vfd_bind_record_free(rec);
		return fail("claim succeeded despite the fault", -EPROTO, NULL);
	}
	printf("vfio-probe: ok claim failed as injected: %s: %s\n", e.subject, e.message);

	r = group_drivers(ctx, (unsigned)d->iommu_group, after, sizeof(after));
	if (r < 0)
		return fail("reading the group", r, NULL);
	if (strcmp(before, after) != 0) {
		fprintf(stderr, "vfio-probe: FAIL drivers changed:\n  before: %s\n  after:  %s\n",
			before, after);
		return EXIT_FAILURE;
	}
	printf("vfio-probe: ok every member on its original driver: %s\n", after);
	return 0;
}

static int verb_mdev(vfd_context *ctx, char **args, int n)
{
	char uuid[VFD_UUID_STRLEN], path[128];
	vfd_op_error e = { 0 };
	int r;

	if (n != 2)
		return EXIT_FAILURE;
	r = vfd_mdev_create(ctx, args[0], args[1], NULL, NULL, 0, &e, uuid);
	if (r < 0)
		return fail("creating the mdev", r, &e);
	snprintf(path, sizeof(path), "sys/bus/mdev/devices/%s", uuid);
	if (vfd_root_exists(ctx, path) != 1)
		return fail("the mdev is not there", -ENODEV, NULL);
	printf("vfio-probe: ok created mdev %s\n", uuid);

	r = vfd_mdev_create(ctx, args[0], args[1], uuid, NULL, 0, &e, uuid);
	if (r != -EEXIST)
		return fail("a second create with the same UUID", r ? r : -EPROTO, &e);
	printf("vfio-probe: ok second create refused with EEXIST\n");

	vfd_op_error_clear(&e);
	r = vfd_mdev_remove(ctx, uuid, &e);
	if (r < 0)
		return fail("removing the mdev", r, &e);
	if (vfd_root_exists(ctx, path) != 0)
		return fail("the mdev is still there", -EEXIST, NULL);
	printf("vfio-probe: ok removed mdev %s\n", uuid);
	return 0;
}

/* the container's DMA_AVAIL capability (VFIO_IOMMU_GET_INFO): entries left; -ENOENT without it */
static int type1_dma_avail(int container, uint32_t *ret)
{
	struct vfio_iommu_type1_info *info;
	uint32_t argsz = sizeof(*info), off;
	int r = -ENOENT;

	info = calloc(1, argsz);
	if (!info)
		return -ENOMEM;
	info->argsz = argsz;
	/* first call: the kernel says how large the capability chain is */
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info) < 0 || info->argsz > 65536) {
		free(info);
		return -errno;
	}
	argsz = info->argsz;
	free(info);
	info = calloc(1, argsz);
	if (!info)
		return -ENOMEM;
	info->argsz = argsz;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info) < 0) {
		r = -errno;
		free(info);
		return r;
	}
	for (off = (info->flags & VFIO_IOMMU_INFO_CAPS) ? info->cap_offset : 0;
	     off >= sizeof(*info) && off + sizeof(struct vfio_info_cap_header) <= argsz;) {
		const struct vfio_info_cap_header *h = (const void *)((const char *)info + off);

		if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL &&
		    off + sizeof(struct vfio_iommu_type1_info_dma_avail) <= argsz) {
			*ret = ((const struct vfio_iommu_type1_info_dma_avail *)h)->avail;
			r = 0;
			break;
		}
		if (h->next <= off)
			break;
		off = h->next;
	}
	free(info);
	return r;
}

static int verb_type1_map_count(vfd_context *ctx, char **args, int n)
{
	_cleanup_(vfd_bind_record_freep) vfd_bind_record *rec = NULL;
	const uint64_t page = 4096, iova_base = 1ULL << 24;
	vfd_type1 *t = NULL;
	unsigned long want, mapped = 0;
	uint32_t avail = 0;
	uint8_t *mem = MAP_FAILED;
	int r, container, first_error = 0, ret = EXIT_FAILURE;
	char *end;

	if (n != 2)
		return EXIT_FAILURE;
	want = strtoul(args[1], &end, 10);
	if (*end || want == 0 || want > 1000000)
		return fail("the count", -EINVAL, NULL);
	if (claim(ctx, args[0], &rec))
		return EXIT_FAILURE;
	r = vfd_type1_new(ctx, &t);
	if (r >= 0)
		r = vfd_type1_add_group(t, rec->members[0].group);
	if (r < 0) {
		fail("the type1 container", r, NULL);
		goto out;
	}
	container = vfd_type1_container_fd(t);
	/* one page of memory serves every mapping: the kernel counts calls, not pages */
	mem = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fail("mmap", -errno, NULL);
		goto out;
	}
	mem[0] = 1;
	r = type1_dma_avail(container, &avail);
	if (r < 0)
		printf("vfio-probe: dma_avail unknown (%s)\n", strerror(-r));
	else
		printf("vfio-probe: dma_avail=%u before mapping\n", avail);

	for (; mapped < want; mapped++) {
		/* every other page: no two mappings are adjacent */
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)mem,
			.iova = iova_base + mapped * 2 * page,
			.size = page,
		};

		if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map) < 0) {
			first_error = errno;
			break;
		}
	}
	printf("vfio-probe: mapped=%lu of %lu, then %s\n", mapped, want,
	       first_error ? strerrorname_np(first_error) : "nothing failed");
	for (unsigned long i = 0; i < mapped; i++) {
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap),
			.iova = iova_base + i * 2 * page,
			.size = page,
		};

		if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) < 0) {
			fail("unmapping", -errno, NULL);
			goto out;
		}
	}
	r = type1_dma_avail(container, &avail);
	if (r >= 0)
		printf("vfio-probe: dma_avail=%u after unmapping\n", avail);
	ret = 0;
out:
	if (mem != MAP_FAILED)
		munmap(mem, page);
	vfd_type1_free(t);
	if (release(ctx, rec) != 0)
		ret = EXIT_FAILURE;
	return ret;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*func)(vfd_context *ctx, char **args, int n);
	} verbs[] = {
		{ "claim", verb_claim },   { "release", verb_release }, { "type1", verb_type1 },
		{ "iommufd", verb_iommufd }, { "fault", verb_fault },   { "mdev", verb_mdev },
		{ "type1-map-count", verb_type1_map_count },
	};
	_cleanup_(vfd_context_freep) vfd_context *ctx = NULL;
	size_t i;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: vfio-probe claim|release|type1|iommufd|fault|mdev|type1-map-count ARGS... (see the source)\n");
		return EXIT_FAILURE;
	}
	/* VFIOD_ROOT: a fixture tree instead of the real system, as in the unit tests */
	r = vfd_context_new(getenv("VFIOD_ROOT"), &ctx);
	if (r < 0)
		return fail("creating the context", r, NULL);

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].func(ctx, argv + 2, argc - 2);
	fprintf(stderr, "vfio-probe: unknown verb %s\n", argv[1]);
	return EXIT_FAILURE;
}
