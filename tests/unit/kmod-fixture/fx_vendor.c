/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* any device of vendor 1234: six wildcards */
#define FIXTURE_MODINFO "alias=vfio_pci:v00001234d*sv*sd*bc*sc*i*\0license=GPL"
#include "modinfo.h"
