// The client: the generated calls (openapi-fetch over src/schema.ts) with the credential
// callback, and on top of them the helpers every frontend needs.
import createClient, { type Client, type Middleware } from "openapi-fetch";
import { EventStream } from "./events.js";
import { randomKey } from "./ids.js";
import { collect, pagesOf, type Fetched } from "./pages.js";
import { ApiProblem, problemFrom } from "./problem.js";
import type { components, paths } from "./schema.js";
import { fold, type SyncResult } from "./sync.js";
import type {
  Change,
  Delivery,
  Health,
  List,
  ListChanges,
  ListPlacement,
  ListRef,
  Member,
  MemberRole,
  NewList,
  NewTask,
  NewWebhook,
  PageQuery,
  Placement,
  TagCount,
  Task,
  TaskChanges,
  TaskQuery,
  TaskRef,
  TaskStats,
  TrashEntry,
  User,
  Webhook,
  WebhookChanges,
  WebhookRef,
  WebhookWithSecret,
  Welcome,
} from "./types.js";

/** The bearer credential, or nothing to send no `Authorization` header. */
export type Credential = string | null | undefined;

export interface TodoClientOptions {
  /** Where the API is, e.g. `https://api.example.com` (no trailing `/api`). */
  baseUrl: string;
  /**
   * Called before every request: returns the credential Better Auth gave the user (the
   * session token, `session.token` from `getSession()`, or a `jwt` plugin token), sent as
   * `Authorization: Bearer …`. May be async; a `null` sends none (the API answers 401).
   */
  credential?: () => Credential | Promise<Credential>;
  /**
   * How often a create or a read is tried again after a network failure or a 502, 503 or
   * 504 (default 2; 0 never retries). Creates carry an `Idempotency-Key`, so a retry of a
   * create that did reach the server answers the task it created instead of a second one.
   * Other writes are never retried.
   */
  retries?: number;
  /** Wait before the first retry, doubled for each further one (default 250 ms). */
  retryDelayMs?: number;
  /** A `fetch` of your own (tests, instrumentation); default `globalThis.fetch`. */
  fetch?: (request: Request) => Promise<Response>;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** openapi-fetch middleware to run after the credential's (logging, tracing). */
  middleware?: Middleware[];
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the request (a React effect's cleanup, a timeout). */
  signal?: AbortSignal;
}

export interface CreateOptions extends CallOptions {
  /**
   * The create's `Idempotency-Key`: a fresh UUID by default, the same for every retry of
   * this call. Pass your own to make retries across calls safe (a queue that outlives the
   * page keeps the key with the task), or `false` to send none.
   */
  idempotencyKey?: string | false;
}

export interface WriteOptions extends CallOptions {
  /**
   * The `If-Match` precondition. By default a task passed as an object (with `version`)
   * sends its version, and an id sends none. A number or an entity tag (`"3"`, `*`)
   * overrides it; `false` makes the write unconditional. A stale version throws
   * `PreconditionFailed`, and nothing is written.
   */
  ifMatch?: number | string | false;
}

export interface SyncOptions extends CallOptions {
  /** Page size of the requests (the server's default when absent). */
  limit?: number;
  /** How far before the newest change seen the next sync starts (default 5000 ms). */
  marginMs?: number;
}

export interface EventStreamOptions extends CallOptions {
  /**
   * Resume after this event id (a `lastEventId` kept from an earlier stream): the changes
   * since then come first, then the live ones. Without it, only changes from now on. One the
   * log no longer reaches starts with a `reset` event; a malformed one is a 422.
   */
  after?: string | null;
}

type Outcome<D> = { data?: D; error?: unknown; response: Response };
type Raw = Client<paths>;

const RETRY_STATUSES = new Set([502, 503, 504]);

/** The typed client made by `createTodoClient`. */
export interface TodoClient {
  /**
   * The generated openapi-fetch client, with the credential: every operation of the
   * document, typed, answering `{ data, error, response }` instead of throwing.
   */
  readonly raw: Raw;
  /** `GET /api/me`: the caller. */
  me(options?: CallOptions): Promise<User>;
  /** The caller's own tasks under `/api/{userId}/…` (`userId`: `session.user.id`). */
  tasks(userId: string): TasksApi;
  /** The caller's lists and their members under `/api/{userId}/lists/…`. */
  lists(userId: string): ListsApi;
  /** What the caller deleted, under `/api/{userId}/trash/…`. */
  trash(userId: string): TrashApi;
  /** The stream of the caller's changes, `/api/{userId}/events`. */
  events(userId: string): EventsApi;
  /** The caller's webhooks and their deliveries, under `/api/{userId}/webhooks/…`. */
  webhooks(userId: string): WebhooksApi;
  /** The admin routes (the caller needs an admin role). */
  readonly admin: AdminApi;
  /** `GET /`: name and version. */
  welcome(options?: CallOptions): Promise<Welcome>;
  /** `GET /health`: liveness. */
  health(options?: CallOptions): Promise<Health>;
  /** `GET /health/ready`: the database is reachable and migrated (a 503 throws). */
  ready(options?: CallOptions): Promise<Health>;
}

export interface ListsApi {
  /** Every list the caller is a member of, by position (`archived: true`: only archived ones). */
  list(query?: { archived?: boolean; limit?: number }, options?: CallOptions): Promise<List[]>;
  /** One list; a list object held sends `If-None-Match` and is returned when unchanged. */
  get(list: string | List, options?: CallOptions): Promise<List>;
  /** Creates a list (with an `Idempotency-Key`, as `tasks().create`). */
  create(list: NewList, options?: CreateOptions): Promise<List>;
  /** Renames, recolours or archives a list (its owner only). */
  update(list: ListRef, changes: ListChanges, options?: WriteOptions): Promise<List>;
  /** Places a list right after or before another of the caller's. */
  move(list: ListRef, placement: ListPlacement, options?: WriteOptions): Promise<List>;
  /** Deletes a list with its tasks (its owner only; never an Inbox). */
  delete(list: ListRef, options?: WriteOptions): Promise<void>;
  /** Hands a list to one of its editors. */
  transfer(list: string, userId: string, options?: CallOptions): Promise<List>;
  /** The members of a list, the owner first. */
  members(list: string, options?: CallOptions): Promise<Member[]>;
  /** Shares a list with an existing user, by `{ user_id }` or `{ email }`. */
  addMember(
    list: string,
    who: { user_id: string } | { email: string },
    role: MemberRole,
    options?: CallOptions,
  ): Promise<Member>;
  /** Gives a member another role. */
  setMemberRole(list: string, userId: string, role: MemberRole, options?: CallOptions): Promise<Member>;
  /** Removes a member; removing oneself leaves the list. */
  removeMember(list: string, userId: string, options?: CallOptions): Promise<void>;
}

export interface EventsApi {
  /**
   * `GET /api/{userId}/events`: opens the stream of the caller's changes (theirs, and those
   * of the lists they are a member of). Resolves once the server has subscribed it, so
   * every change made after that comes; iterate the answer for typed events. A problem
   * (403, 422, 429 with `Retry-After` when the user has too many streams open) is thrown
   * as every call throws it. Read with `fetch`, so the credential goes with it.
   */
  open(options?: EventStreamOptions): Promise<EventStream>;
}

export interface TrashApi {
  /** Every entry of the caller's trash, newest first, following each `rel="next"` link. */
  list(query?: PageQuery, options?: CallOptions): Promise<TrashEntry[]>;
  /** The entries page by page (`limit` per page), following `rel="next"`. */
  pages(query?: PageQuery, options?: CallOptions): AsyncGenerator<TrashEntry[], void, undefined>;
  /**
   * Puts an entry back (same ids): a task into its list while the caller may still edit it,
   * else into their Inbox; a list with its tasks and members. The answer's `list_id` is
   * where the tasks are now. A 404 when the entry is not (or no longer) in the trash.
   */
  restore(entry: string | TrashEntry, options?: CallOptions): Promise<TrashEntry>;
  /** Forgets one entry for good. */
  delete(entry: string | TrashEntry, options?: CallOptions): Promise<void>;
  /** Forgets every entry. */
  empty(options?: CallOptions): Promise<void>;
}

export interface WebhooksApi {
  /** Every webhook of the caller, oldest first (never with its secret). */
  list(options?: CallOptions): Promise<Webhook[]>;
  /** One webhook (never with its secret): whether it is enabled, and why not if the service disabled it. */
  get(webhook: string | Webhook, options?: CallOptions): Promise<Webhook>;
  /**
   * Creates a webhook: each change the caller may see (of `events`, in `list_id`) is sent
   * to `url`, signed the Standard Webhooks way. The answer carries the signing `secret`
   * (`whsec_…`), shown this once: keep it. `url` must be `https` (plain `http` only to a
   * host in the server's `webhooks.allow_hosts`); another is a 422 naming `url`. Not
   * retried: a create sends no `Idempotency-Key`, and a retry could make a second one.
   */
  create(webhook: NewWebhook, options?: CallOptions): Promise<WebhookWithSecret>;
  /**
   * `PATCH`: changes `url`, `events`, `list_id` or `enabled`, keeps the others. Given the
   * webhook (with `version`) it sends `If-Match`, as `tasks().update` does; a stale version
   * throws `PreconditionFailed`. Enabling one the service disabled starts it afresh.
   */
  update(webhook: WebhookRef, changes: WebhookChanges, options?: WriteOptions): Promise<Webhook>;
  /** Deletes a webhook with its deliveries: nothing more is sent. */
  delete(webhook: string | Webhook, options?: CallOptions): Promise<void>;
  /**
   * A new signing secret, shown in this answer only. Until `previous_secret_expires_at`
   * each delivery also carries a signature by the old one, so the receiver can switch.
   */
  rotate(webhook: string | Webhook, options?: CallOptions): Promise<WebhookWithSecret>;
  /** Every delivery attempt of a webhook, newest first, following each `rel="next"` link. */
  deliveries(webhook: string | Webhook, query?: PageQuery, options?: CallOptions): Promise<Delivery[]>;
  /** The delivery attempts page by page (`limit` per page), following `rel="next"`. */
  deliveryPages(
    webhook: string | Webhook,
    query?: PageQuery,
    options?: CallOptions,
  ): AsyncGenerator<Delivery[], void, undefined>;
  /**
   * Sends a delivery's event again, now, and answers the new attempt (the server waits
   * for the receiver, at most its delivery timeout). A change goes as it reads now, under
   * its own `webhook-id`; a change no longer kept is a 410.
   */
  redeliver(webhook: string | Webhook, delivery: string | Delivery, options?: CallOptions): Promise<Delivery>;
  /**
   * Sends the webhook a `ping` event now (also when it is disabled) and answers the
   * attempt: `outcome`, the receiver's `status_code`, `error`. Its `event_id`, the
   * `webhook-id` it went with, is `ping_<id>`.
   */
  test(webhook: string | Webhook, options?: CallOptions): Promise<Delivery>;
}

export interface TasksApi {
  /** Every task matching `query`, following each `rel="next"` link. */
  list(query?: TaskQuery, options?: CallOptions): Promise<Task[]>;
  /** The matching tasks page by page (`limit` per page), following `rel="next"`. */
  pages(query?: TaskQuery, options?: CallOptions): AsyncGenerator<Task[], void, undefined>;
  /**
   * One task. Given the task you hold, sends `If-None-Match` and, when it is still
   * current (304), returns that same object.
   */
  get(task: string | Task, options?: CallOptions): Promise<Task>;
  /** Creates a task with an `Idempotency-Key` (see `CreateOptions`). */
  create(task: NewTask, options?: CreateOptions): Promise<Task>;
  /** `PATCH`: changes the fields present, keeps the others; `null` clears one. */
  update(task: TaskRef, changes: TaskChanges, options?: WriteOptions): Promise<Task>;
  /** `PUT`: the same partial update, for clients that send the whole task back. */
  replace(task: TaskRef, changes: TaskChanges, options?: WriteOptions): Promise<Task>;
  /** Sets `completed`, or toggles it when `completed` is omitted. */
  complete(task: TaskRef, completed?: boolean, options?: WriteOptions): Promise<Task>;
  /** Toggles `completed` (a repeating task moves on to its next occurrence). */
  toggle(task: TaskRef, options?: WriteOptions): Promise<Task>;
  /** Moves a task in the manual order (`sort=position`). */
  move(task: TaskRef, placement: Placement, options?: WriteOptions): Promise<Task>;
  /** Deletes a task. */
  delete(task: TaskRef, options?: WriteOptions): Promise<void>;
  /** Deletes every completed task; answers how many. */
  clearCompleted(options?: CallOptions): Promise<number>;
  /** Counts by status and priority, overdue and due today (judged in `tz`, default UTC). */
  stats(tz?: string, options?: CallOptions): Promise<TaskStats>;
  /** The tags in use, with how many tasks carry each. */
  tags(options?: CallOptions): Promise<TagCount[]>;
  /**
   * What changed since `since` (the sync feed, every page): upserts, deletions and the
   * `since` to pass next time. Without `since`, or when the server has forgotten some
   * deletions since then (410), the whole list with `reset: true`.
   */
  sync(since: string | null | undefined, options?: SyncOptions): Promise<SyncResult>;
}

export interface AdminApi {
  /** Every user. */
  users(query?: PageQuery, options?: CallOptions): Promise<User[]>;
  /** The users page by page. */
  userPages(query?: PageQuery, options?: CallOptions): AsyncGenerator<User[], void, undefined>;
  /** Every task of a user. */
  userTasks(userId: string, query?: PageQuery, options?: CallOptions): Promise<Task[]>;
  /** A user's tasks page by page. */
  userTaskPages(
    userId: string,
    query?: PageQuery,
    options?: CallOptions,
  ): AsyncGenerator<Task[], void, undefined>;
  /** Sets a user's roles (`"admin"`, `"user"`, or a comma list). */
  setRole(userId: string, role: string, options?: CallOptions): Promise<User>;
  /** Deletes a user with their tasks and sessions. */
  deleteUser(userId: string, options?: CallOptions): Promise<void>;
  /** Deletes one task of any user. */
  deleteTask(userId: string, taskId: string, options?: CallOptions): Promise<void>;
}

/** The data of a 2xx answer; an `ApiProblem` (or `PreconditionFailed`) otherwise. */
function unwrap<D>({ data, error, response }: Outcome<D>): D {
  if (response.ok) return data as D;
  throw problemFrom(response, error);
}

/** The same, for a page: its items and the response that says what follows. */
function page<T>(outcome: Outcome<T[]>): Fetched<T> {
  return { data: unwrap(outcome), response: outcome.response };
}

/** Something with a version to act on (a task, a list, a webhook), or its id. */
type Versioned = string | { id: string; version: number };

/** The `If-Match` value for a write, or `undefined` for none. */
function ifMatchFor(task: Versioned, option: WriteOptions["ifMatch"]): string | undefined {
  if (option === false) return undefined;
  if (typeof option === "number") return `"${option}"`;
  if (typeof option === "string") return option;
  return typeof task === "string" ? undefined : `"${task.version}"`;
}

function idOf(task: Versioned | { id: string }): string {
  return typeof task === "string" ? task : task.id;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** `fetch` rejects with a `TypeError` when the network fails (not when aborted). */
function isNetworkFailure(err: unknown): boolean {
  return err instanceof TypeError;
}

/** Creates the client. See `TodoClientOptions`; every call throws `ApiProblem` on errors. */
export function createTodoClient(options: TodoClientOptions): TodoClient {
  const { credential, retries = 2, retryDelayMs = 250 } = options;
  const raw: Raw = createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
  });
  if (credential) {
    raw.use({
      async onRequest({ request }) {
        const token = await credential();
        if (token) request.headers.set("Authorization", `Bearer ${token}`);
        return request;
      },
    });
  }
  if (options.middleware?.length) raw.use(...options.middleware);

