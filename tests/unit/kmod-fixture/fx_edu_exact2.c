/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* the same alias as fx_edu_exact: a tie, broken by name */
#define FIXTURE_MODINFO "alias=vfio_pci:v00001234d000011E8sv*sd*bc*sc*i*\0license=GPL"
#include "modinfo.h"
