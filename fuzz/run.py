#!/usr/bin/env python3
"""Property-based tests of the whole API against its own OpenAPI document.

Creates (once) a virtualenv with a pinned schemathesis in the cargo target directory,
creates a fresh PostgreSQL database, starts the debug todo-server on a free loopback port
configured through the environment only, seeds a user and an admin with a few tasks, and
runs every check over every operation twice: with the user's token, then the admin's.
Path parameters are the seeded ids, so that every route is reachable, except in the
stateful phase, run on its own after the others, where they come from earlier responses.
Exits non-zero on any failure. The server logs each request's route and status to
target/fuzz-reports/server.log.

    python3 fuzz/run.py --quick     # make fuzz-quick (part of make test): bounded
    python3 fuzz/run.py             # make fuzz: a long run, a new seed each time

The quick pass is deterministic: a fixed seed, one worker (so the requests reach the server
in the same order each time), the examples of the document and schemathesis's coverage
phase (every boundary and every invalid value of each parameter and body property: about
2 700 cases per token, 20 s), and a time limit far above what it needs, so that it ends on
its cases, not on the clock. Its random phases (fuzzing, stateful) are the long pass's, which
ends on the clock (`--max-time` per run) as much as on its cases. A run that
errors without any check failing (schemathesis or Hypothesis itself crashing while
generating, which this version does now and then) is run once more, and says so; a check
failure is never retried.

PostgreSQL is expected at FUZZ_PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres).
When it is unreachable the run says so and is skipped, as the other PostgreSQL tests of make
test are, unless CI=true, where that is a failure.
"""
import argparse, json, os, secrets, subprocess, sys, tempfile, time, urllib.request
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from support import (  # noqa: E402
    free_port, fresh_database, hs256, production_env, psql, server_bin, target_dir)

