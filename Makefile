# osiris -- plain Makefile.  `make` builds the host CLI, `make test` runs
# every test (installing missing Debian and npm packages first, once, through
# `make deps`), `make test-quick` the fast subset for the edit-test loop,
# `make check` both compilers, `make bench` the benchmarks.  build.sh is a
# thin wrapper and the one place that installs packages.

CC      ?= cc
OPT     ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Wshadow -Wundef -Wmissing-prototypes -Werror
DBINC   := -I/usr/include/mariadb -I/usr/include/postgresql
LIBS    := -lsqlite3 -lmariadb -lpq -lcurl -lm -pthread
ENGINE  := osiris.c osiris.h
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

UNIT_SRC := $(filter-out tests/test_alloc.c,$(wildcard tests/test_*.c))
UNIT_BIN := $(patsubst tests/%.c,tests/bin/%,$(UNIT_SRC))
ASAN_BIN := $(patsubst tests/%.c,tests/bin/asan/%,$(UNIT_SRC))
TSAN_BIN := tests/bin/tsan/test_stream tests/bin/tsan/test_jobs
# The fault-injection variant (OSIRIS_FAULT_INJECTION, under ASan with
# LeakSanitizer): the Nth allocation fails, for every N.
FAULT_BIN := tests/bin/fault/test_alloc tests/bin/fault/test_json tests/bin/fault/test_yaml \
             tests/bin/fault/test_csv

.PHONY: all worker test test-quick unit asan check bench deps clean embed fuzz fuzz-bin duckdb bench-duckdb

all: osiris

# The host CLI loads libcurl, libpq, libmariadb and libsqlite3 only when a
# step needs them (lazylib.c): linked, they and their ~30 dependencies
# cost ~4 ms at every start.  Everything else (tests, the embedding
# example, the workers, `make static`) links the libraries directly.  A
# library function newly called in osiris.c or drivers.c shows up here as
# an undefined reference: add its one line to lazylib.c's list.
HOST_SRC  := osiris.c drivers.c lazylib.c
HOST_LIBS := -lm -pthread

osiris: $(ENGINE) drivers.c lazylib.c
	$(CC) $(WARN) $(OPT) -DOSIRIS_CLI_MAIN -I. $(DBINC) -o $@ $(HOST_SRC) $(HOST_LIBS)

# The sandbox worker: fully static (static.mk; its dependencies are built
# from Debian's sources into vendor/ by vendor.sh on the first build).
include static.mk

tests/bin/%: tests/%.c $(ENGINE) drivers.c tests/harness.h
	@mkdir -p tests/bin
	$(CC) $(WARN) -O0 -g -I. $(DBINC) -o $@ $< $(LIBS)

tests/bin/asan/%: tests/%.c $(ENGINE) drivers.c tests/harness.h
	@mkdir -p tests/bin/asan
	$(CC) $(WARN) -O0 -g $(SAN) -I. $(DBINC) -o $@ $< $(LIBS)

tests/bin/fault/%: tests/%.c $(ENGINE) drivers.c tests/harness.h
	@mkdir -p tests/bin/fault
	$(CC) $(WARN) -O1 -g $(SAN) -DOSIRIS_FAULT_INJECTION -I. $(DBINC) -o $@ $< $(LIBS)

# The streamed pair and --jobs run steps in threads: their tests also run under ThreadSanitizer.
tests/bin/tsan/%: tests/%.c $(ENGINE) drivers.c tests/harness.h
	@mkdir -p tests/bin/tsan
	$(CC) $(WARN) -O1 -g -fsanitize=thread -I. $(DBINC) -o $@ $< $(LIBS)

tests/bin/embed: examples/embed/embed.c osiris.h $(ENGINE) drivers.c
	@mkdir -p tests/bin
	$(CC) $(WARN) -O1 -g -I. $(DBINC) -o $@ examples/embed/embed.c osiris.c drivers.c $(LIBS)

embed: tests/bin/embed

