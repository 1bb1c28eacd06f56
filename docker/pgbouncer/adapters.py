#!/usr/bin/env python3
"""The PostgreSQL adapter suite through PgBouncer in transaction pooling mode
(`make test-pooler`, part of `make test`).

Starts target/pgbouncer/bin/pgbouncer (docker/pgbouncer/build.sh provides it) on a free
loopback port in front of TEST_DATABASE_URL's server, pool_mode = transaction with
max_prepared_statements (what Neon's pooled endpoint runs), then runs the adapter tests
with TEST_POOLER_URL so every PostgreSQL test body goes through the pooler, its URL
carrying Prisma's `pgbouncer=true` hint. `make test-pooler` builds PgBouncer first where
it can (root); where it cannot, a missing PgBouncer skips the run with the reason (with
CI=true as root, it fails).
"""
import os, pwd, shutil, signal, subprocess, sys, tempfile, time, urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench"))
from support import free_port, target_dir  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("PGBOUNCER", os.path.join(target_dir(), "pgbouncer/bin/pgbouncer"))
DB_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")


def main():
    if not os.access(BIN, os.X_OK):
        msg = f"no PgBouncer at {BIN}; build it with `sudo docker/pgbouncer/build.sh`"
        # `make test` builds it first where it can (as root); only where it cannot is the
        # pass skipped, saying why.
        if os.environ.get("CI") == "true" and os.geteuid() == 0:
            sys.exit(f"test-pooler: {msg}")
        print(f"test-pooler: skipped, {msg} (building it needs root)")
        return 0
    server = urllib.parse.urlsplit(DB_URL)
    user = server.username or "postgres"
    port = free_port()
    work = tempfile.mkdtemp(prefix="todo-pgbouncer-")
    os.chmod(work, 0o755)
    with open(os.path.join(work, "userlist.txt"), "w") as f:
        f.write(f'"{user}" ""\n')
    ini = os.path.join(work, "pgbouncer.ini")
    with open(ini, "w") as f:
        f.write(f"""[databases]
* = host={server.hostname or '127.0.0.1'} port={server.port or 5432} user={user}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {work}/userlist.txt
pool_mode = transaction
max_prepared_statements = 200
default_pool_size = 4
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = {work}/pgbouncer.log
pidfile = {work}/pgbouncer.pid
""")
    cmd = [BIN, ini]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root: it drops to nobody
        nobody = pwd.getpwnam("nobody")
        for path in (work, *(os.path.join(work, f) for f in os.listdir(work))):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        cmd = [BIN, "-u", "nobody", ini]
    bouncer = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 10
        while subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]).returncode != 0:
            if bouncer.poll() is not None or time.time() > deadline:
                log = open(os.path.join(work, "pgbouncer.log")).read() if os.path.exists(os.path.join(work, "pgbouncer.log")) else ""
                sys.exit(f"test-pooler: PgBouncer did not start\n{log}")
            time.sleep(0.1)
        version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        print(f"test-pooler: {version} on 127.0.0.1:{port}, transaction mode, max_prepared_statements = 200")
        env = dict(os.environ, TEST_POOLER_URL=f"postgres://{user}@127.0.0.1:{port}/{{db}}?pgbouncer=true")
        cargo = os.environ.get("CARGO", "cargo")
        if subprocess.run([cargo, "nextest", "--version"], capture_output=True).returncode == 0:
            test = [cargo, "nextest", "run", "--workspace", "-E", "package(todo-persistence) & binary(adapters)", "--no-fail-fast"]
        else:
            test = [cargo, "test", "--workspace", "--test", "adapters", "--no-fail-fast"]
        code = subprocess.run(test, env=env, cwd=ROOT).returncode
        if code != 0:
            log = os.path.join(work, "pgbouncer.log")
            if os.path.exists(log):
                print("--- pgbouncer.log (last 40 lines) ---")
                print("".join(open(log).readlines()[-40:]))
        return code
    finally:
        bouncer.send_signal(signal.SIGTERM)
        try:
            bouncer.wait(timeout=5)
        except subprocess.TimeoutExpired:
            bouncer.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
