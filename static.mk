# static.mk -- `make worker`: ./osiris-worker as one fully static binary for
# sandboxes where nothing else exists (no /etc, no shared libraries).
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

.PHONY: worker vendor clean-vendor worker-flags

worker: osiris-worker

vendor: $(VENDOR_STAMP)

# vendor.sh is idempotent (one stamp per component); rerunning it after an
# edit of vendor.sh costs nothing when everything is there.
$(VENDOR_STAMP): vendor.sh
	@./vendor.sh
	@touch $@

# Unstripped copy (symbols only, no -g) kept in build/ for backtraces.
osiris-worker: $(ENGINE) drivers.c $(wildcard db_drivers.inc) worker_main.c static_stubs.c static.mk \
               $(VENDOR_STAMP)
	@mkdir -p build
	$(CC) $(WARN) $(WORKER_OPT) -static $(WORKER_INC) -o build/osiris-worker.unstripped \
	  $(WORKER_SRC) $(WORKER_LIBS)
	strip -o $@ build/osiris-worker.unstripped

# For tests/remote/static.sh, which links a probe program the same way:
# line 1 the include flags, line 2 the libraries.
worker-flags:
	@echo '$(WORKER_INC)'
	@echo '$(WORKER_LIBS)'

# Removes what vendor.sh built and fetched; vendor/README.md stays.
clean-vendor:
	rm -rf vendor/apt vendor/src vendor/build vendor/pg vendor/prefix
