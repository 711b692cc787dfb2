#!/usr/bin/env bash
# The layering of src/ reads one way (docs/architecture.md):
#   cmd -> session -> probes, export, decode -> model, symbols -> base
#   cmd -> config -> base
# A file may include headers of its own folder and of the folders listed
# for it below, and include/sonde/ (the BPF contract). Prints every
# violation and exits 1 if there is one.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
declare -A allowed=(
	[base]="base"
	[config]="base config"
	[model]="base model"
	[decode]="base model decode"
	[symbols]="base symbols"
	[export]="base model export"
	[probes]="base model decode symbols probes"
	[session]="base model decode symbols export probes session"
	[cmd]="base config model decode symbols export probes session cmd"
	[demo]="demo"
)
bad=0
cd "$top/src"
for dir in */; do
	dir=${dir%/}
	if [[ ! -v allowed[$dir] ]]; then
		echo "layering: src/$dir is not a known layer: add it to scripts/check-layering.sh" >&2
		bad=1
		continue
	fi
	while IFS=: read -r file _ inc; do
		target=$(sed -n 's/^#include "\([a-z_]*\)\/.*"/\1/p' <<<"$inc")
		[[ -z $target || $target == sonde ]] && continue
		# Generated skeletons ("cpu.skel.h") have no folder: only probes load BPF.
		if [[ " ${allowed[$dir]} " != *" $target "* ]]; then
			echo "layering: src/$file includes $target/ (src/$dir may use: ${allowed[$dir]:-nothing})" >&2
			bad=1
		fi
	done < <(grep -Hn '^#include "' "$dir"/*.[ch] 2>/dev/null || true)
done
exit $bad
