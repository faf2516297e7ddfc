# osiris -- plain Makefile.  `make` builds the host CLI, `make test` runs
# every test (installing missing Debian packages first), `make bench` runs
# the benchmarks.  build.sh is a thin wrapper that also installs packages.

CC      ?= cc
OPT     ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Wshadow -Wundef -Wmissing-prototypes -Werror
DBINC   := -I/usr/include/mariadb -I/usr/include/postgresql
LIBS    := -lsqlite3 -lmariadb -lpq -lcurl -lm -pthread
ENGINE  := osiris.c osiris.h
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

UNIT_SRC := $(wildcard tests/test_*.c)
UNIT_BIN := $(patsubst tests/%.c,tests/bin/%,$(UNIT_SRC))
ASAN_BIN := $(patsubst tests/%.c,tests/bin/asan/%,$(UNIT_SRC))
TSAN_BIN := tests/bin/tsan/test_stream

.PHONY: all worker test unit asan check bench deps clean embed

all: osiris

osiris: $(ENGINE) drivers.c db_drivers.inc
	$(CC) $(WARN) $(OPT) -DOSIRIS_CLI_MAIN -I. $(DBINC) -o $@ osiris.c drivers.c $(LIBS)

# The sandbox worker: fully static (static.mk; its dependencies are built
# from Debian's sources into vendor/ by vendor.sh on the first build).
include static.mk

tests/bin/%: tests/%.c $(ENGINE) drivers.c db_drivers.inc tests/harness.h
	@mkdir -p tests/bin
	$(CC) $(WARN) -O0 -g -I. $(DBINC) -o $@ $< $(LIBS)

tests/bin/asan/%: tests/%.c $(ENGINE) drivers.c db_drivers.inc tests/harness.h
	@mkdir -p tests/bin/asan
	$(CC) $(WARN) -O0 -g $(SAN) -I. $(DBINC) -o $@ $< $(LIBS)

# The streamed pair runs two threads: its test also runs under ThreadSanitizer.
tests/bin/tsan/%: tests/%.c $(ENGINE) drivers.c db_drivers.inc tests/harness.h
	@mkdir -p tests/bin/tsan
	$(CC) $(WARN) -O1 -g -fsanitize=thread -I. $(DBINC) -o $@ $< $(LIBS)

tests/bin/embed: examples/embed/embed.c osiris.h $(ENGINE) drivers.c db_drivers.inc
	@mkdir -p tests/bin
	$(CC) $(WARN) -O1 -g -I. $(DBINC) -o $@ examples/embed/embed.c osiris.c drivers.c $(LIBS)

embed: tests/bin/embed

deps:
	@./build.sh --deps-only

unit: $(UNIT_BIN)
asan: $(ASAN_BIN)

# The test programs build in parallel; tests/run.sh then runs everything,
# starting (and stopping) its own MariaDB and PostgreSQL for tests/db.
test: deps
	@$(MAKE) -s -j$$(nproc) osiris osiris-worker $(UNIT_BIN) $(ASAN_BIN) $(TSAN_BIN) tests/bin/embed
	@bash tests/run.sh

# Both compilers with -Werror, the exported-symbol rule, the banned calls.
check: deps
	$(MAKE) -s clean
	$(MAKE) -s CC=gcc osiris osiris-worker
	$(MAKE) -s clean
	$(MAKE) -s CC=clang osiris osiris-worker
	@bash tests/check_symbols.sh

bench: deps osiris
	@bash bench/run.sh

clean:
	rm -rf osiris osiris-worker tests/bin *.o build/osiris-worker.unstripped
