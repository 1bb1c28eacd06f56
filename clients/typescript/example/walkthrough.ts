// A complete round: create, list, toggle, page through, sync, and the two errors a
// frontend handles (a validation problem and a conflicting edit).
import { ApiProblem, PreconditionFailed, type Task, type TodoClient } from "@todo-api/client";

export async function walkthrough(todo: TodoClient, userId: string) {
  const tasks = todo.tasks(userId);

  // Create: an Idempotency-Key goes with each, so the client's retries never make two.
  const milk = await tasks.create({ title: "Buy milk", tags: ["errands"], priority: "high" });
  const call = await tasks.create({ title: "Call mum", due: "2026-12-01" });

  // A rule the server enforces comes back as a problem naming the field.
  let titleProblem: string | undefined;
  try {
    await tasks.create({ title: "   " });
  } catch (err) {
    if (!(err instanceof ApiProblem)) throw err;
    titleProblem = err.fieldError("title"); // "must not be empty"
  }

  // List: the open tasks, newest first (every page of them).
  const open = await tasks.list({ status: "pending", sort: "-created_at" });

  // Toggle: passing the task (not just its id) makes the write conditional on its version.
  const done = await tasks.toggle(milk);

  // `milk` is now an old copy (the toggle made version 2), as another tab's would be: an
  // edit based on it is refused, and nothing is overwritten.
  let conflict: number | null = null;
  try {
    await tasks.update(milk, { title: "Buy oat milk" });
  } catch (err) {
    if (!(err instanceof PreconditionFailed)) throw err;
    conflict = err.currentVersion; // 2: read it again, merge, retry
    await tasks.update(await tasks.get(milk.id), { title: "Buy oat milk" });
  }

  // Page through everything, one task per request here (a hundred or so in an app).
  const pageSizes: number[] = [];
  for await (const page of tasks.pages({ limit: 1 })) pageSizes.push(page.length);

  // Sync: the first time the whole list (`reset: true`); keep `since` for the next one.
  const local = new Map<string, Task>();
  const first = await tasks.sync(null);
  for (const task of first.upserts) local.set(task.id, task);
  let since = first.since;

  // Later (on focus, on an interval): only what changed since, deletions included.
  await tasks.delete(call.id);
  const changes = await tasks.sync(since);
  if (changes.reset) local.clear();
  for (const task of changes.upserts) local.set(task.id, task);
  for (const gone of changes.deletions) local.delete(gone.id);
  since = changes.since;

  return { titleProblem, open, done, conflict, pageSizes, first, changes, local, since };
}
