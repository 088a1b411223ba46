// SPDX-License-Identifier: GPL-2.0
/*
 * vfiod_test_vgpu - a mediated "vGPU" that pins guest memory on request
 *
 * A real vGPU reaches guest memory through its parent driver: the guest
 * driver hands it an IOVA, the mdev driver calls vfio_pin_pages() and the
 * pages stay pinned, and charged to the VMM, until the driver lets go or
 * the VMM unmaps the IOVA. The kernel's mdev samples (mtty, mbochs, mdpy)
 * never pin anything, so they cannot show that accounting. This test-only
 * driver pins on demand so that vfiod's nested-VM tests can.
 *
 * Every instance has a tiny PCI personality (config space plus a 4 KiB
 * register BAR) so that VMMs open it like any vfio-pci device, through a
 * type1 container or an iommufd device cdev, and a sysfs directory that a
 * privileged test drives:
 *
 *   <mdev>/vgpu/pin     (wo) "IOVA NPAGES": pin NPAGES pages from IOVA
 *   <mdev>/vgpu/unpin   (wo) "IOVA NPAGES" as pinned before, or "all"
 *   <mdev>/vgpu/pinned  (ro) number of pages pinned now
 *   <mdev>/vgpu/pins    (ro) one line per pin: IOVA NPAGES FIRST_QWORD
 *                            (as many as fit in a page)
 *
 * FIRST_QWORD is the first 8 bytes of the first pinned page as read by the
 * kernel at pin time: it proves the pin resolved the VMM's memory and not
 * the address space of whoever wrote to the sysfs file.
 *
 * Pins go away when the IOVA range is unmapped (.dma_unmap, which type1
 * and iommufd both require from a pinning driver), when the device is
 * closed, and on request.
 *
 * Locking. type1 calls .dma_unmap with its device_list_lock held, and its
 * device-open path takes that lock inside iommu->lock, which
 * vfio_pin_pages() takes too. A lock held across vfio_pin_pages() that
 * .dma_unmap also takes closes a cycle (lockdep reports it), so there are
 * two:
 *   request_lock  serialises pin and unpin requests and close_device, and
 *                 is held across vfio_pin_pages()/vfio_unpin_pages();
 *                 .dma_unmap never takes it;
 *   lock          protects the pin list, the counters, "open" and the
 *                 emulated registers; never held across a call into VFIO
 *                 or while touching user memory.
 * Whoever unlinks a pin from the list under "lock" owns it and unpins it.
 * A pin request publishes its pin only once vfio_pin_pages() returned;
 * should the VMM unmap that very range meanwhile, both backends notify
 * again while pages stay pinned, and the next .dma_unmap finds the pin
 * (type1 gives up with BUG() after 10 rounds, iommufd with a WARN after
 * 100: a test must not race a pin against the unmap of the same range).
 *
 * Known upstream cycle (6.12): type1 calls .dma_unmap holding its
 * device_list_lock, and the mandatory vfio_unpin_pages() then takes
 * iommu->lock, while opening a device of the container nests the two the
 * other way round. Lockdep reports it for every pinning driver on the
 * first unpin from .dma_unmap; it is not this driver's to fix.
 */

#include <linux/device.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/pci_ids.h>
#include <linux/pci_regs.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/unaligned.h>
#include <linux/vfio.h>

#define VGPU_NAME		"vfiod_vgpu"
#define VGPU_MAX_INSTANCES	4

/* Highest IOVA, the end of every "everything" range. */
#define VGPU_IOVA_MAX		((dma_addr_t)~(dma_addr_t)0)

/* Bounds a single request: 1 GiB of 4 KiB pages. */
#define VGPU_PIN_MAX_PAGES	(1UL << 18)

/* Region index in the upper bits of the file offset, as vfio-pci does. */
#define VGPU_REGION_SHIFT	40
#define VGPU_REGION_OFFSET(i)	((u64)(i) << VGPU_REGION_SHIFT)
#define VGPU_OFFSET_TO_REGION(off)	((off) >> VGPU_REGION_SHIFT)
#define VGPU_OFFSET_MASK	(VGPU_REGION_OFFSET(1) - 1)

#define VGPU_CONFIG_SIZE	PCI_CFG_SPACE_SIZE
#define VGPU_BAR0_SIZE		4096

