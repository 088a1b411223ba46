/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM journal and the recovery at startup; see vm-journal.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"
#include "vfd-util.h"
#include "vm-journal.h"
#include "vm-memlock.h"

#define JOURNAL_VERSION 1
#define JOURNAL_MAX_BYTES (4 << 20)

VFD_DEFINE_CLEANUP(json_object, json_object_put)

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static char *test_crash_point;

void vm_journal_set_test_crash(const char *point)
{
	free(test_crash_point);
	test_crash_point = point && *point ? strdup(point) : NULL;
}

void vm_journal_crash_point(const char *point)
{
	if (test_crash_point && strcmp(test_crash_point, point) == 0) {
		log_warning("TEST CRASH at %s: exiting without cleanup.", point);
		_exit(70);
	}
}

/* ---- the VMM's identity across a restart: pid and start time ---- */

/* field 22 of /proc/PID/stat, in clock ticks since boot; -ESRCH when gone */
static int process_start_time(pid_t pid, uint64_t *ret)
{
	char path[64], buf[1024];
	unsigned long long t;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : negative_errno();
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* the command name may hold anything: fields start after the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return -EBADMSG;
	p++;
	/* fields 3..21 skipped: state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice num_threads itrealvalue */
	if (sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &t) != 1)
		return -EBADMSG;
	*ret = t;
	return 0;
}

/* ---- writing ---- */

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
	    add(o, "in_use", json_object_new_boolean(d->in_use)) < 0)
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
	    add(o, "owner_uid", u64(vm->owner_uid)) < 0 ||
	    add(o, "vmm_secret", json_object_new_string(vm->vmm_secret)) < 0 ||
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

		vmm = json_object_new_object();
		if (!vmm)
			return -ENOMEM;
		(void) process_start_time(vm->vmm.pid, &start);
		if (add(vmm, "pid", u64((uint64_t) vm->vmm.pid)) < 0 ||
		    add(vmm, "start_time", u64(start)) < 0 ||
		    add(vmm, "uid", u64(vm->vmm.uid)) < 0 ||
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
	if (add(memlock, "apply", json_object_new_boolean(vm->apply_memlock)) < 0 ||
	    add(memlock, "policy", json_object_new_string(vfd_memlock_policy_to_string(vm->memlock_policy))) < 0 ||
	    add(memlock, "cap", u64(vm->memlock_cap)) < 0 ||
	    add(memlock, "original_known", json_object_new_boolean(vm->memlock_original_known)) < 0 ||
	    add(memlock, "original", u64(vm->memlock_original)) < 0 ||
	    add(memlock, "original_hard", u64(vm->memlock_original_hard)) < 0 ||
	    add(memlock, "applied", u64(vm->memlock_applied)) < 0 ||
	    add(memlock, "extra_charge", u64(vm->extra_charge_bytes)) < 0)
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
		    add(txn, "planned", planned) < 0) {
			json_object_put(txn);
			return r < 0 ? r : -ENOMEM;
		}
	}
	if (add(o, "transaction", txn) < 0)
		return -ENOMEM;

	*ret = TAKE_PTR(o);
	return 0;
}

static int journal_path(const Manager *m, const char *name, const char *suffix, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s.json%s", m->journal_dir, name, suffix);

	return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static int mkdir_parents(const char *dir)
{
	char buf[4096];
	size_t n = strlen(dir);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return negative_errno();
			*p = '/';
		}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

static int write_atomically(const char *dir, const char *path, const char *tmp, const char *text)
{
	size_t len = strlen(text), done = 0;
	int fd, dfd, r = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return negative_errno();
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = negative_errno();
			break;
		}
		done += (size_t) n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = negative_errno();
	if (close(fd) < 0 && r == 0)
		r = negative_errno();
	if (r == 0 && rename(tmp, path) < 0)
		r = negative_errno();
	if (r < 0) {
		(void) unlink(tmp);
		return r;
	}
	/* the rename itself must survive a crash */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void) fsync(dfd);
		close(dfd);
	}
	return 0;
}

int vm_journal_save(VM *vm)
{
	_cleanup_(json_object_putp) json_object *o = NULL;
	char path[4096], tmp[4096];
	const char *text;
	int r;

	if (!vm->manager->journal_dir)
		return 0;
	r = vm_to_json(vm, &o);
	if (r >= 0)
		r = mkdir_parents(vm->manager->journal_dir);
	if (r >= 0)
		r = journal_path(vm->manager, vm->name, "", path, sizeof(path));
	if (r >= 0)
		r = journal_path(vm->manager, vm->name, ".tmp", tmp, sizeof(tmp));
	if (r >= 0) {
		text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
		r = text ? write_atomically(vm->manager->journal_dir, path, tmp, text) : -ENOMEM;
	}
	if (r < 0)
		log_error_errno(r, "VM %s: cannot write its journal in %s: %m", vm->name,
				vm->manager->journal_dir);
	return r;
}

