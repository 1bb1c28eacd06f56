// The sync feed folded into what a client applies: upserts, deletions and the next `since`.
import type { Change, DeletedTask, Task } from "./types.js";

/** What changed since the last sync, and where the next one starts. */
export interface SyncResult {
  /**
   * `true` when this is the whole list rather than the changes: the first sync (no
   * `since`), or the server no longer remembers every deletion since `since` (410 Gone).
   * Replace the local copy with `upserts`; `deletions` is then empty.
   */
  reset: boolean;
  /** Tasks created or changed: store each by `id` (the higher `version` wins). */
  upserts: Task[];
  /** Tasks deleted: remove each `id`. */
  deletions: DeletedTask[];
  /**
   * Pass it to the next sync: the newest `updated_at` seen minus the safety margin (a
   * write committing slowly can carry a slightly earlier time), the same `since` when
   * nothing changed, `null` after an empty full list (the next sync reads it whole again).
   * Entries within the margin come again; applying them twice changes nothing.
   */
  since: string | null;
}

export function isDeleted(change: Change): change is DeletedTask {
  return "deleted" in change && change.deleted === true;
}

/**
 * Folds the feed's entries (oldest change first, possibly paged while tasks changed) into
 * the last state of each task, then the next sync point.
 */
export function fold(
  entries: readonly Change[],
  previous: string | null,
  marginMs: number,
  reset: boolean,
): SyncResult {
  // The feed is ordered by change time, so a task that changed again while it was paged
  // comes once more, later: its last entry is its newest state.
  const last = new Map<string, Change>();
  for (const entry of entries) last.set(entry.id, entry);
  const upserts: Task[] = [];
  const deletions: DeletedTask[] = [];
  for (const entry of last.values()) {
    if (isDeleted(entry)) deletions.push(entry);
    else upserts.push(entry);
  }
  let newest: number | null = null;
  for (const entry of entries) {
    const at = Date.parse(entry.updated_at);
    if (!Number.isNaN(at) && (newest === null || at > newest)) newest = at;
  }
  const since = newest === null ? (reset ? null : previous) : new Date(newest - marginMs).toISOString();
  return { reset, upserts, deletions, since };
}
