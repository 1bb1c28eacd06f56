#!/usr/bin/env python3
"""`make bench`: the release binary on PostgreSQL under wrk, against pgbench running the
same SQL at the same concurrency (the ceiling), on this machine. Prints a table and JSON
lines. Loopback only; every load is bounded in time.

Environment: BENCH_DURATION (seconds per run, default 3), BENCH_CONNECTIONS (32),
BENCH_USERS (100), BENCH_TASKS (50), BENCH_SCENARIOS (comma-separated, default all),
BENCH_RUST_LOG (the server's log filter, default warn), TODO__* (passed to the server),
BENCH_PERF (set to 1: record each scenario's service run with `perf record` into
target/bench/perf-<scenario>.data), BENCH_ROUNDS (3: runs of each server per scenario,
alternating; medians are reported), BENCH_LEAN_BIN (the lean reference server,
default target/lean/release/todo-lean, built by `make bench`), SMOKE_PG_ADMIN_URL (admin
URL of the PostgreSQL server, default postgres://postgres@127.0.0.1:5432/postgres).

Each scenario runs against our server and against bench/lean (the same SQL behind the
least HTTP and JSON machinery, no ORM, no domain), in alternating rounds on one database.
"""
import json, os, re, resource, secrets, shutil, subprocess, sys, tempfile, time
import urllib.error, urllib.request

from support import (cpu_seconds, free_port, fresh_database, hs256, production_env, psql,
                     rss_kib, server_bin, SYMBOL_ORDER, target_dir)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = server_bin("release")
PG = os.environ.get("SMOKE_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DURATION = int(os.environ.get("BENCH_DURATION", "3"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
SCENARIOS = [s for s in os.environ.get(
    "BENCH_SCENARIOS", "list,get,poll_304,create,toggle,mixed,shared,big_plain,big_filtered").split(",") if s]
# One user with BIG_TASKS tasks, listed a page at a time plainly and with a filter and a sort.
BIG_USER, BIG_TASKS = "ubig", 10_000
PERF = os.environ.get("BENCH_PERF") == "1"
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))
LEAN_BIN = os.environ.get("BENCH_LEAN_BIN") or os.path.join(target_dir(), "lean", "release", "todo-lean")
# What the lean server serves: every scenario but the filtered, sorted page.
LEAN_SCENARIOS = {"list", "get", "create", "toggle", "mixed", "shared", "big_plain"}
# Creates (service and pgbench) are removed after each run so every scenario sees the seed.
UNSEED = ["DELETE FROM task WHERE id::text NOT LIKE '%-0000-4000-8000-%'", "VACUUM ANALYZE task"]
USERS = int(os.environ.get("BENCH_USERS", "100"))
TASKS = int(os.environ.get("BENCH_TASKS", "50"))
THREADS = 2
SECRET = "bench-" + secrets.token_hex(16)
HERE = os.path.dirname(os.path.abspath(__file__))


def tool(name):
    found = shutil.which(name)
    if found:
        return found
    for root in ("/usr/lib/postgresql",):
        if os.path.isdir(root):
            for v in sorted(os.listdir(root), reverse=True):
                p = os.path.join(root, v, "bin", name)
                if os.path.exists(p):
                    return p
    sys.exit(f"{name} is not installed (wrk: `apt-get install wrk`; pgbench ships with PostgreSQL)")


def user_id(n):
    return f"u{n:04d}"


# Users who see 10 lists each: their Inbox and 4 more lists of their own, and 5 lists of
# other such users shared with them as editors; 10 tasks in every list. The `shared`
# scenario lists 50 of the 100 tasks one of them sees.
SHARED_USERS, SHARED_LISTS, SHARED_TASKS = 20, 5, 10


def shared_user_id(n):
    return f"s{n:03d}"


