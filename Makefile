# Thin wrapper over CMake. Every target installs what is missing first.
#   make run    build (build/), show the mamori commands on the sample records, and
#               run mamori-soc on its defaults with the samples sent to it (Ctrl-C stops)
#   make test   build with -Werror, ASan and UBSan (build-asan/), run every test,
#               a short run of every fuzz target, and make cross
#   make cross  mamorid, libmamori and the CLI for CROSS_ARCHES (armel mipsel) in
#               build-cross-<arch>/, their unit tests under qemu-user-static, and the
#               stripped size of mamorid on each; CROSS_YARA=OFF builds without YARA
#   make bench  optimised build, benchmarks against rsyslog, prints ratios
#   make fuzz   libFuzzer build (build-fuzz/), each target FUZZ_SECONDS (default 300)
#   make asan   the sanitizer build only
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 20
CROSS_ARCHES ?= armel mipsel
CROSS_YARA ?= ON
CROSS_JOBS ?= 2
# scripts/deps.sh unpacks a sysroot for each of CROSS_ARCHES.
export CROSS_ARCHES CROSS_YARA CROSS_JOBS

.PHONY: all deps build run test asan fuzz fuzz-build fuzz-smoke bench cross clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

run: build
	@bash scripts/run.sh build/bin

asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMAMORI_WERROR=ON \
		-DMAMORI_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

test: asan fuzz-build
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) bash scripts/fuzz.sh build-fuzz/bin
	@bash scripts/cross.sh

cross: deps
	@bash scripts/cross.sh

fuzz-build: deps
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMAMORI_WERROR=ON \
		-DMAMORI_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh build-fuzz/bin

bench: deps
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DMAMORI_TESTS=OFF >/dev/null
	@cmake --build build-bench -j $(JOBS)
	@bash bench/run.sh build-bench/bin

clean:
	rm -rf build build-asan build-fuzz build-bench build-cross-*
