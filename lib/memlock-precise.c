/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The precise policy: the RLIMIT_MEMLOCK the kernel will check, from how
 * Linux 6.12 charges pinned memory (docs/memlock.md has the references):
 *
 * type1 (drivers/vfio/vfio_iommu_type1.c): vfio_pin_pages_remote() pins
 *   every page of a MAP_DMA when the container has an IOMMU-backed domain
 *   and vfio_lock_acct() charges it to mm->locked_vm, once per container
 *   (the vfio_dma belongs to the container, and a page already pinned
 *   for an emulated IOMMU, found by vfio_find_vpfn(), is not charged
 *   twice). A container with only mdevs (emulated IOMMU groups) charges
 *   nothing at MAP_DMA; vfio_iommu_type1_pin_pages() charges each page the
 *   vendor driver pins, once (vfio_pfn tracking), and charges nothing when
 *   an IOMMU-backed domain already did. Reserved and MMIO pfns are free.
 * iommufd (drivers/iommu/iommufd/pages.c): an iopt_pages pins each page
 *   once however many domains and accesses use it, and charges it either
 *   to the user's locked_vm (incr_user_locked_vm, the default per-user
 *   IOMMU_OPTION_RLIMIT_MODE) or to mm->locked_vm (per-process mode, and
 *   the /dev/vfio/vfio compatibility path); it always adds to
 *   mm->pinned_vm as well. One IOAS per address space, each with its own
 *   IOAS_MAP of guest memory: each charges the memory again.
 * vhost-vdpa (drivers/vhost/vdpa.c): pins the pages it maps and checks
 *   mm->pinned_vm + new pages against RLIMIT_MEMLOCK, with no CAP_IPC_LOCK
 *   exemption; each device has its own IOTLB and maps all memory again.
 * QEMU's userspace NVMe driver opens its own type1 container per disk
 *   and maps every RAM block into it.
 *
 * So there are three counters, each checked against the same limit:
 * mm->locked_vm, the user's locked_vm and mm->pinned_vm (checked only by
 * vhost-vdpa). The limit is the largest of them, never below what is
 * pinned now.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "memlock-internal.h"

typedef enum counter {
	COUNTER_LOCKED,      /* mm->locked_vm */
	COUNTER_USER_LOCKED, /* user_struct->locked_vm */
	COUNTER_PINNED,      /* mm->pinned_vm, checked by vhost-vdpa only */
	_COUNTER_MAX,
} counter;

static const char *const counter_names[_COUNTER_MAX] = {
	[COUNTER_LOCKED] = "locked_vm",
	[COUNTER_USER_LOCKED] = "user_locked_vm",
	[COUNTER_PINNED] = "pinned_vm",
};

/* A container (type1) or IOAS (iommufd) of VFIO devices sharing an address space. */
typedef struct space {
	int key_kind;        /* 0: caller's id, 1: QEMU's shared system memory, 2: one device */
	int key;
	size_t first_device; /* for the names in the breakdown */
	size_t n_devices;
	size_t n_pci;        /* IOMMU-backed members */
	uint64_t mdev_budget;
} space;

typedef struct walk {
	const vfd_memlock_spec *spec;
	const vfd_memlock_config *cfg;
	vfd_memlock_plan *plan; /* NULL: only add up */
	uint64_t headroom;      /* the spec's own, or the configuration's */
	counter binding;
	uint64_t total[_COUNTER_MAX];
	bool pinned_checked;    /* a vDPA device checks mm->pinned_vm */
	char **error_message;
} walk;

static int charge(walk *w, counter c, const char *rule, uint64_t bytes, const char *what, const char *why)
{
	int r;

	if (!add_u64(w->total[c], bytes, &w->total[c]))
		return vfd_error_setf(w->error_message, -EOVERFLOW, "the limit does not fit in 64 bits");
	if (!w->plan)
		return 0;
	r = vfd_memlock_plan_add(w->plan, rule, bytes, c == w->binding, "%s: %s [%s]", what, why, counter_names[c]);
	if (r < 0)
		return vfd_error_setf(w->error_message, r, "out of memory");
	return 0;
}

/* "0000:01:00.0, mdev 5e3b..." for the detail lines; at most a few names. */
static void space_names(const walk *w, const space *s, const size_t *members, char *buf, size_t size)
{
	size_t used = 0, shown = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n_devices && used < size; i++) {
		const vfd_memlock_device *d = &w->spec->devices[members[s->first_device + i]];
		int k;

		if (shown == 3) {
			snprintf(buf + used, size - used, ", and %zu more", s->n_devices - shown);
			return;
		}
		k = snprintf(buf + used, size - used, "%s%s %s", shown ? ", " : "",
			     vfd_memlock_device_kind_to_string(d->kind), d->name ? d->name : "(unnamed)");
		if (k < 0)
			return;
		used += (size_t)k;
		shown++;
	}
}