/* Test-only PCI identity: no guest driver ever binds to it. */
#define VGPU_VENDOR_ID		0x1b36	/* Red Hat, Inc. (QEMU devices) */
#define VGPU_DEVICE_ID		0x7f0d

/* "0x<iova> <npage> 0x<16 digits>\n" of the pins attribute, at most */
#define VGPU_PINS_LINE_MAX	64

/* BAR0 registers, 32 bit, read only. */
#define VGPU_REG_MAGIC		0x00
#define VGPU_REG_PINNED		0x04
#define VGPU_MAGIC		0x75706776	/* "vgpu" little endian */

struct vgpu_pin {
	struct list_head node;
	dma_addr_t iova;
	unsigned long npage;
	u64 first_qword;
};

struct vgpu_state {
	struct vfio_device vdev;
	struct mutex request_lock;	/* see "Locking" on top */
	struct mutex lock;
	bool open;
	struct list_head pins;		/* struct vgpu_pin, by request */
	unsigned long npinned;		/* pages over all pins */
	u8 config[VGPU_CONFIG_SIZE];
	u8 config_wmask[VGPU_CONFIG_SIZE];
};

static const struct vfio_device_ops vgpu_dev_ops;

static struct vgpu_state *vdev_to_vgpu(struct vfio_device *vdev)
{
	return container_of(vdev, struct vgpu_state, vdev);
}

/* ---- pins ---- */

static dma_addr_t vgpu_pin_last(const struct vgpu_pin *pin)
{
	return pin->iova + pin->npage * PAGE_SIZE - 1;
}

static bool vgpu_pin_overlaps(const struct vgpu_pin *pin, dma_addr_t first,
			      dma_addr_t last)
{
	return pin->iova <= last && vgpu_pin_last(pin) >= first;
}

/*
 * vfio_pin_pages() takes at most VFIO_PIN_PAGES_MAX_ENTRIES pages, and
 * iommufd wants every unpin to match a pin exactly, so one request is
 * pinned and unpinned in the same fixed chunks.
 */
static int vgpu_chunk_pages(unsigned long npage, unsigned long done)
{
	return min_t(unsigned long, npage - done, VFIO_PIN_PAGES_MAX_ENTRIES);
}

static void vgpu_unpin_chunks(struct vgpu_state *vgpu, dma_addr_t iova,
			      unsigned long npage)
{
	unsigned long done = 0;

	while (done < npage) {
		int chunk = vgpu_chunk_pages(npage, done);

		vfio_unpin_pages(&vgpu->vdev, iova + done * PAGE_SIZE, chunk);
		done += chunk;
	}
}

/* Unlinks the pins overlapping [first, last] into @out; caller owns them. */
static void vgpu_take_range(struct vgpu_state *vgpu, dma_addr_t first,
			    dma_addr_t last, struct list_head *out)
{
	struct vgpu_pin *pin, *tmp;

	lockdep_assert_held(&vgpu->lock);

	list_for_each_entry_safe(pin, tmp, &vgpu->pins, node) {
		if (vgpu_pin_overlaps(pin, first, last)) {
			vgpu->npinned -= pin->npage;
			list_move_tail(&pin->node, out);
		}
	}
}

static void vgpu_release_pins(struct vgpu_state *vgpu, struct list_head *pins)
{
	struct vgpu_pin *pin, *tmp;

	lockdep_assert_not_held(&vgpu->lock);

	list_for_each_entry_safe(pin, tmp, pins, node) {
		vgpu_unpin_chunks(vgpu, pin->iova, pin->npage);
		list_del(&pin->node);
		kfree(pin);
	}
}

static u64 vgpu_peek_qword(struct page *page)
{
	void *va = kmap_local_page(page);
	u64 val;

	memcpy(&val, va, sizeof(val));
	kunmap_local(va);
	return val;
}

/* Validates a request against the current pins; called under "lock". */
static int vgpu_pin_check(struct vgpu_state *vgpu, dma_addr_t iova,
			  dma_addr_t last)
{
	struct vgpu_pin *other;

	lockdep_assert_held(&vgpu->lock);

	if (!vgpu->open)
		return -ENODEV;
	/* Overlapping pins would make "pinned" count pages twice. */
	list_for_each_entry(other, &vgpu->pins, node)
		if (vgpu_pin_overlaps(other, iova, last))
			return -EEXIST;
	return 0;
}

