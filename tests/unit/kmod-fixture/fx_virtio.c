/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* another device only (virtio-net 1af4:1041) */
#define FIXTURE_MODINFO "alias=vfio_pci:v00001AF4d00001041sv*sd*bc*sc*i*\0license=GPL"
#include "modinfo.h"
