# SPDX-License-Identifier: MIT
# rampart — everyday commands. CMake does the building; this file only names the jobs.
#
#   make run                 build, then run `rampart doctor` (the main job)
#   make test                build, then run every test (CTest)
#   make bench               build the benchmarks against the peer libraries and run them
#   make install PREFIX=DIR  install headers, libraries, pkg-config and CMake files, the CLI
#   make abi-baseline        regenerate abi/librampart.abi after a deliberate ABI change
#   make man3                rewrite man/rampart_*.3 from the public headers
#   make test-asan | test-tsan | test-windows   the suite under sanitizers / under wine
BUILD ?= build
# Sub-makes run by CMake would otherwise print "Entering directory" around every step.
MAKEFLAGS += --no-print-directory
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build run test bench install abi-baseline man3 test-asan test-tsan test-windows deps clean

all: build

# Name what is missing and the Debian package that provides it, before CMake gets confusing.
deps:
	@missing=""; \
	for pair in cmake:cmake cc:gcc make:make; do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "rampart: missing build tools; install them with: sudo apt-get install -y$$missing" >&2; exit 1; \
	fi

# Configure every time (it takes a moment): layers hook in through OPTIONAL includes, and CMake
# does not notice a hook file that appears after the first configure.
build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/tools/rampart/rampart doctor

test: build
	@command -v setpriv >/dev/null 2>&1 || echo "rampart: note: setpriv/prlimit missing (package util-linux); privilege tests will say so and skip" >&2
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The peers the benchmarks compare against (Debian packages); any that is missing is named, and
# the benchmarks leave it out rather than fail.
BENCH_PACKAGES = libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev libsodium-dev libssl-dev \
                 libgcrypt20-dev libbotan-2-dev g++ python3 gnuplot-nox

bench: deps
	@if command -v dpkg-query >/dev/null 2>&1; then \
	  missing=""; for p in $(BENCH_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	  done; \
	  [ -z "$$missing" ] || echo "rampart: benchmark peers missing, left out of the comparison; install them with: sudo apt-get install -y$$missing" >&2; \
	fi
	cmake -S . -B $(BUILD)-bench -DCMAKE_BUILD_TYPE=Release -DRAMPART_BUILD_BENCH=ON -DRAMPART_BUILD_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD)-bench -j $(JOBS)
	cmake --build $(BUILD)-bench --target bench

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# Rewrite the section 3 man pages from the public headers (test_man fails while they are stale).
man3:
	python3 man/gen-man3.py $(CURDIR)

# Regenerate abi/librampart.abi (the ABI that test_abi holds the library to) from the default
# build; run it after a deliberate ABI change and commit the file with the change.
abi-baseline: build
	sh abi/abi.sh baseline $(CURDIR) $(BUILD)/librampart.so

test-asan: deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DRAMPART_SANITIZE=address,undefined $(CMAKE_FLAGS)
	cmake --build $(BUILD)-asan -j $(JOBS)
	ctest --test-dir $(BUILD)-asan --output-on-failure -j $(JOBS)

# ThreadSanitizer maps its shadow at fixed addresses that the kernel's randomisation (high
# vm.mmap_rnd_bits on new kernels) can collide with; tests run with ASLR off (setarch -R).
test-tsan: deps
	cmake -S . -B $(BUILD)-tsan -DCMAKE_BUILD_TYPE=Debug -DRAMPART_SANITIZE=thread $(CMAKE_FLAGS)
	cmake --build $(BUILD)-tsan -j $(JOBS)
	setarch $$(uname -m) -R ctest --test-dir $(BUILD)-tsan --output-on-failure -j $(JOBS)

test-windows: deps
	@command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || { echo "rampart: missing x86_64-w64-mingw32-gcc; install it with: sudo apt-get install -y mingw-w64" >&2; exit 1; }
	@command -v wine >/dev/null 2>&1 || { echo "rampart: missing wine; install it with: sudo apt-get install -y wine wine64" >&2; exit 1; }
	cmake -S . -B $(BUILD)-windows -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake $(CMAKE_FLAGS)
	cmake --build $(BUILD)-windows -j $(JOBS)
	ctest --test-dir $(BUILD)-windows --output-on-failure

clean:
	rm -rf $(BUILD) $(BUILD)-bench $(BUILD)-asan $(BUILD)-tsan $(BUILD)-windows
