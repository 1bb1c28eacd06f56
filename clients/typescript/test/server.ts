// The built todo-server binary on a loopback port, configured only through its
// environment, on a fresh SQLite file or a fresh PostgreSQL schema.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

/** clients/typescript (this file runs compiled, from build/test/). */
export const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const repoRoot = path.resolve(packageDir, "../..");

/** TODO_SERVER_BIN, else debug/todo-server in CARGO_TARGET_DIR (relative to the repository). */
export const BIN = process.env.TODO_SERVER_BIN
  ? path.resolve(packageDir, process.env.TODO_SERVER_BIN)
  : path.join(path.resolve(repoRoot, process.env.CARGO_TARGET_DIR ?? "target"), "debug", "todo-server");

export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Every child still running; killed when the test process exits, whatever happens. */
const children = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** A database for one run: its URL and how to remove it. */
export interface Database {
  url: string;
  drop(): Promise<void>;
}

/** A fresh SQLite file in a temporary directory. */
export async function sqliteDatabase(): Promise<Database> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "todo-client-"));
  return {
    url: `sqlite://${path.join(dir, "todo.db")}?mode=rwc`,
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A fresh schema at TEST_DATABASE_URL, or why there is none: the PostgreSQL pass is then
 * skipped with that reason, except under CI=true, where a missing database fails.
 */
export async function postgresDatabase(): Promise<Database | string> {
  const schema = "client_" + randomBytes(6).toString("hex");
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
  } catch (err) {
    await admin.end().catch(() => {});
    const reason = `no PostgreSQL at ${TEST_DATABASE_URL} (${(err as Error).message}); set TEST_DATABASE_URL`;
    if (process.env.CI === "true") throw new Error(reason);
    return reason;
  }
  const sep = TEST_DATABASE_URL.includes("?") ? "&" : "?";
  return {
    url: `${TEST_DATABASE_URL}${sep}options=-c%20search_path%3D${schema}`,
    async drop() {
      try {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Server {
  url: string;
  secret: string;
  /** `todo-server dev-token`: creates the user if needed and answers an HS256 token. */
  devToken(userId: string, options?: { admin?: boolean }): Promise<string>;
  /** An HS256 JWT for `sub`, signed with the server's secret (expired when `expiresIn` < 0). */
  jwt(sub: string, expiresIn?: number): string;
  stop(): Promise<number | string | null>;
}

/**
 * Migrates `database` and starts the binary on it in the dev profile, on a free port;
 * resolves once `/health/ready` answers 200.
 */
export async function startServer(database: Database): Promise<Server> {
  if (!existsSync(BIN)) throw new Error(`${BIN} does not exist: run \`cargo build -p todo-server\``);
  const secret = "client-test-secret-" + randomBytes(16).toString("hex");
  const port = await freePort();
  const env = {
    PATH: process.env.PATH ?? "",
    TODO_PROFILE: "dev",
    DATABASE_URL: database.url,
    BETTER_AUTH_SECRET: secret,
    HOST: "127.0.0.1",
    PORT: String(port),
    // Role changes and deletions show at once.
    TODO__AUTH__CACHE_TTL_SECS: "0",
    // Webhooks may reach the tests' receiver over plain HTTP on loopback (a list setting:
    // comma-separated hosts, no port; docs/configuration.md, `webhooks.allow_hosts`).
    TODO__WEBHOOKS__ALLOW_HOSTS: "127.0.0.1",
    RUST_LOG: process.env.RUST_LOG ?? "warn",
  };
  const migrated = await run(BIN, ["migrate"], { env, timeout: 60_000 }).catch((err) => err);
  if (migrated instanceof Error) throw new Error(`todo-server migrate failed: ${migrated.message}`);

  const child = spawn(BIN, [], { env, stdio: ["ignore", "ignore", "pipe"] });
  children.add(child);
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk;
    if (process.env.CLIENT_TEST_VERBOSE) process.stderr.write(chunk);
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve(code ?? signal);
    }),
  );

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`todo-server exited with ${child.exitCode ?? child.signalCode}: ${stderr}`);
    }
    const status = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(1_000) })
      .then(async (res) => (await res.arrayBuffer(), res.status))
      .catch(() => 0);
    if (status === 200) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`todo-server was not ready within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url,
    secret,
    async devToken(userId, { admin = false } = {}) {
      const args = ["dev-token", userId, ...(admin ? ["--admin"] : [])];
      const { stdout } = await run(BIN, args, { env, timeout: 30_000 });
      return stdout.trim();
    },
    jwt(sub, expiresIn = 3600) {
      const now = Math.floor(Date.now() / 1000);
      const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub, iat: now - 120, exp: now + expiresIn })}`;
      const signature = createHmac("sha256", secret).update(unsigned).digest("base64url");
      return `${unsigned}.${signature}`;
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