  /** Tries `attempt` again after a network failure or a 502/503/504, `retries` times. */
  async function retrying<R extends { response: Response }>(
    attempt: () => Promise<R>,
    signal: AbortSignal | undefined,
  ): Promise<R> {
    for (let n = 0; ; n++) {
      let outcome: R;
      try {
        outcome = await attempt();
      } catch (err) {
        if (n >= retries || !isNetworkFailure(err) || signal?.aborted) throw err;
        await sleep(retryDelayMs * 2 ** n, signal);
        continue;
      }
      if (n >= retries || !RETRY_STATUSES.has(outcome.response.status)) return outcome;
      const after = Number(outcome.response.headers.get("Retry-After"));
      const wait = Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 10_000) : retryDelayMs * 2 ** n;
      await sleep(wait, signal);
    }
  }

  function tasks(userId: string): TasksApi {
    const user = { user_id: userId };
    const one = (task: TaskRef) => ({ user_id: userId, task_id: idOf(task) });
    const header = (task: TaskRef, o?: WriteOptions) => {
      const ifMatch = ifMatchFor(task, o?.ifMatch);
      return ifMatch === undefined ? {} : { "If-Match": ifMatch };
    };

    const listPages = (query: Record<string, unknown>, o?: CallOptions) =>
      pagesOf((next) =>
        retrying(
          () =>
            raw.GET("/api/{user_id}/tasks", {
              params: { path: user, query },
              signal: o?.signal,
              ...(next === undefined ? {} : { querySerializer: () => next }),
            }),
          o?.signal,
        ).then((outcome) => page<Change>(outcome)),
      );

    const api: TasksApi = {
      list: (query = {}, o) => collect(api.pages(query, o)),
      pages: (query = {}, o) => listPages(query, o) as AsyncGenerator<Task[], void, undefined>,

      async get(task, o) {
        const held = typeof task === "string" ? undefined : task;
        const outcome = await retrying(
          () =>
            raw.GET("/api/{user_id}/tasks/{task_id}", {
              params: {
                path: one(task),
                header: held ? { "If-None-Match": `"${held.version}"` } : {},
              },
              signal: o?.signal,
            }),
          o?.signal,
        );
        if (outcome.response.status === 304 && held) return held;
        return unwrap(outcome);
      },

      async create(body, o = {}) {
        const key = o.idempotencyKey ?? randomKey();
        const outcome = await retrying(
          () =>
            raw.POST("/api/{user_id}/tasks", {
              params: { path: user, header: key === false ? {} : { "Idempotency-Key": key } },
              body,
              signal: o.signal,
            }),
          o.signal,
        );
        return unwrap(outcome);
      },

      async update(task, changes, o) {
        return unwrap(
          await raw.PATCH("/api/{user_id}/tasks/{task_id}", {
            params: { path: one(task), header: header(task, o) },
            body: changes,
            signal: o?.signal,
          }),
        );
      },

      async replace(task, changes, o) {
        return unwrap(
          await raw.PUT("/api/{user_id}/tasks/{task_id}", {
            params: { path: one(task), header: header(task, o) },
            body: changes,
            signal: o?.signal,
          }),
        );
      },

      async complete(task, completed, o) {
        return unwrap(
          await raw.PATCH("/api/{user_id}/tasks/{task_id}/complete", {
            params: { path: one(task), header: header(task, o) },
            body: completed === undefined ? {} : { completed },
            signal: o?.signal,
          }),
        );
      },

      toggle: (task, o) => api.complete(task, undefined, o),

      async move(task, placement, o) {
        return unwrap(
          await raw.POST("/api/{user_id}/tasks/{task_id}/move", {
            params: { path: one(task), header: header(task, o) },
            body: placement,
            signal: o?.signal,
          }),
        );
      },

      async delete(task, o) {
        unwrap(
          await raw.DELETE("/api/{user_id}/tasks/{task_id}", {
            params: { path: one(task), header: header(task, o) },
            signal: o?.signal,
          }),
        );
      },

      async clearCompleted(o) {
        const cleared = unwrap(
          await raw.DELETE("/api/{user_id}/tasks", {
            params: { path: user, query: { status: "completed" } },
            signal: o?.signal,
          }),
        );
        return cleared.deleted;
      },

      async stats(tz, o) {
        const outcome = await retrying(
          () =>
            raw.GET("/api/{user_id}/tasks/stats", {
              // Any name is sent as given: one the service does not know is its 422.
              params: {
                path: user,
                query: tz === undefined ? {} : { tz: tz as components["schemas"]["TimeZoneName"] },
              },
              signal: o?.signal,
            }),
          o?.signal,
        );
        return unwrap(outcome);
      },

      async tags(o) {
        const outcome = await retrying(
          () => raw.GET("/api/{user_id}/tags", { params: { path: user }, signal: o?.signal }),
          o?.signal,
        );
        return unwrap(outcome);
      },

      async sync(since, o = {}) {
        const { limit, marginMs = 5_000 } = o;
        const sized = limit === undefined ? {} : { limit };
        if (since) {
          try {
            const feed = listPages({ updated_since: since, include_deleted: true, ...sized }, o);
            return fold(await collect(feed), since, marginMs, false);
          } catch (err) {
            // 410: deletions older than the retention are forgotten; start again whole.
            if (!(err instanceof ApiProblem && err.status === 410)) throw err;
          }
        }
        return fold(await collect(listPages(sized, o)), null, marginMs, true);
      },
    };
    return api;
  }

  const admin: AdminApi = {
    users: (query = {}, o) => collect(admin.userPages(query, o)),
    userPages: (query = {}, o) =>
      pagesOf((next) =>
        retrying(
          () =>
            raw.GET("/api/admin/users", {
              params: { query },
              signal: o?.signal,
              ...(next === undefined ? {} : { querySerializer: () => next }),
            }),
          o?.signal,
        ).then((outcome) => page<User>(outcome)),
      ),
    userTasks: (userId, query = {}, o) => collect(admin.userTaskPages(userId, query, o)),
    userTaskPages: (userId, query = {}, o) =>
      pagesOf((next) =>
        retrying(
          () =>
            raw.GET("/api/admin/users/{user_id}/tasks", {
              params: { path: { user_id: userId }, query },
              signal: o?.signal,
              ...(next === undefined ? {} : { querySerializer: () => next }),
            }),
          o?.signal,
        ).then((outcome) => page<Task>(outcome)),
      ),
    async setRole(userId, role, o) {
      return unwrap(
        await raw.PATCH("/api/admin/users/{user_id}/role", {
          params: { path: { user_id: userId } },
          body: { role },
          signal: o?.signal,
        }),
      );
    },
    async deleteUser(userId, o) {
      unwrap(
        await raw.DELETE("/api/admin/users/{user_id}", {
          params: { path: { user_id: userId } },
          signal: o?.signal,
        }),
      );
    },
    async deleteTask(userId, taskId, o) {
      unwrap(
        await raw.DELETE("/api/admin/users/{user_id}/tasks/{task_id}", {
          params: { path: { user_id: userId, task_id: taskId } },
          signal: o?.signal,
        }),
      );
    },
  };

  function lists(userId: string): ListsApi {
    const user = { user_id: userId };
    const one = (list: ListRef) => ({ user_id: userId, list_id: idOf(list) });
    const header = (list: ListRef, o?: WriteOptions) => {
      const ifMatch = ifMatchFor(list, o?.ifMatch);
      return ifMatch === undefined ? {} : { "If-Match": ifMatch };
    };
    return {
      list: (query = {}, o) =>
        collect(
          pagesOf((next) =>
            retrying(
              () =>
                raw.GET("/api/{user_id}/lists", {
                  params: {
                    path: user,
                    query: {
                      ...(query.archived ? { archived: true } : {}),
                      ...(query.limit === undefined ? {} : { limit: query.limit }),
                    },
                  },
                  signal: o?.signal,
                  ...(next === undefined ? {} : { querySerializer: () => next }),
                }),
              o?.signal,
            ).then((outcome) => page<List>(outcome)),
          ),
        ),
      async get(list, o) {
        const held = typeof list === "string" ? undefined : list;
        const outcome = await retrying(
          () =>
            raw.GET("/api/{user_id}/lists/{list_id}", {
              params: {
                path: one(list),
                header: held ? { "If-None-Match": `"${held.version}"` } : {},
              },
              signal: o?.signal,
            }),
          o?.signal,
        );
        if (outcome.response.status === 304 && held) return held;
        return unwrap(outcome);
      },
      async create(body, o = {}) {
        const key = o.idempotencyKey ?? randomKey();
        return unwrap(
          await retrying(
            () =>
              raw.POST("/api/{user_id}/lists", {
                params: { path: user, header: key === false ? {} : { "Idempotency-Key": key } },
                body,
                signal: o.signal,
              }),
            o.signal,
          ),
        );
      },
      async update(list, changes, o) {
        return unwrap(
          await raw.PATCH("/api/{user_id}/lists/{list_id}", {
            params: { path: one(list), header: header(list, o) },
            body: changes,
            signal: o?.signal,
          }),
        );
      },
      async move(list, placement, o) {
        return unwrap(
          await raw.POST("/api/{user_id}/lists/{list_id}/move", {
            params: { path: one(list), header: header(list, o) },
            body: placement,
            signal: o?.signal,
          }),
        );
      },
      async delete(list, o) {
        unwrap(
          await raw.DELETE("/api/{user_id}/lists/{list_id}", {
            params: { path: one(list), header: header(list, o) },
            signal: o?.signal,
          }),
        );
      },
      async transfer(list, to, o) {
        return unwrap(
          await raw.POST("/api/{user_id}/lists/{list_id}/transfer", {
            params: { path: one(list) },
            body: { user_id: to },
            signal: o?.signal,
          }),
        );
      },
      members: (list, o) =>
        get(
          () =>
            raw.GET("/api/{user_id}/lists/{list_id}/members", {
              params: { path: one(list) },
              signal: o?.signal,
            }),
          o,
        ),
      async addMember(list, who, role, o) {
        return unwrap(
          await raw.POST("/api/{user_id}/lists/{list_id}/members", {
            params: { path: one(list) },
            body: { ...who, role },
            signal: o?.signal,
          }),
        );
      },
      async setMemberRole(list, member, role, o) {
        return unwrap(
          await raw.PATCH("/api/{user_id}/lists/{list_id}/members/{member_id}", {
            params: { path: { ...one(list), member_id: member } },
            body: { role },
            signal: o?.signal,
          }),
        );
      },
      async removeMember(list, member, o) {
        unwrap(
          await raw.DELETE("/api/{user_id}/lists/{list_id}/members/{member_id}", {
            params: { path: { ...one(list), member_id: member } },
            signal: o?.signal,
          }),
        );
      },
    };
  }

  function trash(userId: string): TrashApi {
    const user = { user_id: userId };
    const one = (entry: string | TrashEntry) => ({
      user_id: userId,
      entry_id: typeof entry === "string" ? entry : entry.id,
    });
    const api: TrashApi = {
      list: (query = {}, o) => collect(api.pages(query, o)),
      pages: (query = {}, o) =>
        pagesOf((next) =>
          retrying(
            () =>
              raw.GET("/api/{user_id}/trash", {
                params: { path: user, query },
                signal: o?.signal,
                ...(next === undefined ? {} : { querySerializer: () => next }),
              }),
            o?.signal,
          ).then((outcome) => page<TrashEntry>(outcome)),
        ),
      async restore(entry, o) {
        return unwrap(
          await raw.POST("/api/{user_id}/trash/{entry_id}/restore", {
            params: { path: one(entry) },
            signal: o?.signal,
          }),
        );
      },
      async delete(entry, o) {
        unwrap(
          await raw.DELETE("/api/{user_id}/trash/{entry_id}", {
            params: { path: one(entry) },
            signal: o?.signal,
          }),
        );
      },
      async empty(o) {
        unwrap(
          await raw.DELETE("/api/{user_id}/trash", {
            params: { path: user },
            signal: o?.signal,
          }),
        );
      },
    };
    return api;
  }

  function webhooks(userId: string): WebhooksApi {
    const user = { user_id: userId };
    const one = (webhook: string | { id: string }) => ({ user_id: userId, webhook_id: idOf(webhook) });
    const api: WebhooksApi = {
      list: (o) =>
        get(() => raw.GET("/api/{user_id}/webhooks", { params: { path: user }, signal: o?.signal }), o),
      get: (webhook, o) =>
        get(
          () =>
            raw.GET("/api/{user_id}/webhooks/{webhook_id}", {
              params: { path: one(webhook) },
              signal: o?.signal,
            }),
          o,
        ),
      async create(body, o) {
        return unwrap(
          await raw.POST("/api/{user_id}/webhooks", { params: { path: user }, body, signal: o?.signal }),
        );
      },
      async update(webhook, changes, o) {
        const ifMatch = ifMatchFor(webhook, o?.ifMatch);
        return unwrap(
          await raw.PATCH("/api/{user_id}/webhooks/{webhook_id}", {
            params: { path: one(webhook), header: ifMatch === undefined ? {} : { "If-Match": ifMatch } },
            body: changes,
            signal: o?.signal,
          }),
        );
      },
      async delete(webhook, o) {
        unwrap(
          await raw.DELETE("/api/{user_id}/webhooks/{webhook_id}", {
            params: { path: one(webhook) },
            signal: o?.signal,
          }),
        );
      },
      async rotate(webhook, o) {
        return unwrap(
          await raw.POST("/api/{user_id}/webhooks/{webhook_id}/rotate", {
            params: { path: one(webhook) },
            signal: o?.signal,
          }),
        );
      },
      deliveries: (webhook, query = {}, o) => collect(api.deliveryPages(webhook, query, o)),
      deliveryPages: (webhook, query = {}, o) =>
        pagesOf((next) =>
          retrying(
            () =>
              raw.GET("/api/{user_id}/webhooks/{webhook_id}/deliveries", {
                params: { path: one(webhook), query },
                signal: o?.signal,
                ...(next === undefined ? {} : { querySerializer: () => next }),
              }),
            o?.signal,
          ).then((outcome) => page<Delivery>(outcome)),
        ),
      async redeliver(webhook, delivery, o) {
        return unwrap(
          await raw.POST("/api/{user_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", {
            params: { path: { ...one(webhook), delivery_id: idOf(delivery) } },
            signal: o?.signal,
          }),
        );
      },
      async test(webhook, o) {
        return unwrap(
          await raw.POST("/api/{user_id}/webhooks/{webhook_id}/test", {
            params: { path: one(webhook) },
            signal: o?.signal,
          }),
        );
      },
    };
    return api;
  }

  function events(userId: string): EventsApi {
    return {
      async open(o = {}) {
        const after = o.after ?? null;
        const outcome = await retrying(
          () =>
            raw.GET("/api/{user_id}/events", {
              params: { path: { user_id: userId }, query: after === null ? {} : { after } },
              headers: { Accept: "text/event-stream" },
              parseAs: "stream",
              signal: o.signal,
            }),
          o.signal,
        );
        return new EventStream(unwrap(outcome), after);
      },
    };
  }

  const get = async <D>(attempt: () => Promise<Outcome<D>>, o?: CallOptions): Promise<D> =>
    unwrap(await retrying(attempt, o?.signal));

  return {
    raw,
    tasks,
    lists,
    trash,
    events,
    webhooks,
    admin,
    me: (o) => get(() => raw.GET("/api/me", { signal: o?.signal }), o),
    welcome: (o) => get(() => raw.GET("/", { signal: o?.signal }), o),
    health: (o) => get(() => raw.GET("/health", { signal: o?.signal }), o),
    ready: (o) => get(() => raw.GET("/health/ready", { signal: o?.signal }), o),
  };
}
