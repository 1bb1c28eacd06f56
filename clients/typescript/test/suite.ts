// Every operation of the committed OpenAPI document, driven through the client against
// the built server. Run once per database by sqlite.test.ts and postgres.test.ts.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  ApiProblem,
  PreconditionFailed,
  createTodoClient,
  type ChangeEvent,
  type StreamEvent,
  type Task,
  type TodoClient,
  type TodoClientOptions,
} from "@todo-api/client";
import type { Middleware } from "openapi-fetch";
import { walkthrough } from "../example/walkthrough.js";
import { packageDir, startServer, type Database, type Server } from "./server.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const T = { timeout: 30_000 };

/** Runs `call` and returns the `ApiProblem` it must throw. */
async function problem(call: Promise<unknown>, status: number): Promise<ApiProblem> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof ApiProblem, `an ApiProblem, not ${String(err)}`);
    assert.equal(err.status, status, err.message);
    assert.ok(err instanceof Error);
    assert.equal(typeof err.detail, "string");
    return err;
  }
  assert.fail(`expected a ${status} problem`);
}

/** Reads `events` until one passes `wanted` (the others are skipped), and returns it. */
async function nextWhere<E extends StreamEvent>(
  events: AsyncIterator<StreamEvent>,
  wanted: (event: StreamEvent) => event is E,
): Promise<E> {
  for (;;) {
    const next = await events.next();
    assert.ok(!next.done, "the stream ended before the event came");
    if (wanted(next.value)) return next.value;
  }
}

/** A change event of `kind` about `task_id` or `list_id` (a type guard for `nextWhere`). */
function change(kind: ChangeEvent["kind"], about: { task_id?: string; list_id?: string }) {
  return (event: StreamEvent): event is ChangeEvent =>
    event.kind === kind &&
    (about.task_id === undefined || event.task_id === about.task_id) &&
    (about.list_id === undefined || event.list_id === about.list_id);
}

/** Aborting the signal of an open stream makes its iteration throw fetch's AbortError. */
async function aborted(events: AsyncIterator<StreamEvent>, controller: AbortController): Promise<void> {
  controller.abort();
  await assert.rejects(events.next(), (err: Error) => err.name === "AbortError");
}

/** The operations of the committed document, as `METHOD /path/{param}`. */
async function documentOperations(): Promise<{ operations: string[]; document: unknown }> {
  const document = JSON.parse(await readFile(path.join(packageDir, "openapi.json"), "utf8"));
  const operations: string[] = [];
  for (const [route, item] of Object.entries(document.paths as Record<string, object>)) {
    for (const method of Object.keys(item)) {
      if (["get", "put", "post", "delete", "patch"].includes(method)) {
        operations.push(`${method.toUpperCase()} ${route}`);
      }
    }
  }
  return { operations: operations.sort(), document };
}

