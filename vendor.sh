#!/usr/bin/env bash
# vendor.sh -- fetch and build the static dependencies of osiris-worker.
#
#   ./vendor.sh            check the packages (build.sh --worker-deps installs them), then fetch
#                          and build whatever vendor/prefix still lacks
#   ./vendor.sh --check    exit 0 when vendor/prefix is complete, 1 otherwise
#
# Everything comes from Debian's archive through apt: source packages via a
# private deb-src configuration under vendor/apt (/etc/apt is never edited),
# binary .debs via `apt-get download`.  Results land in vendor/prefix; each
# component leaves a stamp file there, so a second run does nothing and needs
# no network.  See vendor/README.md for what ends up where and why.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
V=$ROOT/vendor
P=$V/prefix
JOBS=$(nproc 2>/dev/null || echo 2)
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=${DEBIAN_SUITE:-bookworm}
PG_MAJOR=15

say() { printf 'vendor.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

complete() {
  [ -f "$P/.curl" ] && [ -f "$P/.mariadb" ] && [ -f "$P/.pg" ]
}

if [ "${1:-}" = "--check" ]; then
  complete && exit 0 || exit 1
fi

# ---- 1. Debian packages --------------------------------------------------
# build.sh is the one place that installs (once, before anything runs in
# parallel); this only makes sure the worker's packages are there.
./build.sh --worker-deps || die "the packages the worker build needs are missing (see above)"
complete && { say "vendor/prefix is complete; nothing to do"; exit 0; }

mkdir -p "$V/apt/state/lists/partial" "$V/apt/cache/archives/partial" "$V/src" "$V/build" \
         "$P/lib" "$P/include"

# ---- 2. private apt configuration for deb-src -----------------------------
APT_OPTS=(-o "Dir::Etc::SourceList=$V/apt/sources.list"
          -o "Dir::Etc::SourceParts=$V/apt/sources.list.d"
          -o "Dir::State=$V/apt/state"
          -o "Dir::State::status=/var/lib/dpkg/status"
          -o "Dir::Cache=$V/apt/cache"
          -o "Debug::NoLocking=$([ "$(id -u)" = 0 ] && echo 0 || echo 1)")
# As root apt hands downloads to the _apt user, which cannot write into a
# root-owned tree; downloading as root avoids the permission warning.
[ "$(id -u)" = 0 ] && APT_OPTS+=(-o "APT::Sandbox::User=root")
apt_ready=0
apt_src_setup() {
  [ "$apt_ready" = 1 ] && return 0
  mkdir -p "$V/apt/sources.list.d"
  local key=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$key" ] || die "$key missing (package debian-archive-keyring)"
  cat > "$V/apt/sources.list" <<EOF
deb-src [signed-by=$key] $DEBIAN_MIRROR $SUITE main
deb-src [signed-by=$key] $DEBIAN_MIRROR $SUITE-updates main
deb-src [signed-by=$key] $DEBIAN_SECURITY_MIRROR $SUITE-security main
EOF
  # Lists younger than a day are reused (a rerun after a failed build).
  if [ -z "$(find "$V/apt/state/lists" -maxdepth 1 -name '*Sources*' -mmin -1440 2>/dev/null | head -n1)" ]; then
    say "apt-get update (private deb-src lists in vendor/apt)"
    apt-get "${APT_OPTS[@]}" update -qq >/dev/null || die "apt-get update for deb-src failed"
  fi
  apt_ready=1
}

# Download the source package $1 into vendor/src (after apt_src_setup, which
# must run in this shell, not in the $(...) subshell), newest version first; a
# mirror missing one version's files (seen with security updates) falls back
# to the next.  Prints the version fetched.
fetch_source() {
  local pkg=$1 ver
  for ver in $(apt-cache "${APT_OPTS[@]}" showsrc "$pkg" | awk '/^Version:/{print $2}' | sort -rV | uniq); do
    if (cd "$V/src" && apt-get "${APT_OPTS[@]}" source -qq --download-only "$pkg=$ver" >/dev/null 2>&1); then
      echo "$ver"
      return 0
    fi
    say "source $pkg=$ver not downloadable; trying an older version"
  done
  die "cannot download the source package $pkg"
}

upstream() { local v=${1#*:}; echo "${v%-*}"; }   # 1:10.11.18-0+deb12u1 -> 10.11.18
noepoch() { echo "${1#*:}"; }

# ---- 3. libcurl: minimal static build from Debian's curl source ----------
build_curl() {
  local ver=$1 src t0=$SECONDS
  src=$V/build/curl-$(upstream "$ver")
  rm -rf "$src"
  # dpkg-source applies Debian's patches (the CVE fixes).  configure.ac
  # patches do not matter: AM_MAINTAINER_MODE keeps the shipped configure.
  dpkg-source -q -x "$V/src/curl_$(noepoch "$ver").dsc" "$src" >/dev/null 2>&1 ||
    die "dpkg-source -x curl failed"
  say "building libcurl $ver (http/https, OpenSSL, zlib)"
  (cd "$src" && ./configure -q --prefix="$P" --disable-shared --enable-static \
      --disable-dependency-tracking --with-pic=no CFLAGS="-O2" \
      --with-openssl --with-zlib \
      --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche --without-msh3 \
      --without-libidn2 --without-libpsl --without-brotli --without-zstd \
      --without-librtmp --without-libssh2 --without-libssh --without-gssapi --without-libgsasl \
      --without-hyper --disable-ldap --disable-ldaps \
      --disable-ftp --disable-file --disable-rtsp --disable-dict --disable-telnet --disable-tftp \
      --disable-pop3 --disable-imap --disable-smb --disable-smtp --disable-gopher --disable-mqtt \
      --disable-ntlm-wb --disable-manual \
      --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --with-ca-path=/etc/ssl/certs \
      >"$src/vendor-configure.log" 2>&1) || die "curl configure failed: see $src/vendor-configure.log"
  (cd "$src" && make -s -C lib -j"$JOBS" >"$src/vendor-make.log" 2>&1 &&
     make -s -C lib install >>"$src/vendor-make.log" 2>&1 &&
     make -s -C include install >>"$src/vendor-make.log" 2>&1) ||
    die "curl build failed: see $src/vendor-make.log"
  rm -f "$P/lib/libcurl.la"
  echo "$ver" > "$P/.curl"
  say "libcurl done in $((SECONDS - t0)) s"
}

# ---- 4. MariaDB Connector/C with the auth plugins built in ----------------
build_mariadb() {
  local ver=$1 up src orig f dsc debtar b i plug t0=$SECONDS
  up=$(upstream "$ver")
  src=$V/build/mariadb-$up
  orig=
  for f in "$V/src/mariadb_$up.orig.tar."*; do
    case $f in *.asc) ;; *) orig=$f ;; esac
  done
  [ -f "$orig" ] || die "no orig tarball for mariadb $up in vendor/src"
  dsc=$V/src/mariadb_$(noepoch "$ver").dsc
  rm -rf "$src" "$V/build/mariadb-cc"
  # Only libmariadb/ (Connector/C) is needed; unpacking it alone from the
  # orig tarball saves unpacking and patching the whole server tree.  That
  # equals Debian's source only while no Debian patch touches libmariadb/,
  # so check and otherwise unpack the full package.
  debtar=$(find "$V/src" -maxdepth 1 -name "mariadb_$(noepoch "$ver").debian.tar.*" | head -n1)
  if tar -xOf "$debtar" debian/patches 2>/dev/null | grep -q '^+++ [^ ]*libmariadb/'; then
    say "Debian patches touch libmariadb/: unpacking the full mariadb source"
    dpkg-source -q -x "$dsc" "$src" >/dev/null 2>&1 || die "dpkg-source -x mariadb failed"
  else
    mkdir -p "$src"
    tar -xf "$orig" -C "$src" --strip-components=1 --wildcards '*/libmariadb/*' ||
      die "cannot unpack libmariadb from $orig"
  fi
  say "building MariaDB Connector/C from mariadb $ver (static auth plugins)"
  b=$V/build/mariadb-cc
  cmake -S "$src/libmariadb" -B "$b" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="-O2" \
      -DCMAKE_POSITION_INDEPENDENT_CODE=OFF -DCMAKE_COMPILE_WARNING_AS_ERROR=OFF \
      -DWITH_UNIT_TESTS=OFF -DWITH_CURL=OFF -DWITH_EXTERNAL_ZLIB=ON -DWITH_SSL=OPENSSL \
      -DCLIENT_PLUGIN_CACHING_SHA2_PASSWORD=STATIC \
      -DCLIENT_PLUGIN_SHA256_PASSWORD=STATIC \
      -DCLIENT_PLUGIN_CLIENT_ED25519=STATIC \
      -DCLIENT_PLUGIN_MYSQL_CLEAR_PASSWORD=STATIC \
      -DCLIENT_PLUGIN_DIALOG=OFF -DCLIENT_PLUGIN_AUTH_GSSAPI_CLIENT=OFF \
      -DCLIENT_PLUGIN_REMOTE_IO=OFF -DCLIENT_PLUGIN_ZSTD=OFF \
      -DMARIADB_UNIX_ADDR=/run/mysqld/mysqld.sock \
      >"$b.cmake.log" 2>&1 || die "cmake for Connector/C failed: see $b.cmake.log"
  cmake --build "$b" --target mariadbclient -j"$JOBS" >"$b.make.log" 2>&1 ||
    die "Connector/C build failed: see $b.make.log"
  cp "$b/libmariadb/libmariadbclient.a" "$P/lib/libmariadbclient.a"
  # The public headers, laid out as Connector/C installs them (and as
  # Debian's /usr/include/mariadb has them).  (mysql/client_plugin.h includes
  # the uninstalled ma_compress.h, in Debian's copy too: include mysql.h,
  # which declares mysql_client_find_plugin, not client_plugin.h.)
  i=$src/libmariadb/include
  rm -rf "$P/include/mariadb"
  mkdir -p "$P/include/mariadb/mysql" "$P/include/mariadb/mariadb"
  cp "$i"/{mariadb_com,mysql,mariadb_stmt,ma_pvio,ma_tls,ma_list,errmsg,mariadb_dyncol,mariadb_ctype,mariadb_rpl,mysqld_error}.h \
     "$b/include/mariadb_version.h" "$P/include/mariadb/"
  cp "$i"/mysql/{client_plugin,plugin_auth}.h "$P/include/mariadb/mysql/"
  cp "$i/mariadb/ma_io.h" "$P/include/mariadb/mariadb/"
  # Fail here, not at a MySQL 8 login, when a plugin did not end up built in
  # (nm's output goes to a file: grep -q closing the pipe early would make
  # nm fail under pipefail).
  nm "$P/lib/libmariadbclient.a" > "$b/nm.txt" 2>/dev/null
  for plug in mysql_native_password caching_sha2_password sha256_password client_ed25519; do
    grep -q " D ${plug}_client_plugin\$" "$b/nm.txt" ||
      die "libmariadbclient.a lacks the built-in plugin $plug"
  done
  echo "$ver" > "$P/.mariadb"
  say "Connector/C done in $((SECONDS - t0)) s"
}

# Sources are fetched one after the other (one apt cache), the two builds
# then run side by side: curl's configure is a long serial chain of tiny
# compiles that leaves the other core idle.
curl_ver=
maria_ver=
if [ ! -f "$P/.curl" ] || [ ! -f "$P/.mariadb" ]; then apt_src_setup; fi
[ -f "$P/.curl" ] || curl_ver=$(fetch_source curl)
[ -f "$P/.mariadb" ] || maria_ver=$(fetch_source mariadb)
pids=()
if [ -n "$curl_ver" ]; then build_curl "$curl_ver" & pids+=($!); fi
if [ -n "$maria_ver" ]; then build_mariadb "$maria_ver" & pids+=($!); fi


# ---- 5. libpgcommon.a / libpgport.a from postgresql-server-dev-15 ---------
# The package itself is not installed (it depends on clang/llvm): its .deb is
# downloaded and unpacked.  Its version matches the installed libpq-dev.
if [ ! -f "$P/.pg" ]; then
  want=$(dpkg-query -W -f='${Version}' libpq-dev)
  pkg=postgresql-server-dev-$PG_MAJOR
  rm -f "$V/src/${pkg}_"*.deb
  got=
  DL_OPTS=()
  [ "$(id -u)" = 0 ] && DL_OPTS+=(-o "APT::Sandbox::User=root")
  for ver in "$want" $(apt-cache madison "$pkg" | awk '{print $3}'); do
    if (cd "$V/src" && apt-get download -qq "${DL_OPTS[@]}" "$pkg=$ver" >/dev/null 2>&1); then
      got=$ver; break
    fi
  done
  [ -n "$got" ] || die "cannot download $pkg"
  [ "$got" = "$want" ] || say "warning: $pkg $got does not match libpq-dev $want"
  rm -rf "$V/pg"
  dpkg-deb -x "$V/src/${pkg}_"*.deb "$V/pg"
  for a in libpgcommon libpgport libpgcommon_shlib libpgport_shlib; do
    cp "$V/pg/usr/lib/postgresql/$PG_MAJOR/lib/$a.a" "$P/lib/$a.a"
  done
  echo "$got" > "$P/.pg"
  say "libpgcommon/libpgport $got unpacked"
fi
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || die "a build failed (see the messages above)"
say "vendor/prefix complete: $(cat "$P/.curl") curl, $(cat "$P/.mariadb") mariadb, $(cat "$P/.pg") pg"
