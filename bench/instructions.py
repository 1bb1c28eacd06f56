#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind: unlike req/s, the same for
the same binary and inputs however busy the machine is, so it measures what a change to
the request path buys (a noisy 2-core box hides a 3% change in req/s).

Starts target/release/todo-server under callgrind on a fresh, seeded PostgreSQL database
(the data set of bench/run.py), and for each scenario zeroes the counters, sends
BENCH_REQUESTS requests one after another over one keep-alive connection, and dumps the
counters. Prints instructions per request for the whole process (every thread: HTTP,
auth, SeaORM and sqlx, JSON, tracing) and the functions that execute the most of them.
Then the same for the lean reference server (bench/lean, when built: `make bench-lean`)
on the same database, and ours ÷ lean per scenario.

    python3 bench/instructions.py            # list, get, create, toggle
    BENCH_SCENARIOS=get BENCH_REQUESTS=2000 python3 bench/instructions.py
"""
import glob, http.client, json, os, random, re, shutil, subprocess, sys, tempfile, time

from run import (BIN, LEAN_BIN, PG, USERS, TASKS, SECRET, SHARED_USERS, UNSEED, create_database,
                 seed, server_env, shared_user_id, user_id)
from support import free_port, hs256, psql

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1000"))
SCENARIOS = [s for s in os.environ.get("BENCH_SCENARIOS", "list,get,create,toggle,shared").split(",") if s]
TOP = int(os.environ.get("BENCH_TOP", "12"))


def task_id(n, k):
    return f"{n:08x}-0000-4000-8000-{k:012x}"


def request(scenario, rng, tokens, n=None):
    n = n or rng.randint(1, USERS)
    headers = {"Authorization": f"Bearer {tokens[n]}"}
    base = f"/api/{user_id(n)}/tasks"
    if scenario == "list":
        return "GET", base, None, headers
    if scenario == "get":
        return "GET", f"{base}/{task_id(n, rng.randint(1, TASKS))}", None, headers
    if scenario == "create":
        headers["Content-Type"] = "application/json"
        return "POST", base, '{"title":"Bench task"}', headers
    if scenario == "toggle":
        return "PATCH", f"{base}/{task_id(n, rng.randint(1, TASKS))}/complete", None, headers
    if scenario == "shared":
        s = (n - 1) % SHARED_USERS + 1
        headers["Authorization"] = f"Bearer {tokens[shared_user_id(s)]}"
        return "GET", f"/api/{shared_user_id(s)}/tasks?limit=50", None, headers
    sys.exit(f"unknown scenario {scenario}")


def control(pid, *args):
    # vgdb finds the server by a file named after $USER and $HOST, and the server's HOST
    # is its listen address.
    env = {**os.environ, "HOST": "127.0.0.1"}
    subprocess.run(["callgrind_control", *args, str(pid)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def count(binary, env, db_url, tokens):
    """Instructions per request of `binary` (serving `env`'s database) for each scenario."""
    out_dir = tempfile.mkdtemp(prefix="callgrind-")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_dir}/callgrind.out.%p",
         "--dump-instr=no", binary],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = []
    try:
        conn = wait_ready(int(env["PORT"]), proc)
        rng = random.Random(42)
        for scenario in SCENARIOS:
            # Warm-up: every user's credential cached, the statements prepared.
            for n in range(1, USERS + 1):
                send(conn, *request(scenario, rng, tokens, n))
            control(proc.pid, "-z")
            for _ in range(REQUESTS):
                send(conn, *request(scenario, rng, tokens))
            before = set(glob.glob(f"{out_dir}/callgrind.out.*"))
            control(proc.pid, "-d", scenario)
            dump = wait_dump(out_dir, before)
            total, top = read_dump(dump)
            results.append({"scenario": scenario, "requests": REQUESTS,
                            "instructions_per_request": total / REQUESTS,
                            "top": [(name, ir / REQUESTS) for name, ir in top]})
        for sql in UNSEED:
            psql(db_url, sql)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(out_dir, ignore_errors=True)
    return results