static int vgpu_pin(struct vgpu_state *vgpu, dma_addr_t iova,
		    unsigned long npage)
{
	struct vgpu_pin *pin;
	struct page **pages;
	unsigned long done = 0;
	dma_addr_t last;
	int ret;

	lockdep_assert_held(&vgpu->request_lock);

	if (!npage || npage > VGPU_PIN_MAX_PAGES || !PAGE_ALIGNED(iova))
		return -EINVAL;
	if (check_add_overflow(iova, (dma_addr_t)(npage * PAGE_SIZE - 1),
			       &last))
		return -EOVERFLOW;

	/* request_lock keeps both true until the pin is published. */
	mutex_lock(&vgpu->lock);
	ret = vgpu_pin_check(vgpu, iova, last);
	mutex_unlock(&vgpu->lock);
	if (ret)
		return ret;

	pin = kzalloc(sizeof(*pin), GFP_KERNEL);
	if (!pin)
		return -ENOMEM;
	pages = kmalloc_array(VFIO_PIN_PAGES_MAX_ENTRIES, sizeof(*pages),
			      GFP_KERNEL);
	if (!pages) {
		ret = -ENOMEM;
		goto err_free_pin;
	}

	while (done < npage) {
		int chunk = vgpu_chunk_pages(npage, done);

		ret = vfio_pin_pages(&vgpu->vdev, iova + done * PAGE_SIZE,
				     chunk, IOMMU_READ | IOMMU_WRITE, pages);
		if (ret < 0)
			goto err_unpin;
		/* Both backends pin all or nothing. */
		if (WARN_ON(ret != chunk)) {
			if (ret > 0)
				vfio_unpin_pages(&vgpu->vdev,
						 iova + done * PAGE_SIZE, ret);
			ret = -EFAULT;
			goto err_unpin;
		}
		if (!done)
			pin->first_qword = vgpu_peek_qword(pages[0]);
		done += chunk;
	}
	kfree(pages);

	pin->iova = iova;
	pin->npage = npage;
	mutex_lock(&vgpu->lock);
	list_add_tail(&pin->node, &vgpu->pins);
	vgpu->npinned += npage;
	mutex_unlock(&vgpu->lock);
	return 0;

err_unpin:
	vgpu_unpin_chunks(vgpu, iova, done);
	kfree(pages);
err_free_pin:
	kfree(pin);
	return ret;
}

static int vgpu_unpin(struct vgpu_state *vgpu, dma_addr_t iova,
		      unsigned long npage)
{
	struct vgpu_pin *pin;
	LIST_HEAD(victims);

	lockdep_assert_held(&vgpu->request_lock);

	mutex_lock(&vgpu->lock);
	list_for_each_entry(pin, &vgpu->pins, node) {
		if (pin->iova == iova && pin->npage == npage) {
			vgpu->npinned -= pin->npage;
			list_move_tail(&pin->node, &victims);
			break;
		}
	}
	mutex_unlock(&vgpu->lock);

	if (list_empty(&victims))
		return -ENOENT;
	vgpu_release_pins(vgpu, &victims);
	return 0;
}

static void vgpu_unpin_all(struct vgpu_state *vgpu)
{
	LIST_HEAD(victims);

	lockdep_assert_held(&vgpu->request_lock);

	mutex_lock(&vgpu->lock);
	vgpu_take_range(vgpu, 0, VGPU_IOVA_MAX, &victims);
	mutex_unlock(&vgpu->lock);
	vgpu_release_pins(vgpu, &victims);
}

/* ---- emulated PCI device ---- */

static void vgpu_cfg_set16(struct vgpu_state *vgpu, unsigned int off, u16 v)
{
	put_unaligned_le16(v, &vgpu->config[off]);
}

static void vgpu_cfg_set32(struct vgpu_state *vgpu, unsigned int off, u32 v)
{
	put_unaligned_le32(v, &vgpu->config[off]);
}

/*
 * Config space is a byte array with a write mask, as QEMU models it:
 * writes only change the bits the mask allows, which also gives BAR sizing
 * (write all ones, read back the size mask) for free.
 */