static int charge_space(walk *w, const space *s, const size_t *members, uint64_t memory)
{
	const vfd_memlock_spec *spec = w->spec;
	bool iommufd = spec->backend == VFD_MEMLOCK_BACKEND_IOMMUFD;
	bool per_user = iommufd && spec->iommufd_accounting == VFD_MEMLOCK_IOMMUFD_PER_USER;
	counter c = per_user ? COUNTER_USER_LOCKED : COUNTER_LOCKED;
	const char *rule = iommufd ? "iommufd-ioas" : "type1-container";
	char names[160], what[224], why[320];
	uint64_t bytes, cap;
	int r;

	space_names(w, s, members, names, sizeof(names));
	snprintf(what, sizeof(what), "%s of %s", iommufd ? "IOAS" : "container", names);

	if (s->n_pci > 0) {
		snprintf(why, sizeof(why),
			 "IOMMU-backed: all of guest memory is pinned and charged once for this %s%s",
			 iommufd ? "IOAS" : "container",
			 s->n_devices > s->n_pci ? "; its mdevs' pins are not charged again" : "");
		r = charge(w, c, rule, memory, what, why);
		if (r >= 0)
			r = charge(w, c, "headroom", w->headroom, what,
				   "ROM, firmware and VGA RAM regions mapped besides guest memory (configured headroom)");
		/* iommufd also counts its pins in mm->pinned_vm, which vhost-vdpa checks */
		if (r >= 0 && iommufd && w->pinned_checked) {
			r = charge(w, COUNTER_PINNED, rule, memory, what,
				   "iommufd adds every pin to mm->pinned_vm as well");
			if (r >= 0)
				r = charge(w, COUNTER_PINNED, "headroom", w->headroom, what,
					   "configured headroom, in mm->pinned_vm");
		}
		return r;
	}

	/* only mdevs: what the vendor drivers pin, at most all that is mapped */
	if (!add_u64(memory, w->headroom, &cap))
		return vfd_error_setf(w->error_message, -EOVERFLOW, "the limit does not fit in 64 bits");
	bytes = s->mdev_budget < cap ? s->mdev_budget : cap;
	snprintf(why, sizeof(why),
		 "mdevs only: only pages the vendor driver pins are charged, budgeted %s",
		 bytes == cap ? "at all of guest memory plus headroom (the budgets exceed it)" :
				"by mdev type (configured budgets)");
	r = charge(w, c, "mdev-pins", bytes, what, why);
	if (r >= 0 && iommufd && w->pinned_checked)
		r = charge(w, COUNTER_PINNED, "mdev-pins", bytes, what, "iommufd adds every pin to mm->pinned_vm as well");
	return r;
}

static int own_space_charges(walk *w, uint64_t memory)
{
	const vfd_memlock_spec *spec = w->spec;
	char what[160];
	int r;

	for (size_t i = 0; i < spec->n_devices; i++) {
		const vfd_memlock_device *d = &spec->devices[i];
		counter c;
		const char *rule, *why;

		if (d->kind == VFD_MEMLOCK_DEVICE_NVME) {
			/* QEMU's block/nvme.c uses util/vfio-helpers: always a type1 container */
			c = COUNTER_LOCKED;
			rule = "nvme-container";
			why = "QEMU's NVMe driver maps all RAM blocks into its own type1 container";
			snprintf(what, sizeof(what), "NVMe disk %s", d->name ? d->name : "(unnamed)");
		} else if (d->kind == VFD_MEMLOCK_DEVICE_VDPA) {
			c = COUNTER_PINNED;
			rule = "vdpa-device";
			why = "vhost-vdpa pins guest memory for its own IOTLB";
			snprintf(what, sizeof(what), "vDPA %s %s", d->vdpa_disk ? "disk" : "device",
				 d->name ? d->name : "(unnamed)");
		} else
			continue;

		r = charge(w, c, rule, memory, what, why);
		if (r >= 0)
			r = charge(w, c, "headroom", w->headroom, what,
				   "ROM, firmware and VGA RAM regions mapped besides guest memory (configured headroom)");
		if (r < 0)
			return r;
	}
	return 0;
}