export function clientSuite(label: string, database: Database | string): void {
  const skip = typeof database === "string" ? database : false;
  describe(`the client against todo-server on ${label}`, { skip }, () => {
    let server: Server;
    let tokens: Record<string, string>;
    /** `METHOD schemaPath` of every request any client of this suite sent. */
    const called = new Set<string>();
    const recorder: Middleware = {
      onRequest({ request, schemaPath }) {
        called.add(`${request.method} ${schemaPath}`);
      },
    };
    const client = (userId: string, extra: Partial<TodoClientOptions> = {}): TodoClient =>
      createTodoClient({
        baseUrl: server.url,
        credential: async () => tokens[userId],
        middleware: [recorder],
        retryDelayMs: 1,
        ...extra,
      });
    let alice: TodoClient;

    before(async () => {
      if (typeof database === "string") return;
      server = await startServer(database);
      tokens = {};
      tokens.alice = await server.devToken("alice", { admin: true });
      for (const id of ["bob", "carol", "dora", "erin", "fay", "gwen"]) tokens[id] = await server.devToken(id);
      alice = client("alice");
    }, { timeout: 90_000 });

    after(async () => {
      if (typeof database === "string") return;
      try {
        if (server) assert.equal(await server.stop(), 0, "the server exits cleanly on SIGTERM");
      } finally {
        await database.drop();
      }
    }, { timeout: 30_000 });

    test("the service routes, and /openapi.json is the committed document", T, async () => {
      const welcome = await alice.welcome();
      assert.equal(welcome.name, "todo-api");
      assert.equal((await alice.health()).status, "ok");
      assert.equal((await alice.ready()).status, "ready");
      const served = await fetch(`${server.url}/openapi.json`).then((r) => r.json());
      assert.deepEqual(served, (await documentOperations()).document);
    });

    test("the credential callback is awaited for every request", T, async () => {
      let calls = 0;
      const bob = client("bob", {
        credential: async () => {
          calls += 1;
          await new Promise((r) => setTimeout(r, 1));
          return server.jwt("bob");
        },
      });
      const me = await bob.me();
      assert.equal(me.id, "bob");
      assert.equal(me.role, "user");
      await bob.me();
      assert.equal(calls, 2);

      const anonymous = client("bob", { credential: () => null });
      const unauthenticated = await problem(anonymous.me(), 401);
      assert.match(unauthenticated.headers.get("WWW-Authenticate") ?? "", /^Bearer/);
      const expired = client("bob", { credential: () => server.jwt("bob", -3600) });
      await problem(expired.me(), 401);
      const me2 = await alice.me();
      assert.equal(me2.id, "alice");
      assert.match(me2.role, /admin/);
    });

    test("errors are typed problems: status, title, detail and field errors", T, async () => {
      const tasks = alice.tasks("alice");
      const invalid = await problem(tasks.create({ title: "  " }), 422);
      assert.equal(invalid.title, "Unprocessable Entity");
      assert.equal(invalid.type, "about:blank");
      assert.equal(invalid.errors[0]?.field, "title");
      assert.equal(invalid.fieldError("title"), "must not be empty");
      assert.match(invalid.requestId ?? "", /\S/, "X-Request-Id is kept");
      const due = await problem(tasks.create({ title: "Pay rent", due: "2026-02-30" }), 422);
      assert.match(due.fieldError("due") ?? "", /2026-02-30 does not exist/);
      const forbidden = await problem(alice.tasks("bob").list(), 403);
      assert.equal(forbidden.errors.length, 0);
      await problem(tasks.get("0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99"), 404);
      await problem(tasks.list({ sort: "colour" as "title" }), 422);
    });

    test("creates carry a fresh Idempotency-Key, the same for every retry", T, async () => {
      const sent: { key: string | null; replayed: string | null }[] = [];
      let dropNext = true;
      const flaky = client("alice", {
        // The first create reaches the server, but its answer is lost on the way back.
        fetch: async (request) => {
          const key = request.headers.get("Idempotency-Key");
          const response = await fetch(request);
          if (request.method === "POST") {
            sent.push({ key, replayed: response.headers.get("Idempotent-Replayed") });
            if (dropNext) {
              dropNext = false;
              throw new TypeError("fetch failed");
            }
          }
          return response;
        },
      });
      const tasks = flaky.tasks("alice");
      const created = await tasks.create({ title: "Book flights", tags: ["Travel"] });
      assert.equal(sent.length, 2, "one retry");
      assert.match(sent[0]?.key ?? "", UUID);
      assert.equal(sent[1]?.key, sent[0]?.key, "the retry sends the same key");
      assert.equal(sent[1]?.replayed, "true", "the server answered with the first create's task");
      const flights = (await tasks.list({ q: "Book flights" })).filter((t) => t.title === "Book flights");
      assert.deepEqual(flights.map((t) => t.id), [created.id], "one task, not two");

      await tasks.create({ title: "Second" });
      assert.equal(sent.length, 3);
      assert.match(sent[2]?.key ?? "", UUID);
      assert.notEqual(sent[2]?.key, sent[0]?.key, "a new key for a new create");

      const mine = "5f0c2a1e-8d4b-4f7a-9c3e-2b1d0a9f8e7d";
      const first = await tasks.create({ title: "Own key" }, { idempotencyKey: mine });
      const again = await tasks.create({ title: "Own key" }, { idempotencyKey: mine });
      assert.equal(again.id, first.id);
      assert.equal(sent.at(-1)?.replayed, "true");
      const reused = await problem(tasks.create({ title: "Other" }, { idempotencyKey: mine }), 422);
      assert.ok(reused.fieldError("Idempotency-Key"));

      await tasks.create({ title: "No key" }, { idempotencyKey: false });
      assert.equal(sent.at(-1)?.key, null);
    });

    test("reads are retried after a 503, and a problem is thrown when retries run out", T, async () => {
      let failures = 1;
      const busy = (limit: number) =>
        client("alice", {
          retries: limit,
          fetch: async (request) => {
            if (failures-- > 0) {
              return new Response(
                JSON.stringify({ type: "about:blank", title: "Service Unavailable", status: 503, detail: "the database is unreachable" }),
                { status: 503, headers: { "Content-Type": "application/problem+json", "Retry-After": "0" } },
              );
            }
            return fetch(request);
          },
        });
      assert.equal((await busy(2).me()).id, "alice");
      failures = 1;
      const unavailable = await problem(busy(0).me(), 503);
      assert.equal(unavailable.detail, "the database is unreachable");
    });

    test("a task sent back is current or answered 304, and the held copy is kept", T, async () => {
      const tasks = alice.tasks("alice");
      const task = await tasks.create({ title: "Water plants" });
      let status = 0;
      const watching = client("alice", {
        middleware: [recorder, { onResponse: ({ response }) => void (status = response.status) }],
      }).tasks("alice");
      assert.equal(await watching.get(task), task, "the same object");
      assert.equal(status, 304);
      assert.deepEqual(await watching.get(task.id), task);
      const changed = await tasks.update(task, { priority: "low" });
      const fresh = await watching.get(task);
      assert.equal(status, 200);
      assert.deepEqual(fresh, changed);
    });

    test("updates send If-Match and a stale version is a PreconditionFailed", T, async () => {
      const tasks = alice.tasks("alice");
      const v1 = await tasks.create({ title: "Draft", tags: ["home"] });
      const v2 = await tasks.update(v1, { title: "Draft 2", tags: null });
      assert.equal(v2.version, 2);
      assert.deepEqual(v2.tags, []);

      const stale = await problem(tasks.update(v1, { title: "lost" }), 412);
      assert.ok(stale instanceof PreconditionFailed);
      assert.equal(stale.currentVersion, 2);
      assert.equal(stale.etag, '"2"');
      assert.match(stale.detail, /current version is 2/);

      const v3 = await tasks.replace(v2, { priority: "high" });
      assert.equal(v3.version, 3);
      assert.equal(v3.priority, "high");
      await problem(tasks.replace(v2, { priority: "low" }), 412);
      await problem(tasks.update(v3.id, { title: "x" }, { ifMatch: 1 }), 412);
      const v4 = await tasks.update(v1, { title: "forced" }, { ifMatch: false });
      assert.equal(v4.version, 4);
      const v5 = await tasks.update(v3.id, { title: "any" }, { ifMatch: "*" });
      assert.equal(v5.version, 5);
      const v6 = await tasks.update(v5.id, { description: "unconditional by id" });
      assert.equal(v6.version, 6);
    });

    test("complete and toggle, conditionally; a repeating task moves on", T, async () => {
      const tasks = alice.tasks("alice");
      const open = await tasks.create({ title: "Toggle me" });
      const done = await tasks.toggle(open);
      assert.equal(done.completed, true);
      assert.ok(done.completed_at);
      const conflict = await problem(tasks.complete(open, false), 412);
      assert.ok(conflict instanceof PreconditionFailed);
      assert.equal(conflict.currentVersion, done.version);
      const reopened = await tasks.complete(done, false);
      assert.equal(reopened.completed, false);
      const again = await tasks.complete(reopened, false);
      assert.equal(again.completed, false, "setting is not toggling");

      const weekly = await tasks.create({ title: "Bins", due: "2026-12-01", recurrence: "FREQ=WEEKLY" });
      const next = await tasks.toggle(weekly);
      assert.equal(next.completed, false);
      assert.equal(next.due, "2026-12-08");
    });

    test("move places a task in the manual order, conditionally", T, async () => {
      const tasks = client("carol").tasks("carol");
      const a = await tasks.create({ title: "a" });
      const b = await tasks.create({ title: "b" });
      const c = await tasks.create({ title: "c" });
      const order = async () => (await tasks.list({ sort: "position" })).map((t) => t.title);
      assert.deepEqual(await order(), ["a", "b", "c"]);
      const top = await tasks.move(c, { to: "top" });
      assert.deepEqual(await order(), ["c", "a", "b"]);
      await tasks.move(b, { before: a.id });
      assert.deepEqual(await order(), ["c", "b", "a"]);
      await tasks.move(top, { after: a.id });
      assert.deepEqual(await order(), ["b", "a", "c"]);
      assert.ok((await problem(tasks.move(c, { to: "bottom" }), 412)) instanceof PreconditionFailed);
      const itself = await problem(tasks.move(a.id, { after: a.id }), 422);
      assert.ok(itself.fieldError("after"), itself.detail);
    });

    test("delete sends If-Match too", T, async () => {
      const tasks = alice.tasks("alice");
      const v1 = await tasks.create({ title: "Temporary" });
      const v2 = await tasks.update(v1, { title: "Temporary, renamed" });
      const stale = await problem(tasks.delete(v1), 412);
      assert.ok(stale instanceof PreconditionFailed);
      assert.equal(stale.currentVersion, 2);
      await tasks.delete(v2);
      await problem(tasks.get(v1.id), 404);
      await problem(tasks.delete(v1.id), 404);
    });

    test("pages follow Link rel=next and keep every filter", T, async () => {
      const bobClient = client("bob");
      const tasks = bobClient.tasks("bob");
      const high: Task[] = [];
      for (let i = 0; i < 5; i++) high.push(await tasks.create({ title: `high ${i}`, priority: "high", tags: ["work"] }));
      await tasks.create({ title: "low", priority: "low" });
      await tasks.create({ title: "none" });

      const sizes: number[] = [];
      const seen: Task[] = [];
      for await (const page of tasks.pages({ priority: ["high"], sort: "-created_at", limit: 2 })) {
        sizes.push(page.length);
        seen.push(...page);
      }
      assert.deepEqual(sizes, [2, 2, 1]);
      assert.deepEqual(seen.map((t) => t.id), high.map((t) => t.id).reverse());

      const some = await tasks.list({ priority: ["high", "low"], limit: 3 });
      assert.equal(some.length, 6);
      assert.equal((await tasks.list({ tag: ["WORK"], limit: 1 })).length, 5);
      assert.equal((await tasks.list()).length, 7);
    });

    test("stats, tags, and clearing the completed tasks", T, async () => {
      const tasks = client("bob").tasks("bob");
      const tags = await tasks.tags();
      assert.deepEqual(tags, [{ tag: "work", count: 5 }]);
      for (const task of (await tasks.list({ priority: ["high"], limit: 2 })).slice(0, 2)) {
        await tasks.toggle(task);
      }
      const stats = await tasks.stats("Europe/Berlin");
      assert.equal(stats.total, 7);
      assert.equal(stats.completed, 2);
      assert.equal(stats.pending_by_priority.high, 3);
      assert.equal(await tasks.clearCompleted(), 2);
      assert.equal((await tasks.stats()).total, 5);
      await problem(tasks.stats("Mars/Olympus"), 422);
    });

    test("sync: the whole list first, then changes with tombstones, and 410 starts again", T, async () => {
      const tasks = client("dora").tasks("dora");
      const empty = await tasks.sync(null);
      assert.deepEqual(empty, { reset: true, upserts: [], deletions: [], since: null });

      const a = await tasks.create({ title: "a" });
      const b = await tasks.create({ title: "b" });
      const first = await tasks.sync(undefined, { marginMs: 0 });
      assert.equal(first.reset, true);
      assert.deepEqual(first.upserts.map((t) => t.id), [a.id, b.id]);
      assert.ok(first.since && Date.parse(first.since) <= Date.parse(b.updated_at));

      const a2 = await tasks.update(a, { title: "a, changed" });
      await tasks.delete(b);
      const c = await tasks.create({ title: "c" });
      const changes = await tasks.sync(first.since, { limit: 1 });
      assert.equal(changes.reset, false);
      assert.deepEqual(new Set(changes.upserts.map((t) => t.id)), new Set([a.id, c.id]));
      assert.deepEqual(changes.upserts.find((t) => t.id === a.id), a2);
      assert.deepEqual(changes.deletions.map((d) => [d.id, d.deleted]), [[b.id, true]]);
      const newest = Math.max(...[...changes.upserts, ...changes.deletions].map((e) => Date.parse(e.updated_at)));
      assert.equal(changes.since, new Date(newest - 5_000).toISOString(), "the newest change minus the margin");

      const quiet = await tasks.sync(new Date(Date.now() + 60_000).toISOString());
      assert.equal(quiet.reset, false);
      assert.deepEqual([quiet.upserts, quiet.deletions], [[], []]);

      const forgotten = await tasks.sync("2000-01-01T00:00:00Z");
      assert.equal(forgotten.reset, true, "410 Gone: the whole list again");
      assert.deepEqual(forgotten.upserts.map((t) => t.id), [a.id, c.id]);
      assert.deepEqual(forgotten.deletions, []);
    });

    test("admin: users and their tasks page by page, roles, deletions", T, async () => {
      const users = await alice.admin.users({ limit: 1 });
      const ids = users.map((u) => u.id);
      for (const id of ["alice", "bob", "carol", "dora"]) assert.ok(ids.includes(id), id);
      let pages = 0;
      for await (const page of alice.admin.userPages({ limit: 2 })) {
        pages += 1;
        assert.ok(page.length <= 2);
      }
      assert.equal(pages, Math.ceil(users.length / 2));

      const bobsTasks = await alice.admin.userTasks("bob", { limit: 2 });
      assert.equal(bobsTasks.length, 5);
      const sizes: number[] = [];
      for await (const page of alice.admin.userTaskPages("bob", { limit: 4 })) sizes.push(page.length);
      assert.deepEqual(sizes, [4, 1]);
      await problem(alice.admin.userTasks("nobody"), 404);

      const lastAdmin = await problem(alice.admin.setRole("alice", "user"), 409);
      assert.match(lastAdmin.detail, /admin/);
      const promoted = await alice.admin.setRole("bob", "user,admin");
      assert.equal(promoted.role, "user,admin");
      assert.equal((await alice.admin.setRole("bob", "user")).role, "user");

      const victim = bobsTasks[0];
      assert.ok(victim);
      await alice.admin.deleteTask("bob", victim.id);
      await problem(client("bob").tasks("bob").get(victim.id), 404);
      await problem(alice.admin.deleteTask("bob", victim.id), 404);

      await alice.admin.deleteUser("carol");
      assert.ok(!(await alice.admin.users()).some((u) => u.id === "carol"));
      await problem(alice.admin.deleteUser("alice"), 409);
      await problem(client("bob").admin.users(), 403);
    });

    test("lists: create, share, roles, subtasks, assignees, move, transfer, leave", T, async () => {
      const bob = client("bob");
      const dora = client("dora");
      const lists = bob.lists("bob");
      const inbox = (await lists.list()).find((l) => l.inbox);
      assert.equal(inbox?.name, "Inbox");
      const shared = await lists.create({ name: " Shared ", colour: "#ABCDEF" });
      assert.equal(shared.name, "Shared");
      assert.equal(shared.colour, "#abcdef");
      assert.equal(shared.role, "owner");
      assert.equal(shared.version, 1);
      assert.equal(await lists.get(shared), shared, "unchanged: If-None-Match, 304");
      const member = await lists.addMember(shared.id, { email: "dora@example.com" }, "viewer");
      assert.equal(member.user_id, "dora");
      assert.deepEqual((await lists.members(shared.id)).map((m) => m.role), ["owner", "viewer"]);
      const seen = await dora.lists("dora").get(shared.id);
      assert.equal(seen.role, "viewer");
      assert.equal(seen.member_count, 2);

      const parent = await bob.tasks("bob").create({ title: "Plan", list_id: shared.id });
      const sub = await bob.tasks("bob").create({ title: "Step", parent_id: parent.id });
      assert.equal(sub.list_id, shared.id);
      assert.equal((await bob.tasks("bob").get(parent.id)).subtask_count, 1);
      const readable = await dora.tasks("dora").list({ list_id: shared.id, parent_id: "none" });
      assert.deepEqual(readable.map((t) => t.id), [parent.id]);
      assert.equal(readable[0]!.user_id, "bob");
      const denied = await problem(dora.tasks("dora").update(parent.id, { title: "No" }), 403);
      assert.match(denied.detail, /editor/);
      await problem(bob.tasks("bob").update(parent.id, { assignee_id: "erin" }), 422);

      await lists.setMemberRole(shared.id, "dora", "editor");
      const assigned = await dora.tasks("dora").update(parent.id, { assignee_id: "dora" });
      assert.equal(assigned.assignee_id, "dora");
      assert.deepEqual((await dora.tasks("dora").list({ assignee: "me" })).map((t) => t.id), [parent.id]);

      const later = await lists.create({ name: "Later" });
      const moved = await lists.move(later, { before: shared.id });
      assert.equal(moved.version, 2);
      await problem(lists.update(later, { name: "Stale" }), 412);
      const archived = await lists.update(moved, { archived: true });
      assert.ok(archived.archived);
      assert.deepEqual((await lists.list({ archived: true })).map((l) => l.id), [later.id]);
      await lists.delete(archived);
      await problem(lists.delete(inbox!.id), 409);

      const handed = await lists.transfer(shared.id, "dora");
      assert.equal(handed.owner_id, "dora");
      assert.equal(handed.role, "editor");
      await lists.removeMember(shared.id, "bob");
      await problem(lists.get(shared.id), 404);
      await dora.lists("dora").delete(shared.id);
    });

    test("trash: a deleted task and list listed, restored, forgotten, emptied", T, async () => {
      const fay = client("fay");
      const trash = fay.trash("fay");
      assert.deepEqual(await trash.list(), []);
      const parent = await fay.tasks("fay").create({ title: "Pack" });
      await fay.tasks("fay").create({ title: "Socks", parent_id: parent.id });
      await fay.tasks("fay").delete(parent.id);
      const list = await fay.lists("fay").create({ name: "Trip" });
      await fay.tasks("fay").create({ title: "Tickets", list_id: list.id });
      await fay.lists("fay").delete(list.id);
      const entries = await trash.list({ limit: 1 });
      assert.deepEqual(entries.map((e) => [e.kind, e.id, e.task_count]), [
        ["list", list.id, 1],
        ["task", parent.id, 2],
      ]);
      const pages = [];
      for await (const page of trash.pages({ limit: 1 })) pages.push(page.length);
      assert.deepEqual(pages, [1, 1]);
      assert.equal(Date.parse(entries[1]!.purge_at) - Date.parse(entries[1]!.deleted_at), 30 * 86_400_000);

      const restored = await trash.restore(entries[1]!);
      assert.equal(restored.list_id, parent.list_id);
      const back = await fay.tasks("fay").get(parent.id);
      assert.equal(back.subtask_count, 1);
      assert.ok(back.version > parent.version);
      await problem(trash.restore(parent.id), 404);
      await problem(trash.restore("not-a-uuid"), 422);

      await trash.delete(list.id);
      await problem(trash.delete(list.id), 404);
      await fay.tasks("fay").delete(back.id);
      await trash.empty();
      assert.deepEqual(await trash.list(), []);
      await problem(client("dora").trash("fay").list(), 403);
    });

    test("webhooks: create, read without the secret, update, rotate, ping signed, deliveries, redeliver, delete", T, async () => {
      // A receiver on loopback (allowed over plain HTTP by TODO__WEBHOOKS__ALLOW_HOSTS, see
      // server.ts) that answers 204 and keeps every request it was sent.
      const received: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
      const receiver = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve, reject) => {
        receiver.once("error", reject);
        receiver.listen(0, "127.0.0.1", resolve);
      });
      try {
        const { port } = receiver.address() as AddressInfo;
        const url = `http://127.0.0.1:${port}/hook`;
        const seen = { location: null as string | null };
        const gwen = client("gwen", {
          middleware: [
            recorder,
            {
              onResponse({ request, response }) {
                if (request.method === "POST") seen.location = response.headers.get("Location");
              },
            },
          ],
        });
        const hooks = gwen.webhooks("gwen");
        assert.deepEqual(await hooks.list(), []);

        // Created: the secret is in this answer, and only here.
        const created = await hooks.create({ url });
        assert.match(created.secret, /^whsec_[A-Za-z0-9+/]+={0,2}$/);
        assert.match(seen.location ?? "", /\/api\/gwen\/webhooks\/[^/]+$/);
        assert.equal(seen.location?.split("/").at(-1), created.id, "the Location names the webhook");
        assert.equal(created.url, url);
        assert.equal(created.enabled, true);
        assert.equal(created.list_id, null);
        assert.equal(created.version, 1);
        assert.equal(created.previous_secret_expires_at, null);
        const listed = await hooks.list();
        assert.deepEqual(listed.map((h) => h.id), [created.id]);
        const got = await hooks.get(created.id);
        const { secret: _secret, previous_secret_expires_at: _expires, ...shown } = created;
        assert.deepEqual(got, shown);
        for (const answer of [listed, got]) {
          const json = JSON.stringify(answer);
          assert.ok(!json.includes(created.secret), "never the secret again");
          assert.ok(!json.includes("whsec_") && !json.includes('"secret"'), json);
        }
        await problem(client("dora").webhooks("gwen").list(), 403);

        // Updated with If-Match: the current version pauses it, a stale one changes nothing.
        const paused = await hooks.update(got, { enabled: false });
        assert.equal(paused.enabled, false);
        assert.equal(paused.version, 2);
        const stale = await problem(hooks.update(got, { enabled: true }), 412);
        assert.ok(stale instanceof PreconditionFailed);
        assert.equal(stale.currentVersion, 2);
        assert.equal((await hooks.get(created.id)).enabled, false, "the stale update wrote nothing");
        const resumed = await hooks.update(paused, { enabled: true });
        assert.equal(resumed.enabled, true);
        assert.equal(resumed.version, 3);

        // Rotated: a new secret; the old one still signs for a day.
        const rotated = await hooks.rotate(resumed);
        assert.equal(rotated.id, created.id);
        assert.match(rotated.secret, /^whsec_/);
        assert.notEqual(rotated.secret, created.secret);
        assert.ok(rotated.previous_secret_expires_at, "a rotation says until when the old secret signs");
        const overlap = Date.parse(rotated.previous_secret_expires_at) - Date.now();
        assert.ok(Math.abs(overlap - 86_400_000) < 120_000, `about a day, not ${overlap} ms`);
        assert.ok(!JSON.stringify(await hooks.get(created.id)).includes(rotated.secret));

        // A ping reaches the receiver, signed the Standard Webhooks way by both secrets.
        const ping = await hooks.test(created.id);
        assert.equal(ping.event, "ping");
        assert.equal(ping.event_id, `ping_${ping.id}`);
        assert.equal(ping.outcome, "delivered", ping.error ?? "");
        assert.equal(ping.status_code, 204);
        assert.equal(ping.error, null);
        assert.equal(ping.attempt, 1);
        const hit = received.find((r) => r.headers["webhook-id"] === ping.event_id);
        assert.ok(hit, `the receiver got the ping (it got ${received.length} requests)`);
        assert.equal(hit.method, "POST");
        assert.equal(hit.url, "/hook");
        assert.match(hit.headers["content-type"] ?? "", /^application\/json/);
        const timestamp = String(hit.headers["webhook-timestamp"]);
        assert.match(timestamp, /^\d+$/);
        assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 300, "webhook-timestamp is now, in seconds");
        const signatures = String(hit.headers["webhook-signature"]).split(" ");
        assert.ok(signatures.every((sig) => sig.startsWith("v1,")), signatures.join(" "));
        const sign = (secret: string) =>
          "v1," +
          createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
            .update(`${ping.event_id}.${timestamp}.`)
            .update(hit.body)
            .digest("base64");
        assert.ok(signatures.includes(sign(rotated.secret)), "signed with the new secret");
        assert.ok(signatures.includes(sign(created.secret)), "and, during the overlap, with the old one");
        assert.ok(!signatures.includes(sign("whsec_" + Buffer.from("another key").toString("base64"))));
        const body = JSON.parse(hit.body.toString("utf8"));
        assert.equal(body.type, "ping");
        assert.deepEqual(body.data, { webhook_id: created.id, url });

        // The deliveries, newest first; a redelivery is a new attempt, delivered again.
        assert.deepEqual(await hooks.deliveries(created.id), [ping]);
        const again = await hooks.redeliver(created.id, ping);
        assert.notEqual(again.id, ping.id);
        assert.equal(again.event, "ping");
        assert.equal(again.event_id, `ping_${again.id}`, "a ping sent again is a ping of its own");
        assert.equal(again.outcome, "delivered", again.error ?? "");
        assert.equal(again.status_code, 204);
        assert.ok(received.some((r) => r.headers["webhook-id"] === again.event_id), "the receiver got it too");
        const pages: string[][] = [];
        for await (const page of hooks.deliveryPages(created, { limit: 1 })) pages.push(page.map((d) => d.id));
        assert.deepEqual(pages, [[again.id], [ping.id]]);
        assert.deepEqual((await hooks.deliveries(created, { limit: 1 })).map((d) => d.id), [again.id, ping.id]);
        await problem(hooks.redeliver(created.id, "0193a5c2-7b1e-7cc0-9a4e-3f5d2c1b0a99"), 404);

        // Deleted: gone, and so are its deliveries.
        await hooks.delete(created);
        await problem(hooks.get(created.id), 404);
        await problem(hooks.deliveries(created.id), 404);
        assert.deepEqual(await hooks.list(), []);

        // A target the server may not reach over plain HTTP is the url field's problem.
        const refused = await problem(hooks.create({ url: "http://example.com/" }), 422);
        assert.equal(refused.errors[0]?.field, "url", refused.message);
        assert.deepEqual(await hooks.list(), []);
      } finally {
        receiver.closeAllConnections();
        await new Promise((resolve) => receiver.close(resolve));
      }
    });

    test("the example walks through list, create, toggle, pages and sync", T, async () => {
      const result = await walkthrough(client("erin"), "erin");
      assert.equal(result.titleProblem, "must not be empty");
      assert.deepEqual(result.open.map((t) => t.title), ["Call mum", "Buy milk"]);
      assert.equal(result.done.completed, true);
      assert.equal(result.conflict, 2);
      assert.deepEqual(result.pageSizes, [1, 1]);
      assert.equal(result.changes.reset, false);
      assert.equal(result.changes.deletions.length, 1);
      assert.deepEqual([...result.local.values()].map((t) => t.title), ["Buy oat milk"]);
      assert.ok(result.since);
    });

    test("events: changes stream as they are made, resume after the last id, and reset", T, async () => {
      const events = alice.events("alice");
      const tasks = alice.tasks("alice");
      // Every stream is aborted by the end of the test (or after 20 s at the latest), so
      // the server has none open when it is stopped.
      const deadline = AbortSignal.timeout(20_000);
      const live = new AbortController();
      const stream = await events.open({ signal: AbortSignal.any([live.signal, deadline]) });
      assert.equal(stream.lastEventId, null);
      const reading = stream[Symbol.asyncIterator]();

      // Subscribed once `open` resolves: a list and a task made now both come.
      const list = await alice.lists("alice").create({ name: "Streamed" });
      const task = await tasks.create({ title: "Listen", list_id: list.id });
      const listCreated = await nextWhere(reading, change("list.created", { list_id: list.id }));
      assert.equal(listCreated.actor_id, "alice");
      assert.equal(listCreated.task_id, null);
      const created = await nextWhere(reading, change("task.created", { task_id: task.id }));
      assert.equal(created.list_id, list.id);
      assert.equal(created.actor_id, "alice");
      assert.equal(created.version, 1);
      assert.ok(!Number.isNaN(Date.parse(created.at)));
      assert.match(created.id, /^\d+-\d+$/);
      assert.equal(stream.lastEventId, created.id, "the stream remembers the last event given");
      assert.equal(stream.retryMs, 2000);
      await aborted(reading, live);

      // A change made while no stream is open comes first when the stream resumes.
      const renamed = await tasks.update(task, { title: "Listen again" });
      const resumedControl = new AbortController();
      const resumed = await events.open({
        after: stream.lastEventId,
        signal: AbortSignal.any([resumedControl.signal, deadline]),
      });
      const again = resumed[Symbol.asyncIterator]();
      const updated = await nextWhere(again, change("task.updated", { task_id: task.id }));
      assert.deepEqual(updated.fields, ["title"]);
      assert.equal(updated.version, renamed.version);
      assert.equal(resumed.lastEventId, updated.id);
      await aborted(again, resumedControl);

      // A cursor older than the log keeps (here: one it never had) is a reset, then the
      // stream goes on from the reset's id. `break` closes a stream as well.
      const far = await events.open({ after: "999999999-1", signal: deadline });
      let reset: StreamEvent | undefined;
      for await (const event of far) {
        reset = event;
        break;
      }
      assert.ok(reset?.kind === "reset", `a reset, not ${JSON.stringify(reset)}`);
      assert.match(reset.detail, /sync/);
      assert.match(reset.id, /^\d+-\d+$/);
      assert.equal(far.lastEventId, reset.id);

      // A malformed cursor, and another user's stream, are problems like any other.
      const malformed = await problem(events.open({ after: "soon" }), 422);
      assert.match(malformed.fieldError("after") ?? "", /12-34/, malformed.message);
      await problem(client("dora").events("alice").open(), 403);
    });

    test("every operation of the document went through the client", async () => {
      const { operations } = await documentOperations();
      const missing = operations.filter((op) => !called.has(op));
      assert.deepEqual(missing, [], `not exercised: ${missing.join(", ")}`);
      assert.equal(operations.length, 45);
    });
  });
}
