// One fresh PostgreSQL schema with Better Auth and the todo API on it, plus small HTTP and
// SQL helpers for the tests. Everything started is stopped by `close()`, even after a
// partial start.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { startBetterAuth } from "./auth-server.mjs";
import { TEST_DATABASE_URL, freePort, migrate, rustEnv, start } from "./rust-server.mjs";

const HTTP_TIMEOUT_MS = 10_000;

function pgClient(options = {}) {
  return new pg.Client({
    connectionString: TEST_DATABASE_URL,
    connectionTimeoutMillis: 5_000,
    statement_timeout: 10_000,
    query_timeout: 15_000,
    ...options,
  });
}

/** Parses a JSON body, or returns the text when it is not JSON. */
function parse(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * `order`: "rust-first" (todo-server migrate, then Better Auth's migration),
 * "better-auth-first", or "rust-only" (todo-server migrate alone: Better Auth's migration
 * never runs, and Better Auth goes without the `jwt` plugin, whose `jwks` table only its
 * own migration makes). Then Better Auth starts, then the todo API.
 */
export async function stack({ order }) {
  const cleanups = [];
  const close = async () => {
    let rustExit;
    const errors = [];
    for (const fn of cleanups.reverse()) {
      try {
        const value = await fn();
        if (value && typeof value === "object" && "rustExit" in value) rustExit = value.rustExit;
      } catch (err) {
        errors.push(err);
      }
    }
    cleanups.length = 0;
    if (errors.length) throw errors[0];
    return rustExit;
  };

  try {
    const schema = "interop_" + randomBytes(6).toString("hex");
    const secret = "interop-secret-" + randomBytes(16).toString("hex");
    const admin = pgClient();
    await admin.connect();
    cleanups.push(() => admin.end());
    await admin.query(`CREATE SCHEMA ${schema}`);
    cleanups.push(() => admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    const sql = pgClient({ options: `-c search_path=${schema}` });
    await sql.connect();
    cleanups.push(() => sql.end());

    const authPort = await freePort();
    const authUrl = `http://127.0.0.1:${authPort}`;
    const env = rustEnv({ schema, secret, betterAuthUrl: authUrl });
    const baOptions = { databaseUrl: TEST_DATABASE_URL, schema, secret, port: authPort };

    let ba;
    if (order === "rust-first") {
      await migrate(env);
      ba = await startBetterAuth(baOptions); // runs Better Auth's migration, then listens
    } else if (order === "better-auth-first") {
      ba = await startBetterAuth(baOptions);
    } else if (order === "rust-only") {
      await migrate(env);
      ba = await startBetterAuth({ ...baOptions, migrate: false, jwt: false });
    } else {
      throw new Error(`unknown order ${order}`);
    }
    cleanups.push(() => ba.close());
    if (order === "better-auth-first") await migrate(env);
    const rust = await start(env);
    cleanups.push(async () => ({ rustExit: await rust.stop() }));

    const authCall = async (path, { method = "POST", body, bearer } = {}) => {
      const headers = { origin: ba.url };
      if (body !== undefined) headers["content-type"] = "application/json";
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      const res = await fetch(`${ba.url}/api/auth${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
      return { status: res.status, headers: res.headers, body: parse(await res.text()) };
    };

    const api = async (path, credential, { method = "GET", body } = {}) => {
      const headers = {};
      if (credential) headers.authorization = `Bearer ${credential}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(`${rust.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
      return { status: res.status, headers: res.headers, body: parse(await res.text()) };
    };

    const signIn = async (email, password) => {
      const res = await authCall("/sign-in/email", { body: { email, password } });
      assert.equal(res.status, 200, `sign-in: ${JSON.stringify(res.body)}`);
      return { raw: res.body.token, signed: res.headers.get("set-auth-token"), body: res.body };
    };

    /** Signs a new user up and in; returns id, email, name, password, raw and signed token. */
    const newUser = async (name) => {
      const email = `${name.toLowerCase()}-${randomBytes(4).toString("hex")}@example.com`;
      const password = "correct horse battery staple";
      const up = await authCall("/sign-up/email", { body: { email, password, name } });
      assert.equal(up.status, 200, `sign-up: ${JSON.stringify(up.body)}`);
      const session = await signIn(email, password);
      return { id: session.body.user.id, email, name, password, ...session };
    };

    /** A `jwt` plugin token for a session token. */
    const jwtFor = async (sessionToken) => {
      const res = await authCall("/token", { method: "GET", bearer: sessionToken });
      assert.equal(res.status, 200, `/token: ${JSON.stringify(res.body)}`);
      assert.equal(typeof res.body?.token, "string", JSON.stringify(res.body));
      return res.body.token;
    };

    return { schema, secret, ba, rust, sql, api, authCall, signIn, newUser, jwtFor, close };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}

/**
 * How `tables` are laid out in the schema `client` works in (its search_path): columns in
 * order with type, nullability and default; indexes; constraints (keys, references with
 * their ON DELETE). Names are unqualified, so two schemas compare equal.
 */
export async function shapeOf(client, tables) {
  const columns = await client.query(
    `SELECT table_name, column_name, data_type, is_nullable, column_default
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1)
      ORDER BY table_name, ordinal_position`,
    [tables],
  );
  const indexes = await client.query(
    `SELECT c.relname AS table_name, i.relname AS index_name,
            replace(pg_get_indexdef(x.indexrelid), current_schema() || '.', '') AS definition
       FROM pg_index x
       JOIN pg_class c ON c.oid = x.indrelid
       JOIN pg_class i ON i.oid = x.indexrelid
      WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
        AND c.relname = ANY($1)
      ORDER BY 1, 2`,
    [tables],
  );
  const constraints = await client.query(
    `SELECT c.relname AS table_name, k.conname AS name, pg_get_constraintdef(k.oid) AS definition
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid
      WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
        AND c.relname = ANY($1)
      ORDER BY 1, 2`,
    [tables],
  );
  return { columns: columns.rows, indexes: indexes.rows, constraints: constraints.rows };
}

/**
 * `shapeOf(tables)` in a scratch schema (dropped afterwards) where only Better Auth's own
 * migration ran, with the same configuration as `stack()` (`jwt` plugin included).
 */
export async function shapeMadeByBetterAuth(tables) {
  const schema = "interop_ba_" + randomBytes(6).toString("hex");
  const admin = pgClient();
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    try {
      const ba = await startBetterAuth({
        databaseUrl: TEST_DATABASE_URL,
        schema,
        secret: "interop-secret-" + randomBytes(16).toString("hex"),
        port: await freePort(),
      });
      await ba.close();
      const sql = pgClient({ options: `-c search_path=${schema}` });
      await sql.connect();
      try {
        return await shapeOf(sql, tables);
      } finally {
        await sql.end();
      }
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  } finally {
    await admin.end();
  }
}

/** Explains a response in an assertion message. */
export const show = (res) => `${res.status} ${JSON.stringify(res.body)}`;

/** The decoded header of a JWT. */
export const jwtHeader = (jwt) =>
  JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString());
