// The todo API driven with every credential a Better Auth frontend sends, issued by the
// real Better Auth library sharing the same PostgreSQL database.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { startBetterAuth } from "../src/auth-server.mjs";
import { freePort, migrate, rustEnv, startRust } from "../src/rust-server.mjs";

const BASE = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const SECRET = "interop-secret-" + randomBytes(16).toString("hex");

function withSchema(url, schema) {
  const sep = url.includes("?") ? "&" : "?";
  return `${url}${sep}options=-c%20search_path%3D${schema}`;
}

/** A fresh schema with both services on it, migrated in the given order. */
async function stack({ rustFirst }) {
  const schema = "interop_" + randomBytes(6).toString("hex");
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const sql = new pg.Client({ connectionString: BASE, options: `-c search_path=${schema}` });
  await sql.connect();

  const authPort = await freePort();
  const ba = await startBetterAuth({ databaseUrl: BASE, schema, secret: SECRET, port: authPort });
  const env = rustEnv({
    databaseUrl: withSchema(BASE, schema),
    secret: SECRET,
    betterAuthUrl: ba.url,
  });
  if (rustFirst) {
    await migrate(env);
    await ba.migrate();
  } else {
    await ba.migrate();
    await migrate(env);
  }
  await ba.listen();
  const rust = await startRust(env);

  const authCall = async (path, { method = "POST", body, bearer } = {}) => {
    const headers = { origin: ba.url };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const res = await fetch(`${ba.url}/api/auth${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
  const api = async (path, credential, { method = "GET", body } = {}) => {
    const headers = {};
    if (credential) headers.authorization = `Bearer ${credential}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${rust.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  /** Signs a new user up and in; returns raw token, signed token and user id. */
  const newUser = async (name) => {
    const email = `${name.toLowerCase()}-${randomBytes(4).toString("hex")}@example.com`;
    const password = "correct horse battery staple";
    const up = await authCall("/sign-up/email", { body: { email, password, name } });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const inRes = await authCall("/sign-in/email", { body: { email, password } });
    assert.equal(inRes.status, 200, JSON.stringify(inRes.body));
    return {
      id: inRes.body.user.id,
      email,
      raw: inRes.body.token,
      signed: inRes.headers.get("set-auth-token"),
    };
  };
  const jwtFor = async (sessionToken) => {
    const res = await authCall("/token", { method: "GET", bearer: sessionToken });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.token;
  };
  const close = async () => {
    const code = await rust.stop();
    await ba.close();
    await sql.end();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    return code;
  };
  return { api, authCall, newUser, jwtFor, sql, close };
}

const header = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString());

describe("Better Auth 1.7.24 credentials against the todo API", () => {
  let s;
  before(async () => {
    s = await stack({ rustFirst: true });
  });
  after(async () => {
    assert.equal(await s.close(), 0, "the API exits cleanly on SIGTERM");
  });

  test("a raw session token works for /api/me and the task routes", async () => {
    const ada = await s.newUser("Ada");
    assert.match(ada.raw, /^[A-Za-z0-9]+$/);
    const me = await s.api("/api/me", ada.raw);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.id, ada.id);
    assert.equal(me.body.email, ada.email);
    assert.equal(me.body.role, "user");
    const created = await s.api(`/api/${ada.id}/tasks`, ada.raw, {
      method: "POST",
      body: { title: "Buy milk" },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const list = await s.api(`/api/${ada.id}/tasks`, ada.raw);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, [created.body]);
  });

  test("the signed token, also URL-encoded as in the cookie, works", async () => {
    const bob = await s.newUser("Bob");
    assert.ok(bob.signed.startsWith(`${bob.raw}.`), bob.signed);
    for (const credential of [bob.signed, encodeURIComponent(bob.signed)]) {
      const me = await s.api("/api/me", credential);
      assert.equal(me.status, 200, `${credential}: ${JSON.stringify(me.body)}`);
      assert.equal(me.body.id, bob.id);
    }
  });

  test("a jwt plugin token (EdDSA, verified with the JWKS) works", async () => {
    const cy = await s.newUser("Cy");
    const jwt = await s.jwtFor(cy.raw);
    assert.equal(header(jwt).alg, "EdDSA");
    assert.ok(header(jwt).kid);
    const me = await s.api("/api/me", jwt);
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.id, cy.id);
  });

  test("tampered and unknown tokens are 401", async () => {
    const di = await s.newUser("Di");
    const [token, sig] = di.signed.split(".");
    const flipped = sig[0] === "A" ? "B" + sig.slice(1) : "A" + sig.slice(1);
    assert.equal((await s.api("/api/me", `${token}.${flipped}`)).status, 401);
    assert.equal((await s.api("/api/me", randomBytes(16).toString("hex"))).status, 401);
    const jwt = await s.jwtFor(di.raw);
    const parts = jwt.split(".");
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(parts[1], "base64url")), sub: "someone-else" }),
    ).toString("base64url");
    assert.equal((await s.api("/api/me", `${parts[0]}.${forged}.${parts[2]}`)).status, 401);
  });

  test("signing out revokes the session token", async () => {
    const ed = await s.newUser("Ed");
    assert.equal((await s.api("/api/me", ed.raw)).status, 200);
    const out = await s.authCall("/sign-out", { bearer: ed.raw, body: {} });
    assert.equal(out.status, 200, JSON.stringify(out.body));
    assert.equal((await s.api("/api/me", ed.raw)).status, 401);
    assert.equal((await s.api("/api/me", ed.signed)).status, 401);
  });

  test("an expired session is 401", async () => {
    const fay = await s.newUser("Fay");
    await s.sql.query(
      `UPDATE session SET "expiresAt" = now() - interval '1 minute' WHERE token = $1`,
      [fay.raw],
    );
    const res = await s.api("/api/me", fay.raw);
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /expired/);
  });

  test("a banned user is 403, and their sessions are gone", async () => {
    const boss = await s.newUser("Boss");
    await s.sql.query(`UPDATE "user" SET role = 'admin' WHERE id = $1`, [boss.id]);
    const gus = await s.newUser("Gus");
    const jwt = await s.jwtFor(gus.raw);
    const ban = await s.authCall("/admin/ban-user", { bearer: boss.raw, body: { userId: gus.id } });
    assert.equal(ban.status, 200, JSON.stringify(ban.body));
    const res = await s.api("/api/me", jwt);
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.match(res.body.detail, /banned/);
    assert.equal((await s.api("/api/me", gus.raw)).status, 401);
  });

  test("a role set through Better Auth's admin API opens the admin routes", async () => {
    const root = await s.newUser("Root");
    await s.sql.query(`UPDATE "user" SET role = 'admin' WHERE id = $1`, [root.id]);
    const hal = await s.newUser("Hal");
    assert.equal((await s.api("/api/admin/users", hal.raw)).status, 403);
    const set = await s.authCall("/admin/set-role", {
      bearer: root.raw,
      body: { userId: hal.id, role: "admin" },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const users = await s.api("/api/admin/users", hal.raw);
    assert.equal(users.status, 200, JSON.stringify(users.body));
    assert.ok(users.body.some((u) => u.id === hal.id && u.role === "admin"));
  });

  test("a user cannot reach another user's tasks", async () => {
    const ivy = await s.newUser("Ivy");
    const jon = await s.newUser("Jon");
    const res = await s.api(`/api/${jon.id}/tasks`, ivy.raw);
    assert.equal(res.status, 403);
  });

  test("a JWT signed after key rotation works without a restart", async () => {
    const kim = await s.newUser("Kim");
    const before = await s.jwtFor(kim.raw);
    assert.equal((await s.api("/api/me", before)).status, 200);
    // Better Auth makes a new key when it has none.
    await s.sql.query("DELETE FROM jwks");
    const rotated = await s.jwtFor(kim.raw);
    assert.notEqual(header(rotated).kid, header(before).kid, "a new key id");
    const me = await s.api("/api/me", rotated);
    assert.equal(me.status, 200, JSON.stringify(me.body));
  });
});

describe("migrations in the other order", () => {
  test("Better Auth first, then ours: both serve", async () => {
    const s = await stack({ rustFirst: false });
    try {
      const lee = await s.newUser("Lee");
      const created = await s.api(`/api/${lee.id}/tasks`, lee.signed, {
        method: "POST",
        body: { title: "works" },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
    } finally {
      assert.equal(await s.close(), 0);
    }
  });
});