static void vgpu_init_config(struct vgpu_state *vgpu)
{
	u16 cmd_wmask = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			PCI_COMMAND_INTX_DISABLE;

	memset(vgpu->config, 0, sizeof(vgpu->config));
	memset(vgpu->config_wmask, 0, sizeof(vgpu->config_wmask));

	vgpu_cfg_set16(vgpu, PCI_VENDOR_ID, VGPU_VENDOR_ID);
	vgpu_cfg_set16(vgpu, PCI_DEVICE_ID, VGPU_DEVICE_ID);
	vgpu->config[PCI_REVISION_ID] = 0x01;
	vgpu_cfg_set16(vgpu, PCI_CLASS_DEVICE, PCI_CLASS_DISPLAY_3D);
	vgpu->config[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	vgpu_cfg_set16(vgpu, PCI_SUBSYSTEM_VENDOR_ID, VGPU_VENDOR_ID);
	vgpu_cfg_set16(vgpu, PCI_SUBSYSTEM_ID, VGPU_DEVICE_ID);
	vgpu_cfg_set32(vgpu, PCI_BASE_ADDRESS_0,
		       PCI_BASE_ADDRESS_SPACE_MEMORY |
		       PCI_BASE_ADDRESS_MEM_TYPE_32);

	put_unaligned_le16(cmd_wmask, &vgpu->config_wmask[PCI_COMMAND]);
	put_unaligned_le32(~(u32)(VGPU_BAR0_SIZE - 1) &
			   PCI_BASE_ADDRESS_MEM_MASK,
			   &vgpu->config_wmask[PCI_BASE_ADDRESS_0]);
	vgpu->config_wmask[PCI_INTERRUPT_LINE] = 0xff;
}

static void vgpu_config_access(struct vgpu_state *vgpu, unsigned int off,
			       u8 *buf, unsigned int len, bool is_write)
{
	unsigned int i;

	if (!is_write) {
		memcpy(buf, &vgpu->config[off], len);
		return;
	}
	for (i = 0; i < len; i++) {
		u8 wmask = vgpu->config_wmask[off + i];

		vgpu->config[off + i] = (vgpu->config[off + i] & ~wmask) |
					(buf[i] & wmask);
	}
}

static void vgpu_bar0_access(struct vgpu_state *vgpu, unsigned int off,
			     u8 *buf, unsigned int len, bool is_write)
{
	u32 val;

	/* Read-only registers: writes are dropped, like a real device. */
	if (is_write)
		return;

	switch (ALIGN_DOWN(off, 4)) {
	case VGPU_REG_MAGIC:
		val = VGPU_MAGIC;
		break;
	case VGPU_REG_PINNED:
		val = min_t(unsigned long, vgpu->npinned, U32_MAX);
		break;
	default:
		val = 0;
		break;
	}
	memcpy(buf, (u8 *)&val + (off & 3), len);
}

/* One naturally aligned access of 1, 2 or 4 bytes within one register. */
static int vgpu_access(struct vgpu_state *vgpu, u64 pos, u8 *buf,
		       unsigned int len, bool is_write)
{
	unsigned int index = VGPU_OFFSET_TO_REGION(pos);
	u64 off = pos & VGPU_OFFSET_MASK;

	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		if (off + len > VGPU_CONFIG_SIZE)
			return -EINVAL;
		vgpu_config_access(vgpu, off, buf, len, is_write);
		return 0;
	case VFIO_PCI_BAR0_REGION_INDEX:
		if (off + len > VGPU_BAR0_SIZE)
			return -EINVAL;
		vgpu_bar0_access(vgpu, off, buf, len, is_write);
		return 0;
	default:
		return -EINVAL;
	}
}

static unsigned int vgpu_access_len(u64 pos, size_t count)
{
	if (count >= 4 && IS_ALIGNED(pos, 4))
		return 4;
	if (count >= 2 && IS_ALIGNED(pos, 2))
		return 2;
	return 1;
}

static ssize_t vgpu_rw(struct vfio_device *vdev, char __user *ubuf,
		       size_t count, loff_t *ppos, bool is_write)
{
	struct vgpu_state *vgpu = vdev_to_vgpu(vdev);
	size_t done = 0;
	int ret = 0;

	if (*ppos < 0)
		return -EINVAL;

	/* User memory is touched outside "lock": a fault may sleep long. */
	while (done < count) {
		u64 pos = *ppos + done;
		unsigned int len = vgpu_access_len(pos, count - done);
		u8 val[4];

		if (is_write && copy_from_user(val, ubuf + done, len)) {
			ret = -EFAULT;
			break;
		}
		mutex_lock(&vgpu->lock);
		ret = vgpu_access(vgpu, pos, val, len, is_write);
		mutex_unlock(&vgpu->lock);
		if (ret)
			break;
		if (!is_write && copy_to_user(ubuf + done, val, len)) {
			ret = -EFAULT;
			break;
		}
		done += len;
	}

	if (!done)
		return ret;
	*ppos += done;
	return done;
}

