// The helpers on their own, without a server.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ApiProblem,
  EventStream,
  EventStreamParser,
  PreconditionFailed,
  createTodoClient,
  nextLink,
  problemFrom,
  randomKey,
  streamEventOf,
  versionOf,
  type ServerSentEvent,
} from "@todo-api/client";

test("nextLink finds rel=next among other links and parameters", () => {
  assert.equal(nextLink(null), null);
  assert.equal(nextLink(""), null);
  assert.equal(nextLink('</api/a/tasks?cursor=1_2&limit=2>; rel="next"'), "/api/a/tasks?cursor=1_2&limit=2");
  assert.equal(nextLink('</p?c=1>; rel="prev", </n?c=2>; title="x"; rel="next"'), "/n?c=2");
  assert.equal(nextLink("</n>; rel=next"), "/n");
  assert.equal(nextLink('</n>; rel="prefetch next"'), "/n");
  assert.equal(nextLink('</p>; rel="prev"'), null);
});

test("versionOf reads strong entity tags only", () => {
  assert.equal(versionOf('"4"'), 4);
  assert.equal(versionOf('W/"4"'), null);
  assert.equal(versionOf("*"), null);
  assert.equal(versionOf(null), null);
});

test("problemFrom keeps problem documents and wraps anything else", () => {
  const headers = { "ETag": '"7"', "X-Request-Id": "req-1" };
  const conflict = problemFrom(new Response(null, { status: 412, headers }), {
    type: "about:blank",
    title: "Precondition Failed",
    status: 412,
    detail: "the task has changed since that version: its current version is 7",
  });
  assert.ok(conflict instanceof PreconditionFailed);
  assert.equal(conflict.currentVersion, 7);
  assert.equal(conflict.requestId, "req-1");
  assert.deepEqual(conflict.errors, []);

  const proxy = problemFrom(new Response(null, { status: 502, statusText: "Bad Gateway" }), "<html>upstream</html>");
  assert.ok(proxy instanceof ApiProblem);
  assert.equal(proxy.status, 502);
  assert.equal(proxy.title, "Bad Gateway");
  assert.equal(proxy.detail, "<html>upstream</html>");
  assert.equal(proxy.message, "502 Bad Gateway: <html>upstream</html>");
});

test("randomKey is a version 4 UUID, also without crypto.randomUUID", () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(randomKey(), uuid);
  const original = globalThis.crypto.randomUUID;
  try {
    Object.defineProperty(globalThis.crypto, "randomUUID", { value: undefined, configurable: true });
    const key = randomKey();
    assert.match(key, uuid);
    assert.notEqual(randomKey(), key);
  } finally {
    Object.defineProperty(globalThis.crypto, "randomUUID", { value: original, configurable: true });
  }
});

test("EventStreamParser: pieces split anywhere, CRLF, LF or CR, multi-line data, comments", () => {
  const wire =
    "retry: 2000\n: open\n\n" +
    "id: 7-1\nevent: task.created\ndata: {\"a\":1}\n\n" +
    ": keep-alive\r\n\r\n" +
    "id: 7-2\r\nevent: list.updated\r\ndata: line one\r\ndata:line two\r\ndata\r\n\r\n" +
    "id: 8-1\revent: reset\rdata: {\"detail\":\"gone\"}\r\r" +
    "data: no id nor event\n\n" +
    "id: 9-1\n\n" +
    "unknown: field\nevent: cut\ndata: never ends";
  const expected: ServerSentEvent[] = [
    { event: "task.created", data: '{"a":1}', lastEventId: "7-1" },
    { event: "list.updated", data: "line one\nline two\n", lastEventId: "7-2" },
    { event: "reset", data: '{"detail":"gone"}', lastEventId: "8-1" },
    { event: "message", data: "no id nor event", lastEventId: "8-1" },
  ];
  // Whole, then in every two-piece split (across each CR LF pair too), then char by char.
  const feeds: string[][] = [[wire], Array.from(wire)];
  for (let i = 1; i < wire.length; i++) feeds.push([wire.slice(0, i), wire.slice(i)]);
  for (const pieces of feeds) {
    const parser = new EventStreamParser();
    const messages = pieces.flatMap((piece) => parser.push(piece));
    assert.deepEqual(messages, expected, JSON.stringify(pieces.slice(0, 2)));
    assert.equal(parser.lastEventId, "9-1", "an id without data moves the cursor too");
    assert.equal(parser.retry, 2000);
  }
  const resumed = new EventStreamParser("5-5");
  assert.deepEqual(resumed.push("\uFEFFdata: x\n\n"), [{ event: "message", data: "x", lastEventId: "5-5" }]);
});

test("streamEventOf types changes and resets, and skips kinds it does not know", () => {
  const data = {
    id: "7-1",
    kind: "task.updated",
    list_id: "l",
    task_id: "t",
    actor_id: "alice",
    version: 2,
    fields: ["title"],
    at: "2026-12-04T10:15:00Z",
  };
  assert.deepEqual(streamEventOf({ event: "task.updated", data: JSON.stringify(data), lastEventId: "7-1" }), data);
  assert.deepEqual(streamEventOf({ event: "reset", data: '{"detail":"resync"}', lastEventId: "9-1" }), {
    kind: "reset",
    id: "9-1",
    detail: "resync",
  });
  assert.equal(streamEventOf({ event: "comment.added", data: "{}", lastEventId: "9-2" }), undefined);
});

