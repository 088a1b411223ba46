/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QEMU's "edu" teaching device as a DMA engine (docs/specs/edu.rst in
 * QEMU): BAR0 registers program one transfer between an IOVA and a 4 KiB
 * buffer inside the device. Through the guest's vIOMMU this is real,
 * translated device DMA: it reaches memory only where the VMM mapped it.
 *
 * QEMU 7.2 aborts the whole VM on a transfer of exactly 4096 bytes and the
 * device masks addresses to 28 bits, so transfers stay below 4096 bytes
 * and IOVAs below 256 MiB.
 */
#include <time.h>

#include "vfiod/util.h"
#include "vfiod/vfio-uapi.h"
#include "vmm.h"

#define EDU_REG_ID       0x00
#define EDU_REG_LIVENESS 0x04
#define EDU_REG_DMA_SRC  0x80
#define EDU_REG_DMA_DST  0x88
#define EDU_REG_DMA_CNT  0x90
#define EDU_REG_DMA_CMD  0x98

#define EDU_DMA_RUN      0x1
#define EDU_DMA_TO_RAM   0x2

#define EDU_IOVA_LIMIT   (UINT64_C(1) << 28)
#define EDU_DMA_TIMEOUT_NS (UINT64_C(10) * 1000 * 1000 * 1000)

static int bar_read(int device, uint64_t reg, uint32_t *ret)
{
	return vmm_device_read32(device, VFIO_PCI_BAR0_REGION_INDEX, reg, ret);
}

static int bar_write(int device, uint64_t reg, uint32_t val)
{
	return vmm_device_write32(device, VFIO_PCI_BAR0_REGION_INDEX, reg, val);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int vmm_edu_check(int device)
{
	const uint32_t probe = 0x5a5a1234;
	uint32_t id, inverted;
	int r;

	r = bar_read(device, EDU_REG_ID, &id);
	if (r < 0)
		return r;
	/* 0xRRrr00ed: major, minor, then the fixed 0x00ed */
	if ((id & 0xffff) != 0x00ed)
		return -ENODEV;

	/* The liveness register answers with the complement of a write. */
	r = bar_write(device, EDU_REG_LIVENESS, probe);
	if (r < 0)
		return r;
	r = bar_read(device, EDU_REG_LIVENESS, &inverted);
	if (r < 0)
		return r;
	return inverted == ~probe ? 0 : -EIO;
}

int vmm_edu_dma(int device, uint64_t iova, uint32_t count, bool to_ram)
{
	uint64_t deadline;
	uint32_t cmd;
	int r;

	if (count == 0 || count >= VMM_EDU_BUFFER_SIZE)
		return -EINVAL;
	if (iova >= EDU_IOVA_LIMIT || count > EDU_IOVA_LIMIT - iova)
		return -ERANGE;

	/* 32-bit writes set the whole 64-bit register: addresses fit. */
	r = bar_write(device, EDU_REG_DMA_SRC, to_ram ? VMM_EDU_BUFFER : (uint32_t)iova);
	if (r < 0)
		return r;
	r = bar_write(device, EDU_REG_DMA_DST, to_ram ? (uint32_t)iova : VMM_EDU_BUFFER);
	if (r < 0)
		return r;
	r = bar_write(device, EDU_REG_DMA_CNT, count);
	if (r < 0)
		return r;
	r = bar_write(device, EDU_REG_DMA_CMD, EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0));
	if (r < 0)
		return r;

	/*
	 * The device completes on a timer and offers no event we could wait
	 * for without interrupts wired up: poll the run bit, bounded.
	 */
	deadline = now_ns() + EDU_DMA_TIMEOUT_NS;
	for (;;) {
		r = bar_read(device, EDU_REG_DMA_CMD, &cmd);
		if (r < 0)
			return r;
		if (!(cmd & EDU_DMA_RUN))
			return 0;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		nanosleep(&(struct timespec) { .tv_nsec = 1000 * 1000 }, NULL);
	}
}
