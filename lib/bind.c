/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Claiming IOMMU groups for a VM by moving their members to vfio-pci, and
 * giving them back. The rules are in lib/include/vfiod/bind.h.
 *
 * The kernel side (drivers/base/bus.c, dd.c, drivers/pci/pci-driver.c in
 * Linux 6.12):
 *   - driver_override makes a device match exactly that one driver
 *     (pci_match_device); writing "\n" clears it. It does not unbind.
 *   - drivers/<d>/unbind detaches without reprobing anything.
 *   - drivers_probe attaches a driver only to an unbound device, and
 *     succeeds even when the matching driver's probe fails (really_probe
 *     reports probe errors as positive values that device_attach drops),
 *     so the result has to be read back from the driver link.
 *   - drivers/<d>/bind does report a probe failure, but only accepts a
 *     driver that matches, which is what restoring needs.
 * Setting driver_override before unbinding closes the window in which a
 * newly loaded driver could grab the device between unbind and probe.
 */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "vfd-internal.h"
#include "vfiod/bind.h"
#include "vfiod/fault.h"
#include "vfiod/host-root.h"
#include "vfiod/inventory.h"
#include "vfiod/vfio-variant.h"

#define PCI_DEVICES_DIR "sys/bus/pci/devices"
#define PCI_DRIVERS_DIR "sys/bus/pci/drivers"
#define PCI_DRIVERS_PROBE "sys/bus/pci/drivers_probe"
#define VFIO_PCI_DRIVER VFD_VFIO_PCI_DRIVER

/* the driver a member is moved to; records of older versions name none */
static const char *member_vfio_driver(const vfd_bind_member *m)
{
	return m->vfio_driver ? m->vfio_driver : VFIO_PCI_DRIVER;
}

static void bind_member_done(vfd_bind_member *m)
{
	free(m->original_driver);
	free(m->original_override);
	free(m->vfio_driver);
}

vfd_bind_record *vfd_bind_record_free(vfd_bind_record *r)
{
	size_t i;

	if (!r)
		return NULL;
	for (i = 0; i < r->n_members; i++)
		bind_member_done(&r->members[i]);
	free(r->members);
	free(r);
	return NULL;
}

static bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* ---- sysfs steps, one attribute each ---- */

/* The bound driver's name, NULL when unbound. */
static int read_driver(vfd_context *ctx, const char *name, char **ret)
{
	char path[VFD_PATH_MAX];
	char *driver = NULL;
	int r;

	r = vfd_pathf(path, sizeof(path), PCI_DEVICES_DIR "/%s/driver", name);
	if (r < 0)
		return r;
	r = vfd_root_readlink_basename(ctx, path, &driver);
	if (r < 0 && r != -ENOENT)
		return r;
	*ret = driver;
	return 0;
}