void vm_journal_remove(VM *vm)
{
	char path[4096];

	if (!vm->manager->journal_dir || journal_path(vm->manager, vm->name, "", path, sizeof(path)) < 0)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		log_warning_errno(errno, "VM %s: cannot remove its journal %s: %m", vm->name, path);
}

/* ---- reading ---- */

static int get(json_object *o, const char *key, json_type type, json_object **ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return -EBADMSG;
	*ret = v;
	return 0;
}

static int get_bool(json_object *o, const char *key, bool *ret)
{
	json_object *v;
	int r = get(o, key, json_type_boolean, &v);

	if (r >= 0)
		*ret = json_object_get_boolean(v);
	return r;
}

static int get_u64(json_object *o, const char *key, uint64_t *ret)
{
	json_object *v;
	int r = get(o, key, json_type_int, &v);

	if (r < 0)
		return r;
	errno = 0;
	*ret = json_object_get_uint64(v);
	return errno ? -EBADMSG : 0;
}

static int get_string(json_object *o, const char *key, const char **ret)
{
	json_object *v;
	int r = get(o, key, json_type_string, &v);

	if (r >= 0)
		*ret = json_object_get_string(v);
	return r;
}

/* a bind record, or JSON null */
static int get_bind(json_object *o, const char *key, vfd_bind_record **ret)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return -EBADMSG;
	*ret = NULL;
	if (!v)
		return 0;
	return vfd_bind_record_from_json(v, ret);
}

static int device_name_copy(char dst[VFD_UUID_STRLEN], const char *src)
{
	if (strlen(src) >= VFD_UUID_STRLEN)
		return -EBADMSG;
	snprintf(dst, VFD_UUID_STRLEN, "%s", src);
	return 0;
}

static int device_from_json(json_object *o, VMDevice *d)
{
	const char *name;
	uint64_t uid, gid;
	int r;

	*d = (VMDevice) { .cdev_fd = -1 };
	if (!json_object_is_type(o, json_type_object))
		return -EBADMSG;
	r = get_string(o, "name", &name);
	if (r >= 0)
		r = device_name_copy(d->name, name);
	if (r >= 0)
		r = get_bool(o, "mdev", &d->is_mdev);
	if (r >= 0) {
		json_object *v;

		r = get(o, "iommu_group", json_type_int, &v);
		if (r >= 0)
			d->iommu_group = json_object_get_int(v);
	}
	if (r >= 0)
		r = get_bool(o, "created", &d->created);
	if (r >= 0)
		r = get_bool(o, "granted", &d->granted);
	if (r >= 0)
		r = get_u64(o, "previous_uid", &uid);
	if (r >= 0)
		r = get_u64(o, "previous_gid", &gid);
	if (r >= 0)
		r = get_bool(o, "vmm_attaches", &d->vmm_attaches);
	if (r >= 0)
		r = get_bool(o, "in_use", &d->in_use);
	if (r >= 0)
		r = get_bind(o, "bind", &d->bind);
	if (r < 0)
		return r;
	d->previous_owner.uid = (uid_t) uid;
	d->previous_owner.gid = (gid_t) gid;
	return 0;
}

typedef struct JournalVM {
	VMConfig config;
	const char *vmm_secret; /* the VMM's proof (vm-identity.h), kept across restarts */
	unsigned id;
	VMState state;
	bool fds_handed_out;
	bool have_vmm;
	pid_t pid;
	uint64_t start_time;
	bool memlock_original_known;
	uint64_t memlock_original, memlock_original_hard, memlock_applied;
	VMDevice *devices;
	size_t n_devices;
	VMTxn txn;
} JournalVM;

