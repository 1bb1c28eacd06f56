// The todo API driven with every credential a Better Auth frontend sends, issued by the
// real Better Auth library sharing the same PostgreSQL schema.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { startBetterAuth } from "../src/auth-server.mjs";
import { freePort, TEST_DATABASE_URL } from "../src/rust-server.mjs";
import { jwtHeader, shapeMadeByBetterAuth, shapeOf, show, stack } from "../src/stack.mjs";

const T = { timeout: 30_000 };

describe("Better Auth 1.7.24 credentials against the todo API (todo-server migrated first)", () => {
  let s;
  before(async () => {
    s = await stack({ order: "rust-first" });
  }, { timeout: 90_000 });
  after(async () => {
    if (!s) return;
    const code = await s.close();
    assert.equal(code, 0, "the API exits cleanly on SIGTERM");
  }, { timeout: 30_000 });

  test("1. raw session token: /api/me, create and list tasks", T, async () => {
    const ada = await s.newUser("Ada");
    assert.match(ada.raw, /^[A-Za-z0-9]{32}$/, "the JSON body's token is the raw token");
    const [row] = (await s.sql.query(`SELECT "userId" FROM session WHERE token = $1`, [ada.raw]))
      .rows;
    assert.equal(row?.userId, ada.id, "the raw token is the session.token column");
    const mac = createHmac("sha256", s.secret).update(ada.raw).digest("base64");
    assert.equal(ada.signed, `${ada.raw}.${mac}`, "set-auth-token is <raw>.<base64 HMAC>");

    const me = await s.api("/api/me", ada.raw);
    assert.equal(me.status, 200, show(me));
    assert.equal(me.body.id, ada.id);
    assert.equal(me.body.email, ada.email);
    assert.equal(me.body.name, "Ada");
    assert.equal(me.body.role, "user");

    const created = await s.api(`/api/${ada.id}/tasks`, ada.raw, {
      method: "POST",
      body: { title: "Buy milk" },
    });
    assert.equal(created.status, 201, show(created));
    assert.equal(created.body.title, "Buy milk");
    assert.equal(created.body.user_id, ada.id);
    const list = await s.api(`/api/${ada.id}/tasks`, ada.raw);
    assert.equal(list.status, 200, show(list));
    assert.ok(Array.isArray(list.body), "a bare array");
    assert.deepEqual(list.body, [created.body]);
  });

  test("2. signed session token, plain and URL-encoded", T, async () => {
    const bob = await s.newUser("Bob");
    assert.ok(bob.signed?.startsWith(`${bob.raw}.`), String(bob.signed));
    const encoded = encodeURIComponent(bob.signed);
    for (const credential of [bob.signed, encoded]) {
      const me = await s.api("/api/me", credential);
      assert.equal(me.status, 200, `${credential}: ${show(me)}`);
      assert.equal(me.body.id, bob.id);
      const created = await s.api(`/api/${bob.id}/tasks`, credential, {
        method: "POST",
        body: { title: "signed" },
      });
      assert.equal(created.status, 201, `${credential}: ${show(created)}`);
    }
    const list = await s.api(`/api/${bob.id}/tasks`, bob.signed);
    assert.equal(list.status, 200, show(list));
    assert.equal(list.body.length, 2);
  });

  test("3. jwt plugin token (EdDSA with kid)", T, async () => {
    const cy = await s.newUser("Cy");
    const jwt = await s.jwtFor(cy.raw);
    const header = jwtHeader(jwt);
    assert.equal(header.alg, "EdDSA");
    assert.equal(typeof header.kid, "string");
    assert.ok(header.kid.length > 0);
    const me = await s.api("/api/me", jwt);
    assert.equal(me.status, 200, show(me));
    assert.equal(me.body.id, cy.id);
    const created = await s.api(`/api/${cy.id}/tasks`, jwt, {
      method: "POST",
      body: { title: "via jwt" },
    });
    assert.equal(created.status, 201, show(created));
  });

  test("4. tampered signed token and unknown raw token are 401", T, async () => {
    const di = await s.newUser("Di");
    const dot = di.signed.indexOf(".");
    const sig = di.signed.slice(dot + 1);
    const flipped = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
    const tampered = await s.api("/api/me", `${di.raw}.${flipped}`);
    assert.equal(tampered.status, 401, show(tampered));
    const unknown = await s.api("/api/me", randomBytes(24).toString("base64url").slice(0, 32));
    assert.equal(unknown.status, 401, show(unknown));
    // The untouched token still works: the 401s are about the tampering.
    const ok = await s.api("/api/me", di.signed);
    assert.equal(ok.status, 200, show(ok));
  });

  test("5. sign-out revokes the raw and the signed token", T, async () => {
    const ed = await s.newUser("Ed");
    const before = await s.api("/api/me", ed.raw);
    assert.equal(before.status, 200, show(before));
    const out = await s.authCall("/sign-out", { bearer: ed.raw, body: {} });
    assert.equal(out.status, 200, show(out));
    const raw = await s.api("/api/me", ed.raw);
    assert.equal(raw.status, 401, show(raw));
    const signed = await s.api("/api/me", ed.signed);
    assert.equal(signed.status, 401, show(signed));
  });

  test("6. a session past expiresAt is 401", T, async () => {
    const fay = await s.newUser("Fay");
    const before = await s.api("/api/me", fay.raw);
    assert.equal(before.status, 200, show(before));
    const { rowCount } = await s.sql.query(
      `UPDATE session SET "expiresAt" = now() - interval '1 minute' WHERE token = $1`,
      [fay.raw],
    );
    assert.equal(rowCount, 1);
    const raw = await s.api("/api/me", fay.raw);
    assert.equal(raw.status, 401, show(raw));
    const signed = await s.api("/api/me", fay.signed);
    assert.equal(signed.status, 401, show(signed));
  });

  test("7. a user banned through Better Auth's admin API is 403", T, async () => {
    const boss = await s.newUser("Boss");
    await s.sql.query(`UPDATE "user" SET role = 'admin' WHERE id = $1`, [boss.id]);
    const bossSession = await s.signIn(boss.email, boss.password);
    const gus = await s.newUser("Gus");
    const jwt = await s.jwtFor(gus.raw); // issued before the ban
    assert.equal((await s.api("/api/me", jwt)).status, 200);

    const ban = await s.authCall("/admin/ban-user", {
      bearer: bossSession.raw,
      body: { userId: gus.id },
    });
    assert.equal(ban.status, 200, show(ban));
    const [row] = (await s.sql.query(`SELECT banned FROM "user" WHERE id = $1`, [gus.id])).rows;
    assert.equal(row.banned, true);

    const res = await s.api("/api/me", jwt);
    assert.equal(res.status, 403, show(res));
    assert.match(String(res.body?.detail), /banned/i);
    const tasks = await s.api(`/api/${gus.id}/tasks`, jwt);
    assert.equal(tasks.status, 403, show(tasks));
    const session = await s.api("/api/me", gus.raw); // the ban deleted the sessions
    assert.equal(session.status, 401, show(session));
  });

  test("8. a role set through Better Auth's admin API opens the admin routes", T, async () => {
    const root = await s.newUser("Root");
    await s.sql.query(`UPDATE "user" SET role = 'admin' WHERE id = $1`, [root.id]);
    const rootSession = await s.signIn(root.email, root.password);
    const hal = await s.newUser("Hal");
    const denied = await s.api("/api/admin/users", hal.raw);
    assert.equal(denied.status, 403, show(denied));

    const set = await s.authCall("/admin/set-role", {
      bearer: rootSession.raw,
      body: { userId: hal.id, role: "admin" },
    });
    assert.equal(set.status, 200, show(set));
    const users = await s.api("/api/admin/users", hal.raw);
    assert.equal(users.status, 200, show(users));
    assert.ok(Array.isArray(users.body));
    assert.ok(
      users.body.some((u) => u.id === hal.id && u.role === "admin"),
      JSON.stringify(users.body),
    );
  });

  test("9. a JWT signed after key rotation (new kid) works without a restart", T, async () => {
    const kim = await s.newUser("Kim");
    const first = await s.jwtFor(kim.raw);
    const a = await s.api("/api/me", first);
    assert.equal(a.status, 200, show(a));
    // Better Auth creates a new key when it finds none.
    await s.sql.query("DELETE FROM jwks");
    const rotated = await s.jwtFor(kim.raw);
    assert.notEqual(jwtHeader(rotated).kid, jwtHeader(first).kid, "a new key id");
    const b = await s.api("/api/me", rotated);
    assert.equal(b.status, 200, show(b));
    assert.equal(b.body.id, kim.id);
  });

  test("10. another user's {user_id} is 403", T, async () => {
    const ivy = await s.newUser("Ivy");
    const jon = await s.newUser("Jon");
    for (const credential of [ivy.raw, ivy.signed]) {
      const list = await s.api(`/api/${jon.id}/tasks`, credential);
      assert.equal(list.status, 403, show(list));
      const create = await s.api(`/api/${jon.id}/tasks`, credential, {
        method: "POST",
        body: { title: "not mine" },
      });
      assert.equal(create.status, 403, show(create));
    }
    const jwt = await s.jwtFor(ivy.raw);
    const viaJwt = await s.api(`/api/${jon.id}/tasks`, jwt);
    assert.equal(viaJwt.status, 403, show(viaJwt));
  });
});