/* driver_override, NULL when unset (the kernel shows "(null)"). */
static int read_override(vfd_context *ctx, const char *name, char **ret)
{
	_cleanup_free_ char *s = NULL;
	char path[VFD_PATH_MAX];
	int r;

	r = vfd_pathf(path, sizeof(path), PCI_DEVICES_DIR "/%s/driver_override", name);
	if (r < 0)
		return r;
	r = vfd_root_read_string(ctx, path, &s);
	if (r < 0)
		return r;
	if (s[0] == '\0' || strcmp(s, "(null)") == 0) {
		*ret = NULL;
		return 0;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

/* NULL clears the override: the kernel takes "\n" as "none" (driver_set_override) */
static int write_override(vfd_context *ctx, const char *name, const char *driver)
{
	char path[VFD_PATH_MAX];
	int r;

	r = vfd_pathf(path, sizeof(path), PCI_DEVICES_DIR "/%s/driver_override", name);
	if (r < 0)
		return r;
	return vfd_root_write_string(ctx, path, driver ? driver : "\n");
}

/* op is "bind" or "unbind" */
static int write_driver_op(vfd_context *ctx, const char *driver, const char *op, const char *name)
{
	char path[VFD_PATH_MAX];
	int r;

	if (!vfd_name_is_component(driver))
		return -EINVAL;
	r = vfd_pathf(path, sizeof(path), PCI_DRIVERS_DIR "/%s/%s", driver, op);
	if (r < 0)
		return r;
	return vfd_root_write_string(ctx, path, name);
}

static int device_exists(vfd_context *ctx, const char *name)
{
	char path[VFD_PATH_MAX];
	int r;

	r = vfd_pathf(path, sizeof(path), PCI_DEVICES_DIR "/%s", name);
	if (r < 0)
		return r;
	return vfd_root_exists(ctx, path);
}

/* ---- moving one member and putting it back ---- */

/*
 * Moves m to its VFIO driver, recording its originals first. m->changed is set
 * before the first write, so that a failure at any later step is undone
 * by restoring m too.
 */
static int member_move(vfd_context *ctx, vfd_bind_member *m, vfd_op_error *error)
{
	_cleanup_free_ char *driver = NULL, *override = NULL, *now = NULL;
	const char *target = member_vfio_driver(m);
	int r;

	r = read_driver(ctx, m->name, &driver);
	if (r < 0)
		return vfd_op_error_set(error, r, m->name, "cannot read its driver: %s", strerror(-r));
	r = read_override(ctx, m->name, &override);
	if (r < 0)
		return vfd_op_error_set(error, r, m->name, "cannot read its driver_override: %s",
					strerror(-r));

	free(m->original_driver);
	free(m->original_override);
	m->original_driver = TAKE_PTR(driver);
	m->original_override = TAKE_PTR(override);
	m->changed = true;

	r = write_override(ctx, m->name, target);
	if (r < 0)
		return vfd_op_error_set(error, r, m->name, "setting driver_override to %s failed: %s",
					target, strerror(-r));

	if (m->original_driver) {
		r = write_driver_op(ctx, m->original_driver, "unbind", m->name);
		if (r < 0)
			return vfd_op_error_set(error, r, m->name, "unbinding it from %s failed: %s",
						m->original_driver, strerror(-r));
	}

	r = vfd_fault_check(ctx, VFD_FAULT_BIND_MEMBER);
	if (r < 0)
		return vfd_op_error_set(error, r, m->name, "injected test fault %s: %s",
					vfd_fault_kind_to_string(VFD_FAULT_BIND_MEMBER), strerror(-r));

	r = vfd_root_write_string(ctx, PCI_DRIVERS_PROBE, m->name);
	if (r < 0)
		return vfd_op_error_set(error, r, m->name, "probing it for %s failed: %s", target,
					strerror(-r));

	r = read_driver(ctx, m->name, &now);
	if (r < 0)
		return vfd_op_error_set(error, r, m->name, "cannot read its driver: %s", strerror(-r));
	if (!streq_ptr(now, target))
		return vfd_op_error_set(error, -EIO, m->name, "%s did not bind to it "
					"(its probe failed, see the kernel log)", target);
	return 0;
}

/*
 * Puts m back on its original driver with its original driver_override.
 * Reads the current state first, so it also undoes a move that stopped
 * halfway.
 */
static int member_restore(vfd_context *ctx, vfd_bind_member *m, vfd_op_error *error)
{
	_cleanup_free_ char *now = NULL, *after = NULL;
	int r;

	/* a device that went away (hot unplug) has nothing left to restore */
	r = device_exists(ctx, m->name);
	if (r < 0)
		return vfd_op_error_set(error, r, m->name, "cannot look it up: %s", strerror(-r));
	if (r == 0) {
		m->changed = false;
		return 0;
	}

	r = read_driver(ctx, m->name, &now);
	if (r < 0)
		return vfd_op_error_set(error, r, m->name, "cannot read its driver: %s", strerror(-r));

	if (now && !streq_ptr(now, m->original_driver)) {
		const char *vfio = member_vfio_driver(m);

		/* only ever undo what vfiod did: a driver bound by someone else stays */
		if (strcmp(now, vfio) != 0)
			return vfd_op_error_set(error, -EBUSY, m->name, "it is bound to %s, not to "
						"%s; left alone", now, vfio);
		r = write_driver_op(ctx, vfio, "unbind", m->name);
		if (r < 0)
			return vfd_op_error_set(error, r, m->name, "unbinding it from %s failed: %s",
						vfio, strerror(-r));
		free(now);
		now = NULL;
	}

	r = write_override(ctx, m->name, m->original_override);
	if (r < 0)
		return vfd_op_error_set(error, r, m->name, "restoring its driver_override failed: %s",
					strerror(-r));

	if (m->original_driver && !now) {
		/*
		 * bind names the driver exactly; when it refuses (the driver
		 * went away, or it only takes the device through a probe), a
		 * probe is the next best thing. The link says who won.
		 */
		r = write_driver_op(ctx, m->original_driver, "bind", m->name);
		if (r < 0)
			(void)vfd_root_write_string(ctx, PCI_DRIVERS_PROBE, m->name);

		r = read_driver(ctx, m->name, &after);
		if (r < 0)
			return vfd_op_error_set(error, r, m->name, "cannot read its driver: %s",
						strerror(-r));
		if (!streq_ptr(after, m->original_driver))
			return vfd_op_error_set(error, -EIO, m->name, "binding it to %s again failed, "
						"it is %s%s", m->original_driver,
						after ? "bound to " : "unbound", after ? after : "");
	}

	m->changed = false;
	return 0;
}

/* Restores members[0..n) that were changed, last first; returns the first error. */
static int restore_members(vfd_context *ctx, vfd_bind_member *members, size_t n, vfd_op_error *error)
{
	int ret = 0;
	size_t i;

	for (i = n; i > 0; i--) {
		vfd_bind_member *m = &members[i - 1];
		int r;

		if (!m->changed)
			continue;
		r = member_restore(ctx, m, error);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

/* ---- the claim ---- */

typedef struct claim_plan {
	vfd_bind_member *members;
	bool *move; /* parallel to members */
	size_t n, allocated;
} claim_plan;

static void claim_plan_done(claim_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		bind_member_done(&p->members[i]);
	free(p->members);
	free(p->move);
}

static int claim_plan_add(claim_plan *p, const char *name, unsigned group, bool requested,
			  bool move, char *driver, char *override, char *vfio_driver)
{
	vfd_bind_member *m;

	if (p->n == p->allocated) {
		size_t want = p->allocated ? p->allocated * 2 : 8;
		vfd_bind_member *nm;
		bool *nmove;

		nm = realloc(p->members, want * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		p->members = nm;
		nmove = realloc(p->move, want * sizeof(*nmove));
		if (!nmove)
			return -ENOMEM;
		p->move = nmove;
		p->allocated = want;
	}

	m = &p->members[p->n];
	*m = (vfd_bind_member){ .group = group, .requested = requested };
	if (vfd_pathf(m->name, sizeof(m->name), "%s", name) < 0)
		return -EINVAL;
	/* taken over only on success, so the caller frees them otherwise */
	m->original_driver = driver;
	m->original_override = override;
	m->vfio_driver = vfio_driver;
	p->move[p->n] = move;
	p->n++;
	return 0;
}

static bool claim_plan_has(const claim_plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->members[i].name, name) == 0)
			return true;
	return false;
}

static bool name_in(const char *name, char (*names)[VFD_PCI_ADDRESS_STRLEN], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Loads one requested function: it must exist, be an endpoint and have a group. */
static int check_requested(vfd_context *ctx, const vfd_pci_address *a, vfd_op_error *error,
			   unsigned *ret_group)
{
	_cleanup_(vfd_pci_device_freep) vfd_pci_device *d = NULL;
	char name[VFD_PCI_ADDRESS_STRLEN];
	int r;

	vfd_pci_address_format(a, name);
	r = vfd_pci_device_load(ctx, a, &d);
	if (r == -ENODEV || r == -ENOENT)
		return vfd_op_error_set(error, -ENODEV, name, "no PCI function at this address");
	if (r < 0)
		return vfd_op_error_set(error, r, name, "cannot read it: %s", strerror(-r));
	if (d->is_bridge)
		return vfd_op_error_set(error, -ENOTSUP, name, "it is a bridge, not an endpoint; "
					"bridges cannot be assigned");
	if (d->iommu_group < 0)
		return vfd_op_error_set(error, -ENXIO, name, "it has no IOMMU group "
					"(no IOMMU, or it is disabled)");
	*ret_group = (unsigned)d->iommu_group;
	return 0;
}

/*
 * The VFIO driver a member moves to, and a check that it is there to bind:
 * the operator's choice must be loaded (-ENOPKG otherwise, the caller
 * loads it); a variant chosen by alias that is not loaded gives way to
 * vfio-pci, which then must be.
 */
static int plan_vfio_driver(vfd_context *ctx, const char *name, const char *requested,
			    char **ret, vfd_op_error *error)
{
	vfd_vfio_choice c = { 0 };
	int r;

	r = vfd_vfio_driver_choose(ctx, name, requested, error, &c);
	if (r < 0)
		return r;
	r = vfd_vfio_driver_is_loaded(ctx, c.driver);
	if (r == 0 && c.source == VFD_VFIO_CHOICE_ALIAS) {
		vfd_vfio_choice_done(&c);
		c.driver = strdup(VFIO_PCI_DRIVER);
		if (!c.driver)
			return vfd_op_error_set(error, -ENOMEM, name, "out of memory");
		r = vfd_vfio_driver_is_loaded(ctx, c.driver);
	}
	if (r <= 0) {
		r = vfd_op_error_set(error, r < 0 ? r : -ENOPKG, c.driver, "the %s driver is not "
				     "loaded (module %s)", c.driver,
				     c.module ? c.module : VFD_VFIO_PCI_MODULE);
		vfd_vfio_choice_done(&c);
		return r;
	}
	*ret = TAKE_PTR(c.driver);
	vfd_vfio_choice_done(&c);
	return 0;
}

/* Decides for one group member; adds it to the plan or refuses the claim. */
static int plan_member(vfd_context *ctx, const vfd_group_member *gm, unsigned group,
		       bool requested, const vfd_bind_options *opts, claim_plan *plan,
		       vfd_op_error *error)
{
	_cleanup_free_ char *driver = NULL, *override = NULL, *vfio_driver = NULL;
	bool move;
	int r;

	if (strcmp(gm->bus, "pci") != 0) {
		/* nothing of vfiod's binds non-PCI devices; they only must not block */
		if (gm->state == VFD_MEMBER_HOST_DRIVER)
			return vfd_op_error_set(error, -EBUSY, gm->name, "member of IOMMU group %u in "
						"use by the host: %s", group, gm->reason);
		return 0;
	}

	if (opts->owned_elsewhere) {
		r = opts->owned_elsewhere(gm->name, opts->userdata);
		if (r < 0)
			return vfd_op_error_set(error, r, gm->name, "cannot tell who owns it: %s",
						strerror(-r));
		if (r > 0)
			return vfd_op_error_set(error, -EADDRINUSE, gm->name, "member of IOMMU group %u "
						"owned by another VM", group);
	}

	if (gm->state == VFD_MEMBER_VFIO)
		move = false;
	else if (requested)
		move = true;
	else if (gm->is_bridge) {
		if (gm->state == VFD_MEMBER_HOST_DRIVER)
			return vfd_op_error_set(error, -EBUSY, gm->name, "bridge in IOMMU group %u in "
						"use by the host: %s", group, gm->reason);
		move = false;
	} else {
		switch (gm->state) {
		case VFD_MEMBER_DMA_MANAGED:
			move = false;
			break;
		case VFD_MEMBER_UNBOUND:
			move = true;
			break;
		case VFD_MEMBER_HOST_DRIVER:
			if (!opts->unbind_host_members)
				return vfd_op_error_set(error, -EBUSY, gm->name, "member of IOMMU group "
							"%u in use by the host: %s", group, gm->reason);
			move = true;
			break;
		case VFD_MEMBER_VFIO:
		case _VFD_MEMBER_STATE_MAX:
		default:
			return -EINVAL;
		}
	}

	if (move) {
		dev_t roots[VFD_HOST_ROOT_DEVS_MAX], dev;
		size_t n_roots = vfd_host_root_devices_at(ctx, "", roots); /* no context per claim */

		/* a claim never takes the disk of the host's "/" or "/usr", whoever asks */
		if (vfd_pci_carries_host_root(ctx, gm->name, roots, n_roots, &dev) > 0)
			return vfd_op_error_set(error, -EBUSY, gm->name, "member of IOMMU group %u "
						"carries the host's root file system (block device "
						"%u:%u): never claimed", group, major(dev), minor(dev));
		r = plan_vfio_driver(ctx, gm->name, requested ? opts->driver : NULL, &vfio_driver,
				     error);
		if (r < 0)
			return r;
	}

	/* what the record shows for members left alone; a move reads them again */
	r = read_driver(ctx, gm->name, &driver);
	if (r >= 0)
		r = read_override(ctx, gm->name, &override);
	if (r < 0)
		return vfd_op_error_set(error, r, gm->name, "cannot read its driver: %s", strerror(-r));

	r = claim_plan_add(plan, gm->name, group, requested, move, driver, override, vfio_driver);
	if (r < 0)
		return vfd_op_error_set(error, r, gm->name, "cannot plan the claim: %s", strerror(-r));
	driver = override = vfio_driver = NULL;
	return 0;
}

static int plan_group(vfd_context *ctx, unsigned group, char (*requested)[VFD_PCI_ADDRESS_STRLEN],
		      size_t n_requested, const vfd_bind_options *opts, claim_plan *plan,
		      vfd_op_error *error)
{
	_cleanup_(vfd_iommu_group_freep) vfd_iommu_group *g = NULL;
	char subject[16];
	size_t i;
	int r;

	snprintf(subject, sizeof(subject), "group %u", group);
	r = vfd_iommu_group_load(ctx, group, &g);
	if (r < 0)
		return vfd_op_error_set(error, r, subject, "cannot read IOMMU group %u: %s",
					group, strerror(-r));

	for (i = 0; i < g->n_members; i++) {
		const vfd_group_member *gm = &g->members[i];

		r = plan_member(ctx, gm, group, name_in(gm->name, requested, n_requested), opts,
				plan, error);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

int vfd_bind_claim(vfd_context *ctx, const vfd_pci_address *devices, size_t n_devices,
		   const vfd_bind_options *opts, vfd_op_error *error, vfd_bind_record **ret)
{
	static const vfd_bind_options default_options = { 0 };
	_cleanup_free_ char(*requested)[VFD_PCI_ADDRESS_STRLEN] = NULL;
	_cleanup_free_ unsigned *groups = NULL;
	claim_plan plan = { 0 };
	vfd_bind_record *rec;
	size_t i, n_groups = 0;
	int r;

	if (!ctx || !devices || n_devices == 0 || n_devices > 4096 || !ret)
		return vfd_op_error_set(error, -EINVAL, NULL, "invalid arguments");
	if (!opts)
		opts = &default_options;

	requested = calloc(n_devices, sizeof(*requested));
	groups = calloc(n_devices, sizeof(*groups));
	if (!requested || !groups)
		return vfd_op_error_set(error, -ENOMEM, NULL, "out of memory");

	/* ---- check everything before changing anything ---- */
	for (i = 0; i < n_devices; i++) {
		unsigned group = 0;
		size_t j;

		vfd_pci_address_format(&devices[i], requested[i]);
		r = check_requested(ctx, &devices[i], error, &group);
		if (r < 0)
			return r;
		for (j = 0; j < n_groups; j++)
			if (groups[j] == group)
				break;
		if (j == n_groups)
			groups[n_groups++] = group;
	}
	qsort(groups, n_groups, sizeof(*groups), cmp_unsigned);

	for (i = 0; i < n_groups; i++) {
		r = plan_group(ctx, groups[i], requested, n_devices, opts, &plan, error);
		if (r < 0)
			goto fail;
	}
	for (i = 0; i < n_devices; i++)
		if (!claim_plan_has(&plan, requested[i])) {
			/* the function left its group between the two reads */
			r = vfd_op_error_set(error, -EAGAIN, requested[i], "it is not listed in its "
					     "IOMMU group; the host changed, try again");
			goto fail;
		}

	if (opts->planned) {
		vfd_bind_record view = { .members = plan.members, .n_members = plan.n };

		for (i = 0; i < plan.n; i++)
			plan.members[i].changed = plan.move[i];
		r = opts->planned(&view, opts->userdata);
		for (i = 0; i < plan.n; i++)
			plan.members[i].changed = false;
		if (r < 0) {
			r = vfd_op_error_set(error, r, requested[0], "cannot record the claim before "
					     "making it: %s", strerror(-r));
			goto fail;
		}
	}

	/* ---- move, undoing everything on the first failure ---- */
	for (i = 0; i < plan.n; i++) {
		if (!plan.move[i])
			continue;
		r = member_move(ctx, &plan.members[i], error);
		if (r < 0) {
			vfd_op_error rollback = { 0 };

			if (restore_members(ctx, plan.members, i + 1, &rollback) < 0 && error) {
				size_t len = strlen(error->message);

				snprintf(error->message + len, sizeof(error->message) - len,
					 "; rolling back %s also failed: %s", rollback.subject,
					 rollback.message);
			}
			goto fail;
		}
	}

	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		/* nothing may stay changed without a record to undo it */
		restore_members(ctx, plan.members, plan.n, NULL);
		r = vfd_op_error_set(error, -ENOMEM, NULL, "out of memory");
		goto fail;
	}
	rec->members = TAKE_PTR(plan.members);
	rec->n_members = plan.n;
	free(plan.move);
	*ret = rec;
	return 0;

fail:
	claim_plan_done(&plan);
	return r;
}

int vfd_bind_release(vfd_context *ctx, vfd_bind_record *r, vfd_op_error *error)
{
	if (!ctx || !r)
		return vfd_op_error_set(error, -EINVAL, NULL, "invalid arguments");
	return restore_members(ctx, r->members, r->n_members, error);
}

/* ---- state file form ---- */

static int json_add(struct json_object *o, const char *key, struct json_object *v)
{
	/* json-c takes v over on success only; NULL stands for JSON null */
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static struct json_object *json_string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static int member_to_json(const vfd_bind_member *m, struct json_object **ret)
{
	struct json_object *o, *v;

	o = json_object_new_object();
	if (!o)
		return -ENOMEM;

	v = json_object_new_string(m->name);
	if (!v || json_add(o, "name", v) < 0)
		goto oom;
	v = json_object_new_int64(m->group);
	if (!v || json_add(o, "group", v) < 0)
		goto oom;
	v = json_object_new_boolean(m->requested);
	if (!v || json_add(o, "requested", v) < 0)
		goto oom;
	v = json_string_or_null(m->original_driver);
	if ((m->original_driver && !v) || json_add(o, "original_driver", v) < 0)
		goto oom;
	v = json_string_or_null(m->original_override);
	if ((m->original_override && !v) || json_add(o, "original_driver_override", v) < 0)
		goto oom;
	v = json_object_new_boolean(m->changed);
	if (!v || json_add(o, "changed", v) < 0)
		goto oom;
	v = json_object_new_string(member_vfio_driver(m));
	if (!v || json_add(o, "vfio_driver", v) < 0)
		goto oom;

	*ret = o;
	return 0;
oom:
	json_object_put(o);
	return -ENOMEM;
}

int vfd_bind_record_to_json(const vfd_bind_record *r, struct json_object **ret)
{
	struct json_object *o, *a;
	size_t i;

	if (!r || !ret)
		return -EINVAL;

	o = json_object_new_object();
	a = json_object_new_array();
	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		return -ENOMEM;
	}
	if (json_add(o, "members", a) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}

	for (i = 0; i < r->n_members; i++) {
		struct json_object *m;
		int q;

		q = member_to_json(&r->members[i], &m);
		if (q < 0 || json_object_array_add(a, m) < 0) {
			if (q >= 0)
				json_object_put(m);
			json_object_put(o);
			return -ENOMEM;
		}
	}
	*ret = o;
	return 0;
}

static int json_get_driver_name(struct json_object *o, const char *key, char **ret)
{
	struct json_object *v;
	const char *s;
	char *dup;

	/* a missing key and null both mean "none" */
	if (!json_object_object_get_ex(o, key, &v) || !v) {
		*ret = NULL;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	/* these names become sysfs path components and attribute values */
	if (!vfd_name_is_component(s) || strlen(s) > 255 || strpbrk(s, "\n "))
		return -EINVAL;
	dup = strdup(s);
	if (!dup)
		return -ENOMEM;
	*ret = dup;
	return 0;
}

static int json_get_bool(struct json_object *o, const char *key, bool *ret)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	*ret = json_object_get_boolean(v);
	return 0;
}

static int member_from_json(struct json_object *o, vfd_bind_member *ret)
{
	_cleanup_free_ char *driver = NULL, *override = NULL, *vfio_driver = NULL;
	vfd_bind_member m = { 0 };
	struct json_object *v;
	vfd_pci_address a;
	const char *name;
	int64_t group;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return -EINVAL;

	if (!json_object_object_get_ex(o, "name", &v) || !json_object_is_type(v, json_type_string))
		return -EINVAL;
	name = json_object_get_string(v);
	r = vfd_pci_address_parse(name, &a);
	if (r < 0)
		return r;
	/* canonical form only, so the name compares equal to sysfs's */
	vfd_pci_address_format(&a, m.name);
	if (strcmp(m.name, name) != 0)
		return -EINVAL;

	if (!json_object_object_get_ex(o, "group", &v) || !json_object_is_type(v, json_type_int))
		return -EINVAL;
	group = json_object_get_int64(v);
	if (group < 0 || group > (int64_t)UINT_MAX)
		return -EINVAL;
	m.group = (unsigned)group;

	r = json_get_bool(o, "requested", &m.requested);
	if (r < 0)
		return r;
	r = json_get_bool(o, "changed", &m.changed);
	if (r < 0)
		return r;
	r = json_get_driver_name(o, "original_driver", &driver);
	if (r < 0)
		return r;
	r = json_get_driver_name(o, "original_driver_override", &override);
	if (r < 0)
		return r;
	r = json_get_driver_name(o, "vfio_driver", &vfio_driver);
	if (r < 0)
		return r;

	m.original_driver = TAKE_PTR(driver);
	m.original_override = TAKE_PTR(override);
	m.vfio_driver = TAKE_PTR(vfio_driver);
	*ret = m;
	return 0;
}

int vfd_bind_record_from_json(struct json_object *j, vfd_bind_record **ret)
{
	_cleanup_(vfd_bind_record_freep) vfd_bind_record *rec = NULL;
	struct json_object *a;
	size_t i, n;
	int r;

	if (!j || !ret)
		return -EINVAL;
	if (!json_object_is_type(j, json_type_object) ||
	    !json_object_object_get_ex(j, "members", &a) || !json_object_is_type(a, json_type_array))
		return -EINVAL;

	n = json_object_array_length(a);
	if (n > 65536)
		return -EINVAL;
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	if (n > 0) {
		rec->members = calloc(n, sizeof(*rec->members));
		if (!rec->members)
			return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		r = member_from_json(json_object_array_get_idx(a, i), &rec->members[i]);
		if (r < 0)
			return r;
		rec->n_members++;
	}

	*ret = TAKE_PTR(rec);
	return 0;
}
