// Making the client where a Next.js app with Better Auth needs it. Only the shapes of
// Better Auth's objects that are used are declared here, so the example type-checks
// without the library; in an app they are `authClient` (better-auth/react) and `auth`
// (your lib/auth.ts).
import { createTodoClient, type TodoClient } from "@todo-api/client";

/** `authClient` from `createAuthClient()` (better-auth/react), as far as it is used. */
export interface BrowserAuth {
  getSession(): Promise<{ data: { session: { token: string }; user: { id: string } } | null }>;
}

/** `auth` from `betterAuth({...})`, as far as it is used. */
export interface ServerAuth {
  api: {
    getSession(input: {
      headers: Headers;
    }): Promise<{ session: { token: string }; user: { id: string } } | null>;
  };
}

/**
 * In the browser (client components): the session token from Better Auth's client. It
 * asks Better Auth at most once a minute, not before every request.
 */
export function browserClient(authClient: BrowserAuth, baseUrl: string): TodoClient {
  let cached: { token: string | null; until: number } | undefined;
  return createTodoClient({
    baseUrl,
    credential: async () => {
      if (!cached || Date.now() > cached.until) {
        const { data } = await authClient.getSession();
        cached = { token: data?.session.token ?? null, until: Date.now() + 60_000 };
      }
      return cached.token;
    },
  });
}

/**
 * On the server (server components, route handlers, server actions): the session of the
 * request being served, read from its cookies by Better Auth. Pass `await headers()`
 * (next/headers) or the route handler's `request.headers`.
 */
export function serverClient(auth: ServerAuth, requestHeaders: Headers, baseUrl: string): TodoClient {
  return createTodoClient({
    baseUrl,
    credential: async () => (await auth.api.getSession({ headers: requestHeaders }))?.session.token,
  });
}
