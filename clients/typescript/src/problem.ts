// Errors as typed problems: every non-2xx answer becomes a thrown ApiProblem.
import type { FieldError, Problem } from "./types.js";

/**
 * An error answer of the API (`application/problem+json`, RFC 9457), thrown by every call
 * of the client. `detail` is a sentence a user can read; `errors` names each invalid
 * field, query parameter or header (empty when the problem is not about one).
 */
export class ApiProblem extends Error implements Problem {
  override readonly name: string = "ApiProblem";
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly errors: FieldError[];
  /** The response's headers (`Retry-After`, `ETag`, `WWW-Authenticate`, …). */
  readonly headers: Headers;
  /** `X-Request-Id` of the response: quote it when reporting a problem. */
  readonly requestId: string | null;

  constructor(problem: Problem, headers: Headers = new Headers()) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.type = problem.type;
    this.title = problem.title;
    this.status = problem.status;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
    this.headers = headers;
    this.requestId = headers.get("X-Request-Id");
  }

  /** The message about `field` (a body field, query parameter or header), if any. */
  fieldError(field: string): string | undefined {
    return this.errors.find((e) => e.field === field)?.message;
  }
}

/**
 * 412 Precondition Failed: the task changed since the version sent in `If-Match`, and
 * nothing was written. Read it again (or merge), then retry with `currentVersion`.
 */
export class PreconditionFailed extends ApiProblem {
  override readonly name: string = "PreconditionFailed";
  /** The task's current entity tag, e.g. `"4"` (the response's `ETag`). */
  readonly etag: string | null;
  /** The task's current `version`, read from the `ETag`. */
  readonly currentVersion: number | null;

  constructor(problem: Problem, headers: Headers = new Headers()) {
    super(problem, headers);
    this.etag = headers.get("ETag");
    this.currentVersion = versionOf(this.etag);
  }
}

/** The version in a strong entity tag (`"4"` → 4); `null` for anything else. */
export function versionOf(etag: string | null): number | null {
  const match = /^"(\d+)"$/.exec(etag?.trim() ?? "");
  return match?.[1] === undefined ? null : Number(match[1]);
}

function isProblem(body: unknown): body is Problem {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b.status === "number" && typeof b.detail === "string";
}

/**
 * The problem an error response carries (its parsed body). A body that is not a problem
 * document (a proxy's HTML page, say) becomes one with the status and, as `detail`, the
 * start of the text.
 */
export function problemFrom(response: Response, body: unknown): ApiProblem {
  const title = response.statusText || `HTTP ${response.status}`;
  const problem: Problem = isProblem(body)
    ? {
        type: typeof body.type === "string" ? body.type : "about:blank",
        title: typeof body.title === "string" ? body.title : title,
        status: body.status,
        detail: body.detail,
        errors: Array.isArray(body.errors) ? body.errors : [],
      }
    : {
        type: "about:blank",
        title,
        status: response.status,
        detail: typeof body === "string" && body.trim() ? body.trim().slice(0, 500) : title,
        errors: [],
      };
  return response.status === 412
    ? new PreconditionFailed(problem, response.headers)
    : new ApiProblem(problem, response.headers);
}