SHARED_SEED = """
INSERT INTO "user" (id, name, email, "emailVerified", role)
  SELECT 's' || lpad(n::text, 3, '0'), 'Sharer ' || n, 's' || n || '@example.com', true, 'user'
  FROM generate_series(1, {users}) n;
INSERT INTO task_list (id, owner_id, name, colour, position, archived, inbox_of, created_at,
                       updated_at, version)
  SELECT (lpad(to_hex(n), 8, '0') || '-0000-4000-9000-' || lpad(to_hex(j), 12, '0'))::uuid,
         's' || lpad(n::text, 3, '0'), CASE WHEN j = 1 THEN 'Inbox' ELSE 'List ' || j END, NULL,
         'V' || j, false, CASE WHEN j = 1 THEN 's' || lpad(n::text, 3, '0') END, now(), now(), 1
  FROM generate_series(1, {users}) n, generate_series(1, {lists}) j;
INSERT INTO list_member (list_id, user_id, role, added_at)
  SELECT id, owner_id, 'owner', now() FROM task_list WHERE owner_id LIKE 's%';
-- User n edits list 2 + (k - 1) % 4 of user (n + k - 1) % users + 1, for k = 1..5.
INSERT INTO list_member (list_id, user_id, role, added_at)
  SELECT DISTINCT (lpad(to_hex((n + k - 1) % {users} + 1), 8, '0') || '-0000-4000-9000-'
          || lpad(to_hex(2 + (k - 1) % 4), 12, '0'))::uuid,
         's' || lpad(n::text, 3, '0'), 'editor', now()
  FROM generate_series(1, {users}) n, generate_series(1, 5) k;
INSERT INTO task (id, user_id, list_id, title, description, completed, created_at, updated_at,
                  completed_at, position, title_key, search_key, tags_key)
  SELECT (lpad(to_hex(4026531840 + n), 8, '0') || '-0000-4000-8000-'
          || lpad(to_hex(j * 100 + t), 12, '0'))::uuid,
         's' || lpad(n::text, 3, '0'),
         (lpad(to_hex(n), 8, '0') || '-0000-4000-9000-' || lpad(to_hex(j), 12, '0'))::uuid,
         'Task ' || t || ' of list ' || j, 'Some notes', t % 3 = 0,
         now() - ((j * 100 + t) || ' seconds')::interval,
         now() - ((j * 100 + t) || ' seconds')::interval,
         CASE WHEN t % 3 = 0 THEN now() - ((j * 100 + t) || ' seconds')::interval END,
         '', 'task ' || t || ' of list ' || j, '', ''
  FROM generate_series(1, {users}) n, generate_series(1, {lists}) j, generate_series(1, {tasks}) t;
ANALYZE;
"""


SEED = """
INSERT INTO "user" (id, name, email, "emailVerified", role)
  SELECT 'u' || lpad(n::text, 4, '0'), 'User ' || n, 'u' || n || '@example.com', true, 'user'
  FROM generate_series(1, {users}) n;
INSERT INTO task (id, user_id, title, description, completed, created_at, updated_at, completed_at)
  SELECT (lpad(to_hex(n), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(k), 12, '0'))::uuid,
         'u' || lpad(n::text, 4, '0'), 'Task ' || k || ' of user ' || n, 'Some notes', k % 3 = 0,
         now() - (k || ' minutes')::interval, now() - (k || ' minutes')::interval,
         CASE WHEN k % 3 = 0 THEN now() - (k || ' minutes')::interval END
  FROM generate_series(1, {users}) n, generate_series(1, {tasks}) k;
INSERT INTO "user" (id, name, email, "emailVerified", role)
  VALUES ('{big_user}', 'Big User', 'big@example.com', true, 'user');
INSERT INTO task (id, user_id, title, description, completed, created_at, updated_at, completed_at,
                  priority, tags, due_at, due_all_day, title_key, search_key, tags_key)
  SELECT (lpad(to_hex(k), 8, '0') || '-0000-4000-8000-00000000b19b')::uuid,
         '{big_user}', 'Big task ' || k, 'Notes ' || k, k % 4 = 0,
         now() - (k || ' seconds')::interval, now() - (k || ' seconds')::interval,
         CASE WHEN k % 4 = 0 THEN now() - (k || ' seconds')::interval END,
         NULLIF(k % 4, 0),
         (ARRAY['work', 'home', 'errands', 'urgent' || chr(10) || 'work'])[k % 4 + 1],
         CASE WHEN k % 3 > 0 THEN now() + ((k % 90) || ' days')::interval END, false,
         'big task ' || k, 'big task ' || k || chr(10) || 'notes ' || k,
         chr(10) || (ARRAY['work', 'home', 'errands', 'urgent' || chr(10) || 'work'])[k % 4 + 1] || chr(10)
  FROM generate_series(1, {big_tasks}) k;
ANALYZE;
"""