# Everything make test needs, installed once and in order before anything
# runs in parallel (Debian packages in one apt-get call, then npm ci).
deps:
	@./build.sh --test-deps

unit: $(UNIT_BIN)
asan: $(ASAN_BIN)

# The test programs build in parallel (after deps, and after the static
# worker's vendor/ so its long build does not share the cores with a
# suite); tests/run.sh then runs everything, starting (and stopping) its own
# MariaDB and PostgreSQL for tests/db.
test: deps
	@$(MAKE) -s vendor
	@$(MAKE) -s -j$$(nproc) osiris osiris-worker $(UNIT_BIN) $(ASAN_BIN) $(TSAN_BIN) $(FAULT_BIN) tests/bin/embed
	@bash tests/run.sh

# libFuzzer targets (clang 14, libclang-rt-14-dev): tests/bin/fuzz/<target>,
# one per parser of untrusted bytes, all linked with one compile of the
# engine (fuzz.o).  tests/fuzz/run.sh replays the corpora and fuzzes briefly
# (make test), or runs a campaign.
FUZZ_CC      ?= clang
FUZZ_TARGETS := json yaml oml conn csv parquet manifest commands lines envelope
FUZZ_BIN     := $(addprefix tests/bin/fuzz/,$(FUZZ_TARGETS))
FUZZ_FLAGS   := -std=c11 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all \
                -Wall -Wextra -Wno-unused-function -Werror -I. $(DBINC)

tests/bin/fuzz/fuzz.o: tests/fuzz/fuzz.c $(ENGINE) drivers.c
	@mkdir -p tests/bin/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(FUZZ_BIN): tests/bin/fuzz/%: tests/fuzz/target.c tests/bin/fuzz/fuzz.o
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -DFZ_TARGET='"$*"' -o $@ \
	  $< tests/bin/fuzz/fuzz.o $(LIBS) -ldl

fuzz-bin: $(FUZZ_BIN)

fuzz: deps
	@$(MAKE) -s fuzz-bin

# The edit-test loop: unit tests (plain, ASan+UBSan, TSan), the embedding
# example and the end-to-end tests; no servers, no static worker, no npm.
test-quick: deps
	@$(MAKE) -s -j$$(nproc) osiris $(UNIT_BIN) $(ASAN_BIN) $(TSAN_BIN) $(FAULT_BIN) tests/bin/embed
	@bash tests/run.sh --quick

# Both compilers with -Werror (host CLI and static worker), the
# exported-symbol rule, the banned calls.  Builds into build/check/, so the
# binaries the tests use are left as they are.
check: deps vendor
	@mkdir -p build/check
	@for c in gcc clang; do \
	  echo "check: $$c osiris"; \
	  $$c $(WARN) $(OPT) -DOSIRIS_CLI_MAIN -I. $(DBINC) -o build/check/osiris-$$c $(HOST_SRC) $(HOST_LIBS) || exit 1; \
	  echo "check: $$c osiris-worker"; \
	  $$c $(WARN) $(WORKER_OPT) -static $(WORKER_INC) -o build/check/osiris-worker-$$c $(WORKER_SRC) \
	    $(WORKER_LIBS) 2>build/check/worker-$$c.log || { cat build/check/worker-$$c.log; exit 1; }; \
	done
	@bash tests/check_symbols.sh

bench: deps osiris
	@bash bench/run.sh

# DuckDB (duckdb.processor loads it at run time): fetch the pinned
# libduckdb.so into vendor/duckdb/ (build.sh does it too), and its
# benchmark alone: CSV -> GROUP BY -> CSV against DuckDB by itself.
duckdb:
	@./build.sh --duckdb

bench-duckdb: deps osiris
	@bash bench/duckdb_bench.sh

clean:
	rm -rf osiris osiris-worker tests/bin *.o build/osiris-worker.unstripped build/check \
	  osiris-worker-dyn osiris-worker-dyn.libs build/osiris-worker-dyn.unstripped \
	  osiris-static build/osiris-static.unstripped
