// The helpers on their own, without a server.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiProblem, PreconditionFailed, nextLink, problemFrom, randomKey, versionOf } from "@todo-api/client";

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
