/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest memory: one block, anonymous or memfd-backed (QEMU's
 * memory-backend-ram vs memory-backend-memfd). Both must be pinnable and
 * accounted the same way; the tests run either.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vmm.h"

int vmm_memory_alloc(size_t size, bool use_memfd, vmm_memory *ret)
{
	_cleanup_close_ int fd = -1;
	void *p;

	if (size == 0 || size % (size_t)sysconf(_SC_PAGESIZE))
		return -EINVAL;

	if (use_memfd) {
		fd = memfd_create("vfd-vmm-guest", MFD_CLOEXEC);
		if (fd < 0)
			return negative_errno();
		if (ftruncate(fd, (off_t)size) < 0)
			return negative_errno();
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	} else {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (p == MAP_FAILED)
		return negative_errno();

	ret->base = p;
	ret->size = size;
	ret->memfd = TAKE_FD(fd);
	return 0;
}

void vmm_memory_free(vmm_memory *m)
{
	if (m->base)
		munmap(m->base, m->size);
	if (m->memfd >= 0)
		close(m->memfd);
	m->base = NULL;
	m->size = 0;
	m->memfd = -1;
}
