/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Who may act as a VM's VMM, and who owns a VM (docs/security.md).
 *
 * A bus connection carries the pid of the process that opened it. That
 * process may have exited and its pid gone to the VMM since, while the
 * connection lives on in another process (fd passing, fork): the pid alone
 * proves nothing. dbus-daemon 1.14 (Debian 12) hands out no pidfd of the
 * caller, so the proof is a per-VM secret: 128 random bits made when the
 * VM is created, given by GetVMMSecret only to root and to the VM's owner,
 * who passes it to the VMM. The VMM presents it once per connection with
 * AuthenticateVMM; vfiod then remembers that connection's unique name
 * (never reused by the bus) as the VMM's. Each call of the VMM is accepted
 * only when all three hold: the connection is the authenticated one, its
 * pid is the VMM's (whose pidfd vfiod holds, so the pid cannot be reused
 * while the VMM lives) and its uid is the VMM's.
 *
 * The owner is the uid that registered or prepared the VM. Root may act
 * on every VM; the owner on its own (polkit's manage-vms); anyone else
 * only with polkit's manage-other-vms, which is admin-only by default.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "pidfd-watch.h"

typedef struct VM VM;

/* 32 hex digits and the NUL */
#define VM_SECRET_STRLEN 33

/* a fresh secret from the kernel's random pool */
int vm_secret_generate(char ret[VM_SECRET_STRLEN]);
/* 1 when s has the form of a secret (32 lower-case hex digits) */
bool vm_secret_is_valid(const char *s);

/*
 * The caller (pid, uid, unique bus name) proves it is the VM's VMM with
 * secret. -ESRCH: the VM has no live VMM; -EPERM: pid or uid is not the
 * VMM's, or the secret is wrong (one answer for all, compared in constant
 * time). On success the connection is the VMM's from now on.
 */
int vm_authenticate_vmm(VM *vm, pid_t pid, uid_t uid, const char *sender, const char *secret);
/* 1 when the caller is the VM's authenticated, live VMM */
bool vm_is_vmm(const VM *vm, pid_t pid, uid_t uid, const char *sender);
/*
 * 1 when the process p runs as uid now, 0 when not, -ESRCH once it exited.
 * Asked again after polkit's answer: while polkit thinks, a named process
 * can exec a setuid program.
 */
int vmm_runs_as(const VMMProcess *p, uid_t uid);
/* the connection that authenticated as the VMM goes away (or a new VMM is named) */
void vm_forget_vmm_sender(VM *vm);
/* who owns the VM; the secret that proves its VMM */
uid_t vm_get_owner_uid(const VM *vm);
const char *vm_get_vmm_secret(const VM *vm);