# The SQL each request issues for its data (auth lookups are cached), as pgbench scripts:
# a task is read through the lists its reader is a member of, with its subtask count; a create
# into a list far below its open-task limit does not count the list's open tasks.
COLUMNS = """id, user_id, title, description, completed, created_at, updated_at, priority, tags, due_at,
 due_all_day, remind_at, completed_at, recurrence, time_zone, occurrences_done, version, position,
 series_time, list_id, parent_id, assignee_id"""
SUBTASKS = "subtask_count AS subtasks"
# A write's change record, appended in the write's statement (as the service does).
LOG_COLUMNS = "kind, list_id, task_id, actor_id, subject_id, version, fields, at"
# The same columns, named by table where a join makes a name ambiguous.
TASK_COLUMNS = ",".join(" task." + c.strip() for c in COLUMNS.split(","))
PAGE_COLUMNS = ",".join(" t." + c.strip() for c in COLUMNS.split(","))
PGBENCH = {
    "list": """\\set n random(1, {users})
SELECT %s, t.subtasks FROM list_member m CROSS JOIN LATERAL (SELECT %s, %s FROM task
 WHERE task.list_id = m.list_id ORDER BY created_at, id LIMIT 1001) t
 WHERE m.user_id = (SELECT 'u' || lpad(:n::text, 4, '0'))
 AND NOT m.list_archived
 ORDER BY t.created_at, t.id LIMIT 1001;
""" % (PAGE_COLUMNS, TASK_COLUMNS, SUBTASKS),
    "get": """\\set n random(1, {users})
\\set k random(1, {tasks})
SELECT %s, %s, m.role FROM task JOIN list_member m ON m.list_id = task.list_id
 AND m.user_id = 'u' || lpad(:n::text, 4, '0')
 WHERE task.id = (lpad(to_hex(:n::int), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(:k::int), 12, '0'))::uuid
 LIMIT 1;
""" % (TASK_COLUMNS, SUBTASKS),
    "create": """\\set n random(1, {users})
WITH w AS (INSERT INTO task (%s, title_key, search_key, tags_key)
 SELECT gen_random_uuid(), 'u' || lpad(:n::text, 4, '0'), 'Bench task', NULL, false, now(), now(), NULL, '',
 NULL, false, NULL, NULL, NULL, NULL, 0, 1, '008E1pES47y03577pTR4Fze0yyewRhISy', NULL, l.id, NULL, NULL,
 'bench task', 'bench task' || chr(10), ''
 FROM task_list l WHERE l.inbox_of = 'u' || lpad(:n::text, 4, '0')
 RETURNING id, list_id, version)
INSERT INTO change_log (%s)
 SELECT 'task.created', w.list_id, w.id, 'u' || lpad(:n::text, 4, '0'), NULL, w.version, '', now() FROM w;
""" % (COLUMNS, LOG_COLUMNS),
    "toggle": """\\set n random(1, {users})
\\set k random(1, {tasks})
WITH w AS (UPDATE task SET completed = NOT completed, completed_at = (CASE WHEN (completed) THEN NULL ELSE now() END),
 updated_at = now(), version = version + 1
 WHERE id = (lpad(to_hex(:n::int), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(:k::int), 12, '0'))::uuid
   AND list_id IN (SELECT m.list_id FROM list_member m WHERE m.user_id = 'u' || lpad(:n::text, 4, '0')
   AND m.role <> 'viewer') AND (completed OR recurrence IS NULL)
   AND (subtask_count = 0 OR NOT EXISTS (SELECT 1 FROM task c WHERE c.parent_id = task.id AND NOT c.completed))
 RETURNING %s, %s),
c AS (INSERT INTO change_log (%s)
 SELECT CASE WHEN w.completed THEN 'task.completed' ELSE 'task.updated' END, w.list_id, w.id,
 'u' || lpad(:n::text, 4, '0'), NULL, w.version, 'completed', now() FROM w)
SELECT * FROM w;
""" % (COLUMNS, SUBTASKS, LOG_COLUMNS),
}