/* Groups the PCI and mdev devices into address spaces as QEMU does. */
static int build_spaces(const walk *w, space **ret, size_t *ret_n, size_t **ret_members)
{
	const vfd_memlock_spec *spec = w->spec;
	_cleanup_free_ space *spaces = NULL;
	_cleanup_free_ size_t *members = NULL;
	size_t n = 0, m = 0;

	spaces = calloc(spec->n_devices + 1, sizeof(*spaces));
	members = calloc(spec->n_devices + 1, sizeof(*members));
	if (!spaces || !members)
		return -ENOMEM;

	/* members of one space are listed together: one pass per space */
	for (size_t i = 0; i < spec->n_devices; i++) {
		const vfd_memlock_device *d = &spec->devices[i];
		int kind, key;
		space *s = NULL;

		if (d->kind != VFD_MEMLOCK_DEVICE_PCI && d->kind != VFD_MEMLOCK_DEVICE_MDEV)
			continue;
		if (d->address_space >= 0) {
			kind = 0;
			key = d->address_space;
		} else if (spec->viommu) {
			/* behind a vIOMMU each device has its own AddressSpace, so its own container */
			kind = 2;
			key = (int)i;
		} else {
			kind = 1;
			key = 0;
		}
		for (size_t j = 0; j < n; j++)
			if (spaces[j].key_kind == kind && spaces[j].key == key)
				s = &spaces[j];
		if (!s) {
			s = &spaces[n++];
			*s = (space){ .key_kind = kind, .key = key };
		}
		s->n_devices++;
	}

	/* lay the member lists out contiguously */
	for (size_t j = 0; j < n; j++) {
		spaces[j].first_device = m;
		m += spaces[j].n_devices;
		spaces[j].n_devices = 0;
	}
	for (size_t i = 0; i < spec->n_devices; i++) {
		const vfd_memlock_device *d = &spec->devices[i];
		int kind, key;

		if (d->kind != VFD_MEMLOCK_DEVICE_PCI && d->kind != VFD_MEMLOCK_DEVICE_MDEV)
			continue;
		kind = d->address_space >= 0 ? 0 : spec->viommu ? 2 : 1;
		key = d->address_space >= 0 ? d->address_space : spec->viommu ? (int)i : 0;
		for (size_t j = 0; j < n; j++) {
			space *s = &spaces[j];

			if (s->key_kind != kind || s->key != key)
				continue;
			members[s->first_device + s->n_devices++] = i;
			if (d->kind == VFD_MEMLOCK_DEVICE_PCI)
				s->n_pci++;
			else {
				uint64_t b = vfd_memlock_config_mdev_budget(w->cfg, d->mdev_type);

				if (!add_u64(s->mdev_budget, b, &s->mdev_budget))
					s->mdev_budget = UINT64_MAX;
			}
			break;
		}
	}

	*ret = TAKE_PTR(spaces);
	*ret_n = n;
	*ret_members = TAKE_PTR(members);
	return 0;
}

static int observed_floor(walk *w, counter c, uint64_t observed, const char *source)
{
	if (observed <= w->total[c])
		return 0;
	return charge(w, c, "observed-pins", observed - w->total[c], source,
		      "already charged now: the limit never goes below the current pins");
}

static int run(walk *w, const space *spaces, size_t n_spaces, const size_t *members)
{
	const vfd_memlock_spec *spec = w->spec;
	uint64_t memory = spec->memory_kib * KIB;
	int r;

	for (size_t i = 0; i < n_spaces; i++) {
		r = charge_space(w, &spaces[i], members, memory);
		if (r < 0)
			return r;
	}
	r = own_space_charges(w, memory);
	if (r < 0)
		return r;

	if (spec->backend == VFD_MEMLOCK_BACKEND_IOMMUFD &&
	    spec->iommufd_accounting == VFD_MEMLOCK_IOMMUFD_PER_USER && spec->same_user_locked_bytes > 0 &&
	    n_spaces > 0) {
		r = charge(w, COUNTER_USER_LOCKED, "same-user-pins", spec->same_user_locked_bytes,
			   "other processes of the same user",
			   "per-user iommufd accounting adds all of the user's pins and checks this process's limit");
		if (r < 0)
			return r;
	}

	if (spec->has_observed) {
		r = observed_floor(w, COUNTER_LOCKED, spec->observed_locked_bytes, "VmLck now");
		if (r >= 0 && w->pinned_checked)
			r = observed_floor(w, COUNTER_PINNED, spec->observed_pinned_bytes, "VmPin now");
		if (r < 0)
			return r;
	}
	return 0;
}

