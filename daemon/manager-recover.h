/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recovery at vfiod's start from the VM journals: see manager-recover.c. */
#pragma once

#include "manager.h"

/* at startup, before serving: adopts or releases every journaled VM */
int manager_recover_vms(Manager *m);