static ssize_t vgpu_read(struct vfio_device *vdev, char __user *buf,
			 size_t count, loff_t *ppos)
{
	return vgpu_rw(vdev, buf, count, ppos, false);
}

static ssize_t vgpu_write(struct vfio_device *vdev, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	return vgpu_rw(vdev, (char __user *)buf, count, ppos, true);
}

static void vgpu_region_info(struct vfio_region_info *info)
{
	info->offset = VGPU_REGION_OFFSET(info->index);
	info->cap_offset = 0;

	switch (info->index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info->size = VGPU_CONFIG_SIZE;
		info->flags = VFIO_REGION_INFO_FLAG_READ |
			      VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		info->size = VGPU_BAR0_SIZE;
		info->flags = VFIO_REGION_INFO_FLAG_READ |
			      VFIO_REGION_INFO_FLAG_WRITE;
		break;
	default:
		info->size = 0;
		info->flags = 0;
		break;
	}
}

static long vgpu_ioctl(struct vfio_device *vdev, unsigned int cmd,
		       unsigned long arg)
{
	struct vgpu_state *vgpu = vdev_to_vgpu(vdev);
	void __user *uarg = (void __user *)arg;
	unsigned long minsz;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info info;

		minsz = offsetofend(struct vfio_device_info, num_irqs);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
		info.num_regions = VFIO_PCI_NUM_REGIONS;
		info.num_irqs = VFIO_PCI_NUM_IRQS;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: {
		struct vfio_region_info info;

		minsz = offsetofend(struct vfio_region_info, offset);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz)
			return -EINVAL;
		if (info.index >= VFIO_PCI_NUM_REGIONS)
			return -EINVAL;
		vgpu_region_info(&info);
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info info;

		minsz = offsetofend(struct vfio_irq_info, count);
		if (copy_from_user(&info, uarg, minsz))
			return -EFAULT;
		if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
			return -EINVAL;
		/* No interrupts: a pinning test needs none. */
		info.flags = 0;
		info.count = 0;
		return copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_SET_IRQS:
		return -EINVAL;
	case VFIO_DEVICE_RESET:
		/* Resets the PCI personality; pins belong to the VMM's mappings. */
		mutex_lock(&vgpu->lock);
		vgpu_init_config(vgpu);
		mutex_unlock(&vgpu->lock);
		return 0;
	}
	return -ENOTTY;
}

/* ---- vfio_device life cycle ---- */

static int vgpu_open_device(struct vfio_device *vdev)
{
	struct vgpu_state *vgpu = vdev_to_vgpu(vdev);

	mutex_lock(&vgpu->lock);
	vgpu_init_config(vgpu);
	vgpu->open = true;
	mutex_unlock(&vgpu->lock);
	return 0;
}

static void vgpu_close_device(struct vfio_device *vdev)
{
	struct vgpu_state *vgpu = vdev_to_vgpu(vdev);

	/* Waits for a pin request in flight; no new one starts after this. */
	mutex_lock(&vgpu->request_lock);
	mutex_lock(&vgpu->lock);
	vgpu->open = false;
	mutex_unlock(&vgpu->lock);
	/* The container or IOAS is still attached here: unpin works. */
	vgpu_unpin_all(vgpu);
	mutex_unlock(&vgpu->request_lock);
}

static void vgpu_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
	struct vgpu_state *vgpu = vdev_to_vgpu(vdev);
	LIST_HEAD(victims);
	dma_addr_t last;

	if (!length)
		return;
	/* iommufd passes (0, ULONG_MAX) on detach: saturate, never wrap. */
	if (check_add_overflow(iova, length - 1, &last))
		last = VGPU_IOVA_MAX;

	mutex_lock(&vgpu->lock);
	vgpu_take_range(vgpu, iova, last, &victims);
	mutex_unlock(&vgpu->lock);
	vgpu_release_pins(vgpu, &victims);
}

