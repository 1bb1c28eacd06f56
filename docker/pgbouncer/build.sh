#!/usr/bin/env bash
# Provides a PgBouncer that can pool in transaction mode for sqlx's named prepared
# statements (max_prepared_statements, PgBouncer >= 1.21) at target/pgbouncer/bin/pgbouncer.
#
# Debian bookworm packages PgBouncer 1.18, which has no prepared-statement support in
# transaction mode, so this builds Debian's own source package from the next release
# (trixie, 1.24) with Debian's patches applied. Needs root for apt (deb-src entry and the
# -dev packages); takes about 10 s on two cores. Does nothing when a new-enough PgBouncer
# is already there (target/pgbouncer or the system's).
set -euo pipefail
cd "$(dirname "$0")/../.."
# In cargo's target directory (CARGO_TARGET_DIR, relative to the repository when relative).
TARGET="${CARGO_TARGET_DIR:-target}"
case "$TARGET" in /*) ;; *) TARGET="$PWD/$TARGET" ;; esac
OUT="$TARGET/pgbouncer"

new_enough() { # prints the binary's version when it is >= 1.21
  local v
  v=$("$1" --version 2>/dev/null | sed -n 's/^PgBouncer \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  [ -n "$v" ] || return 1
  set -- $v
  [ "$1" -gt 1 ] || { [ "$1" -eq 1 ] && [ "$2" -ge 21 ]; }
}

if [ -x "$OUT/bin/pgbouncer" ] && new_enough "$OUT/bin/pgbouncer"; then
  echo "pgbouncer: $("$OUT/bin/pgbouncer" --version | head -n1) at $OUT/bin/pgbouncer"
  exit 0
fi
if command -v pgbouncer >/dev/null 2>&1 && new_enough "$(command -v pgbouncer)"; then
  mkdir -p "$OUT/bin" && ln -sf "$(command -v pgbouncer)" "$OUT/bin/pgbouncer"
  echo "pgbouncer: system $(pgbouncer --version | head -n1)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "pgbouncer >= 1.21 not found and building it needs root (apt); run: sudo $0" >&2
  exit 3 # cannot be done here (make test then skips only the pooler pass, saying why)
fi

SRC_LIST=/etc/apt/sources.list.d/todo-pgbouncer-src.sources
if ! apt-cache showsrc pgbouncer 2>/dev/null | grep -Eq '^Version: 1\.(2[1-9]|[3-9][0-9])'; then
  cat > "$SRC_LIST" <<'LIST'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
LIST
  apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  dpkg-dev libevent-dev libssl-dev pkg-config >/dev/null

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(
  cd "$WORK"
  apt-get source -qq pgbouncer >/dev/null 2>&1 || apt-get source pgbouncer
  cd "$(find . -maxdepth 1 -type d -name 'pgbouncer-*' | head -n1)"
  ./configure -q --prefix="$OUT" --without-cares --without-pam --without-systemd >/dev/null
  make -s -j"$(nproc)" >/dev/null
  make -s install >/dev/null
)
new_enough "$OUT/bin/pgbouncer"
echo "pgbouncer: built $("$OUT/bin/pgbouncer" --version | head -n1) at $OUT/bin/pgbouncer"
