/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* edu with one subsystem (three wildcards), and any device of vendor 1234 (six) */
#define FIXTURE_MODINFO "alias=vfio_pci:v00001234d*sv*sd*bc*sc*i*\0alias=vfio_pci:v00001234d000011E8sv00001AF4sd00001100bc*sc*i*\0license=GPL"
#include "modinfo.h"