static int vgpu_init_dev(struct vfio_device *vdev)
{
	struct vgpu_state *vgpu = vdev_to_vgpu(vdev);

	mutex_init(&vgpu->request_lock);
	mutex_init(&vgpu->lock);
	INIT_LIST_HEAD(&vgpu->pins);
	vgpu_init_config(vgpu);
	return 0;
}

static void vgpu_release_dev(struct vfio_device *vdev)
{
	struct vgpu_state *vgpu = vdev_to_vgpu(vdev);

	WARN_ON(!list_empty(&vgpu->pins));
	mutex_destroy(&vgpu->lock);
	mutex_destroy(&vgpu->request_lock);
}

static const struct vfio_device_ops vgpu_dev_ops = {
	.name		= "vfio-" VGPU_NAME,
	.init		= vgpu_init_dev,
	.release	= vgpu_release_dev,
	.open_device	= vgpu_open_device,
	.close_device	= vgpu_close_device,
	.read		= vgpu_read,
	.write		= vgpu_write,
	.ioctl		= vgpu_ioctl,
	.dma_unmap	= vgpu_dma_unmap,
	.bind_iommufd	= vfio_iommufd_emulated_bind,
	.unbind_iommufd	= vfio_iommufd_emulated_unbind,
	.attach_ioas	= vfio_iommufd_emulated_attach_ioas,
	.detach_ioas	= vfio_iommufd_emulated_detach_ioas,
};

/* ---- sysfs: <mdev>/vgpu/ ---- */

/* "IOVA NPAGES", both in C notation (0x... for hex), one trailing newline */
static int vgpu_parse_range(const char *buf, dma_addr_t *ret_iova,
			    unsigned long *ret_npage)
{
	unsigned long long iova;
	unsigned long npage;
	char *copy, *cur, *tok;
	int ret = -EINVAL;

	copy = kstrdup(buf, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	cur = strim(copy);

	tok = strsep(&cur, " ");
	if (!tok || !cur || kstrtoull(tok, 0, &iova))
		goto out;
	if (kstrtoul(cur, 0, &npage))
		goto out;
	if (iova > VGPU_IOVA_MAX)
		goto out;

	*ret_iova = iova;
	*ret_npage = npage;
	ret = 0;
out:
	kfree(copy);
	return ret;
}

static ssize_t pin_store(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count)
{
	struct vgpu_state *vgpu = dev_get_drvdata(dev);
	unsigned long npage;
	dma_addr_t iova;
	int ret;

	ret = vgpu_parse_range(buf, &iova, &npage);
	if (ret)
		return ret;

	mutex_lock(&vgpu->request_lock);
	ret = vgpu_pin(vgpu, iova, npage);
	mutex_unlock(&vgpu->request_lock);
	return ret ? ret : count;
}
static DEVICE_ATTR_WO(pin);

static ssize_t unpin_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct vgpu_state *vgpu = dev_get_drvdata(dev);
	unsigned long npage;
	dma_addr_t iova;
	int ret;

	if (sysfs_streq(buf, "all")) {
		mutex_lock(&vgpu->request_lock);
		vgpu_unpin_all(vgpu);
		mutex_unlock(&vgpu->request_lock);
		return count;
	}

	ret = vgpu_parse_range(buf, &iova, &npage);
	if (ret)
		return ret;

	mutex_lock(&vgpu->request_lock);
	ret = vgpu_unpin(vgpu, iova, npage);
	mutex_unlock(&vgpu->request_lock);
	return ret ? ret : count;
}
static DEVICE_ATTR_WO(unpin);

static ssize_t pinned_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct vgpu_state *vgpu = dev_get_drvdata(dev);
	unsigned long npinned;

	mutex_lock(&vgpu->lock);
	npinned = vgpu->npinned;
	mutex_unlock(&vgpu->lock);
	return sysfs_emit(buf, "%lu\n", npinned);
}
static DEVICE_ATTR_RO(pinned);

static ssize_t pins_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	struct vgpu_state *vgpu = dev_get_drvdata(dev);
	struct vgpu_pin *pin;
	int len = 0;

	mutex_lock(&vgpu->lock);
	list_for_each_entry(pin, &vgpu->pins, node) {
		/* Whole lines only: a test never needs more than a page. */
		if (len > PAGE_SIZE - VGPU_PINS_LINE_MAX)
			break;
		len += sysfs_emit_at(buf, len, "0x%llx %lu 0x%016llx\n",
				     (unsigned long long)pin->iova, pin->npage,
				     pin->first_qword);
	}
	mutex_unlock(&vgpu->lock);
	return len;
}
static DEVICE_ATTR_RO(pins);