describe("migrations in the other order", () => {
  test("Better Auth's migration first, then todo-server migrate: both serve", { timeout: 90_000 }, async () => {
    const s = await stack({ order: "better-auth-first" });
    try {
      const lee = await s.newUser("Lee");
      const created = await s.api(`/api/${lee.id}/tasks`, lee.raw, {
        method: "POST",
        body: { title: "works" },
      });
      assert.equal(created.status, 201, show(created));
      const list = await s.api(`/api/${lee.id}/tasks`, lee.signed);
      assert.equal(list.status, 200, show(list));
      assert.deepEqual(list.body, [created.body]);
    } finally {
      assert.equal(await s.close(), 0, "the API exits cleanly on SIGTERM");
    }
  });
});

describe("a database migrated by todo-server alone (Better Auth's migration never runs)", () => {
  let s;
  before(async () => {
    s = await stack({ order: "rust-only" });
  }, { timeout: 90_000 });
  after(async () => {
    if (!s) return;
    const code = await s.close();
    assert.equal(code, 0, "the API exits cleanly on SIGTERM");
  }, { timeout: 30_000 });

  test("Better Auth's migration would change nothing", T, async () => {
    const plan = await s.ba.plan();
    assert.deepEqual(plan.toBeCreated.map((t) => t.table), [], "no table to create");
    assert.deepEqual(plan.toBeAdded.map((t) => t.table), [], "no column to add");
    assert.deepEqual(plan.toBeAddedIndexes.map((i) => i.name), [], "no index to add");
    assert.deepEqual(plan.schemaProblems, []);
  });

  test("account and verification are laid out as Better Auth lays them out", T, async () => {
    const tables = ["account", "verification"];
    const theirs = await shapeMadeByBetterAuth(tables);
    assert.equal(theirs.columns.length, 13 + 6, JSON.stringify(theirs.columns));
    assert.deepEqual(await shapeOf(s.sql, tables), theirs);
  });

  test("sign-up and sign-in through the library, its session token on the API", T, async () => {
    const email = `mo-${randomBytes(4).toString("hex")}@example.com`;
    const password = "correct horse battery staple";
    const up = await s.ba.auth.api.signUpEmail({ body: { email, password, name: "Mo" } });
    assert.equal(up.user.email, email);
    const [account] = (
      await s.sql.query(
        `SELECT "providerId", "accountId", password FROM account WHERE "userId" = $1`,
        [up.user.id],
      )
    ).rows;
    assert.equal(account?.providerId, "credential", "the password lives in account");
    assert.equal(account.accountId, up.user.id);
    assert.ok(account.password && !account.password.includes(password), "hashed");

    const signedIn = await s.ba.auth.api.signInEmail({ body: { email, password } });
    assert.equal(signedIn.user.id, up.user.id);
    assert.match(signedIn.token, /^[A-Za-z0-9]{32}$/);
    const wrong = await s.authCall("/sign-in/email", {
      body: { email, password: "not the password" },
    });
    assert.equal(wrong.status, 401, show(wrong));

    const me = await s.api("/api/me", signedIn.token);
    assert.equal(me.status, 200, show(me));
    assert.equal(me.body.id, up.user.id);
    assert.equal(me.body.email, email);
    assert.equal(me.body.role, "user");
    const created = await s.api(`/api/${up.user.id}/tasks`, signedIn.token, {
      method: "POST",
      body: { title: "signed up on our tables" },
    });
    assert.equal(created.status, 201, show(created));
    const list = await s.api(`/api/${up.user.id}/tasks`, signedIn.token);
    assert.equal(list.status, 200, show(list));
    assert.deepEqual(list.body, [created.body]);
  });

  test("sign-up and sign-in over the HTTP endpoints, signed token on the API", T, async () => {
    const nia = await s.newUser("Nia"); // POST /api/auth/sign-up/email, then sign-in/email
    const created = await s.api(`/api/${nia.id}/tasks`, nia.signed, {
      method: "POST",
      body: { title: "over HTTP" },
    });
    assert.equal(created.status, 201, show(created));
    const list = await s.api(`/api/${nia.id}/tasks`, nia.raw);
    assert.equal(list.status, 200, show(list));
    assert.deepEqual(list.body, [created.body]);
    const out = await s.authCall("/sign-out", { bearer: nia.raw, body: {} });
    assert.equal(out.status, 200, show(out));
    const after = await s.api(`/api/${nia.id}/tasks`, nia.raw);
    assert.equal(after.status, 401, show(after));
  });

  test("with the jwt plugin, Better Auth's migration has only jwks left to make", T, async () => {
    const withJwt = await startBetterAuth({
      databaseUrl: TEST_DATABASE_URL,
      schema: s.schema,
      secret: s.secret,
      port: await freePort(),
      migrate: false,
    });
    try {
      const plan = await withJwt.plan();
      assert.deepEqual(plan.toBeCreated.map((t) => t.table), ["jwks"]);
      assert.deepEqual(plan.toBeAdded.map((t) => t.table), []);
      assert.deepEqual(plan.toBeAddedIndexes.map((i) => i.name), []);
    } finally {
      await withJwt.close();
    }
  });
});
