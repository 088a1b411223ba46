/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* a host driver: plain pci: aliases, one of them for edu, none vfio_pci: */
#define FIXTURE_MODINFO "alias=pci:v00008086d000010D3sv*sd*bc*sc*i*\0alias=pci:v00001234d000011E8sv*sd*bc*sc*i*\0license=GPL"
#include "modinfo.h"
