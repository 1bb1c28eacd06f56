#!/usr/bin/env bash
# What `make bench` needs besides the release binary: wrk and valgrind (Debian's packages)
# and pgbench (ships with PostgreSQL). Installs wrk and valgrind with apt when they are
# missing and we are root, so the benchmark runs end to end on a fresh machine; otherwise
# says what to run.
set -euo pipefail

# Installs Debian's package $1 (a command of the same name) when it is missing.
need() {
  if command -v "$1" >/dev/null 2>&1; then
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "$1 is not installed; run: sudo apt-get install -y $1" >&2
    exit 1
  fi
  echo "bench: installing $1 (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "$1" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "$1" >/dev/null; }
}

need wrk
echo "bench: $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)"
# valgrind's callgrind, for bench/instructions.py's counts.
need valgrind

if ! command -v pgbench >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1; then
  echo "pgbench is not installed: it ships with the PostgreSQL server (Debian: postgresql-15)" >&2
  exit 1
fi

# The benchmark's database server, checked before the release build rather than after it.
admin="${SMOKE_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! psql "$admin" -Atqc 'SELECT 1' >/dev/null 2>&1; then
  echo "PostgreSQL does not answer at $admin (set SMOKE_PG_ADMIN_URL to another server);" \
    "on Debian: pg_ctlcluster <version> main start" >&2
  exit 1
fi
