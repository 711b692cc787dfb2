#!/usr/bin/env bash
# Build deploy/Dockerfile with podman and run the image, with no registry:
# the Debian 12 base images are made here with debootstrap and imported.
# Checks: the image builds; `--check-config` of the shipped configuration
# exits 0 in every environment and 1 on a bad one; the runtime image has
# every library sonde needs and no compiler; with only the capabilities of
# deploy/kubernetes/ (no --privileged) and the host's PID namespace,
# `sonde record -a` inside the container samples stacks, and the image's
# entry point, `sonde agent`, finds and profiles a host process, its
# windows written to a mounted directory, the last one on SIGTERM.
#
# Not run by CI: it needs debootstrap, podman, the Debian mirror and about
# ten minutes. As root: scripts/container-test.sh
# SONDE_CT_DIR (default /var/tmp/sonde-ct) keeps the rootfs between runs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${SONDE_CT_DIR:-/var/tmp/sonde-ct}
image=localhost/sonde:test
# No systemd here: runc with cgroupfs. This machine cannot raise rlimits
# (no CAP_SYS_RESOURCE in its bounding set), and podman's defaults would
# (nofile 1048576): ask for limits below the current ones.
podman=(podman --runtime runc --cgroup-manager=cgroupfs)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

fail() {
	echo "container-test: FAILED: $*" >&2
	exit 1
}

need=()
for p in podman runc debootstrap; do
	command -v "$p" >/dev/null || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "container-test: installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${need[@]}" >/dev/null
fi

# Base images: a minbase Debian 12, and a slim one (no docs, man pages or
# locales, as the official -slim image drops them).
mkdir -p "$work"
if ! "${podman[@]}" image exists localhost/debian:12; then
	if [ ! -x "$work/rootfs/bin/sh" ]; then
		echo "container-test: debootstrap bookworm into $work/rootfs"
		debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian \
			>"$work/debootstrap.log" 2>&1 || fail "debootstrap (see $work/debootstrap.log)"
	fi
	tar -C "$work/rootfs" -c . | "${podman[@]}" import --change 'CMD ["/bin/bash"]' - \
		localhost/debian:12 >/dev/null
