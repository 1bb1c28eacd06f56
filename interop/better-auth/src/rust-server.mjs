// The todo API's release or debug binary, configured only through its environment.
import { spawn, execFile } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
export const BIN =
  process.env.TODO_SERVER_BIN ?? path.resolve(here, "../../../target/debug/todo-server");

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

export function rustEnv({ databaseUrl, secret, betterAuthUrl, port }) {
  return {
    PATH: process.env.PATH,
    TODO_PROFILE: "dev",
    DATABASE_URL: databaseUrl,
    BETTER_AUTH_SECRET: secret,
    BETTER_AUTH_URL: betterAuthUrl,
    PORT: String(port ?? 0),
    // Revocations (sign-out, bans, role changes) show at once instead of within the TTL.
    TODO__AUTH__CACHE_TTL_SECS: "0",
    // Key rotation is exercised right after the first fetch.
    TODO__AUTH__JWKS_REFRESH_MIN_INTERVAL_SECS: "0",
    RUST_LOG: process.env.RUST_LOG ?? "warn",
  };
}

function requireBinary() {
  if (!existsSync(BIN)) {
    throw new Error(`${BIN} is missing: run \`cargo build -p todo-server\` first`);
  }
}

export async function migrate(env) {
  requireBinary();
  await promisify(execFile)(BIN, ["migrate"], { env, timeout: 30_000 });
}

export async function startRust(env) {
  requireBinary();
  const port = Number(env.PORT) || (await freePort());
  const child = spawn(BIN, ["serve"], {
    env: { ...env, PORT: String(port) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`todo-server exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error("todo-server did not become ready within 30 s");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
