#!/usr/bin/env bash
# What `make bench` needs besides the release binary: wrk and valgrind (Debian's packages)
# and pgbench (ships with PostgreSQL). Installs wrk and valgrind with apt when they are
# missing and we are root, so the benchmark runs end to end on a fresh machine; otherwise
# says what to run.
set -euo pipefail

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "wrk is not installed; run: sudo apt-get install -y wrk" >&2
    exit 1
  fi
  echo "bench: installing wrk (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends wrk >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends wrk >/dev/null; }
fi
echo "bench: $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)"

# valgrind's callgrind, for bench/instructions.py's counts (the same way).
if ! command -v valgrind >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "valgrind is not installed; run: sudo apt-get install -y valgrind" >&2
    exit 1
  fi
  echo "bench: installing valgrind (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends valgrind >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends valgrind >/dev/null; }
fi

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
