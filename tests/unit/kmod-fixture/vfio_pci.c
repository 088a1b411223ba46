/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-pci: the generic alias, seven wildcards */
#define FIXTURE_MODINFO "alias=vfio_pci:v*d*sv*sd*bc*sc*i*\0license=GPL"
#include "modinfo.h"
