/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vm-identity.h"
#include "vm-private.h"
#include "vm.h"

int vm_secret_generate(char ret[VM_SECRET_STRLEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char bytes[(VM_SECRET_STRLEN - 1) / 2];
	size_t got = 0;

	while (got < sizeof(bytes)) {
		ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t) n;
	}
	for (size_t i = 0; i < sizeof(bytes); i++) {
		ret[2 * i] = hex[bytes[i] >> 4];
		ret[2 * i + 1] = hex[bytes[i] & 0xf];
	}
	ret[VM_SECRET_STRLEN - 1] = '\0';
	return 0;
}

bool vm_secret_is_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= VM_SECRET_STRLEN - 1 || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == VM_SECRET_STRLEN - 1;
}

/* every byte compared whatever the first difference: no timing oracle */
static bool secrets_equal(const char *a, const char *b)
{
	unsigned char diff = 0;

	for (size_t i = 0; i < VM_SECRET_STRLEN - 1; i++)
		diff |= (unsigned char) (a[i] ^ b[i]);
	return diff == 0;
}

/*
 * The caller's pid and uid are the live VMM's. The uid is the VMM's now:
 * a VMM may be named while it still runs as root and drop privileges
 * before it asks (as QEMU's -run-with user= does).
 */
static bool is_vmm_process(const VM *vm, pid_t pid, uid_t uid)
{
	uid_t now;

	/* the pidfd keeps the pid from being reused while the process lives */
	if (!vm_has_vmm(vm) || vm->vmm_exited || pid != vm->vmm.pid)
		return false;
	if (vmm_process_current_uid(&vm->vmm, &now) < 0)
		return false; /* exited, or unreadable: no proof */
	return now == uid;
}

int vm_authenticate_vmm(VM *vm, pid_t pid, uid_t uid, const char *sender, const char *secret)
{
	unsigned bad = 0;
	char *copy;

	if (!vm_has_vmm(vm) || vm->vmm_exited)
		return -ESRCH;
	/* the form first: secrets_equal() reads exactly 32 characters */
	if (!vm_secret_is_valid(secret))
		return -EPERM;
	/* both checks always run, so that a wrong pid and a wrong secret take the same time */
	bad |= !secrets_equal(secret, vm->identity.vmm_secret);
	bad |= !is_vmm_process(vm, pid, uid);
	if (bad)
		return -EPERM;

	copy = strdup(sender);
	if (!copy)
		return -ENOMEM;
	free(vm->identity.vmm_sender);
	vm->identity.vmm_sender = copy;
	return 0;
}

bool vm_is_vmm(const VM *vm, pid_t pid, uid_t uid, const char *sender)
{
	return vm->identity.vmm_sender && sender && strcmp(vm->identity.vmm_sender, sender) == 0 &&
	       is_vmm_process(vm, pid, uid);
}

void vm_forget_vmm_sender(VM *vm)
{
	free(vm->identity.vmm_sender);
	vm->identity.vmm_sender = NULL;
}

int vmm_runs_as(const VMMProcess *p, uid_t uid)
{
	uid_t now;
	int r;

	r = vmm_process_current_uid(p, &now);
	if (r < 0)
		return r;
	return now == uid;
}

uid_t vm_get_owner_uid(const VM *vm)
{
	return vm->identity.owner_uid;
}

const char *vm_get_vmm_secret(const VM *vm)
{
	return vm->identity.vmm_secret;
}

int vm_identity_init(VM *vm, const VMConfig *config)
{
	vm->identity.owner_uid = config->owner_uid;
	return vm_secret_generate(vm->identity.vmm_secret);
}

void vm_identity_done(VM *vm)
{
	free(vm->identity.vmm_sender);
	vm->identity.vmm_sender = NULL;
}

void vm_identity_restore(VM *vm, const VMJournalSaved *saved)
{
	if (saved->vmm_secret)
		memcpy(vm->identity.vmm_secret, saved->vmm_secret, VM_SECRET_STRLEN);
}
