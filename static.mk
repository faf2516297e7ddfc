# static.mk -- `make worker`: ./osiris-worker as one fully static binary for
# sandboxes where nothing else exists (no /etc, no shared libraries), and
# ./osiris-worker-dyn, its sibling that can dlopen DuckDB (below).
# Included from the Makefile after its variables (WARN, ENGINE, CC).
#
# Static archives: SQLite, OpenSSL, zlib and libpq from Debian's -dev
# packages; libcurl (http/https only) and MariaDB Connector/C (with the
# caching_sha2_password, sha256_password and client_ed25519 auth plugins
# built in) compiled from Debian's source packages; libpgcommon/libpgport
# from the postgresql-server-dev .deb.  ./vendor.sh fetches and builds them
# once into vendor/prefix; later builds reuse it.  static_stubs.c supplies
# fail-closed GSS-API/LDAP symbols (Debian has no static Kerberos).
#
# glibc's link warnings about getaddrinfo/dlopen/getpw* in a static binary
# are expected and left visible: host and user lookups go through the NSS
# files/dns code built into static glibc (see vendor/README.md).

VENDOR_PREFIX  := vendor/prefix
VENDOR_STAMP   := $(VENDOR_PREFIX)/.complete
WORKER_OPT     ?= -O2
WORKER_SRC     := worker_main.c osiris.c drivers.c static_stubs.c
# Recursively expanded: pg_config exists only after vendor.sh installed
# libpq-dev, which happens before this is first used.
WORKER_INC      = -I. -I$(VENDOR_PREFIX)/include -I$(VENDOR_PREFIX)/include/mariadb \
                  -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
# One group: the archives reference each other (libpq -> pgcommon -> ssl,
# curl/mariadb -> ssl -> crypto -> z) and unused members cost nothing.
WORKER_LIBS    := -Wl,--start-group \
                  $(VENDOR_PREFIX)/lib/libcurl.a \
                  $(VENDOR_PREFIX)/lib/libmariadbclient.a \
                  -lpq \
                  $(VENDOR_PREFIX)/lib/libpgcommon_shlib.a \
                  $(VENDOR_PREFIX)/lib/libpgport_shlib.a \
                  -lsqlite3 -lssl -lcrypto -lz -lm -lpthread -ldl \
                  -Wl,--end-group

# The static worker cannot load a shared library: duckdb.processor says so
# there instead of calling a dlopen that static glibc cannot honour.
WORKER_DEFS    := -DOSIRIS_NO_DLOPEN

# osiris-worker-dyn: the worker for pipelines with a step that loads a
# shared library at run time (OSIRIS_DRIVER_DLOPEN: duckdb.processor and
# libduckdb.so).  glibc is linked dynamically (libc, libm, ld-linux: in any
# glibc sandbox; DuckDB itself also needs libstdc++ and libgcc_s there),
# everything else statically from the same archives as the static worker.
# osiris-worker-dyn.libs/ holds what a remote run ships beside it: a link
# to the DuckDB that build.sh fetched into vendor/duckdb/.
WORKER_DYN_LIBS := -static-libgcc -Wl,-Bstatic -Wl,--start-group \
                   $(VENDOR_PREFIX)/lib/libcurl.a \
                   $(VENDOR_PREFIX)/lib/libmariadbclient.a \
                   -lpq \
                   $(VENDOR_PREFIX)/lib/libpgcommon_shlib.a \
                   $(VENDOR_PREFIX)/lib/libpgport_shlib.a \
                   -lsqlite3 -lssl -lcrypto -lz \
                   -Wl,--end-group -Wl,-Bdynamic -lm -lpthread -ldl
DUCKDB_SO       := vendor/duckdb/libduckdb.so

.PHONY: worker worker-dyn vendor clean-vendor worker-flags

worker: osiris-worker osiris-worker-dyn
worker-dyn: osiris-worker-dyn

vendor: $(VENDOR_STAMP)

# vendor.sh is idempotent (one stamp per component); rerunning it after an
# edit of vendor.sh costs nothing when everything is there.
$(VENDOR_STAMP): vendor.sh
	@./vendor.sh
	@touch $@

# Unstripped copy (symbols only, no -g) kept in build/ for backtraces.
# The dlopen-capable sibling is built with it (order-only), so that
# everything that builds the worker can also run DuckDB pipelines remotely.
osiris-worker: $(ENGINE) drivers.c worker_main.c static_stubs.c static.mk \
               $(VENDOR_STAMP) | osiris-worker-dyn
	@mkdir -p build
	$(CC) $(WARN) $(WORKER_OPT) $(WORKER_DEFS) -static $(WORKER_INC) -o build/osiris-worker.unstripped \
	  $(WORKER_SRC) $(WORKER_LIBS)
	strip -o $@ build/osiris-worker.unstripped

# The libraries directory is refreshed on every build: a link, so a
# re-fetched DuckDB is what ships.
osiris-worker-dyn: $(ENGINE) drivers.c worker_main.c static_stubs.c static.mk \
                   $(VENDOR_STAMP)
	@mkdir -p build
	$(CC) $(WARN) $(WORKER_OPT) $(WORKER_INC) -o build/osiris-worker-dyn.unstripped \
	  $(WORKER_SRC) $(WORKER_DYN_LIBS)
	strip -o $@ build/osiris-worker-dyn.unstripped
	@mkdir -p $@.libs && rm -f $@.libs/libduckdb.so
	@if [ -f $(DUCKDB_SO) ]; then ln -s ../$(DUCKDB_SO) $@.libs/libduckdb.so; \
	 else echo "static.mk: $(DUCKDB_SO) is missing (./build.sh fetches it): remote DuckDB pipelines will refuse to start" >&2; fi

# For tests/remote/static.sh, which links a probe program the same way:
# line 1 the include flags, line 2 the libraries.
worker-flags:
	@echo '$(WORKER_INC)'
	@echo '$(WORKER_LIBS)'

# Removes what vendor.sh built and fetched; vendor/README.md stays.
clean-vendor:
	rm -rf vendor/apt vendor/src vendor/build vendor/pg vendor/prefix

# osiris-static (`make static`): the host CLI as one fully static binary,
# for an air-gapped host with nothing installed (no shared library, no
# /etc).  Same archives as the worker; like it, it cannot dlopen, so
# duckdb.processor fails there with a message and sql.processor (SQLite,
# built in) is the SQL engine.  A remote run still needs osiris-worker
# beside it.
.PHONY: static
static: osiris-static
osiris-static: $(ENGINE) drivers.c static_stubs.c static.mk $(VENDOR_STAMP)
	@mkdir -p build
	$(CC) $(WARN) $(WORKER_OPT) $(WORKER_DEFS) -DOSIRIS_CLI_MAIN -static $(WORKER_INC) \
	  -o build/osiris-static.unstripped osiris.c drivers.c static_stubs.c $(WORKER_LIBS)
	strip -o $@ build/osiris-static.unstripped