def lua_tokens(path):
    with open(path, "w") as f:
        f.write("tokens = {\n")
        for n in range(1, USERS + 1):
            f.write(f'  "{hs256(SECRET, user_id(n), 3600)}",\n')
        f.write("}\n")
        f.write(f"users, tasks = {USERS}, {TASKS}\n")
        f.write(f'big_user, big_token = "{BIG_USER}", "{hs256(SECRET, BIG_USER, 3600)}"\n')
        f.write("shared_tokens = {\n")
        for n in range(1, SHARED_USERS + 1):
            f.write(f'  "{hs256(SECRET, shared_user_id(n), 3600)}",\n')
        f.write("}\n")
        f.write(f"shared_users = {SHARED_USERS}\n")


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[i]


def lua_etags(path, base):
    """Each seeded user's current tag of their task list (`poll_304` sends it back in
    If-None-Match); checks that sending it back is a 304."""
    etags = []
    for n in range(1, USERS + 1):
        req = urllib.request.Request(f"{base}/api/{user_id(n)}/tasks",
                                     headers={"Authorization": f"Bearer {hs256(SECRET, user_id(n), 600)}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            etags.append(r.headers["ETag"])
    probe = urllib.request.Request(f"{base}/api/{user_id(1)}/tasks", headers={
        "Authorization": f"Bearer {hs256(SECRET, user_id(1), 600)}", "If-None-Match": etags[0]})
    try:
        urllib.request.urlopen(probe, timeout=10)
        sys.exit("poll_304: the tag sent back was not a 304")
    except urllib.error.HTTPError as e:
        if e.code != 304:
            sys.exit(f"poll_304: the tag sent back got {e.code}, not 304")
    with open(path, "w") as f:
        f.write("etags = {\n" + "".join(f"  '{t}',\n" for t in etags) + "}\n")


def run_wrk(wrk, base, scenario, tokens_lua):
    script = os.path.join(HERE, "wrk", f"{scenario}.lua")
    out = subprocess.run(
        [wrk, f"-t{THREADS}", f"-c{CONNS}", f"-d{DURATION}s", "--latency", "-s", script, base],
        capture_output=True, text=True,
        env={**os.environ, "BENCH_TOKENS": tokens_lua,
             "BENCH_ETAGS": os.path.join(os.path.dirname(tokens_lua), "etags.lua")},
        timeout=DURATION + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": to_ms(lat.get("50", "0ms")),
        "p99_ms": to_ms(lat.get("99", "0ms")),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": sum(int(g) for g in errors.groups()) if errors else 0,
    }


def cpu_split(server_pid):
    """CPU seconds so far: the server, PostgreSQL, and this script's finished children
    (the load generators)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "server": cpu_seconds(pid=server_pid) if server_pid else 0.0,
        "db": cpu_seconds(name="postgres"),
        "client": children.ru_utime + children.ru_stime,
    }


def per_request(after, before, requests):
    """Microseconds of CPU per request for each part."""
    n = max(requests, 1)
    return {f"cpu_us_{k}": round((after[k] - before[k]) * 1e6 / n, 1) for k in after}


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def measured(wrk, base, scenario, tokens_lua, pid, db_url):
    """One wrk run of `scenario` against the server at `base` (process `pid`), with the CPU
    each part spent per request; the rows it created are removed after it."""
    cpu = cpu_split(pid)
    run = run_wrk(wrk, base, scenario, tokens_lua)
    run.update(per_request(cpu_split(pid), cpu, run["rps"] * DURATION))
    for sql in UNSEED:
        psql(db_url, sql)
    return run


def medians(runs):
    """Each number's median over `runs` (the upper one of an even count); errors summed."""
    out = {}
    for k in runs[0]:
        values = sorted(r[k] for r in runs)
        out[k] = sum(values) if k in ("non_2xx", "errors") else values[len(values) // 2]
    return out


def run_pgbench(pgbench, db_url, scenario):
    tmp = tempfile.mkdtemp(prefix="pgbench-")
    script = os.path.join(tmp, f"{scenario}.sql")
    # One line per SQL command: pgbench's prepared mode mishandles continuation lines.
    lines, sql = [], []
    for line in PGBENCH[scenario].format(users=USERS, tasks=TASKS).splitlines():
        if line.startswith("\\"):
            lines.append(line)
        elif line.strip():
            sql.append(line.strip())
    lines.append(" ".join(sql))
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    out = subprocess.run(
        [pgbench, "-n", "-M", "prepared", "-c", str(CONNS), "-j", str(THREADS), "-T", str(DURATION),
         "-f", script, "--log", "--log-prefix", os.path.join(tmp, "log"), db_url],
        capture_output=True, text=True, timeout=DURATION + 60, cwd=tmp,
    )
    if out.returncode != 0:
        sys.exit(f"pgbench {scenario} failed: {out.stderr}")
    tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))
    latencies = []
    for name in os.listdir(tmp):
        if name.startswith("log"):
            for line in open(os.path.join(tmp, name)):
                latencies.append(int(line.split()[2]) / 1000.0)
    latencies.sort()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"rps": tps, "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)}


def create_database(prefix):
    """A new database for one run; returns its name and the server's URL for it. No TLS on
    loopback, for the service and pgbench alike: PostgreSQL's default `sslmode=prefer`
    would spend ~100 ms on a TLS handshake per connection and encrypt every round trip,
    which measures the cipher instead of the service."""
    return fresh_database(PG, prefix, "?sslmode=disable")


def server_env(db_url, port):
    """The server's whole environment: the production profile, on `db_url` and `port`, with
    the TODO__* settings to compare (for example TODO__HTTP__WORKERS=1)."""
    # wrk's one address stands for many clients: its per-address budgets are set out of
    # reach, while the per-user writes budget (and the limiter's cost) stay as in production.
    # The big_* scenarios read as one user thousands of times a second, for seconds on
    # end, which the per-user reads budget (6 000 a minute) rightly refuses: it is raised
    # the same way, so that they measure the reads, not 429s (the budget is still checked
    # on every request, at the same cost).
    extra = {
        "TODO__RATE_LIMIT__ADDRESS_READS_QUOTA": "1000000000",
        "TODO__RATE_LIMIT__ADDRESS_WRITES_QUOTA": "1000000000",
        "TODO__RATE_LIMIT__READS_QUOTA": "1000000000",
        **{k: v for k, v in os.environ.items() if k.startswith("TODO__")},
    }
    return production_env(db_url, port, SECRET, os.environ.get("BENCH_RUST_LOG", "warn"), **extra)


def seed(db_url, env, big_tasks):
    """The data set, then `todo-server migrate`, which gives the rows the positions and
    search keys the service writes with every task it creates: without them each listed
    row would have its position computed on the way out, as for rows an older version
    wrote during a rolling deploy."""
    psql(db_url, SEED.format(users=USERS, tasks=TASKS, big_user=BIG_USER, big_tasks=big_tasks))
    psql(db_url, SHARED_SEED.format(users=SHARED_USERS, lists=SHARED_LISTS, tasks=SHARED_TASKS))
    subprocess.run([BIN, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    # The migration filled in columns (every task's Inbox, positions, keys) after the
    # seed's ANALYZE: statistics from before would plan the first scenarios on NULLs, and
    # every row it rewrote left a dead version behind, which the first scenario (list) would
    # read past in every index until autovacuum came by. A table in service is vacuumed.
    psql(db_url, "VACUUM ANALYZE")


def start(env, binary=BIN):
    """Starts the server; returns it and the milliseconds from exec to the first 200 on
    /health/ready (polled every millisecond)."""
    base = f"http://127.0.0.1:{env['PORT']}/health/ready"
    started = time.monotonic()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            with urllib.request.urlopen(base, timeout=1) as r:
                if r.status == 200:
                    return proc, 1000 * (time.monotonic() - started)
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() - started > 30:
            proc.kill()
            sys.exit("the server did not become ready")
        time.sleep(0.001)


def sqlite_ready_ms(env):
    """Time to ready on SQLite: the first start creates and migrates the file, the next
    ones open it (median of five)."""
    tmp = tempfile.mkdtemp(prefix="bench-sqlite-")
    env = {**env, "DATABASE_URL": f"sqlite://{tmp}/todo.db", "PORT": str(free_port())}
    times = []
    try:
        for _ in range(6):
            proc, ms = start(env)
            times.append(ms)
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    reopen = sorted(times[1:])
    return {"fresh": times[0], "existing": reopen[len(reopen) // 2]}


def main():
    wrk, pgbench = tool("wrk"), tool("pgbench")
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: run `make release` first")
    db, db_url = create_database("bench")
    port = free_port()
    env = server_env(db_url, port)
    base = f"http://127.0.0.1:{port}"
    sqlite_ready = sqlite_ready_ms(env)
    proc, ready_ms = start(env)
    rows = []
    try:
        seed(db_url, env, BIG_TASKS)
        idle_rss = rss_kib(proc.pid, "VmRSS") / 1024
        tokens_lua = os.path.join(tempfile.mkdtemp(prefix="bench-"), "tokens.lua")
        lua_tokens(tokens_lua)
        lean = None
        if os.path.exists(LEAN_BIN):
            lean_env = {**env, "PORT": str(free_port())}
            lean, _ = start(lean_env, LEAN_BIN)
            lean_base = f"http://127.0.0.1:{lean_env['PORT']}"
        else:
            print(f"{LEAN_BIN} is missing (`make bench` builds it): no lean reference", file=sys.stderr)
        for scenario in SCENARIOS:
            perf = None
            if PERF:
                out_dir = os.path.join(target_dir(), "bench")
                os.makedirs(out_dir, exist_ok=True)
                perf = subprocess.Popen(
                    ["perf", "record", "-q", "-F", "999", "-g", "-p", str(proc.pid),
                     "-o", os.path.join(out_dir, f"perf-{scenario}.data")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if scenario == "poll_304":
                # The tags as they are now (earlier scenarios' writes moved them).
                lua_etags(os.path.join(os.path.dirname(tokens_lua), "etags.lua"), base)
            ours_runs, lean_runs = [], []
            for _ in range(ROUNDS):
                ours_runs.append(measured(wrk, base, scenario, tokens_lua, proc.pid, db_url))
                if lean and scenario in LEAN_SCENARIOS:
                    lean_runs.append(measured(wrk, lean_base, scenario, tokens_lua, lean.pid, db_url))
            if perf:
                perf.send_signal(2)
                perf.wait()
            service = medians(ours_runs)
            ceiling = None
            if scenario in PGBENCH:
                cpu = cpu_split(None)
                ceiling = run_pgbench(pgbench, db_url, scenario)
                ceiling.update(per_request(cpu_split(None), cpu, ceiling["rps"] * DURATION))
            for sql in UNSEED:
                psql(db_url, sql)
            row = {"scenario": scenario, **{f"service_{k}": v for k, v in service.items()}}
            if lean_runs:
                row.update({f"lean_{k}": v for k, v in medians(lean_runs).items()})
                row["lean_ratio"] = service["rps"] / row["lean_rps"] if row["lean_rps"] else 0.0
            if ceiling:
                row.update({f"pgbench_{k}": v for k, v in ceiling.items()})
                row["ratio"] = service["rps"] / ceiling["rps"] if ceiling["rps"] else 0.0
                row["p99_ratio"] = service["p99_ms"] / ceiling["p99_ms"] if ceiling["p99_ms"] else 0.0
            rows.append(row)
        peak_rss = rss_kib(proc.pid, "VmHWM") / 1024
    finally:
        for p in (proc, lean):
            if p:
                p.kill()
                p.wait()
        psql(PG, f"DROP DATABASE IF EXISTS {db}")

    print(f"\nmachine: {os.cpu_count()} cores; wrk -t{THREADS} -c{CONNS} -d{DURATION}s, medians of {ROUNDS}; "
          f"{USERS} users x {TASKS} tasks; PostgreSQL on loopback\n")
    print(f"{'scenario':<8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non2xx':>7} {'errors':>6} "
          f"| {'pgbench/s':>9} {'p99 ms':>8} | {'ratio':>6} {'p99x':>6} "
          f"| {'cpu µs/req: server':>18} {'db':>5} {'wrk':>5} | {'pgbench db':>10} {'pgbench':>7}")
    for r in rows:
        ceil = (f"{r['pgbench_rps']:>9.0f} {r['pgbench_p99_ms']:>8.2f} | {r['ratio']:>6.2f} {r['p99_ratio']:>6.2f}"
                if "ratio" in r else f"{'-':>9} {'-':>8} | {'-':>6} {'-':>6}")
        cpu = (f"{r['service_cpu_us_server']:>18.0f} {r['service_cpu_us_db']:>5.0f} {r['service_cpu_us_client']:>5.0f} | "
               + (f"{r['pgbench_cpu_us_db']:>10.0f} {r['pgbench_cpu_us_client']:>7.0f}" if "ratio" in r else f"{'-':>10} {'-':>7}"))
        print(f"{r['scenario']:<8} {r['service_rps']:>9.0f} {r['service_p50_ms']:>8.2f} {r['service_p99_ms']:>8.2f} "
              f"{r['service_non_2xx']:>7} {r['service_errors']:>6} | {ceil} | {cpu}")
    if any("lean_rps" in r for r in rows):
        print(f"\nagainst the lean reference (bench/lean), medians of {ROUNDS} alternating rounds:\n")
        print(f"{'scenario':<8} {'ours/s':>9} {'lean/s':>9} {'ours÷lean':>9} | {'p99 ours':>8} {'lean':>6} "
              f"| {'server µs/req ours':>18} {'lean':>5} | {'db µs/req ours':>14} {'lean':>5} "
              f"| {'errors ours':>11} {'lean':>5}")
        for r in rows:
            if "lean_rps" not in r:
                continue
            print(f"{r['scenario']:<8} {r['service_rps']:>9.0f} {r['lean_rps']:>9.0f} {r['lean_ratio']:>9.2f} | "
                  f"{r['service_p99_ms']:>8.2f} {r['lean_p99_ms']:>6.2f} | "
                  f"{r['service_cpu_us_server']:>18.0f} {r['lean_cpu_us_server']:>5.0f} | "
                  f"{r['service_cpu_us_db']:>14.0f} {r['lean_cpu_us_db']:>5.0f} | "
                  f"{r['service_non_2xx'] + r['service_errors']:>11} {r['lean_non_2xx'] + r['lean_errors']:>5}")
    by_name = {r["scenario"]: r for r in rows}
    if "poll_304" in by_name and "get" in by_name:
        poll, get = by_name["poll_304"]["service_rps"], by_name["get"]["service_rps"]
        print(f"\npoll_304 (an unchanged task list, If-None-Match): {poll:.0f} req/s, "
              f"{poll / get if get else 0:.2f}x get's {get:.0f} req/s (target >= 2x)")
    if "big_plain" in by_name and "big_filtered" in by_name:
        plain, filtered = by_name["big_plain"]["service_rps"], by_name["big_filtered"]["service_rps"]
        print(f"\n{BIG_TASKS} tasks of one user, 100 a page: filtered and sorted "
              f"(status=pending&tag=work&sort=-due) {filtered:.0f} req/s against plain {plain:.0f} req/s: "
              f"{plain / filtered if filtered else float('inf'):.2f}x the plain list's time (target <= 2x)")
    size = os.path.getsize(BIN) / 1024 / 1024
    print(f"\nready after {ready_ms:.0f} ms on PostgreSQL, {sqlite_ready['existing']:.0f} ms on SQLite "
          f"({sqlite_ready['fresh']:.0f} ms creating the file); idle RSS {idle_rss:.1f} MiB; "
          f"peak RSS {peak_rss:.1f} MiB; release binary {size:.1f} MiB")
    print(symbol_order_kept() + "\n")
    for r in rows:
        print(json.dumps(r))
    print(json.dumps({"ready_ms": ready_ms, "sqlite_ready_ms": sqlite_ready["existing"],
                      "sqlite_fresh_ready_ms": sqlite_ready["fresh"], "idle_rss_mib": idle_rss, "peak_rss_mib": peak_rss,
                      "binary_mib": size}))


def symbol_order_kept():
    """How much of the recorded layout of `.text` (bench/symbol_order.py) the binary still
    has: names from an older build (a dependency updated, another rustc) are skipped by the
    linker, and idle RSS grows back as they go."""
    try:
        recorded = {l.strip() for l in open(SYMBOL_ORDER) if l.strip() and not l.startswith("#")}
        symbols = subprocess.run(["nm", "--defined-only", BIN], capture_output=True, text=True,
                                 check=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        return f"symbol order: not checked ({err})"
    present = {line.split()[-1] for line in symbols.splitlines() if len(line.split()) == 3}
    found = len(recorded & present)
    return (f"symbol order: {found} of the {len(recorded)} recorded functions are in the binary"
            + ("" if found >= 0.9 * len(recorded) else " (run `make symbol-order`)"))


if __name__ == "__main__":
    main()
