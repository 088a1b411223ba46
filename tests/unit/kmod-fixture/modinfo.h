/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fake kernel modules for test-vfio-variant: an object file whose .modinfo
 * section holds what a real module's would (NUL-separated key=value), which
 * is all depmod and libkmod read to index and describe a module's aliases.
 * Each fixture source defines FIXTURE_MODINFO and includes this file.
 */
__attribute__((section(".modinfo"), used, aligned(1)))
static const char fixture_modinfo[] = FIXTURE_MODINFO;
