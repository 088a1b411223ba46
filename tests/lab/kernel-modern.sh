#!/bin/sh
# Prepare the lab's `modern` kernel: the test kernel's configuration
# (tests/lab/test-kernel.config, plus test-kernel-7.3.config if present)
# built from Debian 13's linux-source-7.3 (trixie-backports, fetched into
# the cache by linux-source.sh, never installed on the host).
#
# Usage: kernel-modern.sh
# Prints the KEY=VALUE lines of kernel-test.sh, with FLAVOUR=modern.
# VFIOD_LAB_MODERN_SERIES=7.N builds another series of the same archive.
set -eu
exec "$(cd "$(dirname "$0")" && pwd)/kernel-test.sh" modern "${VFIOD_LAB_MODERN_SERIES:-7.3}"
