// @todo-api/client: the todo API's typed client for TypeScript frontends.
export {
  createTodoClient,
  type AdminApi,
  type CallOptions,
  type CreateOptions,
  type EventStreamOptions,
  type EventsApi,
  type ListsApi,
  type Credential,
  type SyncOptions,
  type TasksApi,
  type TodoClient,
  type TodoClientOptions,
  type TrashApi,
  type WebhooksApi,
  type WriteOptions,
} from "./client.js";
export { ApiProblem, PreconditionFailed, problemFrom, versionOf } from "./problem.js";
export { collect, nextLink } from "./pages.js";
export { EventStream, EventStreamParser, streamEventOf, type ServerSentEvent } from "./events.js";
export { isDeleted, type SyncResult } from "./sync.js";
export { randomKey } from "./ids.js";
export type * from "./types.js";
export type { components, operations, paths } from "./schema.js";
