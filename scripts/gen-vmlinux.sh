#!/usr/bin/env bash
# Regenerate vmlinux/vmlinux.h from the running kernel's BTF. The result is
# committed: BPF objects compile against it once and relocate at load time
# (CO-RE), so builds never need kernel headers.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
btf=${1:-/sys/kernel/btf/vmlinux}
if [ ! -r "$btf" ]; then
	echo "gen-vmlinux: cannot read $btf: kernel built without CONFIG_DEBUG_INFO_BTF" >&2
	exit 1
fi
bpftool btf dump file "$btf" format c >"$top/vmlinux/vmlinux.h.tmp"
mv "$top/vmlinux/vmlinux.h.tmp" "$top/vmlinux/vmlinux.h"
echo "gen-vmlinux: wrote vmlinux/vmlinux.h from $btf"
