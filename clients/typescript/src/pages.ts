// Paging: follow `Link: <…>; rel="next"` until there is none.

/** The target of the `rel="next"` link in a `Link` header, or `null`. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const match of header.matchAll(/<([^>]*)>([^,<]*)/g)) {
    const params = match[2] ?? "";
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
    const rels = (rel?.[1] ?? rel?.[2] ?? "").toLowerCase().split(/\s+/);
    if (rels.includes("next")) return match[1] ?? null;
  }
  return null;
}

/** The query string of a link (without `?`): every parameter and the cursor, verbatim. */
export function linkQuery(link: string): string {
  return new URL(link, "http://link.invalid").search.replace(/^\?/, "");
}

/** One fetched page: its items and the response, whose `Link` says what follows. */
export interface Fetched<T> {
  data: T[];
  response: Response;
}

/**
 * The pages of a list: `fetchPage(undefined)` asks for the first, then each `rel="next"`
 * link's query string is sent verbatim (cursors are opaque) until a page has none.
 */
export async function* pagesOf<T>(
  fetchPage: (query: string | undefined) => Promise<Fetched<T>>,
): AsyncGenerator<T[], void, undefined> {
  let query: string | undefined;
  for (;;) {
    const { data, response } = await fetchPage(query);
    yield data;
    const next = nextLink(response.headers.get("Link"));
    if (next === null) return;
    query = linkQuery(next);
  }
}

/** Every item of every page, in order. */
export async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}
