/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* edu by vendor and device: five wildcards */
#define FIXTURE_MODINFO "alias=vfio_pci:v00001234d000011E8sv*sd*bc*sc*i*\0license=GPL"
#include "modinfo.h"
