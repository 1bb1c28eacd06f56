#!/usr/bin/env python3
"""`make bench` (events): the event stream across two replicas, on PostgreSQL, loopback.

1. Delivery latency: two release servers (A and B) on one fresh database; one stream open
   on B; writers create tasks through A at BENCH_EVENTS_RATE writes/s (1 000) for
   BENCH_EVENTS_SECONDS (5). For each task: from the moment A's 201 is in the writer's hands
   (the write has committed) to the moment its event is read off B's stream. p50 and p99
   (target p99 <= 50 ms); every event must arrive exactly once.
2. Idle streams: BENCH_IDLE_STREAMS (1 000) streams open on B (10 per user), idle: B's
   resident memory per stream (target <= 20 KB) and its CPU over 10 idle seconds.

Prints a table and one JSON line. Environment as bench/run.py (SMOKE_PG_ADMIN_URL).
"""
import http.client, json, os, re, resource, socket, sys, threading, time

import run
from support import cpu_seconds, free_port, hs256, psql, rss_kib

RATE = int(os.environ.get("BENCH_EVENTS_RATE", "1000"))
SECONDS = int(os.environ.get("BENCH_EVENTS_SECONDS", "5"))
IDLE_STREAMS = int(os.environ.get("BENCH_IDLE_STREAMS", "1000"))
WRITERS = 8
TASK_ID = re.compile(rb'"task_id":"([0-9a-f-]{36})"')


def open_stream(port, user):
    """A raw connection reading `user`'s event stream, once the server says it is open."""
    s = socket.create_connection(("127.0.0.1", port))
    token = hs256(run.SECRET, user, 3600)
    s.sendall(f"GET /api/{user}/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              f"Authorization: Bearer {token}\r\n\r\n".encode())
    buf = b""
    while b": open" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(f"the stream of {user} closed: {buf[:200]!r}")
        buf += chunk
    if not buf.startswith(b"HTTP/1.1 200"):
        sys.exit(f"the stream of {user} was refused: {buf[:200]!r}")
    return s


def latency(port_a, port_b):
    # Not one of the users of the idle streams (a closed stream is noticed at its next write).
    user = run.BIG_USER
    stream = open_stream(port_b, user)
    received = {}
    done = threading.Event()

    def read():
        buf = b""
        stream.settimeout(0.5)
        while not done.is_set():
            try:
                chunk = stream.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return
            now = time.monotonic()
            buf += chunk
            last = 0
            for m in TASK_ID.finditer(buf):
                received.setdefault(m.group(1).decode(), []).append(now)
                last = m.end()
            buf = buf[last:]

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    answered = {}
    lock = threading.Lock()
    token = hs256(run.SECRET, user, 3600)
    per_writer = RATE / WRITERS

    def write(w):
        conn = http.client.HTTPConnection("127.0.0.1", port_a, timeout=10)
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < SECONDS:
            due = start + n / per_writer
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            conn.request("POST", f"/api/{user}/tasks", body=json.dumps({"title": f"e{w}-{n}"}),
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json"})
            res = conn.getresponse()
            body = res.read()
            at = time.monotonic()
            if res.status != 201:
                sys.exit(f"a create answered {res.status}: {body[:200]!r}")
            with lock:
                answered[json.loads(body)["id"]] = at
            n += 1

    writers = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not set(answered) <= set(received):
        time.sleep(0.05)
    done.set()
    reader.join()
    stream.close()
    missing = set(answered) - set(received)
    twice = [k for k, v in received.items() if len(v) > 1]
    lat = sorted(max(0.0, received[k][0] - at) * 1000 for k, at in answered.items() if k in received)
    return {
        "writes": len(answered),
        "writes_per_s": len(answered) / SECONDS,
        "missing": len(missing),
        "duplicates": len(twice),
        "p50_ms": run.percentile(lat, 50) if lat else 0.0,
        "p99_ms": run.percentile(lat, 99) if lat else 0.0,
        "max_ms": lat[-1] if lat else 0.0,
    }


def idle(port_b, pid_b):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, IDLE_STREAMS + 256)), hard))
    time.sleep(1)
    before = rss_kib(pid_b, "VmRSS")
    streams = [open_stream(port_b, run.user_id(1 + n // 10)) for n in range(IDLE_STREAMS)]
    time.sleep(1)
    after = rss_kib(pid_b, "VmRSS")
    cpu0 = cpu_seconds(pid=pid_b)
    time.sleep(10)
    cpu = cpu_seconds(pid=pid_b) - cpu0
    for s in streams:
        s.close()
    return {
        "streams": len(streams),
        "rss_before_mib": before / 1024,
        "rss_after_mib": after / 1024,
        "kib_per_stream": (after - before) / max(len(streams), 1),
        "idle_cpu_ms_per_s": cpu * 1000 / 10,
    }


def main():
    if IDLE_STREAMS > run.USERS * 10:
        sys.exit(f"{IDLE_STREAMS} streams need {IDLE_STREAMS // 10} users at 10 streams each")
    db, db_url = run.create_database("bench_events")
    procs = []
    try:
        port_a, port_b = free_port(), free_port()
        # One user writes 1 000 a second here: their writes budget is set out of reach.
        env_a = {**run.server_env(db_url, port_a),
                 "TODO__RATE_LIMIT__WRITES_QUOTA": "1000000000"}
        # A's start creates the tables; the data set goes in before B starts.
        a, _ = run.start(env_a)
        procs.append(a)
        run.seed(db_url, env_a, 0)
        b, _ = run.start({**env_a, "PORT": str(port_b)})
        procs.append(b)
        lat = latency(port_a, port_b)
        rest = idle(port_b, b.pid)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        psql(run.PG, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    print(f"\nevents across two replicas (PostgreSQL, loopback): {lat['writes']} creates through A "
          f"at {lat['writes_per_s']:.0f}/s, one stream on B")
    print(f"  delivery, A's 201 -> B's event: p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms "
          f"(target <= 50), max {lat['max_ms']:.1f} ms; missing {lat['missing']}, twice {lat['duplicates']}")
    print(f"  {rest['streams']} idle streams on B: {rest['kib_per_stream']:.1f} KiB each "
          f"(target <= 20 KB; RSS {rest['rss_before_mib']:.1f} -> {rest['rss_after_mib']:.1f} MiB), "
          f"{rest['idle_cpu_ms_per_s']:.2f} ms CPU per second idle\n")
    print(json.dumps({"events_latency": lat, "idle_streams": rest}))
    if lat["missing"] or lat["duplicates"]:
        sys.exit("events were lost or repeated")


if __name__ == "__main__":
    main()
