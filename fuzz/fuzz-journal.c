/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VM journal file, /run/vfiod/vms/<name>.json (daemon/vm-journal.c), as
 * vfiod reads it at start before serving: a file damaged by a crash, a full
 * disk or a hand edit must be refused (and set aside), never trusted
 * halfway or crash the daemon that has to give the devices back.
 */
#include <errno.h>

#include "fuzz-util.h"
#include "vm-journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	int r;

	if (!text)
		return 0;
	r = vm_journal_parse_text(text);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT || r == -EINVAL || r == -ENOMEM);
	free(text);
	return 0;
}
