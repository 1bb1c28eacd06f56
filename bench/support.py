"""Helpers shared by bench/run.py and docker/smoke.py (standard library only)."""
import base64, hashlib, hmac, json, os, secrets, socket, subprocess, sys, time


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The recorded layout of the release binary's code (bench/symbol_order.py writes it,
# crates/server/build.rs hands it to the linker, bench/run.py checks the binary against it).
SYMBOL_ORDER = os.path.join(ROOT, "crates", "server", "symbol-order.txt")


def target_dir():
    """Cargo's target directory: CARGO_TARGET_DIR (relative to the repository root when
    relative), else target/ in the repository, as cargo itself decides."""
    return os.path.join(ROOT, os.environ.get("CARGO_TARGET_DIR", "target"))


def server_bin(profile="release"):
    """The todo-server binary of a cargo profile; TODO_SERVER_BIN overrides it."""
    return os.environ.get("TODO_SERVER_BIN") or os.path.join(target_dir(), profile, "todo-server")


def fresh_database(admin_url, prefix, query=""):
    """Creates a database named `<prefix>_<random>` on the server of `admin_url`; returns its
    name and its URL (with `query` appended, e.g. "?sslmode=disable")."""
    db = f"{prefix}_{secrets.token_hex(4)}"
    psql(admin_url, f"CREATE DATABASE {db}")
    return db, admin_url.rsplit("/", 1)[0] + "/" + db + query


def production_env(db_url, port, secret, rust_log="warn", **extra):
    """The server's whole environment, the way the container runs it: the production
    profile on `db_url`, listening on 127.0.0.1:`port`; `extra` adds or overrides
    variables."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "TODO_PROFILE": "production",
        "DATABASE_URL": db_url,
        "BETTER_AUTH_SECRET": secret,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "RUST_LOG": rust_log,
        **extra,
    }


def psql(url, sql):
    """Runs `sql` on `url`; stops the run with psql's own message when it fails."""
    done = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", sql],
                          capture_output=True, text=True)
    if done.returncode != 0:
        first = sql.strip().splitlines()[0] if sql.strip() else ""
        sys.exit(f"psql failed ({first[:80]}): {done.stderr.strip()}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(secret, sub, ttl=600):
    """An HS256 JWT for `sub`, signed with `secret`, as a frontend sharing it mints one."""
    now = int(time.time())
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps({"sub": sub, "iat": now, "exp": now + ttl}).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def rss_kib(pid, field):
    """`VmRSS` (now) or `VmHWM` (peak) of a process, in KiB."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(name=None, pid=None):
    """CPU time (user + system) used so far by process `pid`, or by every process whose
    command is `name` (PostgreSQL: the backends, and through the postmaster's children
    times those that have exited), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    pids = [pid] if pid else [p for p in os.listdir("/proc") if p.isdigit()]
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if name and comm != name:
            continue
        total += sum(int(v) for v in rest[11:15])  # utime, stime, cutime, cstime
    return total / tick