test("an EventStream reads a body in any chunks and remembers the last id given", async () => {
  const encoder = new TextEncoder();
  const event = (id: string, kind: string) => {
    const at = "2026-12-04T10:15:00Z";
    const data = { id, kind, list_id: null, task_id: "t", actor_id: "a", version: 1, fields: [], at };
    return `id: ${id}\nevent: ${kind}\ndata: ${JSON.stringify(data)}\n\n`;
  };
  const wire =
    "retry: 2000\n: open\n\n" +
    event("1-1", "task.created") +
    ": é\n\n" +
    event("1-2", "task.deleted") +
    event("2-1", "future.kind");
  const bytes = encoder.encode(wire);
  // Cut anywhere, also between the two bytes of "é".
  const cuts = [3, 25, 26, 60, 140, bytes.indexOf(0xc3) + 1, bytes.length].sort((a, b) => a - b);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let from = 0;
      for (const cut of cuts) {
        controller.enqueue(bytes.slice(from, cut));
        from = cut;
      }
      controller.close();
    },
  });
  const stream = new EventStream(body, null);
  const seen: string[] = [];
  for await (const e of stream) {
    seen.push(`${e.kind} ${e.id}`);
    assert.equal(stream.lastEventId, e.id);
  }
  assert.deepEqual(seen, ["task.created 1-1", "task.deleted 1-2"]);
  assert.equal(stream.lastEventId, "2-1", "an event of an unknown kind moves the cursor");
  assert.equal(stream.retryMs, 2000);

  const two = encoder.encode(event("3-1", "task.created") + event("3-2", "task.created"));
  const early = new EventStream(new ReadableStream({ start: (c) => c.enqueue(two) }), "2-9");
  assert.equal(early.lastEventId, "2-9");
  for await (const e of early) {
    assert.equal(e.id, "3-1");
    break;
  }
  assert.equal(early.lastEventId, "3-1", "an event after the one the loop stopped at is not skipped");
});

test("webhooks: If-Match from the version held, creates not retried, deliveries follow Link", async () => {
  const sent: { method: string; url: string; ifMatch: string | null; key: string | null }[] = [];
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
  const delivery = (id: string) => ({
    id,
    event_id: `ping_${id}`,
    event: "ping",
    attempt: 1,
    outcome: "delivered",
    status_code: 204,
    duration_ms: 3,
    error: null,
    at: "2026-12-04T10:15:00Z",
  });
  const todo = createTodoClient({
    baseUrl: "http://api.invalid",
    retryDelayMs: 1,
    fetch: async (request) => {
      const url = new URL(request.url);
      sent.push({
        method: request.method,
        url: url.pathname + url.search,
        ifMatch: request.headers.get("If-Match"),
        key: request.headers.get("Idempotency-Key"),
      });
      if (request.method === "POST" && url.pathname === "/api/u/webhooks") {
        const problem = { type: "about:blank", title: "Service Unavailable", status: 503, detail: "busy" };
        return json(problem, 503, { "Content-Type": "application/problem+json" });
      }
      if (url.pathname.endsWith("/deliveries")) {
        return url.searchParams.get("cursor")
          ? json([delivery("d1")])
          : json([delivery("d2")], 200, { Link: '</api/u/webhooks/w/deliveries?limit=1&cursor=c1>; rel="next"' });
      }
      return json({ id: "w", version: 3 });
    },
  });
  const hooks = todo.webhooks("u");
  await hooks.update({ id: "w", version: 2 }, { enabled: false });
  await hooks.update("w", { enabled: true });
  await hooks.update({ id: "w", version: 2 }, { url: "https://x.example/" }, { ifMatch: false });
  await hooks.update("w", { events: ["task.created"] }, { ifMatch: 7 });
  assert.deepEqual(
    sent.map((r) => [r.method, r.url, r.ifMatch]),
    [
      ["PATCH", "/api/u/webhooks/w", '"2"'],
      ["PATCH", "/api/u/webhooks/w", null],
      ["PATCH", "/api/u/webhooks/w", null],
      ["PATCH", "/api/u/webhooks/w", '"7"'],
    ],
  );

  sent.length = 0;
  await assert.rejects(hooks.create({ url: "https://x.example/" }), (err: ApiProblem) => err.status === 503);
  assert.deepEqual(sent.map((r) => [r.method, r.key]), [["POST", null]], "sent once, without a key");

  sent.length = 0;
  const all = await hooks.deliveries("w", { limit: 1 });
  assert.deepEqual(all.map((d) => d.id), ["d2", "d1"]);
  assert.deepEqual(sent.map((r) => r.url), [
    "/api/u/webhooks/w/deliveries?limit=1",
    "/api/u/webhooks/w/deliveries?limit=1&cursor=c1",
  ]);

  sent.length = 0;
  await hooks.redeliver("w", all[0]!);
  await hooks.rotate("w");
  await hooks.test("w");
  await hooks.delete("w");
  assert.deepEqual(sent.map((r) => `${r.method} ${r.url}`), [
    "POST /api/u/webhooks/w/deliveries/d2/redeliver",
    "POST /api/u/webhooks/w/rotate",
    "POST /api/u/webhooks/w/test",
    "DELETE /api/u/webhooks/w",
  ]);
});