SCHEMATHESIS = "schemathesis==4.32.5"
PG = os.environ.get("FUZZ_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SECRET = secrets.token_hex(32)
HERE = os.path.dirname(os.path.abspath(__file__))


def venv():
    """The virtualenv's schemathesis, created or upgraded to the pinned version when needed."""
    root = os.path.join(target_dir(), "fuzz-venv")
    exe = os.path.join(root, "bin", "schemathesis")
    marker = os.path.join(root, "pinned")
    if not (os.path.exists(exe) and os.path.exists(marker) and open(marker).read() == SCHEMATHESIS):
        subprocess.run([sys.executable, "-m", "venv", root], check=True)
        subprocess.run([os.path.join(root, "bin", "pip"), "install", "--quiet",
                        "--disable-pip-version-check", SCHEMATHESIS], check=True)
        with open(marker, "w") as f:
            f.write(SCHEMATHESIS)
    return exe


def http(method, url, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as res:
        return res.status, json.loads(res.read() or b"null")


def add_user(db_url, who, role):
    psql(db_url, f"INSERT INTO \"user\" (id, name, email, \"emailVerified\", role) "
                 f"VALUES ('{who}', '{who}', '{who}@example.com', true, '{role}')")


def seed(base, db_url, who, role):
    """A user with a few tasks (one completed, one repeating), a list shared with another
    user, and a deleted task in the trash; returns their token and the path parameters
    that reach each route: a task, the list, its member, the trash entry."""
    add_user(db_url, who, role)
    add_user(db_url, f"{who}-friend", "user")
    token = hs256(SECRET, who, ttl=24 * 3600)
    ids = []
    for body in ({"title": "Buy milk", "tags": ["home"], "priority": "high", "due": "2026-12-01"},
                 {"title": "Water the plants", "due": "2026-12-01", "recurrence": "FREQ=WEEKLY"},
                 {"title": "Done already", "completed": True},
                 {"title": "Call Ada", "description": "about the report", "remind_at": "2026-12-01T08:00:00Z"},
                 {"title": "Thrown away"}):
        status, task = http("POST", f"{base}/api/{who}/tasks", token, body)
        assert status == 201, status
        ids.append(task["id"])
    status, _ = http("DELETE", f"{base}/api/{who}/tasks/{ids.pop()}", token)
    assert status == 204, status
    status, entries = http("GET", f"{base}/api/{who}/trash", token)
    assert status == 200 and len(entries) == 1, (status, entries)
    status, shared = http("POST", f"{base}/api/{who}/lists", token, {"name": "Shared"})
    assert status == 201, status
    status, member = http("POST", f"{base}/api/{who}/lists/{shared['id']}/members", token,
                          {"user_id": f"{who}-friend", "role": "editor"})
    assert status == 201, status
    status, _ = http("POST", f"{base}/api/{who}/tasks", token,
                     {"title": "In the shared list", "list_id": shared["id"]})
    assert status == 201, status
    return token, {"task_id": ids[0], "list_id": shared["id"],
                   "member_id": member["user_id"], "entry_id": entries[0]["id"]}


def outcome(report):
    """(check failures, errors) of a JUnit report; None when it is missing or unreadable."""
    try:
        root = ET.parse(report).getroot()
    except (OSError, ET.ParseError):
        return None
    return len(root.findall(".//failure")), len(root.findall(".//error"))


def passes(args):
    """The schemathesis runs per token, as (name, phases, pinned): the phases that draw
    their path parameters from the seeded ids (`pinned`), then the stateful phase, which
    takes them from the responses of earlier calls (links), as a client does. Pinned there,
    a seeded list deleted by one step would be sent to every later step as if it came from
    the list just created, which the check of created resources reports as that list gone.
    A `--phases` among the extra options chooses the phases, and is taken out of them."""
    phases = ["examples", "coverage"] if args.quick else ["examples", "coverage", "fuzzing", "stateful"]
    extra = list(args.extra)
    for i, a in enumerate(extra):
        if a == "--phases" and i + 1 < len(extra):
            phases = extra[i + 1].split(",")
            del extra[i:i + 2]
            break
        if a.startswith("--phases="):
            phases = a.split("=", 1)[1].split(",")
            del extra[i]
            break
    args.extra = extra
    pinned = [p for p in phases if p != "stateful"]
    return ([("", pinned, True)] if pinned else []) + \
        ([("-stateful", ["stateful"], False)] if "stateful" in phases else [])


def run(exe, base, who, token, ids, phases, args, report, server):
    """Schemathesis as `who` in `phases`, the path parameters `ids` pinned, once more if it
    errored without any check failing; True when it found nothing."""
    for attempt in (1, 2):
        ok = run_once(exe, base, who, token, ids, phases, args, report)
        if ok or attempt == 2 or server.poll() is not None:
            return ok
        found = outcome(report)
        if found is None or found[0] > 0 or found[1] == 0:
            return False
        print(f"== {who}: schemathesis errored ({found[1]} error(s)) without any check failing: "
              "running it once more ==", flush=True)
    return False


def run_once(exe, base, who, token, ids, phases, args, report):
    """One schemathesis run as `who`; True when it found nothing."""
    if os.path.exists(report):
        os.unlink(report)  # never read an earlier run's report as this one's
    config = f"""
[parameters]
"path.user_id" = "{who}"
""" + "".join(f'"path.{name}" = "{value}"\n' for name, value in ids.items())
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(config)
        f.write(open(os.path.join(HERE, "schemathesis.toml")).read())
        path = f.name
    # Every check runs: all but max_response_time are on by default. `--checks all` is not
    # passed, because a check named on the command line is on for every operation, whatever
    # fuzz/schemathesis.toml turns off for some.
    cmd = [exe, "--config-file", path, "run", f"{base}/openapi.json",
           "--max-examples", str(args.examples), "--max-time", str(args.max_time),
           "--workers", str(args.workers), "--request-timeout", "10",
           "--phases", ",".join(phases),
           # No example database: nothing of an earlier run is replayed (the same seed
           # gives the same cases), and Hypothesis skips its Pareto optimisation of the
           # targeted metrics, which made the bounded pass take many times longer.
           "--generation-database", "none", "-H", f"Authorization: Bearer {token}",
           "--report", "junit", "--report-junit-path", report, "--no-color"]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    cmd += args.extra
    print(f"\n== schemathesis as {who}: {','.join(phases)} "
          f"({args.examples} examples per operation) ==", flush=True)
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=os.path.dirname(report))
    print(f"== {who}: exit {done.returncode} after {time.monotonic() - started:.0f} s ==", flush=True)
    os.unlink(path)
    return done.returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the bounded pass of make test")
    parser.add_argument("--examples", type=int, help="examples per operation")
    parser.add_argument("--max-time", type=int, help="seconds per schemathesis run (each phase group, each token)")
    parser.add_argument("--seed", type=int, help="random seed (the quick pass fixes one)")
    parser.add_argument("--workers", type=int, help="concurrent workers (the quick pass: 1)")
    parser.add_argument("extra", nargs="*", help="more schemathesis options, after --")
    args = parser.parse_args()
    if args.examples is None:
        args.examples = 10 if args.quick else 500
    if args.max_time is None:
        args.max_time = 900 if args.quick else 1800
    if args.workers is None:
        args.workers = 1 if args.quick else 2
    if args.seed is None and args.quick:
        args.seed = 16
    runs = passes(args)
    binary = server_bin("debug")
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing: run `cargo build -p todo-server` first")
    reachable = subprocess.run(["psql", PG, "-qtAc", "SELECT 1"], capture_output=True, text=True)
    if reachable.returncode != 0:
        reason = f"PostgreSQL is unreachable at {PG}: {reachable.stderr.strip()}"
        if os.environ.get("CI") == "true":
            sys.exit(reason)
        print(f"schemathesis: skipped ({reason})")
        return
    exe = venv()
    db, db_url = fresh_database(PG, "fuzz")
    port = free_port()
    # The pass sends hundreds of refused credentials from one address (its authentication
    # checks): the auth-failures budget would answer them 429 with a Retry-After, which
    # schemathesis waits out and retries, so that the pass took many times longer and tested
    # the budget instead of the operations. It is raised for the pass; the budgets have their
    # own tests (crates/http/tests/api/rate_limits.rs).
    # Every request is logged (at info: method, route, status, request id), so that a
    # failure's steps can be followed in fuzz-reports/server.log.
    env = production_env(db_url, port, SECRET, "info",
                         TODO__RATE_LIMIT__AUTH_FAILURES_QUOTA="1000000")
    reports = os.path.join(target_dir(), "fuzz-reports")
    os.makedirs(reports, exist_ok=True)
    log = open(os.path.join(reports, "server.log"), "w")
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([binary], env=env, stdout=log, stderr=log)
    ok = False
    try:
        started = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health/ready", timeout=1) as res:
                    if res.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() - started > 30:
                sys.exit("the server did not become ready (see fuzz-reports/server.log)")
            time.sleep(0.05)
        user_token, user_ids = seed(base, db_url, "fuzz-user", "user")
        admin_token, admin_ids = seed(base, db_url, "fuzz-admin", "admin")
        ok = True
        for suffix, phases, pinned in runs:
            for who, token, ids in (("fuzz-user", user_token, user_ids),
                                    ("fuzz-admin", admin_token, admin_ids)):
                report = os.path.join(reports, f"{who.removeprefix('fuzz-')}{suffix}.xml")
                ok = run(exe, base, who, token, ids if pinned else {}, phases, args, report,
                         proc) and ok
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        psql(PG, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    print("schemathesis: no failures" if ok else "schemathesis: FAILURES (see above)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
