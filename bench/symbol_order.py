#!/usr/bin/env python3
"""Records the functions of the release binary that run when it starts and serves, and
writes them to crates/server/symbol-order.txt, the order in which the linker lays out
`.text` (`crates/server/build.rs`: lld's `--symbol-ordering-file`).

Why: the kernel maps a cached file's pages 64 KiB around each page fault, and without an
order the code that runs at start-up is spread over the binary's 14.6 MB of text, so an
idle server had about 10 MiB of it resident. Laid out together, the same code takes
2-3 MiB (docs/performance.md, *Idle RSS*).

What runs: the binary under valgrind's callgrind, (1) on a fresh PostgreSQL database: start
(migrating the new database, as a first deploy does), six idle seconds, then the bench's
data set and each bench request several times; (2) on a new SQLite file: start. Every
function of the binary that callgrind saw run is written, once: PostgreSQL's start-up
first, then serving, then SQLite's start-up, each sorted by name. A name that no longer
exists in a later build (a dependency updated, another rustc) is skipped by the linker: the
order only decays, and `bench/run.py` prints how much of it the measured binary still has.

    make release && python3 bench/symbol_order.py      # or: make symbol-order
"""
import glob, os, random, re, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(__file__))
from instructions import control, request, send, wait_dump, wait_ready  # noqa: E402
from run import BIN, PG, SECRET, SHARED_USERS, USERS, create_database, seed, server_env, shared_user_id, user_id  # noqa: E402
from support import SYMBOL_ORDER, free_port, hs256, psql  # noqa: E402

SCENARIOS = ["list", "get", "create", "toggle", "shared"]
REPEAT = 20
IDLE = 6


def names_run(dump, binary):
    """The mangled names of the functions of `binary` that ran, in the dump's order."""
    fns, obs, ob, seen, names = {}, {}, None, set(), []

    def named(table, value):
        value = value.strip()
        if value.startswith("("):
            key, _, rest = value.partition(")")
            if rest.strip():
                table[key] = rest.strip()
            return table.get(key, "")
        return value

    for line in open(dump, errors="replace"):
        if line.startswith("ob="):
            ob = named(obs, line[3:])
        elif line.startswith("cob="):
            named(obs, line[4:])
        elif line.startswith("cfn="):
            named(fns, line[4:])
        elif line.startswith("fn="):
            # callgrind marks a recursion's levels with 'N; an address or "(below main)" is
            # no symbol.
            name = re.sub(r"'\d+$", "", named(fns, line[3:]))
            if ob != binary or not name or name.startswith(("0x", "(")) or " " in name:
                continue
            if name not in seen:
                seen.add(name)
                names.append(name)
    return names


def record(env, tokens=None, db_url=None):
    """The functions run by the binary on `env`'s database: at start-up (until [`IDLE`]
    seconds after its first ready answer), and, given tokens, serving each bench request."""
    out_dir = tempfile.mkdtemp(prefix="order-")
    binary = os.path.realpath(BIN)
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--demangle=no", "--dump-instr=no",
         f"--callgrind-out-file={out_dir}/callgrind.out.%p", binary],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def dump():
        before = set(glob.glob(f"{out_dir}/callgrind.out.*"))
        control(proc.pid, "-d")
        path = wait_dump(out_dir, before)
        # A dump is complete once its last line, the totals, is written.
        for _ in range(600):
            with open(path, errors="replace") as f:
                if any(line.startswith("totals:") for line in f):
                    break
            time.sleep(0.1)
        return names_run(path, binary)

    try:
        conn = wait_ready(int(env["PORT"]), proc)
        # Idle long enough for the periodic work (the deliverer's claim every second, the
        # change log's reader) to have run under valgrind.
        time.sleep(IDLE)
        started, served = dump(), []
        if tokens:
            # The bench's data, as bench/run.py seeds it: after the server migrated the new
            # database at its start, as a first deploy does.
            seed(db_url, env, 1)
            rng = random.Random(7)
            for scenario in SCENARIOS:
                for _ in range(REPEAT):
                    send(conn, *request(scenario, rng, tokens))
            served = dump()
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(out_dir, ignore_errors=True)
    return started, served


def main():
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (`apt-get install valgrind`)")
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: run `make release` first")
    tokens = {n: hs256(SECRET, user_id(n), 3600) for n in range(1, USERS + 1)}
    tokens.update({shared_user_id(n): hs256(SECRET, shared_user_id(n), 3600)
                   for n in range(1, SHARED_USERS + 1)})
    db, db_url = create_database("order")
    try:
        env = server_env(db_url, free_port())
        pg_started, pg_served = record(env, tokens, db_url)
    finally:
        psql(PG, f"DROP DATABASE IF EXISTS {db}")
    with tempfile.TemporaryDirectory() as data:
        env = {**server_env("", free_port()), "DATABASE_URL": f"sqlite://{data}/todo.db?mode=rwc"}
        sqlite_started, _ = record(env)
    # Each phase's functions together, sorted by name within it: callgrind's dump has no
    # stable order, and what the layout needs is only that a phase's code is contiguous, so
    # a new recording differs from the last by the functions that changed.
    ordered, seen = [], set()
    for phase in (pg_started, pg_served, sqlite_started):
        fresh = sorted(set(phase) - seen)
        seen.update(fresh)
        ordered.extend(fresh)
    with open(SYMBOL_ORDER, "w") as out:
        out.write("# The functions that run at start-up and on the bench requests, laid out first in\n"
                  "# `.text` (crates/server/build.rs). Written by bench/symbol_order.py; do not edit.\n")
        out.writelines(name + "\n" for name in ordered)
    print(f"{len(ordered)} functions ({len(pg_started)} at start on PostgreSQL, "
          f"{len(pg_served)} serving, {len(sqlite_started)} at start on SQLite) -> "
          f"{SYMBOL_ORDER}")


if __name__ == "__main__":
    main()
