/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfd-vmm: the reference VMM of vfiod's nested-VM tests.
 *
 * It does what a VMM such as QEMU does with an assigned device, and nothing
 * else: it runs unprivileged, owns guest memory, maps it for DMA through a
 * type1 container or an iommufd IOAS, and drives the device. The tests read
 * the kernel's accounting (VmLck, VmPin) from it.
 *
 * All functions return 0 or a negative errno; ret_* outputs come last and
 * are left untouched on failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

/*
 * ---- where VFIO file descriptors come from (vmm-source.c) ----
 *
 * The only place that touches /dev and /sys. Today it opens the nodes
 * itself, as root, before the VMM drops its privileges; later vfiod hands
 * the same descriptors over D-Bus and only this file changes.
 * device: a canonical PCI address ("0000:01:00.0") or an mdev UUID.
 */
int vmm_source_open_type1(const char *device, int *ret_container, int *ret_group);
int vmm_source_open_iommufd(const char *device, int *ret_iommufd, int *ret_device);

/* ---- privileges and the process's own accounting (vmm-priv.c) ---- */

int vmm_set_memlock(uint64_t bytes);
/* "vmm", "1000" or "1000:1000"; a name takes its primary group */
int vmm_lookup_user(const char *spec, uid_t *ret_uid, gid_t *ret_gid);
/* switches uid/gid, clears every capability set; verified afterwards */
int vmm_drop_privileges(uid_t uid, gid_t gid);

typedef struct vmm_proc_status {
	uint64_t vm_lck_kb;
	uint64_t vm_pin_kb;
	uint64_t cap_eff;
	uint64_t cap_prm;
	uid_t uid;
} vmm_proc_status;

int vmm_proc_status_read(vmm_proc_status *ret);

/* ---- guest memory (vmm-memory.c) ---- */

typedef struct vmm_memory {
	uint8_t *base;
	size_t size;
	int memfd; /* -1 for anonymous memory */
} vmm_memory;

int vmm_memory_alloc(size_t size, bool use_memfd, vmm_memory *ret);
void vmm_memory_free(vmm_memory *m);

/* ---- DMA translation: type1 container or iommufd IOAS (vmm-type1.c, vmm-iommufd.c) ---- */

typedef enum vmm_backend {
	VMM_BACKEND_TYPE1,
	VMM_BACKEND_IOMMUFD,
} vmm_backend;

typedef struct vmm_iommu {
	vmm_backend backend;
	int container;    /* type1 */
	int group;        /* type1 */
	int iommufd;      /* iommufd */
	uint32_t ioas_id; /* iommufd */
	uint32_t devid;   /* iommufd */
	int device;       /* the VFIO device, both backends */
} vmm_iommu;

#define VMM_IOMMU_INIT                                                       \
	{ .container = -1, .group = -1, .iommufd = -1, .device = -1 }

/* Both take ownership of the descriptors, also on failure. */
int vmm_type1_setup(vmm_iommu *io, int container, int group, const char *device);
int vmm_iommufd_setup(vmm_iommu *io, int iommufd, int device);

/* --- vfiod source (vmm-source-vfiod.c), VM ownership helper --- */
/*
 * The same descriptors from vfiod: GetFds of the registered VM named vm.
 * type1: container (attached, IOMMU set), device's group, device;
 * iommufd: iommufd, -1, device cdev. The VM's other descriptors are held.
 */
int vmm_source_open_vfiod(const char *vm, vmm_backend backend, const char *device,
			  int *ret_iommu, int *ret_group, int *ret_device);
/* --viommu: closes the descriptors held since GetFds that name the same node as fd */
void vmm_source_vfiod_release_same(int fd);
/* type1 descriptors that vfiod already attached: takes ownership, also on failure */
int vmm_type1_adopt(vmm_iommu *io, int container, int group, int device);
/*
 * GetVM of vm on bus, then AuthenticateVMM with $VFIOD_VMM_SECRET when set
 * (vmm-vfiod-bus.c): the object path in *ret_path (free it).
 */
int vmm_vfiod_vm(sd_bus *bus, const char *vm, char **ret_path);
/* --- end vfiod source --- */

/* Only valid before any object exists on the iommufd: call before setup. */
int vmm_iommufd_set_rlimit_mode(int iommufd, uint64_t mode);
int vmm_iommufd_get_rlimit_mode(int iommufd, uint64_t *ret);

/* dispatch on io->backend (vmm-iommu.c); with --viommu into every address space */
int vmm_iommu_map(vmm_iommu *io, uint64_t iova, void *vaddr, uint64_t size);
int vmm_iommu_unmap(vmm_iommu *io, uint64_t iova, uint64_t size);
/* into io only */
int vmm_iommu_map_one(vmm_iommu *io, uint64_t iova, void *vaddr, uint64_t size);
int vmm_iommu_unmap_one(vmm_iommu *io, uint64_t iova, uint64_t size);
void vmm_iommu_close(vmm_iommu *io);
const char *vmm_backend_to_string(vmm_backend b);