def main():
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (`apt-get install valgrind`)")
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: run `make release` first")
    db, db_url = create_database("instr")
    env = server_env(db_url, free_port())
    subprocess.run([BIN, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    seed(db_url, env, 1)
    tokens = {n: hs256(SECRET, user_id(n), 3600) for n in range(1, USERS + 1)}
    tokens.update({shared_user_id(n): hs256(SECRET, shared_user_id(n), 3600)
                   for n in range(1, SHARED_USERS + 1)})
    servers = [("ours", BIN)]
    if os.path.exists(LEAN_BIN):
        servers.append(("lean", LEAN_BIN))
    else:
        print(f"{LEAN_BIN} is missing (`make bench-lean`): ours alone", file=sys.stderr)
    # A verified credential is remembered for 5 s by both servers; under callgrind a
    # scenario runs ~50 times slower than at full speed and outlasts that, so each user's
    # token would be verified again several times per scenario — a cost that at full speed
    # is one verification per user per 5 s, well under 0.1 % of the requests. Both servers
    # remember credentials for the whole run here, so that the counts are the steady
    # state's and repeat from run to run.
    remembered = {"TODO__AUTH__CACHE_TTL_SECS": "3600", "LEAN_REMEMBERED_SECS": "3600"}
    counted = {}
    try:
        for name, binary in servers:
            counted[name] = count(binary, {**remembered, **env, "PORT": str(free_port())},
                                  db_url, tokens)
    finally:
        psql(PG, f"DROP DATABASE IF EXISTS {db}")

    for name, results in counted.items():
        for r in results:
            print(f"\n{name}, {r['scenario']}: {r['instructions_per_request']:,.0f} instructions per "
                  f"request ({r['requests']} requests, one connection)")
            for fn, ir in r["top"]:
                print(f"  {ir:>9,.0f}  {fn[:150]}")
    print()
    lean = {r["scenario"]: r["instructions_per_request"] for r in counted.get("lean", [])}
    for r in counted["ours"]:
        line = {"scenario": r["scenario"], "instructions_per_request": round(r["instructions_per_request"])}
        if r["scenario"] in lean:
            line["lean_instructions_per_request"] = round(lean[r["scenario"]])
            line["ours_over_lean"] = round(r["instructions_per_request"] / lean[r["scenario"]], 2)
        print(json.dumps(line))


def wait_ready(port, proc):
    started = time.monotonic()
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/health/ready")
            res = conn.getresponse()
            res.read()
            if res.status == 200:
                return conn
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() - started > 120:
            proc.kill()
            sys.exit("the server did not become ready under valgrind")
        time.sleep(0.2)


def send(conn, method, path, body, headers):
    try:
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
    except (http.client.HTTPException, OSError):
        # The server closed an idle keep-alive connection: the next request reconnects.
        conn.close()
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
    res.read()
    if res.status >= 300:
        sys.exit(f"{method} {path} answered {res.status}")


def wait_dump(out_dir, before):
    for _ in range(300):
        new = set(glob.glob(f"{out_dir}/callgrind.out.*")) - before
        if new:
            time.sleep(0.5)
            return new.pop()
        time.sleep(0.1)
    sys.exit("callgrind wrote no dump")


def read_dump(path):
    """The total and the functions with the most instructions of their own (not counting
    their callees), from callgrind's output format."""
    names, own, current, skip = {}, {}, None, False
    for line in open(path, errors="replace"):
        if line.startswith(("fn=", "cfn=")):
            m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
            if m.group(2):
                names[m.group(1)] = m.group(2)
            if line.startswith("fn="):
                current = m.group(1)
        elif line.startswith("calls="):
            skip = True  # the next cost line is the callee's inclusive cost
        elif line[:1].isdigit() or line[:1] in "+-*":
            if skip:
                skip = False
            elif current is not None:
                parts = line.split()
                if len(parts) > 1:
                    own[current] = own.get(current, 0) + int(parts[1])
    total = sum(own.values())
    top = sorted(own.items(), key=lambda kv: -kv[1])[:TOP]
    return total, [(names.get(k, k), v) for k, v in top]

if __name__ == "__main__":
    main()
