/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A walk over an a{sv} (options, credentials, records), shared by vfiod
 * and the libvirt hook: the container bookkeeping in one place, the keys
 * in the caller's callback. A key given twice reaches the callback twice:
 * callers that must not take a second value refuse it there.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

/*
 * Called with the message positioned at an entry's variant. Returns > 0
 * when it read the variant, 0 when it did not (the walk skips it), or a
 * negative errno, which ends the walk and is returned by it.
 */
typedef int (*vfd_bus_dict_entry_fn)(sd_bus_message *m, const char *key, void *userdata);

/* Reads the a{sv} at m's read position, calling entry() for each key in order. */
int vfd_bus_read_dict(sd_bus_message *m, vfd_bus_dict_entry_fn entry, void *userdata);

/*
 * For callbacks that refuse a key given twice: keys[] (at most 32) are the
 * callback's known keys, *seen their bits. Returns false when key is one
 * of them and was seen before; marks it and returns true otherwise (also
 * for a key not in keys[], which the callback handles as unknown).
 */
bool vfd_bus_dict_key_once(unsigned *seen, const char *const keys[], unsigned n_keys, const char *key);
