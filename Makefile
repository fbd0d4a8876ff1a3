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
#   make test-clang          the suite built with clang instead of gcc
#   make test-unprivileged   (as root) the suite from a fresh clone as nobody, 8 MiB memlock limit
#   make fuzz [FUZZ_SECONDS=60]   libFuzzer (clang) + ASan + UBSan on each fuzz target (fuzz/)
BUILD ?= build
# Sub-makes run by CMake would otherwise print "Entering directory" around every step.
MAKEFLAGS += --no-print-directory
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# Extra ctest options for `make test` (CI: --output-junit FILE for tests/must_run.py).
CTEST_FLAGS ?=

# Seconds `make fuzz` runs each fuzz target.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = heap pool map

.PHONY: all build run test test-unprivileged bench install test-asan test-tsan test-windows test-clang fuzz abi-baseline man3 deps clean

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
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

# Root hides lock-budget bugs (CAP_IPC_LOCK ignores RLIMIT_MEMLOCK): run the committed checkout's
# suite again as nobody under the default 8 MiB limit. Needs root, setpriv, prlimit and git.
test-unprivileged:
	JOBS=$(JOBS) sh tests/unprivileged.sh

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

# The whole suite built by clang: it optimises calls of the C allocator functions in ways gcc does
# not (it removes allocations it can prove unused, and assumes they leave errno alone), which the
# tests of the drop-in malloc must not depend on.
test-clang: deps
	@command -v clang >/dev/null 2>&1 || { echo "rampart: missing clang; install it with: sudo apt-get install -y clang" >&2; exit 1; }
	CC=clang cmake -S . -B $(BUILD)-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD)-clang -j $(JOBS)
	ctest --test-dir $(BUILD)-clang --output-on-failure -j $(JOBS)

test-windows: deps
	@command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || { echo "rampart: missing x86_64-w64-mingw32-gcc; install it with: sudo apt-get install -y mingw-w64" >&2; exit 1; }
	@command -v wine >/dev/null 2>&1 || { echo "rampart: missing wine; install it with: sudo apt-get install -y wine wine64" >&2; exit 1; }
	cmake -S . -B $(BUILD)-windows -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake $(CMAKE_FLAGS)
	cmake --build $(BUILD)-windows -j $(JOBS)
	ctest --test-dir $(BUILD)-windows --output-on-failure

# libFuzzer needs clang. Each target starts from a scratch copy of its committed corpus
# (fuzz/corpus/<target>, left untouched) and runs FUZZ_SECONDS; a model check that fails or a
# sanitizer report stops it, and libFuzzer writes the input to $(BUILD)-fuzz/crash-* (replay it
# with $(BUILD)-fuzz/fuzz/fuzz_<target> FILE). New inputs it finds stay in $(BUILD)-fuzz/corpus/.
fuzz: deps
	@command -v clang >/dev/null 2>&1 || { echo "rampart: make fuzz needs clang (libFuzzer); install it with: sudo apt-get install -y clang libclang-rt-dev" >&2; exit 1; }
	@mkdir -p $(BUILD)-fuzz && printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }\n' > $(BUILD)-fuzz/probe.c && \
	  clang -fsanitize=fuzzer,address,undefined $(BUILD)-fuzz/probe.c -o $(BUILD)-fuzz/probe >/dev/null 2>&1 || \
	  { echo "rampart: clang cannot link libFuzzer with ASan + UBSan here; install the runtime with: sudo apt-get install -y libclang-rt-dev" >&2; exit 1; }
	CC=clang cmake -S . -B $(BUILD)-fuzz -DCMAKE_BUILD_TYPE=Debug -DRAMPART_FUZZ=ON -DRAMPART_SANITIZE=address,undefined \
	  -DRAMPART_BUILD_TESTS=OFF -DRAMPART_BUILD_TOOLS=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD)-fuzz -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@set -e; for t in $(FUZZ_TARGETS); do \
	  rm -rf $(BUILD)-fuzz/corpus/$$t; mkdir -p $(BUILD)-fuzz/corpus/$$t; \
	  cp fuzz/corpus/$$t/* $(BUILD)-fuzz/corpus/$$t/; \
	  echo "== fuzz_$$t for $(FUZZ_SECONDS) s (log: $(BUILD)-fuzz/fuzz_$$t.log)"; \
	  if (cd $(BUILD)-fuzz && ./fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=4096 \
	        -print_final_stats=1 corpus/$$t >fuzz_$$t.log 2>&1); then rc=0; else rc=$$?; fi; \
	  grep -v -e '^#[0-9]' -e '^INFO:' $(BUILD)-fuzz/fuzz_$$t.log | tail -n 40; \
	  [ $$rc -eq 0 ] || { echo "rampart: fuzz_$$t failed (exit $$rc); the input is in $(BUILD)-fuzz/ (crash-*, leak-*, oom-*)" >&2; exit 1; }; \
	done

clean:
	rm -rf $(BUILD) $(BUILD)-bench $(BUILD)-asan $(BUILD)-tsan $(BUILD)-windows $(BUILD)-fuzz
