# The two commands of the quick start are `make demo` and `make test`; both install what they
# need first (scripts/install-deps, Debian packages, idempotent).
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
FUZZ_DIR ?= build-fuzz
FUZZ_WORK ?= var/fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
JOBS ?= 2
BUILD_TYPE ?= RelWithDebInfo
DEMO_DB ?= var/demo.db
DEMO_LISTEN ?= 127.0.0.1:8080
# Warnings are errors in this build (so in `make test` and CI); WERROR=OFF to relax it locally.
WERROR ?= ON

.PHONY: all deps build test test-asan lint fuzz demo bench crash-test soak package clean

all: build

deps:
	@scripts/install-deps

$(BUILD_DIR)/build.ninja: CMakeLists.txt Makefile
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCOSTS_WERROR=$(WERROR) >/dev/null

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The Debian package $(BUILD_DIR)/costs_VERSION_ARCH.deb (scripts/build-deb, docs/deploy.md).
package: build
	@scripts/build-deb --costsd $(BUILD_DIR)/cmd/costsd/costsd --costsctl $(BUILD_DIR)/cmd/costsctl/costsctl --out $(BUILD_DIR)

# clang-tidy with the checks of .clang-tidy (STYLE.md: naming) over src/, on the build's
# compile_commands.json. Not part of `make test`.
lint: build
	scripts/lint --build-dir $(BUILD_DIR) --jobs $(JOBS)

$(ASAN_DIR)/build.ninja: CMakeLists.txt
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCOSTS_SANITIZE=ON >/dev/null

test-asan: deps $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# The libFuzzer targets (fuzz/README.md), built with clang in $(FUZZ_DIR), each run FUZZ_SECONDS
# at nice 19, one at a time; FUZZ_TARGETS="decimal router" for some only. New corpus entries and
# crashes go to $(FUZZ_WORK) (outside git). Not part of `make test`, which replays the
# checked-in corpus and regressions through the normal build.
$(FUZZ_DIR)/build.ninja: CMakeLists.txt fuzz/CMakeLists.txt
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOSTS_FUZZ=ON >/dev/null

fuzz: deps
	@scripts/install-fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_DIR)/build.ninja
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_all
	scripts/run-fuzz --build-dir $(FUZZ_DIR) --work-dir $(FUZZ_WORK) --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

demo: build
	@mkdir -p $(dir $(DEMO_DB))
	@rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	@COSTS_LISTEN=$(DEMO_LISTEN) $(BUILD_DIR)/cmd/costsctl/costsctl --db sqlite:$(DEMO_DB) demo
	@echo "serving on http://$(DEMO_LISTEN) (Ctrl-C stops)"
	@exec $(BUILD_DIR)/cmd/costsd/costsd --db sqlite:$(DEMO_DB) --listen $(DEMO_LISTEN) --log-level warn

# The benchmark suite (bench/README.md): not part of `make test`. BENCH_SCALE=0.05 for a quick
# run, BENCH_D2=1 for the 50 M-record data set as well.
bench: deps $(BUILD_DIR)/build.ninja
	@bench/install-bench-deps
	@cmake -S . -B $(BUILD_DIR) >/dev/null
	cmake --build $(BUILD_DIR) -j $(JOBS) --target costsd costsctl bench_gen chart_bench
	python3 bench/run_bench.py --build-dir $(BUILD_DIR)

# The crash loop (tests/crash/crash_loop.py) with N kills of costsd; STORE=postgres runs it against
# a throwaway PostgreSQL cluster. `make test` runs 30 kills on SQLite and 10 on PostgreSQL.
N ?= 1000
STORE ?= sqlite
crash-test: build
	python3 tests/crash/crash_loop.py --db $(STORE) --kills $(N) \
		--costsd $(BUILD_DIR)/cmd/costsd/costsd --costsctl $(BUILD_DIR)/cmd/costsctl/costsctl

# Many clients for a while, hostile ones among them (tests/soak/README.md): not part of `make test`.
SOAK_CONNECTIONS ?= 1000
SOAK_SECONDS ?= 60
SOAK_SLOW ?= 50
soak: build
	python3 tests/soak/soak.py --costsd $(BUILD_DIR)/cmd/costsd/costsd --costsctl $(BUILD_DIR)/cmd/costsctl/costsctl \
		--connections $(SOAK_CONNECTIONS) --seconds $(SOAK_SECONDS) --slow $(SOAK_SLOW)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