static void journal_vm_done(JournalVM *j)
{
	for (size_t i = 0; i < j->n_devices; i++)
		vfd_bind_record_free(j->devices[i].bind);
	free(j->devices);
	vfd_bind_record_free(j->txn.planned);
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

static int journal_vm_parse(json_object *o, JournalVM *j)
{
	json_object *v, *memlock, *devices, *txn;
	const char *s;
	uint64_t u, version;
	int r, p;

	if (!json_object_is_type(o, json_type_object))
		return -EBADMSG;
	r = get_u64(o, "version", &version);
	if (r < 0 || version != JOURNAL_VERSION)
		return -EPROTONOSUPPORT;
	if (get_u64(o, "id", &u) < 0 || u == 0 || u > UINT32_MAX)
		return -EBADMSG;
	j->id = (unsigned) u;
	if (get_string(o, "name", &j->config.name) < 0 || !vfd_vm_name_is_valid(j->config.name) ||
	    get_string(o, "uuid", &j->config.uuid) < 0 || vfd_uuid_validate(j->config.uuid) < 0)
		return -EBADMSG;
	if (get_string(o, "backend", &s) < 0 || vm_backend_from_string(s, &j->config.backend) < 0)
		return -EBADMSG;
	/*
	 * Owner and secret came with VM ownership: a journal of an older vfiod
	 * has neither, and its VM becomes root's with a new secret (safe: only
	 * fewer callers may act on it). Present but malformed is corrupt.
	 */
	if (json_object_object_get_ex(o, "owner_uid", NULL)) {
		if (get_u64(o, "owner_uid", &u) < 0 || u > UINT32_MAX - 1)
			return -EBADMSG;
		j->config.owner_uid = (uid_t) u;
	}
	if (json_object_object_get_ex(o, "vmm_secret", NULL) &&
	    (get_string(o, "vmm_secret", &j->vmm_secret) < 0 || !vm_secret_is_valid(j->vmm_secret)))
		return -EBADMSG;
	if (get_u64(o, "memory_bytes", &j->config.memory_bytes) < 0 ||
	    get_bool(o, "viommu", &j->config.viommu) < 0 ||
	    get_bool(o, "vmm_opens_groups", &j->config.vmm_opens_groups) < 0 ||
	    get_bool(o, "grant_group_nodes", &j->config.grant_group_nodes) < 0 ||
	    get_bool(o, "release_on_exit", &j->config.release_on_exit) < 0 ||
	    get_bool(o, "fds_handed_out", &j->fds_handed_out) < 0)
		return -EBADMSG;
	if (get_string(o, "state", &s) < 0 || state_from_string(s, &j->state) < 0)
		return -EBADMSG;

	if (!json_object_object_get_ex(o, "vmm", &v))
		return -EBADMSG;
	if (v) {
		if (get_u64(v, "pid", &u) < 0 || u == 0 || u > INT32_MAX)
			return -EBADMSG;
		j->pid = (pid_t) u;
		if (get_u64(v, "start_time", &j->start_time) < 0)
			return -EBADMSG;
		j->have_vmm = true;
	}

	if (get(o, "memlock", json_type_object, &memlock) < 0 ||
	    get_bool(memlock, "apply", &j->config.apply_memlock) < 0 ||
	    get_string(memlock, "policy", &s) < 0 ||
	    get_u64(memlock, "cap", &j->config.memlock_cap) < 0 ||
	    get_bool(memlock, "original_known", &j->memlock_original_known) < 0 ||
	    get_u64(memlock, "original", &j->memlock_original) < 0 ||
	    get_u64(memlock, "original_hard", &j->memlock_original_hard) < 0 ||
	    get_u64(memlock, "applied", &j->memlock_applied) < 0 ||
	    get_u64(memlock, "extra_charge", &j->config.extra_charge_bytes) < 0)
		return -EBADMSG;
	p = vfd_memlock_policy_from_string(s);
	if (p < 0)
		return -EBADMSG;
	j->config.memlock_policy = (vfd_memlock_policy) p;

	if (get(o, "devices", json_type_array, &devices) < 0)
		return -EBADMSG;
	j->n_devices = 0;
	j->devices = calloc(json_object_array_length(devices) + 1, sizeof(*j->devices));
	if (!j->devices)
		return -ENOMEM;
	for (size_t i = 0; i < json_object_array_length(devices); i++) {
		r = device_from_json(json_object_array_get_idx(devices, i), &j->devices[i]);
		if (r < 0)
			return r;
		j->n_devices++;
	}

	if (!json_object_object_get_ex(o, "transaction", &txn))
		return -EBADMSG;
	if (txn) {
		if (get_string(txn, "op", &s) < 0)
			return -EBADMSG;
		j->txn.op = strcmp(s, "add") == 0 ? VM_TXN_ADD : strcmp(s, "remove") == 0 ? VM_TXN_REMOVE :
			    VM_TXN_NONE;
		if (j->txn.op == VM_TXN_NONE || get_string(txn, "device", &s) < 0 ||
		    device_name_copy(j->txn.device, s) < 0 ||
		    get_bool(txn, "creates_mdev", &j->txn.creates_mdev) < 0 ||
		    get_bind(txn, "planned", &j->txn.planned) < 0)
			return -EBADMSG;
	}
	return 0;
}

static int read_file(int dfd, const char *name, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t done = 0;
	int fd, r = 0;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > JOURNAL_MAX_BYTES) {
		close(fd);
		return -EBADMSG;
	}
	buf = malloc((size_t) st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (done < (size_t) st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t) st.st_size - done);

		if (n <= 0) {
			r = n < 0 ? negative_errno() : -EBADMSG;
			break;
		}
		done += (size_t) n;
	}
	close(fd);
	if (r < 0)
		return r;
	buf[done] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