fi
if ! "${podman[@]}" image exists localhost/debian:12-slim; then
	rm -rf "$work/rootfs-slim"
	cp -a "$work/rootfs" "$work/rootfs-slim"
	rm -rf "$work"/rootfs-slim/usr/share/{doc,man,info,locale}/* \
		"$work"/rootfs-slim/var/cache/apt/* "$work"/rootfs-slim/var/lib/apt/lists/*
	cat >"$work/rootfs-slim/etc/dpkg/dpkg.cfg.d/docker-slim" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
	EOF
	tar -C "$work/rootfs-slim" -c . | "${podman[@]}" import --change 'CMD ["/bin/bash"]' - \
		localhost/debian:12-slim >/dev/null
fi

echo "container-test: podman build -f deploy/Dockerfile"
start=$(date +%s)
"${podman[@]}" build "${limits[@]}" --network host -f "$top/deploy/Dockerfile" \
	--build-arg DEBIAN=localhost/debian:12 --build-arg DEBIAN_SLIM=localhost/debian:12-slim \
	-t "$image" "$top" >"$work/build.log" 2>&1 || fail "podman build (see $work/build.log)"
echo "container-test: built in $(($(date +%s) - start)) s; image $("${podman[@]}" image inspect \
	--format '{{.Size}}' "$image") bytes"

run=("${podman[@]}" run --rm "${limits[@]}" --network none)

# The shipped configuration, in every environment; a bad one exits 1.
for env in dev staging production; do
	out=$("${run[@]}" "$image" --env "$env" --check-config) || fail "--check-config --env $env"
	grep -qx "# environment: $env" <<<"$out" || fail "--env $env: no environment line"
done
echo "container-test: --check-config ok in dev, staging, production"
set +e
err=$("${run[@]}" "$image" --env prod --check-config 2>&1 >/dev/null)
rc=$?
set -e
[ $rc -eq 1 ] || fail "--env prod exited $rc, not 1"
grep -q "unknown environment 'prod' (from --env); did you mean 'production'?" <<<"$err" ||
	fail "--env prod said: $err"
echo "container-test: --env prod exits 1: $err"

# Every library sonde links, and nothing of the build chain.
"${run[@]}" --entrypoint /bin/sh "$image" -c \
	'! ldd /usr/local/bin/sonde | grep "not found" && ! command -v clang && ! command -v cc' \
	>/dev/null || fail "runtime image: a library is missing or a compiler is present"
echo "container-test: runtime image has every library and no compiler"

# The DaemonSet's capabilities, not --privileged (CAP_SYS_RESOURCE aside:
# this machine's bounding set lacks it, and kernels since 5.11 do not need
# it): sample the host, trace a uprobe. Then without CAP_SYS_ADMIN: CPU
# sampling still works, uprobes do not (this kernel asks for it).
sandbox() {
	"${run[@]}" --pid host --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
		-v /sys/kernel/btf:/sys/kernel/btf:ro \
		--entrypoint /usr/local/bin/sonde "$@"
}
if [ "$(id -u)" -eq 0 ]; then
	caps=(--cap-drop ALL --cap-add BPF --cap-add PERFMON --cap-add SYS_PTRACE
		--cap-add DAC_READ_SEARCH --cap-add SYSLOG)
	for admin in yes no; do
		extra=()
		[ $admin = yes ] && extra=(--cap-add SYS_ADMIN)
		out=$(sandbox "${caps[@]}" "${extra[@]}" "$image" record -a -d 2 --top 3 2>&1) ||
			fail "sonde record -a (CAP_SYS_ADMIN: $admin): $out"
		grep -Eq '^sonde: [0-9]+ samples' <<<"$out" || fail "sonde record -a: $out"
		! grep -q 'kallsyms has no addresses' <<<"$out" || fail "no kernel symbols: $out"
		echo "container-test: CAP_SYS_ADMIN $admin: record -a: $(grep -E '^sonde: [0-9]+ samples' <<<"$out")"
		set +e
		out=$(sandbox "${caps[@]}" "${extra[@]}" "$image" trace -f libc:malloc -d 5 \
			-- /bin/ls / 2>&1)
		rc=$?
		set -e
		if [ $admin = yes ]; then
			[ $rc -eq 0 ] || fail "sonde trace with CAP_SYS_ADMIN exited $rc: $out"
		else
			[ $rc -ne 0 ] && grep -q 'missing privilege: CAP_SYS_ADMIN is needed to attach uprobes' <<<"$out" ||
				fail "sonde trace without CAP_SYS_ADMIN: rc $rc: $out"
		fi
		echo "container-test: CAP_SYS_ADMIN $admin: trace -f libc:malloc: rc $rc: $(tail -1 <<<"$out")"
	done

	# The image's own entry point, `sonde agent`, with the DaemonSet's
	# capabilities (no CAP_SYS_ADMIN: the cpu probe needs none) and the
	# shipped configuration's staging section, windows of 5 s to a
	# directory: a busy host python3 (a target by comm) is found and
	# profiled, and SIGTERM (podman stop) flushes the last window.
	out_dir=$work/agent-out
	rm -rf "$out_dir"
	mkdir -p "$out_dir"
	/usr/bin/python3 -c 'while True: pass' &
	busy=$!
	trap 'kill $busy 2>/dev/null || true' EXIT
	cid=$("${run[@]}" -d --pid host --security-opt seccomp=unconfined \
		--security-opt apparmor=unconfined -v /sys/kernel/btf:/sys/kernel/btf:ro \
		-v "$out_dir:/out" "${caps[@]}" "$image" --env staging \
		--no-exporters.pyroscope.enabled --exporters.listen.enabled=false \
		--exporters.files.enabled --exporters.files.directory /out --window 5s)
	sleep 13
	before=$(find "$out_dir" -name 'checkout-*.pb.gz' | wc -l)
	"${podman[@]}" stop -t 10 "$cid" >/dev/null
	kill $busy
	files=$(find "$out_dir" -name 'checkout-*.pb.gz' | sort)
	after=$(wc -l <<<"$files")
	[ "$before" -ge 2 ] && [ "$after" -eq $((before + 1)) ] ||
		fail "agent: $before windows before SIGTERM, $after after (want >= 2, then one more)"
	# The second window is a whole one: 5 s at 99 Hz of a busy loop.
	second=$(sed -n 2p <<<"$files")
	n=$("${run[@]}" -v "$out_dir:/out:ro" --entrypoint /usr/local/bin/sonde "$image" \
		report "/out/${second##*/}" -o - 2>/dev/null |
		awk '/^python3;.*_PyEval_EvalFrameDefault/ { n += $NF } END { print n + 0 }')
	[ "$n" -ge 400 ] || fail "agent: ${second##*/} has $n python3 samples, want >= 400 of 495"
	echo "container-test: agent: $before windows, one more on SIGTERM; ${second##*/}: $n python3 samples"
fi
echo "container-test: ok"