static struct attribute *vgpu_attrs[] = {
	&dev_attr_pin.attr,
	&dev_attr_unpin.attr,
	&dev_attr_pinned.attr,
	&dev_attr_pins.attr,
	NULL,
};

static const struct attribute_group vgpu_attr_group = {
	.name	= "vgpu",
	.attrs	= vgpu_attrs,
};

static const struct attribute_group *vgpu_attr_groups[] = {
	&vgpu_attr_group,
	NULL,
};

/* ---- mdev parent, type and driver ---- */

static int vgpu_probe(struct mdev_device *mdev)
{
	struct vgpu_state *vgpu;
	int ret;

	vgpu = vfio_alloc_device(vgpu_state, vdev, &mdev->dev, &vgpu_dev_ops);
	if (IS_ERR(vgpu))
		return PTR_ERR(vgpu);

	ret = vfio_register_emulated_iommu_dev(&vgpu->vdev);
	if (ret)
		goto err_put_vdev;
	/* The sysfs group appears only after probe returns: drvdata is set. */
	dev_set_drvdata(&mdev->dev, vgpu);
	return 0;

err_put_vdev:
	vfio_put_device(&vgpu->vdev);
	return ret;
}

static void vgpu_remove(struct mdev_device *mdev)
{
	struct vgpu_state *vgpu = dev_get_drvdata(&mdev->dev);

	/* Waits until every user closed the device, which unpinned it all. */
	vfio_unregister_group_dev(&vgpu->vdev);
	vfio_put_device(&vgpu->vdev);
}

static ssize_t vgpu_show_description(struct mdev_type *mtype, char *buf)
{
	return sysfs_emit(buf, "vfiod test vGPU: pins guest pages on request\n");
}

static struct mdev_type vgpu_type = {
	.sysfs_name	= "1",
	.pretty_name	= "vfiod test vGPU",
};

static struct mdev_type *vgpu_types[] = {
	&vgpu_type,
};

static struct mdev_driver vgpu_driver = {
	.device_api	= VFIO_DEVICE_API_PCI_STRING,
	.max_instances	= VGPU_MAX_INSTANCES,
	.driver = {
		.name		= VGPU_NAME,
		.owner		= THIS_MODULE,
		.mod_name	= KBUILD_MODNAME,
		.dev_groups	= vgpu_attr_groups,
	},
	.probe		= vgpu_probe,
	.remove		= vgpu_remove,
	.show_description = vgpu_show_description,
};

static const struct class vgpu_class = {
	.name = VGPU_NAME,
};

static struct mdev_parent vgpu_parent;

static void vgpu_parent_release(struct device *dev)
{
	/* static object: nothing to free */
}

static struct device vgpu_parent_dev = {
	.class		= &vgpu_class,
	.release	= vgpu_parent_release,
};

static int __init vgpu_init(void)
{
	int ret;

	ret = mdev_register_driver(&vgpu_driver);
	if (ret)
		return ret;

	ret = class_register(&vgpu_class);
	if (ret)
		goto err_driver;

	dev_set_name(&vgpu_parent_dev, "%s", VGPU_NAME);
	ret = device_register(&vgpu_parent_dev);
	if (ret)
		goto err_put_dev;

	ret = mdev_register_parent(&vgpu_parent, &vgpu_parent_dev, &vgpu_driver,
				   vgpu_types, ARRAY_SIZE(vgpu_types));
	if (ret)
		goto err_unregister_dev;
	return 0;

err_unregister_dev:
	device_unregister(&vgpu_parent_dev);
	goto err_class;
err_put_dev:
	put_device(&vgpu_parent_dev);
err_class:
	class_unregister(&vgpu_class);
err_driver:
	mdev_unregister_driver(&vgpu_driver);
	return ret;
}

static void __exit vgpu_exit(void)
{
	mdev_unregister_parent(&vgpu_parent);
	device_unregister(&vgpu_parent_dev);
	class_unregister(&vgpu_class);
	mdev_unregister_driver(&vgpu_driver);
}

module_init(vgpu_init);
module_exit(vgpu_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vfiod test vGPU: a mediated device that pins guest pages on request");
