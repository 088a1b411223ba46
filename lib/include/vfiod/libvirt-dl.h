/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt's client library, loaded by the code paths that talk to libvirt
 * (vfioctl vm add-device|remove-device --libvirt, vfiod's libvirt events)
 * and by nothing else: see vfiod/dlopen.h. libvirt's headers give the
 * types and constants; its functions are called through the table, which
 * has one field per function, of that function's own type, so the
 * compiler checks every call as it would a direct one.
 */
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define VFD_LIBVIRT_SONAME "libvirt.so.0"
#define VFD_LIBVIRT_PACKAGE "libvirt0"

/* every libvirt function vfiod and vfioctl call */
#define VFD_LIBVIRT_FUNCTIONS(X)                   \
	X(virInitialize)                           \
	X(virSetErrorFunc)                         \
	X(virGetLastErrorMessage)                  \
	X(virConnectOpen)                          \
	X(virConnectRef)                           \
	X(virConnectClose)                         \
	X(virConnectRegisterCloseCallback)         \
	X(virConnectUnregisterCloseCallback)       \
	X(virConnectSetKeepAlive)                  \
	X(virConnectDomainEventRegisterAny)        \
	X(virConnectDomainEventDeregisterAny)      \
	X(virDomainLookupByName)                   \
	X(virDomainLookupByUUIDString)             \
	X(virDomainFree)                           \
	X(virDomainGetName)                        \
	X(virDomainGetUUIDString)                  \
	X(virDomainGetXMLDesc)                     \
	X(virDomainIsActive)                       \
	X(virDomainAttachDeviceFlags)              \
	X(virDomainDetachDeviceAlias)              \
	X(virDomainFDAssociate)                    \
	X(virDomainCreate)                         \
	X(virEventRegisterImpl)                    \
	X(virEventRegisterDefaultImpl)             \
	X(virEventRunDefaultImpl)                  \
	X(virEventAddTimeout)                      \
	X(virEventRemoveTimeout)

typedef struct vfd_libvirt {
#define VFD_LIBVIRT_FIELD(f) __typeof__(f) *f;
	VFD_LIBVIRT_FUNCTIONS(VFD_LIBVIRT_FIELD)
#undef VFD_LIBVIRT_FIELD
} vfd_libvirt;

/*
 * The table, libvirt.so.0 loaded on the first call (thread-safe; the
 * table stays valid for the life of the process). Errors as
 * vfd_dl_open(): -ENOPKG libvirt0 is not installed, -ENOSYS too old, each
 * with a sentence in *error_message.
 */
int vfd_libvirt_load(const vfd_libvirt **ret, char **error_message);
