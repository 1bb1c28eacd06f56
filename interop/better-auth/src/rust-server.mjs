// The todo API binary, configured only through its environment.
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = path.resolve(packageDir, "../..");

// Cargo's target directory, as cargo decides it: CARGO_TARGET_DIR (relative to the
// repository root when relative), else target/ in the repository.
const targetDir = path.resolve(repoRoot, process.env.CARGO_TARGET_DIR ?? "target");

export const BIN = process.env.TODO_SERVER_BIN
  ? path.resolve(packageDir, process.env.TODO_SERVER_BIN)
  : path.join(targetDir, "debug", "todo-server");

export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Every child still running; killed when the test process exits, whatever happens. */
const children = new Set();
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => process.exit(130));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `base` with `options=-c search_path=<schema>` appended (libpq style). */
export function databaseUrlFor(schema, base = TEST_DATABASE_URL) {
  const sep = base.includes("?") ? "&" : "?";
  return `${base}${sep}options=-c%20search_path%3D${schema}`;
}

/** The Rust server's environment for one schema and one Better Auth instance. */
export function rustEnv({ schema, secret, betterAuthUrl, port }) {
  const env = {
    PATH: process.env.PATH,
    TODO_PROFILE: "dev",
    DATABASE_URL: databaseUrlFor(schema),
    BETTER_AUTH_SECRET: secret,
    BETTER_AUTH_URL: betterAuthUrl,
    // Revocations (sign-out, bans, role changes) show at once instead of within the TTL.
    TODO__AUTH__CACHE_TTL_SECS: "0",
    // Key rotation is exercised right after the first JWKS fetch.
    TODO__AUTH__JWKS_REFRESH_MIN_INTERVAL_SECS: "0",
    RUST_LOG: process.env.RUST_LOG ?? "warn",
  };
  if (port) env.PORT = String(port);
  return env;
}

let built;
/** The binary, built with `cargo build -p todo-server` when it is missing. */
export async function ensureBinary() {
  if (existsSync(BIN)) return BIN;
  if (process.env.TODO_SERVER_BIN) throw new Error(`TODO_SERVER_BIN=${BIN} does not exist`);
  built ??= run("cargo", ["build", "-p", "todo-server"], {
    cwd: repoRoot,
    timeout: 15 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  await built;
  if (!existsSync(BIN)) throw new Error(`cargo build did not produce ${BIN}`);
  return BIN;
}

/** `todo-server migrate` with `env`; rejects with its stderr on failure. */
export async function migrate(env) {
  const bin = await ensureBinary();
  try {
    return await run(bin, ["migrate"], { env, timeout: 30_000, killSignal: "SIGKILL" });
  } catch (err) {
    throw new Error(`todo-server migrate failed (${err.code ?? err.signal}): ${err.stderr}`);
  }
}

/**
 * Spawns `todo-server` with `env` (PORT: a free port unless given) and waits until
 * `GET /health/ready` is 200. Returns `{ url, stop, stderr }`; `stop()` sends SIGTERM
 * and resolves with the exit code (SIGKILL after 10 s).
 */
export async function start(env, { readyTimeoutMs = 30_000 } = {}) {
  const bin = await ensureBinary();
  const port = Number(env.PORT) || (await freePort());
  const child = spawn(bin, [], {
    env: { ...env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.add(child);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
    if (process.env.INTEROP_VERBOSE) process.stderr.write(chunk);
  });
  const exited = new Promise((resolve) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve(code ?? signal);
    }),
  );

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`todo-server exited with ${child.exitCode ?? child.signalCode}: ${stderr}`);
    }
    try {
      const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      await exited;
      throw new Error(`todo-server not ready within ${readyTimeoutMs} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url,
    get stderr() {
      return stderr;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}

export { start as startRust };