/* the VMM of the journal, if the same process still runs */
static int reopen_vmm(const JournalVM *j, VMMProcess *ret)
{
	uint64_t before, after;
	int r;

	if (process_start_time(j->pid, &before) < 0 || before != j->start_time)
		return -ESRCH;
	r = vmm_process_from_pid(j->pid, ret);
	if (r < 0)
		return r;
	/* the pidfd holds the pid now: the same start time proves the same process */
	if (process_start_time(j->pid, &after) < 0 || after != j->start_time) {
		vmm_process_done(ret);
		return -ESRCH;
	}
	return 0;
}

static int recover_one(Manager *m, JournalVM *j)
{
	VMMProcess vmm = VMM_PROCESS_NULL;
	bool alive = false;
	vfd_op_error error;
	VM *vm;
	int r;

	if (j->have_vmm)
		alive = reopen_vmm(j, &vmm) >= 0;

	r = manager_adopt_vm(m, j->id, &j->config, alive ? &vmm : NULL, &vm);
	vmm_process_done(&vmm);
	if (r < 0)
		return log_error_errno(r, "VM %s: cannot adopt it again from its journal: %m",
				       j->config.name);

	/* what the old process knew */
	if (j->vmm_secret)
		memcpy(vm->vmm_secret, j->vmm_secret, VM_SECRET_STRLEN);
	vm->devices = TAKE_PTR(j->devices);
	vm->n_devices = j->n_devices;
	j->n_devices = 0;
	vm->txn = j->txn;
	j->txn = (VMTxn) {};
	vm->fds_handed_out = j->fds_handed_out;
	vm->memlock_original_known = j->memlock_original_known;
	vm->memlock_original = j->memlock_original;
	vm->memlock_original_hard = j->memlock_original_hard;
	vm->memlock_applied = j->memlock_applied;
	if (j->have_vmm && !alive) {
		/* the VMM is gone: its descriptors and pins with it */
		vm->vmm_exited = true;
		vm->state = j->state == VM_STATE_PREPARED ? VM_STATE_REGISTERED : j->state;
	} else
		vm->state = j->state;

	vfd_op_error_clear(&error);
	r = vm_recover(vm, alive, &error);
	if (r == VM_STATE_RELEASED) {
		log_info("VM %s: released after vfiod's restart (its VMM is gone).", vm->name);
		manager_vm_gone(m, vm);
		return 0;
	}
	if (r == VM_STATE_FAILED) {
		log_error("VM %s: giving it back after vfiod's restart failed: %s%s%s; Release retries.",
			  vm->name, error.subject, *error.subject ? ": " : "", error.message);
		(void) vm_journal_save(vm);
		return 0;
	}
	log_info("VM %s: adopted again after vfiod's restart (%s, VMM pid %d).", vm->name,
		 vm_state_to_string(vm->state), (int) vm->vmm.pid);
	(void) vm_journal_save(vm);
	return 0;
}

static void set_aside(int dfd, const char *name)
{
	char aside[512];

	snprintf(aside, sizeof(aside), "%s.corrupt", name);
	if (renameat(dfd, name, dfd, aside) < 0)
		log_warning_errno(errno, "Cannot move the journal %s aside: %m", name);
}

int manager_recover_vms(Manager *m)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;

	if (!m->journal_dir)
		return 0;
	d = opendir(m->journal_dir);
	if (!d)
		return errno == ENOENT ? 0 : log_error_errno(errno, "Cannot read the VM journal %s: %m",
							     m->journal_dir);

	while ((de = readdir(d))) {
		_cleanup_(json_object_putp) json_object *o = NULL;
		_cleanup_free_ char *text = NULL;
		JournalVM j = {};
		size_t n = strlen(de->d_name);
		int r;

		if (n <= 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		r = read_file(dirfd(d), de->d_name, &text);
		if (r >= 0) {
			o = json_tokener_parse(text);
			r = o ? journal_vm_parse(o, &j) : -EBADMSG;
		}
		if (r < 0) {
			log_error_errno(r, "VM journal %s/%s is unreadable (%m); moved aside as .corrupt, "
					"its devices are left as they are.", m->journal_dir, de->d_name);
			journal_vm_done(&j);
			set_aside(dirfd(d), de->d_name);
			continue;
		}
		if (manager_find_vm(m, j.config.name) || manager_find_vm_by_id(m, j.id)) {
			log_error("VM journal %s/%s names a VM vfiod has already; left alone.",
				  m->journal_dir, de->d_name);
			journal_vm_done(&j);
			continue;
		}
		(void) recover_one(m, &j);
		journal_vm_done(&j);
	}
	return 0;
}

int vm_journal_parse_text(const char *text)
{
	_cleanup_(json_object_putp) json_object *o = json_tokener_parse(text);
	JournalVM j = {};
	int r = o ? journal_vm_parse(o, &j) : -EBADMSG;

	journal_vm_done(&j);
	return r;
}
