#!/usr/bin/env bash
# Install everything sonde needs to build, test and benchmark on Debian 12.
# Idempotent: skips apt-get when every package is already there.
set -euo pipefail

# Build: compiler chain for BPF (clang/llvm, bpftool), libraries, meson;
# the LLM decoder's HPACK (nghttp2), streaming JSON (yajl) and brotli.
build_pkgs=(
	clang llvm bpftool libbpf-dev libelf-dev libdw-dev zlib1g-dev liblzma-dev libcapstone-dev
	libprotobuf-c-dev protobuf-c-compiler libcurl4-openssl-dev libmicrohttpd-dev
	libyaml-dev libcrypt-dev meson ninja-build pkg-config gcc libiberty-dev
	libnghttp2-dev libyajl-dev libbrotli-dev
)
# Tests and benchmarks: Criterion, sanitizer and libFuzzer runtimes
# (libclang-rt-14-dev: clang -fsanitize=fuzzer), and the real consumers
# of our formats and the competitors we measure against; sonde llm's
# clients (curl over HTTP/2, python3's urllib) and libssl-dev for the
# TLS fixture and bench.
test_pkgs=(
	libcriterion-dev libclang-rt-14-dev libxml2-utils
	golang-go protobuf-compiler prometheus
	linux-perf bpftrace util-linux procps time
	libc6-dbg binutils xz-utils openssl g++ libssl-dev curl
	chromium chromium-driver mandoc man-db
	python3
)

want=("${build_pkgs[@]}")
if [ "${1:-}" != "--build-only" ]; then
	want+=("${test_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: need root to install: ${missing[*]} (run with sudo)" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Real consumers from npm (OTLP schema and decoder, Etsy's statsd server,
# playwright-core driving Debian's chromium for the flame graph viewer),
# pinned by tests/package-lock.json.
if [ "${1:-}" != "--build-only" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "setup: installing nodejs npm"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
	fi
	top=$(cd "$(dirname "$0")/.." && pwd)
	if [ ! -d "$top/tests/node_modules" ] ||
		[ "$top/tests/package-lock.json" -nt "$top/tests/node_modules" ]; then
		echo "setup: npm ci --prefix tests"
		npm ci --prefix "$top/tests" --no-audit --no-fund --loglevel=error >/dev/null
		touch "$top/tests/node_modules"
	fi
fi
echo "setup: dependencies present"
