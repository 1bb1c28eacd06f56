// Friendly names for the generated schema types (src/schema.ts, from openapi.json).
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];

/** A task as every task endpoint returns it; `version` is its ETag's number. */
export type Task = Schemas["TaskDto"];
/** The body of a create: only `title` is required. */
export type NewTask = Schemas["CreateTask"];
/** The body of an update: absent fields are kept, `null` clears an optional one. */
export type TaskChanges = Schemas["UpdateTask"];
/** A task deleted since the sync point: `{ id, deleted: true, updated_at }`. */
export type DeletedTask = Schemas["DeletedTaskDto"];
/** One entry of the sync feed: a task as it is now, or a deleted one. */
export type Change = Schemas["ChangeDto"];
export type Priority = Schemas["Priority"];
export type TaskStats = Schemas["TaskStatsDto"];
export type TagCount = Schemas["TagCountDto"];
/** A user: `role` is Better Auth's comma-separated role list. */
export type User = Schemas["UserDto"];
/** An RFC 9457 problem document, as every error response carries it. */
export type Problem = Schemas["Problem"];
/** One invalid field (or parameter, or header) of a request. */
export type FieldError = Schemas["FieldError"];
/** A list as its members see it, with the caller's `role`; `version` is its ETag's number. */
export type List = Schemas["ListDto"];
/** The body of a list create: only `name` is required. */
export type NewList = Schemas["CreateList"];
/** The body of a list update: `name`, `colour` (`null` clears), `archived`. */
export type ListChanges = Schemas["UpdateList"];
/** A member of a list. */
export type Member = Schemas["MemberDto"];
/** A role in a list: `viewer`, `editor` or `owner`. */
export type ListRole = Schemas["ListRole"];
/** A role a member can be given: `viewer` or `editor`. */
export type MemberRole = Schemas["MemberRole"];
/** Where `lists().move` puts a list: right after or before another of yours. */
export type ListPlacement = { after: string } | { before: string };
/** A list to act on: its id, or the list as you last saw it (sends `If-Match`). */
export type ListRef = string | Pick<List, "id" | "version">;
/**
 * Something the caller deleted, restorable until `purge_at`: a task (with its subtasks) or
 * a list (with its tasks and members). Its `id` is the task's or list's.
 */
export type TrashEntry = Schemas["TrashEntryDto"];
/** What a trash entry holds: `task` or `list`. */
export type TrashEntryKind = Schemas["TrashEntryKind"];
/**
 * A webhook as its owner sees it, never with its secret: `url`, the `events` it takes,
 * its `list_id` (`null`: every list), `enabled`, why the service disabled it
 * (`disabled_reason`), `failures` in a row; `version` is its ETag's number.
 */
export type Webhook = Schemas["WebhookDto"];
/**
 * A webhook with its signing `secret` (`whsec_` and the base64 of the key), the answer to
 * a create or a rotation and the only place the secret is shown. After a rotation,
 * `previous_secret_expires_at` says until when the old secret signs too (`null` at creation).
 */
export type WebhookWithSecret = Schemas["WebhookWithSecret"];
/** The body of a webhook create: only `url` is required (every event kind, every list, enabled). */
export type NewWebhook = Schemas["CreateWebhook"];
/** The body of a webhook update: `url`, `events`, `list_id` (`null`: every list), `enabled`. */
export type WebhookChanges = Schemas["UpdateWebhook"];
/** A webhook to act on: its id, or the webhook as you last saw it (sends `If-Match`). */
export type WebhookRef = string | Pick<Webhook, "id" | "version">;
/** An event kind a webhook can take, as the event stream names it. */
export type WebhookEventKind = Schemas["EventKindName"];
/**
 * One attempt to deliver one event: its `event` kind (`ping` for a test), the `event_id`
 * it was sent with as `webhook-id`, which `attempt`, its `outcome`, the receiver's
 * `status_code`, `duration_ms`, and the `error` when it did not succeed.
 */
export type Delivery = Schemas["DeliveryDto"];
/** How a delivery attempt ended: `delivered`, `failed` or `refused`. */
export type DeliveryOutcome = Schemas["DeliveryOutcome"];
/** What an event of the caller's stream says changed. */
export type ChangeKind =
  | "task.created"
  | "task.updated"
  | "task.completed"
  | "task.deleted"
  | "task.restored"
  | "task.moved"
  | "list.created"
  | "list.updated"
  | "list.deleted"
  | "list.restored"
  | "member.added"
  | "member.updated"
  | "member.removed";
/**
 * One change of the event stream (its `data`): what changed (`kind`, `task_id`, `list_id`,
 * `member_id`, the changed `fields`, the `version` after it), who changed it and when.
 * `id` is the event's id, where a stream resumes after it.
 */
export type ChangeEvent = Omit<Schemas["ChangeEventDto"], "kind"> & { kind: ChangeKind };
/**
 * The stream could not resume where it was asked to (the log no longer keeps changes that
 * old): resync through the sync feed (`tasks.sync(null)`), then go on after `id`.
 */
export interface ResetEvent {
  kind: "reset";
  /** Where the stream goes on from: the iteration's `lastEventId` is now this. */
  id: string;
  /** The server's explanation. */
  detail: string;
}
/** What an event stream gives: a change, or a reset (tell them apart by `kind`). */
export type StreamEvent = ChangeEvent | ResetEvent;
export type Welcome = Schemas["Welcome"];
export type Health = Schemas["Health"];

type ListParameters = NonNullable<paths["/api/{user_id}/tasks"]["get"]["parameters"]["query"]>;

/**
 * Filters and order of the task list (`status`, `priority`, `tag`, `q`, `due_before`,
 * `due_after`, `overdue`, `due`, `tz`, `updated_since`, `sort`, `limit`). The cursor comes
 * from the `Link` header and the sync feed has its own call, so neither is here.
 */
export type TaskQuery = Omit<ListParameters, "cursor" | "include_deleted">;

/** Page size of the admin lists, the trash and a webhook's deliveries. */
export type PageQuery = { limit?: number };

/** Where `move` puts a task: right after or before another of yours, or at either end. */
export type Placement = { after: string } | { before: string } | { to: "top" | "bottom" };

/**
 * A task to act on: its id (the write is unconditional), or the task as you last saw it
 * (anything with `id` and `version`; the write then sends `If-Match` with that version).
 */
export type TaskRef = string | Pick<Task, "id" | "version">;
