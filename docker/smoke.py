#!/usr/bin/env python3
"""Container-like smoke test of the release binary (`make smoke`).

Starts the release todo-server (in $CARGO_TARGET_DIR when set) configured only through environment variables, the way
docker/Dockerfile runs it (production profile, PostgreSQL URL, secret), on a fresh
PostgreSQL database, then: waits for /health/ready, serves an authenticated create + list,
receives SIGTERM while a request is in flight, reports readiness 503 from the moment
shutdown begins, answers requests on connections kept alive from before the signal (with
`Connection: close`), finishes the in-flight request and exits 0 within the grace period.
Only the standard library; talks to 127.0.0.1 only.
"""
import json, os, secrets, signal, socket, subprocess, sys, threading, time
import urllib.error, urllib.request
from http.client import HTTPConnection, HTTPException

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from support import (  # noqa: E402
    free_port, fresh_database, hs256, production_env, psql, rss_kib, server_bin, target_dir)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = server_bin("release")
SMOKE_LOG = os.path.join(target_dir(), "smoke.log")
PG = os.environ.get("SMOKE_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SECRET = "smoke-" + secrets.token_hex(16)
GRACE_SECS = 10
DELAY_MS = 1500
failures = []
passed = []


def check(ok, what):
    print(("ok     " if ok else "FAILED ") + what, flush=True)
    (passed if ok else failures).append(what)










def http(method, url, token=None, body=None, timeout=5):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, json.loads(res.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def slow_post(port, token, seconds):
    """A POST whose body trickles in over `seconds`: in flight across the SIGTERM."""
    body = json.dumps({"title": "in flight during shutdown", "description": "x" * 200}).encode()
    head = (
        f"POST /api/smoke/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=GRACE_SECS + 5)
    sock.sendall(head)
    step = max(1, len(body) // 20)
    for i in range(0, len(body), step):
        sock.sendall(body[i : i + step])
        time.sleep(seconds / 20)
    reply = b""
    while chunk := sock.recv(4096):
        reply += chunk
    sock.close()
    return int(reply.split(b" ", 2)[1]) if reply else 0




def main():
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: run `make release` first")
    db, db_url = fresh_database(PG, "smoke")
    port = free_port()
    env = production_env(
        db_url, port, SECRET, "info",
        TODO__HTTP__SHUTDOWN_GRACE_SECS=str(GRACE_SECS),
        TODO__HTTP__SHUTDOWN_DELAY_MS=str(DELAY_MS),
    )
    log = open(SMOKE_LOG, "w")
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    proc = subprocess.Popen([BIN], env=env, stdout=log, stderr=log)
    try:
        while True:
            try:
                if http("GET", f"{base}/health/ready", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() - started > 30:
                check(False, "the server became ready")
                return
            time.sleep(0.02)
        print(f"ready after {1000 * (time.monotonic() - started):.0f} ms (exec to first 200 on /health/ready)")
        print(f"idle RSS {rss_kib(proc.pid, 'VmRSS') / 1024:.1f} MiB")
        psql(db_url, "INSERT INTO \"user\" (id, name, email, \"emailVerified\") VALUES ('smoke', 'Smoke', 'smoke@example.com', true)")
        token = hs256(SECRET, "smoke")
        status, task = http("POST", f"{base}/api/smoke/tasks", token, {"title": "smoke test"})
        check(status == 201, f"create answered {status}")
        status, tasks = http("GET", f"{base}/api/smoke/tasks", token)
        check(status == 200 and tasks == [task], f"list answered {status} with the task")
        for _ in range(200):
            http("GET", f"{base}/api/smoke/tasks", token)
        print(f"peak RSS after 200 requests {rss_kib(proc.pid, 'VmHWM') / 1024:.1f} MiB")

        kept_alive = []
        for _ in range(4):
            conn = HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            res = conn.getresponse()
            res.read()
            kept_alive.append(conn)
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("status", slow_post(port, token, 4)))
        t.start()
        time.sleep(0.5)
        sigterm_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        status, body = http("GET", f"{base}/health/ready", timeout=2)
        check(status == 503, f"readiness answered {status} after SIGTERM ({body and body.get('detail')})")
        answered = []
        for conn in kept_alive:
            try:
                conn.request("GET", "/health")
                res = conn.getresponse()
                res.read()
                answered.append((res.status, res.getheader("Connection")))
            except (OSError, HTTPException) as err:
                answered.append((type(err).__name__, None))
            conn.close()
        check(all(a == (200, "close") for a in answered),
              f"kept-alive connections answered after SIGTERM, closing: {answered}")
        t.join(GRACE_SECS + 10)
        check(result.get("status") == 201, f"the in-flight request finished with {result.get('status')}")
        code = proc.wait(GRACE_SECS + 10)
        stopped = time.monotonic() - sigterm_at
        print(f"exited {code} {stopped:.2f} s after SIGTERM (grace {GRACE_SECS} s, readiness delay {DELAY_MS} ms)")
        check(code == 0, "exit code 0")
        check(stopped < GRACE_SECS, "stopped within the grace period")
        lines = [json.loads(l) for l in open(SMOKE_LOG) if l.startswith("{")]
        check(any(l.get("message") == "request finished" for l in lines), "JSON logs, one line per event")
        check(SECRET not in open(SMOKE_LOG).read(), "the secret is not logged")
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
        psql(PG, f"DROP DATABASE IF EXISTS {db}")
    if failures:
        print("failed checks: " + "; ".join(failures))
    print(f"smoke: {len(passed)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
