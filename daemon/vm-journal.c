/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM journal: writing and reading it; see vm-journal.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal-file.h"
#include "log.h"
#include "manager.h"
#include "vfiod/util.h"
#include "vfiod/process.h"
#include "vm-backend.h"
#include "vm-journal.h"
#include "vm-private.h"
#include "vm-memlock.h"

#define JOURNAL_VERSION 1

/* ---- writing ---- */

/* "vgpu_type": absent in journals of older versions, which set none */
static int journal_get_vgpu_type(json_object *o, unsigned *ret)
{
	uint64_t v;

	if (!json_object_object_get_ex(o, "vgpu_type", NULL)) {
		*ret = 0;
		return 0;
	}
	if (journal_get_u64(o, "vgpu_type", &v) < 0 || v > UINT32_MAX)
		return -EBADMSG;
	*ret = (unsigned) v;
	return 0;
}

static int add(json_object *o, const char *key, json_object *v)
{
	if (!v && strcmp(key, "") == 0)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static int bind_json(const vfd_bind_record *rec, json_object **ret)
{
	if (!rec) {
		*ret = NULL;
		return 0;
	}
	return vfd_bind_record_to_json(rec, ret);
}

static int device_to_json(const VMDevice *d, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object *bind = NULL;
	int r;

	if (!o)
		return -ENOMEM;
	r = bind_json(d->bind, &bind);
	if (r < 0)
		return r;
	if (add(o, "name", json_object_new_string(d->name)) < 0 ||
	    add(o, "mdev", json_object_new_boolean(d->is_mdev)) < 0 ||
	    add(o, "iommu_group", json_object_new_int(d->iommu_group)) < 0 ||
	    add(o, "created", json_object_new_boolean(d->created)) < 0 ||
	    add(o, "bind", bind) < 0 ||
	    add(o, "granted", json_object_new_boolean(d->granted)) < 0 ||
	    add(o, "previous_uid", u64(d->previous_owner.uid)) < 0 ||
	    add(o, "previous_gid", u64(d->previous_owner.gid)) < 0 ||
	    add(o, "vmm_attaches", json_object_new_boolean(d->vmm_attaches)) < 0 ||
	    add(o, "in_use", json_object_new_boolean(d->in_use)) < 0 ||
	    add(o, "vgpu_type", u64(d->vgpu_type)) < 0)
		return -ENOMEM;
	/* which copies of the VMM's cdev files vfiod holds (vm-backend-iommufd.c); unknown: none */
	if (d->handed_known && add(o, "handed_slots", u64(vm_device_handed_slots(d))) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

static const char *txn_op_to_string(VMTxnOp op)
{
	return op == VM_TXN_ADD ? "add" : op == VM_TXN_REMOVE ? "remove" : NULL;
}

static int vm_to_json(const VM *vm, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object *devices, *vmm = NULL, *txn = NULL, *memlock;
	int r;

	if (!o)
		return -ENOMEM;
	if (add(o, "version", json_object_new_int(JOURNAL_VERSION)) < 0 ||
	    add(o, "id", u64(vm->id)) < 0 ||
	    add(o, "name", json_object_new_string(vm->name)) < 0 ||
	    add(o, "uuid", json_object_new_string(vm->uuid)) < 0 ||
	    add(o, "owner_uid", u64(vm->identity.owner_uid)) < 0 ||
	    add(o, "vmm_secret", json_object_new_string(vm->identity.vmm_secret)) < 0 ||
	    add(o, "backend", json_object_new_string(vm_backend_to_string(vm->backend))) < 0 ||
	    add(o, "memory_bytes", u64(vm->memory_bytes)) < 0 ||
	    add(o, "viommu", json_object_new_boolean(vm->viommu)) < 0 ||
	    add(o, "vmm_opens_groups", json_object_new_boolean(vm->vmm_opens_groups)) < 0 ||
	    add(o, "grant_group_nodes", json_object_new_boolean(vm->grant_group_nodes)) < 0 ||
	    add(o, "release_on_exit", json_object_new_boolean(vm->release_on_exit)) < 0 ||
	    add(o, "state", json_object_new_string(vm_state_to_string(vm->state))) < 0 ||
	    add(o, "fds_handed_out", json_object_new_boolean(vm->fds_handed_out)) < 0)
		return -ENOMEM;

	if (vm_has_vmm(vm)) {
		uint64_t start = 0;
		uid_t uid = vm->vmm.uid;
		bool exited;

		vmm = json_object_new_object();
		if (!vmm)
			return -ENOMEM;
		/*
		 * Read anew at every write: a VMM may drop to its user after
		 * registration (QEMU's -run-with user=), and the next vfiod
		 * compares the process with what was seen last. Once the VMM has
		 * exited its pid may name another process: nothing is read then,
		 * and the next vfiod never adopts it.
		 */
		exited = vm->vmm_exited || vmm_process_observe(&vm->vmm, &start, &uid) < 0;
		if (add(vmm, "pid", u64((uint64_t) vm->vmm.pid)) < 0 ||
		    add(vmm, "exited", json_object_new_boolean(exited)) < 0 ||
		    add(vmm, "start_time", u64(start)) < 0 ||
		    add(vmm, "uid", u64(uid)) < 0 ||
		    add(vmm, "gid", u64(vm->vmm.gid)) < 0) {
			json_object_put(vmm);
			return -ENOMEM;
		}
	}
	if (add(o, "vmm", vmm) < 0)
		return -ENOMEM;

	memlock = json_object_new_object();
	if (!memlock || add(o, "memlock", memlock) < 0)
		return -ENOMEM;
	if (add(memlock, "apply", json_object_new_boolean(vm->memlock.apply)) < 0 ||
	    add(memlock, "policy", json_object_new_string(vfd_memlock_policy_to_string(vm->memlock.policy))) < 0 ||
	    add(memlock, "cap", u64(vm->memlock.cap)) < 0 ||
	    add(memlock, "original_known", json_object_new_boolean(vm->memlock.original_known)) < 0 ||
	    add(memlock, "original", u64(vm->memlock.original)) < 0 ||
	    add(memlock, "original_hard", u64(vm->memlock.original_hard)) < 0 ||
	    add(memlock, "applied", u64(vm->memlock.applied)) < 0 ||
	    add(memlock, "extra_charge", u64(vm->memlock.extra_charge_bytes)) < 0)
		return -ENOMEM;
	if (vm->memlock.headroom_set && add(memlock, "headroom", u64(vm->memlock.headroom_bytes)) < 0)
		return -ENOMEM;

	devices = json_object_new_array();
	if (!devices || add(o, "devices", devices) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < vm->n_devices; i++) {
		json_object *d;

		r = device_to_json(&vm->devices[i], &d);
		if (r < 0)
			return r;
		if (json_object_array_add(devices, d) < 0) {
			json_object_put(d);
			return -ENOMEM;
		}
	}

	if (vm->txn.op != VM_TXN_NONE) {
		json_object *planned = NULL;

		txn = json_object_new_object();
		if (!txn)
			return -ENOMEM;
		r = bind_json(vm->txn.planned, &planned);
		if (r < 0 || add(txn, "op", json_object_new_string(txn_op_to_string(vm->txn.op))) < 0 ||
		    add(txn, "device", json_object_new_string(vm->txn.device)) < 0 ||
		    add(txn, "creates_mdev", json_object_new_boolean(vm->txn.creates_mdev)) < 0 ||
		    add(txn, "vgpu_type", u64(vm->txn.vgpu_type)) < 0 ||
		    add(txn, "planned", planned) < 0) {
			json_object_put(txn);
			return r < 0 ? r : -ENOMEM;
		}
	}
	if (add(o, "transaction", txn) < 0)
		return -ENOMEM;

	/* the charge left the VMM without a commit: vfiod sets no limit for the VM (vm_memlock_strand()) */
	if (vm->memlock.stranded && add(o, "charge_stranded", json_object_new_boolean(true)) < 0)
		return -ENOMEM;

	/*
	 * A move of the charge under way whose target's limit vfiod raises
	 * (journaled before the raise): a vfiod that dies before its end sets
	 * that limit back at its next start (vm_memlock_move_recover()), if
	 * the process is still the same, and compares the VMM's VmPin with
	 * old_pinned, its value at the move's start.
	 */
	if (vm->identity.change.target.pidfd >= 0 && vm->memlock.move_raised) {
		json_object *change = json_object_new_object();

		if (!change || add(o, "process_change", change) < 0 ||
		    add(change, "pid", u64((uint64_t) vm->identity.change.target.pid)) < 0 ||
		    add(change, "start_time", u64(vm->identity.change.start_time)) < 0 ||
		    add(change, "original", u64(vm->memlock.move_original)) < 0 ||
		    add(change, "original_hard", u64(vm->memlock.move_original_hard)) < 0 ||
		    add(change, "old_pinned", u64(vm->identity.change.old_pinned)) < 0)
			return -ENOMEM;
	}

	*ret = TAKE_PTR(o);
	return 0;
}

#define JOURNAL_RETRY_FIRST_USEC (1 * UINT64_C(1000000))
#define JOURNAL_RETRY_MAX_USEC (30 * UINT64_C(1000000))

static int on_journal_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	VM *vm = userdata;

	retry_timer_disarm(&vm->journal.retry);
	(void) vm_journal_save(vm);
	return 0;
}

/*
 * A write that failed leaves an older record on disk: written again on a
 * timer (1 s, doubling up to 30 s) until it succeeds or a later change
 * writes it, so that the file catches up with what vfiod did.
 */
static void retry_later(VM *vm)
{
	if (retry_timer_arm(&vm->journal.retry, vm->manager->event, JOURNAL_RETRY_FIRST_USEC,
			    JOURNAL_RETRY_MAX_USEC, on_journal_retry, vm) < 0)
		log_error("VM %s: cannot arm the journal's next write; the next change writes it.",
			  vm->name);
}

int vm_journal_save(VM *vm)
{
	_cleanup_(json_object_putp) json_object *o = NULL;
	int r;

	if (!vm->manager->journal_dir)
		return 0;
	r = vm_to_json(vm, &o);
	if (r >= 0)
		r = journal_file_write(vm->manager->journal_dir, vm->name, o);
	if (r < 0) {
		log_error_errno(r, "VM %s: cannot write its journal in %s: %m; trying again.", vm->name,
				vm->manager->journal_dir);
		retry_later(vm);
		return r;
	}
	retry_timer_reset(&vm->journal.retry);
	return 0;
}

void vm_journal_done(VM *vm)
{
	retry_timer_reset(&vm->journal.retry);
}

void vm_journal_remove(VM *vm)
{
	int r;

	vm_journal_done(vm);
	if (!vm->manager->journal_dir)
		return;
	r = journal_file_remove(vm->manager->journal_dir, vm->name);
	if (r < 0)
		log_warning_errno(r, "VM %s: cannot remove its journal in %s: %m", vm->name,
				  vm->manager->journal_dir);
}

/* ---- reading ---- */

/* a bind record, or JSON null */
static int get_bind(json_object *o, const char *key, vfd_bind_record **ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return -EBADMSG;
	*ret = NULL;
	if (!v)
		return 0;
	return vfd_bind_record_from_json(v, ret) < 0 ? -EBADMSG : 0;
}

/* a device is a PCI function (canonical address) or an mdev (UUID): nothing else */
static int device_name_copy(char dst[VFD_UUID_STRLEN], const char *src)
{
	char canonical[VFD_PCI_ADDRESS_STRLEN];
	vfd_pci_address a;

	if (strlen(src) >= VFD_UUID_STRLEN)
		return -EBADMSG;
	if (vfd_pci_address_parse(src, &a) >= 0) {
		vfd_pci_address_format(&a, canonical);
		if (strcmp(canonical, src) != 0)
			return -EBADMSG;
	} else if (vfd_uuid_validate(src) < 0)
		return -EBADMSG;
	snprintf(dst, VFD_UUID_STRLEN, "%s", src);
	return 0;
}

static int device_from_json(json_object *o, VMDevice *d)
{
	const char *name;
	uint64_t uid, gid, handed;
	int r;

	*d = (VMDevice) { .cdev_fd = -1, .handed = VM_HANDED_NONE };
	if (!json_object_is_type(o, json_type_object))
		return -EBADMSG;
	r = journal_get_string(o, "name", &name);
	if (r >= 0)
		r = device_name_copy(d->name, name);
	if (r >= 0)
		r = journal_get_bool(o, "mdev", &d->is_mdev);
	if (r >= 0) {
		json_object *v;

		r = journal_get(o, "iommu_group", json_type_int, &v);
		if (r >= 0 && (json_object_get_int64(v) < -1 || json_object_get_int64(v) > INT32_MAX))
			r = -EBADMSG;
		if (r >= 0)
			d->iommu_group = json_object_get_int(v);
	}
	if (r >= 0)
		r = journal_get_bool(o, "created", &d->created);
	if (r >= 0)
		r = journal_get_bool(o, "granted", &d->granted);
	if (r >= 0)
		r = journal_get_u64(o, "previous_uid", &uid);
	if (r >= 0)
		r = journal_get_u64(o, "previous_gid", &gid);
	if (r >= 0)
		r = journal_get_bool(o, "vmm_attaches", &d->vmm_attaches);
	if (r >= 0)
		r = journal_get_vgpu_type(o, &d->vgpu_type);
	if (r >= 0)
		r = journal_get_bool(o, "in_use", &d->in_use);
	if (r >= 0)
		r = get_bind(o, "bind", &d->bind);
	if (r < 0)
		return r;
	/* absent (written before a restart lost track of them): unknown */
	if (journal_get_u64(o, "handed_slots", &handed) >= 0) {
		if (handed >= 1u << VM_HANDED_MAX) {
			vfd_bind_record_free(TAKE_PTR(d->bind));
			return -EBADMSG;
		}
		d->handed_known = true;
		d->handed_journaled = (unsigned) handed;
	}
	d->previous_owner.uid = (uid_t) uid;
	d->previous_owner.gid = (gid_t) gid;
	return 0;
}

void vm_journal_record_done(VMJournalRecord *j)
{
	if (!j->saved)
		return;
	for (size_t i = 0; i < j->saved->n_devices; i++)
		vfd_bind_record_free(j->saved->devices[i].bind);
	free(j->saved->devices);
	vfd_bind_record_free(j->saved->txn.planned);
	free(j->saved);
	j->saved = NULL;
}

static int state_from_string(const char *s, VMState *ret)
{
	for (int i = 0; i < _VM_STATE_MAX; i++)
		if (strcmp(vm_state_to_string((VMState) i), s) == 0) {
			*ret = (VMState) i;
			return 0;
		}
	return -EBADMSG;
}

int vm_journal_record_parse(json_object *o, VMJournalRecord *j)
{
	json_object *v, *memlock, *devices, *txn, *change;
	const char *s;
	uint64_t u, version;
	int r, p;

	if (!json_object_is_type(o, json_type_object))
		return -EBADMSG;
	j->saved = calloc(1, sizeof(*j->saved));
	if (!j->saved)
		return -ENOMEM;
	r = journal_get_u64(o, "version", &version);
	if (r < 0 || version != JOURNAL_VERSION)
		return -EPROTONOSUPPORT;
	if (journal_get_u64(o, "id", &u) < 0 || u == 0 || u > UINT32_MAX)
		return -EBADMSG;
	j->id = (unsigned) u;
	if (journal_get_string(o, "name", &j->config.name) < 0 || !vfd_vm_name_is_valid(j->config.name) ||
	    journal_get_string(o, "uuid", &j->config.uuid) < 0 || vfd_uuid_validate(j->config.uuid) < 0)
		return -EBADMSG;
	if (journal_get_string(o, "backend", &s) < 0 || vm_backend_from_string(s, &j->config.backend) < 0)
		return -EBADMSG;
	/*
	 * Owner and secret came with VM ownership: a journal of an older vfiod
	 * has neither, and its VM becomes root's with a new secret (safe: only
	 * fewer callers may act on it). Present but malformed is corrupt.
	 */
	if (json_object_object_get_ex(o, "owner_uid", NULL)) {
		if (journal_get_u64(o, "owner_uid", &u) < 0 || u > UINT32_MAX - 1)
			return -EBADMSG;
		j->config.owner_uid = (uid_t) u;
	}
	if (json_object_object_get_ex(o, "vmm_secret", NULL) &&
	    (journal_get_string(o, "vmm_secret", &j->saved->vmm_secret) < 0 || !vm_secret_is_valid(j->saved->vmm_secret)))
		return -EBADMSG;
	if (journal_get_u64(o, "memory_bytes", &j->config.memory_bytes) < 0 ||
	    journal_get_bool(o, "viommu", &j->config.viommu) < 0 ||
	    journal_get_bool(o, "vmm_opens_groups", &j->config.vmm_opens_groups) < 0 ||
	    journal_get_bool(o, "grant_group_nodes", &j->config.grant_group_nodes) < 0 ||
	    journal_get_bool(o, "release_on_exit", &j->config.release_on_exit) < 0 ||
	    journal_get_bool(o, "fds_handed_out", &j->saved->fds_handed_out) < 0)
		return -EBADMSG;
	if (journal_get_string(o, "state", &s) < 0 || state_from_string(s, &j->saved->state) < 0)
		return -EBADMSG;

	if (!json_object_object_get_ex(o, "vmm", &v))
		return -EBADMSG;
	if (v) {
		if (journal_get_u64(v, "pid", &u) < 0 || u == 0 || u > INT32_MAX)
			return -EBADMSG;
		j->pid = (pid_t) u;
		if (journal_get_u64(v, "start_time", &j->start_time) < 0)
			return -EBADMSG;
		/*
		 * The uid is required: every vfiod wrote it, and without it the
		 * process at pid could not be told from a stranger's. Such a
		 * journal is refused as a whole (set aside, devices left as they
		 * are) rather than released: releasing would unbind devices a
		 * VMM that still runs may hold.
		 */
		if (journal_get_u64(v, "uid", &u) < 0 || u >= (uid_t) -1)
			return -EBADMSG;
		j->uid = (uid_t) u;
		/* optional: journals written before it was recorded */
		if (json_object_object_get_ex(v, "exited", NULL) &&
		    journal_get_bool(v, "exited", &j->vmm_exited) < 0)
			return -EBADMSG;
		j->have_vmm = true;
	}

	if (journal_get(o, "memlock", json_type_object, &memlock) < 0 ||
	    journal_get_bool(memlock, "apply", &j->config.apply_memlock) < 0 ||
	    journal_get_string(memlock, "policy", &s) < 0 ||
	    journal_get_u64(memlock, "cap", &j->config.memlock_cap) < 0 ||
	    journal_get_bool(memlock, "original_known", &j->saved->memlock_original_known) < 0 ||
	    journal_get_u64(memlock, "original", &j->saved->memlock_original) < 0 ||
	    journal_get_u64(memlock, "original_hard", &j->saved->memlock_original_hard) < 0 ||
	    journal_get_u64(memlock, "applied", &j->saved->memlock_applied) < 0 ||
	    journal_get_u64(memlock, "extra_charge", &j->config.extra_charge_bytes) < 0)
		return -EBADMSG;
	/* optional: absent, the configured headroom */
	if (json_object_object_get_ex(memlock, "headroom", NULL)) {
		if (journal_get_u64(memlock, "headroom", &j->config.memlock_headroom_bytes) < 0)
			return -EBADMSG;
		j->config.memlock_headroom_set = true;
	}
	p = vfd_memlock_policy_from_string(s);
	if (p < 0)
		return -EBADMSG;
	j->config.memlock_policy = (vfd_memlock_policy) p;

	if (journal_get(o, "devices", json_type_array, &devices) < 0)
		return -EBADMSG;
	j->saved->n_devices = 0;
	j->saved->devices = calloc(json_object_array_length(devices) + 1, sizeof(*j->saved->devices));
	if (!j->saved->devices)
		return -ENOMEM;
	for (size_t i = 0; i < json_object_array_length(devices); i++) {
		r = device_from_json(json_object_array_get_idx(devices, i), &j->saved->devices[i]);
		if (r < 0)
			return r;
		j->saved->n_devices++;
	}

	/* optional: only while a move of the charge was under way */
	if (json_object_object_get_ex(o, "process_change", &change)) {
		if (!change || journal_get_u64(change, "pid", &u) < 0 || u == 0 || u > INT32_MAX ||
		    journal_get_u64(change, "start_time", &j->saved->change_start_time) < 0 ||
		    journal_get_u64(change, "original", &j->saved->change_original) < 0 ||
		    journal_get_u64(change, "original_hard", &j->saved->change_original_hard) < 0)
			return -EBADMSG;
		j->saved->change_pid = (pid_t) u;
		/* optional: journals before it have none */
		if (json_object_object_get_ex(change, "old_pinned", NULL)) {
			if (journal_get_u64(change, "old_pinned", &j->saved->change_old_pinned) < 0)
				return -EBADMSG;
			j->saved->change_old_pinned_known = true;
		}
	}
	if (json_object_object_get_ex(o, "charge_stranded", NULL) &&
	    journal_get_bool(o, "charge_stranded", &j->saved->charge_stranded) < 0)
		return -EBADMSG;

	if (!json_object_object_get_ex(o, "transaction", &txn))
		return -EBADMSG;
	if (txn) {
		if (journal_get_string(txn, "op", &s) < 0)
			return -EBADMSG;
		j->saved->txn.op = strcmp(s, "add") == 0 ? VM_TXN_ADD : strcmp(s, "remove") == 0 ? VM_TXN_REMOVE :
			    VM_TXN_NONE;
		if (j->saved->txn.op == VM_TXN_NONE || journal_get_string(txn, "device", &s) < 0 ||
		    device_name_copy(j->saved->txn.device, s) < 0 ||
		    journal_get_bool(txn, "creates_mdev", &j->saved->txn.creates_mdev) < 0 ||
		    journal_get_vgpu_type(txn, &j->saved->txn.vgpu_type) < 0 ||
		    get_bind(txn, "planned", &j->saved->txn.planned) < 0)
			return -EBADMSG;
	}
	return 0;
}

int vm_journal_parse_text(const char *text)
{
	_cleanup_(json_object_putp) json_object *o = NULL;
	VMJournalRecord j = {};
	/* the parse recovery uses: strict, then the fields */
	int r = journal_file_parse(text, strlen(text), &o);

	if (r >= 0)
		r = vm_journal_record_parse(o, &j);

	vm_journal_record_done(&j);
	return r;
}