int vfd_memlock_precise_compute(const vfd_memlock_spec *spec, const vfd_memlock_config *cfg,
				vfd_memlock_plan *plan, char **error_message)
{
	_cleanup_free_ space *spaces = NULL;
	_cleanup_free_ size_t *members = NULL;
	vfd_memlock_counts n;
	size_t n_spaces = 0;
	walk w = {
		.spec = spec, .cfg = cfg, .binding = COUNTER_LOCKED, .error_message = error_message,
		.headroom = spec->has_headroom ? spec->headroom_bytes : cfg->headroom_bytes,
	};
	int r;

	if (spec->memory_locked) {
		/* mlock() charges mm->locked_vm too, for QEMU's own memory as well: unbounded */
		r = vfd_memlock_plan_add(plan, "memory-locked", VFD_MEMLOCK_UNLIMITED, true,
					 "the VMM locks all its memory (mlockall), QEMU's own allocations of no "
					 "predictable size included, in the same mm->locked_vm that VFIO pins use");
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
		plan->limit_bytes = VFD_MEMLOCK_UNLIMITED;
		plan->binding_counter = counter_names[COUNTER_LOCKED];
		return 0;
	}

	if (spec->ppc64 && spec->kvm) {
		/*
		 * The sPAPR TCE IOMMU and KVM's hashed page table on ppc64 are
		 * charged by other code than type1/iommufd; libvirt's pSeries
		 * formula is the model of those charges.
		 */
		r = vfd_memlock_plan_add(plan, "ppc64-kvm", 0, true,
					 "ppc64 KVM: the sPAPR IOMMU and hash table charges follow libvirt's pSeries formula");
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
		plan->binding_counter = counter_names[COUNTER_LOCKED];
		return vfd_memlock_libvirt_ppc64(spec, VFD_MEMLOCK_LIBVIRT_LATER, plan, error_message);
	}

	vfd_memlock_count_devices(spec, &n);
	w.pinned_checked = n.vdpa > 0;

	r = build_spaces(&w, &spaces, &n_spaces, &members);
	if (r < 0)
		return vfd_error_setf(error_message, r, "out of memory");

	/* first add up to find the counter that binds, then write the breakdown */
	r = run(&w, spaces, n_spaces, members);
	if (r < 0)
		return r;
	for (counter c = 0; c < _COUNTER_MAX; c++)
		if ((c != COUNTER_PINNED || w.pinned_checked) && w.total[c] > w.total[w.binding])
			w.binding = c;

	if (n.pci + n.mdev + n.nvme + n.vdpa == 0) {
		r = vfd_memlock_plan_add(plan, "no-dma-devices", 0, true,
					 "no VFIO, NVMe or vDPA device: nothing gets pinned, leave the limit alone");
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
		plan->limit_bytes = 0;
		return 0;
	}

	w.plan = plan;
	memset(w.total, 0, sizeof(w.total));
	r = run(&w, spaces, n_spaces, members);
	if (r < 0)
		return r;

	if (spec->has_hard_limit) {
		r = vfd_memlock_plan_add(plan, "hard-limit-ignored", spec->hard_limit_kib * KIB, false,
					 "<memtune><hard_limit> bounds the memory cgroup, not the pin charge: "
					 "a page mapped in several containers is charged once in each");
		if (r < 0)
			return vfd_error_setf(error_message, r, "out of memory");
	}

	plan->limit_bytes = w.total[w.binding];
	plan->binding_counter = counter_names[w.binding];
	return 0;
}

int vfd_memlock_expected_charge(const vfd_memlock_spec *spec, const vfd_memlock_config *cfg,
				uint64_t *ret_bytes, uint64_t *ret_slack)
{
	_cleanup_(vfd_memlock_config_freep) vfd_memlock_config *defaults = NULL;
	_cleanup_free_ space *spaces = NULL;
	_cleanup_free_ size_t *members = NULL;
	uint64_t memory, bytes = 0, slack = 0;
	size_t n_spaces = 0;
	walk w = { .spec = spec };
	int r;

	if (!spec || !ret_bytes || !ret_slack)
		return -EINVAL;
	r = vfd_memlock_spec_validate(spec, NULL);
	if (r < 0)
		return r;
	if (spec->memory_locked || (spec->ppc64 && spec->kvm))
		return -EOPNOTSUPP;
	if (!cfg) {
		r = vfd_memlock_config_new(&defaults);
		if (r < 0)
			return r;
		cfg = defaults;
	}
	w.cfg = cfg;
	w.headroom = spec->has_headroom ? spec->headroom_bytes : cfg->headroom_bytes;
	if (!mul_u64(spec->memory_kib, KIB, &memory))
		return -EOVERFLOW;

	/* the same spaces as the limit: the two cannot disagree on the factor */
	r = build_spaces(&w, &spaces, &n_spaces, &members);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n_spaces; i++) {
		bool ok = spaces[i].n_pci > 0 ? add_u64(bytes, memory, &bytes) :
			  add_u64(slack, spaces[i].mdev_budget < memory ? spaces[i].mdev_budget : memory,
				  &slack);

		if (!ok)
			return -EOVERFLOW;
	}
	for (size_t i = 0; i < spec->n_devices; i++)
		if (spec->devices[i].kind == VFD_MEMLOCK_DEVICE_NVME && !add_u64(bytes, memory, &bytes))
			return -EOVERFLOW;

	*ret_bytes = bytes;
	*ret_slack = slack;
	return 0;
}
