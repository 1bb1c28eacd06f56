// Better Auth as a frontend deploys it: email + password, bearer, jwt and admin plugins,
// on PostgreSQL, served on loopback.
import http from "node:http";
import pg from "pg";
import { betterAuth } from "better-auth";
import { admin, bearer, jwt } from "better-auth/plugins";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";

export async function startBetterAuth({ databaseUrl, schema, secret, port }) {
  const url = `http://127.0.0.1:${port}`;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    options: `-c search_path=${schema}`,
    max: 4,
  });
  const auth = betterAuth({
    database: pool,
    secret,
    baseURL: url,
    trustedOrigins: [url],
    emailAndPassword: { enabled: true },
    plugins: [bearer(), jwt(), admin()],
    logger: { disabled: true },
  });
  let server;
  return {
    url,
    auth,
    /** Better Auth's own programmatic migration. */
    async migrate() {
      const { runMigrations } = await getMigrations(auth.options);
      await runMigrations();
    },
    async listen() {
      server = http.createServer(toNodeHandler(auth));
      await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
    },
    async close() {
      if (server) await new Promise((resolve) => server.close(resolve));
      await pool.end();
    },
  };
}
