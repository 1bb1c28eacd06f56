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
 * `order`: "rust-first" (todo-server migrate, then Better Auth's migration) or
 * "better-auth-first". Then Better Auth starts, then the todo API.
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

/** Explains a response in an assertion message. */
export const show = (res) => `${res.status} ${JSON.stringify(res.body)}`;

/** The decoded header of a JWT. */
export const jwtHeader = (jwt) =>
  JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString());