int vmm_type1_map(vmm_iommu *io, uint64_t iova, void *vaddr, uint64_t size);
int vmm_type1_unmap(vmm_iommu *io, uint64_t iova, uint64_t size);
int vmm_iommufd_map(vmm_iommu *io, uint64_t iova, void *vaddr, uint64_t size);
int vmm_iommufd_unmap(vmm_iommu *io, uint64_t iova, uint64_t size);

/* ---- the VFIO device's regions (vmm-device.c) ---- */

int vmm_device_read32(int device, uint32_t region, uint64_t off, uint32_t *ret);
int vmm_device_write32(int device, uint32_t region, uint64_t off, uint32_t val);
/* sets Memory Space and Bus Master in the PCI command register */
int vmm_device_enable(int device);

/* ---- QEMU's edu device (vmm-edu.c) ---- */

#define VMM_EDU_BUFFER 0x40000u /* device-side buffer address */
#define VMM_EDU_BUFFER_SIZE 4096u

int vmm_edu_check(int device);
/* one transfer between IOVA and the edu buffer, waits for completion */
int vmm_edu_dma(int device, uint64_t iova, uint32_t count, bool to_ram);

/*
 * --viommu (vmm-spaces.c): each device in an address space of its own, as
 * QEMU does behind a vIOMMU. The setup device keeps the primary space;
 * vmm_space_attach() gives a device a new one: type1, group (unattached)
 * joins a new container and *device_fd (-1 on entry) is opened from it;
 * iommufd, *device_fd (the cdev) is bound to the primary's iommufd and
 * attached to a new IOAS. Every range mapped so far is mapped into it
 * first. The caller keeps group and device; vmm_space_forget() closes the
 * space once it detached them.
 */
void vmm_spaces_enable(void);
bool vmm_spaces_enabled(void);
int vmm_space_attach(const vmm_iommu *primary, const char *device, int group, int *device_fd);
void vmm_space_forget(const char *device);
/* from vmm_iommu_map/unmap: the other spaces, and the record of what is mapped */
int vmm_spaces_map(uint64_t iova, void *vaddr, uint64_t size);
int vmm_spaces_unmap(uint64_t iova, uint64_t size);
void vmm_spaces_close(void);
/* a new type1 container on dev/vfio/vfio, for the VMM's own address spaces (vmm-source.c) */
int vmm_source_open_container(int *ret_container);

/*
 * VM accounting (vmm-hotplug.c): the steps "hotadd VM DEVICE" and
 * "hotremove DEVICE" with vfiod; setup_device is the device of the
 * command line. Prints the step's reply line.
 */
int vmm_hotplug_step(vmm_iommu *io, const char *setup_device, char **argv, int argc);

/*
 * Live update (vmm-handover.c, vm-modern-change-process): the iommufd,
 * the device and the guest memfd go to a new VMM over a unix socket.
 */
#define VMM_HANDOVER_FDS 3 /* iommufd, device, memfd */
int vmm_handover_listen(const char *path, int *ret_fd);
int vmm_handover_send(const char *path, const int fds[VMM_HANDOVER_FDS], const char *text,
		      pid_t *ret_peer);
int vmm_handover_receive(int listen_fd, int ret_fds[VMM_HANDOVER_FDS], char *text, size_t size,
			 pid_t *ret_peer);
/* IOMMU_IOAS_CHANGE_PROCESS: the charge of every mapping of iommufd to this process */
int vmm_ioas_change_process(int iommufd);
/* change-process, commit-change, abort-change: the VM's methods over D-Bus */
int vmm_change_process_step(char **argv, int argc);
/* take-change VM [TIMEOUT_S]: ChangeProcessToCaller with iommufd, the one taken over */
int vmm_take_change_step(int iommufd, char **argv, int argc);
/* grab-many VM DEVICE N: GetDeviceFds N times (vm-modern-change-process) */
int vmm_grab_many_step(char **argv, int argc);
/* thread: an idle thread started; prints its tid (vm-modern-change-process) */
int vmm_thread_step(void);
/* --map-file: iommufd maps guest memory with IOMMU_IOAS_MAP_FILE from memfd (vmm-iommufd.c) */
void vmm_iommufd_map_from_file(int memfd, const void *base);
/* the VM of the release step, for a VMM that took its descriptors from another (vmm-source-vfiod.c) */
void vmm_source_vfiod_set_vm(const char *vm);

/* vm-security-busy-device: fork-hold, close-vfio, release (vmm-hold.c) */
int vmm_hold_step(char **argv, int argc);
int vmm_source_vfiod_release(void);
