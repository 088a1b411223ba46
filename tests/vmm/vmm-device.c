/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Access to a VFIO PCI device's regions through pread/pwrite on the device
 * descriptor: what a VMM does for trapped MMIO and config space. No mmap,
 * so it works for emulated mdev regions and vfio-pci BARs alike.
 */
#include <linux/pci_regs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vfiod/util.h"
#include "vfiod/vfio-uapi.h"
#include "vmm.h"

static int region_offset(int device, uint32_t index, uint64_t off, uint32_t len,
			 uint64_t *ret)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
		return negative_errno();
	if (off > info.size || len > info.size - off)
		return -ERANGE;
	*ret = info.offset + off;
	return 0;
}

static int device_rw(int device, uint32_t region, uint64_t off, void *buf,
		     uint32_t len, bool write)
{
	uint64_t pos;
	ssize_t n;
	int r;

	r = region_offset(device, region, off, len, &pos);
	if (r < 0)
		return r;
	if (write)
		n = pwrite(device, buf, len, (off_t)pos);
	else
		n = pread(device, buf, len, (off_t)pos);
	if (n < 0)
		return negative_errno();
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int vmm_device_read32(int device, uint32_t region, uint64_t off, uint32_t *ret)
{
	uint32_t v;
	int r;

	r = device_rw(device, region, off, &v, sizeof(v), false);
	if (r < 0)
		return r;
	*ret = v; /* x86: the region's little endian is ours */
	return 0;
}

int vmm_device_write32(int device, uint32_t region, uint64_t off, uint32_t val)
{
	return device_rw(device, region, off, &val, sizeof(val), true);
}

int vmm_device_enable(int device)
{
	uint16_t cmd;
	int r;

	r = device_rw(device, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd,
		      sizeof(cmd), false);
	if (r < 0)
		return r;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	return device_rw(device, VFIO_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd,
			 sizeof(cmd), true);
}
