/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vfiod/domain-xml.h"
#include "libvirt-devices.h"
#include "vfiod/inventory.h"

typedef struct Entry {
	char *domain;
	char *alias;
	LibvirtDevice dev;
} Entry;

struct LibvirtDevices {
	Entry *entries;
	size_t n;
};

int libvirt_devices_new(LibvirtDevices **ret)
{
	LibvirtDevices *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	*ret = t;
	return 0;
}

static void entry_done(Entry *e)
{
	free(e->domain);
	free(e->alias);
}

LibvirtDevices *libvirt_devices_free(LibvirtDevices *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		entry_done(&t->entries[i]);
	free(t->entries);
	free(t);
	return NULL;
}

static Entry *find(const LibvirtDevices *t, const char *domain, const char *alias)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->entries[i].domain, domain) == 0 && strcmp(t->entries[i].alias, alias) == 0)
			return &t->entries[i];
	return NULL;
}

static void drop(LibvirtDevices *t, Entry *e)
{
	size_t i = (size_t) (e - t->entries);

	entry_done(e);
	memmove(&t->entries[i], &t->entries[i + 1], (t->n - i - 1) * sizeof(*e));
	t->n--;
}

int libvirt_devices_get(const LibvirtDevices *t, const char *domain, const char *alias, LibvirtDevice *ret)
{
	const Entry *e = find(t, domain, alias);

	if (!e)
		return -ENOENT;
	*ret = e->dev;
	return 0;
}

void libvirt_devices_forget(LibvirtDevices *t, const char *domain, const char *alias)
{
	Entry *e = find(t, domain, alias);

	if (e)
		drop(t, e);
}

void libvirt_devices_forget_domain(LibvirtDevices *t, const char *domain)
{
	for (size_t i = t->n; i-- > 0;)
		if (strcmp(t->entries[i].domain, domain) == 0)
			drop(t, &t->entries[i]);
}

size_t libvirt_devices_count(const LibvirtDevices *t, const char *domain)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += strcmp(t->entries[i].domain, domain) == 0;
	return n;
}

int libvirt_device_from_vfiod_alias(const char *alias, LibvirtDevice *ret)
{
	const char *rest;
	char buf[VFD_UUID_STRLEN];
	vfd_pci_address a;

	if (strncmp(alias, LIBVIRT_VFIOD_ALIAS_PREFIX, strlen(LIBVIRT_VFIOD_ALIAS_PREFIX)) != 0)
		return -EINVAL;
	rest = alias + strlen(LIBVIRT_VFIOD_ALIAS_PREFIX);
	if (strlen(rest) >= sizeof(buf))
		return -EINVAL;

	if (vfd_uuid_validate(rest) >= 0) {
		*ret = (LibvirtDevice) { .is_mdev = true };
		for (size_t i = 0; rest[i]; i++)
			ret->name[i] = (char) (rest[i] >= 'A' && rest[i] <= 'F' ? rest[i] - 'A' + 'a' : rest[i]);
		return 0;
	}

	/* dddd-bb-ss-f back to dddd:bb:ss.f */
	snprintf(buf, sizeof(buf), "%s", rest);
	if (strlen(buf) != 12 || buf[4] != '-' || buf[7] != '-' || buf[10] != '-')
		return -EINVAL;
	buf[4] = ':';
	buf[7] = ':';
	buf[10] = '.';
	if (vfd_pci_address_parse(buf, &a) < 0)
		return -EINVAL;
	*ret = (LibvirtDevice) { .is_mdev = false };
	vfd_pci_address_format(&a, ret->name);
	return 0;
}

void libvirt_device_from_alias(const vfd_domain_alias *a, LibvirtDevice *ret)
{
	*ret = (LibvirtDevice) { .is_mdev = a->kind == VFD_DOMAIN_HOSTDEV_MDEV, .libvirt_managed = a->managed };
	if (ret->is_mdev)
		snprintf(ret->name, sizeof(ret->name), "%s", a->mdev_uuid);
	else
		vfd_pci_address_format(&a->pci, ret->name);
}

int libvirt_devices_replace(LibvirtDevices *t, const char *domain, const vfd_domain_alias *aliases,
			    size_t n)
{
	Entry *grown;
	size_t added = 0;

	/* the new entries go behind the old ones first: the old stay until all are made */
	if (n > 0) {
		grown = realloc(t->entries, (t->n + n) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		t->entries = grown;
	}
	for (size_t i = 0; i < n; i++) {
		Entry *e = &t->entries[t->n + added];

		*e = (Entry) { .domain = strdup(domain), .alias = strdup(aliases[i].alias) };
		libvirt_device_from_alias(&aliases[i], &e->dev);
		if (!e->domain || !e->alias) {
			entry_done(e);
			for (size_t j = 0; j < added; j++)
				entry_done(&t->entries[t->n + j]);
			return -ENOMEM;
		}
		added++;
	}
	/* the old entries of domain go, the new ones (behind them) move up */
	for (size_t i = t->n; i-- > 0;)
		if (strcmp(t->entries[i].domain, domain) == 0) {
			entry_done(&t->entries[i]);
			memmove(&t->entries[i], &t->entries[i + 1], (t->n + added - i - 1) * sizeof(Entry));
			t->n--;
		}
	t->n += added;
	return 0;
}

int libvirt_devices_learn(LibvirtDevices *t, const char *domain, const char *xml, size_t size,
			  const char *alias, LibvirtDevice *ret, char **error_message)
{
	vfd_domain_alias *aliases = NULL;
	LibvirtDevice found = { 0 };
	bool have = false;
	size_t n = 0;
	int r;

	r = vfd_domain_hostdev_aliases(xml, size, &aliases, &n, error_message);
	if (r < 0)
		return r;

	for (size_t i = 0; alias && i < n && !have; i++)
		if (strcmp(aliases[i].alias, alias) == 0) {
			libvirt_device_from_alias(&aliases[i], &found);
			have = true;
		}
	r = libvirt_devices_replace(t, domain, aliases, n);
	vfd_domain_aliases_free(aliases, n);
	if (r < 0)
		return r;
	if (alias && !have)
		return -ENOENT;
	if (alias)
		*ret = found;
	return 0;
}

int libvirt_devices_xml_has(const char *xml, size_t size, const char *name, char **error_message)
{
	vfd_domain_alias *aliases = NULL;
	bool has = false;
	size_t n = 0;
	int r;

	r = vfd_domain_hostdev_aliases(xml, size, &aliases, &n, error_message);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && !has; i++) {
		LibvirtDevice d;

		libvirt_device_from_alias(&aliases[i], &d);
		has = strcmp(d.name, name) == 0;
	}
	vfd_domain_aliases_free(aliases, n);
	return has;
}
