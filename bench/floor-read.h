/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The floor: the least work that answers what `vfioctl devices`, `groups`
 * and `show` print, done directly on a sysfs root (a fixture or "/"), in
 * one process, with no daemon and no bus. Each function reads exactly the
 * attributes the matching vfioctl output shows and writes it as one line
 * per function (or member) to the stream given.
 */
#pragma once

#include <stdio.h>

/*
 * Opens ROOT/sys for the readers below; returns a directory fd or -errno.
 * Every path after that is relative to it (openat), as vfiod's root layer
 * is relative to its root.
 */
int floor_open_sys(const char *root);

/* every PCI function: "ADDRESS 0xVVVV 0xDDDD 0xCCCCCC DRIVER|- GROUP|-" */
int floor_devices(int sys, FILE *out);

/* every IOMMU group member: "GROUP DEVICE BUS DRIVER|- STATE" */
int floor_groups(int sys, FILE *out);

/*
 * one function with every field GetDevice returns; its IOMMU group's
 * number (or "-") in ret_group
 */
int floor_device(int sys, const char *address, FILE *out, char *ret_group, size_t size);

/* one function with every field `vfioctl show` prints, then its group's members */
int floor_show(int sys, const char *address, FILE *out);
