// The event stream: `text/event-stream` read through fetch (the browser's EventSource
// cannot send the bearer credential), parsed as the HTML standard's EventSource parses it.
import type { ChangeEvent, ChangeKind, StreamEvent } from "./types.js";

/** One message of a `text/event-stream`, as an EventSource would dispatch it. */
export interface ServerSentEvent {
  /** The `event:` field; `"message"` when the message had none. */
  event: string;
  /** The `data:` lines, joined with `\n`. */
  data: string;
  /** The stream's last event id once this message came (an `id:` carries over). */
  lastEventId: string;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * The parser of `text/event-stream` text (the HTML standard's rules): fed decoded text in
 * pieces split anywhere, it answers the messages each piece completes. Lines end with
 * CRLF, LF or CR; `data:` lines accumulate; comment lines (`: …`), unknown fields and
 * messages without data are skipped; a message the stream ends in the middle of is dropped.
 */
export class EventStreamParser {
  /** The last event id of the messages completed so far (the initial one until an `id:`). */
  lastEventId: string;
  /** The reconnection delay the stream asked for with `retry:` (ms), if it did. */
  retry: number | null = null;
  #line = "";
  #skipLF = false;
  #started = false;
  #id: string;
  #event = "";
  #data: string[] = [];

  constructor(lastEventId = "") {
    this.lastEventId = lastEventId;
    this.#id = lastEventId;
  }

  /** Feeds the next piece of text; answers the messages it completed, in order. */
  push(text: string): ServerSentEvent[] {
    const messages: ServerSentEvent[] = [];
    let start = 0;
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) start = 1;
    }
    if (this.#skipLF && start < text.length) {
      // A CR ended the previous piece: an LF right after it belongs to the same line break.
      if (text.charCodeAt(start) === LF) start += 1;
      this.#skipLF = false;
    }
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      this.#field(this.#line + text.slice(start, i), messages);
      this.#line = "";
      if (c === CR) {
        if (i + 1 === text.length) this.#skipLF = true;
        else if (text.charCodeAt(i + 1) === LF) i += 1;
      }
      start = i + 1;
    }
    this.#line += text.slice(start);
    return messages;
  }

  #field(line: string, messages: ServerSentEvent[]): void {
    if (line === "") return this.#dispatch(messages);
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const name = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (name) {
      case "event":
        this.#event = value;
        break;
      case "data":
        this.#data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.#id = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
    }
  }

  #dispatch(messages: ServerSentEvent[]): void {
    this.lastEventId = this.#id;
    const data = this.#data;
    const event = this.#event;
    this.#data = [];
    this.#event = "";
    if (data.length === 0) return;
    messages.push({ event: event || "message", data: data.join("\n"), lastEventId: this.#id });
  }
}

const CHANGE_KINDS: ReadonlySet<string> = new Set<ChangeKind>([
  "task.created",
  "task.updated",
  "task.completed",
  "task.deleted",
  "task.restored",
  "task.moved",
  "list.created",
  "list.updated",
  "list.deleted",
  "list.restored",
  "member.added",
  "member.updated",
  "member.removed",
]);

/** The typed event a message is; `undefined` for a kind this client does not know. */
export function streamEventOf(message: ServerSentEvent): StreamEvent | undefined {
  if (message.event === "reset") {
    let detail = "";
    try {
      const body: unknown = JSON.parse(message.data);
      const said = typeof body === "object" && body !== null ? (body as { detail?: unknown }).detail : undefined;
      if (typeof said === "string") detail = said;
    } catch {
      // A reset says all it must by its name and id.
    }
    return { kind: "reset", id: message.lastEventId, detail };
  }
  if (!CHANGE_KINDS.has(message.event)) return undefined;
  const change = JSON.parse(message.data) as ChangeEvent;
  return { ...change, kind: message.event as ChangeKind, id: change.id || message.lastEventId };
}

/**
 * An open event stream (`events(userId).open()`): iterate it once for its events, in
 * order. `break` or `close()` ends it, and so does the `signal` of `open` (the iteration
 * then throws fetch's `AbortError`); it ends by itself when the server ends the stream
 * (a credential that no longer passes, a restart): open another with
 * `after: lastEventId` to go on where it stopped.
 */
export class EventStream implements AsyncIterable<StreamEvent> {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  readonly #parser: EventStreamParser;
  readonly #events: AsyncGenerator<StreamEvent, void, undefined>;
  #lastEventId: string | null;

  constructor(body: ReadableStream<Uint8Array> | null | undefined, after: string | null) {
    this.#reader = body?.getReader();
    this.#parser = new EventStreamParser(after ?? "");
    this.#lastEventId = after;
    this.#events = this.#read();
  }

  /**
   * The id of the last event the iteration gave (or the `after` it was opened with, or
   * `null`): pass it as `after` to resume after it, none missed and none twice.
   */
  get lastEventId(): string | null {
    return this.#lastEventId;
  }

  /** How long the server asks a client to wait before it reconnects (ms), once it said. */
  get retryMs(): number | null {
    return this.#parser.retry;
  }

  [Symbol.asyncIterator](): AsyncGenerator<StreamEvent, void, undefined> {
    return this.#events;
  }

  /** Ends the stream: the connection is closed, and an iteration in progress ends. */
  async close(): Promise<void> {
    await this.#reader?.cancel().catch(() => {});
  }

  async *#read(): AsyncGenerator<StreamEvent, void, undefined> {
    const reader = this.#reader;
    if (!reader) return;
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
        for (const message of this.#parser.push(text)) {
          this.#lastEventId = message.lastEventId || null;
          const event = streamEventOf(message);
          if (event) yield event;
        }
        // An `id:` without data moves the cursor too.
        this.#lastEventId = this.#parser.lastEventId || null;
        if (done) return;
      }
    } finally {
      await reader.cancel().catch(() => {});
    }
  }
}
